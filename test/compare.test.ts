/**
 * lib/study/compare.ts and lib/study/components.ts on small designs whose answers are computed here by
 * other means: the scipy-checked tests of lib/stats on the per-unit values, hand sums of fold losses, and
 * lib/metrics logLoss for the bootstrap's rescoring.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../lib/data/random";
import { logLoss } from "../lib/metrics";
import { minimumDetectableEffect, oneSampleTTest, pairedTTest, tQuantile } from "../lib/stats";
import { DesignRun, byReplicate, contrastEstimate, detectableEffect, differenceEstimate, modelMeanEstimate, spreadComparison } from "../lib/study/compare";
import { ReplicateScores, componentsVsBaseline, plannedSe, studyBootstrap, varianceComponents } from "../lib/study/components";

const close = (a: number, b: number, tol = 1e-12, what = "") => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what} ${a} vs ${b}`);

/** Runs of models on `worlds` x `seeds`, value = base_w * (1 + gain noise), seeded. */
function design(models: Record<string, number>, worlds: number[], seeds: number[], sd: number, seed = 1): DesignRun[] {
  const rng = new Rng(seed);
  return worlds.flatMap((world, w) =>
    Object.entries(models).flatMap(([model, level]) => seeds.map((s) => ({ model, seed: s, world, draw: 7, value: (1 + 0.1 * w) * (level + sd * rng.normal()) }))),
  );
}

test("one replicate, same seeds: the paired t test by seed, in percent of the baseline's mean", () => {
  const runs = design({ IP: 0.0075, IPSP: 0.0074 }, [7], [1, 2, 3, 4, 5, 6, 7, 8], 3e-5);
  const c = differenceEstimate(runs, "IPSP", "IP", { higherIsBetter: false, powerAnalysis: false });
  const ip = runs.filter((r) => r.model === "IP").map((r) => r.value);
  const ipsp = runs.filter((r) => r.model === "IPSP").map((r) => r.value);
  const scipy = pairedTTest(ip, ipsp); // ttest_rel(IP, IPSP): positive when IPSP is lower (better)
  const ipMean = ip.reduce((a, b) => a + b) / ip.length;
  assert.equal(c.design, "paired");
  close(c.estimate, (100 * scipy.meanDifference) / ipMean, 1e-12, "estimate");
  close(c.se, (100 * scipy.se) / ipMean, 1e-12, "se");
  close(c.p, scipy.p, 1e-10, "p");
  assert.equal(c.df, 7);
});

test("several replicates, unit seed: replicate means averaged, pooled within-replicate variance; unit replicate: t over replicate means", () => {
  const runs = design({ IP: 0.0075, ESMM: 0.0074 }, [7, 8, 9], [1, 2, 3, 4], 3e-5, 2);
  const seedUnit = differenceEstimate(runs, "ESMM", "IP", { higherIsBetter: false, powerAnalysis: false });
  assert.equal(seedUnit.design, "paired");
  // By hand: per replicate, d = 100 (IP - ESMM) / mean IP on that replicate.
  const perReplicate = [7, 8, 9].map((w) => {
    const v = (m: string, s: number) => runs.find((r) => r.world === w && r.model === m && r.seed === s)!.value;
    const ipMean = [1, 2, 3, 4].reduce((a, s) => a + v("IP", s), 0) / 4;
    return [1, 2, 3, 4].map((s) => (100 * (v("IP", s) - v("ESMM", s))) / ipMean);
  });
  const means = perReplicate.map((d) => d.reduce((a, b) => a + b) / d.length);
  const pooled = perReplicate.reduce((acc, d, k) => acc + d.reduce((s, x) => s + (x - means[k]) ** 2, 0), 0) / (3 * 3);
  close(seedUnit.estimate, means.reduce((a, b) => a + b) / 3, 1e-12, "estimate");
  close(seedUnit.se, Math.sqrt((3 * pooled) / 4) / 3, 1e-12, "se");
  assert.equal(seedUnit.df, 9);
  const across = differenceEstimate(runs, "ESMM", "IP", { higherIsBetter: false, unit: "replicate", powerAnalysis: false });
  assert.equal(across.design, "cluster");
  const t = oneSampleTTest(means);
  close(across.estimate, t.mean, 1e-12, "cluster estimate");
  close(across.p, t.p, 1e-10, "cluster p");
  assert.equal(across.df, 2);
  // The model's own mean: the mean of replicate means; its se from the pooled spread (seed) or the replicate means (replicate).
  const own = modelMeanEstimate(runs, "IP");
  const ipMeans = [7, 8, 9].map((w) => runs.filter((r) => r.world === w && r.model === "IP").reduce((a, r) => a + r.value, 0) / 4);
  close(own.estimate, ipMeans.reduce((a, b) => a + b) / 3, 1e-12, "own mean");
  close(modelMeanEstimate(runs, "IP", "replicate").se, oneSampleTTest(ipMeans).se, 1e-12, "own se across replicates");
});

test("byReplicate keeps an array's grouping (a fast path): the same answers as a fresh copy's, regrouped when runs are added; tQuantile's kept answers equal scipy's", () => {
  const runs = design({ IP: 0.0075, ESMM: 0.0074, IPSP: 0.0073 }, [7, 8], [1, 2, 3, 4], 3e-5, 3);
  const options = { higherIsBetter: false, powerAnalysis: false } as const;
  const first = byReplicate(runs);
  assert.equal(byReplicate(runs), first, "the second call returns the kept grouping");
  for (const unit of ["seed", "replicate"] as const) {
    // every contrast on the kept grouping equals the definition's answer on a copy (grouped afresh)
    for (const [a, b] of [["ESMM", "IP"], ["IPSP", "ESMM"], ["IP", "IPSP"]]) {
      assert.deepEqual(differenceEstimate(runs, a, b, { ...options, unit }), differenceEstimate([...runs], a, b, { ...options, unit }));
    }
  }
  // a run added to the same array (its length changes) is grouped in: a third world
  const before = differenceEstimate(runs, "ESMM", "IP", options);
  runs.push(...design({ IP: 0.0075, ESMM: 0.0070 }, [9], [1, 2, 3, 4], 3e-5, 4));
  const grown = byReplicate(runs);
  assert.notEqual(grown, first);
  assert.deepEqual([...grown.keys()].length, 3);
  const after = differenceEstimate(runs, "ESMM", "IP", options);
  assert.equal(after.replicates, 3);
  assert.notEqual(after.estimate, before.estimate);
  assert.deepEqual(after, differenceEstimate([...runs], "ESMM", "IP", options));
  // scipy.stats.t.ppf(0.975, 7) = 2.364624251592784 and ppf(0.005, 3.5) = -5.085702223091258, asked twice each
  for (let k = 0; k < 2; k++) {
    close(tQuantile(0.975, 7), 2.364624251592784, 1e-12, "t.ppf(0.975, 7)");
    close(tQuantile(0.005, 3.5), -5.085702223091258, 1e-12, "t.ppf(0.005, 3.5)");
  }
});

test("test folds: seed j of S is scored on folds j, j + S, ...; the units then pair seeds with disjoint shares of the test day", () => {
  // Two models x 3 seeds on one replicate; fold f of seed s has loss sum L and weight W chosen by hand.
  const folds = (model: string, seed: number) => {
    const logLossSum = Array.from({ length: 12 }, (_, f) => (model === "IP" ? 1 : 0.9) * (10 + f + seed));
    const weightSum = Array.from({ length: 12 }, (_, f) => 1000 + f);
    return { folds: 12, logLossSum, weightSum };
  };
  const runs: DesignRun[] = ["IP", "ESMM"].flatMap((model) =>
    [1, 2, 3].map((seed) => {
      const f = folds(model, seed);
      const value = f.logLossSum.reduce((a, b) => a + b) / f.weightSum.reduce((a, b) => a + b);
      return { model, seed, world: 7, draw: 7, value, folds: f };
    }),
  );
  const c = differenceEstimate(runs, "ESMM", "IP", { higherIsBetter: false, powerAnalysis: false });
  assert.equal(c.design, "paired-folds");
  const ipMean = runs.filter((r) => r.model === "IP").reduce((a, r) => a + r.value, 0) / 3;
  const share = (model: string, seed: number, j: number) => {
    const f = folds(model, seed);
    const ks = [j, j + 3, j + 6, j + 9];
    return ks.reduce((a, k) => a + f.logLossSum[k], 0) / ks.reduce((a, k) => a + f.weightSum[k], 0);
  };
  const expected = [1, 2, 3].map((seed, j) => (100 * (share("IP", seed, j) - share("ESMM", seed, j))) / ipMean);
  assert.deepEqual(c.unitValues.map((x) => Math.round(x * 1e10)), expected.map((x) => Math.round(x * 1e10)));
  // Without folds on one run, the whole test day is used for every seed.
  const noFolds = runs.map((r, k) => (k === 0 ? { ...r, folds: undefined } : r));
  assert.equal(differenceEstimate(noFolds, "ESMM", "IP", { higherIsBetter: false, powerAnalysis: false }).design, "paired");
});

test("the interaction contrast equals g(ESMM) - g(ESMM-NS) - g(IPSP), paired by seed", () => {
  const runs = design({ IP: 0.0075, ESMM: 0.0074, "ESMM-NS": 0.00745, IPSP: 0.0074 }, [7], [1, 2, 3, 4, 5], 2e-5, 3);
  const c = contrastEstimate(runs, { ESMM: 1, "ESMM-NS": -1, IPSP: -1, IP: 1 }, { higherIsBetter: false, powerAnalysis: false });
  const v = (m: string) => runs.filter((r) => r.model === m).map((r) => r.value);
  const ipMean = v("IP").reduce((a, b) => a + b) / 5;
  const g = (m: string, i: number) => (100 * (v("IP")[i] - v(m)[i])) / ipMean;
  const units = [0, 1, 2, 3, 4].map((i) => g("ESMM", i) - g("ESMM-NS", i) - g("IPSP", i));
  const t = oneSampleTTest(units);
  close(c.estimate, t.mean, 1e-10, "interaction");
  close(c.p, t.p, 1e-9, "p");
});

test("Brown-Forsythe of two models on one replicate is scipy's levene(center=median) via lib/stats", () => {
  const runs = design({ IP: 0.0075, ESMM: 0.0074, IPSP: 0.0074 }, [7], [1, 2, 3, 4, 5, 6, 7], 2e-5, 4).map((r) =>
    r.model === "ESMM" ? { ...r, value: 0.0074 + 3 * (r.value - 0.0074) } : r,
  );
  const v = spreadComparison(runs, "ESMM", "IPSP", {});
  assert.ok(v.sdRatio > 2, `sd ratio ${v.sdRatio}`);
  assert.equal(v.df1, 1);
  assert.equal(v.df2, 12);
  assert.ok(v.p > 0 && v.p < 1);
  // Two seeds per model: both deviations from the median are equal, the test would be degenerate (p = 0): no test.
  const two = spreadComparison(runs.filter((r) => r.seed <= 2), "ESMM", "IPSP", {});
  assert.ok(Number.isNaN(two.p), `p ${two.p}`);
});

test("studyBootstrap: its full-data estimate is the percent of seed-mean log losses (logLoss), and its se shrinks with more rows", () => {
  const rng = new Rng(5);
  const make = (n: number, world: number): ReplicateScores => {
    const label = Float64Array.from({ length: n }, () => (rng.uniform() < 0.05 ? 1 : 0));
    const runs = ["IP", "IPSP"].flatMap((model) =>
      [1, 2, 3].map((seed) => ({ model, seed, p: Float64Array.from(label, (y) => Math.min(0.99, Math.max(0.001, (y ? 0.2 : 0.04) * (model === "IP" ? 1.1 : 1) + 0.01 * rng.normal()))) })),
    );
    return { world, draw: 7, label, runs };
  };
  const small = make(2000, 7);
  const boot = studyBootstrap([() => small], { resamples: 60, seed: 3 });
  const ll = (m: string) => [1, 2, 3].reduce((a, s) => a + logLoss(small.label, small.runs.find((r) => r.model === m && r.seed === s)!.p), 0) / 3;
  close(boot.models.find((b) => b.model === "IPSP")!.estimate, (100 * (ll("IP") - ll("IPSP"))) / ll("IP"), 1e-9, "estimate");
  assert.equal(boot.models.find((b) => b.model === "IP")!.se, 0);
  const big = studyBootstrap([() => make(20000, 8)], { resamples: 60, seed: 3 });
  const se = (b: typeof boot) => b.models.find((x) => x.model === "IPSP")!.rowsVariance;
  assert.ok(se(big) < se(boot) / 4, `rows variance ${se(big)} vs ${se(boot)} (10x the rows)`);
  // Same seed, same numbers.
  assert.deepEqual(studyBootstrap([() => small], { resamples: 60, seed: 3 }), boot);
});

test("varianceComponents: seed part from the within-replicate spread, world part what the replicate means add", () => {
  const runs = design({ IP: 0.0075, ESMM: 0.0074 }, [7, 8, 9, 10], [1, 2, 3], 3e-5, 6);
  const c = varianceComponents(runs, "ESMM", { higherIsBetter: false, rowsVariance: 0 });
  const across = differenceEstimate(runs, "ESMM", "IP", { higherIsBetter: false, unit: "replicate", powerAnalysis: false });
  const replicateVar = across.se ** 2 * 4;
  close(c.replicateMeanVariance, replicateVar, 1e-9, "var of replicate means");
  close(c.worldVariance, Math.max(0, replicateVar - c.seedVariance / 3), 1e-9, "world part");
  assert.equal(c.seedDf, 8);
  close(plannedSe(c, { replicates: 4, seeds: 3, testScale: 1 }, "replicate").se, Math.sqrt((c.worldVariance + c.seedVariance / 3) / 4), 1e-12, "planned se across worlds");
  const withRows = { ...c, rowsVariance: 0.5 };
  const planned = plannedSe(withRows, { replicates: 6, seeds: 6, testScale: 2 });
  close(planned.se, Math.sqrt((c.seedVariance + (0.5 * 6) / 2) / 36), 1e-12, "planned se on these data sets");
  assert.equal(planned.df, 30);
});

test("componentsVsBaseline: each model but the baseline, in the summary's order, its test-row part from the bootstrap; a model the bootstrap lacks throws", () => {
  const runs = design({ IP: 0.0075, ESMM: 0.0074, IPSP: 0.0073 }, [7, 8, 9], [1, 2, 3], 3e-5, 4);
  const summary = { baseline: "IP", higherIsBetter: false, runs, models: [{ model: "IPSP" }, { model: "IP" }, { model: "ESMM" }] };
  const boot = { models: [{ model: "ESMM", rowsVariance: 0.25, estimate: 0, se: 0, ci: [0, 0] as [number, number] }, { model: "IPSP", rowsVariance: 0.5, estimate: 0, se: 0, ci: [0, 0] as [number, number] }] };
  const got = componentsVsBaseline(summary, boot);
  assert.deepEqual(got.map((c) => [c.model, c.versus, c.rowsVariance]), [["IPSP", "IP", 0.5], ["ESMM", "IP", 0.25]]);
  assert.deepEqual(got[1], varianceComponents(runs, "ESMM", { higherIsBetter: false, rowsVariance: 0.25 }));
  assert.throws(() => componentsVsBaseline(summary, { models: boot.models.slice(0, 1) }), /componentsVsBaseline: the bootstrap has no model IPSP/);
});

test("detectableEffect: the MDE where the design can reach the power; Infinity where no representable effect does (df < 1 at alpha 0.01), never a throw", () => {
  assert.equal(detectableEffect(0.4, 5, 0.01, 0.8), minimumDetectableEffect({ se: 0.4, df: 5, alpha: 0.01, power: 0.8 }));
  // Satterthwaite df 0.447 (notebook 07's quick profile: 2 repeats x 2 worlds): even 1,000 se has power 0.26
  assert.equal(detectableEffect(0.4, 0.447, 0.01, 0.8), Infinity);
  assert.throws(() => minimumDetectableEffect({ se: 0.4, df: 0.447, alpha: 0.01, power: 0.8 }), /no noncentrality up to 1000/);
});
