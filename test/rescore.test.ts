/**
 * Runs keyed by what they compute (issue 23, point 2): `esmm rescore` gives back a record's metrics from its
 * stored predictions exactly, `esmm study --dry-run` lists the keys without training, and the keys do not
 * move when a comment is added to the compiled lib/train, lib/models or lib/metrics, but do when a golden
 * fixture changes by one byte.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./helpers";
import { PROJECT_DIR } from "./paths";
import { runStudy } from "../lib/study/runner";
import { readResults, StudyRecord } from "../lib/study/results";
import { rescoreResults } from "../lib/study/rescore";
import { DATA_FIXTURES, fixturesHash, MODEL_FIXTURES, NUMERICS_EPOCH, numericsVersion } from "../lib/study/numerics";
import type { StudySpec } from "../lib/study/spec";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
process.env.ESMM_WORKER_THREADS = "1";

const DATA_ROOT = tempDir("esmm-rescore-data-");
const TINY: StudySpec = {
  name: "tiny-rescore",
  models: ["ESMM", "IP"],
  seeds: [1],
  data: { simulator: { impressions: 20_000, days: 6, users: 150, ads: 30 }, simulatorSeed: 4, negativeKeepRate: 0.2, laterDays: 1, prepareSeed: 2 },
  train: { maxEpochs: 1, batchSize: 256 },
};

const esmm = (args: string[], cli = ESMM) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, ESMM_DATA_DIR: DATA_ROOT } });

/** The keys `esmm study --dry-run` prints for `spec` (in grid order), with their status. */
function dryRunKeys(cli: string, specFile: string, results: string): { status: string; key: string }[] {
  const r = esmm(["study", "--spec", specFile, "--results", results, "--dry-run"], cli);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split("\n")
    .slice(2) // summary line, column names
    .map((line) => {
      const cells = line.trim().split(/\s+/);
      return { status: cells[0], key: cells[cells.length - 1] };
    });
}

let study: { file: string; text: string; records: StudyRecord[]; specFile: string } | undefined;

test("a tiny study, and its dry run: every run done, with the records' keys; nothing written", async () => {
  const dir = tempDir("esmm-rescore-");
  const file = path.join(dir, "tiny.jsonl");
  const specFile = path.join(dir, "tiny.json");
  fs.writeFileSync(specFile, JSON.stringify(TINY));
  const before = dryRunKeys(ESMM, specFile, file);
  assert.deepEqual(before.map((r) => r.status), ["train", "train"]);
  assert.ok(before.every((r) => r.key.startsWith("?")), "keys unknown before the data is prepared");
  assert.ok(!fs.existsSync(file), "the dry run writes no results file");

  const summary = await runStudy(TINY, { results: file, workers: 1, dataRoot: DATA_ROOT, progress: false, log: () => {} });
  assert.equal(summary.done, 2);
  const records = readResults(file).records;
  for (const r of records) assert.equal(r.numericsVersion, numericsVersion());
  const listed = dryRunKeys(ESMM, specFile, file);
  assert.deepEqual(listed, records.map((r) => ({ status: "done", key: r.key })));
  study = { file, text: fs.readFileSync(file, "utf8"), records, specFile };
});

test("rescoring an untouched file reproduces every metric exactly and leaves the file as it was", () => {
  assert.ok(study, "needs the first test");
  const s = rescoreResults(study.file, { dataRoot: DATA_ROOT });
  assert.deepEqual([s.records, s.changed, s.unchanged, s.failed.length, s.rewritten], [2, 0, 2, 0, false]);
  assert.equal(fs.readFileSync(study.file, "utf8"), study.text);
});

test("esmm rescore gives a record's stripped or corrupted metrics back exactly, and rewrites only that line", () => {
  assert.ok(study, "needs the first test");
  const lines = study.text.split("\n");
  const broken = JSON.parse(lines[0]) as StudyRecord;
  broken.test.metrics.ctcvr.logLoss = 999;
  delete (broken.test.metrics as Partial<typeof broken.test.metrics>).ctr;
  delete broken.test.ctcvrFolds;
  broken.reliability = [];
  lines[0] = JSON.stringify(broken);
  fs.writeFileSync(study.file, lines.join("\n"));

  const r = esmm(["rescore", "--results", study.file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2 record\(s\) in .*: 1 changed, 1 unchanged; .* rewritten/);
  const after = fs.readFileSync(study.file, "utf8").split("\n");
  assert.equal(after[1], study.text.split("\n")[1], "the untouched record's line is kept byte for byte");
  const fixed = JSON.parse(after[0]) as StudyRecord;
  const original = study.records[0];
  assert.deepEqual(fixed.test, original.test);
  assert.deepEqual(fixed.reliability, original.reliability);
  assert.equal(fixed.rescored?.codeVersion, original.codeVersion);
  assert.deepEqual({ ...fixed, rescored: undefined }, { ...original, rescored: undefined });
  assert.deepEqual(fs.readdirSync(path.dirname(study.file)).filter((f) => f.includes("rescore")), [], "no temporary file left");
});

test("esmm rescore --help and bad options: one line, exit 2", () => {
  const help = esmm(["rescore", "--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: esmm rescore --results FILE\.jsonl/);
  for (const [args, pattern] of [
    [[], /rescore: --results is required/],
    [["--results", "nope.jsonl"], /--results nope\.jsonl does not exist/],
    [["--results", "x.csv"], /--results must end in \.jsonl/],
    [["--results", study!.file, "--predictions", "/nonexistent-dir"], /predictions folder \/nonexistent-dir does not exist/],
    [["--results", study!.file, "--bogus"], /bogus/],
  ] as [string[], RegExp][]) {
    const r = esmm(["rescore", ...args]);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

test("the keys do not depend on comments in lib/train, lib/models, lib/metrics; one fixture byte changes them", () => {
  assert.ok(study, "needs the first test");
  // A copy of the compiled project (the library, the CLI, the fixtures): its sources can be edited freely.
  const copy = tempDir("esmm-numerics-copy-");
  for (const f of ["package.json", "bin", "build/lib", ...MODEL_FIXTURES, ...DATA_FIXTURES]) {
    fs.cpSync(path.join(PROJECT_DIR, f), path.join(copy, f), { recursive: true });
  }
  fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(copy, "node_modules"));
  const cli = path.join(copy, "bin", "esmm.js");
  const want = study.records.map((r) => ({ status: "done", key: r.key }));
  assert.deepEqual(dryRunKeys(cli, study.specFile, study.file), want, "the copy keys as the project does");

  const sourceHash = () => {
    const r = spawnSync(process.execPath, ["-e", `process.stdout.write(require(${JSON.stringify(path.join(copy, "build/lib/study/numerics.js"))}).codeVersion())`], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const codeBefore = sourceHash();
  for (const f of ["build/lib/train/trainer.js", "build/lib/models/zoo.js", "build/lib/metrics/index.js"]) {
    fs.appendFileSync(path.join(copy, f), "\n// a comment changes no number\n");
  }
  assert.notEqual(sourceHash(), codeBefore, "the source hash (kept in records for audit) sees the comments");
  assert.deepEqual(dryRunKeys(cli, study.specFile, study.file), want, "the keys do not");

  const fixture = path.join(copy, MODEL_FIXTURES[0]);
  const bytes = fs.readFileSync(fixture);
  const at = bytes.indexOf("0.1", 0, "latin1") + 2; // the "1" of the first golden number starting 0.1
  bytes[at] = 0x32; // 0.1... -> 0.2...
  fs.writeFileSync(fixture, bytes);
  const moved = dryRunKeys(cli, study.specFile, study.file);
  assert.deepEqual(moved.map((r) => r.status), ["train", "train"]);
  for (const [k, r] of moved.entries()) assert.notEqual(r.key, want[k].key);
});

test("fixturesHash: the epoch and every listed fixture's bytes, CRLF read as LF; undefined when one is missing", () => {
  const root = tempDir("esmm-numerics-");
  fs.mkdirSync(path.join(root, "f"));
  fs.writeFileSync(path.join(root, "f/a.json"), '{"x": 1}\n');
  fs.writeFileSync(path.join(root, "f/b.json"), "[2]\n");
  const h = fixturesHash(root, ["f/a.json", "f/b.json"]);
  assert.match(h ?? "", /^[0-9a-f]{64}$/);
  assert.notEqual(fixturesHash(root, ["f/a.json", "f/b.json"], NUMERICS_EPOCH + 1), h, "the epoch");
  assert.notEqual(fixturesHash(root, ["f/a.json"]), h, "the list");
  fs.writeFileSync(path.join(root, "f/a.json"), '{"x": 1}\r\n');
  assert.equal(fixturesHash(root, ["f/a.json", "f/b.json"]), h, "line endings");
  fs.writeFileSync(path.join(root, "f/b.json"), "[3]\n");
  assert.notEqual(fixturesHash(root, ["f/a.json", "f/b.json"]), h, "one byte");
  assert.equal(fixturesHash(root, ["f/a.json", "f/missing.json"]), undefined);
});
