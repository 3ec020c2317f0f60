/**
 * t-based inference on a difference with its standard error and degrees of freedom (TEstimate), so that
 * paired, Welch and cluster-level designs (one value per simulated world) share the same tests:
 *
 * Samples:
 * - oneSampleTTest(x, mu0)  = scipy.stats.ttest_1samp(x, mu0): t = (mean - mu0) / (sd / sqrt n), df = n - 1.
 * - pairedTTest(a, b)       = scipy.stats.ttest_rel(a, b): the one-sample test of d = a - b against 0.
 *
 * Estimate builders (sd, variances with n - 1):
 * - oneSampleEstimate(x)    = { mean(x), sd / sqrt n, n - 1 }.
 * - pairedDifference(a, b)  = oneSampleEstimate(a - b).
 * - welchDifference(a, b)   = { mean(a) - mean(b), differenceSe(a, b), Welch–Satterthwaite df } (as welchTTest).
 * - differenceSe(a, b)      = sqrt(var(a)/n_a + var(b)/n_b).
 *
 * Tests of an estimate e (T ~ Student t with e.df degrees of freedom, p from @stdlib's t CDF):
 * - tTestOfEstimate(e, null)            two-sided: t = (estimate - null) / se, p = 2 P(T > |t|).
 * - oneSidedTTest(e, null, alternative) "greater": p = P(T >= t); "less": p = P(T <= t).
 * - equivalenceOfEstimate(e, margin)    TOST (Schuirmann 1987), as statsmodels ttost_ind / ttost_paired with
 *   bounds (-margin, +margin): lower test H0 estimate <= -margin (t = (estimate + margin) / se, p = P(T >= t)),
 *   upper test H0 estimate >= +margin (t = (estimate - margin) / se, p = P(T <= t)); p = max of the two.
 * - nonInferiorityOfEstimate(e, margin, better) one-sided test that the estimate is not worse than the
 *   margin: better = "greater": H0 estimate <= -margin vs H1 estimate > -margin (the lower TOST test);
 *   better = "less": H0 estimate >= +margin vs H1 estimate < +margin (the upper TOST test). As statsmodels
 *   ttest_ind(..., alternative="larger", value=-margin) / (alternative="smaller", value=+margin).
 * - equivalenceTest(a, b, margin, { paired }) = ttost_ind(a, b, -margin, margin, usevar="unequal") (Welch) or
 *   ttost_paired(a, b, -margin, margin).
 *
 * Degenerate zero standard error, as in ./ttest.ts and scipy: t = +-Infinity (p = 0 or 1 by side) when the
 * estimate differs from the null value, t = NaN and p = NaN when it equals it.
 */
import { mean, sampleVariance } from "./simple-statistics";
import { twoSidedP } from "./ttest";
import tCdf = require("@stdlib/stats-base-dists-t-cdf");

/** A difference (or mean) with its standard error and the degrees of freedom of its t reference. */
export interface TEstimate {
  /** Point estimate, e.g. mean(a) - mean(b), in the metric's units. */
  estimate: number;
  /** Standard error of the estimate, same units, >= 0. */
  se: number;
  /** Degrees of freedom of the t distribution of (estimate - truth) / se (> 0, need not be an integer). */
  df: number;
}

/** A t statistic and its p-value (two-sided or one-sided, as the function says). */
export interface TStatistic {
  t: number;
  p: number;
}

export interface OneSampleTTestResult extends TStatistic {
  df: number;
  mean: number;
  se: number;
}

export interface PairedTTestResult extends TStatistic {
  df: number;
  /** mean(a - b). */
  meanDifference: number;
  se: number;
}

export type OneSidedAlternative = "greater" | "less";

export interface EquivalenceResult {
  /** TOST p-value: the larger of the two one-sided p-values; equivalence at level alpha when p < alpha. */
  p: number;
  /** H0: estimate <= -margin (p = P(T >= t)). */
  lower: TStatistic;
  /** H0: estimate >= +margin (p = P(T <= t)). */
  upper: TStatistic;
  estimate: number;
  se: number;
  df: number;
  margin: number;
}

// --- checks -----------------------------------------------------------------------------------------

function checkSample(fn: string, x: ArrayLike<number>, what = "sample"): number[] {
  const xs = Array.from(x);
  if (xs.length < 2) throw new Error(`${fn}: ${what} needs at least 2 values, got ${xs.length}`);
  for (const v of xs) {
    if (!Number.isFinite(v)) throw new Error(`${fn}: ${what} contains a non-finite value (${v})`);
  }
  return xs;
}

function checkPaired(fn: string, a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  if (a.length !== b.length) throw new Error(`${fn}: paired samples need equal lengths, got ${a.length} and ${b.length}`);
  const xs = checkSample(fn, a, "first sample");
  const ys = checkSample(fn, b, "second sample");
  return xs.map((v, i) => v - ys[i]);
}

function checkEstimate(fn: string, e: TEstimate): void {
  if (!Number.isFinite(e.estimate)) throw new Error(`${fn}: estimate must be finite, got ${e.estimate}`);
  if (!(Number.isFinite(e.se) && e.se >= 0)) throw new Error(`${fn}: se must be finite and >= 0, got ${e.se}`);
  // Welch df is 0/0 = NaN when both variances are 0; the t statistic is then infinite or NaN anyway.
  if (!(e.df > 0) && !(e.se === 0 && Number.isNaN(e.df))) throw new Error(`${fn}: df must be > 0, got ${e.df}`);
}

function checkMargin(fn: string, margin: number): void {
  if (!(Number.isFinite(margin) && margin > 0)) throw new Error(`${fn}: margin must be finite and > 0, got ${margin}`);
}

function checkAlternative(fn: string, alternative: string, name = "alternative"): void {
  if (alternative !== "greater" && alternative !== "less") {
    throw new Error(`${fn}: ${name} must be "greater" or "less", got ${JSON.stringify(alternative)}`);
  }
}

/** One-sided p of t: "greater" = P(T >= t), "less" = P(T <= t). */
function oneSidedP(t: number, df: number, alternative: OneSidedAlternative): number {
  if (Number.isNaN(t)) return NaN;
  const upper = alternative === "greater";
  if (t === Infinity) return upper ? 0 : 1;
  if (t === -Infinity) return upper ? 1 : 0;
  return upper ? tCdf(-t, df) : tCdf(t, df);
}

// --- estimate builders ------------------------------------------------------------------------------

function sampleEstimate(xs: number[]): TEstimate {
  return { estimate: mean(xs), se: Math.sqrt(sampleVariance(xs) / xs.length), df: xs.length - 1 };
}

function welchEstimate(xs: number[], ys: number[]): TEstimate {
  const va = sampleVariance(xs) / xs.length;
  const vb = sampleVariance(ys) / ys.length;
  const se2 = va + vb;
  const df = (se2 * se2) / ((va * va) / (xs.length - 1) + (vb * vb) / (ys.length - 1));
  return { estimate: mean(xs) - mean(ys), se: Math.sqrt(se2), df };
}

/** Mean of x (n >= 2 finite values) with se = sd / sqrt(n) and df = n - 1. */
export function oneSampleEstimate(x: ArrayLike<number>): TEstimate {
  return sampleEstimate(checkSample("oneSampleEstimate", x));
}

/** mean(a - b) for paired samples of equal length n >= 2, se = sd(a - b) / sqrt(n), df = n - 1. */
export function pairedDifference(a: ArrayLike<number>, b: ArrayLike<number>): TEstimate {
  return sampleEstimate(checkPaired("pairedDifference", a, b));
}

/**
 * mean(a) - mean(b) for independent samples (each >= 2 finite values), se = differenceSe(a, b) and the
 * Welch–Satterthwaite df (NaN when both samples are constant), as welchTTest.
 */
export function welchDifference(a: ArrayLike<number>, b: ArrayLike<number>): TEstimate {
  return welchEstimate(checkSample("welchDifference", a, "first sample"), checkSample("welchDifference", b, "second sample"));
}

/** Standard error of mean(a) - mean(b) for independent samples: sqrt(var(a)/n_a + var(b)/n_b), ddof 1. */
export function differenceSe(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return welchEstimate(checkSample("differenceSe", a, "first sample"), checkSample("differenceSe", b, "second sample")).se;
}

// --- tests of an estimate ---------------------------------------------------------------------------

/** Two-sided t test of H0: truth = nullValue. Throws on a non-finite estimate, se < 0, df <= 0. */
export function tTestOfEstimate(e: TEstimate, nullValue = 0): TStatistic {
  checkEstimate("tTestOfEstimate", e);
  const t = (e.estimate - nullValue) / e.se;
  return { t, p: twoSidedP(t, e.df) };
}

/**
 * One-sided t test against nullValue: "greater" tests H1 truth > nullValue (p = P(T >= t)), "less" tests
 * H1 truth < nullValue (p = P(T <= t)), t = (estimate - nullValue) / se.
 */
export function oneSidedTTest(e: TEstimate, nullValue: number, alternative: OneSidedAlternative): TStatistic {
  checkEstimate("oneSidedTTest", e);
  checkAlternative("oneSidedTTest", alternative);
  if (!Number.isFinite(nullValue)) throw new Error(`oneSidedTTest: null value must be finite, got ${nullValue}`);
  const t = (e.estimate - nullValue) / e.se;
  return { t, p: oneSidedP(t, e.df, alternative) };
}

/**
 * Two one-sided tests (TOST) that the truth lies within (-margin, +margin); margin > 0 in the estimate's
 * units. Throws on an invalid estimate or margin <= 0.
 */
export function equivalenceOfEstimate(e: TEstimate, margin: number): EquivalenceResult {
  checkEstimate("equivalenceOfEstimate", e);
  checkMargin("equivalenceOfEstimate", margin);
  const tl = (e.estimate + margin) / e.se;
  const tu = (e.estimate - margin) / e.se;
  const lower = { t: tl, p: oneSidedP(tl, e.df, "greater") };
  const upper = { t: tu, p: oneSidedP(tu, e.df, "less") };
  return { p: Math.max(lower.p, upper.p), lower, upper, estimate: e.estimate, se: e.se, df: e.df, margin };
}

/**
 * Non-inferiority: one-sided test that the truth is not worse than `margin` (> 0) in the `better`
 * direction. better = "greater": H0 truth <= -margin vs H1 truth > -margin; better = "less": H0
 * truth >= +margin vs H1 truth < +margin.
 */
export function nonInferiorityOfEstimate(e: TEstimate, margin: number, better: OneSidedAlternative): TStatistic {
  checkEstimate("nonInferiorityOfEstimate", e);
  checkMargin("nonInferiorityOfEstimate", margin);
  checkAlternative("nonInferiorityOfEstimate", better, "better");
  const t = better === "greater" ? (e.estimate + margin) / e.se : (e.estimate - margin) / e.se;
  return { t, p: oneSidedP(t, e.df, better) };
}

// --- tests of samples -------------------------------------------------------------------------------

/** scipy.stats.ttest_1samp(x, mu0): x needs >= 2 finite values; two-sided p. */
export function oneSampleTTest(x: ArrayLike<number>, mu0 = 0): OneSampleTTestResult {
  const xs = checkSample("oneSampleTTest", x);
  if (!Number.isFinite(mu0)) throw new Error(`oneSampleTTest: mu0 must be finite, got ${mu0}`);
  const e = sampleEstimate(xs);
  const t = (e.estimate - mu0) / e.se;
  return { t, p: twoSidedP(t, e.df), df: e.df, mean: e.estimate, se: e.se };
}

/** scipy.stats.ttest_rel(a, b): paired samples of equal length >= 2, d = a - b, two-sided p. */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): PairedTTestResult {
  const e = sampleEstimate(checkPaired("pairedTTest", a, b));
  const t = e.estimate / e.se;
  return { t, p: twoSidedP(t, e.df), df: e.df, meanDifference: e.estimate, se: e.se };
}

/**
 * Equivalence of mean(a) and mean(b) within (-margin, +margin) by TOST: Welch estimate (statsmodels
 * ttost_ind(a, b, -margin, margin, usevar="unequal")) or, with paired: true, the paired difference
 * (ttost_paired(a, b, -margin, margin)). Throws on bad samples (as welchDifference / pairedDifference) or
 * margin <= 0.
 */
export function equivalenceTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  margin: number,
  { paired = false }: { paired?: boolean } = {},
): EquivalenceResult {
  const fn = "equivalenceTest";
  checkMargin(fn, margin);
  const e = paired
    ? sampleEstimate(checkPaired(fn, a, b))
    : welchEstimate(checkSample(fn, a, "first sample"), checkSample(fn, b, "second sample"));
  return equivalenceOfEstimate(e, margin);
}
