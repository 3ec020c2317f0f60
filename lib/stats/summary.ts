/**
 * Summaries of repeated runs (one metric value per seed):
 *
 * - summarize(values) -> n, mean, sample sd (n - 1), se = sd / sqrt(n), and the t-based 95% CI
 *   mean +- t_{0.975, n-1} * se. With n = 1 the spread is NaN; with n = 0 everything is NaN.
 * - tQuantile(prob, df): @stdlib/stats-base-dists-t-quantile is NOT installed, so the quantile is the
 *   inverse of the installed @stdlib Student-t CDF, found by bisection to full double precision
 *   (accurate to the CDF's own accuracy; checked against closed forms for df = 1 and 2 in the tests).
 * - percentOfBaseline(delta, baseline, higherIsBetter) and percentBetter(value, baseline, higherIsBetter):
 *   THE percent-vs-baseline arithmetic of the project (tables, figures, findings, bootstrap, sensitivity):
 *   a difference delta = value - baseline in percent of |baseline|, signed so that positive = better:
 *     lower-is-better metrics (losses such as cross-entropy):  100 * (baseline - value) / |baseline|
 *     higher-is-better metrics (AUCs):                          100 * (value - baseline) / |baseline|
 *   NaN when the baseline is 0 or not finite.
 */
import { KeptAnswers } from "./kept-answers";
import { mean } from "./simple-statistics";
import tCdf = require("@stdlib/stats-base-dists-t-cdf");

export interface Summary {
  n: number;
  mean: number;
  sd: number;
  se: number;
  ci95: [number, number];
}

/** tQuantile's answers by "prob|df" (a summary asks for the same few quantiles many times; ~60 CDFs each). */
const T_QUANTILES = new KeptAnswers(10_000);

/** The `prob` quantile of Student's t with `df` > 0 degrees of freedom (bisection on the CDF, answers kept). */
export function tQuantile(prob: number, df: number): number {
  if (!(prob > 0 && prob < 1)) throw new Error(`tQuantile: probability must be in (0, 1), got ${prob}`);
  if (!(df > 0)) throw new Error(`tQuantile: df must be > 0, got ${df}`);
  if (prob === 0.5) return 0;
  if (prob < 0.5) return -tQuantile(1 - prob, df);
  return T_QUANTILES.get(`${prob}|${df}`, () => tQuantileUpper(prob, df));
}

/** tQuantile for prob in (0.5, 1). */
function tQuantileUpper(prob: number, df: number): number {
  // Upper half: bracket [lo, hi] with cdf(lo) < prob <= cdf(hi), then halve until adjacent doubles.
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, df) < prob) {
    lo = hi;
    hi *= 2;
    if (!Number.isFinite(hi)) return Infinity;
  }
  for (let iter = 0; iter < 2000; iter++) {
    const mid = lo + (hi - lo) / 2;
    if (mid === lo || mid === hi) break;
    if (tCdf(mid, df) < prob) lo = mid;
    else hi = mid;
  }
  return hi;
}

export function summarize(values: ArrayLike<number>): Summary {
  const xs = Array.from(values);
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, se: NaN, ci95: [NaN, NaN] };
  const m = mean(xs);
  if (n === 1) return { n, mean: m, sd: NaN, se: NaN, ci95: [NaN, NaN] };
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  const sd = Math.sqrt(ss / (n - 1));
  const se = sd / Math.sqrt(n);
  const half = tQuantile(0.975, n - 1) * se;
  return { n, mean: m, sd, se, ci95: [m - half, m + half] };
}

/**
 * A difference `delta` (metric units, value - baseline) in percent of |baseline|, positive = better: the
 * sign is flipped for lower-is-better metrics. NaN when the baseline is 0 or not finite.
 */
export function percentOfBaseline(delta: number, baseline: number, higherIsBetter: boolean): number {
  if (!Number.isFinite(baseline) || baseline === 0) return NaN;
  return ((higherIsBetter ? 100 : -100) * delta) / Math.abs(baseline);
}

/** Percent by which `value` is better than `baseline` (positive = better): percentOfBaseline(value - baseline, ...). */
export function percentBetter(value: number, baseline: number, higherIsBetter: boolean): number {
  return percentOfBaseline(value - baseline, baseline, higherIsBetter);
}
