/**
 * lib/stats bootstrap: reproducible for a seed, and right within Monte Carlo error where the answer is
 * known. For a statistic that is a mean of n per-row values x_i (weighted mean of p with unit weights;
 * the log loss of a fixed predictor is the mean of the per-row losses), the bootstrap distribution's sd
 * estimates the plug-in standard error sd_n(x) / sqrt(n) (sd_n with divisor n), and its mean is the
 * full-sample statistic. With B resamples, the sd of B roughly normal draws has relative Monte Carlo
 * error about 1 / sqrt(2 (B - 1)), and their mean has error se / sqrt(B): the tests allow 4 of each.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../lib/data/random";
import { logLoss, prAuc } from "../lib/metrics";
import { bootstrapMetric, bootstrapPercentChange, quantileSorted } from "../lib/stats";

const weightedMeanOfP = (_y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>) => {
  let s = 0;
  let t = 0;
  for (let i = 0; i < p.length; i++) {
    const wi = w === undefined ? 1 : w[i];
    s += wi * p[i];
    t += wi;
  }
  return s / t;
};

/** Plug-in se of the mean of xs: sqrt(sum (x - mean)^2 / n) / sqrt(n). */
function plugInSe(xs: ArrayLike<number>): { mean: number; se: number } {
  const n = xs.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += xs[i];
  m /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - m) ** 2;
  return { mean: m, se: Math.sqrt(ss / n) / Math.sqrt(n) };
}

function data(n: number, seed: number) {
  const r = new Rng(seed);
  const p = Float64Array.from({ length: n }, () => r.uniform() ** 2); // a skewed known distribution on [0, 1]
  const y = Float64Array.from({ length: n }, () => (r.uniform() < 0.3 ? 1 : 0));
  const w = Float64Array.from({ length: n }, () => 1 + r.int(10));
  return { y, p, w };
}

test("bootstrapMetric: the same seed gives the same numbers, another seed different ones", () => {
  const { y, p, w } = data(500, 1);
  const a = bootstrapMetric(y, p, w, logLoss, { resamples: 200, seed: 7 });
  const b = bootstrapMetric(y, p, w, logLoss, { resamples: 200, seed: 7 });
  const c = bootstrapMetric(y, p, w, logLoss, { resamples: 200, seed: 8 });
  assert.deepEqual(a, b);
  assert.equal(a.estimate, c.estimate); // the full-sample statistic does not depend on the seed
  assert.notEqual(a.se, c.se);
  assert.notDeepEqual(a.ci, c.ci);
  assert.equal(a.resamples, 200);
  assert.equal(a.undefinedResamples, 0);
  assert.equal(a.estimate, logLoss(y, p, w));
  assert.ok(a.ci[0] < a.estimate && a.estimate < a.ci[1], `${a.ci} around ${a.estimate}`);
});

const B = 2000;
const seTol = 4 / Math.sqrt(2 * (B - 1)); // relative, about 0.089

test(`bootstrap se of a weighted mean of p (unit weights) = sd/sqrt(n) within ${(100 * seTol).toFixed(1)} % (B = ${B})`, () => {
  const n = 2000;
  const { y, p } = data(n, 2);
  const ones = new Float64Array(n).fill(1);
  const r = bootstrapMetric(y, p, ones, weightedMeanOfP, { resamples: B, seed: 11 });
  const direct = plugInSe(p);
  assert.ok(Math.abs(r.estimate - direct.mean) < 1e-12);
  assert.ok(Math.abs(r.se / direct.se - 1) < seTol, `bootstrap se ${r.se}, analytic ${direct.se}`);
  assert.ok(Math.abs(r.mean - r.estimate) < (4 * direct.se) / Math.sqrt(B), `bootstrap mean ${r.mean}, estimate ${r.estimate}`);
  // 95 % percentile interval of a near-normal statistic: about estimate +- 1.96 se.
  assert.ok(Math.abs((r.ci[1] - r.ci[0]) / (2 * 1.96 * direct.se) - 1) < 0.15, `ci ${r.ci}`);
});

test(`bootstrap se of the log loss of a fixed predictor on Bernoulli labels = sd(loss)/sqrt(n) within ${(100 * seTol).toFixed(1)} %`, () => {
  const n = 3000;
  const r0 = new Rng(3);
  const q = 0.2; // true rate
  const y = Float64Array.from({ length: n }, () => (r0.uniform() < q ? 1 : 0));
  const p = new Float64Array(n).fill(0.25); // a fixed, slightly wrong predictor
  const losses = Float64Array.from(y, (yi) => (yi === 1 ? -Math.log(0.25) : -Math.log(0.75)));
  const direct = plugInSe(losses);
  const r = bootstrapMetric(y, p, undefined, logLoss, { resamples: B, seed: 5 });
  assert.ok(Math.abs(r.estimate - direct.mean) < 1e-12);
  assert.ok(Math.abs(r.se / direct.se - 1) < seTol, `bootstrap se ${r.se}, analytic ${direct.se}`);
  assert.ok(Math.abs(r.mean - r.estimate) < (4 * direct.se) / Math.sqrt(B));
  // And the population value: sd of the loss is |log(0.75/0.25)| sqrt(q (1 - q)).
  const populationSe = (Math.log(3) * Math.sqrt(q * (1 - q))) / Math.sqrt(n);
  assert.ok(Math.abs(r.se / populationSe - 1) < seTol + 0.1, `bootstrap se ${r.se}, population ${populationSe}`);
});

test("bootstrapPercentChange is paired: a predictor c * baseline changes the mean of p by exactly 100 (1 - c) % in every resample", () => {
  const { y, p, w } = data(800, 4);
  const c = 0.9;
  const pModel = Float64Array.from(p, (x) => c * x);
  const r = bootstrapPercentChange(y, w, pModel, p, weightedMeanOfP, { resamples: 300, seed: 1 });
  assert.ok(Math.abs(r.estimate - 100 * (1 - c)) < 1e-9);
  assert.ok(r.se < 1e-9, `paired se ${r.se}`);
  assert.ok(Math.abs(r.ci[0] - 10) < 1e-9 && Math.abs(r.ci[1] - 10) < 1e-9);
  // Unpaired, the two means would move independently: their separate bootstraps have a clearly non-zero se.
  assert.ok(bootstrapMetric(y, p, w, weightedMeanOfP, { resamples: 300, seed: 1 }).se > 1e-3);
  // Higher-is-better sign convention.
  const up = bootstrapPercentChange(y, w, pModel, p, weightedMeanOfP, { resamples: 50, seed: 1, higherIsBetter: true });
  assert.ok(Math.abs(up.estimate + 100 * (1 - c)) < 1e-9);
});

test("bootstrapPercentChange of log loss: positive = better, same rows for both, reproducible", () => {
  const n = 1500;
  const r0 = new Rng(9);
  const truth = Float64Array.from({ length: n }, () => 0.05 + 0.4 * r0.uniform());
  const y = Float64Array.from(truth, (t) => (r0.uniform() < t ? 1 : 0));
  const good = truth;
  const flat = new Float64Array(n).fill(0.25);
  const a = bootstrapPercentChange(y, undefined, good, flat, logLoss, { resamples: 400, seed: 3 });
  const b = bootstrapPercentChange(y, undefined, good, flat, logLoss, { resamples: 400, seed: 3 });
  assert.deepEqual(a, b);
  assert.equal(a.model, logLoss(y, good));
  assert.equal(a.baseline, logLoss(y, flat));
  assert.ok(a.estimate > 0, `the informed predictor is better: ${a.estimate}`);
  assert.ok(a.ci[0] > 0 && a.ci[0] < a.estimate && a.estimate < a.ci[1]);
});

test("resamples where the metric is undefined are counted and left out", () => {
  const y = new Float64Array(40);
  y[3] = 1; // one positive: many resamples miss it, and PR-AUC is NaN there
  const r0 = new Rng(1);
  const p = Float64Array.from(y, () => r0.uniform());
  const r = bootstrapMetric(y, p, undefined, prAuc, { resamples: 300, seed: 2 });
  assert.ok(r.undefinedResamples > 30 && r.undefinedResamples < 200, `${r.undefinedResamples}`);
  assert.ok(Number.isFinite(r.se) && Number.isFinite(r.ci[0]) && Number.isFinite(r.mean));
});

test("quantileSorted is numpy's linear interpolation; bad options throw", () => {
  const xs = [1, 2, 3, 4, 10];
  assert.equal(quantileSorted(xs, 0), 1);
  assert.equal(quantileSorted(xs, 1), 10);
  assert.equal(quantileSorted(xs, 0.5), 3);
  assert.ok(Math.abs(quantileSorted(xs, 0.9) - 7.6) < 1e-12); // np.quantile([1,2,3,4,10], 0.9)
  const y = [0, 1];
  const p = [0.2, 0.7];
  assert.throws(() => bootstrapMetric(y, p, undefined, logLoss, { seed: 1.5 }), /seed must be an integer/);
  assert.throws(() => bootstrapMetric(y, p, undefined, logLoss, { seed: 1, resamples: 1 }), /resamples/);
  assert.throws(() => bootstrapMetric(y, p, undefined, logLoss, { seed: 1, alpha: 1 }), /alpha/);
  assert.throws(() => bootstrapMetric(y, [0.1], undefined, logLoss, { seed: 1 }), /length mismatch/);
  assert.throws(() => bootstrapMetric([], [], undefined, logLoss, { seed: 1 }), /no rows/);
});
