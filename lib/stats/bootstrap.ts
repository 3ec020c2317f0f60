/**
 * Bootstrap over test rows: a second error bar next to the seed-to-seed one. Seeds cover initialisation
 * and shuffling only; the test day's own sampling noise (a few hundred conversions) is what the
 * bootstrap measures (see docs/protocol-facts.md, test-set size).
 *
 * - bootstrapMetric(y, p, w, metricFn, {resamples, seed, alpha}): B resamples of the n test rows drawn
 *   with replacement (row i of a resample is row floor(u * n) of the data, u from the project's seeded
 *   `Rng`), the metric recomputed on each (labels, predictions and weights of the drawn rows, in draw
 *   order). Returns
 *     estimate  metricFn on the full sample (not the bootstrap mean),
 *     se        sample standard deviation (n - 1) of the B resampled values,
 *     ci        percentile interval: the alpha/2 and 1 - alpha/2 quantiles of the resampled values
 *               (linear interpolation between order statistics, numpy's default "linear" / R type 7),
 *     mean      mean of the resampled values (bias = mean - estimate),
 *     resamples B, and `undefinedResamples`: resamples whose metric was NaN (e.g. PR-AUC of a resample
 *               without a positive), left out of se, ci and mean.
 * - bootstrapPercentChange(y, w, pModel, pBaseline, metricFn, opts): paired bootstrap of the percent
 *   change of a model over a baseline on the same rows: each resample draws ONE set of rows and scores
 *   both predictors on it, so the noise the two share (which rows are in the test day) cancels.
 *   Percent change as in the study tables (lib/stats percentBetter), positive = better:
 *     lower-is-better metrics (default, losses):   100 * (base - model) / |base|
 *     higherIsBetter: true (AUCs):                 100 * (model - base) / |base|
 *
 * Same seed, same data -> the same numbers. Cost: B metric evaluations on n rows (buffers reused).
 */
import { Rng } from "../data/random";
import { percentBetter } from "./summary";

/** A metric of labels, predictions and optional weights, e.g. lib/metrics logLoss or prAuc. */
export type MetricFn = (y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>) => number;

export interface BootstrapOptions {
  /** Number of resamples B (default 1000). */
  resamples?: number;
  /** Integer seed of the resampling draw (required: the bootstrap is always reproducible). */
  seed: number;
  /** 1 - confidence level of the percentile interval (default 0.05). */
  alpha?: number;
}

export interface PercentChangeOptions extends BootstrapOptions {
  /** true for AUC-like metrics; default false (losses such as cross-entropy). */
  higherIsBetter?: boolean;
}

export interface BootstrapResult {
  /** The statistic on the full sample. */
  estimate: number;
  /** Standard deviation (n - 1) of the resampled statistics. */
  se: number;
  /** Percentile interval [alpha/2, 1 - alpha/2] of the resampled statistics. */
  ci: [number, number];
  /** Resamples drawn. */
  resamples: number;
  /** Mean of the defined resampled statistics. */
  mean: number;
  /** Resamples whose statistic was NaN (excluded from se, ci, mean). */
  undefinedResamples: number;
  alpha: number;
}

export interface PercentChangeResult extends BootstrapResult {
  /** The metric of the model and of the baseline on the full sample. */
  model: number;
  baseline: number;
}

function checkOptions(fn: string, n: number, opts: BootstrapOptions): { resamples: number; alpha: number; rng: Rng } {
  const resamples = opts.resamples ?? 1000;
  const alpha = opts.alpha ?? 0.05;
  if (!Number.isInteger(resamples) || resamples < 2) throw new Error(`${fn}: resamples must be an integer >= 2, got ${resamples}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`${fn}: alpha must be in (0, 1), got ${alpha}`);
  if (!Number.isInteger(opts.seed)) throw new Error(`${fn}: seed must be an integer, got ${opts.seed}`);
  if (n === 0) throw new Error(`${fn}: no rows to resample`);
  return { resamples, alpha, rng: new Rng(opts.seed) };
}

function checkLengths(fn: string, n: number, arrays: Record<string, ArrayLike<number> | undefined>): void {
  for (const [name, a] of Object.entries(arrays)) {
    if (a !== undefined && a.length !== n) throw new Error(`${fn}: length mismatch: y has ${n} rows, ${name} has ${a.length}`);
  }
}

/** Quantile q of sorted values, linear interpolation between order statistics (numpy "linear", R type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function summarizeDraws(estimate: number, draws: Float64Array, resamples: number, alpha: number): BootstrapResult {
  const defined = Array.from(draws).filter((v) => !Number.isNaN(v));
  const k = defined.length;
  let mean = NaN;
  let se = NaN;
  if (k > 0) {
    let s = 0;
    for (const v of defined) s += v;
    mean = s / k;
  }
  if (k > 1) {
    let ss = 0;
    for (const v of defined) ss += (v - mean) * (v - mean);
    se = Math.sqrt(ss / (k - 1));
  }
  const sorted = Float64Array.from(defined).sort();
  return {
    estimate,
    se,
    ci: [quantileSorted(sorted, alpha / 2), quantileSorted(sorted, 1 - alpha / 2)],
    resamples,
    mean,
    undefinedResamples: resamples - k,
    alpha,
  };
}

/** Fills `idx` with n draws of row indices in [0, n), with replacement. */
function drawRows(rng: Rng, idx: Int32Array): void {
  const n = idx.length;
  for (let i = 0; i < n; i++) idx[i] = rng.int(n);
}

/** out[i] = source[idx[i]]: one column of a resample. */
function gather(source: ArrayLike<number>, idx: Int32Array, out: Float64Array): void {
  for (let i = 0; i < idx.length; i++) out[i] = source[idx[i]];
}

export function bootstrapMetric(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  w: ArrayLike<number> | undefined,
  metricFn: MetricFn,
  opts: BootstrapOptions,
): BootstrapResult {
  const n = y.length;
  checkLengths("bootstrapMetric", n, { p, w });
  const { resamples, alpha, rng } = checkOptions("bootstrapMetric", n, opts);
  const estimate = metricFn(y, p, w);
  const idx = new Int32Array(n);
  const ys = new Float64Array(n);
  const ps = new Float64Array(n);
  const ws = w === undefined ? undefined : new Float64Array(n);
  const draws = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    drawRows(rng, idx);
    gather(y, idx, ys);
    gather(p, idx, ps);
    if (ws) gather(w!, idx, ws);
    draws[b] = metricFn(ys, ps, ws);
  }
  return summarizeDraws(estimate, draws, resamples, alpha);
}


export function bootstrapPercentChange(
  y: ArrayLike<number>,
  w: ArrayLike<number> | undefined,
  pModel: ArrayLike<number>,
  pBaseline: ArrayLike<number>,
  metricFn: MetricFn,
  opts: PercentChangeOptions,
): PercentChangeResult {
  const n = y.length;
  checkLengths("bootstrapPercentChange", n, { w, pModel, pBaseline });
  const { resamples, alpha, rng } = checkOptions("bootstrapPercentChange", n, opts);
  const higherIsBetter = opts.higherIsBetter ?? false;
  const model = metricFn(y, pModel, w);
  const baseline = metricFn(y, pBaseline, w);
  const idx = new Int32Array(n);
  const ys = new Float64Array(n);
  const pm = new Float64Array(n);
  const pb = new Float64Array(n);
  const ws = w === undefined ? undefined : new Float64Array(n);
  const draws = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    drawRows(rng, idx);
    gather(y, idx, ys);
    gather(pModel, idx, pm);
    gather(pBaseline, idx, pb);
    if (ws) gather(w!, idx, ws);
    // A zero or undefined baseline makes the percent change undefined (NaN), counted as undefined.
    const base = metricFn(ys, pb, ws);
    draws[b] = percentBetter(metricFn(ys, pm, ws), base, higherIsBetter);
  }
  const estimate = percentBetter(model, baseline, higherIsBetter);
  return { ...summarizeDraws(estimate, draws, resamples, alpha), model, baseline };
}
