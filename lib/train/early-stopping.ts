/**
 * Early stopping on a validation loss (lower is better): stop after `patience` epochs without an
 * improvement of more than `minDelta` over the best value so far.
 */
export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping. Default 2. */
  patience?: number;
  /** An epoch improves when its loss < best - minDelta. Default 0. */
  minDelta?: number;
}

export interface EarlyStoppingDecision {
  /** This epoch is the new best: snapshot the weights now. */
  improved: boolean;
  /** Patience exhausted: stop after this epoch. */
  stop: boolean;
}

export class EarlyStopping {
  readonly patience: number;
  readonly minDelta: number;
  bestEpoch = -1;
  bestValue = Infinity;
  /** Epochs since the best one. */
  wait = 0;

  constructor(options: EarlyStoppingOptions = {}) {
    this.patience = options.patience ?? 2;
    this.minDelta = options.minDelta ?? 0;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new Error(`early stopping: patience must be a non-negative integer, got ${this.patience}`);
    if (!(this.minDelta >= 0)) throw new Error(`early stopping: minDelta must be >= 0, got ${this.minDelta}`);
  }

  /** Records epoch `epoch`'s loss. A non-finite loss never improves. */
  update(epoch: number, value: number): EarlyStoppingDecision {
    const improved = Number.isFinite(value) && (this.bestEpoch < 0 || value < this.bestValue - this.minDelta);
    if (improved) {
      this.bestEpoch = epoch;
      this.bestValue = value;
      this.wait = 0;
    } else {
      this.wait++;
    }
    return { improved, stop: !improved && this.wait >= this.patience };
  }
}
