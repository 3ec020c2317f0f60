/**
 * Evaluation spaces as used in the ESMM literature, defined once in `EVALUATION_SPACES`:
 *
 *   ctcvr  all impressions,      label = click AND conversion, prediction pCTCVR (the paper's main score)
 *   cvr    clicked impressions,  label = conversion,           prediction pCVR   (rows with click = 1)
 *   ctr    all impressions,      label = click,                prediction pCTR
 *
 * with, for simulated data, the true probability of each label (pClick * pConversionGivenClick, pClick,
 * pConversionGivenClick). Everything that scores a space reads this table: `evaluateSpaces` here (the reported
 * metrics), lib/train/evaluate.ts `splitLosses` (the log losses the trainer monitors) and lib/study/run.ts
 * `oracleOf` (the cross-entropy of the true probabilities on the same rows).
 *
 * `evaluateSpaces` reports the same metrics in each space; a space whose prediction is not given is
 * omitted (ctcvr is always required). Metrics that are undefined in a space (e.g. AUC with no
 * conversions) are NaN and their reason is listed in `undefinedReasons`.
 */
import { BinningOptions, calibrationRatioUnchecked, ECE_BINNING, eceBinning, expectedCalibrationErrorFromCurve, ReliabilityBin, reliabilityCurveUnchecked } from "./calibration";
import { argsortAscending } from "./argsort";
import { binaryClfCurveUnchecked, logLossUnchecked, normalizedEntropyOfLogLoss, prAucFromCurve, rocAucFromCurve } from "./classification";
import { MetricInputError, MetricResult, checkBinaryInputs, checkProbabilities, checkWeights } from "./result";

export type SpaceName = "ctcvr" | "cvr" | "ctr";

/** The rows a space covers: every impression, or the clicked impressions only (the names of losses.ts' LossSpace). */
export type SpaceRows = "impressions" | "clicks";

/** The prediction columns a space can score (probabilities in [0, 1], one per row). */
export type PredictionColumn = "pCtcvr" | "pCvr" | "pCtr";

/** One evaluation space: which rows, which 0/1 label, which prediction, which true probability. */
export interface EvaluationSpace {
  rows: SpaceRows;
  /** The row's 0/1 label from its 0/1 click and conversion labels. */
  label(click: number, conversion: number): 0 | 1;
  /** The column of predictions the space scores. */
  prediction: PredictionColumn;
  /**
   * The simulator's true probability of the label on a row of the space, from the row's true P(click) and
   * P(conversion | click): what a perfect model would predict there (the oracle).
   */
  truth(pClick: number, pConversionGivenClick: number): number;
}

/** THE table of evaluation spaces, in report order (ctcvr, cvr, ctr). */
export const EVALUATION_SPACES: Readonly<Record<SpaceName, EvaluationSpace>> = {
  ctcvr: {
    rows: "impressions",
    // A conversion without a click does not count.
    label: (click, conversion) => (click === 1 && conversion === 1 ? 1 : 0),
    prediction: "pCtcvr",
    truth: (pClick, pConversionGivenClick) => pClick * pConversionGivenClick,
  },
  cvr: {
    rows: "clicks",
    label: (_click, conversion) => (conversion === 1 ? 1 : 0),
    prediction: "pCvr",
    truth: (_pClick, pConversionGivenClick) => pConversionGivenClick,
  },
  ctr: {
    rows: "impressions",
    label: (click) => (click === 1 ? 1 : 0),
    prediction: "pCtr",
    truth: (pClick) => pClick,
  },
};

/** The names of EVALUATION_SPACES, in its order. */
export const SPACE_NAMES = Object.keys(EVALUATION_SPACES) as SpaceName[];

/** Whether a row with click label `click` (0/1) is in the space. */
export function inSpace(space: EvaluationSpace, click: number): boolean {
  return space.rows === "impressions" || click === 1;
}

/** The space's 0/1 label of every row (not only the space's rows): uint8 [rows]. */
export function spaceLabels(space: EvaluationSpace, click: ArrayLike<number>, conversion: ArrayLike<number>): Uint8Array {
  const y = new Uint8Array(click.length);
  for (let i = 0; i < click.length; i++) y[i] = space.label(click[i], conversion[i]);
  return y;
}

/** One space's rows of a split, in row order: 0/1 labels, predictions and weights (undefined: all 1), each [rows in the space]. */
export interface SpaceColumns {
  y: ArrayLike<number>;
  p: ArrayLike<number>;
  w: ArrayLike<number> | undefined;
}

/**
 * The rows of `space` among the rows of click / conversion / p / weight (all the same length), with the space's
 * label. An all-impressions space hands p and weight back as they are; a clicked-rows space copies its rows
 * (float64).
 */
export function spaceColumns(
  space: EvaluationSpace,
  click: ArrayLike<number>,
  conversion: ArrayLike<number>,
  p: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
): SpaceColumns {
  if (space.rows === "impressions") return { y: spaceLabels(space, click, conversion), p, w: weight };
  let m = 0;
  for (let i = 0; i < click.length; i++) if (inSpace(space, click[i])) m++;
  // Plain loops over the space's rows (not .from with a callback per row).
  const y = new Uint8Array(m);
  const pSpace = new Float64Array(m);
  const w = weight === undefined ? undefined : new Float64Array(m);
  for (let i = 0, k = 0; i < click.length; i++) {
    if (!inSpace(space, click[i])) continue;
    y[k] = space.label(click[i], conversion[i]);
    pSpace[k] = p[i];
    if (w !== undefined) w[k] = weight![i];
    k++;
  }
  return { y, p: pSpace, w };
}

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
  /**
   * Receives each space's reliability curve in the ECE's bins (reliabilityCurve of the space's y, p, w with
   * the ECE's binning: the curve the ECE sums), so a caller that wants the curve too does not bin again.
   */
  onEceCurve?: (space: SpaceName, curve: ReliabilityBin[]) => void;
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
  checkBinaryInputs("evaluateSpace", y, p, w);
  return evaluateSpaceUnchecked(space, y, p, w, options);
}

/**
 * evaluateSpace on inputs that checkBinaryInputs has passed (the one definition: evaluateSpace checks, then
 * calls this). evaluateSpaces calls it directly: its labels are made from clicks and conversions it checked
 * to be 0/1, its weights are checked once for all spaces, and it checks each space's predictions.
 */
export function evaluateSpaceUnchecked(
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
  // One pass per space: one sort of p (after the inputs are validated), shared by the curve of both AUCs and
  // the ECE's equal-mass bins; the log loss computed once for itself and the normalized entropy. Each value
  // is the one its own function gives (test/metrics-one-pass.test.ts).
  // The inputs are checked once (evaluateSpace, evaluateSpaces) for all the metrics: each is its function's unchecked body.
  const ascending = argsortAscending(p);
  const curve = binaryClfCurveUnchecked(y, p, w, ascending);
  const logLoss = logLossUnchecked(y, p, w);
  const eceCurve = reliabilityCurveUnchecked(y, p, w, eceBinning(options.eceBinning ?? ECE_BINNING), ascending);
  options.onEceCurve?.(space, eceCurve);
  const results: Record<SpaceMetricName, MetricResult> = {
    logLoss,
    normalizedEntropy: normalizedEntropyOfLogLoss(logLoss, y, w),
    rocAuc: rocAucFromCurve(curve),
    prAuc: prAucFromCurve(curve),
    calibrationRatio: calibrationRatioUnchecked(y, p, w),
    ece: expectedCalibrationErrorFromCurve(y.length, eceCurve),
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

/** The metrics of every space of EVALUATION_SPACES whose prediction column is given (pCtcvr always is). */
export function evaluateSpaces(inputs: SpaceInputs, options: SpacesOptions = {}): SpacesReport {
  const { click, conversion, weight } = inputs;
  const n = click.length;
  checkLength("conversion", conversion, n);
  checkLength("weight", weight, n);
  for (const name of SPACE_NAMES) {
    const column = EVALUATION_SPACES[name].prediction;
    checkLength(column, inputs[column], n);
  }
  if (inputs.pCtcvr === undefined) throw new MetricInputError("evaluateSpaces", "pCtcvr is required");
  if (weight !== undefined) checkWeights("evaluateSpaces", weight);
  for (let i = 0; i < n; i++) {
    if ((click[i] !== 0 && click[i] !== 1) || (conversion[i] !== 0 && conversion[i] !== 1)) {
      throw new MetricInputError("evaluateSpaces", `row ${i}: click = ${click[i]}, conversion = ${conversion[i]} are not 0/1 labels`);
    }
  }

  const report: Partial<SpacesReport> = {};
  for (const name of SPACE_NAMES) {
    const space = EVALUATION_SPACES[name];
    const p = inputs[space.prediction];
    if (p === undefined) continue;
    const { y, p: pSpace, w } = spaceColumns(space, click, conversion, p, weight);
    checkProbabilities("evaluateSpace", pSpace); // what evaluateSpace's check could still find (see evaluateSpaceUnchecked)
    report[name] = evaluateSpaceUnchecked(name, y, pSpace, w, options);
  }
  return report as SpacesReport;
}
