/**
 * Shared plumbing for the metrics: the result type for values that may be undefined, and input checks.
 *
 * Convention used by every metric in lib/metrics:
 * - Bad input is a programming error and THROWS a `MetricInputError` (length mismatch, label not 0/1,
 *   probability outside [0, 1] or NaN, negative or non-finite weight).
 * - Input on which the metric is mathematically undefined (empty input, zero total weight, a single
 *   class for the AUCs, no positives for calibration ratio / average precision, ...) does NOT throw:
 *   the plain function (`rocAuc`) returns NaN and the `...Result` twin (`rocAucResult`) returns
 *   `{ value: NaN, reason: "..." }` saying why. A defined value never carries a reason.
 */

/** A metric value; `reason` is present exactly when `value` is NaN because the metric is undefined. */
export interface MetricResult {
  value: number;
  reason?: string;
}

export function defined(value: number): MetricResult {
  return { value };
}

export function undefinedMetric(reason: string): MetricResult {
  return { value: NaN, reason };
}

/** Thrown for invalid metric input (as opposed to input on which a metric is merely undefined). */
export class MetricInputError extends Error {
  constructor(metric: string, problem: string) {
    super(`${metric}: ${problem}`);
    this.name = "MetricInputError";
  }
}

/**
 * Checks labels, probabilities and optional weights for `metric`; throws MetricInputError on the
 * first problem. O(n); the arrays are not copied.
 */
export function checkBinaryInputs(
  metric: string,
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w?: ArrayLike<number>,
): void {
  if (y.length !== p.length) {
    throw new MetricInputError(metric, `length mismatch: y has ${y.length} values, p has ${p.length}`);
  }
  if (w !== undefined && w.length !== y.length) {
    throw new MetricInputError(metric, `length mismatch: y has ${y.length} values, w has ${w.length}`);
  }
  for (let i = 0; i < y.length; i++) {
    const yi = y[i];
    if (yi !== 0 && yi !== 1) throw new MetricInputError(metric, `y[${i}] = ${yi} is not a 0/1 label`);
    const pi = p[i];
    if (!(pi >= 0 && pi <= 1)) throw notProbability(metric, i, pi);
  }
  if (w !== undefined) checkWeights(metric, w);
}

/** Checks that every p[i] is a probability in [0, 1] (NaN is not); throws checkBinaryInputs' MetricInputError on the first that is not. */
export function checkProbabilities(metric: string, p: ArrayLike<number>): void {
  for (let i = 0; i < p.length; i++) {
    const pi = p[i];
    if (!(pi >= 0 && pi <= 1)) throw notProbability(metric, i, pi);
  }
}

function notProbability(metric: string, i: number, pi: number): MetricInputError {
  return new MetricInputError(metric, `p[${i}] = ${pi} is outside [0, 1]`);
}

/** Weights must be finite and >= 0 (zero weights are allowed and mean "ignore this row"). */
export function checkWeights(metric: string, w: ArrayLike<number>): void {
  for (let i = 0; i < w.length; i++) {
    const wi = w[i];
    if (!(wi >= 0) || !Number.isFinite(wi)) {
      throw new MetricInputError(metric, `w[${i}] = ${wi} is not a finite non-negative weight`);
    }
  }
}

/** Weight of row i (1 when unweighted). */
export function weightAt(w: ArrayLike<number> | undefined, i: number): number {
  return w === undefined ? 1 : w[i];
}

/** Total weight and weighted positive count. */
export function weightedTotals(y: ArrayLike<number>, w?: ArrayLike<number>): { total: number; positives: number } {
  let total = 0;
  let positives = 0;
  for (let i = 0; i < y.length; i++) {
    const wi = weightAt(w, i);
    total += wi;
    if (y[i] === 1) positives += wi;
  }
  return { total, positives };
}

/** The reason a weighted sample is unusable for any metric, or undefined when it is usable. */
export function emptyReason(n: number, totalWeight: number): string | undefined {
  if (n === 0) return "empty input";
  if (totalWeight <= 0) return "total sample weight is zero";
  return undefined;
}
