/**
 * One record type (issue 23 point 4): a run's record is defined once (lib/analysis/record.ts), and what the analysis
 * reads of it (StudyResult, StudySplitScore, SpaceScoresLike) is derived from that definition. A stored record, as
 * readResults gives it back, goes into every analysis function unchanged (the compiler checks it: no cast in this
 * file), and the numbers those functions return are the record's own metrics: on the committed records of an older
 * code version (test/fixtures/study/default-study-1cf9ca8.jsonl: written before records held CTCVR folds, mechanism
 * metrics or a numerics version, and trimmed to the fields the summaries read: no reliability, data manifest or
 * timings) and on the records of a tiny study run here (every field).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import { tempDir, tinyStudy } from "./helpers";
import type { RecordFields, RunRecord as RecordRunRecord, SpaceScoresLike as RecordSpaceScores, StudyRecord as RecordStudyRecord } from "../lib/analysis/record";
import type { AblationRecordLike } from "../lib/views/ablation-report";
import type { ModelRecordLike } from "../lib/views/models-report";
import type { RunRecordLike } from "../lib/views/real-data-report";
import type { TimedRecordLike } from "../lib/views/fair-report";
import type { ReplicateRecordLike } from "../lib/views/untuned-report";
import type { RunRecord } from "../lib/study/run";
import { readResults, StudyRecord } from "../lib/study/results";
import { calibrationSummary, replicateOf, SpaceScoresLike, StudyResult, StudySplitScore, summarizeStudy, temporalShift } from "../lib/study/summary";
import { metricTable } from "../lib/study/metric-table";
import { mechanismSummary } from "../lib/study/mechanism";
import { groupByData } from "../lib/study/data-identity";
import { selectionScore } from "../lib/tune/protocol";
import { runStudy } from "../lib/study/runner";
import type { StudySpec } from "../lib/study/spec";

// ---------------------------------------------------------------------------------------------------
// compile-time: the exported names are the one definition; the reading type is derived, not restated

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <T extends true>(): T | undefined => undefined;

same<Equal<StudyRecord, RecordStudyRecord>>();
same<Equal<RunRecord, RecordRunRecord>>();
same<Equal<SpaceScoresLike, RecordSpaceScores>>();
// fields the analysis reads have the record's types (optional there), e.g. the whole-written parts
same<Equal<NonNullable<StudyResult["finishedAt"]>, StudyRecord["finishedAt"]>>();
same<Equal<NonNullable<StudyResult["reliability"]>, StudyRecord["reliability"]>>();
same<Equal<NonNullable<StudySplitScore["ctcvrFolds"]>, NonNullable<StudyRecord["test"]["ctcvrFolds"]>>>();
same<Equal<NonNullable<NonNullable<NonNullable<StudyResult["training"]>["parameters"]>["total"]>, StudyRecord["training"]["parameters"]["total"]>>();

/** A stored record is a run record and an analysis record as it stands (each line fails to compile otherwise). */
function asAnalysed(r: StudyRecord): { run: RunRecord; result: StudyResult; split: StudySplitScore; scores: SpaceScoresLike } {
  return { run: r, result: r, split: r.test, scores: r.test.metrics.ctcvr };
}

/** What the reading type refuses: each line fails to compile without its @ts-expect-error (tsc checks these). */
function refusedByTheReadingType(): StudyResult[] {
  // @ts-expect-error the test day's CTCVR log loss is required
  const noLoss: StudyResult = { model: "IP", seed: 1, test: { metrics: { ctcvr: {} } } };
  // @ts-expect-error a field the record does not have is not one the analysis reads (misspelt finishedAt)
  const misspelt: StudyResult = { model: "IP", seed: 1, test: { metrics: { ctcvr: { logLoss: 0.01 } } }, finishedAtt: "2026-12-06" };
  // @ts-expect-error a field has the record's type (a parameter count is a number)
  const wrongType: StudyResult = { model: "IP", seed: 1, test: { metrics: { ctcvr: { logLoss: 0.01 } } }, training: { parameters: { total: "5" } } };
  return [noLoss, misspelt, wrongType];
}
void refusedByTheReadingType;

// the views' record types are derived too (RecordFields): the record's own field types, optional where the record has them so
same<Equal<AblationRecordLike["config"]["data"]["simulatorSeed"], StudyRecord["config"]["data"]["simulatorSeed"]>>();
same<Equal<AblationRecordLike["test"]["oracle"], { ctcvr: number } | undefined>>();
same<Equal<ModelRecordLike["training"]["epochs"][number]["valLoss"], StudyRecord["training"]["epochs"][number]["valLoss"]>>();
same<Equal<NonNullable<RunRecordLike["training"]["units"]>[number]["criterion"], NonNullable<StudyRecord["training"]["units"]>[number]["criterion"]>>();
same<Equal<TimedRecordLike["finishedAt"], StudyRecord["finishedAt"]>>();
same<Equal<ReplicateRecordLike["test"]["conversions"], StudyRecord["test"]["conversions"]>>();
// "optional": a field records written before it was stored lack (the AUCs, lib/views/real-data-report.ts missingAucNote)
same<Equal<RunRecordLike["test"]["metrics"]["ctcvr"]["rocAuc"], number | undefined>>();

/** A stored record goes into each view of it as it stands (each line fails to compile otherwise). */
function asViewed(r: StudyRecord): [AblationRecordLike, ModelRecordLike, RunRecordLike, TimedRecordLike, ReplicateRecordLike] {
  return [r, r, r, r, r];
}
void asViewed;

/** What a view's mask refuses: a field the record does not have, at any depth (each line fails to compile without its @ts-expect-error). */
// @ts-expect-error misspelt finishedAt
type MisspeltTop = RecordFields<StudyRecord, { model: true; finishedAtt: true }>;
// @ts-expect-error misspelt logLoss, three levels down
type MisspeltDeep = RecordFields<StudyRecord, { test: { metrics: { ctcvr: { logLos: true } } } }>;
// @ts-expect-error an array's elements have the record's element fields (an epoch has no "loss")
type MisspeltElement = RecordFields<StudyRecord, { training: { epochs: { loss: true } } }>;

// ---------------------------------------------------------------------------------------------------
// runtime: the analysis of stored records gives the records' own numbers

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** |a - b| within `rel` of |b| (float64 sums in another order). */
function close(a: number, b: number, what: string, rel = 1e-12): void {
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);
}
const loss = (r: StudyRecord) => r.test.metrics.ctcvr.logLoss;
const bySeed = (rs: StudyRecord[]) => [...rs].sort((a, b) => a.seed - b.seed);

const OLD_STUDY = path.join(FIXTURES_DIR, "study", "default-study-1cf9ca8.jsonl");

test("records of an older code version (1cf9ca8): read unchanged by summaries, calibration and tables, with their own numbers", () => {
  const { records, problems } = readResults(OLD_STUDY);
  assert.deepEqual(problems, []);
  assert.equal(records.length, 60);
  // what the reading type requires, every stored line has; what old records lack, they lack
  for (const r of records) {
    const { result, scores } = asAnalysed(r);
    assert.equal(typeof result.model, "string");
    assert.ok(Number.isInteger(result.seed));
    assert.ok(Number.isFinite(scores.logLoss), `${r.model}/${r.seed}`);
    // written before these existed (a9137c6, 6a9896e, 4cb4fba), or trimmed from the fixture (reliability)
    assert.equal(r.test.ctcvrFolds, undefined);
    assert.equal(r.test.mechanism, undefined);
    assert.equal(r.numericsVersion, undefined);
    assert.equal(r.reliability, undefined);
    assert.deepEqual(replicateOf(r), { world: 7, draw: 7 });
  }
  const models = [...new Set(records.map((r) => r.model))];
  assert.deepEqual(models, ["IP", "ESMM", "ESMM-NS", "ESSP-Split", "IPSP", "ESP"]);
  const ip = bySeed(records.filter((r) => r.model === "IP"));

  const summary = summarizeStudy(records);
  assert.equal(summary.metric, "ctcvr.logLoss");
  assert.deepEqual(summary.models.map((m) => m.model), models);
  for (const m of summary.models) {
    const own = bySeed(records.filter((r) => r.model === m.model));
    assert.equal(m.n, 10);
    assert.deepEqual([...m.seeds].sort((a, b) => a - b), own.map((r) => r.seed));
    close(m.mean, mean(own.map(loss)), `${m.model} mean`);
    close(m.oracleGap!, mean(own.map((r) => loss(r) - r.test.oracle!.ctcvr)), `${m.model} gap to the oracle`);
    assert.equal(m.parameters, own[0].training.parameters.total);
    assert.equal(m.conversions, own[0].test.conversions);
    if (m.model === "IP") continue;
    // paired by seed on the whole test day (no folds in these records): % better than IP's mean
    assert.equal(m.vsBaseline!.design, "paired");
    const ipMean = mean(ip.map(loss));
    close(m.percentVsBaseline, mean(own.map((r, i) => (-100 * (loss(r) - loss(ip[i]))) / ipMean)), `${m.model} % vs IP`, 1e-9);
  }

  // a later day and another space: the records' later[0] CVR AUC; models without a pCVR have none
  const later = summarizeStudy(records, { split: "later:0", metric: "cvr.rocAuc" });
  for (const m of later.models) {
    const own = records.filter((r) => r.model === m.model);
    const auc = own.map((r) => r.later[0].metrics.cvr?.rocAuc);
    if (auc.every((v) => v === undefined)) {
      assert.equal(m.n, 0, m.model);
      assert.equal(m.undefinedRuns, 10, m.model);
    } else close(m.mean, mean(auc as number[]), `${m.model} later:0 cvr.rocAuc`);
  }
  assert.deepEqual(later.models.filter((m) => m.n === 0).map((m) => m.model), ["ESSP-Split", "ESP"]);

  const shift = temporalShift(records);
  assert.deepEqual(shift.splits.map((s) => s.split), ["test", "later:0", "later:1"]);
  for (const { model, points } of shift.models) {
    const own = records.filter((r) => r.model === model);
    close(points[2].mean, mean(own.map((r) => r.later[1].metrics.ctcvr.logLoss)), `${model} later:1 mean`);
  }

  const calibration = calibrationSummary(records);
  for (const m of calibration.models) {
    const own = records.filter((r) => r.model === m.model);
    close(m.calibrationRatio.mean, mean(own.map((r) => r.test.metrics.ctcvr.calibrationRatio)), `${m.model} calibration ratio`);
    assert.equal(m.reliabilityRuns, 0); // the fixture keeps no reliability curve
  }

  const table = metricTable(records, { metrics: ["ctcvr.logLoss"] });
  assert.deepEqual(table.rows.map((r) => r.model), models);
  for (const row of table.rows) close(row.cells[0].mean, mean(records.filter((r) => r.model === row.model).map(loss)), `${row.model} table cell`);
  assert.equal(groupByData(records).length, 1);
});

test("records of a study run now: folds, reliability and mechanism read unchanged and agree with the record", async () => {
  const dir = tempDir("esmm-record-");
  const spec: StudySpec = tinyStudy("record-type", { seed: 3 });
  const results = path.join(dir, "record.jsonl");
  const run = await runStudy(spec, { results, workers: 1, dataRoot: path.join(dir, "data"), progress: false, log: () => {} });
  assert.deepEqual(run.failed, []);
  const { records, problems } = readResults(results);
  assert.deepEqual(problems, []);
  assert.equal(records.length, 4);
  for (const r of records) {
    // the record's own consistency: its folds add up to its test day's CTCVR log loss
    const f = r.test.ctcvrFolds!;
    assert.equal(f.folds, 12);
    close(f.logLossSum.reduce((a, b) => a + b, 0) / f.weightSum.reduce((a, b) => a + b, 0), loss(r), `${r.model}/${r.seed} folds`, 1e-9);
    assert.equal(selectionScore(r), loss(r));
  }
  const esmm = bySeed(records.filter((r) => r.model === "ESMM"));
  const ip = bySeed(records.filter((r) => r.model === "IP"));

  const summary = summarizeStudy(records);
  const row = summary.models.find((m) => m.model === "ESMM")!;
  close(row.mean, mean(esmm.map(loss)), "ESMM mean");
  close(row.oracleGap!, mean(esmm.map((r) => loss(r) - r.test.oracle!.ctcvr)), "ESMM gap to the oracle");
  // paired by seed on disjoint shares of the test day: seed j (in seed order) on folds f = j mod 2, from the records' folds
  assert.equal(row.vsBaseline!.design, "paired-folds");
  const share = (r: StudyRecord, j: number) => {
    const f = r.test.ctcvrFolds!;
    let l = 0;
    let w = 0;
    for (let k = j; k < f.folds; k += 2) (l += f.logLossSum[k]), (w += f.weightSum[k]);
    return l / w;
  };
  const ipMean = mean(ip.map(loss));
  close(row.percentVsBaseline, mean(esmm.map((r, j) => (-100 * (share(r, j) - share(ip[j], j))) / ipMean)), "ESMM % vs IP (folds)", 1e-9);

  const calibration = calibrationSummary(records);
  for (const m of calibration.models) {
    const own = records.filter((r) => r.model === m.model);
    assert.equal(m.reliabilityRuns, 2);
    const pooled = m.reliability!.reduce((a, b) => a + b.weight, 0);
    close(pooled, own.flatMap((r) => r.reliability).reduce((a, b) => a + b.weight, 0), `${m.model} pooled reliability weight`);
  }

  const mechanism = mechanismSummary(records);
  assert.deepEqual(mechanism.map((m) => m.model).sort(), ["ESMM", "IP"].filter((m) => records.some((r) => r.model === m && r.test.mechanism)));
  for (const m of mechanism) {
    const own = records.filter((r) => r.model === m.model);
    assert.equal(m.runs, 2);
    close(m.nonClickedKl.mean, mean(own.map((r) => r.test.mechanism!.cvr.nonClicked.kl)), `${m.model} non-clicked KL`);
  }
  assert.ok(mechanism.length > 0, "the simulated study's models with a pCVR carry mechanism metrics");
});
