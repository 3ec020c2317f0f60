/**
 * The study runner on a tiny data set: one line per run and resuming, a kill -9 of the whole CLI process
 * group mid-study, shards adding up to the unsharded study, and a reader that survives broken files.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "./paths";
import { tempDir, tinyStudy } from "./helpers";
import { expandGrid, StudySpec } from "../lib/study/spec";
import { runStudy, StudyRunSummary, RunStudyOptions } from "../lib/study/runner";
import { matchRecords, openResultsWriter, readPredictions, readResults, runKey, StudyRecord } from "../lib/study/results";
import { dataSpecKey, ensurePreparedData, findPreparedData } from "../lib/study/data-cache";
import { parseShard, shardOf } from "../lib/study/shard";
import { studyProfile } from "../lib/study";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
// One TensorFlow thread in every worker whatever the worker count, so every run is bit-reproducible.
process.env.ESMM_WORKER_THREADS = "1";

const DATA_ROOT = tempDir("esmm-study-data-");
const TINY: StudySpec = tinyStudy("tiny", { seed: 3, laterDays: 2 });

const quiet = (results: string, extra: Partial<RunStudyOptions> = {}): RunStudyOptions => ({
  results,
  workers: 2,
  dataRoot: DATA_ROOT,
  progress: false,
  log: () => {},
  ...extra,
});

const lines = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
const testLoss = (r: StudyRecord) => r.test.metrics.ctcvr.logLoss;

let unsharded: { file: string; records: StudyRecord[] } | undefined;

test("a study writes one line per run with its predictions; re-running skips every run", async () => {
  const dir = tempDir();
  const file = path.join(dir, "tiny.jsonl");
  const ticks: number[] = [];
  const logged: string[] = [];
  const first: StudyRunSummary = await runStudy(TINY, quiet(file, { onProgress: (p) => ticks.push(p.done), log: (line) => logged.push(line) }));
  assert.equal(first.done, 4);
  assert.equal(first.skipped, 0);
  assert.deepEqual(first.failed, []);
  assert.deepEqual(ticks, [1, 2, 3, 4]);
  const text = fs.readFileSync(file, "utf8");
  assert.ok(text.endsWith("\n"));
  assert.equal(lines(file).length, 4);
  const { records, problems } = readResults(file);
  assert.deepEqual(problems, []);
  assert.equal(new Set(records.map((r) => r.key)).size, 4);
  assert.deepEqual(new Set(records.map((r) => `${r.model}/${r.seed}`)), new Set(["ESMM/1", "IP/1", "ESMM/2", "IP/2"]));

  const dataDir = findPreparedData(TINY.data, DATA_ROOT);
  assert.ok(dataDir, "data cached");
  for (const r of records) {
    assert.equal(r.study, "tiny");
    assert.equal(r.variant, "default");
    assert.equal(r.config.model, r.model);
    assert.equal(r.dataManifest.dataKey, dataSpecKey(TINY.data));
    assert.equal(r.dataManifest.totals.impressions, 30_000);
    assert.match(r.dataManifest.sha256, /^[0-9a-f]{64}$/);
    assert.match(r.codeVersion, /^[0-9a-f]{64}$/);
    assert.equal(r.key, runKey(r.config, r.dataManifest.sha256, r.numericsVersion));
    assert.ok(Number.isFinite(testLoss(r)) && testLoss(r) > 0);
    assert.equal(r.later.length, 2);
    assert.equal(r.training.config.maxEpochs, 1);
    assert.equal(r.runtime.threads.TF_NUM_INTRAOP_THREADS, "1");
    // Reliability of pCTCVR on the test day: 10 bins carrying all of the test day's weight.
    assert.equal(r.reliability.length, 10);
    const w = r.reliability.reduce((s, b) => s + b.weight, 0);
    assert.ok(Math.abs(w - r.test.metrics.ctcvr.weightedCount) < 1e-6, `${w} vs ${r.test.metrics.ctcvr.weightedCount}`);
    // Predictions sidecar: one value per test row, the columns the model has.
    const p = readPredictions(first.predictionsDir, r.key);
    assert.equal(p.header.rows, r.test.rows);
    assert.deepEqual(p.header.columns, ["pCtcvr", "pCtr", "pCvr"]); // ESMM and IP have all three heads
    assert.equal(p.pCtcvr.length, r.test.rows);
    assert.ok(p.pCtcvr.every((v) => v > 0 && v < 1));
    for (let i = 0; i < 50; i++) assert.ok(Math.abs(p.pCtcvr[i] - p.pCtr![i] * p.pCvr![i]) <= 1e-6 * p.pCtcvr[i] + 1e-12);
  }
  assert.equal(fs.readdirSync(first.predictionsDir).length, 4, "no temporary files left");
  // On the native backend each record says whether esmm-lab's native kernels were loaded, and the runner says it
  // once (the workers agree); elsewhere neither does.
  const kernelLines = logged.filter((l) => l.includes("native kernels"));
  if (records[0].backend === "tensorflow") {
    for (const r of records) assert.match(r.runtime.nativeKernels ?? "", /^(loaded|not loaded: .+)$/, `${r.model} seed ${r.seed}`);
    assert.deepEqual(kernelLines, [`study: the workers train on tensorflow, esmm-lab's native kernels ${records[0].runtime.nativeKernels}`]);
  } else {
    for (const r of records) assert.equal(r.runtime.nativeKernels, undefined, `${r.model} seed ${r.seed} on ${r.backend}`);
    assert.deepEqual(kernelLines, []);
  }

  const again = await runStudy(TINY, quiet(file));
  assert.equal(again.done, 0);
  assert.equal(again.skipped, 4);
  assert.equal(fs.readFileSync(file, "utf8"), text, "file untouched");
  unsharded = { file, records };
});

test("two shards add up to the unsharded study, metrics equal per key", async () => {
  assert.ok(unsharded, "needs the first test");
  const dir = tempDir();
  const shards = [1, 2].map((i) => path.join(dir, `tiny.shard-${i}-of-2.jsonl`));
  const grid = expandGrid(TINY);
  for (const [i, file] of shards.entries()) {
    const s = await runStudy(TINY, quiet(file, { shard: { index: i + 1, count: 2 } }));
    assert.equal(s.total, 2);
    assert.equal(s.done, 2);
    // Run j of the grid goes to shard (j mod 2) + 1; with seed groups (the default) group g does, and here the
    // groups (ESMM's seeds, IP's seeds) hold exactly the runs with j mod 2 = 0 and = 1.
    const mine = readResults(file).records.map((r) => `${r.model}/${r.seed}`).sort();
    assert.deepEqual(mine, grid.filter((_, j) => j % 2 === i).map((r) => `${r.model}/${r.seed}`).sort());
  }
  const combined = path.join(dir, "combined.jsonl");
  fs.writeFileSync(combined, shards.map((f) => fs.readFileSync(f, "utf8")).join(""));
  const merged = readResults(combined);
  const whole = new Map(unsharded.records.map((r) => [r.key, r]));
  assert.deepEqual(new Set(merged.byKey.keys()), new Set(whole.keys()));
  for (const r of merged.records) {
    const u = whole.get(r.key)!;
    assert.equal(testLoss(r), testLoss(u), `${r.model} seed ${r.seed}: test CTCVR log loss`);
    assert.deepEqual(r.test.metrics, u.test.metrics);
    assert.equal(r.training.bestValLoss, u.training.bestValLoss);
  }
});

test("kill -9 of the CLI study mid-run: no partial line survives, the rerun finishes without redoing runs", async () => {
  const dir = tempDir();
  const specFile = path.join(dir, "spec.json");
  const spec: StudySpec = { ...TINY, name: "tiny-kill", models: ["ESMM", "IP", "ESP", "IPSP"] }; // 8 runs
  fs.writeFileSync(specFile, JSON.stringify(spec));
  const file = path.join(dir, "kill.jsonl");
  const args = [ESMM, "study", "--spec", specFile, "--results", file, "--workers", "2", "--data-root", DATA_ROOT];

  const child = spawn(process.execPath, args, { detached: true, stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 45_000;
  while (!(fs.existsSync(file) && fs.readFileSync(file, "utf8").includes("\n"))) {
    assert.ok(Date.now() < deadline, "no result line within 45 s");
    await new Promise((r) => setTimeout(r, 5));
  }
  process.kill(-child.pid!, "SIGKILL"); // the whole process group: the runner and its workers
  await exited;

  const after = fs.readFileSync(file, "utf8");
  const before = readResults(file);
  // Whatever the moment of the kill, the reader sees only whole records (a partial tail is ignored).
  assert.ok(before.records.length >= 1 && before.records.length < 8, `${before.records.length} runs finished before the kill`);
  assert.equal(before.problems.length, before.partialTailBytes > 0 ? 1 : 0);
  const complete = after.slice(0, after.lastIndexOf("\n") + 1);
  const finishedKeys = before.records.map((r) => r.key);

  const rerun = spawnSync(process.execPath, args, { encoding: "utf8" });
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.match(rerun.stdout, new RegExp(`study tiny-kill: ${8 - finishedKeys.length} runs? done, ${finishedKeys.length} skipped, 0 failed`));
  const final = fs.readFileSync(file, "utf8");
  assert.ok(final.startsWith(complete), "the lines written before the kill are unchanged");
  const all = lines(file);
  assert.equal(all.length, 8, "one line per run");
  const keys = all.map((l) => (JSON.parse(l) as StudyRecord).key);
  assert.equal(new Set(keys).size, 8, "every key exactly once");
  assert.deepEqual(keys.slice(0, finishedKeys.length), finishedKeys);
  assert.equal(readResults(file).problems.length, 0);
  const preds = fs.readdirSync(path.join(dir, "kill.predictions")).filter((f) => f.endsWith(".bin"));
  assert.deepEqual(new Set(preds), new Set(keys.map((k) => `${k}.bin`)));
  // ESP has no CTR or CVR head: its sidecar holds pCTCVR only.
  const esp = readResults(file).records.find((r) => r.model === "ESP")!;
  assert.deepEqual(readPredictions(path.join(dir, "kill.predictions"), esp.key).header.columns, ["pCtcvr"]);
  assert.deepEqual(esp.predictions.columns, ["pCtcvr"]);
});

test("readResults ignores a truncated last line and garbage lines; the writer cuts a partial tail off", () => {
  assert.ok(unsharded, "needs the first test");
  const [a, b] = lines(unsharded.file);
  const dir = tempDir();
  const file = path.join(dir, "broken.jsonl");
  assert.deepEqual(readResults(file).records, [], "a missing file reads as empty");
  const partial = b.slice(0, 200);
  fs.writeFileSync(file, `${a}\nnot json at all\n{"some":"object"}\n\n${a}\n${b}\n${partial}`);
  const r = readResults(file);
  assert.deepEqual(r.records.map((x) => x.key), [JSON.parse(a).key, JSON.parse(b).key]);
  assert.equal(r.duplicates, 1);
  assert.equal(r.partialTailBytes, Buffer.byteLength(partial));
  assert.deepEqual(r.problems.map((p) => p.line), [2, 3, 7]);

  const w = openResultsWriter(file);
  assert.equal(w.repairedBytes, Buffer.byteLength(partial));
  const c = { ...JSON.parse(b), key: "c".repeat(64) } as StudyRecord;
  w.append(c);
  w.close();
  const text = fs.readFileSync(file, "utf8");
  assert.ok(text.endsWith(`${JSON.stringify(c)}\n`));
  const r2 = readResults(file);
  assert.equal(r2.records.length, 3);
  assert.equal(r2.partialTailBytes, 0);
  assert.deepEqual(r2.problems.map((p) => p.line), [2, 3]);

  // A file that is nothing but a partial line.
  const only = path.join(dir, "only.jsonl");
  fs.writeFileSync(only, partial);
  assert.equal(readResults(only).records.length, 0);
  const w2 = openResultsWriter(only);
  w2.close();
  assert.equal(fs.readFileSync(only, "utf8"), "");
});

test("shards, data cache and profiles", () => {
  assert.deepEqual(parseShard("2/3"), { index: 2, count: 3 });
  assert.throws(() => parseShard("0/3"));
  assert.throws(() => parseShard("4/3"));
  assert.throws(() => parseShard("1-3"));
  const grid = Array.from({ length: 7 }, (_, i) => i);
  const parts = [1, 2, 3].map((i) => shardOf(grid, { index: i, count: 3 }).map((x) => x.item));
  assert.deepEqual(parts, [[0, 3, 6], [1, 4], [2, 5]]);
  // The cache is keyed by the resolved spec: spelling out a default changes nothing; the folder is reused.
  const withDefault = { ...TINY.data, simulator: { ...TINY.data.simulator, latentDim: 8 } };
  assert.equal(dataSpecKey(withDefault), dataSpecKey(TINY.data));
  assert.notEqual(dataSpecKey({ ...TINY.data, negativeKeepRate: 0.2 }), dataSpecKey(TINY.data));
  assert.equal(ensurePreparedData(withDefault, DATA_ROOT), findPreparedData(TINY.data, DATA_ROOT));
  assert.deepEqual(fs.readdirSync(DATA_ROOT).filter((n) => n.startsWith(".tmp-")), []);
  // The default design: 6 models x 6 worlds x 6 seeds, ordered world by world (a worker keeps one data set loaded).
  const full = studyProfile("full");
  const fullGrid = expandGrid(full);
  assert.equal(fullGrid.length, 6 * 6 * 6);
  assert.equal(full.data.simulator.impressions, 2_000_000);
  assert.deepEqual([full.data.simulator.evaluationMultiplier, full.data.simulator.laterDaysMultiplier], [10, 1]);
  assert.deepEqual([...new Set(fullGrid.map((r) => r.data.simulatorSeed))], [7, 8, 9, 10, 11, 12]);
  assert.deepEqual(fullGrid.slice(0, 7).map((r) => [r.data.simulatorSeed, r.seed, r.model]), [
    [7, 1, "IP"], [7, 1, "ESMM"], [7, 1, "ESMM-NS"], [7, 1, "ESSP-Split"], [7, 1, "IPSP"], [7, 1, "ESP"], [7, 2, "IP"],
  ]);
  const quick = studyProfile("quick");
  assert.deepEqual([quick.data.simulator.impressions, quick.seeds.length, quick.worlds?.length, quick.train?.maxEpochs], [200_000, 2, 2, 2]);
  // Worlds and draws are crossed; a variant that sets its own simulator seed keeps it.
  const crossed = expandGrid({ ...TINY, worlds: [1, 2], draws: [5, 6], variants: [{ name: "a" }, { name: "b", data: { simulatorSeed: 9 } }] });
  assert.deepEqual([...new Set(crossed.filter((r) => r.variant === "a").map((r) => `${r.data.simulatorSeed}/${r.data.prepareSeed}`))], ["1/5", "1/6", "2/5", "2/6"]);
  assert.deepEqual([...new Set(crossed.filter((r) => r.variant === "b").map((r) => `${r.data.simulatorSeed}/${r.data.prepareSeed}`))], ["9/5", "9/6"]);
});

test("matchRecords: of several records of one computation, the current numerics version's wins, else the one that finished last", () => {
  const [run] = expandGrid(TINY);
  const rec = (numericsVersion: string, finishedAt: string) => ({ config: run, numericsVersion, finishedAt, tag: `${numericsVersion}@${finishedAt}` });
  const old = rec("old", "2026-01-02");
  const current = rec("now", "2026-01-01");
  const later = rec("other", "2026-01-03");
  assert.equal(matchRecords([run], [old, current, later], "now")[0].record!.tag, "now@2026-01-01");
  assert.equal(matchRecords([run], [later, old], "now")[0].record!.tag, "other@2026-01-03");
  assert.equal(matchRecords([run], [], "now")[0].record, undefined);
});

test("esmm study --help and bad arguments", () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [ESMM, "study", ...args], { encoding: "utf8" });
  const help = run("--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: esmm study/);
  for (const [args, pattern] of [
    [["--shard", "3/2"], /--shard/],
    [["--models", "nope"], /unknown model "nope"/],
    [["--seeds", "2", "--seed-list", "1,2"], /not both/],
    [["--profile", "medium"], /--profile must be quick or full/],
    [["--worlds", "7,x"], /--worlds must be a comma-separated list of integers in \[0, 2147483647\], got "7,x"/],
    [["--evaluation-multiplier", "0.5"], /--evaluation-multiplier must be a number >= 1/],
  ] as [string[], RegExp][]) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(" "));
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
