/**
 * lib/metrics against scikit-learn reference values (read from test/fixtures/reference/, case by case)
 * and known answers computed by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import {
  ECE_BINNING,
  MetricInputError,
  calibrationRatio,
  calibrationRatioResult,
  evaluateSpaces,
  expectedCalibrationError,
  expectedCalibrationErrorResult,
  logLoss,
  logLossPerRow,
  logLossResult,
  normalizedEntropy,
  normalizedEntropyResult,
  prAuc,
  prAucResult,
  reliabilityCurve,
  rocAuc,
  rocAucResult,
} from "../lib/metrics";

interface MetricsCase {
  y: number[];
  p: number[];
  weight: number[];
  log_loss: number;
  log_loss_weighted: number;
  roc_auc: number;
  pr_auc_average_precision: number;
  pr_auc_average_precision_weighted: number;
}

const REFERENCE = path.join(FIXTURES_DIR, "reference", "stats_metrics_cases.json");
const cases: MetricsCase[] = JSON.parse(fs.readFileSync(REFERENCE, "utf8")).metrics;

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

test("reference file has metric cases, and even-numbered ones have tied predictions", () => {
  assert.ok(cases.length > 0);
  cases.forEach((c, i) => {
    assert.equal(c.p.length, c.y.length);
    assert.equal(c.weight.length, c.y.length);
    if (i % 2 === 0) assert.ok(new Set(c.p).size < c.p.length, `case ${i} should have ties`);
  });
});

test("log loss, ROC AUC and average precision match sklearn (unweighted and weighted) to 1e-9", () => {
  cases.forEach((c, i) => {
    close(logLoss(c.y, c.p), c.log_loss, 1e-9, `case ${i} log_loss`);
    close(logLoss(c.y, c.p, c.weight), c.log_loss_weighted, 1e-9, `case ${i} log_loss weighted`);
    close(rocAuc(c.y, c.p), c.roc_auc, 1e-9, `case ${i} roc_auc`);
    close(prAuc(c.y, c.p), c.pr_auc_average_precision, 1e-9, `case ${i} average_precision`);
    close(prAuc(c.y, c.p, c.weight), c.pr_auc_average_precision_weighted, 1e-9, `case ${i} average_precision weighted`);
  });
});

test("integer weights equal row replication (weighted ROC AUC, AP, log loss) on the reference cases", () => {
  // The reference file has no weighted ROC AUC; replication is the defining property of weights.
  cases.forEach((c, i) => {
    const y: number[] = [];
    const p: number[] = [];
    c.y.forEach((yi, r) => {
      for (let k = 0; k < c.weight[r]; k++) {
        y.push(yi);
        p.push(c.p[r]);
      }
    });
    close(rocAuc(c.y, c.p, c.weight), rocAuc(y, p), 1e-12, `case ${i} weighted roc_auc`);
    close(prAuc(c.y, c.p, c.weight), prAuc(y, p), 1e-12, `case ${i} weighted AP`);
    close(logLoss(c.y, c.p, c.weight), logLoss(y, p), 1e-12, `case ${i} weighted log loss`);
  });
});

test("logLossPerRow: its terms average to sklearn's log loss; written into a reused array, the same terms", () => {
  const scratch = new Float64Array(cases[0].y.length);
  cases.forEach((c, i) => {
    const terms = logLossPerRow(c.y, c.p);
    close(terms.reduce((a, b) => a + b, 0) / terms.length, c.log_loss, 1e-9, `case ${i} mean of the terms`);
    if (c.y.length !== scratch.length) return;
    scratch.fill(NaN);
    assert.equal(logLossPerRow(c.y, c.p, {}, scratch), scratch);
    assert.deepEqual([...scratch], [...terms]);
  });
  assert.throws(() => logLossPerRow([0, 1], [0.5, 0.5], {}, new Float64Array(3)), /into has 3 rows, y has 2/);
});

test("AUC known answers: perfect, reversed, all tied, sklearn's doc example", () => {
  const y = [0, 0, 1, 1];
  assert.equal(rocAuc(y, [0.1, 0.2, 0.8, 0.9]), 1);
  assert.equal(prAuc(y, [0.1, 0.2, 0.8, 0.9]), 1);
  assert.equal(rocAuc(y, [0.9, 0.8, 0.2, 0.1]), 0);
  assert.equal(rocAuc(y, [0.5, 0.5, 0.5, 0.5]), 0.5); // one tie group: the diagonal
  assert.equal(prAuc(y, [0.5, 0.5, 0.5, 0.5]), 0.5); // recall 0 -> 1 at precision 2/4
  // sklearn docstring examples: roc_auc_score = 0.75, average_precision_score = 0.8333...
  close(rocAuc(y, [0.1, 0.4, 0.35, 0.8]), 0.75, 1e-15, "doc roc_auc");
  close(prAuc(y, [0.1, 0.4, 0.35, 0.8]), 5 / 6, 1e-15, "doc AP");
  // A tie between a positive and a negative counts 1/2: pairs (pos,neg) = 4, wins 3 + one half.
  close(rocAuc([0, 0, 1, 1], [0.1, 0.6, 0.6, 0.9]), 3.5 / 4, 1e-15, "tie counts half");
  // AP with a tie group: thresholds 0.9 (1/1 pos), 0.6 (2/3 pos): 1/2*1 + 1/2*2/3.
  close(prAuc([0, 0, 1, 1], [0.1, 0.6, 0.6, 0.9]), 0.5 + 1 / 3, 1e-15, "AP tie group");
  // Weights: the negative at 0.6 weighs 3, so pair weight = positives 2 x negatives 4 = 8;
  // pos 0.9 beats both negatives (4), pos 0.6 beats 0.1 (1) and ties 0.6 (3 * 1/2): (4 + 1 + 1.5) / 8.
  close(rocAuc([0, 0, 1, 1], [0.1, 0.6, 0.6, 0.9], [1, 3, 1, 1]), 6.5 / 8, 1e-15, "weighted tie");
});

test("zero-weight rows are ignored", () => {
  const y = [0, 1, 0, 1, 1];
  const p = [0.2, 0.7, 0.4, 0.1, 0.99];
  const w = [1, 1, 1, 1, 0];
  const y4 = y.slice(0, 4);
  const p4 = p.slice(0, 4);
  assert.equal(rocAuc(y, p, w), rocAuc(y4, p4));
  assert.equal(prAuc(y, p, w), prAuc(y4, p4));
  assert.equal(logLoss(y, p, w), logLoss(y4, p4));
});

test("log loss clips p to [eps, 1 - eps] with float64 eps, as sklearn >= 1.5", () => {
  // -log(2^-52) = 52 ln 2: sklearn.metrics.log_loss([1], [0.0], labels=[0, 1])
  close(logLoss([1], [0]), 52 * Math.LN2, 1e-12, "p = 0, y = 1");
  close(logLoss([0], [1]), 52 * Math.LN2, 1e-12, "p = 1, y = 0");
  close(logLoss([1, 0], [1, 0]), -Math.log(1 - Number.EPSILON), 1e-30, "perfect predictions cost ~eps");
  close(logLoss([1], [0], undefined, { eps: 1e-15 }), -Math.log(1e-15), 1e-12, "custom eps");
  close(logLoss([1, 0], [0.8, 0.4]), -(Math.log(0.8) + Math.log(0.6)) / 2, 1e-15, "hand value");
  close(logLoss([1, 0], [0.8, 0.4], [3, 1]), -(3 * Math.log(0.8) + Math.log(0.6)) / 4, 1e-15, "weighted hand value");
});

test("normalized entropy: predicting the base rate scores 1; divides by the weighted base-rate entropy", () => {
  const y = [1, 0, 0, 0];
  close(normalizedEntropy(y, [0.25, 0.25, 0.25, 0.25]), 1, 1e-15, "base-rate predictor");
  const w = [3, 1, 1, 1]; // weighted base rate 1/2
  const p = [0.7, 0.2, 0.3, 0.1];
  close(normalizedEntropy(y, p, w), logLoss(y, p, w) / Math.LN2, 1e-15, "weighted NE");
  const single = normalizedEntropyResult([0, 0], [0.1, 0.2]);
  assert.ok(Number.isNaN(single.value));
  assert.match(single.reason!, /base rate/);
});

test("calibration ratio and ECE: hand-computed values", () => {
  const y = [0, 1, 0, 1];
  const p = [0.1, 0.2, 0.8, 0.9];
  close(calibrationRatio(y, p), 2 / 2, 1e-15, "ratio");
  close(calibrationRatio(y, p, [1, 2, 1, 1]), (0.1 + 0.4 + 0.8 + 0.9) / 3, 1e-15, "weighted ratio");
  // 2 equal-width bins: [0, .5) mean p .15 vs rate .5; [.5, 1] mean p .85 vs rate .5 -> ECE .35
  const halves = { bins: 2, strategy: "uniform" } as const;
  close(expectedCalibrationError(y, p, undefined, halves), 0.35, 1e-12, "ECE 2 bins");
  // Weighted, 2 equal-width bins: bin 0 weights (1, 3): mean p (0.1 + 0.6)/4 = .175, rate 3/4 -> |.575| * 4/6;
  // bin 1 weights (1, 1): mean p .85, rate .5 -> .35 * 2/6.
  close(expectedCalibrationError(y, p, [1, 3, 1, 1], halves), (0.575 * 4 + 0.35 * 2) / 6, 1e-12, "weighted ECE");
  // A bare 2 means 2 equal-mass bins: rows (.1, .2) and (.8, .9) here too (weights 1 each), so .35 again.
  close(expectedCalibrationError(y, p, undefined, 2), 0.35, 1e-12, "ECE 2 equal-mass bins");
  // Default 10 equal-mass bins: every row alone in its bin -> mean |p - y| = (.1 + .8 + .8 + .1) / 4
  close(expectedCalibrationError(y, p), 0.45, 1e-12, "ECE 10 bins");
  // A perfectly calibrated bin scores 0.
  close(expectedCalibrationError([1, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]), 0, 1e-15, "calibrated");
});

test("ECE: 10 equal-mass bins by default, which tell apart predictions that equal-width bins lump together", () => {
  // 20 rows, one conversion; ten rows predict .02, ten .08 (rates of the study's pCTCVR).
  // Equal width: all 20 rows in [0, .1): mean p .05 vs rate 1/20 = .05 -> ECE 0, whichever row converts.
  // Equal mass: each run of ties stays in one bin (bins 0 and 5 of 10), half the weight each.
  const p = [...Array<number>(10).fill(0.02), ...Array<number>(10).fill(0.08)];
  const ranked = p.map((_, i) => (i === 19 ? 1 : 0)); // converts among the .08 rows: |.02 - 0| / 2 + |.08 - .1| / 2 = .02
  const inverted = p.map((_, i) => (i === 0 ? 1 : 0)); // converts among the .02 rows: |.02 - .1| / 2 + |.08 - 0| / 2 = .08
  const equalWidth = { bins: 10, strategy: "uniform" } as const;
  close(expectedCalibrationError(ranked, p), 0.02, 1e-12, "equal-mass, ranked");
  close(expectedCalibrationError(inverted, p), 0.08, 1e-12, "equal-mass, inverted");
  close(expectedCalibrationError(ranked, p, undefined, equalWidth), 0, 1e-12, "equal-width, ranked");
  close(expectedCalibrationError(inverted, p, undefined, equalWidth), 0, 1e-12, "equal-width, inverted");
  assert.equal(expectedCalibrationError(inverted, p, undefined, 10), expectedCalibrationError(inverted, p), "a bare 10 is 10 equal-mass bins");
  assert.deepEqual(ECE_BINNING, { bins: 10, strategy: "quantile" });

  // Weights set the mass: four distinct predictions, weights (6, 2, 2, 2) of 12. Equal mass: bins
  // floor(10 * weightBefore / 12) = 0, 5, 6, 8, one row each -> sum w |p - y| / 12 = (6 * .01 + 2 * .97 + 2 * .05
  // + 2 * .07) / 12 = 2.24 / 12. Equal width: one bin, mean p .36 / 12 = .03 vs rate 2 / 12.
  const wy = [0, 1, 0, 0];
  const wp = [0.01, 0.03, 0.05, 0.07];
  const ww = [6, 2, 2, 2];
  close(expectedCalibrationError(wy, wp, ww), 2.24 / 12, 1e-12, "weighted equal-mass");
  close(expectedCalibrationError(wy, wp, ww, equalWidth), 2 / 12 - 0.03, 1e-12, "weighted equal-width");

  // evaluateSpaces reports the same equal-mass ECE in every space; eceBinning overrides it.
  const report = evaluateSpaces({ click: Array<number>(20).fill(1), conversion: inverted, pCtcvr: p, pCvr: p, pCtr: p.map(() => 0.5) });
  close(report.ctcvr.ece, 0.08, 1e-12, "CTCVR space");
  close(report.cvr!.ece, 0.08, 1e-12, "CVR space");
  close(report.ctr!.ece, 0.5, 1e-12, "CTR space: one tie run, |.5 - 1|");
  close(evaluateSpaces({ click: Array<number>(20).fill(1), conversion: inverted, pCtcvr: p }, { eceBinning: equalWidth }).ctcvr.ece, 0, 1e-12, "override");
});

test("reliability curve: equal-width edges k/B, p = 1 in the last bin, empty bins NaN", () => {
  const curve = reliabilityCurve([0, 1, 1, 0], [0, 0.3, 1, 0.29], undefined, 10);
  assert.equal(curve.length, 10);
  assert.deepEqual(
    curve.map((b) => b.count),
    [1, 0, 1, 1, 0, 0, 0, 0, 0, 1],
  );
  assert.equal(curve[3].lo, 0.3);
  assert.equal(curve[9].observedRate, 1);
  assert.ok(Number.isNaN(curve[1].meanPredicted) && curve[1].weight === 0);
  const withWeights = reliabilityCurve([1, 0], [0.95, 0.96], [2, 6], 10);
  assert.equal(withWeights[9].weight, 8);
  close(withWeights[9].observedRate, 0.25, 1e-15, "weighted rate");
  close(withWeights[9].meanPredicted, (2 * 0.95 + 6 * 0.96) / 8, 1e-15, "weighted mean p");
});

test("reliability curve: equal-mass (quantile) bins keep ties together", () => {
  const p = [0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
  const y = [0, 0, 1, 0, 1, 0, 1, 1];
  const curve = reliabilityCurve(y, p, undefined, { bins: 4, strategy: "quantile" });
  assert.deepEqual(
    curve.map((b) => b.count),
    [3, 1, 2, 2],
  );
  assert.deepEqual([curve[0].lo, curve[0].hi], [0.1, 0.2]);
  // Weighted: the first row carries half the mass, so it fills the first bin of 2 alone.
  const weighted = reliabilityCurve([0, 1, 1], [0.1, 0.5, 0.9], [2, 1, 1], { bins: 2, strategy: "quantile" });
  assert.deepEqual(
    weighted.map((b) => b.count),
    [1, 2],
  );
  const ece = expectedCalibrationError(y, p, undefined, { bins: 4, strategy: "quantile" });
  const expected = curve.reduce((s, b) => s + (b.weight / 8) * Math.abs(b.meanPredicted - b.observedRate), 0);
  close(ece, expected, 1e-15, "quantile ECE");
});

test("undefined metrics return NaN with a reason instead of throwing", () => {
  for (const r of [rocAucResult([1, 1], [0.2, 0.3]), rocAucResult([0, 0], [0.2, 0.3])]) {
    assert.ok(Number.isNaN(r.value));
    assert.match(r.reason!, /one class/);
  }
  assert.ok(Number.isNaN(rocAuc([0, 0], [0.2, 0.3])));
  const noPos = prAucResult([0, 0], [0.2, 0.3]);
  assert.ok(Number.isNaN(noPos.value));
  assert.match(noPos.reason!, /no positive/);
  assert.equal(prAuc([1, 1], [0.2, 0.3]), 1); // all positives: precision 1 everywhere, as sklearn
  for (const r of [logLossResult([], []), rocAucResult([], []), prAucResult([], []), calibrationRatioResult([], []), expectedCalibrationErrorResult([], [])]) {
    assert.ok(Number.isNaN(r.value));
    assert.match(r.reason!, /empty/);
  }
  const zeroWeight = logLossResult([0, 1], [0.2, 0.3], [0, 0]);
  assert.ok(Number.isNaN(zeroWeight.value));
  assert.match(zeroWeight.reason!, /weight is zero/);
  assert.match(calibrationRatioResult([0, 0], [0.1, 0.1]).reason!, /no positive/);
  // Defined values carry no reason.
  assert.deepEqual(rocAucResult([0, 1], [0.2, 0.3]), { value: 1 });
  // Log loss is defined on one class (sklearn would need labels=[0, 1]).
  close(logLoss([0, 0], [0.5, 0.5]), Math.LN2, 1e-15, "single-class log loss");
});

test("invalid input throws a clear MetricInputError", () => {
  assert.throws(() => logLoss([0, 1], [0.5]), (e: Error) => e instanceof MetricInputError && /length mismatch/.test(e.message));
  assert.throws(() => rocAuc([0, 1], [0.5, 0.5], [1]), /length mismatch: y has 2 values, w has 1/);
  assert.throws(() => prAuc([0, 1], [0.5, 1.2]), /p\[1\] = 1.2 is outside \[0, 1\]/);
  assert.throws(() => logLoss([0, 1], [0.5, NaN]), /outside \[0, 1\]/);
  assert.throws(() => calibrationRatio([0, 1], [-0.1, 0.5]), /outside/);
  assert.throws(() => logLoss([0, 1], [0.5, 0.5], [1, -1]), /w\[1\] = -1 is not a finite non-negative weight/);
  assert.throws(() => rocAuc([0, 2], [0.5, 0.5]), /y\[1\] = 2 is not a 0\/1 label/);
  assert.throws(() => expectedCalibrationError([0, 1], [0.5, 0.5], undefined, 0), /bins must be a positive integer/);
});

test("evaluateSpaces: CTCVR over impressions, CVR over clicks, CTR over impressions", () => {
  const click = [1, 1, 1, 0, 0, 1, 0, 0];
  const conversion = [1, 0, 0, 0, 0, 1, 0, 0];
  const weight = [1, 1, 1, 4, 4, 1, 4, 4];
  const pCtr = [0.9, 0.6, 0.5, 0.2, 0.3, 0.7, 0.1, 0.4];
  const pCvr = [0.5, 0.2, 0.3, 0.9, 0.1, 0.4, 0.8, 0.2];
  const pCtcvr = pCtr.map((c, i) => c * pCvr[i]);
  const report = evaluateSpaces({ click, conversion, weight, pCtr, pCvr, pCtcvr });

  const ctcvr = report.ctcvr;
  assert.equal(ctcvr.count, 8);
  assert.equal(ctcvr.weightedCount, 20);
  assert.equal(ctcvr.positives, 2);
  assert.equal(ctcvr.weightedPositives, 2);
  assert.equal(ctcvr.rocAuc, rocAuc(conversion, pCtcvr, weight));
  assert.equal(ctcvr.logLoss, logLoss(conversion, pCtcvr, weight));

  const cvr = report.cvr!;
  const clicked = [0, 1, 2, 5];
  assert.equal(cvr.count, 4);
  assert.equal(cvr.positives, 2);
  assert.equal(
    cvr.rocAuc,
    rocAuc(
      clicked.map((i) => conversion[i]),
      clicked.map((i) => pCvr[i]),
    ),
  );
  assert.equal(cvr.rocAuc, 1); // converted clicks have pCvr .5, .4 above .2, .3
  assert.equal(cvr.calibrationRatio, (0.5 + 0.2 + 0.3 + 0.4) / 2);

  const ctr = report.ctr!;
  assert.equal(ctr.count, 8);
  assert.equal(ctr.weightedPositives, 4);
  assert.equal(ctr.prAuc, prAuc(click, pCtr, weight));
  assert.equal(ctr.ece, expectedCalibrationError(click, pCtr, weight));
  assert.equal(ctr.normalizedEntropy, normalizedEntropy(click, pCtr, weight));
  assert.deepEqual(ctr.undefinedReasons, {});
});

test("evaluateSpaces: absent predictions omit their space; undefined metrics list their reasons", () => {
  const report = evaluateSpaces({ click: [1, 0, 1], conversion: [0, 0, 0], pCtcvr: [0.1, 0.2, 0.05] });
  assert.equal(report.ctr, undefined);
  assert.equal(report.cvr, undefined);
  assert.ok(Number.isNaN(report.ctcvr.rocAuc));
  assert.match(report.ctcvr.undefinedReasons.rocAuc!, /one class/);
  assert.match(report.ctcvr.undefinedReasons.prAuc!, /no positive/);
  assert.equal(report.ctcvr.undefinedReasons.logLoss, undefined);
  // A conversion without a click is not a CTCVR positive.
  const odd = evaluateSpaces({ click: [0, 1], conversion: [1, 0], pCtcvr: [0.5, 0.5] });
  assert.equal(odd.ctcvr.positives, 0);
  assert.throws(() => evaluateSpaces({ click: [0, 1], conversion: [0], pCtcvr: [0.5, 0.5] }), /conversion has 1/);
  assert.throws(() => evaluateSpaces({ click: [0, 2], conversion: [0, 0], pCtcvr: [0.5, 0.5] }), /not 0\/1/);
});
