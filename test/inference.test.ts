/**
 * The inference layer of lib/stats (one-sample / paired t, tests of a TEstimate, TOST, non-inferiority,
 * Brown–Forsythe, F ratio, noncentral t, power, MDE) against scipy / statsmodels reference values
 * (test/fixtures/reference: inference_cases.json from the shared reference folder, power_cases.json from
 * make_power_cases.py) and known answers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import {
  brownForsytheTest,
  detectableNoncentrality,
  differenceSe,
  equivalenceOfEstimate,
  equivalenceTest,
  minimumDetectableEffect,
  noncentralTCdf,
  noncentralTSf,
  nonInferiorityOfEstimate,
  oneSampleEstimate,
  oneSampleTTest,
  oneSidedTTest,
  pairedDifference,
  pairedTTest,
  studentTTest,
  tTestOfEstimate,
  tTestPower,
  varianceRatioTest,
  welchDifference,
  welchTTest,
} from "../lib/stats";
import type { OneSidedAlternative, TEstimate } from "../lib/stats";
import tCdf = require("@stdlib/stats-base-dists-t-cdf");

type Pair = { a: number[]; b: number[] };
interface Inference {
  paired_ttest: (Pair & { t: number; p_two_sided: number; df: number })[];
  tost_welch: (Pair & { margin: number; p: number })[];
  tost_paired: (Pair & { margin: number; p: number })[];
  brown_forsythe: (Pair & { statistic: number; p: number })[];
  f_variance_ratio: (Pair & { ratio: number; p_two_sided: number })[];
  se_difference: (Pair & { se: number })[];
}
interface Side {
  t: number;
  p: number;
  df: number;
}
interface Power {
  versions: Record<string, string>;
  noncentral_t_cdf: { x: number; df: number; ncp: number; cdf: number }[];
  power: { df: number; ncp: number; alpha: number; critical: number; upper: number; lower: number; power: number }[];
  mde: { se: number; df: number; alpha: number; power: number; ncp: number; mde: number }[];
  one_sample_ttest: { x: number[]; mu0: number; t: number; p_two_sided: number; df: number }[];
  non_inferiority: (Pair & { paired: boolean; margin: number; better: OneSidedAlternative } & Side)[];
  tost_sides: (Pair & { paired: boolean; margin: number; p: number; lower: Side; upper: Side })[];
  brown_forsythe_groups: { groups: number[][]; statistic: number; p: number }[];
}

const REFERENCE_DIR = path.join(FIXTURES_DIR, "reference");
const inference = JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, "inference_cases.json"), "utf8")) as Inference;
const power = JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, "power_cases.json"), "utf8")) as Power;

/** |actual - expected| <= tol * max(1, |expected|): absolute for small values, relative for large. */
function close(actual: number, expected: number, tol: number, what: string): void {
  const ok = Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected));
  assert.ok(ok, `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

/** p-values span many orders of magnitude: compare them relatively. */
function closeRelative(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.abs(expected), `${what}: got ${actual}, expected ${expected} (rel tol ${tol})`);
}

const TOL = 1e-8;
/** Probabilities of the noncentral t and power: absolute, and tighter than jstat's noncentral t (~1e-8 off). */
const PROB_TOL = 1e-10;

function estimateOf(c: Pair & { paired: boolean }): TEstimate {
  return c.paired ? pairedDifference(c.a, c.b) : welchDifference(c.a, c.b);
}

// --- against the shared reference (inference_cases.json) ---------------------------------------------

test("pairedTTest matches scipy ttest_rel: t, p to 1e-8, df = n - 1", () => {
  assert.ok(inference.paired_ttest.length > 0);
  inference.paired_ttest.forEach((c, i) => {
    const r = pairedTTest(c.a, c.b);
    close(r.t, c.t, TOL, `paired case ${i} t`);
    closeRelative(r.p, c.p_two_sided, TOL, `paired case ${i} p`);
    assert.equal(r.df, c.df);
  });
});

test("equivalenceTest matches statsmodels ttost_ind(usevar='unequal') and ttost_paired: p to 1e-8", () => {
  assert.ok(inference.tost_welch.length > 0 && inference.tost_paired.length > 0);
  inference.tost_welch.forEach((c, i) => {
    closeRelative(equivalenceTest(c.a, c.b, c.margin).p, c.p, TOL, `tost welch case ${i} p`);
  });
  inference.tost_paired.forEach((c, i) => {
    closeRelative(equivalenceTest(c.a, c.b, c.margin, { paired: true }).p, c.p, TOL, `tost paired case ${i} p`);
  });
});

test("brownForsytheTest matches scipy levene(center='median'): statistic, p to 1e-8", () => {
  assert.ok(inference.brown_forsythe.length > 0);
  inference.brown_forsythe.forEach((c, i) => {
    const r = brownForsytheTest(c.a, c.b);
    close(r.statistic, c.statistic, TOL, `brown-forsythe case ${i} statistic`);
    closeRelative(r.p, c.p, TOL, `brown-forsythe case ${i} p`);
    assert.deepEqual([r.df1, r.df2], [1, c.a.length + c.b.length - 2]);
  });
  assert.ok(power.brown_forsythe_groups.length > 0);
  power.brown_forsythe_groups.forEach((c, i) => {
    const r = brownForsytheTest(...c.groups);
    close(r.statistic, c.statistic, TOL, `brown-forsythe ${c.groups.length} groups case ${i} statistic`);
    closeRelative(r.p, c.p, TOL, `brown-forsythe ${c.groups.length} groups case ${i} p`);
    assert.equal(r.df1, c.groups.length - 1);
  });
});

test("varianceRatioTest matches the two-sided F test: ratio, p to 1e-8", () => {
  assert.ok(inference.f_variance_ratio.length > 0);
  inference.f_variance_ratio.forEach((c, i) => {
    const r = varianceRatioTest(c.a, c.b);
    close(r.ratio, c.ratio, TOL, `F case ${i} ratio`);
    closeRelative(r.p, c.p_two_sided, TOL, `F case ${i} p`);
    assert.deepEqual([r.df1, r.df2], [c.a.length - 1, c.b.length - 1]);
  });
});

test("differenceSe and welchDifference.se match sqrt(var(a)/n_a + var(b)/n_b) to 1e-8", () => {
  assert.ok(inference.se_difference.length > 0);
  inference.se_difference.forEach((c, i) => {
    close(differenceSe(c.a, c.b), c.se, TOL, `se case ${i}`);
    assert.equal(welchDifference(c.a, c.b).se, differenceSe(c.a, c.b));
  });
});

// --- against make_power_cases.py (power_cases.json) --------------------------------------------------

test("oneSampleTTest matches scipy ttest_1samp: t, p to 1e-8, df = n - 1", () => {
  assert.ok(power.one_sample_ttest.length > 0);
  power.one_sample_ttest.forEach((c, i) => {
    const r = oneSampleTTest(c.x, c.mu0);
    close(r.t, c.t, TOL, `one-sample case ${i} t`);
    closeRelative(r.p, c.p_two_sided, TOL, `one-sample case ${i} p`);
    assert.equal(r.df, c.df);
    close(r.t, (r.mean - c.mu0) / r.se, 1e-12, `one-sample case ${i} t from mean and se`);
  });
});

test("nonInferiorityOfEstimate matches statsmodels one-sided ttest_ind(usevar='unequal') / ttest_mean at value -+margin", () => {
  assert.ok(power.non_inferiority.length > 0);
  power.non_inferiority.forEach((c, i) => {
    const e = estimateOf(c);
    const r = nonInferiorityOfEstimate(e, c.margin, c.better);
    const what = `non-inferiority case ${i} (${c.paired ? "paired" : "welch"}, better ${c.better})`;
    close(r.t, c.t, TOL, `${what} t`);
    closeRelative(r.p, c.p, TOL, `${what} p`);
    close(e.df, c.df, TOL, `${what} df`);
  });
});

test("equivalenceOfEstimate: both one-sided tests match statsmodels ttost_ind / ttost_paired", () => {
  assert.ok(power.tost_sides.length > 0);
  power.tost_sides.forEach((c, i) => {
    const r = equivalenceOfEstimate(estimateOf(c), c.margin);
    const what = `tost sides case ${i} (${c.paired ? "paired" : "welch"})`;
    closeRelative(r.p, c.p, TOL, `${what} p`);
    for (const side of ["lower", "upper"] as const) {
      close(r[side].t, c[side].t, TOL, `${what} ${side} t`);
      closeRelative(r[side].p, c[side].p, TOL, `${what} ${side} p`);
      close(r.df, c[side].df, TOL, `${what} ${side} df`);
    }
    assert.equal(r.margin, c.margin);
  });
});

test("noncentralTCdf matches scipy nct.cdf on df 1..200, ncp -7.5..15 to 1e-10 absolute", () => {
  assert.ok(power.noncentral_t_cdf.length > 1000);
  for (const c of power.noncentral_t_cdf) {
    const what = `nct cdf(${c.x}; df ${c.df}, ncp ${c.ncp})`;
    close(noncentralTCdf(c.x, c.df, c.ncp), c.cdf, PROB_TOL, what);
    close(noncentralTSf(c.x, c.df, c.ncp), 1 - c.cdf, PROB_TOL, `${what} sf`);
  }
});

test("tTestPower matches scipy nct.sf(c) + nct.cdf(-c) on df 1..200, ncp 0..15, alpha 0.001..0.05 to 1e-10", () => {
  assert.ok(power.power.length > 0);
  for (const c of power.power) {
    const what = `power(df ${c.df}, ncp ${c.ncp}, alpha ${c.alpha})`;
    close(tTestPower({ effect: c.ncp, se: 1, df: c.df, alpha: c.alpha }), c.power, PROB_TOL, what);
    // Units: only effect / se matters (0.25 is a power of 2, so the ratio is exact).
    close(tTestPower({ effect: -0.25 * c.ncp, se: 0.25, df: c.df, alpha: c.alpha }), c.power, PROB_TOL, `${what}, se 0.25, negative effect`);
    close(noncentralTSf(c.critical, c.df, c.ncp), c.upper, PROB_TOL, `${what} upper tail`);
    close(noncentralTCdf(-c.critical, c.df, c.ncp), c.lower, PROB_TOL, `${what} lower tail`);
  }
});

test("minimumDetectableEffect matches scipy brentq on the power to 1e-9 relative and round-trips through tTestPower", () => {
  assert.ok(power.mde.length > 0);
  for (const c of power.mde) {
    const what = `mde(se ${c.se}, df ${c.df}, alpha ${c.alpha}, power ${c.power})`;
    const mde = minimumDetectableEffect({ se: c.se, df: c.df, alpha: c.alpha, power: c.power });
    closeRelative(mde, c.mde, 1e-9, what);
    close(tTestPower({ effect: mde, se: c.se, df: c.df, alpha: c.alpha }), c.power, 1e-12, `${what} round trip`);
  }
  // Defaults: alpha 0.01, power 0.8.
  const d = minimumDetectableEffect({ se: 1, df: 4 });
  close(tTestPower({ effect: d, se: 1, df: 4 }), 0.8, 1e-12, "default alpha and power");
  closeRelative(d, power.mde.find((c) => c.df === 4 && c.alpha === 0.01 && c.power === 0.8)!.mde, 1e-9, "defaults = reference");
});

test("minimumDetectableEffect's kept noncentrality: the same bits as computed afresh, se only scales it, and another alpha or power at the same df is its own", () => {
  for (const c of power.mde) {
    const what = `mde(se ${c.se}, df ${c.df}, alpha ${c.alpha}, power ${c.power})`;
    // other designs at the same df first: a key without alpha or power would hand back their noncentrality
    minimumDetectableEffect({ se: 1, df: c.df, alpha: c.alpha === 0.05 ? 0.01 : 0.05, power: c.power });
    minimumDetectableEffect({ se: 1, df: c.df, alpha: c.alpha, power: c.power === 0.9 ? 0.8 : 0.9 });
    const first = minimumDetectableEffect({ se: c.se, df: c.df, alpha: c.alpha, power: c.power });
    closeRelative(first, c.mde, 1e-9, what);
    assert.equal(minimumDetectableEffect({ se: c.se, df: c.df, alpha: c.alpha, power: c.power }), first, `${what}: kept`);
    const ncp = minimumDetectableEffect({ se: 1, df: c.df, alpha: c.alpha, power: c.power });
    assert.equal(minimumDetectableEffect({ se: 3 * c.se, df: c.df, alpha: c.alpha, power: c.power }), ncp * (3 * c.se), `${what}: se scales the noncentrality`);
    assert.equal(tTestPower({ effect: first, se: c.se, df: c.df, alpha: c.alpha }), tTestPower({ effect: first, se: c.se, df: c.df, alpha: c.alpha }), `${what}: power kept`);
  }
  // beyond the largest noncentrality: Infinity (what a study reports as 'no effect detectable'), not a throw
  assert.equal(detectableNoncentrality(1, 1e-6, 0.8), Infinity);
  assert.equal(detectableNoncentrality(1, 1e-6, 0.8), Infinity, "kept");
  assert.throws(() => detectableNoncentrality(0, 0.01, 0.8), /detectableNoncentrality: df must be > 0/);
  assert.throws(() => detectableNoncentrality(4, 0.01, 0.005), /detectableNoncentrality: power must be in \(alpha, 1\)/);
});

// --- known answers -----------------------------------------------------------------------------------

test("pairedTTest is the one-sample test of a - b; pairedDifference is oneSampleEstimate of a - b", () => {
  for (const c of inference.paired_ttest) {
    const d = c.a.map((v, i) => v - c.b[i]);
    const paired = pairedTTest(c.a, c.b);
    const one = oneSampleTTest(d);
    assert.deepEqual([paired.t, paired.p, paired.df, paired.meanDifference, paired.se], [one.t, one.p, one.df, one.mean, one.se]);
    assert.deepEqual(pairedDifference(c.a, c.b), oneSampleEstimate(d));
    const e = pairedDifference(c.a, c.b);
    assert.deepEqual(tTestOfEstimate(e), { t: paired.t, p: paired.p });
  }
  // Welch estimate + two-sided test = welchTTest.
  for (const c of inference.se_difference) {
    const w = welchTTest(c.a, c.b);
    const e = welchDifference(c.a, c.b);
    const r = tTestOfEstimate(e);
    close(r.t, w.t, 1e-12, "welch t");
    closeRelative(r.p, w.p, 1e-12, "welch p");
    close(e.df, w.df, 1e-12, "welch df");
  }
});

test("TOST: p is the max of its two one-sided p, which are oneSidedTTest at -+margin and the non-inferiority tests", () => {
  for (const c of [...inference.tost_welch, ...inference.tost_paired.map((c) => ({ ...c, paired: true }))]) {
    const e = "paired" in c ? pairedDifference(c.a, c.b) : welchDifference(c.a, c.b);
    const r = equivalenceOfEstimate(e, c.margin);
    assert.equal(r.p, Math.max(r.lower.p, r.upper.p));
    assert.deepEqual(r.lower, oneSidedTTest(e, -c.margin, "greater"));
    assert.deepEqual(r.upper, oneSidedTTest(e, c.margin, "less"));
    assert.deepEqual(r.lower, nonInferiorityOfEstimate(e, c.margin, "greater"));
    assert.deepEqual(r.upper, nonInferiorityOfEstimate(e, c.margin, "less"));
    assert.deepEqual([r.estimate, r.se, r.df], [e.estimate, e.se, e.df]);
  }
  // One-sided p-values of the same t in opposite directions add to 1; the two-sided p is twice the smaller.
  const e = { estimate: 0.3, se: 0.2, df: 7 };
  const g = oneSidedTTest(e, 0, "greater");
  const l = oneSidedTTest(e, 0, "less");
  close(g.p + l.p, 1, 1e-15, "greater + less");
  close(tTestOfEstimate(e).p, 2 * Math.min(g.p, l.p), 1e-15, "two-sided = 2 min");
  close(g.p, tCdf(-1.5, 7), 1e-15, "greater p = P(T >= 1.5)");
  // A wider margin can only help equivalence.
  assert.ok(equivalenceOfEstimate(e, 1).p < equivalenceOfEstimate(e, 0.5).p);
});

test("tTestPower at effect 0 is alpha; it grows with |effect| and is even in it", () => {
  for (const df of [1, 2.5, 4, 19, 200]) {
    for (const alpha of [0.001, 0.01, 0.05, 0.5]) {
      close(tTestPower({ effect: 0, se: 0.3, df, alpha }), alpha, 1e-14, `power at 0, df ${df}, alpha ${alpha}`);
    }
  }
  close(tTestPower({ effect: 0, se: 1, df: 9 }), 0.01, 1e-14, "default alpha 0.01");
  let last = 0;
  for (let effect = 0; effect <= 12; effect += 0.5) {
    const p = tTestPower({ effect, se: 1, df: 9 });
    assert.ok(p > last, `power increases at ${effect}`);
    assert.equal(tTestPower({ effect: -effect, se: 1, df: 9 }), p);
    last = p;
  }
});

test("noncentral t: ncp 0 is Student t, cdf + sf = 1, the reflection P(T <= -x; ncp) = P(T >= x; -ncp)", () => {
  for (const x of [-4, -1, 0, 0.7, 3]) {
    close(noncentralTCdf(x, 6, 0), tCdf(x, 6), 1e-15, `ncp 0 at ${x}`);
    for (const ncp of [-3, 0.5, 8]) {
      close(noncentralTCdf(x, 6, ncp) + noncentralTSf(x, 6, ncp), 1, 1e-15, `cdf + sf at ${x}, ${ncp}`);
      close(noncentralTCdf(-x, 6, ncp), noncentralTSf(x, 6, -ncp), 1e-15, `reflection at ${x}, ${ncp}`);
    }
  }
  // At x = 0 the CDF is Phi(-ncp): Phi(-1) = 0.15865525393145705 (erfc(1 / sqrt 2) / 2).
  close(noncentralTCdf(0, 3, 1), 0.15865525393145705, 1e-15, "Phi(-1)");
  assert.deepEqual([noncentralTCdf(Infinity, 3, 1), noncentralTCdf(-Infinity, 3, 1)], [1, 0]);
  assert.ok(Number.isNaN(noncentralTCdf(NaN, 3, 1)));
  assert.throws(() => noncentralTCdf(1, 0, 1), /noncentralTCdf: df must be > 0/);
  assert.throws(() => noncentralTSf(1, 3, 2000), /noncentralTSf: noncentrality must be finite with \|ncp\| <= 1000/);
});

test("Brown-Forsythe of two groups is the squared Student t on |x - median|; invariant to shifts and common scale", () => {
  const median = (xs: number[]) => {
    const s = [...xs].sort((u, v) => u - v);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  for (const c of inference.brown_forsythe) {
    const za = c.a.map((v) => Math.abs(v - median(c.a)));
    const zb = c.b.map((v) => Math.abs(v - median(c.b)));
    const s = studentTTest(za, zb);
    const r = brownForsytheTest(c.a, c.b);
    close(r.statistic, s.t * s.t, 1e-12, "W = t^2");
    closeRelative(r.p, s.p, 1e-10, "p(F_{1,df}) = two-sided p(t_df)");
    const moved = brownForsytheTest(c.a.map((v) => 4 * v + 3), c.b.map((v) => 4 * v - 7));
    close(moved.statistic, r.statistic, 1e-10, "shift and common scale");
  }
});

test("varianceRatioTest: swapping the samples inverts the ratio and keeps p; equal variances give p = 1", () => {
  for (const c of inference.f_variance_ratio) {
    const r = varianceRatioTest(c.a, c.b);
    const s = varianceRatioTest(c.b, c.a);
    close(s.ratio, 1 / r.ratio, 1e-12, "1 / ratio");
    closeRelative(s.p, r.p, 1e-10, "same p");
  }
  const a = [1, 2, 3, 4];
  close(varianceRatioTest(a, a.map((v) => v + 10)).p, 1, 1e-15, "equal variances");
});

test("zero standard error, as scipy: infinite t with p 0 (or 1 on the other side), NaN when estimate = null", () => {
  const e = welchDifference([1, 1, 1], [2, 2]);
  assert.deepEqual([e.estimate, e.se], [-1, 0]);
  assert.ok(Number.isNaN(e.df));
  assert.deepEqual(tTestOfEstimate(e), { t: -Infinity, p: 0 });
  assert.deepEqual(oneSidedTTest(e, 0, "greater"), { t: -Infinity, p: 1 });
  assert.deepEqual(oneSidedTTest(e, 0, "less"), { t: -Infinity, p: 0 });
  assert.equal(equivalenceTest([1, 1, 1], [1, 1], 0.5).p, 0);
  const same = tTestOfEstimate(pairedDifference([1, 2, 3], [1, 2, 3]));
  assert.ok(Number.isNaN(same.t) && Number.isNaN(same.p));
  // Brown-Forsythe with no spread of |x - median| inside the groups: W = Infinity (p 0) or 0/0 (NaN).
  assert.deepEqual([brownForsytheTest([1, 3], [5, 5]).statistic, brownForsytheTest([1, 3], [5, 5]).p], [Infinity, 0]);
  assert.ok(Number.isNaN(brownForsytheTest([1, 3], [5, 7]).p));
});

test("inputs are checked, with messages that name the function", () => {
  assert.throws(() => pairedTTest([1, 2, 3], [1, 2]), /^Error: pairedTTest: paired samples need equal lengths, got 3 and 2$/);
  assert.throws(() => pairedTTest([1], [2]), /pairedTTest: first sample needs at least 2 values/);
  assert.throws(() => oneSampleTTest([1, NaN]), /oneSampleTTest: sample contains a non-finite value \(NaN\)/);
  assert.throws(() => oneSampleTTest([1, 2], NaN), /oneSampleTTest: mu0 must be finite/);
  assert.throws(() => pairedDifference([1, 2], [1, Infinity]), /pairedDifference: second sample contains a non-finite value/);
  assert.throws(() => welchDifference([1], [1, 2]), /welchDifference: first sample needs at least 2 values/);
  assert.throws(() => differenceSe([1, 2], []), /differenceSe: second sample needs at least 2 values/);
  assert.throws(() => oneSampleEstimate([3]), /oneSampleEstimate: sample needs at least 2 values/);
  assert.throws(() => equivalenceTest([1, 2], [1, 2, 3], 0.1, { paired: true }), /equivalenceTest: paired samples need equal lengths/);
  assert.throws(() => equivalenceTest([1, 2], [1, 2], 0), /equivalenceTest: margin must be finite and > 0/);
  assert.throws(() => equivalenceOfEstimate({ estimate: 0, se: 1, df: 0 }, 1), /equivalenceOfEstimate: df must be > 0/);
  assert.throws(() => tTestOfEstimate({ estimate: 0, se: -1, df: 3 }), /tTestOfEstimate: se must be finite and >= 0/);
  assert.throws(() => oneSidedTTest({ estimate: 0, se: 1, df: 3 }, 0, "two-sided" as OneSidedAlternative), /oneSidedTTest: alternative must be "greater" or "less"/);
  assert.throws(() => nonInferiorityOfEstimate({ estimate: 0, se: 1, df: 3 }, -1, "greater"), /nonInferiorityOfEstimate: margin must be finite and > 0/);
  assert.throws(() => brownForsytheTest([1, 2, 3]), /brownForsytheTest: needs at least 2 groups/);
  assert.throws(() => brownForsytheTest([1, 2], [3]), /brownForsytheTest: group 2 needs at least 2 values/);
  assert.throws(() => varianceRatioTest([1, 2], [3, NaN]), /varianceRatioTest: group 2 contains a non-finite value/);
  assert.throws(() => tTestPower({ effect: 1, se: 0, df: 3 }), /tTestPower: se must be finite and > 0/);
  assert.throws(() => tTestPower({ effect: 1, se: 1, df: 3, alpha: 1 }), /tTestPower: alpha must be in \(0, 1\)/);
  assert.throws(() => minimumDetectableEffect({ se: 1, df: 3, alpha: 0.05, power: 0.05 }), /minimumDetectableEffect: power must be in \(alpha, 1\)/);
  assert.throws(() => tTestPower({ effect: 2001, se: 2, df: 3 }), /tTestPower: \|effect\| \/ se = 1000.5 is beyond the supported noncentrality 1000/);
  // df 1, alpha 1e-6: the critical value is 636620 and even ncp 1000 has power ~0.002.
  assert.throws(() => minimumDetectableEffect({ se: 1, df: 1, alpha: 1e-6 }), /minimumDetectableEffect: no noncentrality up to 1000 reaches power 0.8/);
});
