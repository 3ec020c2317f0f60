/**
 * What tuning shows (notebook 07): the expected best score as a function of the number of trials. (Whether one
 * model's score varies more with its hyper-parameters than another's is a finding of the registry,
 * lib/study/findings.ts `more-variable` with FindingOptions.trials.)
 *
 * Expected best of n trials (Dodge et al., EMNLP 2019, "Show Your Work", Eq. 1; there for the maximum of an
 * accuracy, here for the minimum of a loss): with the N observed trial scores v(1) <= ... <= v(N) read as
 * draws from the score distribution the search space induces, the best of n draws with replacement has
 *   E[min_n] = sum_i v(i) [((N - i + 1) / N)^n - ((N - i) / N)^n],   n = 1..N
 * (P(min_n >= v(i)) = ((N - i + 1) / N)^n under the empirical CDF). E[min_1] is the mean, and the curve
 * falls toward the best observed score. The band: B bootstrap resamples of the N scores (with
 * replacement, seeded), the curve of each, its alpha/2 and 1 - alpha/2 quantiles at every n (numpy
 * "linear"): how much the curve itself depends on which N trials were drawn.
 *
 */
import { Rng, deriveSeed } from "../data/random";
import { quantileSorted } from "../stats";

/** How E[best of n] is estimated from N trial scores: see expectedBestCurve. */
export type ExpectedBestEstimator = "unbiased" | "dodge";

/**
 * E[best of n trials], n = 1..N, for lower-is-better scores. Two estimators:
 * - "unbiased" (default; Tang et al., ACL 2020, "Showing Your Work Doesn't Always
 *   Work", who show Dodge's estimator is biased): the U-statistic, the mean of min over all C(N, n) subsets of
 *   n of the N scores, E[min_n] = sum_i v(i) C(N - i, n - 1) / C(N, n) with v(1) <= ... <= v(N) (1-based i):
 *   unbiased for the best of n trials drawn from the space, for every n <= N.
 * - "dodge": Dodge et al. 2019's with-replacement formula (the header), biased low-variance.
 * Throws on no or non-finite scores.
 */
export function expectedBestCurve(scores: readonly number[], estimator: ExpectedBestEstimator = "unbiased"): number[] {
  if (scores.length === 0) throw new Error("expectedBestCurve: no scores");
  if (!scores.every(Number.isFinite)) throw new Error("expectedBestCurve: scores must be finite");
  if (estimator === "unbiased") return unbiasedExpectedBest(scores);
  const v = [...scores].sort((a, b) => a - b);
  const n = v.length;
  return Array.from({ length: n }, (_, k) => {
    const draws = k + 1;
    let e = 0;
    for (let i = 0; i < n; i++) e += v[i] * (((n - i) / n) ** draws - ((n - i - 1) / n) ** draws);
    return e;
  });
}

/**
 * The U-statistic E[min of n] for n = 1..N (Tang et al. 2020): weights C(N - i, n - 1) / C(N, n) on the i-th
 * smallest score (1-based), computed in log space (lgamma-free: products of ratios) so N in the hundreds is exact
 * to double precision.
 */
function unbiasedExpectedBest(scores: readonly number[]): number[] {
  const v = [...scores].sort((a, b) => a - b);
  const N = v.length;
  return Array.from({ length: N }, (_, k) => {
    const n = k + 1;
    // w_i = C(N - i, n - 1) / C(N, n), i = 1..N-n+1; w_1 = n / N, w_{i+1} = w_i (N - i - n + 1) / (N - i)
    let w = n / N;
    let e = 0;
    for (let i = 1; i <= N - n + 1; i++) {
      e += w * v[i - 1];
      w = (w * (N - i - n + 1)) / (N - i);
    }
    return e;
  });
}

export interface ExpectedBestBand {
  /** Number of trials n = 1..N. */
  trials: number[];
  expected: number[];
  low: number[];
  high: number[];
  resamples: number;
  alpha: number;
}

/** The curve and its bootstrap percentile band (B = `resamples`, default 1000; alpha default 0.05; seed required). */
export function expectedBestBand(scores: readonly number[], options: { seed: number; resamples?: number; alpha?: number }): ExpectedBestBand {
  const resamples = options.resamples ?? 1000;
  const alpha = options.alpha ?? 0.05;
  if (!Number.isInteger(resamples) || resamples < 2) throw new Error(`expectedBestBand: resamples must be an integer >= 2, got ${resamples}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`expectedBestBand: alpha must be in (0, 1), got ${alpha}`);
  const expected = expectedBestCurve(scores);
  const n = scores.length;
  const rng = new Rng(deriveSeed(options.seed, "expected-best-band"));
  const curves = Array.from({ length: resamples }, () => expectedBestCurve(Array.from({ length: n }, () => scores[rng.int(n)])));
  const at = (k: number, q: number) => quantileSorted(curves.map((c) => c[k]).sort((a, b) => a - b), q);
  return {
    trials: expected.map((_, k) => k + 1),
    expected,
    low: expected.map((_, k) => at(k, alpha / 2)),
    high: expected.map((_, k) => at(k, 1 - alpha / 2)),
    resamples,
    alpha,
  };
}
