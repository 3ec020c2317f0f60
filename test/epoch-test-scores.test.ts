/**
 * TrainConfig.testEveryEpoch (lib/train/trainer.ts): the test split scored after every epoch, a measurement that
 * must never reach training. With and without it, on a small simulated log, the chosen epoch, the test
 * predictions (bit for bit) and the final test metrics are the same; each epoch record holds the test scores of
 * that epoch's weights, so the chosen epoch's entry equals the record's final test metrics exactly (a one-unit
 * model restores that epoch's weights), and without restoreBest the last epoch's does. Absent or false names the
 * same run key as today; a bad value is one clear line.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { defaultSplitPlan, prepare, PreparedData } from "../lib/data/prepare";
import { readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { buildModel, getModelSpec, inputDimsOf } from "../lib/models";
import { runModel, runSeeds, RunRecord } from "../lib/study/run";
import { canonicalJson, computation } from "../lib/study/results";
import { expandGrid } from "../lib/study/spec";
import { studyProfile } from "../lib/study";
import { checkStudySpec } from "../lib/study/spec-check";
import { DEFAULT_TRAIN_CONFIG, Predictions, resolveTrainConfig, trainModel, TrainOptions } from "../lib/train";
import { tempDir, trainingBackend } from "./helpers";

let data: PreparedData;
// patience 1 over up to 5 epochs of 256-row batches at a high rate: the runs stop early and restore an earlier epoch
const TRAIN: TrainOptions = { maxEpochs: 5, patience: 1, learningRate: 1e-2, batchSize: 256 };

before(async () => {
  await trainingBackend();
  const dir = tempDir();
  writeSimulatedLog({ impressions: 30_000, days: 8, users: 300, ads: 80, targetCtr: 0.05, targetCvr: 0.15 }, 3, dir);
  data = prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(8), negativeKeepRate: 0.3, seed: 3 });
});

/** A run's record and its test predictions. */
async function run(model: string, train: TrainOptions): Promise<{ record: RunRecord; preds: Predictions }> {
  let preds: Predictions | undefined;
  const record = await runModel(data, { model, seed: 1, train, onTestPredictions: (p) => (preds = p) });
  return { record, preds: preds! };
}

/** The record without what the option adds or what is a clock reading (timings, per-epoch test scores). */
function comparable(r: RunRecord): unknown {
  const { timings: _t, epochs, config, ...training } = r.training;
  void _t;
  const { testEveryEpoch: _o, ...rest } = config;
  void _o;
  return {
    training: { ...training, config: rest, epochs: epochs.map(({ trainSeconds: _a, evalSeconds: _b, examplesPerSecond: _c, test: _d, ...e }) => e) },
    test: r.test,
    later: r.later,
  };
}

function assertSamePredictions(a: Predictions, b: Predictions, what: string): void {
  for (const k of ["pCtr", "pCvr", "pCtcvr"] as const) {
    assert.equal(a[k] === undefined, b[k] === undefined, `${what}: ${k} present in one run only`);
    if (a[k]) assert.deepEqual(Array.from(a[k]!), Array.from(b[k]!), `${what}: ${k} differs`);
  }
}

test("testEveryEpoch changes nothing a run computes: same epochs, chosen epoch, test predictions bit for bit and metrics (ESMM, IP)", async () => {
  for (const model of ["ESMM", "IP"]) {
    const off = await run(model, TRAIN);
    const on = await run(model, { ...TRAIN, testEveryEpoch: true });
    assertSamePredictions(on.preds, off.preds, model);
    assert.deepEqual(comparable(on.record), comparable(off.record), `${model}: records differ beyond timings and per-epoch test scores`);
    assert.ok(off.record.training.epochs.every((e) => e.test === undefined), `${model}: a run without the option stores per-epoch test scores`);
    assert.ok(on.record.training.epochs.every((e) => e.test !== undefined), `${model}: an epoch without test scores`);
    assert.ok(off.record.training.epochs.length >= 2, `${model}: ${off.record.training.epochs.length} epoch(s): nothing to choose between`);
    if (model === "ESMM") assert.ok(off.record.training.restoredBest, "ESMM: the run should restore an earlier epoch here (patience 1, learning rate 1e-2)");
  }
});

test("the chosen epoch's test scores equal the record's final test metrics exactly, and epochs differ (ESMM, restoreBest)", async () => {
  const { record } = await run("ESMM", { ...TRAIN, testEveryEpoch: true });
  const chosen = record.training.epochs.find((e) => e.epoch === record.training.bestEpoch)!;
  assert.ok(record.training.bestEpoch < record.training.epochs.length, "the test needs an earlier epoch restored");
  for (const space of ["ctcvr", "cvr", "ctr"] as const) {
    const final = record.test.metrics[space]!;
    assert.deepEqual(chosen.test![space], { logLoss: final.logLoss, rocAuc: final.rocAuc, prAuc: final.prAuc }, `${space} at the chosen epoch`);
  }
  const last = record.training.epochs.at(-1)!;
  assert.notEqual(last.test!.ctcvr.logLoss, chosen.test!.ctcvr.logLoss, "the last epoch's test CTCVR log loss equals the chosen one's: the scores are not per epoch");
});

test("without restoreBest the last epoch's test scores are the final metrics; a seed group's seeds each get their own", async () => {
  const { record } = await run("ESMM", { ...TRAIN, restoreBest: false, testEveryEpoch: true });
  const last = record.training.epochs.at(-1)!;
  assert.equal(last.test!.ctcvr.logLoss, record.test.metrics.ctcvr.logLoss);
  assert.equal(last.test!.cvr!.rocAuc, record.test.metrics.cvr!.rocAuc);
  const group = await runSeeds(data, { model: "ESMM", seeds: [1, 2], train: { ...TRAIN, maxEpochs: 2, restoreBest: false, testEveryEpoch: true } });
  for (const o of group) {
    assert.ok(o.record, `seed ${o.seed}: ${o.error?.message}`);
    const end = o.record.training.epochs.at(-1)!;
    assert.equal(end.test!.ctcvr.logLoss, o.record.test.metrics.ctcvr.logLoss, `seed ${o.seed}`);
  }
  assert.notEqual(group[0].record!.training.epochs[0].test!.ctcvr.logLoss, group[1].record!.training.epochs[0].test!.ctcvr.logLoss, "two seeds' epoch-1 test scores are equal");
});

test("testEveryEpoch: optional (not in the defaults), false or absent names today's run key, bad values and a missing test split are one line", async () => {
  assert.equal("testEveryEpoch" in DEFAULT_TRAIN_CONFIG, false);
  assert.equal(resolveTrainConfig({}, 1).testEveryEpoch, undefined);
  assert.throws(() => resolveTrainConfig({ testEveryEpoch: "yes" as unknown as boolean }, 1), /^Error: train config: testEveryEpoch must be true or false, got "yes"$/);
  const grid = expandGrid(studyProfile("quick"));
  const key = (train: object) => canonicalJson(computation({ ...grid[0], train: { ...grid[0].train, ...train } }));
  assert.equal(key({ testEveryEpoch: false }), key({}));
  assert.notEqual(key({ testEveryEpoch: true }), key({}));
  const spec = JSON.parse(JSON.stringify(studyProfile("quick")));
  assert.doesNotThrow(() => checkStudySpec({ ...spec, train: { testEveryEpoch: true } }));
  assert.throws(() => checkStudySpec({ ...spec, train: { testEveryEpoch: 1 } }), /train\.testEveryEpoch/);
  const model = buildModel(getModelSpec("ESMM"), inputDimsOf(data.train), { seed: 1 });
  try {
    await assert.rejects(trainModel(model, { train: data.train, validation: data.validation }, { maxEpochs: 1, testEveryEpoch: true }), /^Error: model "ESMM": testEveryEpoch needs the data's test split, and none was given$/);
  } finally {
    model.dispose();
  }
});
