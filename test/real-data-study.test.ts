/**
 * A study on real data (lib/study/real-data.ts): the repository's Ali-CCP sample prepared once into a folder,
 * then the study runner on that folder: records without oracle, one stable replicate, resuming, runs keyed by
 * the folder's content (not its path), and a spec that no longer matches its folder refused before any run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import { tempDir } from "./helpers";
import { ensureRealData, preparedDataSpec, preparedFolderSha256, replicateText } from "../lib/study/real-data";
import { normalizeStudy, runStudy, RunStudyOptions } from "../lib/study/runner";
import { expandGrid, StudySpec } from "../lib/study/spec";
import { studyProfile } from "../lib/study/index";
import { matchRecords, readResults } from "../lib/study/results";
import { replicateOf, summarizeStudy } from "../lib/study/summary";
import { summaryRows } from "../lib/views/study-summary";
import { evaluateFindings } from "../lib/study/findings";
import { replicateScores } from "../lib/study/replicate-scores";
import { readPrepared } from "../lib/data/prepared-files";

process.env.ESMM_WORKER_THREADS = "1";

const SAMPLE_DIR = path.join(FIXTURES_DIR, "ali-ccp");
const ROOT = tempDir("esmm-real-data-");

const quiet = (results: string, extra: Partial<RunStudyOptions> = {}): RunStudyOptions => ({
  results,
  workers: 1,
  dataRoot: path.join(ROOT, "unused-cache"),
  progress: false,
  log: () => {},
  ...extra,
});

const studyOn = (dir: string): StudySpec => ({
  name: "real",
  models: ["IP", "ESMM"],
  seeds: [1, 2],
  data: preparedDataSpec(dir),
  train: { maxEpochs: 1, batchSize: 64 },
});

test("the Ali-CCP sample is prepared once into the root; a prepared folder is used in place; anything else is refused", async () => {
  const root = path.join(ROOT, "prep");
  const statuses: string[] = [];
  const dir = await ensureRealData(SAMPLE_DIR, { root, negativeKeepRate: 1, seed: 1, onStatus: (s) => statuses.push(s) });
  assert.equal(path.dirname(dir), root);
  assert.match(path.basename(dir), /^ali-ccp-[0-9a-f]{16}$/);
  assert.equal(statuses.length, 1);
  const data = readPrepared(dir);
  assert.deepEqual([data.train.size, data.validation.size, data.test.size, data.later.length], [100, 50, 50, 0]);
  assert.equal(data.test.truth, undefined);
  const sha = preparedFolderSha256(dir);
  assert.equal(await ensureRealData(SAMPLE_DIR, { root, negativeKeepRate: 1, seed: 1, onStatus: (s) => statuses.push(s) }), dir);
  assert.equal(statuses.length, 1, "second call prepares nothing");
  assert.equal(await ensureRealData(dir, { root }), dir, "a prepared folder is its own data");
  const other = await ensureRealData(SAMPLE_DIR, { root, negativeKeepRate: 0.5, seed: 1 });
  assert.notEqual(other, dir);
  assert.notEqual(preparedFolderSha256(other), sha);
  await assert.rejects(ensureRealData(FIXTURES_DIR, { root }), /neither a prepared folder .* nor a processed Ali-CCP folder/);
  assert.deepEqual(fs.readdirSync(root).filter((n) => n.startsWith(".tmp-")), []);
});

test("a study on the prepared sample: no oracle, one stable replicate, resumes; runs keyed by content, not path", async () => {
  const dir = await ensureRealData(SAMPLE_DIR, { root: path.join(ROOT, "study"), negativeKeepRate: 1, seed: 3 });
  const spec = studyOn(dir);
  assert.deepEqual({ ...spec.data, prepared: undefined }, { simulator: {}, simulatorSeed: 0, negativeKeepRate: 1, laterDays: 0, prepareSeed: 3, oovMinCount: 2, oovMaskRate: 0.01, prepared: undefined });
  const results = path.join(ROOT, "runs", "real.jsonl");
  const first = await runStudy(spec, quiet(results));
  assert.deepEqual(first.failed, []);
  assert.deepEqual([first.done, first.skipped], [4, 0]);

  const { records } = readResults(results);
  assert.equal(records.length, 4);
  for (const r of records) {
    assert.equal(r.test.oracle, undefined, "no truth, no oracle");
    assert.equal(r.test.mechanism, undefined);
    assert.equal(r.dataManifest.oracle, undefined);
    assert.deepEqual(r.later, []);
    assert.deepEqual(replicateOf(r), { folder: preparedFolderSha256(dir).slice(0, 16), draw: 3 }, "the prepared folder, not world 0");
    assert.equal(replicateText(r.config.data), `the prepared folder ${preparedFolderSha256(dir).slice(0, 16)} (draw = its preparation seed 3)`);
    assert.equal(r.config.data.prepared?.sha256, preparedFolderSha256(dir));
    assert.equal(r.dataManifest.sha256, preparedFolderSha256(dir));
    assert.equal(r.dataManifest.totals.impressions, 200);
    assert.equal(r.test.rows, 50);
    assert.ok(Number.isFinite(r.test.metrics.ctcvr.logLoss));
  }
  assert.equal(matchRecords(expandGrid(spec), records).filter((m) => m.record).length, 4);

  // notebook 04's tables: one replicate, no oracle gap, findings computed
  const summary = summarizeStudy(records, { metric: "ctcvr.logLoss", alpha: 0.01 });
  assert.equal(summary.replicates, 1);
  assert.deepEqual(summary.models.map((m) => m.oracleGap), [undefined, undefined]);
  assert.deepEqual(summaryRows(summary).map((row) => row["gap to oracle"]), ["", ""]);
  assert.ok(evaluateFindings(summary).length > 0);
  // the bootstrap's scores read the prepared folder back, where it is: not a cache folder named by its data key
  // (here another prepared folder put there as a decoy, which the data manifest check would refuse)
  const decoyRoot = path.join(ROOT, "decoy-cache");
  const decoy = await ensureRealData(SAMPLE_DIR, { root: path.join(ROOT, "decoy-source"), negativeKeepRate: 0.5, seed: 3 });
  fs.cpSync(decoy, path.join(decoyRoot, records[0].dataManifest.dataKey), { recursive: true });
  const scores = replicateScores(records, { predictionsDir: results.replace(/\.jsonl$/, ".predictions"), dataRoot: decoyRoot });
  assert.deepEqual([scores.folder, scores.world, scores.draw, scores.label.length, scores.runs.length], [preparedFolderSha256(dir).slice(0, 16), undefined, 3, 50, 4]);

  const again = await runStudy(studyOn(dir), quiet(results));
  assert.deepEqual([again.done, again.skipped], [0, 4]);

  // The same content elsewhere is the same data: every run is found done.
  const moved = path.join(ROOT, "moved");
  fs.cpSync(dir, moved, { recursive: true });
  const elsewhere = await runStudy(studyOn(moved), quiet(results));
  assert.deepEqual([elsewhere.done, elsewhere.skipped], [0, 4]);
  assert.equal(readResults(results).records.length, 4);
  assert.deepEqual(fs.readdirSync(path.join(ROOT, "runs")).sort(), ["real.jsonl", "real.predictions"]);
  assert.equal(fs.existsSync(path.join(ROOT, "unused-cache")), false, "nothing simulated or cached");
});

test("real data refuses worlds, draws and a spec that no longer matches its folder, before any run", async () => {
  const dir = await ensureRealData(SAMPLE_DIR, { root: path.join(ROOT, "refuse"), negativeKeepRate: 1, seed: 1 });
  const spec = studyOn(dir);
  assert.throws(() => normalizeStudy({ ...spec, draws: [1, 2] }), /one data set: no worlds or draws/);
  assert.throws(() => normalizeStudy({ ...spec, worlds: [7] }), /one data set: no worlds or draws/);
  const results = path.join(ROOT, "refused.jsonl");
  await assert.rejects(runStudy({ ...spec, data: { ...spec.data, prepareSeed: 9 } }, quiet(results)), /does not match the folder \(prepareSeed: 9 vs 1/);
  await assert.rejects(runStudy({ ...spec, data: { ...spec.data, prepared: { dir: path.join(ROOT, "nowhere"), sha256: spec.data.prepared!.sha256 } } }, quiet(results)), /missing or not a prepared folder/);
  // the folder changed after the spec was made (one byte of its test split)
  const copy = path.join(ROOT, "changed");
  fs.cpSync(dir, copy, { recursive: true });
  const stale = studyOn(copy);
  const bin = path.join(copy, "test.bin");
  const bytes = fs.readFileSync(bin);
  bytes[bytes.length - 1] ^= 1;
  fs.writeFileSync(bin, bytes);
  await assert.rejects(runStudy(stale, quiet(results)), /does not match the folder \(prepared:/);
  assert.equal(fs.existsSync(results), false, "nothing run");
});

test("embedding updates default to the data source's rule: rowwise on real data, dense (absent, keys unchanged) on simulated data; a spec's own rule wins", async () => {
  const dir = await ensureRealData(SAMPLE_DIR, { root: path.join(ROOT, "prep"), negativeKeepRate: 1, seed: 1 });
  const real = expandGrid(studyOn(dir));
  assert.deepEqual([...new Set(real.map((r) => r.train.embeddingUpdates))], ["rowwise"]);
  const dense = expandGrid({ ...studyOn(dir), train: { maxEpochs: 1, embeddingUpdates: "dense" } });
  assert.deepEqual([...new Set(dense.map((r) => r.train.embeddingUpdates))], ["dense"]);
  const simulated = expandGrid(studyProfile("quick"));
  assert.ok(simulated.every((r) => !("embeddingUpdates" in r.train)), "simulated runs leave the rule out of their config (the trainer's dense)");
});
