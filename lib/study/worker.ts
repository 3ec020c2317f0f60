/**
 * A study worker: a child process (`child_process.fork` of the compiled worker.js) that does one job at
 * a time for the runner and asks for the next by answering.
 *
 * Jobs: "prepare" (simulate and prepare one DataSpec into the data cache) and "run" (train the runs of one
 * seed group, seed-groups.ts, on a cached data set: on the native backend all the group's seeds in one graph
 * (S = the group's size), elsewhere each run alone (S = 1), through one path, run.ts runSeeds; score each, write its test day's predictions sidecar,
 * answer with the finished result records and the runs that failed). The backend is chosen here by `initBackend()` (ESMM_BACKEND is honoured);
 * thread counts come from the environment the runner gives the process (TF_NUM_INTRAOP_THREADS etc.).
 * The last prepared data set stays loaded for the next run on the same data. The worker exits when the
 * runner disconnects (including when the runner dies).
 */
import type { PreparedData } from "../data/prepare";
import { readPrepared } from "../data/prepared-files";
import type { Predictions } from "../train";
import { ensurePreparedData, preparedDataInfo, PreparedDataInfo } from "./data-cache";
import { DataManifestSummary, StudyRecord, writePredictions } from "./results";
import type { ReliabilityBin } from "../metrics";
import { runSeeds, RunRecord } from "./run";
import { backendInfo, initBackend } from "../backend";
import { resolveArchitecture } from "../models";
import type { DataSpec, RunSpec } from "./spec";
import * as path from "node:path";
import { THREAD_ENV_VARS } from "../backend/parallelism";


export type WorkerJob =
  | { type: "prepare"; jobId: number; dataSpec: DataSpec; root: string }
  | {
      type: "run";
      jobId: number;
      /** The runs to record: runs of one seed group (same everything but the seed). */
      runs: { key: string; run: RunSpec }[];
      /** The group's seeds (a superset of the runs' seeds when part of the group is done: it is retrained whole). */
      groupSeeds: number[];
      dataDir: string;
      dataManifest: DataManifestSummary;
      codeVersion: string;
      /** The numerics version in the runs' keys (numerics.ts), written into each record. */
      numericsVersion: string;
      predictionsDir: string;
    };

export type WorkerReply =
  | { type: "prepared"; jobId: number; info: PreparedDataInfo }
  | { type: "done"; jobId: number; records: StudyRecord[]; failures: { key: string; error: string }[] }
  | { type: "failed"; jobId: number; error: string };

let loaded: { dir: string; data: PreparedData } | undefined;

function loadData(dir: string): PreparedData {
  if (loaded?.dir !== dir) {
    loaded = undefined; // let the previous data set go before reading the next
    loaded = { dir, data: readPrepared(dir, { inputs: "trust" }) }; // the runner checked its inputs (real-data.ts checkPreparedSpec)
  }
  return loaded.data;
}

/** Whether this worker trains a seed group in one graph (see seed-groups.ts): the native backend, no batch norm, no dropout. */
async function trainsGroups(run: RunSpec): Promise<boolean> {
  const backend = await initBackend();
  const architecture = resolveArchitecture(run.architecture);
  return backend.name === "tensorflow" && !architecture.batchNorm && architecture.dropout === 0;
}

/**
 * Runs the job's runs (one seed group) and returns their result records and failures (each record's sidecar
 * is written before this returns). Throws only when the job itself is unusable (its data cannot be read).
 */
export async function executeRuns(job: Extract<WorkerJob, { type: "run" }>): Promise<{ records: StudyRecord[]; failures: { key: string; error: string }[] }> {
  const data = loadData(job.dataDir);
  const records: StudyRecord[] = [];
  const failures: { key: string; error: string }[] = [];
  const message = (e: unknown) => (e instanceof Error && e.message ? e.message : String(e));
  if (job.runs.length === 0) return { records, failures };
  // The worker chooses S: the whole group in one graph where groups train (S = its size), else each run alone (S = 1).
  const trainings = (await trainsGroups(job.runs[0].run)) ? [{ seeds: job.groupSeeds as number | number[], runs: job.runs }] : job.runs.map((r) => ({ seeds: r.run.seed, runs: [r] }));
  for (const { seeds, runs } of trainings) {
    const run = runs[0].run;
    const predictions = new Map<number, Predictions>();
    let outcomes: Awaited<ReturnType<typeof runSeeds>>;
    try {
      outcomes = await runSeeds(data, {
        model: run.model,
        seeds,
        architecture: run.architecture,
        train: run.train,
        onTestPredictions: (seed, p) => predictions.set(seed, p),
      });
    } catch (e) {
      failures.push(...runs.map((r) => ({ key: r.key, error: message(e) })));
      continue;
    }
    for (const { key, run } of runs) {
      const outcome = outcomes.find((o) => o.seed === run.seed);
      if (!outcome?.record) failures.push({ key, error: outcome ? message(outcome.error) : `seed ${run.seed} is not in its group [${job.groupSeeds.join(", ")}]` });
      else records.push(studyRecord(job, key, run, data, outcome.record, outcome.reliability, predictions.get(run.seed)));
    }
  }
  return { records, failures };
}

/** The study record of one finished run (writes its test predictions sidecar). */
function studyRecord(job: Extract<WorkerJob, { type: "run" }>, key: string, run: RunSpec, data: PreparedData, record: RunRecord, reliability: ReliabilityBin[], testPredictions: Predictions | undefined): StudyRecord {
  if (!testPredictions) throw new Error(`run ${key}: no test predictions`);
  const test = data.test;
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
    numericsVersion: job.numericsVersion,
    backend: record.backend,
    training: record.training,
    test: record.test,
    later: record.later,
    timings: record.timings,
    reliability,
    predictions: { file: path.basename(file), rows: test.size, columns: ["pCtcvr", ...(testPredictions.pCtr ? ["pCtr"] : []), ...(testPredictions.pCvr ? ["pCvr"] : [])] },
    runtime: { pid: process.pid, threads, ...nativeKernelsRuntime() },
    finishedAt: new Date().toISOString(),
  };
}

/** The record's runtime.nativeKernels on the native backend ("loaded" or why not), nothing elsewhere. */
function nativeKernelsRuntime(): { nativeKernels?: string } {
  const kernels = backendInfo()?.nativeKernels;
  return kernels === undefined ? {} : { nativeKernels: kernels };
}

async function handle(job: WorkerJob): Promise<WorkerReply> {
  try {
    if (job.type === "prepare") {
      const dir = ensurePreparedData(job.dataSpec, job.root);
      return { type: "prepared", jobId: job.jobId, info: preparedDataInfo(dir) };
    }
    return { type: "done", jobId: job.jobId, ...(await executeRuns(job)) };
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
