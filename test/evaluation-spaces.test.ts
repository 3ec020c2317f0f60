/**
 * The one table of evaluation spaces (lib/metrics EVALUATION_SPACES) and its three readers agreeing on it:
 * the reported metrics (evaluateSpaces), the trainer's log losses (splitLosses) and the oracle (oracleOf).
 * A model that predicts the simulator's true probabilities scores the oracle's cross-entropy in every space.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { simulatedLabelSplit } from "./helpers";
import { labelOnlySplit, type EncodedSplit } from "../lib/data/encoded";
import { EVALUATION_SPACES, evaluateSpaces, SPACE_NAMES } from "../lib/metrics";
import { oracleOf } from "../lib/study/run";
import { Predictions, splitLosses } from "../lib/train/evaluate";

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

test("EVALUATION_SPACES: label, rows, prediction and truth of ctcvr, cvr, ctr", () => {
  assert.deepEqual(SPACE_NAMES, ["ctcvr", "cvr", "ctr"]);
  const labels = (name: keyof typeof EVALUATION_SPACES) =>
    [[0, 0], [0, 1], [1, 0], [1, 1]].map(([click, conversion]) => EVALUATION_SPACES[name].label(click, conversion));
  assert.deepEqual(labels("ctcvr"), [0, 0, 0, 1]); // a conversion without a click does not count
  assert.deepEqual(labels("cvr"), [0, 1, 0, 1]);
  assert.deepEqual(labels("ctr"), [0, 0, 1, 1]);
  assert.deepEqual(SPACE_NAMES.map((s) => EVALUATION_SPACES[s].rows), ["impressions", "clicks", "impressions"]);
  assert.deepEqual(SPACE_NAMES.map((s) => EVALUATION_SPACES[s].prediction), ["pCtcvr", "pCvr", "pCtr"]);
  assert.deepEqual(SPACE_NAMES.map((s) => EVALUATION_SPACES[s].truth(0.2, 0.5)), [0.1, 0.5, 0.2]);
});

const simulatedSplit = simulatedLabelSplit;

test("the oracle is the true probabilities scored as predictions by evaluateSpaces and splitLosses, in every space", () => {
  const split = simulatedSplit(400, 13);
  const { pClick, pConversionGivenClick } = split.truth!;
  const truthAsPredictions = (name: keyof typeof EVALUATION_SPACES) => Float64Array.from(pClick, (pc, i) => EVALUATION_SPACES[name].truth(pc, pConversionGivenClick[i]));
  const preds: Predictions = { pCtcvr: truthAsPredictions("ctcvr"), pCvr: truthAsPredictions("cvr"), pCtr: truthAsPredictions("ctr") };
  const report = evaluateSpaces({ click: split.click, conversion: split.conversion, weight: split.weight, ...preds });
  const losses = splitLosses(split, preds);
  const oracle = oracleOf(split)!;
  const clicks = split.click.reduce((s, c) => s + c, 0);
  assert.ok(clicks > 20 && clicks < 400, `clicks ${clicks}`);
  assert.equal(report.cvr!.count, clicks, "cvr: the clicked rows only");
  assert.equal(report.ctr!.count, split.size);
  for (const name of SPACE_NAMES) {
    const metrics = report[name]!;
    // Same rows, labels and weights: the trainer's loss is the reported log loss exactly.
    assert.equal(losses[name], metrics.logLoss, `${name}: splitLosses vs evaluateSpaces`);
    // The oracle differs only in its unclipped log1p form.
    close(oracle[name], metrics.logLoss, 1e-12, `${name}: oracleOf vs evaluateSpaces on the truth`);
  }
});

test("labelOnlySplit: a split of labels only, with default weights and days; a column of another length is refused", () => {
  const split = labelOnlySplit("test", { click: Float32Array.of(1, 0, 1), conversion: Float32Array.of(1, 0, 0) });
  assert.equal(split.size, 3);
  assert.deepEqual([...split.weight], [1, 1, 1]);
  assert.deepEqual([...split.day], [0, 0, 0]);
  assert.equal(split.truth, undefined);
  assert.deepEqual(split.categoricalFields, []);
  assert.throws(
    () => labelOnlySplit("test", { click: Float32Array.of(1, 0), conversion: Float32Array.of(1, 0), weight: Float32Array.of(1) }),
    /labelOnlySplit: weight has 1 rows, click has 2/,
  );
});
