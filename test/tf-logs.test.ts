/**
 * TensorFlow's own log lines on the native backend (lib/backend/tf-logs.ts): hidden by default, back with
 * ESMM_TF_LOGS=1 or TF_CPP_MIN_LOG_LEVEL=0. The native tests spawn tiny runs (a process loading the backend
 * itself, and a one-run study whose worker loads it) and skip when the native backend is not built.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { isTfStartupNoise, nativePackageDir, tfLogEnv, tfStartupLinesWanted } from "../lib/backend";
import { tempDir } from "./helpers";
import { PROJECT_DIR } from "./paths";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
const BACKEND = path.join(PROJECT_DIR, "build", "lib", "backend", "index.js");
const NATIVE_BUILT = fs.existsSync(path.join(nativePackageDir(), "package.json"));
const SKIP_NATIVE = `native backend not built at ${nativePackageDir()} (run \`make native\`)`;

/** A TensorFlow (absl) log line, e.g. "I0000 00:00:1795998238.624174   25208 port.cc:153] ...", maybe behind "[worker PID] ". */
const TF_LINE = /^(?:\[worker \d+\] )?[IWEF]\d{4} [\d:.]+\s+\d+ ([\w.-]+:\d+)\] /;
const ABSL_PREAMBLE = /All log messages before absl::InitializeLog\(\) is called/;

/** The file:line tags of the TensorFlow log lines in `stderr`, sorted, each once. */
function tags(stderr: string): string[] {
  const found = new Set<string>();
  for (const line of stderr.split("\n")) {
    const m = TF_LINE.exec(line);
    if (m) found.add(m[1]);
  }
  return [...found].sort();
}

/** The environment of a child: ours without any logging choice of the caller's, plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ["TF_CPP_MIN_LOG_LEVEL", "ESMM_TF_LOGS", "ESMM_BACKEND", "ESMM_WORKER_THREADS"]) delete env[k];
  return { ...env, ...extra };
}

/** A process that loads the native backend itself and runs one op; prints its TF_CPP_MIN_LOG_LEVEL. */
function loadNative(extra: Record<string, string>) {
  const script =
    `const b = require(${JSON.stringify(BACKEND)});` +
    `b.initBackend("tensorflow").then(async () => { const tf = b.tf(); await tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).data();` +
    ` console.log(JSON.stringify({ level: process.env.TF_CPP_MIN_LOG_LEVEL ?? null })); });`;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", env: childEnv(extra), timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return { stderr: r.stderr, level: (JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as { level: string | null }).level };
}

test("tfLogEnv: level 2 by default, the user's TF_CPP_MIN_LOG_LEVEL kept, nothing with ESMM_TF_LOGS=1", () => {
  assert.deepEqual(tfLogEnv({}), { TF_CPP_MIN_LOG_LEVEL: "2" });
  assert.deepEqual(tfLogEnv({ TF_CPP_MIN_LOG_LEVEL: "" }), { TF_CPP_MIN_LOG_LEVEL: "2" });
  assert.deepEqual(tfLogEnv({ TF_CPP_MIN_LOG_LEVEL: "0" }), {});
  assert.deepEqual(tfLogEnv({ TF_CPP_MIN_LOG_LEVEL: "3" }), {});
  assert.deepEqual(tfLogEnv({ ESMM_TF_LOGS: "1" }), {});
  assert.deepEqual(tfLogEnv({ ESMM_TF_LOGS: "0" }), { TF_CPP_MIN_LOG_LEVEL: "2" });
  assert.deepEqual(tfLogEnv({ ESMM_TF_LOGS: "false" }), { TF_CPP_MIN_LOG_LEVEL: "2" });
});

test("tfStartupLinesWanted and isTfStartupNoise: the load-time lines shown only on request", () => {
  assert.equal(tfStartupLinesWanted({}), false);
  assert.equal(tfStartupLinesWanted({ TF_CPP_MIN_LOG_LEVEL: "2" }), false);
  assert.equal(tfStartupLinesWanted({ TF_CPP_MIN_LOG_LEVEL: "1" }), false);
  assert.equal(tfStartupLinesWanted({ TF_CPP_MIN_LOG_LEVEL: "0" }), true);
  assert.equal(tfStartupLinesWanted({ ESMM_TF_LOGS: "1", TF_CPP_MIN_LOG_LEVEL: "2" }), true);
  assert.equal(tfStartupLinesWanted({ ESMM_TF_LOGS: "0" }), false);
  assert.ok(isTfStartupNoise("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"));
  assert.ok(isTfStartupNoise("I0000 00:00:1795998238.624174   25208 port.cc:153] oneDNN custom operations are on. You may see ..."));
  assert.ok(!isTfStartupNoise("E0000 00:00:1795998238.624174   25208 kernel.cc:12] Invalid argument: oneDNN"));
  assert.ok(!isTfStartupNoise("train: ESMM, seed 1, backend tensorflow, 441 training rows"));
});

// What TensorFlow prints here with every line shown (TF_CPP_MIN_LOG_LEVEL=0): the reference of both tests below.
let verboseRun: ReturnType<typeof loadNative> | undefined;
const verboseOutput = () => (verboseRun ??= loadNative({ TF_CPP_MIN_LOG_LEVEL: "0" }));

test("native, in-process: INFO/WARNING hidden by default (level 2, errors still shown), back with ESMM_TF_LOGS=1", (t) => {
  if (!NATIVE_BUILT) return t.skip(SKIP_NATIVE);
  const verbose = verboseOutput();
  const all = tags(verbose.stderr);
  const startup = tags(verbose.stderr.split("\n").filter(isTfStartupNoise).join("\n"));
  if (all.length === startup.length) return t.skip(`TensorFlow prints no INFO/WARNING line after loading on this machine (got: ${all.join(", ") || "none"})`);
  assert.equal(verbose.level, "0");

  const quiet = loadNative({});
  assert.equal(quiet.level, "2", "TF_CPP_MIN_LOG_LEVEL=2: INFO and WARNING hidden, ERROR and FATAL shown");
  // Only the load-time lines no level can hide (lib/backend/tf-logs.ts) may remain.
  assert.deepEqual(tags(quiet.stderr).filter((tag) => !startup.includes(tag)), [], quiet.stderr);

  const optIn = loadNative({ ESMM_TF_LOGS: "1" });
  assert.equal(optIn.level, null);
  assert.deepEqual(tags(optIn.stderr), all, optIn.stderr);

  const own = loadNative({ TF_CPP_MIN_LOG_LEVEL: "3" });
  assert.equal(own.level, "3", "the user's level is kept");
});

test("native, study worker: no TensorFlow line at all by default, every one with ESMM_TF_LOGS=1", (t) => {
  if (!NATIVE_BUILT) return t.skip(SKIP_NATIVE);
  const verbose = verboseOutput();
  const all = tags(verbose.stderr);
  if (all.length === 0) return t.skip("TensorFlow prints no log line on this machine");
  const dir = tempDir("esmm-tf-logs-");
  const study = (name: string, extra: Record<string, string>) => {
    const args = [ESMM, "study", "--profile", "quick", "--models", "ESMM", "--seeds", "1", "--worlds", "7", "--impressions", "20000", "--epochs", "1",
      "--workers", "1", "--data-root", path.join(dir, "data"), "--results", path.join(dir, `${name}.jsonl`)];
    const r = spawnSync(process.execPath, args, { encoding: "utf8", env: childEnv({ ESMM_BACKEND: "tensorflow", ...extra }), timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 run done, 0 skipped, 0 failed/);
    return r.stderr;
  };

  const quiet = study("quiet", {});
  assert.deepEqual(tags(quiet), [], quiet);
  assert.doesNotMatch(quiet, ABSL_PREAMBLE);

  const optIn = study("opt-in", { ESMM_TF_LOGS: "1" });
  assert.deepEqual(tags(optIn), all, optIn);
  assert.match(optIn, /\[worker \d+\] [IWEF]\d{4} /);
});
