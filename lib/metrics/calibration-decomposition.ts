/**
 * Where a calibration ratio comes from, when the true probabilities are known (simulated data).
 *
 * The calibration ratio of predictions p against labels y with weights w is sum(w p) / sum(w y)
 * (calibration.ts). With the true probabilities t of the same rows it factors exactly as
 *
 *   sum(w p) / sum(w y)  =  [sum(w p) / sum(w t)]  x  [sum(w t) / sum(w y)]
 *                            model vs truth            truth vs labels (sampling noise of the labels)
 *
 * and the first factor can be followed from the rows a model was trained on to the rows it is scored on, one
 * change at a time: given views V_0, ..., V_K of the same model (e.g. the training rows, fresh rows of a
 * training day, the test day with one thing changed, the test day as scored), each view's model-vs-truth
 * ratio r_k = sum(w p) / sum(w t) gives the steps f_0 = r_0 and f_k = r_k / r_{k-1}, and
 *
 *   ratio of V_K  =  f_0 x f_1 x ... x f_K x [sum(w t) / sum(w y) of V_K]        (telescoping, exact)
 *
 * so each step is the part of the ratio that one change explains (lib/study/calibration-decomposition.ts
 * builds the views; docs/calibration.md reads them). Plain arrays, no tensorflow; the input rules of
 * result.ts (probabilities in [0, 1], labels 0/1, weights >= 0 and finite) apply to p, t and y.
 */
import { MetricInputError, checkBinaryInputs, weightAt } from "./result";

/** The weighted means of one set of rows; means are NaN when the total weight is 0. */
export interface CalibrationTerms {
  /** Rows (raw count) and their total weight. */
  rows: number;
  weight: number;
  /** Weighted means of the prediction p, the true probability t and the label y. */
  meanPredicted: number;
  meanTruth: number;
  meanObserved: number;
  /** sum(w p) / sum(w y): the calibration ratio (NaN without a positive label). */
  predictedOverObserved: number;
  /** sum(w p) / sum(w t): the model against the truth. */
  predictedOverTruth: number;
  /** sum(w t) / sum(w y): the truth against the labels (1 up to label noise). */
  truthOverObserved: number;
}

/**
 * The CalibrationTerms of labels y (0/1), predictions p and true probabilities t (in [0, 1]) and weights w (all
 * 1 when omitted), all of length n, over the rows where `keep` is 1 (all rows when omitted). Throws
 * MetricInputError on a length mismatch or an invalid value.
 */
export function calibrationTerms(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  t: ArrayLike<number>,
  w?: ArrayLike<number>,
  keep?: ArrayLike<number>,
): CalibrationTerms {
  checkBinaryInputs("calibrationTerms", y, p, w);
  checkBinaryInputs("calibrationTerms (truth)", y, t, w);
  if (keep && keep.length !== y.length) throw new MetricInputError("calibrationTerms", `keep has ${keep.length} rows, y ${y.length}`);
  let rows = 0;
  let weight = 0;
  let sp = 0;
  let st = 0;
  let sy = 0;
  for (let i = 0; i < y.length; i++) {
    if (keep && !keep[i]) continue;
    const wi = weightAt(w, i);
    rows++;
    weight += wi;
    sp += wi * p[i];
    st += wi * t[i];
    sy += wi * y[i];
  }
  const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
  return {
    rows,
    weight,
    meanPredicted: ratio(sp, weight),
    meanTruth: ratio(st, weight),
    meanObserved: ratio(sy, weight),
    predictedOverObserved: ratio(sp, sy),
    predictedOverTruth: ratio(sp, st),
    truthOverObserved: ratio(st, sy),
  };
}

/** One factor of a calibration chain: what the step from the previous view to this one multiplies the ratio by. */
export interface CalibrationStep {
  /** The view's name (the change it makes), or "labels" for the last factor. */
  name: string;
  factor: number;
}

/**
 * The chain of the header for views V_0..V_K (K >= 0, in order): factor of step k = r_k / r_{k-1} (r_0 for the
 * first), then the "labels" factor sum(w t) / sum(w y) of the last view; the factors multiply to the last
 * view's predictedOverObserved (up to rounding). `total` is that ratio. Throws on an empty list.
 */
export function calibrationChain(views: readonly { name: string; terms: CalibrationTerms }[]): { steps: CalibrationStep[]; total: number } {
  if (views.length === 0) throw new Error("calibrationChain: no views");
  const steps: CalibrationStep[] = views.map((v, k) => ({
    name: v.name,
    factor: k === 0 ? v.terms.predictedOverTruth : v.terms.predictedOverTruth / views[k - 1].terms.predictedOverTruth,
  }));
  const last = views[views.length - 1].terms;
  steps.push({ name: "labels", factor: last.truthOverObserved });
  return { steps, total: last.predictedOverObserved };
}
