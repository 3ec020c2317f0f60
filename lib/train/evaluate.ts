/**
 * Predictions for a whole split, in batches, and the weighted log losses the trainer monitors.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { EncodedSplit } from "../data/encoded";
import { tf } from "../backend";
import { EVALUATION_SPACES, inSpace, logLoss, SPACE_NAMES, spaceLabels } from "../metrics";
import { MultiTaskModel, outputsOf } from "../models";
import { checkSplit, inputTensors, sliceRows } from "./batches";

export interface Predictions {
  /** Absent for models without a CTR head (ESP). */
  pCtr?: Float64Array;
  /** Absent for models without a CVR head (ESSP-Split, ESP). */
  pCvr?: Float64Array;
  /** Every model. */
  pCtcvr: Float64Array;
}

export interface PredictOptions {
  /** Rows per forward pass. Default 8192. */
  batchSize?: number;
}

/**
 * The one predict: pCTR / pCVR / pCTCVR of every seed of `model` (S >= 1: a single model is the group of its
 * one seed) for every row of `split`, in the model's seed order, in inference mode (batch norm uses moving
 * statistics). One forward pass per batch of rows for all seeds: the rows are shared, each seed reads its own
 * slice of the variables. A group's seed s predicts what its single model would, up to float32 summation order
 * (test/seed-group.test.ts). Throws when `split` does not fit the model (checkSplit) or on a batch size <= 0.
 */
export function predictEachSeed(model: MultiTaskModel, split: EncodedSplit, options: PredictOptions = {}): Predictions[] {
  const batchSize = options.batchSize ?? 8192;
  if (!(batchSize > 0)) throw new Error(`predict: batchSize must be positive, got ${batchSize}`);
  checkSplit(split, model.dims, model.spec.name);
  const t = tf();
  const n = split.size;
  const S = model.seeds.length;
  const outputs = outputsOf(model.spec);
  const hasCtr = outputs.includes("ctr");
  const hasCvr = outputs.includes("cvr");
  const out: Predictions[] = model.seeds.map(() => ({
    pCtr: hasCtr ? new Float64Array(n) : undefined,
    pCvr: hasCvr ? new Float64Array(n) : undefined,
    pCtcvr: new Float64Array(n),
  }));
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const stacked = t.tidy(() => {
      const o = model.forward(inputTensors(sliceRows(split, start, end)), false);
      const parts = [o.pCtr, o.pCvr, o.pCtcvr].filter((x): x is tfjs.Tensor1D => x !== undefined);
      return t.stack(parts, 0); // [outputs, S, rows]; a single model: [outputs, rows], the same values in the same order
    });
    const values = stacked.dataSync();
    stacked.dispose();
    const m = end - start;
    for (let s = 0; s < S; s++) {
      const targets = [out[s].pCtr, out[s].pCvr, out[s].pCtcvr].filter((a): a is Float64Array => a !== undefined);
      targets.forEach((arr, k) => {
        const base = (k * S + s) * m;
        for (let i = 0; i < m; i++) arr[start + i] = values[base + i];
      });
    }
  }
  return out;
}

/** A single model's predictions (predictEachSeed of its one seed). Throws on a seed group (use predictSeeds). */
export function predict(model: MultiTaskModel, split: EncodedSplit, options: PredictOptions = {}): Predictions {
  if (model.grouped) throw new Error(`predict: model "${model.spec.name}" is a seed group; use predictSeeds`);
  return predictEachSeed(model, split, options)[0];
}

/** A seed group's predictions, one per seed in the group's order (predictEachSeed). Throws on a single model (use predict). */
export function predictSeeds(model: MultiTaskModel, split: EncodedSplit, options: PredictOptions = {}): Predictions[] {
  if (!model.grouped) throw new Error(`predictSeeds: model "${model.spec.name}" is not a seed group; use predict`);
  return predictEachSeed(model, split, options);
}

/** Weighted log losses (nats per unit weight) of one split, one per space of EVALUATION_SPACES that the model predicts. */
export interface SplitLosses {
  /** CTCVR log loss over all rows (label click AND conversion): the early-stopping criterion. */
  ctcvr: number;
  /** CTR log loss over all rows. */
  ctr?: number;
  /** CVR log loss over clicked rows. */
  cvr?: number;
}

/**
 * The weighted log losses of `preds` on `split`, one per evaluation space (lib/metrics EVALUATION_SPACES:
 * its label, its rows, its prediction column), computed with lib/metrics' `logLoss` (the same function and
 * clipping as the reported metrics). Rows outside a space get weight 0 (the value is that of the space's rows
 * alone, and every row's prediction is still checked). Throws on NaN predictions (MetricInputError).
 */
export function splitLosses(split: EncodedSplit, preds: Predictions): SplitLosses {
  const losses: Partial<SplitLosses> = {};
  for (const name of SPACE_NAMES) {
    const space = EVALUATION_SPACES[name];
    const p = preds[space.prediction];
    if (p === undefined) continue;
    const w = new Float32Array(split.weight.length); // a plain loop (Float32Array.from with a callback took 3/4 of the time)
    for (let i = 0; i < w.length; i++) w[i] = inSpace(space, split.click[i]) ? split.weight[i] : 0;
    losses[name] = logLoss(spaceLabels(space, split.click, split.conversion), p, w);
  }
  return losses as SplitLosses;
}
