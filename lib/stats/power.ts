/**
 * Power of a two-sided t test of an estimate (see ./inference.ts, TEstimate), exact from the noncentral t:
 *
 * - tTestPower({ effect, se, df, alpha }) = P(|T| > c), c = t_{1 - alpha/2, df}, T noncentral t with df
 *   degrees of freedom and noncentrality effect / se; i.e. scipy's
 *   nct.sf(c, df, ncp) + nct.cdf(-c, df, ncp) with c = t.ppf(1 - alpha/2, df) (the standard power of a
 *   t test, e.g. statsmodels TTestPower with effect size ncp / sqrt(nobs)).
 * - minimumDetectableEffect({ se, df, alpha, power }) = the effect > 0 whose power is `power`, by
 *   bracketing and bisection on the noncentrality to a relative width of 1e-13 (once per df, alpha and power:
 *   the noncentrality does not depend on se; the MDE is it times se).
 *
 * The standard error and df are the design's (paired, Welch or one value per simulated world): this file
 * knows nothing about designs. Units: effect and se in the estimate's units (MDE likewise). alpha defaults
 * to 0.01, power to 0.8. Noncentral t CDF: ./noncentral-t.ts (AS 243 with @stdlib's incomplete beta; within
 * 1e-11 of scipy for df 1..200, ncp 0..15), critical value: tQuantile (./summary.ts). The noncentrality
 * |effect| / se may not exceed MAX_NCP = 1000 (an Error), nor may the MDE's.
 */
import { KeptAnswers } from "./kept-answers";
import { MAX_NCP, noncentralTSf } from "./noncentral-t";
import { tQuantile } from "./summary";

export interface PowerInput {
  /** True difference, in the estimate's units (any sign: power is even in it). */
  effect: number;
  /** Standard error of the estimate (> 0). */
  se: number;
  /** Degrees of freedom of the t test (> 0, need not be an integer). */
  df: number;
  /** Two-sided significance level in (0, 1); default 0.01. */
  alpha?: number;
}

export interface MdeInput {
  se: number;
  df: number;
  /** Two-sided significance level in (0, 1); default 0.01. */
  alpha?: number;
  /** Target power in (alpha, 1); default 0.8. */
  power?: number;
}

function checkDesign(fn: string, se: number, df: number, alpha: number): void {
  if (!(Number.isFinite(se) && se > 0)) throw new Error(`${fn}: se must be finite and > 0, got ${se}`);
  if (!(df > 0)) throw new Error(`${fn}: df must be > 0, got ${df}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`${fn}: alpha must be in (0, 1), got ${alpha}`);
}

/**
 * Power at noncentrality ncp with critical value c: P(T > c) + P(T < -c) = sf(c; ncp) + sf(c; -ncp). A pure
 * function of its three numbers, kept by them (the same designs come back from summaries, findings and
 * detectableNoncentrality's bisections), at most POWER_CACHE_SIZE of them.
 */
function powerAt(ncp: number, c: number, df: number): number {
  return POWER_AT.get(`${ncp}|${c}|${df}`, () => noncentralTSf(c, df, ncp) + noncentralTSf(c, df, -ncp));
}

/** powerAt's and detectableNoncentrality's memories: bounded (a long session's designs are not). */
const POWER_CACHE_SIZE = 100_000;
const POWER_AT = new KeptAnswers(POWER_CACHE_SIZE);

/**
 * Probability that a two-sided t test at level `alpha` rejects "estimate = 0" when the true value is
 * `effect`: P(|T| > t_{1-alpha/2, df}), T ~ noncentral t(df, effect / se). Equals alpha at effect 0.
 * Throws on non-finite effect, se <= 0, df <= 0, alpha outside (0, 1), |effect| / se > MAX_NCP.
 */
export function tTestPower({ effect, se, df, alpha = 0.01 }: PowerInput): number {
  checkDesign("tTestPower", se, df, alpha);
  if (!Number.isFinite(effect)) throw new Error(`tTestPower: effect must be finite, got ${effect}`);
  const ncp = Math.abs(effect) / se;
  if (!(ncp <= MAX_NCP)) throw new Error(`tTestPower: |effect| / se = ${ncp} is beyond the supported noncentrality ${MAX_NCP}`);
  return powerAt(ncp, tQuantile(1 - alpha / 2, df), df);
}

/**
 * The smallest positive effect (estimate's units) that a two-sided t test at level `alpha` detects with
 * probability `power`: tTestPower({ effect: mde, se, df, alpha }) = power, to ~1e-13 relative in the effect.
 * Throws on se <= 0, df <= 0, alpha outside (0, 1), power outside (alpha, 1) or an MDE beyond MAX_NCP * se.
 */
export function minimumDetectableEffect({ se, df, alpha = 0.01, power = 0.8 }: MdeInput): number {
  checkDesign("minimumDetectableEffect", se, df, alpha);
  if (!(power > alpha && power < 1)) {
    throw new Error(`minimumDetectableEffect: power must be in (alpha, 1) = (${alpha}, 1), got ${power}`);
  }
  const ncp = detectableNoncentrality(df, alpha, power);
  if (ncp === Infinity) throw new Error(`minimumDetectableEffect: no noncentrality up to ${MAX_NCP} reaches power ${power} (df ${df}, alpha ${alpha})`);
  return ncp * se;
}

/**
 * The noncentrality whose power is `power` (see minimumDetectableEffect; its MDE is this times se), or Infinity
 * when not even MAX_NCP reaches `power` (e.g. a Satterthwaite df below 1 at alpha 0.01). It depends on (df,
 * alpha, power) only, not on se, so it is computed once per triple (about 50 noncentral-t evaluations,
 * milliseconds each at small df) and kept: a study's summaries and findings ask for the same few designs again
 * and again. The bound at MAX_NCP is evaluated only when the doubling bracket reaches it. Throws on df <= 0,
 * alpha outside (0, 1) or power outside (alpha, 1).
 */
export function detectableNoncentrality(df: number, alpha: number, power: number): number {
  checkDesign("detectableNoncentrality", 1, df, alpha);
  if (!(power > alpha && power < 1)) throw new Error(`detectableNoncentrality: power must be in (alpha, 1) = (${alpha}, 1), got ${power}`);
  return DETECTABLE_NCP.get(`${df}|${alpha}|${power}`, () => searchNoncentrality(df, alpha, power));
}

/** detectableNoncentrality's search: doubling bracket, then bisection of powerAt. */
function searchNoncentrality(df: number, alpha: number, power: number): number {
  const c = tQuantile(1 - alpha / 2, df);
  // Power increases with the noncentrality on [0, inf): bracket [lo, hi] with power(lo) < target <= power(hi).
  let lo = 0;
  let hi = 1;
  while (powerAt(hi, c, df) < power) {
    lo = hi;
    hi *= 2;
    if (hi > MAX_NCP) {
      hi = MAX_NCP;
      if (powerAt(hi, c, df) < power) {
        lo = hi = Infinity;
        break;
      }
    }
  }
  while (hi - lo > 1e-13 * hi) {
    const mid = lo + (hi - lo) / 2;
    if (mid === lo || mid === hi) break;
    if (powerAt(mid, c, df) < power) lo = mid;
    else hi = mid;
  }
  return hi === Infinity ? Infinity : lo + (hi - lo) / 2;
}

/** detectableNoncentrality's values by "df|alpha|power". */
const DETECTABLE_NCP = new KeptAnswers(POWER_CACHE_SIZE);
