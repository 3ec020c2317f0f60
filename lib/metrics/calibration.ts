/**
 * Calibration metrics.
 *
 * - calibrationRatio = sum(w p) / sum(w y): predicted over observed positives (1 = calibrated, > 1 =
 *   over-prediction). NaN when there are no positives.
 * - reliabilityCurve: per bin, the weighted mean prediction, the weighted observed positive rate and
 *   the bin's weight. Two binnings:
 *     "uniform"  (default) B equal-width bins over [0, 1]: bin k holds k/B <= p < (k+1)/B, the last
 *                bin also holds p = 1 (edges are the doubles nearest k/B). All B bins are returned;
 *                empty ones have weight 0 and NaN means.
 *     "quantile" equal-mass bins: rows sorted by p, a run of tied p goes to bin
 *                floor(B * weightBefore / totalWeight), so ties never straddle bins and bins carry
 *                about 1/B of the weight each. Only non-empty bins are returned (lo/hi = their min/max p).
 * - expectedCalibrationError = sum over non-empty bins of (W_b / W) |meanPredicted_b - observedRate_b|, with
 *   W_b the bin's weight and W the total, over the bins of reliabilityCurve (one binning code for both).
 *   Its bins: ECE_BINNING (10 equal-mass bins, as in the study's reliability diagrams) for whatever the
 *   caller does not give: a bare number n means n equal-mass bins, `{ strategy: "uniform" }` equal-width
 *   ones (reliabilityCurve on its own defaults to equal-width). Why equal mass: with pCTCVR below 0.01
 *   nearly all the weight falls in the first equal-width bin [0, 0.1), and the ECE shrinks to
 *   |weighted mean p - weighted base rate| (what the calibration ratio already says), blind to how
 *   predicted and observed rates differ across the predictions; equal-mass bins carry about 1/10 of the
 *   weight each wherever the predictions lie.
 *
 * Weights follow the same rules as everywhere in lib/metrics (see result.ts).
 */
import { argsortAscending } from "./argsort";
import { MetricInputError, MetricResult, checkBinaryInputs, defined, emptyReason, undefinedMetric, weightAt } from "./result";

export function calibrationRatioResult(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>): MetricResult {
  checkBinaryInputs("calibrationRatio", y, p, w);
  return calibrationRatioUnchecked(y, p, w);
}

/**
 * calibrationRatioResult on inputs that checkBinaryInputs has passed (the one definition: calibrationRatioResult
 * checks, then calls this). For a caller that checks once for several metrics (evaluateSpace).
 */
export function calibrationRatioUnchecked(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>): MetricResult {
  let predicted = 0;
  let observed = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const wi = weightAt(w, i);
    predicted += wi * p[i];
    observed += wi * y[i];
    total += wi;
  }
  const empty = emptyReason(y.length, total);
  if (empty) return undefinedMetric(empty);
  if (observed <= 0) return undefinedMetric("no positive labels: calibration ratio sum(w p)/sum(w y) divides by zero");
  return defined(predicted / observed);
}

export function calibrationRatio(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>): number {
  return calibrationRatioResult(y, p, w).value;
}

export type BinningStrategy = "uniform" | "quantile";

export interface BinningOptions {
  /** Number of bins (default 10). */
  bins?: number;
  /** Default "uniform" (equal width over [0, 1]). */
  strategy?: BinningStrategy;
}

/** The binning of the expected calibration error and of the study's reliability diagrams: 10 equal-mass bins. */
export const ECE_BINNING: Readonly<Required<BinningOptions>> = Object.freeze({ bins: 10, strategy: "quantile" });

export interface ReliabilityBin {
  /** Lower / upper edge: k/B and (k+1)/B for uniform bins; min / max p in the bin for quantile bins. */
  lo: number;
  hi: number;
  /** Rows in the bin (raw count) and their total weight. */
  count: number;
  weight: number;
  /** Weighted mean of p in the bin (NaN when empty). */
  meanPredicted: number;
  /** Weighted fraction of positives in the bin (NaN when empty). */
  observedRate: number;
}

function resolveBinning(binning: number | BinningOptions | undefined): { bins: number; strategy: BinningStrategy } {
  const opts = typeof binning === "number" ? { bins: binning } : (binning ?? {});
  const bins = opts.bins ?? 10;
  const strategy = opts.strategy ?? "uniform";
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`reliabilityCurve: bins must be a positive integer, got ${bins}`);
  if (strategy !== "uniform" && strategy !== "quantile") throw new Error(`reliabilityCurve: unknown strategy "${strategy}"`);
  return { bins, strategy };
}

/** Equal-width bin of p in [0, 1], consistent with the edges k / bins. */
function uniformBin(p: number, bins: number): number {
  let k = Math.min(bins - 1, Math.floor(p * bins));
  if (k > 0 && p < k / bins) k--;
  else if (k < bins - 1 && p >= (k + 1) / bins) k++;
  return k;
}

/**
 * Bin index of every row (weight-0 rows included; they just add nothing). Quantile bins walk the rows in
 * `ascending` order (argsortAscending(p), sorted here when not given).
 */
function assignBins(p: ArrayLike<number>, w: ArrayLike<number> | undefined, bins: number, strategy: BinningStrategy, ascending?: Uint32Array): Int32Array {
  const bin = new Int32Array(p.length);
  if (strategy === "uniform") {
    for (let i = 0; i < p.length; i++) bin[i] = uniformBin(p[i], bins);
    return bin;
  }
  const order = ascending ?? argsortAscending(p);
  let total = 0;
  for (let i = 0; i < p.length; i++) total += weightAt(w, i);
  let before = 0;
  let k = 0;
  while (k < order.length) {
    // One run of tied predictions goes into one bin.
    const value = p[order[k]];
    const b = total > 0 ? Math.min(bins - 1, Math.floor((bins * before) / total)) : 0;
    while (k < order.length && p[order[k]] === value) {
      bin[order[k]] = b;
      before += weightAt(w, order[k]);
      k++;
    }
  }
  return bin;
}

/**
 * The reliability curve of the header. `ascending` (optional): argsortAscending(p), exactly that permutation,
 * when the caller has it already (evaluateSpace sorts each space once); quantile bins are then the same
 * without sorting again. Throws MetricInputError on invalid inputs or an `ascending` of the wrong length,
 * Error on a bad binning.
 */
export function reliabilityCurve(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w?: ArrayLike<number>,
  binning?: number | BinningOptions,
  ascending?: Uint32Array,
): ReliabilityBin[] {
  checkBinaryInputs("reliabilityCurve", y, p, w);
  return reliabilityCurveUnchecked(y, p, w, binning, ascending);
}

/**
 * reliabilityCurve on inputs that checkBinaryInputs has passed (the one definition: reliabilityCurve checks,
 * then calls this; `ascending` and the binning are still checked). For a caller that checks once for several
 * metrics (evaluateSpace).
 */
export function reliabilityCurveUnchecked(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w?: ArrayLike<number>,
  binning?: number | BinningOptions,
  ascending?: Uint32Array,
): ReliabilityBin[] {
  if (ascending !== undefined && ascending.length !== p.length) {
    throw new MetricInputError("reliabilityCurve", `the order has ${ascending.length} rows, p has ${p.length}`);
  }
  const { bins, strategy } = resolveBinning(binning);
  const bin = assignBins(p, w, bins, strategy, ascending);
  const count = new Float64Array(bins);
  const weight = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  const lo = new Float64Array(bins).fill(Infinity);
  const hi = new Float64Array(bins).fill(-Infinity);
  for (let i = 0; i < y.length; i++) {
    const b = bin[i];
    const wi = weightAt(w, i);
    count[b]++;
    weight[b] += wi;
    sumP[b] += wi * p[i];
    sumY[b] += wi * y[i];
    lo[b] = Math.min(lo[b], p[i]);
    hi[b] = Math.max(hi[b], p[i]);
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (strategy === "quantile" && count[b] === 0) continue;
    out.push({
      lo: strategy === "uniform" ? b / bins : lo[b],
      hi: strategy === "uniform" ? (b + 1) / bins : hi[b],
      count: count[b],
      weight: weight[b],
      meanPredicted: weight[b] > 0 ? sumP[b] / weight[b] : NaN,
      observedRate: weight[b] > 0 ? sumY[b] / weight[b] : NaN,
    });
  }
  return out;
}

/**
 * Expected calibration error (see the header) of labels y (0/1), predictions p (in [0, 1]) and weights w
 * (all 1 when omitted), all of one length. `binning`: a bin count or BinningOptions, what is not given taken
 * from ECE_BINNING (10 equal-mass bins). NaN with a reason when there are no rows or the total weight is 0;
 * throws MetricInputError on invalid inputs, Error on a bin count that is not a positive integer or an
 * unknown strategy. `ascending`: as reliabilityCurve's (a shared sort; the same value without it).
 */
export function expectedCalibrationErrorResult(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w?: ArrayLike<number>,
  binning: number | BinningOptions = ECE_BINNING,
  ascending?: Uint32Array,
): MetricResult {
  return expectedCalibrationErrorFromCurve(y.length, reliabilityCurve(y, p, w, eceBinning(binning), ascending));
}

/**
 * The ECE of the header from the reliability curve of its n rows in the ECE's bins (reliabilityCurve with
 * eceBinning(binning)): lets a caller that has the curve reuse it (evaluateSpace).
 */
export function expectedCalibrationErrorFromCurve(n: number, curve: readonly ReliabilityBin[]): MetricResult {
  let total = 0;
  for (const b of curve) total += b.weight;
  const empty = emptyReason(n, total);
  if (empty) return undefinedMetric(empty);
  let ece = 0;
  for (const b of curve) {
    if (b.weight > 0) ece += (b.weight / total) * Math.abs(b.meanPredicted - b.observedRate);
  }
  return defined(ece);
}

/** The ECE's binning: `binning` with what it leaves out taken from ECE_BINNING (a number is a bin count). */
export function eceBinning(binning: number | BinningOptions): BinningOptions {
  const opts = typeof binning === "number" ? { bins: binning } : binning;
  return { bins: opts.bins ?? ECE_BINNING.bins, strategy: opts.strategy ?? ECE_BINNING.strategy };
}

/** expectedCalibrationErrorResult's value (default 10 equal-mass bins, ECE_BINNING); NaN when undefined. */
export function expectedCalibrationError(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w?: ArrayLike<number>,
  binning: number | BinningOptions = ECE_BINNING,
): number {
  return expectedCalibrationErrorResult(y, p, w, binning).value;
}
