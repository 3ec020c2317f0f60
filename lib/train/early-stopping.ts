import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../backend";
import { MultiTaskModel, lossKind } from "../models";
import { copySeedSlices, keepSlots, shapeWithSlots } from "./compaction";

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

/**
 * What one early-stopping rule watches: the validation loss of one evaluation space (lib/train/evaluate.ts
 * SplitLosses: "ctcvr" over all rows, "ctr" over all rows, "cvr" over clicked rows) and the variables whose best
 * epoch it picks (local names, lib/models VariableInfo.name, trainable and not).
 */
export interface StoppingUnit {
  criterion: "ctcvr" | "ctr" | "cvr";
  variables: string[];
}

/**
 * The model's early-stopping units, read from the built graph (issue 22's fair training rule). Loss terms are
 * joined when the variables their outputs reach (MultiTaskModel.taskVariables, gradient connectivity) overlap;
 * a model whose terms fall into separate groups, each reading one output, is several independent models trained in
 * one loop (IP: a CTR network on the click label, a CVR network on clicked rows, no parameter and no loss term in
 * common) and each group stops on its own task's validation loss, as separately trained networks would: the CTR
 * tower on CTR log loss, the CVR tower on CVR log loss over clicks. Every other model is one unit, stopped on the
 * CTCVR log loss of all rows (the paper's criterion, O'Brien et al. RecSys'21 Sec. 4). A non-trainable variable
 * (batch-norm statistics) goes with the unit of the trainable variables of its owner; if that is ambiguous, or a
 * group reads more than one output, the model is one unit.
 */
export function stoppingUnits(model: MultiTaskModel): StoppingUnit[] {
  const all = [...model.variables.values()];
  const whole: StoppingUnit[] = [{ criterion: "ctcvr", variables: all.map((i) => i.name) }];
  const terms = model.spec.losses.map((term) => {
    const outputs = [...new Set(lossKind(term).reads(term))];
    return { outputs, variables: new Set(outputs.flatMap((o) => model.taskVariables(o))) };
  });
  // connected components of the terms, joined by a shared variable
  const group = terms.map((_, i) => i);
  const find = (i: number): number => (group[i] === i ? i : (group[i] = find(group[i])));
  terms.forEach((a, i) => terms.forEach((b, j) => j > i && [...a.variables].some((v) => b.variables.has(v)) && (group[find(j)] = find(i))));
  const roots = [...new Set(terms.map((_, i) => find(i)))];
  if (roots.length < 2) return whole;
  const units: StoppingUnit[] = [];
  for (const root of roots) {
    const members = terms.filter((_, i) => find(i) === root);
    const outputs = [...new Set(members.flatMap((m) => m.outputs))];
    if (outputs.length !== 1 || !["ctcvr", "ctr", "cvr"].includes(outputs[0])) return whole;
    units.push({ criterion: outputs[0] as StoppingUnit["criterion"], variables: [...new Set(members.flatMap((m) => [...m.variables]))] });
  }
  for (const info of all) {
    if (info.trainable) {
      if (units.filter((u) => u.variables.includes(info.name)).length !== 1) return whole;
      continue;
    }
    const owners = units.filter((u) => u.variables.some((v) => model.variables.get(v)!.owner === info.owner));
    if (owners.length !== 1) return whole;
    owners[0].variables.push(info.name);
  }
  return units;
}

/**
 * Weight snapshots of the seeds of a model of S >= 1 seeds (a best epoch's, or a stopped unit's last epoch's),
 * per variable. Every variable layout is seed-major (lib/models blocks.ts), so a variable reshaped to [S, -1]
 * holds seed s's values in row s; when every seed is taken or restored at once (always for a single model,
 * S = 1, whose variables have no seed axis) whole variables are copied, with no mask.
 */
export class SeedSnapshots {
  private values = new Map<tfjs.Variable, tfjs.Tensor>();
  constructor(private readonly variables: tfjs.Variable[], private readonly seeds: number) {}

  /** Copies the current values of the seeds where `which[s]` (length S) into the snapshot. */
  take(which: boolean[]): void {
    if (!which.some(Boolean)) return;
    const t = tf();
    const S = this.seeds;
    const mask = which.every(Boolean) ? undefined : t.tensor2d(which.map((b) => (b ? 1 : 0)), [S, 1], "bool");
    for (const v of this.variables) {
      const previous = this.values.get(v);
      const next = t.tidy(() => (mask && previous ? t.reshape(t.where(mask, t.reshape(v, [S, -1]), t.reshape(previous, [S, -1])), v.shape) : t.clone(v)));
      previous?.dispose();
      this.values.set(v, next);
    }
    mask?.dispose();
  }

  /** Assigns the snapshot to the seeds where `use[s]` (the others keep their current values); a variable never taken is left alone. */
  restore(use: boolean[]): void {
    if (!use.some(Boolean)) return;
    const t = tf();
    const S = this.seeds;
    const mask = use.every(Boolean) ? undefined : t.tensor2d(use.map((b) => (b ? 1 : 0)), [S, 1], "bool");
    for (const v of this.variables) {
      const mine = this.values.get(v);
      if (!mine) continue;
      if (!mask) v.assign(mine);
      else t.tidy(() => v.assign(t.reshape(t.where(mask, t.reshape(mine, [S, -1]), t.reshape(v, [S, -1])), v.shape)));
    }
    mask?.dispose();
  }

  /**
   * The snapshot of a seed group reduced to slots `kept` (./compaction.ts), over `variables` (the smaller group's,
   * same order): a new SeedSnapshots holding copies of the kept slots' values. This one is left as it was.
   */
  keepSlots(variables: tfjs.Variable[], kept: number[]): SeedSnapshots {
    const next = new SeedSnapshots(variables, kept.length);
    this.variables.forEach((v, i) => {
      const mine = this.values.get(v);
      if (mine) next.values.set(variables[i], keepSlots(mine, this.seeds, kept, (slots) => shapeWithSlots(v.shape, this.seeds, slots)));
    });
    return next;
  }

  /**
   * Assigns the snapshot's slots `fromSlots` to slots `toSlots` of `to` (another model's variables of the same
   * spec, same order, `toSeeds` slots); a variable never taken is left alone.
   */
  copyTo(to: tfjs.Variable[], toSeeds: number, fromSlots: number[], toSlots: number[]): void {
    this.variables.forEach((v, i) => {
      const mine = this.values.get(v);
      if (mine) copySeedSlices([mine], this.seeds, fromSlots, [to[i]], toSeeds, toSlots);
    });
  }

  dispose(): void {
    for (const x of this.values.values()) x.dispose();
    this.values.clear();
  }
}
