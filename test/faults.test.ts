/**
 * Faults lose nothing (issue 25, point 3): one study runner per results file (a lock beside it, taken over
 * when its pid is dead), every output path checked before any work (one line, exit 2: prepare, train, study,
 * merge), no unbounded mkdir loop (prepare --out /proc/x), a prepared folder kept intact by a write that
 * fails, temporary prediction files of dead writers removed on the next start.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "./paths";
import { tempDir, tinyStudy } from "./helpers";
import { lockFileOf, lockResults, prepareResultsOutputs } from "../lib/study/results-lock";
import { makeDirs, outputProblem } from "../lib/data/output-paths";
import { readPrepared, writePrepared } from "../lib/data/prepared-files";
import { DataError } from "../lib/data/errors";
import { readResults } from "../lib/study/results";
import type { StudySpec } from "../lib/study/spec";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
const ENV = { ...process.env, ESMM_WORKER_THREADS: "1", TF_CPP_MIN_LOG_LEVEL: "2" };
const run = (...args: string[]) => spawnSync(process.execPath, [ESMM, ...args], { encoding: "utf8", env: ENV, timeout: 120_000 });

function oneLineExit2(r: { status: number | null; stdout: string; stderr: string }, ...patterns: RegExp[]): void {
  assert.equal(r.status, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.ok(/^esmm: [^\n]+\n$/.test(r.stderr), `not exactly one line: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr.trimEnd(), p);
}

/** The pid of a process that has exited (so no process has it, barring reuse within the test). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

test("results lock: a second taker is refused naming the owner; release frees it; a dead owner's lock is taken over", () => {
  const dir = tempDir("esmm-lock-");
  const results = path.join(dir, "r.jsonl");
  const a = lockResults(results);
  assert.equal(JSON.parse(fs.readFileSync(lockFileOf(results), "utf8")).command, [path.basename(process.argv[1]), ...process.argv.slice(2)].join(" ").slice(0, 200).replace(/^(.{197}).{4,}$/, "$1..."));
  assert.throws(
    () => lockResults(results),
    (e: unknown) =>
      e instanceof DataError &&
      new RegExp(`r\\.jsonl: is in use by another study runner \\(pid ${process.pid} on .*: ${path.basename(process.argv[1]).replace(/[.]/g, "\\.")}.*; lock .*r\\.jsonl\\.lock\\): wait for it to finish and run this again \\(the runs it wrote are then skipped\\), or use another results file$`).test(e.message),
  );
  a.release();
  assert.ok(!fs.existsSync(lockFileOf(results)));
  a.release(); // idempotent
  fs.writeFileSync(lockFileOf(results), JSON.stringify({ pid: deadPid(), host: os.hostname(), started: "then" }) + "\n");
  const b = lockResults(results);
  assert.equal(JSON.parse(fs.readFileSync(lockFileOf(results), "utf8")).pid, process.pid, "the stale lock was taken over");
  b.release();
});

test("prepareResultsOutputs: unwritable outputs are refused before any work; dead writers' prediction temps are removed, live ones kept", () => {
  const dir = tempDir("esmm-outputs-");
  const results = path.join(dir, "sub", "r.jsonl");
  const predictions = path.join(dir, "sub", "r.predictions");
  fs.mkdirSync(predictions, { recursive: true });
  const dead = path.join(predictions, `${"a".repeat(64)}.bin.tmp-${deadPid()}-0badc0de`);
  const mine = path.join(predictions, `${"b".repeat(64)}.bin.tmp-${process.pid}-00ff`);
  const done = path.join(predictions, `${"c".repeat(64)}.bin`);
  for (const f of [dead, mine, done]) fs.writeFileSync(f, "x");
  const lock = prepareResultsOutputs(results, predictions);
  assert.deepEqual([fs.existsSync(dead), fs.existsSync(mine), fs.existsSync(done)], [false, true, true]);
  lock.release();
  const file = path.join(dir, "a-file");
  fs.writeFileSync(file, "");
  assert.throws(() => prepareResultsOutputs(path.join(file, "r.jsonl"), path.join(file, "r.predictions")), /cannot write the study's outputs: .*a-file is a file, so .* cannot be made under it/);
  assert.throws(() => prepareResultsOutputs("/proc/esmm-x/r.jsonl", "/proc/esmm-x/r.predictions"), /cannot write the study's outputs: cannot write in \/proc/);
});

test("output paths: /proc, a file as a folder, a folder as a file; makeDirs is bounded (no mkdir loop on /proc)", () => {
  const dir = tempDir("esmm-paths-");
  assert.equal(outputProblem(path.join(dir, "new", "deeper", "x.json"), "file"), undefined);
  assert.ok(!fs.existsSync(path.join(dir, "new")), "checking creates nothing");
  assert.match(outputProblem("/proc/x", "dir") ?? "", /cannot write in \/proc/);
  assert.match(outputProblem(dir, "file") ?? "", /is a folder, not a file/);
  fs.writeFileSync(path.join(dir, "f"), "");
  assert.match(outputProblem(path.join(dir, "f"), "dir") ?? "", /is a file, not a folder/);
  assert.throws(() => makeDirs("/proc/esmm-x/y"));
  makeDirs(path.join(dir, "a", "b", "c"));
  assert.ok(fs.statSync(path.join(dir, "a", "b", "c")).isDirectory());
});

test("prepare, train and merge: an unwritable --out is one line and exit 2, before any work (prepare --out /proc/x returns)", () => {
  const dir = tempDir("esmm-out-cli-");
  const log = path.join(dir, "log");
  assert.equal(run("simulate", "--impressions", "20000", "--days", "6", "--users", "200", "--ads", "40", "--seed", "3", "--out", log).status, 0);
  const t0 = Date.now();
  oneLineExit2(run("prepare", "--data", log, "--out", "/proc/x"), /^esmm: prepare: --out cannot write in \/proc/);
  assert.ok(Date.now() - t0 < 60_000);
  const file = path.join(dir, "a-file");
  fs.writeFileSync(file, "");
  oneLineExit2(run("prepare", "--data", log, "--out", path.join(file, "prepared")), /prepare: --out .*a-file is a file/);
  const prepared = path.join(dir, "prepared");
  assert.equal(run("prepare", "--data", log, "--out", prepared).status, 0);
  const train = run("train", "--model", "IP", "--data", prepared, "--seed", "1", "--epochs", "1", "--out", "/proc/x/run.json");
  oneLineExit2(train, /^esmm: train: --out cannot write in \/proc/);
  assert.doesNotMatch(train.stderr + train.stdout, /backend/, "refused before the backend started");
  oneLineExit2(run("train", "--model", "IP", "--data", prepared, "--seed", "1", "--out", dir), /train: --out .* is a folder, not a file/);
  const shard = path.join(dir, "shard.jsonl");
  fs.writeFileSync(shard, "");
  oneLineExit2(run("merge", "--out", "/proc/x/all.jsonl", shard), /^esmm: merge: --out cannot write in \/proc/);
});


test("writePrepared: a write that fails midway leaves the previous prepared folder intact and no temporary file", () => {
  const dir = tempDir("esmm-prep-fail-");
  const log = path.join(dir, "log");
  const prepared = path.join(dir, "prepared");
  assert.equal(run("simulate", "--impressions", "20000", "--days", "6", "--users", "200", "--ads", "40", "--seed", "4", "--out", log).status, 0);
  assert.equal(run("prepare", "--data", log, "--out", prepared).status, 0);
  const before = Object.fromEntries(fs.readdirSync(prepared).map((f) => [f, fs.readFileSync(path.join(prepared, f))]));
  const data = readPrepared(prepared);
  // the test split fails while being written (as a full disk would), after train and validation were written
  const failing = { ...data, test: new Proxy(data.test, { get: (t, k) => (k === "categorical" ? (() => { throw new Error("ENOSPC: no space left on device"); })() : Reflect.get(t, k)) }) };
  assert.throws(() => writePrepared(prepared, failing, { kind: "test" }), /ENOSPC/);
  assert.deepEqual(fs.readdirSync(prepared).sort(), Object.keys(before).sort(), "no temporary file left");
  for (const [f, bytes] of Object.entries(before)) assert.ok(fs.readFileSync(path.join(prepared, f)).equals(bytes), `${f} changed`);
  assert.equal(readPrepared(prepared).train.size, data.train.size);
});

const TINY: StudySpec = tinyStudy("tiny-lock", { models: ["IP", "ESMM"], impressions: 20_000, seed: 5 });

test("two esmm study processes started together on one results file: one runs, the other is refused in one line; each run written once", async () => {
  const dir = tempDir("esmm-two-studies-");
  const spec = path.join(dir, "tiny.json");
  fs.writeFileSync(spec, JSON.stringify(TINY));
  const results = path.join(dir, "r.jsonl");
  const args = [ESMM, "study", "--spec", spec, "--results", results, "--workers", "1", "--data-root", path.join(dir, "data")];
  const start = () =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, args, { env: ENV });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => (stdout += d));
      p.stderr.on("data", (d) => (stderr += d));
      p.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  const [a, b] = await Promise.all([start(), start()]);
  const [ok, refused] = a.status === 0 ? [a, b] : [b, a];
  assert.equal(ok.status, 0, ok.stderr);
  // Refused either way: the lock holds the other runner's pid, or it is caught between creating and writing it.
  oneLineExit2(refused, /r\.jsonl: is in use by another study runner \((pid \d+ on |lock \S+r\.jsonl\.lock being taken right now\))/);
  const keys = readResults(results).records.map((r) => r.key);
  assert.equal(keys.length, 4);
  assert.equal(new Set(keys).size, 4, "each run once");
  assert.ok(!fs.existsSync(lockFileOf(results)), "the lock is released");
  // and a rerun finds everything done
  const again = spawnSync(process.execPath, args, { encoding: "utf8", env: ENV });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readResults(results).records.length, 4);
});

test("simulate, study and tune: every output path option (--out, --results, --predictions, --data-root) unwritable is one line and exit 2 before any work", () => {
  const dir = tempDir("esmm-out-cli2-");
  const t0 = Date.now();
  oneLineExit2(run("simulate", "--impressions", "20000", "--days", "6", "--out", "/proc/x"), /^esmm: simulate: --out cannot write in \/proc/);
  assert.ok(Date.now() - t0 < 60_000, "no mkdir loop");
  const file = path.join(dir, "a-file");
  fs.writeFileSync(file, "");
  oneLineExit2(run("simulate", "--impressions", "20000", "--days", "6", "--out", file), /simulate: --out .*a-file is a file, not a folder/);
  const spec = path.join(dir, "tiny.json");
  fs.writeFileSync(spec, JSON.stringify(TINY));
  const study = (...args: string[]) => run("study", "--spec", spec, "--workers", "1", ...args);
  const results = path.join(dir, "r.jsonl");
  oneLineExit2(study("--results", "/proc/x/r.jsonl"), /^esmm: study: --results cannot write in \/proc/);
  oneLineExit2(study("--results", results, "--predictions", path.join(file, "p")), /^esmm: study: --predictions .*a-file is a file/);
  const root = study("--results", results, "--data-root", "/proc/x");
  oneLineExit2(root, /^esmm: \/proc\/x: the data cache \(--data-root, or ESMM_DATA_DIR\), where 1 data set\(s\) of this study are to be made, cannot be written: cannot write in \/proc/);
  assert.doesNotMatch(root.stderr, /simulating|worker/);
  assert.deepEqual(fs.readdirSync(dir).sort(), ["a-file", "tiny.json"], "nothing written, the lock released");
  oneLineExit2(run("tune", "--profile", "quick", "--out", "/proc/x/t.jsonl"), /^esmm: tune: --out cannot write in \/proc/);
  oneLineExit2(run("tune", "--profile", "quick", "--out", path.join(dir, "t.jsonl"), "--data-root", path.join(file, "data")), /^esmm: .*a-file\/data: the data cache .* cannot be written: .*a-file is a file/);
  assert.deepEqual(fs.readdirSync(dir).sort(), ["a-file", "tiny.json"]);
  assert.match(run("study", "--help").stdout, /One runner per results file: a study takes FILE\.lock .* is refused at once/s);
});
