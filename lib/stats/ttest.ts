/**
 * Two-sample t tests, as scipy.stats.ttest_ind (two-sided):
 *
 * - welchTTest(a, b)   = ttest_ind(a, b, equal_var=False): t = (mean_a - mean_b) / sqrt(va/na + vb/nb),
 *                        Welch–Satterthwaite df = (va/na + vb/nb)^2 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1)).
 * - studentTTest(a, b) = ttest_ind(a, b, equal_var=True): pooled-variance t (simple-statistics
 *                        tTestTwoSample), df = na + nb - 2.
 *
 * va, vb are sample variances (n - 1). p = 2 * T_df(-|t|) from @stdlib's Student-t CDF (no cancellation
 * for small p). Each sample needs at least 2 values (else an Error). Degenerate zero standard error,
 * like scipy: equal means give t = NaN and p = NaN; different means give t = +-Infinity and p = 0
 * (Welch df is then NaN, 0/0).
 */
import { mean, sampleVariance, tTestTwoSample } from "./simple-statistics";
import tCdf = require("@stdlib/stats-base-dists-t-cdf");

export interface TTestResult {
  t: number;
  df: number;
  /** Two-sided p-value. */
  p: number;
}

function checkSamples(test: string, a: ArrayLike<number>, b: ArrayLike<number>): [number[], number[]] {
  const xs = Array.from(a);
  const ys = Array.from(b);
  if (xs.length < 2 || ys.length < 2) {
    throw new Error(`${test}: each sample needs at least 2 values, got ${xs.length} and ${ys.length}`);
  }
  for (const v of [...xs, ...ys]) {
    if (!Number.isFinite(v)) throw new Error(`${test}: sample contains a non-finite value (${v})`);
  }
  return [xs, ys];
}

/** Two-sided p-value of a t statistic with df degrees of freedom. */
export function twoSidedP(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return 2 * tCdf(-Math.abs(t), df);
}

export function welchTTest(a: ArrayLike<number>, b: ArrayLike<number>): TTestResult {
  const [xs, ys] = checkSamples("welchTTest", a, b);
  const va = sampleVariance(xs) / xs.length;
  const vb = sampleVariance(ys) / ys.length;
  const se2 = va + vb;
  const t = (mean(xs) - mean(ys)) / Math.sqrt(se2);
  const df = (se2 * se2) / ((va * va) / (xs.length - 1) + (vb * vb) / (ys.length - 1));
  return { t, df, p: twoSidedP(t, df) };
}

export function studentTTest(a: ArrayLike<number>, b: ArrayLike<number>): TTestResult {
  const [xs, ys] = checkSamples("studentTTest", a, b);
  const t = tTestTwoSample(xs, ys, 0) as number; // non-null: both samples are non-empty
  const df = xs.length + ys.length - 2;
  return { t, df, p: twoSidedP(t, df) };
}
