/**
 * A study worker: a child process (`child_process.fork` of the compiled worker.js) that does one job at
 * a time for the runner and asks for the next by answering.
 *
 * Jobs: "prepare" (simulate and prepare one DataSpec into the data cache) and "run" (train one model with
 * one seed on a cached data set, score it, write the test day's predictions sidecar, answer with the
 * finished result record). The backend is chosen here by `initBackend()` (ESMM_BACKEND is honoured);
 * thread counts come from the environment the runner gives the process (TF_NUM_INTRAOP_THREADS etc.).
 * The last prepared data set stays loaded for the next run on the same data. The worker exits when the
 * runner disconnects (including when the runner dies).
 */
import type { PreparedData } from "../data/prepare";
import { readPrepared } from "../data/prepared-files";
import { ECE_BINNING, reliabilityCurve } from "../metrics";
import type { Predictions } from "../train";
import { ensurePreparedData, preparedDataInfo, PreparedDataInfo } from "./data-cache";
import { DataManifestSummary, StudyRecord, writePredictions } from "./results";
import { runModel } from "./run";
import type { DataSpec, RunSpec } from "./spec";
import * as path from "node:path";
import { THREAD_ENV_VARS } from "../backend/parallelism";


export type WorkerJob =
  | { type: "prepare"; jobId: number; dataSpec: DataSpec; root: string }
  | { type: "run"; jobId: number; key: string; run: RunSpec; dataDir: string; dataManifest: DataManifestSummary; codeVersion: string; predictionsDir: string };

export type WorkerReply =
  | { type: "prepared"; jobId: number; info: PreparedDataInfo }
  | { type: "done"; jobId: number; record: StudyRecord }
  | { type: "failed"; jobId: number; error: string };

let loaded: { dir: string; data: PreparedData } | undefined;

function loadData(dir: string): PreparedData {
  if (loaded?.dir !== dir) {
    loaded = undefined; // let the previous data set go before reading the next
    loaded = { dir, data: readPrepared(dir) };
  }
  return loaded.data;
}

/** Runs one grid point and returns its result record (the sidecar is written before this returns). */
export async function executeRun(job: Extract<WorkerJob, { type: "run" }>): Promise<StudyRecord> {
  const { run, key } = job;
  const data = loadData(job.dataDir);
  let testPredictions: Predictions | undefined;
  const record = await runModel(data, {
    model: run.model,
    seed: run.seed,
    architecture: run.architecture,
    train: run.train,
    onTestPredictions: (p) => (testPredictions = p),
  });
  if (!testPredictions) throw new Error(`run ${key}: no test predictions`);
  const test = data.test;
  const label = new Float32Array(test.size);
  for (let i = 0; i < test.size; i++) label[i] = test.click[i] * test.conversion[i];
  const reliability = reliabilityCurve(label, testPredictions.pCtcvr, test.weight, ECE_BINNING); // the ECE's bins
  const file = writePredictions(
    job.predictionsDir,
    { key, split: test.name, days: [...new Set(test.day)], dataKey: job.dataManifest.dataKey, manifestSha256: job.dataManifest.sha256 },
    testPredictions,
  );
  const threads: Record<string, string | undefined> = {};
  for (const k of THREAD_ENV_VARS) threads[k] = process.env[k];
  return {
    key,
    study: run.study,
    variant: run.variant,
    factor: run.factor,
    level: run.level,
    model: record.model,
    seed: run.seed,
    config: run,
    dataManifest: job.dataManifest,
    codeVersion: job.codeVersion,
    backend: record.backend,
    training: record.training,
    test: record.test,
    later: record.later,
    timings: record.timings,
    reliability,
    predictions: { file: path.basename(file), rows: test.size, columns: ["pCtcvr", ...(testPredictions.pCtr ? ["pCtr"] : []), ...(testPredictions.pCvr ? ["pCvr"] : [])] },
    runtime: { pid: process.pid, threads },
    finishedAt: new Date().toISOString(),
  };
}

async function handle(job: WorkerJob): Promise<WorkerReply> {
  try {
    if (job.type === "prepare") {
      const dir = ensurePreparedData(job.dataSpec, job.root);
      return { type: "prepared", jobId: job.jobId, info: preparedDataInfo(dir) };
    }
    return { type: "done", jobId: job.jobId, record: await executeRun(job) };
  } catch (e) {
    const err = e as Error;
    return { type: "failed", jobId: job.jobId, error: err && err.message ? err.message : String(e) };
  }
}

function serve(): void {
  let chain = Promise.resolve();
  process.on("message", (job: WorkerJob) => {
    chain = chain.then(async () => {
      const reply = await handle(job);
      if (process.connected) process.send!(reply);
    });
  });
  process.on("disconnect", () => process.exit(0));
}

if (require.main === module && typeof process.send === "function") serve();
