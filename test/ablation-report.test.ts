/**
 * lib/views/ablation-report.ts, notebook 03's views, on small hand-made studies and records with the rows, text and
 * figure traces written out: each function only shapes data (the simulator's defaults, 2,000,000 impressions over 15
 * days and multipliers 1, fill what a study leaves unset; times summed by hand: 90 s + 30 s = 2.0 min).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { StudySpec } from "../lib/study/spec";
import { AblationRecordLike, designRows, runRows, runsCaption, runsFigure, studyLine, timeLine } from "../lib/views/ablation-report";

const data = { simulator: {}, simulatorSeed: 7, prepareSeed: 3, negativeKeepRate: 0.1, laterDays: 0 };
const spec = (over: Partial<StudySpec> = {}): StudySpec => ({ name: "default-study", models: ["IP", "ESMM"], seeds: [1, 2, 3], data, ...over }) as StudySpec;
const train = { lossNormalization: "batch-weight" as const, maxEpochs: 10, patience: 2 };

test("studyLine: models x worlds x draws x seeds, the worlds and draws defaulting to the data's seeds", () => {
  assert.equal(
    studyLine(spec({ worlds: [7, 8], draws: [3, 4, 5] }), { profile: "full", gridRuns: 36, results: "runs/default-study.jsonl" }),
    'profile full: study "default-study", 2 models x 2 worlds x 3 draws x 3 seeds = 36 runs; results in runs/default-study.jsonl',
  );
  assert.equal(studyLine(spec(), { profile: "quick", gridRuns: 6, results: "r.jsonl" }), 'profile quick: study "default-study", 2 models x 1 worlds x 1 draws x 3 seeds = 6 runs; results in r.jsonl');
});

test("designRows: the study's settings, the simulator's defaults where it sets none, later days as the test day unless set", () => {
  assert.deepEqual(designRows(spec(), train, { workers: 2 }), [
    { setting: "models", value: "IP, ESMM" },
    { setting: "worlds (simulator seeds)", value: "7" },
    { setting: "downsampling draws (seeds)", value: "3" },
    { setting: "model seeds", value: "1, 2, 3" },
    { setting: "impressions / days (training days as in this log)", value: "2,000,000 / 15" },
    { setting: "test day x (later days x)", value: "1 (1)" },
    { setting: "negative keep rate (weight 1/r)", value: 0.1 },
    { setting: "loss normalisation", value: "batch-weight" },
    { setting: "max epochs / patience", value: "10 / 2" },
    { setting: "worker processes", value: 2 },
  ]);
  const sized = (simulator: object) => designRows(spec({ worlds: [7, 8], draws: [3, 4], data: { ...data, simulator } }), { ...train, maxEpochs: 1 }, { workers: 1 });
  const value = (rows: { setting: string; value: string | number }[], setting: string) => rows.find((r) => r.setting === setting)?.value;
  const big = sized({ impressions: 100_000, days: 5, evaluationMultiplier: 10 });
  assert.equal(value(big, "worlds (simulator seeds)"), "7, 8");
  assert.equal(value(big, "downsampling draws (seeds)"), "3, 4");
  assert.equal(value(big, "impressions / days (training days as in this log)"), "100,000 / 5");
  assert.equal(value(big, "test day x (later days x)"), "10 (10)");
  assert.equal(value(big, "max epochs / patience"), "1 / 2");
  assert.equal(value(sized({ evaluationMultiplier: 10, laterDaysMultiplier: 2 }), "test day x (later days x)"), "10 (2)");
});

function record(model: string, seed: number, logLoss: number, oracle?: number): AblationRecordLike {
  return {
    model,
    seed,
    backend: "tensorflow",
    config: { data: { simulatorSeed: 7, prepareSeed: 3 } },
    test: { days: [13], rows: 133_334, conversions: 35, ...(oracle === undefined ? {} : { oracle: { ctcvr: oracle } }), metrics: { ctcvr: { logLoss, prAuc: 0.02 } } },
    training: { bestEpoch: 4, parameters: { total: 36_386 } },
    timings: { trainSeconds: 80, totalSeconds: 90 - 60 * (seed - 1) },
  };
}

test("runRows, runsCaption: one row per run (the oracle's cross-entropy when the record has one); the caption's test day from the first record", () => {
  const records = [record("IP", 1, 0.012, 0.011), record("ESMM", 2, 0.013)];
  assert.deepEqual(runRows(records), [
    { world: 7, draw: 3, model: "IP", seed: 1, ctcvr_log_loss: 0.012, oracle: 0.011, ctcvr_pr_auc: 0.02, best_epoch: 4, parameters: 36_386, train_seconds: 80, backend: "tensorflow", test_conversions: 35 },
    { world: 7, draw: 3, model: "ESMM", seed: 2, ctcvr_log_loss: 0.013, oracle: undefined, ctcvr_pr_auc: 0.02, best_epoch: 4, parameters: 36_386, train_seconds: 80, backend: "tensorflow", test_conversions: 35 },
  ]);
  assert.equal(runsCaption(records, 6), "2 of 6 runs (test day 13, 133,334 impressions per replicate)");
});

test("runsFigure: one box of points per model, in the models' order, each run's cross-entropy", () => {
  const records = [record("IP", 1, 0.012), record("ESMM", 1, 0.013), record("IP", 2, 0.0125)];
  const data = runsFigure(["ESMM", "IP", "ESP"], records).data as { type: string; name: string; y: number[]; boxpoints: string }[];
  assert.deepEqual(data.map((t) => [t.type, t.name, t.y, t.boxpoints]), [["box", "ESMM", [0.013], "all"], ["box", "IP", [0.012, 0.0125], "all"], ["box", "ESP", [], "all"]]);
});

test("timeLine: training and scoring summed over the runs, the session's wall time and its workers ('no' when none ran)", () => {
  const records = [record("IP", 1, 0.012), record("ESMM", 2, 0.013)]; // 90 s and 30 s
  assert.equal(timeLine(records, { wallSeconds: 75, workers: 2 }), "total training + scoring time over runs: 2.0 min; this session's wall time: 1.3 min on 2 worker(s)");
  assert.equal(timeLine(records, { wallSeconds: 0.6, workers: 0 }), "total training + scoring time over runs: 2.0 min; this session's wall time: 0.0 min on no worker(s)");
});
