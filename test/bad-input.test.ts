/**
 * Bad input on the command line (issue 15, point 5): every case gets exactly one line on stderr naming the
 * option, or the file with its row and column, exit code 2, no stack trace, and nothing half-written.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "./paths";
import { tempDir } from "./helpers";
import { COMMANDS } from "../lib/cli/main";
import { UsageError, parseCommandArgs } from "../lib/cli/args";
import { NumericRange, describeRange } from "../lib/ranges";
import { readLines, splitLines } from "../lib/data/line-reader";
import { checkStudySpec } from "../lib/study/spec-check";
import { studyProfile } from "../lib/study";
import { sensitivityStudy } from "../lib/study/sensitivity";
import { fairStudy } from "../lib/tune/protocol";
import { beyondDesign } from "../lib/tune/beyond";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
const run = (...args: string[]) => spawnSync(process.execPath, [ESMM, ...args], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } });

/** Exit 2 and exactly one line on stderr, without stack frames, matching every pattern. */
function assertOneLineExit2(r: ReturnType<typeof run>, ...patterns: RegExp[]): void {
  const what = `stderr: ${r.stderr}`;
  assert.equal(r.status, 2, what);
  assert.ok(!/^\s+at /m.test(r.stderr), `stack trace on stderr: ${r.stderr}`);
  assert.ok(/^esmm: [^\n]+\n$/.test(r.stderr), `not exactly one line: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr.trimEnd(), p);
}

/** The files under `dir` (recursively), or [] when it does not exist. */
function filesUnder(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]) : [];
}

/** A small simulated log (5 days of 4,000 impressions) in a fresh folder. */
function simulate(): string {
  const dir = tempDir();
  const r = run("simulate", "--impressions", "20000", "--days", "5", "--seed", "1", "--users", "300", "--ads", "80", "--out", dir);
  assert.equal(r.status, 0, r.stderr);
  return dir;
}

const copyLog = (from: string): string => {
  const to = tempDir();
  for (const f of fs.readdirSync(from)) if (f.endsWith(".csv") || f === "manifest.json") fs.copyFileSync(path.join(from, f), path.join(to, f));
  return to;
};

test("train: --keep-rate 0, --keep-rate 5 and --learning-rate 0 exit 2 with one line naming the option, before the data is read", () => {
  const log = simulate();
  const missing = path.join(tempDir(), "no-such-folder");
  for (const [option, value, range] of [
    ["--keep-rate", "0", /\(0, 1\]/],
    ["--keep-rate", "5", /\(0, 1\]/],
    ["--learning-rate", "0", /> 0/],
  ] as const) {
    for (const data of [log, missing]) {
      const out = path.join(tempDir(), "r.json");
      const r = run("train", "--model", "esmm", "--data", data, "--seed", "1", "--out", out, option, value);
      assertOneLineExit2(r, new RegExp(`^esmm: train: ${option} must be .*${range.source}.*got "${value}"`));
      assert.ok(!fs.existsSync(out), `${out} written`);
    }
  }
  assert.ok(!fs.existsSync(path.join(log, "log.bin")), "the log was read (log.bin written) before the options were checked");
  // A prepared folder was prepared once: options of preparation are refused by name, not ignored.
  const prepared = path.join(tempDir(), "prepared");
  assert.equal(run("prepare", "--data", log, "--out", prepared).status, 0);
  for (const option of ["--keep-rate", "--min-count", "--oov-mask-rate"]) {
    const out = path.join(tempDir(), "r.json");
    const r = run("train", "--model", "esmm", "--data", prepared, "--seed", "1", "--out", out, option, option === "--min-count" ? "3" : "0.5");
    assertOneLineExit2(r, new RegExp(`^esmm: train: ${option} applies to a simulated log, not to the prepared folder `));
    assert.ok(!fs.existsSync(out), `${out} written`);
  }
});

test("numeric options of each command: one line naming the option, its value and the allowed range, exit 2", () => {
  const out = tempDir();
  const cases: [string[], RegExp][] = [
    [["simulate", "--out", out, "--impressions", "1.5"], /^esmm: simulate: --impressions must be an integer >= 1, got "1\.5"$/],
    [["simulate", "--out", out, "--seed", "-1"], /^esmm: simulate: --seed must be an integer in \[0, 2147483647\], got "-1"$/],
    [["simulate", "--out", out, "--target-ctr", "0.7"], /^esmm: simulate: --target-ctr must be a number in \(0, 0\.5\), got "0\.7"$/],
    [["simulate", "--out", out, "--users", "0x10"], /^esmm: simulate: --users must be an integer >= 1, got "0x10"$/],
    [["prepare", "--data", out, "--out", out, "--later-days", "-1"], /^esmm: prepare: --later-days must be an integer >= 0, got "-1"$/],
    [["prepare", "--data", out, "--out", out, "--keep-rate", "abc"], /^esmm: prepare: --keep-rate must be a number in \(0, 1\], got "abc"$/],
    [["train", "--model", "esmm", "--data", out, "--seed", "1", "--out", "x.json", "--batch-size", "0"], /^esmm: train: --batch-size must be an integer >= 1, got "0"$/],
    [["train", "--model", "esmm", "--data", out, "--seed", "1", "--out", "x.json", "--learning-rate", "Infinity"], /--learning-rate must be a number > 0, got "Infinity"$/],
    [["study", "--workers", "0"], /^esmm: study: --workers must be an integer >= 1, got "0"$/],
    [["study", "--seed-list", "1,x"], /^esmm: study: --seed-list must be a comma-separated list of integers in \[0, 2147483647\], got "1,x"$/],
    [["study", "--shard", "auto", "--shards", "1.5"], /^esmm: study: --shards must be an integer >= 1, got "1\.5"$/],
    [["merge", "--out", path.join(out, "m.jsonl"), "--profile", "quick", "--seeds", "0", "x.jsonl"], /^esmm: merge: --seeds must be an integer >= 1, got "0"$/],
    [["stats", "--results", "x.jsonl", "--alpha", "1"], /^esmm: stats: --alpha must be a number in \(0, 1\), got "1"$/],
    [["study", "--profile", "quick", "--impressions", "3", "--results", path.join(out, "s.jsonl"), "--data-root", out], /^esmm: study: simulator option impressions = 3: must be .*>= days = 15/],
    [["bench", "--batch", "1024,0"], /^esmm: bench: --batch must be a comma-separated list of integers >= 1, got "1024,0"$/],
    [["bench", "--seeds", "3,0"], /^esmm: bench: --seeds must be a comma-separated list of integers in \[1, 64\], got "3,0"$/],
  ];
  for (const [args, pattern] of cases) assertOneLineExit2(run(...args), pattern);
  // The runner's environment variables, checked before any work too.
  const withEnv = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, [ESMM, ...args], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2", ...env } });
  for (const cmd of ["study", "tune"]) {
    assertOneLineExit2(withEnv({ ESMM_SEED_GROUP: "0" }, cmd, "--profile", "quick", "--data-root", out), new RegExp(`^esmm: ${cmd}: ESMM_SEED_GROUP must be a positive integer, got "0"$`));
    assertOneLineExit2(withEnv({ ESMM_WORKER_THREADS: "two" }, cmd, "--profile", "quick", "--data-root", out), new RegExp(`^esmm: ${cmd}: ESMM_WORKER_THREADS must be a positive integer, got "two"$`));
    assertOneLineExit2(withEnv({ ESMM_HUGE_PAGES: "yes" }, cmd, "--profile", "quick", "--data-root", out), new RegExp(`^esmm: ${cmd}: ESMM_HUGE_PAGES must be 0 or 1, got "yes"$`));
  }
  assertOneLineExit2(withEnv({ ESMM_HUGE_PAGES: "2" }, "bench", "--backend", "cpu"), /^esmm: bench: ESMM_HUGE_PAGES must be 0 or 1, got "2"$/);
  assert.deepEqual(filesUnder(out), [], "a command wrote before its options were checked");
});

/** Values outside `r` (or not numbers at all), and one value inside it. */
function valuesOf(r: NumericRange): { bad: string[]; good: number } {
  const bad = ["abc", "", "0x10", "Infinity", "NaN", "1,"];
  if (r.gt !== undefined) bad.push(String(r.gt));
  if (r.ge !== undefined) bad.push(String(r.ge - 1));
  if (r.lt !== undefined) bad.push(String(r.lt));
  if (r.le !== undefined) bad.push(String(r.le + 1));
  const low = r.gt ?? r.ge;
  const high = r.lt ?? r.le;
  if (r.integer) bad.push(String((low ?? 0) + 1.5));
  const good = r.ge !== undefined ? r.ge : r.le !== undefined ? r.le : low !== undefined ? (high !== undefined ? (low + high) / 2 : low + 1) : high !== undefined ? high - 1 : 1;
  return { bad, good };
}

test("every numeric option of every command declares its range, and a value outside it is refused by name before the command runs", () => {
  const numeric = Object.fromEntries(COMMANDS.map((c) => [c.name, Object.keys(c.options).filter((o) => c.options[o].number !== undefined).sort()]));
  assert.deepEqual(numeric, {
    simulate: ["ads", "days", "evaluation-days", "evaluation-multiplier", "hidden-selection", "impressions", "later-days-multiplier", "seed", "shared-factor-share", "target-ctr", "target-cvr", "users"],
    prepare: ["keep-rate", "later-days", "min-count", "oov-mask-rate", "seed", "test-fraction", "validation-fraction"],
    train: ["batch-size", "epochs", "keep-rate", "learning-rate", "min-count", "oov-mask-rate", "patience", "seed", "weight-decay"],
    bench: ["batch", "batches", "peer-threads", "repeat", "seeds", "threads", "vocabulary"],
    study: ["draws", "epochs", "evaluation-multiplier", "impressions", "seed-list", "seeds", "shards", "workers", "worlds"],
    tune: ["design-seed", "draws", "epochs", "evaluation-multiplier", "impressions", "repeats", "seed-list", "seeds", "trials", "workers", "worlds"],
    merge: ["draws", "epochs", "evaluation-multiplier", "impressions", "seed-list", "seeds", "worlds"],
    rescore: [],
    stats: ["alpha", "margin"],
    models: [],
  });
  for (const cmd of COMMANDS) {
    for (const [name, spec] of Object.entries(cmd.options)) {
      if (spec.number === undefined) continue;
      const { bad, good } = valuesOf(spec.number);
      const allowed = spec.list ? `a comma-separated list of ${describeRange(spec.number, true)}` : describeRange(spec.number);
      for (const value of bad) {
        for (const argv of [[`--${name}=${value}`], [`--${name}`, value]]) {
          assert.throws(
            () => parseCommandArgs(cmd, argv),
            (e: unknown) => e instanceof UsageError && e.message === `${cmd.name}: --${name} must be ${allowed}, got ${JSON.stringify(value)}`,
            `${cmd.name} ${argv.join(" ")}`,
          );
        }
      }
      const parsed = parseCommandArgs(cmd, [`--${name}`, String(good)])[name];
      assert.deepEqual(parsed, spec.list ? [good] : good, `${cmd.name} --${name} ${good}`);
    }
  }
});

test("simulate --impressions 3 --days 5: every day needs a row; one line, exit 2, nothing written", () => {
  const out = path.join(tempDir(), "log");
  assertOneLineExit2(run("simulate", "--impressions", "3", "--days", "5", "--seed", "1", "--out", out), /impressions = 3: must be .*>= days = 5/);
  assert.deepEqual(filesUnder(out), []);
});

test("splitLines reads text as readLines reads files: without a byte-order mark, \\r\\n or \\n, no extra last line", async () => {
  const dir = tempDir();
  const texts = ["", "a", "a\n", "\ufeffday,x\r\n1,2\r\n", "\ufeffday\n\n2", "a\r\nb\nc\r", "\r\n", "x\ufeff\n\ufeffy\n"];
  for (const [i, text] of texts.entries()) {
    const file = path.join(dir, `t${i}.txt`);
    fs.writeFileSync(file, text);
    const streamed: string[] = [];
    for await (const { text: line } of readLines(file, { chunkBytes: 3 })) streamed.push(line);
    assert.deepEqual(splitLines(text), streamed, JSON.stringify(text));
  }
  assert.deepEqual(splitLines("\ufeffday,x\r\n1,2\r\n"), ["day,x", "1,2"]);
  assert.deepEqual(splitLines("x\ufeff\n\ufeffy\n"), ["x\ufeff", "\ufeffy"]);
});

test("prepare reads day files saved with a byte-order mark or CRLF line ends, from the CSV files and from log.bin", () => {
  const log = simulate();
  const plain = path.join(log, "prepared");
  assert.equal(run("prepare", "--data", log, "--out", plain).status, 0);
  const edited = copyLog(log);
  const crlf = (file: string) => fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/\n/g, "\r\n"));
  const bom = (file: string) => fs.writeFileSync(file, "\ufeff" + fs.readFileSync(file, "utf8"));
  bom(path.join(edited, "day-00.csv"));
  crlf(path.join(edited, "day-01.csv"));
  bom(path.join(edited, "day-02.csv"));
  crlf(path.join(edited, "day-02.csv"));
  crlf(path.join(edited, "day-04.csv"));
  for (const pass of ["csv", "cache"]) {
    assert.equal(fs.existsSync(path.join(edited, "log.bin")), pass === "cache");
    const out = path.join(edited, `prepared-${pass}`);
    const r = run("prepare", "--data", edited, "--out", out);
    assert.equal(r.status, 0, `${pass}: ${r.stderr}`);
    assert.equal(r.stderr, "", pass);
    for (const f of fs.readdirSync(plain).filter((f) => f.endsWith(".bin"))) {
      assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(plain, f))), `${pass}: ${f} differs from the unedited log's`);
    }
  }
});

test("prepare on a log with an empty planned day (as simulate --impressions 3 --days 5 used to write): one line naming the day and its file, exit 2, no output", () => {
  const log = copyLog(simulate());
  const manifestFile = path.join(log, "manifest.json");
  const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
  manifest.days[3].impressions = 0;
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
  const dayFile = path.join(log, "day-03.csv");
  fs.writeFileSync(dayFile, fs.readFileSync(dayFile, "utf8").split("\n")[0] + "\n");
  const out = path.join(log, "p");
  assertOneLineExit2(run("prepare", "--data", log, "--out", out), /day-03\.csv/, /day 3 has no rows/);
  assert.deepEqual(filesUnder(out), []);
});

test("prepare on a log whose day column was edited to leave a gap: one line naming the file, row and column, exit 2, no output", () => {
  const log = copyLog(simulate());
  const dayFile = path.join(log, "day-02.csv");
  const [header, ...rows] = fs.readFileSync(dayFile, "utf8").split("\n");
  fs.writeFileSync(dayFile, [header, ...rows.map((r) => r.replace(/^2,/, "3,"))].join("\n"));
  const out = path.join(log, "p");
  assertOneLineExit2(run("prepare", "--data", log, "--out", out), new RegExp(`${dayFile.replace(/[.\\/]/g, "\\$&")}:2 column "day": day 3 in the file of day 2`));
  assert.deepEqual(filesUnder(out), []);
});

test("prepare on a log whose manifest skips a day: one line naming the manifest and the missing day, exit 2, no output", () => {
  const log = copyLog(simulate());
  const manifestFile = path.join(log, "manifest.json");
  const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
  manifest.days.splice(2, 1);
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
  const out = path.join(log, "p");
  assertOneLineExit2(run("prepare", "--data", log, "--out", out), /manifest\.json/, /day 2/);
  assert.deepEqual(filesUnder(out), []);
});

test("a malformed --spec file: one line naming the file and the field, exit 2, for every kind of field; the project's own specs pass the check", () => {
  const dir = tempDir("esmm-bad-spec-");
  const data = { simulator: { impressions: 20000, days: 6 }, simulatorSeed: 1, negativeKeepRate: 0.1, laterDays: 1, prepareSeed: 1 };
  const good = { name: "x", models: ["IP"], seeds: [1], data };
  const cases: [unknown, RegExp][] = [
    [[1], /field \(the whole file\): must be a JSON object/],
    [{ ...good, name: 3 }, /field name: must be a non-empty string, got 3/],
    [{ ...good, name: undefined }, /field name: is required/],
    [{ ...good, seed: [1] }, /field seed: is not a field of this object/],
    [{ ...good, models: ["IPX"] }, /field models\[0\]: must be a model of the zoo/],
    [{ ...good, models: [] }, /field models: must be a non-empty list/],
    [{ ...good, seeds: ["a"] }, /field seeds\[0\]: must be an integer .*got "a"/],
    [{ ...good, seeds: [1, 1] }, /field seeds: must be a list without a repeated value/],
    [{ ...good, data: {} }, /field data\.simulator: is required/],
    [{ ...good, data: { ...data, prepared: 5 } }, /field data\.prepared: must be an object, got 5/],
    [{ ...good, data: { ...data, prepared: { dir: "d" } } }, /field data\.prepared\.sha256: is required/],
    [{ ...good, data: { ...data, negativeKeepRate: 0 } }, /field data\.negativeKeepRate: must be .*got 0/],
    [{ ...good, data: { ...data, simulator: { impressions: "many" } } }, /field data\.simulator\.impressions: must be an integer .*got "many"/],
    [{ ...good, data: { ...data, simulator: { colour: 1 } } }, /field data\.simulator\.colour: is not a field/],
    [{ ...good, architecture: { sharedLayers: [64, "32"] } }, /field architecture\.sharedLayers\[1\]: must be an integer/],
    [{ ...good, train: { lossNormalization: "mean" } }, /field train\.lossNormalization: must be one of /],
    [{ ...good, worlds: "7,8" }, /field worlds: must be a list/],
    [{ ...good, variants: [{ name: "a", train: { batchSize: "big" } }] }, /field variants\[0\]\.train\.batchSize: must be an integer/],
    [{ ...good, variants: [{ name: "a" }, { name: "a" }] }, /field variants: two variants are named "a"/],
    [{ ...good, variants: [{ name: "a", models: { IPX: {} } }] }, /field variants\[0\]\.models\.IPX: must be a model of the zoo/],
    [{ ...good, worldPrior: "nowhere" }, /field worldPrior: must be one of /],
  ];
  cases.forEach(([spec, pattern], i) => {
    const file = path.join(dir, `spec-${i}.json`);
    fs.writeFileSync(file, JSON.stringify(spec));
    const r = run("study", "--spec", file, "--dry-run", "--results", path.join(dir, "r.jsonl"));
    assertOneLineExit2(r, new RegExp(`^esmm: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `), pattern);
    assert.doesNotMatch(r.stderr, /undefined/);
  });
  assert.ok(!fs.existsSync(path.join(dir, "r.jsonl")));
  // every spec the project makes, as JSON, passes
  const own = { studyProfile, sensitivityStudy, fairStudy, beyond: (p: "quick" | "full") => beyondDesign(p).base };
  for (const [name, make] of Object.entries(own)) {
    for (const profile of ["quick", "full"] as const) assert.doesNotThrow(() => checkStudySpec(JSON.parse(JSON.stringify(make(profile)))), `${name}(${profile})`);
  }
  assert.doesNotThrow(() => checkStudySpec(good));
  // the optional fields the simulator and the trainer gained: accepted in range, refused out of it
  const withOptions = JSON.parse(JSON.stringify(fairStudy("quick")));
  withOptions.data.simulator.hiddenSelection = 1;
  withOptions.variants = [{ name: "adamw", train: { weightDecay: 1e-5, weightDecayForm: "decoupled" } }];
  assert.doesNotThrow(() => checkStudySpec(withOptions));
  withOptions.data.simulator.hiddenSelection = 9;
  assert.throws(() => checkStudySpec(withOptions), /data\.simulator\.hiddenSelection/);
  withOptions.data.simulator.hiddenSelection = 1;
  withOptions.variants[0].train.weightDecayForm = "sideways";
  assert.throws(() => checkStudySpec(withOptions), /variants\[0\]\.train\.weightDecayForm/);
});
