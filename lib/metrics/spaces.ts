/**
 * Evaluation spaces as used in the ESMM literature:
 *
 *   ctcvr  all impressions,      label = click AND conversion, prediction pCTCVR (the paper's main score)
 *   cvr    clicked impressions,  label = conversion,           prediction pCVR   (rows with click = 1)
 *   ctr    all impressions,      label = click,                prediction pCTR
 *
 * `evaluateSpaces` reports the same metrics in each space; a space whose prediction is not given is
 * omitted (ctcvr is always required). Metrics that are undefined in a space (e.g. AUC with no
 * conversions) are NaN and their reason is listed in `undefinedReasons`.
 */
import { BinningOptions, calibrationRatioResult, ECE_BINNING, expectedCalibrationErrorResult } from "./calibration";
import { binaryClfCurve, logLossResult, normalizedEntropyResult, prAucFromCurve, rocAucFromCurve } from "./classification";
import { MetricInputError, MetricResult, checkWeights } from "./result";

export type SpaceName = "ctcvr" | "cvr" | "ctr";
export type SpaceMetricName = "logLoss" | "normalizedEntropy" | "rocAuc" | "prAuc" | "calibrationRatio" | "ece";

export interface SpaceMetrics {
  space: SpaceName;
  /** Rows in the space (raw) and their total weight. */
  count: number;
  weightedCount: number;
  /** Positive labels in the space (raw) and their total weight. */
  positives: number;
  weightedPositives: number;
  logLoss: number;
  normalizedEntropy: number;
  rocAuc: number;
  prAuc: number;
  calibrationRatio: number;
  /**
   * Expected calibration error with the binning given in the options (default 10 equal-mass bins,
   * ECE_BINNING: equal-width bins put nearly every row of a pCTCVR below 0.01 in one bin; calibration.ts).
   */
  ece: number;
  /** Why a metric is NaN, for each NaN metric. */
  undefinedReasons: Partial<Record<SpaceMetricName, string>>;
}

export interface SpaceInputs {
  click: ArrayLike<number>;
  conversion: ArrayLike<number>;
  /** Sample weights (e.g. 1/keepRate for downsampled negatives); all 1 when omitted. */
  weight?: ArrayLike<number>;
  pCtr?: ArrayLike<number>;
  pCvr?: ArrayLike<number>;
  pCtcvr: ArrayLike<number>;
}

export interface SpacesOptions {
  /** Binning for `ece`: a bin count or BinningOptions, the rest from ECE_BINNING (default 10 equal-mass bins). */
  eceBinning?: number | BinningOptions;
}

export interface SpacesReport {
  ctcvr: SpaceMetrics;
  cvr?: SpaceMetrics;
  ctr?: SpaceMetrics;
}

/** All metrics of one space (labels y, predictions p, weights w already restricted to the space). */
export function evaluateSpace(
  space: SpaceName,
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w: ArrayLike<number> | undefined,
  options: SpacesOptions = {},
): SpaceMetrics {
  let weightedCount = 0;
  let positives = 0;
  let weightedPositives = 0;
  for (let i = 0; i < y.length; i++) {
    const wi = w === undefined ? 1 : w[i];
    weightedCount += wi;
    if (y[i] === 1) {
      positives++;
      weightedPositives += wi;
    }
  }
  const curve = binaryClfCurve(y, p, w); // validates inputs; shared by both AUCs
  const results: Record<SpaceMetricName, MetricResult> = {
    logLoss: logLossResult(y, p, w),
    normalizedEntropy: normalizedEntropyResult(y, p, w),
    rocAuc: rocAucFromCurve(curve),
    prAuc: prAucFromCurve(curve),
    calibrationRatio: calibrationRatioResult(y, p, w),
    ece: expectedCalibrationErrorResult(y, p, w, options.eceBinning ?? ECE_BINNING),
  };
  const undefinedReasons: Partial<Record<SpaceMetricName, string>> = {};
  for (const name of Object.keys(results) as SpaceMetricName[]) {
    const reason = results[name].reason;
    if (reason !== undefined) undefinedReasons[name] = reason;
  }
  return {
    space,
    count: y.length,
    weightedCount,
    positives,
    weightedPositives,
    logLoss: results.logLoss.value,
    normalizedEntropy: results.normalizedEntropy.value,
    rocAuc: results.rocAuc.value,
    prAuc: results.prAuc.value,
    calibrationRatio: results.calibrationRatio.value,
    ece: results.ece.value,
    undefinedReasons,
  };
}

function checkLength(name: string, a: ArrayLike<number> | undefined, n: number): void {
  if (a !== undefined && a.length !== n) {
    throw new MetricInputError("evaluateSpaces", `length mismatch: click has ${n} rows, ${name} has ${a.length}`);
  }
}

export function evaluateSpaces(inputs: SpaceInputs, options: SpacesOptions = {}): SpacesReport {
  const { click, conversion, weight, pCtr, pCvr, pCtcvr } = inputs;
  const n = click.length;
  checkLength("conversion", conversion, n);
  checkLength("weight", weight, n);
  checkLength("pCtr", pCtr, n);
  checkLength("pCvr", pCvr, n);
  checkLength("pCtcvr", pCtcvr, n);
  if (weight !== undefined) checkWeights("evaluateSpaces", weight);
  for (let i = 0; i < n; i++) {
    if ((click[i] !== 0 && click[i] !== 1) || (conversion[i] !== 0 && conversion[i] !== 1)) {
      throw new MetricInputError("evaluateSpaces", `row ${i}: click = ${click[i]}, conversion = ${conversion[i]} are not 0/1 labels`);
    }
  }

  // CTCVR label: clicked and converted (a conversion without a click does not count).
  const ctcvrLabel = new Uint8Array(n);
  for (let i = 0; i < n; i++) ctcvrLabel[i] = click[i] === 1 && conversion[i] === 1 ? 1 : 0;
  const report: SpacesReport = { ctcvr: evaluateSpace("ctcvr", ctcvrLabel, pCtcvr, weight, options) };

  if (pCvr !== undefined) {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (click[i] === 1) rows.push(i);
    const y = Float64Array.from(rows, (i) => conversion[i]);
    const p = Float64Array.from(rows, (i) => pCvr[i]);
    const w = weight === undefined ? undefined : Float64Array.from(rows, (i) => weight[i]);
    report.cvr = evaluateSpace("cvr", y, p, w, options);
  }
  if (pCtr !== undefined) report.ctr = evaluateSpace("ctr", click, pCtr, weight, options);
  return report;
}
