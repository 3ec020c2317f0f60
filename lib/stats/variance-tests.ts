/**
 * Tests of equal spread between groups (e.g. run-to-run variance of two models):
 *
 * - brownForsytheTest(...groups) = scipy.stats.levene(*groups, center="median") (Brown & Forsythe 1974):
 *   z_ij = |x_ij - median_i|, then the one-way ANOVA F on the z:
 *   W = (N - k) / (k - 1) * sum_i n_i (zbar_i - zbar)^2 / sum_ij (z_ij - zbar_i)^2, df1 = k - 1, df2 = N - k,
 *   p = P(F_{df1, df2} > W). For two groups W is the square of the pooled-variance (Student) t of the z.
 * - varianceRatioTest(a, b): ratio = var(a) / var(b) (n - 1), df1 = n_a - 1, df2 = n_b - 1, two-sided
 *   p = min(1, 2 min(P(F <= ratio), P(F >= ratio))) (the classical F test; very sensitive to non-normality,
 *   Brown–Forsythe is the robust one).
 *
 * Upper tails use P(F_{d1,d2} > x) = P(F_{d2,d1} < 1/x) with @stdlib's F CDF, so small p keep their
 * relative precision. Each group needs at least 2 finite values (else an Error naming the function).
 * Degenerate spreads as scipy: 0/0 gives NaN statistic and p, x/0 gives Infinity and p = 0.
 */
import { mean, sampleVariance } from "./simple-statistics";
import fCdf = require("@stdlib/stats-base-dists-f-cdf");

export interface BrownForsytheResult {
  /** The Brown–Forsythe W statistic (an F statistic). */
  statistic: number;
  p: number;
  /** k - 1. */
  df1: number;
  /** N - k. */
  df2: number;
}

export interface VarianceRatioResult {
  /** var(a) / var(b), sample variances. */
  ratio: number;
  /** Two-sided p-value. */
  p: number;
  /** n_a - 1. */
  df1: number;
  /** n_b - 1. */
  df2: number;
}

function checkGroup(fn: string, g: ArrayLike<number>, i: number): number[] {
  const xs = Array.from(g);
  if (xs.length < 2) throw new Error(`${fn}: group ${i + 1} needs at least 2 values, got ${xs.length}`);
  for (const v of xs) {
    if (!Number.isFinite(v)) throw new Error(`${fn}: group ${i + 1} contains a non-finite value (${v})`);
  }
  return xs;
}

/** P(F_{d1,d2} > x) without cancellation: P(F_{d2,d1} < 1/x). */
function fSf(x: number, d1: number, d2: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  return fCdf(1 / x, d2, d1);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((u, v) => u - v);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Brown–Forsythe (median-centred Levene) test of equal variances across k >= 2 groups, as
 * scipy.stats.levene(*groups, center="median"). Each group needs >= 2 finite values.
 */
export function brownForsytheTest(...groups: ArrayLike<number>[]): BrownForsytheResult {
  const fn = "brownForsytheTest";
  if (groups.length < 2) throw new Error(`${fn}: needs at least 2 groups, got ${groups.length}`);
  const zs = groups.map((g, i) => {
    const xs = checkGroup(fn, g, i);
    const m = median(xs);
    return xs.map((v) => Math.abs(v - m));
  });
  const k = zs.length;
  const n = zs.reduce((s, z) => s + z.length, 0);
  const groupMeans = zs.map((z) => mean(z));
  const grandMean = zs.reduce((s, z, i) => s + z.length * groupMeans[i], 0) / n;
  let between = 0;
  let within = 0;
  zs.forEach((z, i) => {
    between += z.length * (groupMeans[i] - grandMean) ** 2;
    for (const v of z) within += (v - groupMeans[i]) ** 2;
  });
  const df1 = k - 1;
  const df2 = n - k;
  const statistic = (df2 / df1) * (between / within);
  return { statistic, p: fSf(statistic, df1, df2), df1, df2 };
}

/** Classical two-sided F test of var(a) = var(b); each sample needs >= 2 finite values. */
export function varianceRatioTest(a: ArrayLike<number>, b: ArrayLike<number>): VarianceRatioResult {
  const fn = "varianceRatioTest";
  const xs = checkGroup(fn, a, 0);
  const ys = checkGroup(fn, b, 1);
  const ratio = sampleVariance(xs) / sampleVariance(ys);
  const df1 = xs.length - 1;
  const df2 = ys.length - 1;
  if (Number.isNaN(ratio)) return { ratio, p: NaN, df1, df2 };
  const p = Math.min(1, 2 * Math.min(fCdf(ratio, df1, df2), fSf(ratio, df1, df2)));
  return { ratio, p, df1, df2 };
}
