/**
 * Binary classification metrics matching scikit-learn (>= 1.5) on float64 input:
 *
 * - logLoss           = sklearn.metrics.log_loss(y, p, sample_weight=w)
 *                       p clipped to [eps, 1 - eps] with eps = float64 machine epsilon (2^-52), the
 *                       per-row loss -[y log p + (1-y) log(1-p)], then the weighted mean
 *                       sum(w * loss) / sum(w). Unlike sklearn, a single-class y is allowed (it is
 *                       what sklearn computes with labels=[0, 1]).
 * - normalizedEntropy = logLoss / H(base rate), H(r) = -r ln r - (1-r) ln(1-r), r = sum(w y)/sum(w)
 *                       (He et al. 2014, "Practical lessons from predicting clicks on ads at Facebook").
 * - rocAuc            = sklearn.metrics.roc_auc_score: ROC points at each distinct score (ties form one
 *                       point, i.e. count 1/2), collinear points dropped (drop_intermediate), (0, 0)
 *                       prepended, trapezoidal area.
 * - prAuc             = sklearn.metrics.average_precision_score: AP = sum_k (R_k - R_{k-1}) P_k over
 *                       distinct score thresholds in decreasing order, R_0 = 0, no interpolation.
 *
 * Weights: rows with weight 0 are dropped before building curves (as sklearn's _binary_clf_curve does).
 * Undefined cases return NaN (see result.ts): empty input / zero total weight for all; base rate 0 or 1
 * for normalizedEntropy; a single class (by weight) for rocAuc; no positive weight for prAuc (all
 * positives gives 1, as in sklearn).
 */
import { argsortAscending } from "./argsort";
import {
  MetricInputError,
  MetricResult,
  checkBinaryInputs,
  defined,
  emptyReason,
  undefinedMetric,
  weightAt,
  weightedTotals,
} from "./result";

/** float64 machine epsilon: np.finfo(np.float64).eps, the clip sklearn applies to float64 predictions. */
export const LOG_LOSS_EPS = Number.EPSILON;

export interface LogLossOptions {
  /** Clip p to [eps, 1 - eps]; default float64 eps. Use 2 ** -23 to mimic sklearn on float32 arrays. */
  eps?: number;
}

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * Cross-entropy (nats) of a Bernoulli(q) target against a prediction p, both in [0, 1]:
 * -[q log p + (1 - q) log(1 - p)], with sklearn's clipping (the two columns [1 - p, p] each clipped to
 * [eps, 1 - eps]). A 0/1 label q gives one row's log loss (-log of the clipped probability of the observed
 * label, computed as that one term); a probability q gives the soft-target cross-entropy that
 * lib/metrics/mechanism.ts compares with the true probabilities. The one definition of the clipped term.
 */
export function binaryCrossEntropy(q: number, p: number, eps: number = LOG_LOSS_EPS): number {
  if (q === 1) return -Math.log(clip(p, eps, 1 - eps));
  if (q === 0) return -Math.log(clip(1 - p, eps, 1 - eps));
  return -(q * Math.log(clip(p, eps, 1 - eps)) + (1 - q) * Math.log(clip(1 - p, eps, 1 - eps)));
}

/**
 * Per-row log losses (nats), length n: the terms whose weighted mean is logLoss (same clipping). For
 * resampling: a resample's log loss is the weighted mean of these terms over the drawn rows. `into`
 * (optional, length n): written and returned instead of a new array (a caller scoring many runs of one day
 * reuses one, as notebook 04's bootstrap does for its 216 runs of 1.33M rows). Throws MetricInputError on
 * invalid inputs, Error on an `into` of another length.
 */
export function logLossPerRow(y: ArrayLike<number>, p: ArrayLike<number>, options: LogLossOptions = {}, into?: Float64Array): Float64Array {
  checkBinaryInputs("logLossPerRow", y, p, undefined);
  const eps = options.eps ?? LOG_LOSS_EPS;
  if (into !== undefined && into.length !== y.length) throw new Error(`logLossPerRow: into has ${into.length} rows, y has ${y.length}`);
  const out = into ?? new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = binaryCrossEntropy(y[i], p[i], eps);
  return out;
}

export function logLossResult(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w?: ArrayLike<number>,
  options: LogLossOptions = {},
): MetricResult {
  checkBinaryInputs("logLoss", y, p, w);
  return logLossUnchecked(y, p, w, options);
}

/**
 * logLossResult on inputs that checkBinaryInputs has passed (the one definition: logLossResult checks, then
 * calls this). For a caller that checks once for several metrics (evaluateSpace); unchecked input is undefined.
 */
export function logLossUnchecked(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>, options: LogLossOptions = {}): MetricResult {
  const eps = options.eps ?? LOG_LOSS_EPS;
  let sum = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const wi = weightAt(w, i);
    sum += wi * binaryCrossEntropy(y[i], p[i], eps);
    total += wi;
  }
  const empty = emptyReason(y.length, total);
  return empty ? undefinedMetric(empty) : defined(sum / total);
}

export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>, options?: LogLossOptions): number {
  return logLossResult(y, p, w, options).value;
}

/** Entropy (nats) of a Bernoulli(r) label: the log loss of always predicting the base rate r. */
export function bernoulliEntropy(r: number): number {
  return -(r * Math.log(r) + (1 - r) * Math.log(1 - r));
}

export function normalizedEntropyResult(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w?: ArrayLike<number>,
  options?: LogLossOptions,
): MetricResult {
  return normalizedEntropyOfLogLoss(logLossResult(y, p, w, options), y, w);
}

/**
 * Normalized entropy from the log loss `ll` of the same y and w (logLossResult's): ll / H(base rate), or
 * ll's own reason when it is undefined. Lets a caller that has the log loss reuse it (evaluateSpace).
 */
export function normalizedEntropyOfLogLoss(ll: MetricResult, y: ArrayLike<number>, w?: ArrayLike<number>): MetricResult {
  if (ll.reason) return ll;
  const { total, positives } = weightedTotals(y, w);
  const rate = positives / total;
  if (rate <= 0 || rate >= 1) {
    return undefinedMetric(`base rate is ${rate}: the label entropy is zero, so normalized entropy is undefined`);
  }
  return defined(ll.value / bernoulliEntropy(rate));
}

export function normalizedEntropy(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>, options?: LogLossOptions): number {
  return normalizedEntropyResult(y, p, w, options).value;
}

/**
 * sklearn's _binary_clf_curve: one entry per distinct score, in decreasing score order, with the
 * cumulative weighted true/false positives among rows scoring >= that threshold.
 */
export interface BinaryCurve {
  thresholds: Float64Array;
  tps: Float64Array;
  fps: Float64Array;
}

/**
 * `ascending` (optional): argsortAscending(p), the stable ascending order of ALL rows of p, when the caller has
 * it already (evaluateSpace shares one sort between the curve and the ECE's equal-mass bins); it must be
 * exactly that permutation. The curve is the same with or without it: the stable order of the rows of
 * non-zero weight is the stable order of all rows with the weight-0 rows left out (a stable sort's
 * permutation is unique), read backwards here, so the cumulative sums add the same terms in the same order.
 * Throws MetricInputError on invalid inputs or an `ascending` of the wrong length.
 */
export function binaryClfCurve(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>, ascending?: Uint32Array): BinaryCurve {
  checkBinaryInputs("binaryClfCurve", y, p, w);
  return binaryClfCurveUnchecked(y, p, w, ascending);
}

/**
 * binaryClfCurve on inputs that checkBinaryInputs has passed (the one definition: binaryClfCurve checks, then
 * calls this; `ascending` is still checked). For a caller that checks once for several metrics (evaluateSpace).
 */
export function binaryClfCurveUnchecked(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>, ascending?: Uint32Array): BinaryCurve {
  if (ascending !== undefined && ascending.length !== p.length) {
    throw new MetricInputError("binaryClfCurve", `the order has ${ascending.length} rows, p has ${p.length}`);
  }
  // Rows by decreasing score (the ascending radix argsort read backwards), rows with weight 0 skipped.
  const order = ascending ?? argsortAscending(p);
  const thresholds = new Float64Array(order.length);
  const tps = new Float64Array(order.length);
  const fps = new Float64Array(order.length);
  let m = 0;
  let tp = 0;
  let fp = 0;
  let started = false;
  let last = 0; // score of the previous kept row
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k];
    const wi = weightAt(w, i);
    if (wi === 0) continue;
    const pi = p[i];
    // A new run of equal scores closes the previous one at its last row (ties form one threshold).
    if (started && pi !== last) {
      thresholds[m] = last;
      tps[m] = tp;
      fps[m] = fp;
      m++;
    }
    if (y[i] === 1) tp += wi;
    else fp += wi;
    last = pi;
    started = true;
  }
  if (started) {
    thresholds[m] = last;
    tps[m] = tp;
    fps[m] = fp;
    m++;
  }
  // Views of their first m entries, not copies (a copy of three n-row columns took a third of the curve's time).
  return { thresholds: thresholds.subarray(0, m), tps: tps.subarray(0, m), fps: fps.subarray(0, m) };
}

/** The reason ROC AUC is undefined on this curve (no rows, or one class by weight), if any. */
function rocUndefinedReason(curve: BinaryCurve): string | undefined {
  const n = curve.tps.length;
  if (n === 0) return "empty input (or all weights zero)";
  if (curve.tps[n - 1] <= 0) return "only one class present (no positives): ROC AUC is undefined";
  if (curve.fps[n - 1] <= 0) return "only one class present (no negatives): ROC AUC is undefined";
  return undefined;
}

/** ROC AUC from a precomputed curve (lets evaluateSpaces sort once for both AUCs). */
export function rocAucFromCurve(curve: BinaryCurve): MetricResult {
  const reason = rocUndefinedReason(curve);
  if (reason) return undefinedMetric(reason);
  let { tps, fps } = curve;
  // drop_intermediate=True: keep the ends and every point where the curve changes slope.
  if (tps.length > 2) {
    const n = tps.length;
    const keptTps = new Float64Array(n);
    const keptFps = new Float64Array(n);
    keptTps[0] = tps[0];
    keptFps[0] = fps[0];
    let m = 1;
    for (let k = 1; k < n - 1; k++) {
      // np.diff(x, 2), evaluated in the same order as numpy.
      const d2f = fps[k + 1] - fps[k] - (fps[k] - fps[k - 1]);
      const d2t = tps[k + 1] - tps[k] - (tps[k] - tps[k - 1]);
      if (d2f !== 0 || d2t !== 0) {
        keptTps[m] = tps[k];
        keptFps[m] = fps[k];
        m++;
      }
    }
    keptTps[m] = tps[n - 1];
    keptFps[m] = fps[n - 1];
    m++;
    tps = keptTps.subarray(0, m);
    fps = keptFps.subarray(0, m);
  }
  const totalPos = tps[tps.length - 1];
  const totalNeg = fps[fps.length - 1];
  // Trapezoid over (0,0), (fpr_1, tpr_1), ..., (1, 1).
  let area = 0;
  let prevX = 0;
  let prevY = 0;
  for (let k = 0; k < tps.length; k++) {
    const x = fps[k] / totalNeg;
    const yv = tps[k] / totalPos;
    area += ((x - prevX) * (yv + prevY)) / 2;
    prevX = x;
    prevY = yv;
  }
  return defined(area);
}

export function rocAucResult(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>): MetricResult {
  return rocAucFromCurve(binaryClfCurve(y, p, w));
}

export function rocAuc(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>): number {
  return rocAucResult(y, p, w).value;
}

/** Average precision from a precomputed curve. */
export function prAucFromCurve(curve: BinaryCurve): MetricResult {
  const { tps, fps } = curve;
  const n = tps.length;
  if (n === 0) return undefinedMetric("empty input (or all weights zero)");
  const totalPos = tps[n - 1];
  if (totalPos <= 0) return undefinedMetric("no positive labels: average precision is undefined");
  let ap = 0;
  let prevRecall = 0;
  for (let k = 0; k < n; k++) {
    const predictedPos = tps[k] + fps[k];
    const precision = predictedPos !== 0 ? tps[k] / predictedPos : 0; // sklearn: 0 where tps+fps == 0
    const recall = tps[k] / totalPos;
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  }
  return defined(ap);
}

export function prAucResult(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>): MetricResult {
  return prAucFromCurve(binaryClfCurve(y, p, w));
}

/** Average precision (area under the step-wise precision-recall curve). */
export function prAuc(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>): number {
  return prAucResult(y, p, w).value;
}
