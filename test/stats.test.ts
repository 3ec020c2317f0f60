/**
 * lib/stats against scipy / Holm reference values (read from test/fixtures/reference/) and known answers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import { holm, pairwiseComparisons, percentBetter, percentOfBaseline, studentTTest, summarize, tQuantile, welchTTest } from "../lib/stats";

interface TTestCase {
  a: number[];
  b: number[];
  t: number;
  p_two_sided: number;
  df?: number;
}
interface HolmCase {
  p: number[];
  holm_adjusted: number[];
}

const REFERENCE = path.join(FIXTURES_DIR, "reference", "stats_metrics_cases.json");
const reference = JSON.parse(fs.readFileSync(REFERENCE, "utf8")) as {
  welch_ttest: TTestCase[];
  student_ttest: TTestCase[];
  holm: HolmCase[];
};

/** |actual - expected| <= tol * max(1, |expected|): absolute for small values, relative for large. */
function close(actual: number, expected: number, tol: number, what: string): void {
  const ok = Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected));
  assert.ok(ok, `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

/** p-values span many orders of magnitude: compare them relatively. */
function closeRelative(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.abs(expected), `${what}: got ${actual}, expected ${expected} (rel tol ${tol})`);
}

test("welchTTest matches scipy ttest_ind(equal_var=False): t, df, p to 1e-6", () => {
  assert.ok(reference.welch_ttest.length > 0);
  reference.welch_ttest.forEach((c, i) => {
    const r = welchTTest(c.a, c.b);
    close(r.t, c.t, 1e-6, `welch case ${i} t`);
    close(r.df, c.df!, 1e-6, `welch case ${i} df`);
    closeRelative(r.p, c.p_two_sided, 1e-6, `welch case ${i} p`);
  });
});

test("studentTTest matches scipy ttest_ind(equal_var=True): t, p to 1e-6", () => {
  assert.ok(reference.student_ttest.length > 0);
  reference.student_ttest.forEach((c, i) => {
    const r = studentTTest(c.a, c.b);
    close(r.t, c.t, 1e-6, `student case ${i} t`);
    assert.equal(r.df, c.a.length + c.b.length - 2);
    closeRelative(r.p, c.p_two_sided, 1e-6, `student case ${i} p`);
  });
});

test("t tests: identical groups give t = 0, p = 1; swapping groups flips t; equal sizes give equal t", () => {
  const a = [0.71, 0.73, 0.72, 0.74, 0.7];
  for (const r of [welchTTest(a, a), studentTTest(a, a)]) {
    assert.equal(r.t, 0);
    assert.equal(r.p, 1);
  }
  const b = [0.69, 0.7, 0.68, 0.71, 0.66];
  assert.equal(welchTTest(b, a).t, -welchTTest(a, b).t);
  close(welchTTest(a, b).t, studentTTest(a, b).t, 1e-12, "equal n: same t");
  // Equal n and equal variances: Welch df = 2n - 2.
  close(welchTTest([1, 2, 3], [4, 5, 6]).df, 4, 1e-12, "welch df");
  // Zero standard error, like scipy: equal means -> NaN, different means -> infinite t, p = 0.
  assert.ok(Number.isNaN(welchTTest([1, 1], [1, 1]).p));
  const sep = welchTTest([1, 1], [2, 2]);
  assert.equal(sep.t, -Infinity);
  assert.equal(sep.p, 0);
  assert.throws(() => welchTTest([1], [1, 2]), /at least 2 values/);
  assert.throws(() => studentTTest([1, NaN], [1, 2]), /non-finite/);
});

test("holm matches the reference adjusted p-values to 1e-6", () => {
  assert.ok(reference.holm.length > 0);
  reference.holm.forEach((c, i) => {
    const adjusted = holm(c.p);
    assert.equal(adjusted.length, c.p.length);
    adjusted.forEach((v, k) => close(v, c.holm_adjusted[k], 1e-6, `holm case ${i}[${k}]`));
  });
});

test("holm: known answers, input order kept, monotone, capped at 1, NaN passes through", () => {
  // sorted: .01*3 = .03, .02*2 = .04, .03*1 -> max(.04, .03) = .04
  const adj = holm([0.03, 0.01, 0.02]);
  close(adj[0], 0.04, 1e-15, "third");
  close(adj[1], 0.03, 1e-15, "first");
  close(adj[2], 0.04, 1e-15, "second");
  assert.deepEqual(holm([0.5, 0.9]), [1, 1]);
  assert.deepEqual(holm([]), []);
  const withNaN = holm([0.01, NaN, 0.04]);
  assert.ok(Number.isNaN(withNaN[1]));
  close(withNaN[0], 0.02, 1e-15, "m counts only non-NaN");
  close(withNaN[2], 0.04, 1e-15, "last");
  assert.throws(() => holm([0.1, 1.5]), /outside \[0, 1\]/);
});

test("tQuantile inverts the t CDF: closed forms for df = 1 and 2, and the normal limit", () => {
  for (const prob of [0.6, 0.9, 0.975, 0.995]) {
    close(tQuantile(prob, 1), Math.tan(Math.PI * (prob - 0.5)), 1e-9, `df=1 q(${prob})`);
    close(tQuantile(prob, 2), (2 * prob - 1) / Math.sqrt(2 * prob * (1 - prob)), 1e-9, `df=2 q(${prob})`);
    close(tQuantile(1 - prob, 2), -tQuantile(prob, 2), 0, `symmetry ${prob}`);
  }
  assert.equal(tQuantile(0.5, 7), 0);
  // df -> infinity: standard normal 97.5% quantile 1.959963984540054
  close(tQuantile(0.975, 1e9), 1.959963984540054, 1e-6, "normal limit");
  assert.throws(() => tQuantile(1, 3), /probability/);
  assert.throws(() => tQuantile(0.5, 0), /df/);
});

test("summarize: mean, sample sd, se and the t-based 95% CI", () => {
  const s = summarize([1, 2, 3, 4]);
  assert.equal(s.n, 4);
  assert.equal(s.mean, 2.5);
  close(s.sd, Math.sqrt(5 / 3), 1e-15, "sd");
  close(s.se, Math.sqrt(5 / 3) / 2, 1e-15, "se");
  const half = tQuantile(0.975, 3) * s.se;
  close(s.ci95[0], 2.5 - half, 1e-15, "ci lo");
  close(s.ci95[1], 2.5 + half, 1e-15, "ci hi");
  // n = 2: t_{.975,1} = tan(.475 pi); sd of [0, 2] = sqrt(2), se = 1
  const two = summarize([0, 2]);
  close(two.ci95[1] - two.mean, Math.tan(0.475 * Math.PI), 1e-9, "n=2 half-width");
  const one = summarize([5]);
  assert.equal(one.mean, 5);
  assert.ok(Number.isNaN(one.sd) && Number.isNaN(one.ci95[0]));
  assert.ok(Number.isNaN(summarize([]).mean));
});

test("percentBetter / percentOfBaseline: positive = better, for losses and for AUCs", () => {
  assert.deepEqual([0.9, 1, 1.1].map((v) => Math.round(percentBetter(v, 1, false) * 1e12) / 1e12 + 0), [10, 0, -10]);
  close(percentBetter(0.45, 0.5, false), 10, 1e-12, "a loss 10 % lower");
  close(percentBetter(0.55, 0.5, true), 10, 1e-12, "an AUC 10 % higher");
  close(percentOfBaseline(-0.05, 0.5, false), 10, 1e-12, "a loss difference of -0.05 on 0.5");
  assert.ok(Number.isNaN(percentBetter(1, 0, false)) && Number.isNaN(percentBetter(1, NaN, true)));
});

test("pairwiseComparisons: Welch per pair, Holm over unordered pairs, better-than lists", () => {
  const groups = {
    esmm: [0.81, 0.812, 0.809, 0.811, 0.813],
    naive: [0.7, 0.702, 0.699, 0.701, 0.703],
    naive2: [0.7005, 0.7015, 0.6995, 0.7025, 0.7],
  };
  const report = pairwiseComparisons(groups, { higherIsBetter: true });
  assert.equal(report.alpha, 0.01);
  assert.equal(report.comparisons.length, 6);
  const names = Object.keys(groups) as Array<keyof typeof groups>;
  const rawP: number[] = [];
  for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) rawP.push(welchTTest(groups[names[i]], groups[names[j]]).p);
  const expectedHolm = holm(rawP);
  let k = 0;
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++, k++) {
      const ab = report.comparisons.find((c) => c.a === names[i] && c.b === names[j])!;
      const ba = report.comparisons.find((c) => c.a === names[j] && c.b === names[i])!;
      assert.equal(ab.p, rawP[k]);
      assert.equal(ab.pHolm, expectedHolm[k]);
      assert.equal(ba.pHolm, ab.pHolm);
      assert.equal(ba.t, -ab.t);
    }
  }
  assert.deepEqual(report.betterThan, { esmm: ["naive", "naive2"], naive: [], naive2: [] });
  // Lower is better flips the direction.
  const losses = pairwiseComparisons(groups, { higherIsBetter: false });
  assert.deepEqual(losses.betterThan, { esmm: [], naive: ["esmm"], naive2: ["esmm"] });
  // Identical groups: p = 1, never better.
  const same = pairwiseComparisons({ a: [1, 2, 3], b: [1, 2, 3] }, { higherIsBetter: true });
  assert.equal(same.comparisons[0].p, 1);
  assert.equal(same.comparisons[0].t, 0);
  assert.deepEqual(same.betterThan, { a: [], b: [] });
});

test("pairwiseComparisons: the Holm-adjusted p decides, unless adjust is 'none'", () => {
  // Three groups; a vs b has raw p just under alpha = 0.05 but Holm (x3 at most) pushes it over.
  const groups = { a: [1.0, 1.2, 0.9, 1.1, 1.05], b: [0.9, 1.0, 0.8, 0.95, 0.85], c: [0.95, 1.1, 0.9, 1.0, 1.0] };
  const raw = welchTTest(groups.a, groups.b).p;
  const holmReport = pairwiseComparisons(groups, { higherIsBetter: true, alpha: 0.05 });
  const ab = holmReport.comparisons.find((c) => c.a === "a" && c.b === "b")!;
  assert.equal(ab.p, raw);
  assert.ok(raw < 0.05 && ab.pHolm >= 0.05, `fixture should straddle alpha: raw ${raw}, Holm ${ab.pHolm}`);
  assert.equal(ab.aBetter, false);
  assert.deepEqual(holmReport.betterThan.a, []);
  const rawReport = pairwiseComparisons(groups, { higherIsBetter: true, alpha: 0.05, adjust: "none" });
  assert.equal(rawReport.comparisons.find((c) => c.a === "a" && c.b === "b")!.aBetter, true);
  assert.deepEqual(rawReport.betterThan.a, ["b"]);
});
