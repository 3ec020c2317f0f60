/**
 * Studies across machines (issue 14, point 3): `esmm study --shard auto --shards N` takes its shard from the
 * array index of Slurm (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN), Kubernetes Indexed Jobs
 * (JOB_COMPLETION_INDEX) or AWS Batch (AWS_BATCH_JOB_ARRAY_INDEX); `esmm merge` combines the shards' files
 * into exactly the unsharded study's records; the Slurm script, the Job manifest and the Dockerfile agree.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "./paths";
import { tempDir } from "./helpers";
import { expandGrid, StudySpec } from "../lib/study/spec";
import { readResults, StudyRecord } from "../lib/study/results";
import { shardFromEnvironment, shardOf, SHARD_INDEX_VARIABLES } from "../lib/study/shard";
import { seedGroups, seedGroupSize } from "../lib/study/seed-groups";
import { resultDifference } from "../lib/study/merge";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");

/** The environment without any array index (the tests may run inside an array job) or thread setting. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("SLURM_") || k.startsWith("AWS_BATCH_") || k === "JOB_COMPLETION_INDEX") continue;
    env[k] = v;
  }
  // one compute thread per worker: bit-reproducible runs whatever the process
  return { ...env, ESMM_WORKER_THREADS: "1", TF_CPP_MIN_LOG_LEVEL: "2", ...extra };
}

const esmm = (args: string[], env: Record<string, string> = {}, cwd = PROJECT_DIR) =>
  spawnSync(process.execPath, [ESMM, ...args], { encoding: "utf8", env: cleanEnv(env), cwd });

/** Exit 2 and exactly one line on stderr, without stack frames, matching every pattern. */
function assertOneLineExit2(r: ReturnType<typeof esmm>, ...patterns: RegExp[]): void {
  assert.equal(r.status, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.ok(/^esmm: [^\n]+\n$/.test(r.stderr), `not exactly one line: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr.trimEnd(), p);
}

const DIR = tempDir("esmm-shards-");
const DATA_ROOT = path.join(DIR, "data");
// 6 runs: (seed 1: ESMM, IP, ESMM-NS), (seed 2: ESMM, IP, ESMM-NS). With seed groups (the default), each
// model's two seeds are one group and the 3 shards take one group each; with ESMM_SEED_GROUP=1, grid
// positions {0, 3}, {1, 4}, {2, 5}.
const TINY: StudySpec = {
  name: "tiny-shards",
  models: ["ESMM", "IP", "ESMM-NS"],
  seeds: [1, 2],
  data: { simulator: { impressions: 30_000, days: 6, users: 200, ads: 40 }, simulatorSeed: 3, negativeKeepRate: 0.1, laterDays: 2, prepareSeed: 3 },
  train: { maxEpochs: 1, batchSize: 256 },
};
const SPEC_FILE = path.join(DIR, "tiny.json");
fs.writeFileSync(SPEC_FILE, JSON.stringify(TINY));
const GRID = expandGrid(TINY);
const runName = (r: { model: string; seed: number }) => `${r.model}/${r.seed}`;

/** Each engine's variables for array index k (Slurm's array here starts at 4, to exercise the offset). */
const ENGINES: { name: string; env: (k: number) => Record<string, string> }[] = [
  { name: "SLURM_ARRAY_TASK_ID", env: (k) => ({ SLURM_ARRAY_TASK_ID: String(4 + k), SLURM_ARRAY_TASK_MIN: "4", SLURM_ARRAY_TASK_COUNT: "3" }) },
  { name: "JOB_COMPLETION_INDEX", env: (k) => ({ JOB_COMPLETION_INDEX: String(k) }) },
  { name: "AWS_BATCH_JOB_ARRAY_INDEX", env: (k) => ({ AWS_BATCH_JOB_ARRAY_INDEX: String(k) }) },
];

let unsharded: { file: string; records: StudyRecord[] } | undefined;
let shardFiles: string[] = [];

test("shardFromEnvironment: 0-based index k is shard k+1, Slurm offset by its first task, precedence Slurm > Kubernetes > AWS Batch", () => {
  assert.deepEqual(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "7", SLURM_ARRAY_TASK_MIN: "5" }, 3), { index: 3, count: 3, from: "SLURM_ARRAY_TASK_ID=7 (minus SLURM_ARRAY_TASK_MIN=5)" });
  assert.deepEqual(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "0" }, 3), { index: 1, count: 3, from: "SLURM_ARRAY_TASK_ID=0" });
  assert.equal(shardFromEnvironment({ JOB_COMPLETION_INDEX: "2" }, 3).index, 3);
  assert.equal(shardFromEnvironment({ AWS_BATCH_JOB_ARRAY_INDEX: "0" }, 1).index, 1);
  // the first that is set (non-empty) decides, even when a later one would be out of range or garbage
  assert.equal(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "1", JOB_COMPLETION_INDEX: "x", AWS_BATCH_JOB_ARRAY_INDEX: "9" }, 3).index, 2);
  assert.equal(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: " ", JOB_COMPLETION_INDEX: "0", AWS_BATCH_JOB_ARRAY_INDEX: "2" }, 3).index, 1);
  assert.equal(shardFromEnvironment({ JOB_COMPLETION_INDEX: "", AWS_BATCH_JOB_ARRAY_INDEX: "2" }, 3).index, 3);
  for (const [env, pattern] of [
    [{}, /none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX is set/],
    [{ JOB_COMPLETION_INDEX: "3" }, /^JOB_COMPLETION_INDEX=3: index 3 is out of range for 3 shard\(s\) \(0\.\.2\)$/],
    [{ AWS_BATCH_JOB_ARRAY_INDEX: "-1" }, /^AWS_BATCH_JOB_ARRAY_INDEX must be a non-negative integer, got "-1"$/],
    [{ AWS_BATCH_JOB_ARRAY_INDEX: "1.5" }, /AWS_BATCH_JOB_ARRAY_INDEX must be a non-negative integer/],
    [{ SLURM_ARRAY_TASK_ID: "abc" }, /^SLURM_ARRAY_TASK_ID must be a non-negative integer, got "abc"$/],
    [{ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "x" }, /^SLURM_ARRAY_TASK_MIN must be a non-negative integer/],
    [{ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "3" }, /out of range/],
    [{ SLURM_ARRAY_TASK_ID: "8", SLURM_ARRAY_TASK_MIN: "5" }, /index 3 is out of range for 3 shard/],
    // resubmitting one task (--array=2) would make it shard 1: refused by the task count
    [{ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "2", SLURM_ARRAY_TASK_COUNT: "1" }, /SLURM_ARRAY_TASK_COUNT=1 but --shards 3/],
  ] as [NodeJS.ProcessEnv, RegExp][]) {
    assert.throws(() => shardFromEnvironment(env, 3), (e: Error) => pattern.test(e.message) && !e.message.includes("\n"), JSON.stringify(env));
  }
  assert.deepEqual([...SHARD_INDEX_VARIABLES], ENGINES.map((e) => e.name));
});

test("esmm study --shard auto: a missing, out-of-range or garbage index, or a missing --shards, is one line and exit 2, before anything is written", () => {
  const out = path.join(DIR, "refused");
  fs.mkdirSync(out);
  const base = ["study", "--spec", SPEC_FILE, "--data-root", out, "--results", path.join(out, "r.jsonl")];
  const auto = [...base, "--shard", "auto", "--shards", "3"];
  assertOneLineExit2(esmm(auto), /^esmm: study: --shard: no array index in the environment: none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX is set/);
  assertOneLineExit2(esmm(auto, { JOB_COMPLETION_INDEX: "3" }), /^esmm: study: --shard: JOB_COMPLETION_INDEX=3: index 3 is out of range for 3 shard\(s\)/);
  assertOneLineExit2(esmm(auto, { SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_MIN: "1" }), /SLURM_ARRAY_TASK_ID=4 \(minus SLURM_ARRAY_TASK_MIN=1\): index 3 is out of range for 3 shard/);
  assertOneLineExit2(esmm(auto, { AWS_BATCH_JOB_ARRAY_INDEX: "two" }), /^esmm: study: --shard: AWS_BATCH_JOB_ARRAY_INDEX must be a non-negative integer, got "two"$/);
  assertOneLineExit2(esmm([...base, "--shard", "auto"], { JOB_COMPLETION_INDEX: "0" }), /^esmm: study: --shard: auto needs --shards N/);
  assertOneLineExit2(esmm([...base, "--shards", "3"], { JOB_COMPLETION_INDEX: "0" }), /^esmm: study: --shards N goes with --shard auto$/);
  assertOneLineExit2(esmm([...base, "--shard", "auto", "--shards", "0"], { JOB_COMPLETION_INDEX: "0" }), /^esmm: study: --shards must be an integer >= 1, got "0"$/);
  assert.deepEqual(fs.readdirSync(out), [], "written before the shard was checked");
});

test("the unsharded tiny study (the reference)", () => {
  const file = path.join(DIR, "whole", "tiny.jsonl");
  const r = esmm(["study", "--spec", SPEC_FILE, "--results", file, "--data-root", DATA_ROOT, "--workers", "1"]);
  assert.equal(r.status, 0, r.stderr);
  const { records, problems } = readResults(file);
  assert.deepEqual(problems, []);
  assert.deepEqual(records.map(runName).sort(), GRID.map(runName).sort());
  unsharded = { file, records };
});

for (const [k, engine] of ENGINES.entries()) {
  test(`esmm study --shard auto --shards 3 with ${engine.name} (array index ${k}) runs shard ${k + 1}/3 into runs/<study>.shard-${k + 1}-of-3.jsonl`, () => {
    // A fresh working folder per task, as on separate machines: the default results path is relative to it.
    const cwd = path.join(DIR, `machine-${k}`);
    fs.mkdirSync(cwd);
    const r = esmm(["study", "--spec", SPEC_FILE, "--shard", "auto", "--shards", "3", "--data-root", DATA_ROOT, "--workers", "1"], engine.env(k), cwd);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`study: --shard auto: shard ${k + 1}/3 from ${engine.name}=`));
    const file = path.join(cwd, "runs", `tiny-shards.shard-${k + 1}-of-3.jsonl`);
    const mine = readResults(file).records.map(runName).sort();
    const size = seedGroupSize(cleanEnv());
    const expected = shardOf(GRID, { index: k + 1, count: 3 }, size > 1 ? seedGroups(GRID, size).groupOf : undefined).map((x) => runName(x.item));
    assert.equal(expected.length, 2);
    assert.deepEqual(mine, expected.sort(), size > 1 ? "seed group g in shard (g mod 3) + 1" : "grid positions j with j mod 3 = k");
    shardFiles[k] = file;
  });
}

/** Copies `file` to `to` with each record passed through `edit`. */
function rewrite(file: string, to: string, edit: (r: StudyRecord) => StudyRecord | string): string {
  const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  fs.writeFileSync(to, lines.map((l) => { const e = edit(JSON.parse(l)); return (typeof e === "string" ? e : JSON.stringify(e)) + "\n"; }).join(""));
  return to;
}

test("esmm merge: the three shards (one of them twice, with other timings) give exactly the unsharded study's records and predictions", () => {
  assert.ok(unsharded && shardFiles.length === 3 && shardFiles.every(Boolean), "needs the study tests above");
  const dir = path.join(DIR, "merge-ok");
  fs.mkdirSync(dir);
  // shard 1 again, as a second machine that ran it: same key, same results, other time, pid, speed and tensor count (a compacted group)
  const again = rewrite(shardFiles[0], path.join(dir, "again.jsonl"), (r) => ({
    ...r,
    finishedAt: "2000-01-01T00:00:00.000Z",
    runtime: { ...r.runtime, pid: 1 },
    timings: { ...r.timings, totalSeconds: r.timings.totalSeconds + 1 },
    training: { ...r.training, epochs: r.training.epochs.map((e) => ({ ...e, examplesPerSecond: 1, numTensors: e.numTensors - 1 })) },
  }));
  const out = path.join(dir, "tiny.jsonl");
  const r = esmm(["merge", "--out", out, ...shardFiles, again, "--spec", SPEC_FILE]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^merge: 6 run\(s\) from 4 file\(s\) .* written to .*; 2 duplicate\(s\) with equal results dropped$/m);
  assert.match(r.stdout, /^merge: predictions in .*: 6 copied, 0 already there, 0 not found$/m);
  assert.match(r.stdout, /^merge: grid of 6 run\(s\): 6 present, 0 missing$/m);
  assert.doesNotMatch(r.stdout, /missing:/);

  const merged = readResults(out);
  assert.deepEqual(merged.problems, []);
  assert.equal(merged.duplicates, 0);
  const whole = new Map(unsharded.records.map((x) => [x.key, x]));
  assert.deepEqual([...merged.byKey.keys()].sort(), [...whole.keys()].sort(), "the same run keys");
  for (const m of merged.records) {
    const u = whole.get(m.key)!;
    assert.deepEqual(m.test, u.test, `${runName(m)}: test metrics`);
    assert.deepEqual(m.later, u.later, `${runName(m)}: later days`);
    assert.deepEqual(m.training.epochs.map((e) => e.valLoss), u.training.epochs.map((e) => e.valLoss));
    assert.deepEqual(m.reliability, u.reliability);
    assert.equal(resultDifference(m, u), undefined);
    // each test prediction as the unsharded run wrote it
    const bin = (results: string) => fs.readFileSync(path.join(results.replace(/\.jsonl$/, ".predictions"), `${m.key}.bin`));
    assert.ok(bin(out).equals(bin(unsharded.file)), `${runName(m)}: predictions`);
  }
  assert.equal(fs.readdirSync(dir).filter((f) => f.includes(".tmp")).length, 0, "no temporary file left");

  // Merging into an existing output keeps its runs (a merge can be rerun as shards finish).
  const again2 = esmm(["merge", "--out", out, shardFiles[2]]);
  assert.equal(again2.status, 0, again2.stderr);
  assert.match(again2.stdout, /^merge: 6 run\(s\) from 2 file\(s\) .*; 2 duplicate\(s\) with equal results dropped$/m);
  assert.equal(readResults(out).records.length, 6);
});

test("esmm merge: conflicting duplicates are refused naming the key and both files; nothing is written", () => {
  assert.ok(shardFiles[1], "needs the study tests above");
  const dir = path.join(DIR, "merge-conflict");
  fs.mkdirSync(dir);
  const [rec] = readResults(shardFiles[1]).records;
  const other = rewrite(shardFiles[1], path.join(dir, "other-backend.jsonl"), (r) => {
    const x = structuredClone(r);
    x.test.metrics.ctcvr.logLoss *= 1.0001;
    return x;
  });
  const out = path.join(dir, "tiny.jsonl");
  const r = esmm(["merge", "--out", out, shardFiles[1], other]);
  assertOneLineExit2(
    r,
    new RegExp(`^esmm: ${other.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1: run ${rec.key} \\(IP seed 1, world 3, draw 3 \\(variant default\\)\\) is also in ${shardFiles[1].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1 with different results \\(test\\.metrics\\.ctcvr\\.logLoss: `),
  );
  assert.deepEqual(fs.readdirSync(dir), ["other-backend.jsonl"], "the output (or a temporary file) was written");
});

test("esmm merge: a line that is not a run record stops the merge naming the file and line", () => {
  assert.ok(shardFiles[0], "needs the study tests above");
  const dir = path.join(DIR, "merge-bad");
  fs.mkdirSync(dir);
  const out = path.join(dir, "tiny.jsonl");
  const text = fs.readFileSync(shardFiles[0], "utf8");
  const cases: [string, RegExp][] = [
    [text + "{not json\n", /:3: not JSON/],
    [text.replace(/\n$/, "") + "\n" + JSON.stringify({ hello: 1 }) + "\n", /:3: not a run record: no run key/],
    [JSON.stringify({ ...JSON.parse(text.split("\n")[0]), seed: "1" }) + "\n", /:1: not a run record: no integer seed/],
    [text + text.split("\n")[0].slice(0, 200), /:3: not JSON \(a partial last line: rerun the shard that wrote it/],
  ];
  for (const [i, [content, pattern]] of cases.entries()) {
    const bad = path.join(dir, `bad-${i}.jsonl`);
    fs.writeFileSync(bad, content);
    assertOneLineExit2(esmm(["merge", "--out", out, shardFiles[1], bad]), new RegExp(`^esmm: ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`), pattern);
    assert.ok(!fs.existsSync(out), `case ${i}: the output was written`);
  }
  assertOneLineExit2(esmm(["merge", "--out", out]), /^esmm: merge: no results files to merge/);
  assertOneLineExit2(esmm(["merge", "--out", out, path.join(dir, "nope.jsonl")]), /^esmm: merge: .*nope\.jsonl does not exist$/);
  assertOneLineExit2(esmm(["merge", "--out", out, shardFiles[0], "--models", "ESMM"]), /^esmm: merge: --models needs --profile or --spec/);
  assertOneLineExit2(esmm(["merge", shardFiles[0]]), /^esmm: merge: --out is required$/);
});

test("esmm merge --spec: lists the grid's runs no shard has computed yet", () => {
  assert.ok(shardFiles[0] && shardFiles[1], "needs the study tests above");
  const out = path.join(DIR, "merge-missing", "tiny.jsonl");
  const r = esmm(["merge", "--out", out, shardFiles[0], shardFiles[1], "--spec", SPEC_FILE]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^merge: grid of 6 run\(s\): 4 present, 2 missing$/m);
  // shard 3 (group 2, or grid positions 2 and 5 without groups): ESMM-NS, seeds 1 and 2
  assert.deepEqual(r.stdout.split("\n").filter((l) => l.includes("missing:")), [
    "  missing: ESMM-NS seed 1, world 3, draw 3 (variant default)",
    "  missing: ESMM-NS seed 2, world 3, draw 3 (variant default)",
  ]);
  assert.equal(readResults(out).records.length, 4);
  // The same files against a bigger grid (a third seed): its three runs are missing too.
  const bigger = esmm(["merge", "--out", out, shardFiles[0], shardFiles[1], "--spec", SPEC_FILE, "--seeds", "3"]);
  assert.equal(bigger.status, 0, bigger.stderr);
  assert.match(bigger.stdout, /^merge: grid of 9 run\(s\): 4 present, 5 missing$/m);
  const help = esmm(["merge", "--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: esmm merge --out FILE\.jsonl SHARD\.jsonl/);
});

// ---------------------------------------------------------------------------------------------
// deploy/

/** A YAML subset, enough for the manifest: block maps and sequences, flow sequences of scalars, {}, scalars, comments. */
type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };
function parseYamlSubset(text: string): Yaml[] {
  return text.split(/^---[ \t]*$/m).map((doc) => {
    const lines = doc
      .split("\n")
      .map((l) => l.replace(/(^|\s)#.*$/, "").trimEnd())
      .filter((l) => l.trim() !== "")
      .map((l) => ({ indent: l.length - l.trimStart().length, text: l.trim() }));
    let i = 0;
    const KEY = /^([A-Za-z0-9_./-]+):(?:\s+(.*))?$/;
    const scalar = (s: string): Yaml => {
      if (s.startsWith('"')) return JSON.parse(s) as string;
      if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
      if (s === "{}") return {};
      if (s.startsWith("[")) return (s.slice(1, -1).match(/"(?:[^"\\]|\\.)*"|'[^']*'|[^,\s][^,]*/g) ?? []).map((x) => scalar(x.trim()));
      if (/^(true|false)$/.test(s)) return s === "true";
      if (/^-?\d+$/.test(s)) return Number(s);
      if (s === "null" || s === "~") return null;
      assert.ok(!/^[{&*!|>]/.test(s), `YAML beyond the subset: ${s}`);
      return s;
    };
    const block = (indent: number): Yaml => {
      if (lines[i].text === "-" || lines[i].text.startsWith("- ")) {
        const items: Yaml[] = [];
        while (i < lines.length && lines[i].indent === indent && (lines[i].text === "-" || lines[i].text.startsWith("- "))) {
          const rest = lines[i].text.slice(1).trimStart();
          if (rest === "") {
            i++;
            items.push(block(lines[i].indent));
          } else if (KEY.test(rest)) {
            lines[i] = { indent: indent + lines[i].text.length - rest.length, text: rest }; // "- k: v" opens a map
            items.push(block(lines[i].indent));
          } else {
            items.push(scalar(rest));
            i++;
          }
        }
        return items;
      }
      const map: Record<string, Yaml> = {};
      while (i < lines.length && lines[i].indent === indent) {
        const m = KEY.exec(lines[i].text);
        assert.ok(m, `YAML beyond the subset: ${lines[i].text}`);
        i++;
        if (m[2] !== undefined) map[m[1]] = scalar(m[2]);
        else if (i < lines.length && (lines[i].indent > indent || (lines[i].indent === indent && lines[i].text.startsWith("- ")))) map[m[1]] = block(lines[i].indent);
        else map[m[1]] = null;
      }
      assert.ok(i === lines.length || lines[i].indent < indent, `bad indentation at: ${lines[i]?.text}`);
      return map;
    };
    if (lines.length === 0) return null;
    const value = block(lines[0].indent);
    assert.equal(i, lines.length, `unparsed YAML from: ${lines[i]?.text}`);
    return value;
  }).filter((d) => d !== null);
}

const obj = (x: Yaml | undefined, what: string): Record<string, Yaml> => {
  assert.ok(x && typeof x === "object" && !Array.isArray(x), `${what} is not a map`);
  return x as Record<string, Yaml>;
};
const list = (x: Yaml | undefined, what: string): Yaml[] => {
  assert.ok(Array.isArray(x), `${what} is not a list`);
  return x;
};

test("the YAML subset parser reads what it claims (so the manifest check below can fail)", () => {
  const [doc] = parseYamlSubset("a:\n  b: 1\n  c: [\"x\", y]\n  d:\n    - e: 'f'\n      g: {}\n    - h\n  i:\n  - 2 # comment\n");
  assert.deepEqual(doc, { a: { b: 1, c: ["x", "y"], d: [{ e: "f", g: {} }, "h"], i: [2] } });
});

test("deploy/k8s/study-job.yaml: an Indexed Job of N completions whose container runs --shard auto --shards N with the index, results on a volume", () => {
  const docs = parseYamlSubset(fs.readFileSync(path.join(PROJECT_DIR, "deploy", "k8s", "study-job.yaml"), "utf8")).map((d, i) => obj(d, `document ${i}`));
  const job = docs.find((d) => d.kind === "Job");
  assert.ok(job, "no kind: Job");
  assert.equal(job.apiVersion, "batch/v1");
  const spec = obj(job.spec, "spec");
  assert.equal(spec.completionMode, "Indexed");
  const n = spec.completions;
  assert.ok(typeof n === "number" && n >= 2, `completions ${n}`);
  assert.ok(typeof spec.parallelism === "number" && spec.parallelism >= 1 && spec.parallelism <= n, `parallelism ${spec.parallelism} for ${n} completions`);
  const pod = obj(obj(spec.template, "template").spec, "template.spec");
  assert.ok(pod.restartPolicy === "Never" || pod.restartPolicy === "OnFailure", `restartPolicy ${pod.restartPolicy}`);
  const containers = list(pod.containers, "containers").map((c, i) => obj(c, `container ${i}`));
  assert.equal(containers.length, 1);
  const [c] = containers;
  // The image's entrypoint is `node bin/esmm.js` (Dockerfile): args are esmm's arguments, unless the command replaces it.
  assert.equal(c.command, undefined, "command would replace the image's entrypoint");
  const args = list(c.args, "args").map(String);
  assert.equal(args[0], "study");
  const at = args.indexOf("--shard");
  assert.ok(at > 0 && args[at + 1] === "auto", `--shard auto in ${args.join(" ")}`);
  assert.equal(args[args.indexOf("--shards") + 1], String(n), "--shards is not spec.completions");
  // The index reaches the process as JOB_COMPLETION_INDEX, from the pod's completion-index annotation.
  const env = list(c.env, "env").map((e) => obj(e, "env entry"));
  const index = env.find((e) => e.name === "JOB_COMPLETION_INDEX");
  assert.ok(index, "JOB_COMPLETION_INDEX not in env");
  assert.equal(obj(obj(index.valueFrom, "valueFrom").fieldRef, "fieldRef").fieldPath, "metadata.annotations['batch.kubernetes.io/job-completion-index']");
  for (const e of env) assert.ok(!["SLURM_ARRAY_TASK_ID", "AWS_BATCH_JOB_ARRAY_INDEX"].includes(String(e.name)), `${e.name} would take precedence`);
  // runs/ (the default results folder, relative to the working folder) is a mounted volume, backed by the claim.
  const workingDir = String(c.workingDir ?? "/app");
  const mounts = list(c.volumeMounts, "volumeMounts").map((m) => obj(m, "mount"));
  const runs = mounts.find((m) => m.mountPath === `${workingDir}/runs`);
  assert.ok(runs, `no volume at ${workingDir}/runs`);
  const volumes = list(pod.volumes, "volumes").map((v) => obj(v, "volume"));
  for (const m of mounts) assert.ok(volumes.some((v) => v.name === m.name), `mount ${m.name} has no volume`);
  const runsVolume = volumes.find((v) => v.name === runs.name)!;
  const claim = obj(runsVolume.persistentVolumeClaim, "runs volume's persistentVolumeClaim").claimName;
  const pvc = docs.find((d) => d.kind === "PersistentVolumeClaim" && obj(d.metadata, "metadata").name === claim);
  assert.ok(pvc, `no PersistentVolumeClaim ${claim}`);
  assert.ok(list(obj(pvc.spec, "pvc spec").accessModes, "accessModes").includes("ReadWriteMany"), "pods on several nodes write runs/");
  const dataRoot = args[args.indexOf("--data-root") + 1];
  assert.ok(dataRoot && mounts.some((m) => dataRoot.startsWith(`${m.mountPath}/`)), `--data-root ${dataRoot} is on no mounted volume`);
  // The Dockerfile's working folder is the one the manifest assumes.
  assert.match(fs.readFileSync(path.join(PROJECT_DIR, "Dockerfile"), "utf8"), new RegExp(`^WORKDIR ${workingDir}$`, "m"));
});

test("Dockerfile: node:20-bookworm-slim, npm ci, the build, entrypoint node bin/esmm.js", () => {
  const text = fs.readFileSync(path.join(PROJECT_DIR, "Dockerfile"), "utf8");
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.ok(froms.length >= 1 && froms.every((f) => f === "node:20-bookworm-slim"), froms.join(", "));
  assert.match(text, /^RUN npm ci\b/m);
  assert.match(text, /^RUN .*typescript\/bin\/tsc -p tsconfig\.json/m);
  assert.match(text, /^ENTRYPOINT \["node", "bin\/esmm\.js"\]$/m);
  const ignore = fs.readFileSync(path.join(PROJECT_DIR, ".dockerignore"), "utf8").split("\n");
  for (const p of ["node_modules", "build", "runs", "data"]) assert.ok(ignore.includes(p), `.dockerignore lacks ${p}`);
});

test("deploy/slurm/study.sbatch: bash -n, an array of N tasks of 2 CPUs, each running esmm study --shard auto --shards N", () => {
  const script = path.join(PROJECT_DIR, "deploy", "slurm", "study.sbatch");
  const syntax = spawnSync("bash", ["-n", script], { encoding: "utf8" });
  assert.equal(syntax.status, 0, syntax.stderr);
  const text = fs.readFileSync(script, "utf8");
  const array = /^#SBATCH --array=0-(\d+)$/m.exec(text);
  assert.ok(array, "no #SBATCH --array=0-(N-1)");
  assert.match(text, /^#SBATCH --cpus-per-task=2$/m);
  const n = Number(array[1]) + 1;
  // Run it with a stand-in npx that prints its arguments, as Slurm would start array task 2.
  const bin = path.join(DIR, "fake-bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, "npx"), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
  const submit = path.join(DIR, "submit");
  fs.mkdirSync(submit, { recursive: true });
  const r = spawnSync("bash", [script], {
    encoding: "utf8",
    env: { ...cleanEnv({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "0", SLURM_ARRAY_JOB_ID: "77", SLURM_CPUS_PER_TASK: "2", SLURM_SUBMIT_DIR: submit, TMPDIR: DIR }), PATH: `${bin}:${process.env.PATH}` },
  });
  assert.equal(r.status, 0, r.stderr);
  const args = r.stdout.trim().split("\n");
  assert.deepEqual(args.slice(0, 2), ["esmm", "study"]);
  assert.equal(args[args.indexOf("--shard") + 1], "auto");
  assert.equal(args[args.indexOf("--shards") + 1], String(n), "--shards is not the array's size");
  assert.equal(args[args.indexOf("--workers") + 1], "2");
  assert.equal(args[args.indexOf("--data-root") + 1], path.join(DIR, "esmm-data-77"), "the data cache on node-local disk");
  // and that task resolves to shard 3 of N through the real command line's environment lookup
  assert.equal(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "0" }, n).index, 3);
});
