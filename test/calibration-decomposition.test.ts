import { test } from "node:test";
import assert from "node:assert/strict";
import { calibrationChain, calibrationTerms, calibrationRatio, MetricInputError } from "../lib/metrics";
import { defaultSplitPlan, prepare } from "../lib/data/prepare";
import { createWorld, rowsPerDay, simulatedDayLog } from "../lib/data/simulator";
import { resolveConfig } from "../lib/data/simulator-config";
import { concatLogs } from "../lib/data/schema";
import { freshRowsOfDay, withAdAgeShifted, ctcvrTerms } from "../lib/study/calibration-decomposition";

test("calibrationTerms: hand-computed weighted means and ratios, with a row mask", () => {
  const y = [1, 0, 0, 1];
  const p = [0.5, 0.1, 0.2, 0.4];
  const t = [0.6, 0.2, 0.1, 0.3];
  const w = [1, 2, 3, 0.5];
  const all = calibrationTerms(y, p, t, w);
  // sum w = 6.5; sum w p = 0.5 + 0.2 + 0.6 + 0.2 = 1.5; sum w t = 0.6 + 0.4 + 0.3 + 0.15 = 1.45; sum w y = 1.5
  assert.equal(all.rows, 4);
  assert.ok(Math.abs(all.weight - 6.5) < 1e-12);
  assert.ok(Math.abs(all.meanPredicted - 1.5 / 6.5) < 1e-12);
  assert.ok(Math.abs(all.predictedOverObserved - 1) < 1e-12);
  assert.ok(Math.abs(all.predictedOverTruth - 1.5 / 1.45) < 1e-12);
  assert.ok(Math.abs(all.truthOverObserved - 1.45 / 1.5) < 1e-12);
  assert.equal(all.predictedOverObserved, calibrationRatio(y, p, w));
  const masked = calibrationTerms(y, p, t, w, [1, 1, 0, 0]); // rows 0, 1: w p = 0.7, w t = 1.0, w y = 1
  assert.equal(masked.rows, 2);
  assert.ok(Math.abs(masked.predictedOverTruth - 0.7) < 1e-12);
  assert.ok(Number.isNaN(calibrationTerms([0, 0], [0.1, 0.1], [0.1, 0.1]).predictedOverObserved)); // no positive label
  assert.throws(() => calibrationTerms(y, p, [0.1, 2, 0.1, 0.1], w), MetricInputError);
  assert.throws(() => calibrationTerms(y, p, t, w, [1, 1]), MetricInputError);
});

test("calibrationChain: a known drift gives its ratio, and the steps multiply to the last view's ratio", () => {
  // A model that predicts the training day's truth exactly, scored on a day whose truth doubled: the "day change"
  // step is 1/2, every other model step 1, and the labels factor is the day's t/y.
  const trainT = [0.01, 0.02, 0.03, 0.04];
  const trainY = [0, 0, 0, 1];
  const testT = trainT.map((x) => 2 * x);
  const testY = [0, 1, 0, 1];
  const fit = calibrationTerms(trainY, trainT, trainT);
  const drift = calibrationTerms(testY, trainT, testT);
  const { steps, total } = calibrationChain([
    { name: "fit", terms: fit },
    { name: "day change", terms: drift },
  ]);
  assert.deepEqual(steps.map((s) => s.name), ["fit", "day change", "labels"]);
  assert.equal(steps[0].factor, 1);
  assert.ok(Math.abs(steps[1].factor - 0.5) < 1e-12);
  assert.ok(Math.abs(steps[2].factor - 0.2 / 2) < 1e-12); // sum t = 0.2, sum y = 2
  assert.ok(Math.abs(total - 0.1 / 2) < 1e-12); // sum p = 0.1 over 2 positives
  assert.ok(Math.abs(steps.reduce((s, x) => s * x.factor, 1) - total) < 1e-12);
  assert.throws(() => calibrationChain([]), /no views/);
});

/** A small simulated world, its log and its prepared data (default split plan, keep rate 0.1). */
function smallWorld() {
  const config = resolveConfig({ impressions: 60_000, days: 6, users: 150, ads: 60, advertisers: 10, calibrationSamples: 20_000 });
  const seed = 5;
  const world = createWorld(config, seed);
  const logs = Array.from({ length: config.days }, (_, day) => simulatedDayLog(world, day));
  const data = prepare(concatLogs(logs), { plan: defaultSplitPlan(config.days), negativeKeepRate: 0.1, seed: 7 });
  return { config, seed, data };
}

test("freshRowsOfDay: rows past the day's own, from the same world; a wrong seed throws", () => {
  const { config, seed, data } = smallWorld();
  const day = Math.max(...data.plan.trainDays);
  const fresh = freshRowsOfDay(data, { config, seed }, day, 1);
  assert.equal(fresh.size, rowsPerDay(config)[day]);
  assert.ok(fresh.day.every((d) => d === day));
  // Fresh rows are another sample of the same day: their mean true P(click) matches the day's own rows (within
  // sampling noise; 10,000 rows, P(click) sd < 0.1, so 4 se < 0.004 absolute).
  const trainRows = [...data.train.day.keys()].filter((i) => data.train.day[i] === day);
  const meanOf = (a: Float64Array, rows: number[], w: Float32Array) => rows.reduce((s, i) => s + w[i] * a[i], 0) / rows.reduce((s, i) => s + w[i], 0);
  const own = meanOf(data.train.truth!.pClick, trainRows, data.train.weight);
  const freshMean = fresh.truth!.pClick.reduce((s, x) => s + x, 0) / fresh.size;
  assert.ok(Math.abs(own - freshMean) < 0.004, `${own} vs ${freshMean}`);
  assert.throws(() => freshRowsOfDay(data, { config, seed: seed + 1 }, day, 1), /does not remake/);
});

test("withAdAgeShifted: ages d days younger, floored at 0; the chain of a constant model telescopes to the test ratio", () => {
  const { data } = smallWorld();
  const shifted = withAdAgeShifted(data.test, data.scalers, 2);
  const s = data.scalers.find((x) => x.field === "ad_age_days")!;
  const f = data.test.numericFields.indexOf("ad_age_days");
  const n = data.test.numericFields.length;
  for (let i = 0; i < data.test.size; i += 97) {
    const before = Math.round(data.test.numeric[i * n + f] * s.sd + s.mean);
    const after = shifted.numeric[i * n + f] * s.sd + s.mean;
    assert.ok(Math.abs(after - Math.max(0, before - 2)) < 1e-4, `row ${i}: ${before} -> ${after}`);
  }
  assert.notEqual(shifted.numeric, data.test.numeric); // a copy: the original split keeps its ages
  // A model predicting the training rows' weighted mean truth everywhere: its chain multiplies to its ratio.
  const mean = ctcvrTerms(data.train, new Float64Array(data.train.size).fill(0.001)).meanTruth;
  const pTrain = new Float64Array(data.train.size).fill(mean);
  const pTest = new Float64Array(data.test.size).fill(mean);
  const views = [
    { name: "fit", terms: ctcvrTerms(data.train, pTrain) },
    { name: "ad age", terms: ctcvrTerms(data.test, pTest) },
  ];
  const { steps, total } = calibrationChain(views);
  assert.ok(Math.abs(steps[0].factor - 1) < 1e-9); // predicts the training mean: fit 1
  assert.ok(Math.abs(steps.reduce((p, x) => p * x.factor, 1) - total) < 1e-9 * total);
  assert.ok(Math.abs(total - calibrationRatio(Float64Array.from(data.test.click, (c, i) => c * data.test.conversion[i]), pTest)) < 1e-12);
});
