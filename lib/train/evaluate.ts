/**
 * Predictions for a whole split, in batches, and the weighted log losses the trainer monitors.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { EncodedSplit } from "../data/encoded";
import { tf } from "../backend";
import { logLoss } from "../metrics";
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

/** pCTR / pCVR / pCTCVR for every row of `split` (inference mode: batch norm uses moving statistics). */
export function predict(model: MultiTaskModel, split: EncodedSplit, options: PredictOptions = {}): Predictions {
  const batchSize = options.batchSize ?? 8192;
  if (!(batchSize > 0)) throw new Error(`predict: batchSize must be positive, got ${batchSize}`);
  checkSplit(split, model.dims, model.spec.name);
  const t = tf();
  const n = split.size;
  const outputs = outputsOf(model.spec);
  const hasCtr = outputs.includes("ctr");
  const hasCvr = outputs.includes("cvr");
  const out: Predictions = {
    pCtr: hasCtr ? new Float64Array(n) : undefined,
    pCvr: hasCvr ? new Float64Array(n) : undefined,
    pCtcvr: new Float64Array(n),
  };
  const targets = [out.pCtr, out.pCvr, out.pCtcvr].filter((a): a is Float64Array => a !== undefined);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const stacked = t.tidy(() => {
      const o = model.forward(inputTensors(sliceRows(split, start, end)), false);
      const parts = [o.pCtr, o.pCvr, o.pCtcvr].filter((x): x is tfjs.Tensor1D => x !== undefined);
      return t.stack(parts, 0);
    });
    const values = stacked.dataSync();
    stacked.dispose();
    const m = end - start;
    targets.forEach((arr, k) => {
      for (let i = 0; i < m; i++) arr[start + i] = values[k * m + i];
    });
  }
  return out;
}

export interface SplitLosses {
  /** Weighted CTCVR log loss over all rows (label click AND conversion): the early-stopping criterion. */
  ctcvr: number;
  /** Weighted CTR log loss over all rows. */
  ctr?: number;
  /** Weighted CVR log loss over clicked rows. */
  cvr?: number;
}

/**
 * The weighted log losses of `preds` on `split`, computed with lib/metrics' `logLoss` (the same function
 * and clipping as the reported metrics). Throws on NaN predictions (MetricInputError).
 */
export function splitLosses(split: EncodedSplit, preds: Predictions): SplitLosses {
  const n = split.size;
  const ctcvrLabel = new Float32Array(n);
  const clickedWeight = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    ctcvrLabel[i] = split.click[i] && split.conversion[i] ? 1 : 0;
    clickedWeight[i] = split.click[i] ? split.weight[i] : 0;
  }
  return {
    ctcvr: logLoss(ctcvrLabel, preds.pCtcvr, split.weight),
    ctr: preds.pCtr ? logLoss(split.click, preds.pCtr, split.weight) : undefined,
    // Zero weight = row ignored: the CVR space is the clicked rows.
    cvr: preds.pCvr ? logLoss(split.conversion, preds.pCvr, clickedWeight) : undefined,
  };
}
