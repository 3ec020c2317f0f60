/**
 * What tuning shows (notebook 07): the expected best validation score as a function of the number of
 * trials, and whether one model's score varies more with its hyper-parameters than another's.
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
 * Spread over hyper-parameters (the paper: ESMM "did have slightly more varied performance as a function
 * of hyper-parameter values"): the replicated unit is a trial (one design point, one training run), the
 * values each model's trial validation losses in percent of the two models' pooled median (one common
 * scale). Test: Brown–Forsythe (median-centred Levene; lib/stats/variance-tests.ts) of the two models' trials,
 * two-sided, Holm-adjusted over the comparisons made together. Effect size: the ratio of the mean absolute
 * deviations from each model's median (the quantity Brown–Forsythe compares) with a seeded bootstrap
 * percentile interval (each model's trials resampled), beside the ratio of standard deviations. Power:
 * Monte Carlo under normal scores with the same trial counts (seeded): the power at a true sd ratio of 2,
 * and the smallest sd ratio detected with power 0.8 (bisection on [1, 10] to 0.05; Infinity when 10 is not). Verdict as for the paper's findings: holds (adjusted
 * p < alpha, ratio > 1), contradicted (adjusted p < alpha, ratio < 1), else inconclusive; "not
 * significant" never reads as "does not hold".
 */
import { Rng, deriveSeed } from "../data/random";
import { brownForsytheTest, holm, quantileSorted } from "../stats";
import { formatNumber, formatP } from "../notebook/format";
import type { Verdict } from "../study/findings";
import type { TrialOutcome } from "./plan";

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

/** The trial validation losses of `model`, in trial order. */
export function trialScores(outcomes: readonly TrialOutcome[], model: string): number[] {
  return outcomes.filter((o) => o.model === model).sort((a, b) => a.trial - b.trial).map((o) => o.validationLoss);
}

export interface SpreadFinding {
  /** "<a> varies more over trials than <b>". */
  claim: string;
  a: string;
  b: string;
  /** Trials of each model that entered. */
  nA: number;
  nB: number;
  /** Mean absolute deviation from the model's median, % of the pooled median. */
  madA: number;
  madB: number;
  /** madA / madB, with its bootstrap percentile interval. */
  ratio: number;
  ratioCi: [number, number];
  /** Ratio of sample standard deviations (n - 1). */
  sdRatio: number;
  /** Brown–Forsythe W, its dfs, raw and Holm-adjusted two-sided p. */
  statistic: number;
  df1: number;
  df2: number;
  p: number;
  pAdjusted: number;
  /** Monte Carlo power at a true sd ratio of 2, and the sd ratio detected with power 0.8 (Infinity beyond 10). */
  powerAtRatio2: number;
  detectableRatio: number;
  verdict: Verdict;
  alpha: number;
}

export interface SpreadOptions {
  /** Default 0.01, as the paper's findings. */
  alpha?: number;
  /** Seed of the bootstrap and of the power simulation (required). */
  seed: number;
  /** Bootstrap resamples (default 1000). */
  resamples?: number;
  /** Simulated data sets per power evaluation (default 1000). */
  powerSimulations?: number;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const median = (xs: readonly number[]) => quantileSorted([...xs].sort((a, b) => a - b), 0.5);
const meanAbsDev = (xs: readonly number[]) => {
  const m = median(xs);
  return mean(xs.map((x) => Math.abs(x - m)));
};
const sd = (xs: readonly number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};

/**
 * Power of the two-sided Brown–Forsythe test at `alpha` for normal samples of sizes nA (sd `ratio`) and nB
 * (sd 1), by `simulations` seeded draws.
 */
export function brownForsythePower(nA: number, nB: number, ratio: number, options: { alpha: number; simulations: number; seed: number }): number {
  const rng = new Rng(deriveSeed(options.seed, "bf-power", nA, nB, ratio));
  let rejected = 0;
  for (let s = 0; s < options.simulations; s++) {
    const a = Array.from({ length: nA }, () => ratio * rng.normal());
    const b = Array.from({ length: nB }, () => rng.normal());
    if (brownForsytheTest(a, b).p < options.alpha) rejected++;
  }
  return rejected / options.simulations;
}

/**
 * "`a` varies more over trials than `b`", for each b of `others`, tested as in the header (Holm over
 * the comparisons of one call). A comparison needs at least 3 finished trials of each model (with 2 both
 * deviations from the median are equal); with fewer its p is NaN and its verdict inconclusive.
 */
export function spreadFindings(outcomes: readonly TrialOutcome[], a: string, others: readonly string[], options: SpreadOptions): SpreadFinding[] {
  const alpha = options.alpha ?? 0.01;
  const resamples = options.resamples ?? 1000;
  const simulations = options.powerSimulations ?? 1000;
  const rows = others.map((b) => {
    const rawA = trialScores(outcomes, a).filter(Number.isFinite);
    const rawB = trialScores(outcomes, b).filter(Number.isFinite);
    const base = { claim: `${a} varies more over trials than ${b}`, a, b, nA: rawA.length, nB: rawB.length, alpha };
    if (rawA.length < 3 || rawB.length < 3) {
      return { ...base, madA: NaN, madB: NaN, ratio: NaN, ratioCi: [NaN, NaN] as [number, number], sdRatio: NaN, statistic: NaN, df1: 1, df2: NaN, p: NaN, powerAtRatio2: NaN, detectableRatio: NaN };
    }
    const scale = 100 / median([...rawA, ...rawB]);
    const xa = rawA.map((x) => x * scale);
    const xb = rawB.map((x) => x * scale);
    const bf = brownForsytheTest(xa, xb);
    const rng = new Rng(deriveSeed(options.seed, "spread-bootstrap", a, b));
    const ratios: number[] = [];
    for (let r = 0; r < resamples; r++) {
      const ra = meanAbsDev(xa.map(() => xa[rng.int(xa.length)]));
      const rb = meanAbsDev(xb.map(() => xb[rng.int(xb.length)]));
      if (rb > 0 && Number.isFinite(ra / rb)) ratios.push(ra / rb);
    }
    ratios.sort((x, y) => x - y);
    const power = (ratio: number) => brownForsythePower(xa.length, xb.length, ratio, { alpha, simulations, seed: options.seed });
    // power rises with the ratio: none at 10 means Infinity, else bisection to 0.05
    let detectableRatio = Infinity;
    if (power(10) >= 0.8) {
      let [lo, hi] = [1, 10];
      while (hi - lo > 0.05) {
        const mid = (lo + hi) / 2;
        if (power(mid) >= 0.8) hi = mid;
        else lo = mid;
      }
      detectableRatio = hi;
    }
    return {
      ...base,
      madA: meanAbsDev(xa),
      madB: meanAbsDev(xb),
      ratio: meanAbsDev(xa) / meanAbsDev(xb),
      ratioCi: ratios.length >= 2 ? ([quantileSorted(ratios, 0.025), quantileSorted(ratios, 0.975)] as [number, number]) : ([NaN, NaN] as [number, number]),
      sdRatio: sd(xa) / sd(xb),
      statistic: bf.statistic,
      df1: bf.df1,
      df2: bf.df2,
      p: bf.p,
      powerAtRatio2: power(2),
      detectableRatio,
    };
  });
  const adjusted = holm(rows.map((r) => r.p));
  return rows.map((r, i) => {
    const pAdjusted = adjusted[i];
    const verdict: Verdict = pAdjusted < alpha ? (r.ratio > 1 ? "holds" : "contradicted") : "inconclusive";
    return { ...r, pAdjusted, verdict };
  });
}

/** Table rows of spread findings (notebook 07). */
export function spreadRows(findings: readonly SpreadFinding[]): Record<string, string | number>[] {
  return findings.map((f) => ({
    claim: f.claim,
    trials: `${f.nA} / ${f.nB}`,
    mad_ratio: f.ratio,
    ci95: `${formatNumber(f.ratioCi[0], 3)} to ${formatNumber(f.ratioCi[1], 3)}`,
    sd_ratio: f.sdRatio,
    brown_forsythe_W: f.statistic,
    df: `${f.df1}, ${f.df2}`,
    p: f.p,
    p_holm: f.pAdjusted,
    power_at_sd_ratio_2: f.powerAtRatio2,
    sd_ratio_detectable_80: f.detectableRatio,
    verdict: f.verdict,
  }));
}

/** One sentence per finding, computed from its numbers. */
export function spreadText(findings: readonly SpreadFinding[]): string {
  return findings
    .map((f) => {
      if (Number.isNaN(f.p)) return `- **${f.claim}**: inconclusive (fewer than 3 finished trials of a model: no test).`;
      const effect = `deviation ratio ${formatNumber(f.ratio, 3)} (95 % bootstrap interval ${formatNumber(f.ratioCi[0], 3)} to ${formatNumber(f.ratioCi[1], 3)}), sd ratio ${formatNumber(f.sdRatio, 3)}`;
      const test = `Brown–Forsythe W = ${formatNumber(f.statistic, 3)} (df ${f.df1}, ${f.df2}), p = ${formatP(f.p)}, Holm p = ${formatP(f.pAdjusted)} over ${f.nA} and ${f.nB} trials`;
      const power = `power ${formatNumber(f.powerAtRatio2, 2)} at a true sd ratio of 2; ratio detected with power 0.8: ${Number.isFinite(f.detectableRatio) ? formatNumber(f.detectableRatio, 2) : "above 10"}`;
      const reading =
        f.verdict === "holds" ? "holds" : f.verdict === "contradicted" ? `contradicted (${f.b} varies more)` : "inconclusive (not significant at this power: neither shown nor refuted)";
      return `- **${f.claim}**: ${reading}; ${effect}; ${test}; ${power}.`;
    })
    .join("\n");
}
