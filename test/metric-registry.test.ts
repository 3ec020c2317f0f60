/**
 * The one metric registry (lib/analysis/metrics.ts) against what a study record carries and what its readers
 * defined before it:
 * - every metric field of a record as the runner scores it (run.ts scoreTest on simulated rows with the truth,
 *   through JSON as the results file stores it) is a registry entry, read back by metricValue, and every entry
 *   is in such a record (no row the records lack);
 * - each row's `compute` (the lib/metrics function) gives the recorded value on the space's rows;
 * - the tables it replaced (summary.ts METRIC_DIRECTIONS, METRIC_LABELS, MECHANISM_METRICS and STUDY_SPACES;
 *   protocol.ts selectionScore's ctcvr.logLoss; mechanism.ts's columns) agree with it, copied here as they were;
 * - unknown names get one line naming the known ones; a metric without a better direction is refused unless
 *   given one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rng, simulatedLabelSplit } from "./helpers";
import type { EncodedSplit } from "../lib/data/encoded";
import { EVALUATION_SPACES, SPACE_NAMES, spaceColumns } from "../lib/metrics";
import { METRICS, METRIC_ENTRIES, metricEntry, metricRef, metricValue } from "../lib/analysis/metrics";
import { scoreTest } from "../lib/study/run";
import { mechanismSummary } from "../lib/study/mechanism";
import type { StudyRecord } from "../lib/study/results";
import { STUDY_SPACES, parseMetric, summarizeStudy } from "../lib/study/summary";
import { SELECTION_METRIC, selectionScore } from "../lib/tune/protocol";

const simulatedSplit = simulatedLabelSplit;

/** A model's predictions: the truth blurred by seeded noise (so no metric is at its ideal value). */
function predictions(split: EncodedSplit, seed: number) {
  const u = rng(seed);
  const { pClick, pConversionGivenClick } = split.truth!;
  const blur = (p: number) => Math.min(0.99, Math.max(0.01, p * (0.6 + 0.8 * u())));
  const pCtr = Float64Array.from(pClick, blur);
  const pCvr = Float64Array.from(pConversionGivenClick, blur);
  return { pCtr, pCvr, pCtcvr: pCtr.map((c, i) => c * pCvr[i]) };
}

// What a record's split score carries beside its metrics (the registry's header): its space, counts, weights, reasons, the floor.
const SPACE_NOT_METRICS = new Set(["space", "count", "weightedCount", "positives", "weightedPositives", "undefinedReasons"]);
const MECHANISM_NOT_METRICS = new Set(["rows", "weight", "entropy"]);

test("the registry covers every metric a scored record carries, and each of its entries is in the record", () => {
  const split = simulatedSplit(600, 5);
  const preds = predictions(split, 6);
  const score = JSON.parse(JSON.stringify(scoreTest(split, preds))); // as the results file stores it
  const seen: string[] = [];
  for (const space of Object.keys(score.metrics)) {
    for (const [key, value] of Object.entries(score.metrics[space] as Record<string, unknown>)) {
      if (SPACE_NOT_METRICS.has(key)) continue;
      const e = metricEntry(`${space}.${key}`); // throws for a field the registry lacks
      assert.equal(metricValue(score, e), value, `${e.metric}`);
      seen.push(e.metric);
    }
  }
  for (const subset of Object.keys(score.mechanism.cvr)) {
    for (const [key, value] of Object.entries(score.mechanism.cvr[subset] as Record<string, unknown>)) {
      if (MECHANISM_NOT_METRICS.has(key)) continue;
      const e = METRIC_ENTRIES.find((x) => x.row.kind === "mechanism" && x.row.subset === subset && x.row.quantity === key);
      assert.ok(e, `mechanism.cvr.${subset}.${key} has no registry row`);
      assert.equal(metricValue(score, e!), value, e!.metric);
      seen.push(e!.metric);
    }
  }
  assert.deepEqual([...seen].sort(), METRIC_ENTRIES.map((e) => e.metric).sort(), "the record's metrics are exactly the registry's entries");
  for (const e of METRIC_ENTRIES) assert.ok(Number.isFinite(metricValue(score, e)), `${e.metric} is defined on these rows`);
  assert.equal(METRIC_ENTRIES.length, 3 * 6 + 6);
});

test("each row's compute is the recorded value: the space's rows for a space metric, every row for a mechanism metric", () => {
  const split = simulatedSplit(600, 7);
  const preds = predictions(split, 8);
  const score = scoreTest(split, preds);
  for (const e of METRIC_ENTRIES) {
    const recorded = metricValue(score, e);
    let computed: number;
    if (e.row.kind === "space") {
      const space = EVALUATION_SPACES[e.space];
      const { y, p, w } = spaceColumns(space, split.click, split.conversion, preds[space.prediction], split.weight);
      computed = e.row.compute(y, p, w);
    } else {
      computed = e.row.compute({ click: split.click, weight: split.weight, pCvr: preds.pCvr, pConversionGivenClick: split.truth!.pConversionGivenClick });
    }
    // evaluateSpace shares one sort between the AUCs and the ECE; each value is its own function's (metrics-one-pass)
    assert.ok(Math.abs(computed - recorded) <= 1e-12 * Math.max(1, Math.abs(recorded)), `${e.metric}: compute ${computed}, recorded ${recorded}`);
  }
});

test("the tables the registry replaced agree with it", () => {
  // lib/study/summary.ts before the registry
  const METRIC_DIRECTIONS: Record<string, "lower" | "higher"> = { logLoss: "lower", normalizedEntropy: "lower", ece: "lower", rocAuc: "higher", prAuc: "higher" };
  const METRIC_LABELS: Record<string, string> = { logLoss: "cross-entropy", normalizedEntropy: "normalized entropy", ece: "ECE", rocAuc: "ROC-AUC", prAuc: "PR-AUC", calibrationRatio: "calibration ratio" };
  const MECHANISM_METRICS = {
    nonClickedKl: { subset: "nonClicked", quantity: "kl", label: "CVR bias on non-clicked impressions (KL to the truth)" },
    clickedKl: { subset: "clicked", quantity: "kl", label: "CVR fit on clicked impressions (KL to the truth)" },
  };
  assert.deepEqual(STUDY_SPACES, ["ctcvr", "cvr", "ctr"]);
  assert.deepEqual(SPACE_NAMES, ["ctcvr", "cvr", "ctr"]);
  const spaceRows = METRICS.filter((r) => r.kind === "space");
  assert.deepEqual(spaceRows.map((r) => r.name).sort(), Object.keys(METRIC_LABELS).sort());
  for (const r of spaceRows) {
    const direction = r.direction;
    assert.equal(r.label, METRIC_LABELS[r.name], r.name);
    assert.equal(r.direction, METRIC_DIRECTIONS[r.name] ?? "one", r.name); // calibrationRatio had no direction
    for (const space of STUDY_SPACES) {
      const ref = parseMetric(`${space}.${r.name}`, direction === "one" ? false : undefined);
      assert.equal(ref.higherIsBetter, METRIC_DIRECTIONS[r.name] === "higher", ref.metric);
      assert.equal(ref.label, `${space.toUpperCase()} ${METRIC_LABELS[r.name]}`);
    }
  }
  for (const [name, m] of Object.entries(MECHANISM_METRICS)) {
    assert.deepEqual(metricRef(`mechanism.${name}`), { metric: `mechanism.${name}`, space: "cvr", name, higherIsBetter: false, label: m.label, mechanism: { subset: m.subset, quantity: m.quantity } });
  }
  // lib/tune/protocol.ts selectionScore read test.metrics.ctcvr.logLoss (NaN when absent or null)
  assert.equal(SELECTION_METRIC, "ctcvr.logLoss");
  assert.equal(metricRef(SELECTION_METRIC).higherIsBetter, false, "selection keeps the lowest");
  assert.equal(selectionScore({ test: { metrics: { ctcvr: { logLoss: 0.0123 } } } }), 0.0123);
  assert.ok(Number.isNaN(selectionScore({ test: { metrics: { ctcvr: { logLoss: null } } } } as never)));
  assert.ok(Number.isNaN(selectionScore({})));
});

test("mechanismSummary reads the registry's mechanism columns: mean and se over runs, models without them left out", () => {
  const rec = (model: string, kl: number, cal: number): StudyRecord =>
    ({ model, test: { metrics: { ctcvr: { logLoss: 0.01 } }, mechanism: { cvr: { clicked: { kl: kl / 2, calibration: cal - 0.1 }, nonClicked: { kl, calibration: cal } } } } }) as unknown as StudyRecord;
  const records = [rec("ESMM", 0.01, 1.1), rec("ESMM", 0.03, 1.3), rec("ESMM", 0.02, 1.2), { model: "ESP", test: { metrics: { ctcvr: { logLoss: 0.01 } } } } as unknown as StudyRecord];
  const [row, ...rest] = mechanismSummary(records);
  assert.equal(rest.length, 0, "ESP has no pCVR: no row");
  assert.equal(row.runs, 3);
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-15, `${what}: ${a} vs ${b}`);
  // values 0.01, 0.02, 0.03: mean 0.02, sd 0.01, se 0.01 / sqrt(3)
  close(row.nonClickedKl.mean, 0.02, "nonClickedKl mean");
  close(row.nonClickedKl.se, 0.01 / Math.sqrt(3), "nonClickedKl se");
  close(row.clickedKl.mean, 0.01, "clickedKl mean");
  close(row.nonClickedCalibration.mean, 1.2, "nonClickedCalibration mean");
  close(row.clickedCalibration.mean, 1.1, "clickedCalibration mean");
  close(row.nonClickedCalibration.se, 0.1 / Math.sqrt(3), "nonClickedCalibration se");
});

test("unknown names: one line naming the known metrics; no direction: refused unless given one", () => {
  for (const bad of ["ctcvr.frobnicate", "logLoss", "mechanism.nonClickedBias", "ctr"]) {
    assert.throws(
      () => metricEntry(bad),
      (e: unknown) => {
        const m = (e as Error).message;
        assert.ok(!m.includes("\n"), "one line");
        assert.ok(m.startsWith(`unknown metric "${bad}": metrics are "space.metric" with space ctcvr, cvr, ctr and metric logLoss, normalizedEntropy, rocAuc, prAuc, ece, calibrationRatio; or mechanism.nonClickedKl, `), m);
        for (const r of METRICS) assert.ok(m.includes(r.name), `${r.name} listed`);
        return true;
      },
    );
  }
  assert.throws(() => metricRef("cvr.calibrationRatio"), /^Error: metric "cvr\.calibrationRatio" has no better direction \(1 is ideal\): use calibrationSummary/);
  assert.throws(() => metricRef("mechanism.nonClickedCalibration"), /no better direction/);
  assert.equal(metricRef("cvr.calibrationRatio", false).higherIsBetter, false);
  // an unknown name is refused even with a direction (it used to read whatever field the record had)
  assert.throws(() => summarizeStudy([], { metric: "ctcvr.frobnicate", higherIsBetter: true }), /unknown metric "ctcvr\.frobnicate"/);
});
