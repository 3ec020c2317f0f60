/**
 * A study record's `test` and `reliability` in one pass (lib/study/run.ts scoreTestWithReliability: the reliability
 * curve taken from the CTCVR space's ECE bins, one sort of pCTCVR) equal their definitions bit for bit: the score
 * of scoreSplit with the folds, and testReliability (reliabilityCurve of the CTCVR label, sorting on its own), on
 * random test days with ties, -0, zero and downsampling weights, and days with no conversion. A curve with one
 * field one ulp away is told apart by the same comparison (so the comparison can fail).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { labelOnlySplit, type EncodedSplit } from "../lib/data/encoded";
import { Rng } from "../lib/data/random";
import type { ReliabilityBin } from "../lib/metrics";
import { scoreSplit, scoreTestWithReliability, testReliability } from "../lib/study/run";
import type { Predictions } from "../lib/train/evaluate";

/** A test day of n rows: labels, weights 1 / 10 / 0, simulator truth, and float32 predictions from a few levels (ties). */
function randomDay(rng: Rng, n: number, conversionRate: number): { split: EncodedSplit; preds: Predictions } {
  const click = new Float32Array(n);
  const conversion = new Float32Array(n);
  const weight = new Float32Array(n);
  const pClick = new Float64Array(n);
  const pConv = new Float64Array(n);
  const levels = 1 + rng.int(rng.bernoulli(0.5) ? 20 : 3000);
  const level = Float64Array.from({ length: levels }, (_, k) => (k === 0 ? 0 : Math.fround(rng.uniform() * 0.2)));
  const pick = () => {
    const v = level[rng.int(levels)];
    return v === 0 && rng.bernoulli(0.5) ? -0 : v;
  };
  const pCtr = new Float64Array(n);
  const pCvr = new Float64Array(n);
  const pCtcvr = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    pClick[i] = 0.02 + 0.3 * rng.uniform();
    pConv[i] = 0.05 + 0.3 * rng.uniform();
    click[i] = rng.bernoulli(pClick[i]) ? 1 : 0;
    conversion[i] = click[i] === 1 && rng.bernoulli(conversionRate) ? 1 : 0;
    weight[i] = click[i] === 1 ? 1 : rng.bernoulli(0.05) ? 0 : 10;
    pCtr[i] = pick();
    pCvr[i] = pick();
    pCtcvr[i] = pick();
  }
  const day = Int32Array.from({ length: n }, (_, i) => 12 + Math.floor((3 * i) / n));
  return { split: labelOnlySplit("test", { click, conversion, weight, day, truth: { pClick, pConversionGivenClick: pConv } }), preds: { pCtr, pCvr, pCtcvr } };
}

/** Where two curves differ (a field not the same double, Object.is), or undefined when they are equal bit for bit. */
function curveDifference(a: ReliabilityBin[], b: ReliabilityBin[]): string | undefined {
  if (a.length !== b.length) return `${a.length} bins against ${b.length}`;
  for (let k = 0; k < a.length; k++) {
    for (const field of ["lo", "hi", "count", "weight", "meanPredicted", "observedRate"] as const) {
      if (!Object.is(a[k][field], b[k][field])) return `bin ${k} ${field}: ${a[k][field]} against ${b[k][field]}`;
    }
  }
  return undefined;
}

test("scoreTestWithReliability: the record's test score and reliability curve equal scoreSplit (with folds) and testReliability bit for bit", () => {
  const rng = new Rng(20261206);
  for (let trial = 0; trial < 40; trial++) {
    const { split, preds } = randomDay(rng, 1 + rng.int(4000), trial % 10 === 0 ? 0 : 0.3);
    const both = scoreTestWithReliability(split, preds);
    const what = `trial ${trial} (${split.size} rows)`;
    assert.equal(JSON.stringify(both.test), JSON.stringify(scoreSplit(split, preds, { folds: true })), `${what}: test score`);
    const reference = testReliability(split, preds.pCtcvr);
    assert.equal(curveDifference(both.reliability, reference), undefined, `${what}: reliability`);
    assert.ok(both.reliability.length >= 1, `${what}: a curve`);
    // The comparison sees one field of one bin one ulp away (a planted difference fails).
    const planted = reference.map((b) => ({ ...b }));
    const bin = planted[rng.int(planted.length)];
    const field = (["lo", "hi", "count", "weight", "meanPredicted", "observedRate"] as const)[rng.int(6)];
    const x = bin[field];
    bin[field] = Number.isNaN(x) ? 0 : x === 0 ? Number.MIN_VALUE : x + Math.abs(x) * 2 ** -52;
    assert.notEqual(curveDifference(both.reliability, planted), undefined, `${what}: ${field} one ulp away went unseen`);
  }
});
