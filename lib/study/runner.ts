/**
 * The study runner: the grid of a StudySpec (variants x seeds x models), run in parallel worker
 * processes, one JSON line per finished run.
 *
 *   const summary = await runStudy(studyProfile("quick"), { results: "runs/quick.jsonl" });
 *
 * - Resumable: runs whose key is already in the results file are skipped (see results.ts for the key and
 *   the file's crash safety). A partial last line left by a killed runner is cut off before appending.
 * - Data: each distinct DataSpec is simulated and prepared once into `<dataRoot>/<dataKey>` (data-cache.ts),
 *   by a worker, while other workers train on data that is ready; workers load it with `readPrepared`. Real
 *   data (`data.prepared`, real-data.ts) is a prepared folder used in place: checked before any worker starts,
 *   never simulated.
 * - Workers: `child_process.fork` of the compiled worker.js, default one per core (never more than there
 *   are runs). Each does one job at a time and gets the next when it answers;
 *   runs are handed out in grid order. The backend is chosen in the worker by `initBackend()`.
 * - Workers x threads: `recommendedParallelism` (backend/parallelism.ts, chosen from `esmm bench --parallel`
 *   measurements): one worker per core, one compute thread each, for every backend. Each worker gets
 *   TF_NUM_INTRAOP_THREADS=1, TF_NUM_INTEROP_THREADS=1 and OMP_NUM_THREADS=1 (values already set in the
 *   environment are kept); ESMM_WORKER_THREADS=N sets all three to N. A step is ~150 small ops, so one
 *   thread beats two even for a single process (123k vs 93k examples/s at batch 1024 on tensorflow), and
 *   two single-threaded workers beat one two-threaded one (274k vs 95k in total). The wasm and cpu
 *   backends run on one thread anyway. Different thread counts can change the last bits of the results.
 * - Seed groups (seed-groups.ts): the runs that differ only in their seed are dealt into groups of at most
 *   ESMM_SEED_GROUP (default 10) seeds; a worker gets a group's queued runs as one job and, on the native
 *   backend, trains them in one graph (lib/train/trainer.ts). ESMM_SEED_GROUP=1 trains every run alone.
 * - Shards (`shard: {index, count}`): run j of the grid goes to shard (j mod n) + 1, or with seed groups
 *   group g to shard (g mod n) + 1 (shard.ts).
 * - Only this process writes the results file; workers write the predictions sidecars (before the line).
 *
 * Parts: runner-pool.ts (the worker processes: fork, stderr, deaths and replacements, exit), runner-data.ts
 * (each data set missing / preparing / ready / failed, run keys, runs already done), runner-scheduler.ts
 * (the next job for an idle worker), runner-report.ts (progress bar, onProgress, the summary). `runStudy`
 * below sets them up and connects them.
 */
import * as path from "node:path";
import { projectRoot, tfLogEnv } from "../backend";
import { hugePageEnv } from "../backend/huge-pages";
import { recommendedParallelism, threadEnv, THREAD_ENV_VARS } from "../backend/parallelism";
import { getModelSpec } from "../models/zoo";
import { codeVersion, defaultPredictionsDir, numericsVersion, openResultsWriter, readResults, ResultsWriter } from "./results";
import { prepareResultsOutputs } from "./results-lock";
import { DataError } from "../data/errors";
import { outputProblem } from "../data/output-paths";
import { DataTracker } from "./runner-data";
import { JobMessage, WorkerPool, workerScript } from "./runner-pool";
import { StudyProgress, StudyReporter, StudyRunSummary } from "./runner-report";
import { Job, Scheduler } from "./runner-scheduler";
import { formatShard, Shard, shardOf } from "./shard";
import { seedGroups, seedGroupSize } from "./seed-groups";
import { expandGrid, RunSpec, StudySpec } from "./spec";
import { dataSourceOf } from "./data-source";
import type { WorkerReply } from "./worker";

export type { RunFailure, StudyProgress, StudyRunSummary } from "./runner-report";
export { workerScript } from "./runner-pool";

export interface RunStudyOptions {
  /** Results file (.jsonl); created when missing, appended to otherwise. */
  results: string;
  /** Worker processes; default one per core (at most one per remaining run). */
  workers?: number;
  /** This machine's share of the grid (1-based index). */
  shard?: Shard;
  /** Data cache folder; default <project>/data/study. */
  dataRoot?: string;
  /** Predictions sidecars; default the results path without .jsonl plus ".predictions". */
  predictionsDir?: string;
  /** Called after each finished or failed run. */
  onProgress?: (p: StudyProgress) => void;
  /** Show a progress bar (notebook, terminal or log lines; see createProgress). Default true. */
  progress?: boolean;
  /** Status lines (data preparation, skipped runs, repairs). Default: stderr. */
  log?: (line: string) => void;
  /** Stops handing out runs and ends the workers; runs in flight are lost (not written). */
  signal?: AbortSignal;
  /**
   * The study whose seed groups the runs belong to, when `spec` is a part of it (notebook 02 runs the default
   * design's first seed): the groups are cut from this study's grid, and every run of a group that `spec`
   * touches is run too (and written to the results file), so each seed trains in the group it has in the
   * whole study. Default: `spec` itself.
   */
  groupsFrom?: StudySpec;
}

/**
 * Environment of a worker: the recommended threads per worker (see the header), unless set already,
 * TensorFlow's log level (tfLogEnv: quiet unless TF_CPP_MIN_LOG_LEVEL is set or ESMM_TF_LOGS=1) and
 * transparent huge pages for its tables (backend/huge-pages.ts: unless GLIBC_TUNABLES is set or
 * ESMM_HUGE_PAGES=0). Throws when ESMM_WORKER_THREADS is set to anything but a positive integer, or
 * ESMM_HUGE_PAGES to anything but 0 or 1.
 */
export function workerEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...tfLogEnv(base) };
  const override = base.ESMM_WORKER_THREADS?.trim();
  if (override) {
    if (!/^[1-9]\d*$/.test(override)) throw new Error(`ESMM_WORKER_THREADS must be a positive integer, got ${JSON.stringify(override)}`);
    Object.assign(env, threadEnv(Number(override)));
  } else {
    for (const [k, v] of Object.entries(recommendedParallelism("tensorflow").env)) if (env[k] === undefined || env[k] === "") env[k] = v;
  }
  return { ...env, ...hugePageEnv(base) };
}

/** One worker per core (recommendedParallelism; the same for every backend). */
export function defaultWorkers(): number {
  return recommendedParallelism("tensorflow").workers;
}

/** The data cache folder: ESMM_DATA_DIR when set (e.g. a fresh folder for a test), else <project>/data/study. */
export function defaultDataRoot(): string {
  const env = process.env.ESMM_DATA_DIR?.trim();
  return env ? path.resolve(env) : path.join(projectRoot(), "data", "study");
}

/**
 * Folder of the studies' results files (the notebooks write `<runsDir>/<study>.jsonl`): ESMM_RUNS_DIR when
 * set (e.g. a fresh folder for a test that must train), else <project>/runs.
 */
export function runsDir(): string {
  const env = process.env.ESMM_RUNS_DIR?.trim();
  return env ? path.resolve(env) : path.join(projectRoot(), "runs");
}

/** The study with canonical model names (checked against the zoo). Throws on a missing name, no models or seeds, a non-integer seed, an unknown model. */
export function normalizeStudy(spec: StudySpec): StudySpec {
  if (!spec.name) throw new Error("study: name is required");
  if (!spec.models.length) throw new Error(`study ${spec.name}: no models`);
  if (!spec.seeds.length) throw new Error(`study ${spec.name}: no seeds`);
  for (const [what, list] of [["seeds", spec.seeds], ["worlds", spec.worlds ?? []], ["draws", spec.draws ?? []]] as const) {
    for (const s of list) if (!Number.isInteger(s)) throw new Error(`study ${spec.name}: ${what} must be integers, got ${s}`);
    if (new Set(list).size !== list.length) throw new Error(`study ${spec.name}: ${what} repeat a value (${list.join(", ")})`);
  }
  if (spec.worlds && spec.worlds.length === 0) throw new Error(`study ${spec.name}: worlds is empty (leave it out for the data's single simulator seed)`);
  if (spec.draws && spec.draws.length === 0) throw new Error(`study ${spec.name}: draws is empty (leave it out for the data's single downsampling seed)`);
  const { source } = dataSourceOf(spec.data); // data-source.ts: which source the spec names
  if (source.kind === "prepared" && (spec.worlds || spec.draws)) {
    throw new Error(`study ${spec.name}: real data (${source.dir}) is one data set: no worlds or draws (another downsampling draw is another prepared folder)`);
  }
  return { ...spec, models: spec.models.map((m) => getModelSpec(m).name) };
}

/**
 * Runs the study's grid (or a shard of it), skipping runs already in `options.results`. Rejects before any
 * worker starts on an invalid study or shard, a bad ESMM_WORKER_THREADS, a missing worker script or a
 * results file that cannot be opened, and mid-study when the results file cannot be written (the workers
 * are killed first). A failed run does not reject: it is listed in the summary's `failed`.
 */
export async function runStudy(spec: StudySpec, options: RunStudyOptions): Promise<StudyRunSummary> {
  // One runner per results file (results-lock.ts), its outputs checked before any work, and temporary
  // prediction files of dead writers removed.
  const lock = prepareResultsOutputs(path.resolve(options.results), path.resolve(options.predictionsDir ?? defaultPredictionsDir(options.results)));
  try {
    return await runStudyLocked(spec, options);
  } finally {
    lock.release();
  }
}

async function runStudyLocked(spec: StudySpec, options: RunStudyOptions): Promise<StudyRunSummary> {
  const started = Date.now();
  const study = normalizeStudy(spec);
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const resultsFile = path.resolve(options.results);
  const predictionsDir = path.resolve(options.predictionsDir ?? defaultPredictionsDir(options.results));
  const dataRoot = path.resolve(options.dataRoot ?? defaultDataRoot());
  const code = codeVersion();
  const numerics = numericsVersion();
  const shardTag = options.shard ? ` shard ${formatShard(options.shard)}` : "";

  // What is to do: the shard's grid minus the runs in the results file, as far as their keys are known.
  const groupSize = seedGroupSize();
  const fullGrid = wholeGroups(expandGrid(study), options.groupsFrom ? expandGrid(normalizeStudy(options.groupsFrom)) : undefined, groupSize);
  const groups = seedGroups(fullGrid, groupSize);
  const grid = shardOf(fullGrid, options.shard, groupSize > 1 ? groups.groupOf : undefined);
  const existing = readResults(resultsFile);
  for (const p of existing.problems) log(`study: ${resultsFile}:${p.line}: ignored (${p.reason})`);
  const data = new DataTracker(existing, dataRoot, numerics);
  const scheduler = new Scheduler(data, data.plan(grid, groups.groupOf), groups.seeds);
  const todo = scheduler.pending;
  const reporter = new StudyReporter({
    study: study.name,
    results: resultsFile,
    predictionsDir,
    gridRuns: grid.length,
    skipped: data.skipped,
    todo,
    ignoredLines: existing.problems,
    started,
    log,
    onProgress: options.onProgress,
  });
  if (todo === 0) return reporter.finish();
  // The data cache is written only when a data set is to be made: checked now, before any worker starts.
  const toMake = scheduler.dataToMake();
  const rootProblem = toMake.length > 0 ? outputProblem(dataRoot, "dir") : undefined;
  if (rootProblem) {
    throw new DataError({ file: dataRoot }, `the data cache (--data-root, or ESMM_DATA_DIR), where ${toMake.length} data set(s) of this study are to be made, cannot be written: ${rootProblem}`);
  }

  const workers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), todo));
  reporter.summary.workers = workers;
  const env = workerEnv();
  const script = workerScript();
  const writer = openResultsWriter(resultsFile);
  reporter.summary.repairedBytes = writer.repairedBytes;
  if (writer.repairedBytes > 0) log(`study: cut a partial last line (${writer.repairedBytes} bytes) off ${resultsFile}`);
  log(
    `study ${study.name}${shardTag}: ${grid.length} runs, ${data.skipped} already done, ${todo} to run on ${workers} worker(s)` +
      (groupSize > 1 ? `, seeds in groups of up to ${groupSize}` : "") +
      ` (threads ${THREAD_ENV_VARS.map((k) => `${k}=${env[k] ?? "default"}`).join(" ")}); results ${resultsFile}`,
  );
  if (options.progress !== false) reporter.showBar(`study ${study.name}${shardTag}`);

  return drive({ scheduler, reporter, writer, log, signal: options.signal, workers, script, env, paths: { code, numerics, predictionsDir, dataRoot } });
}

/**
 * The runs of `grid` grown to whole seed groups of `whole` (a bigger grid `grid` is part of): the runs of
 * `whole`, in its order, whose group (seed-groups.ts, groups of `size`) holds a run of `grid`. Without
 * `whole`, or with groups of 1, `grid` itself. Throws when a run of `grid` is not in `whole`.
 */
function wholeGroups(grid: RunSpec[], whole: RunSpec[] | undefined, size: number): RunSpec[] {
  if (!whole || size === 1) return grid;
  const key = (r: RunSpec) => JSON.stringify(r);
  const position = new Map(whole.map((r, j) => [key(r), j] as const));
  const { groupOf } = seedGroups(whole, size);
  const wanted = new Set<number>();
  for (const r of grid) {
    const j = position.get(key(r));
    if (j === undefined) throw new Error(`study ${r.study}: run ${r.model} seed ${r.seed} (${r.variant}) is not in the study given as groupsFrom`);
    wanted.add(groupOf[j]);
  }
  return whole.filter((_, j) => wanted.has(groupOf[j]));
}

/** What a job's worker message needs beside the job: the code and numerics versions and the folders. */
interface JobPaths {
  code: string;
  numerics: string;
  predictionsDir: string;
  dataRoot: string;
}

/** The worker message of a job (its id is the pool's). */
function jobMessage(job: Job, p: JobPaths): JobMessage {
  if (job.type === "prepare") return { type: "prepare", dataSpec: job.spec, root: p.dataRoot };
  const { runs, data } = job;
  return {
    type: "run",
    runs: runs.map((r) => ({ key: r.key!, run: r.run })),
    groupSeeds: job.groupSeeds,
    dataDir: data.info.dir,
    dataManifest: data.summary,
    codeVersion: p.code,
    numericsVersion: p.numerics,
    predictionsDir: p.predictionsDir,
  };
}

interface Session {
  scheduler: Scheduler;
  reporter: StudyReporter;
  /** Open; closed by the session. */
  writer: ResultsWriter;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Workers to start, their script and environment. */
  workers: number;
  script: string;
  env: NodeJS.ProcessEnv;
  paths: JobPaths;
}

/**
 * The session's loop: start the workers, give each idle one the scheduler's next job, record each answer,
 * until nothing is queued or in hand (or the signal aborts, or the results file cannot be written, or no
 * worker is left). Closes the results writer; resolves with the summary once every worker has exited.
 */
function drive(s: Session): Promise<StudyRunSummary> {
  const { scheduler, reporter, writer, log, signal } = s;
  return new Promise<StudyRunSummary>((resolve, reject) => {
    let finished = false;
    /** The native kernels' status last logged (the workers' records carry it; logged when it first shows or changes). */
    let lastKernels: string | undefined;

    const finish = (error?: unknown) => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener("abort", onAbort);
      const exited = pool.close(reporter.summary.aborted || error ? "kill" : "disconnect");
      writer.close();
      reporter.finish();
      // Wait for the workers to go, so callers (and tests) see no stray processes.
      void exited.then(() => (error ? reject(error) : resolve(reporter.summary)));
    };

    const onAbort = () => {
      reporter.summary.aborted = true;
      finish();
    };

    const dispatch = () => {
      if (finished) return;
      for (const w of pool.idle()) {
        const job = scheduler.next();
        if (!job) break; // every queued run waits on data being prepared
        if (job.type === "prepare") {
          log(`study: preparing data ${job.dataKey} (${job.spec.simulator.impressions ?? "default"} impressions, simulator seed ${job.spec.simulatorSeed}) in ${s.paths.dataRoot}`);
        }
        pool.send(w, jobMessage(job, s.paths), job);
      }
      if (scheduler.pending === 0 && !pool.busy) finish();
      else if (pool.allExited) {
        for (const r of scheduler.drain()) reporter.runFailed(r, "no worker left");
        finish();
      }
    };

    const onReply = (job: Job, reply: WorkerReply) => {
      try {
        if (job.type === "prepare") {
          if (reply.type === "prepared") {
            const found = scheduler.dataReady(job.dataKey, reply.info);
            if (found > 0) reporter.foundDone(found);
          } else {
            const lost = scheduler.dataFailed(job.dataKey, reply.type === "failed" ? reply.error : "unexpected reply");
            for (const r of lost) reporter.runFailed(r, `data preparation failed: ${reply.type === "failed" ? reply.error : "?"}`);
          }
        } else if (reply.type === "done") {
          const byKey = new Map(job.runs.map((r) => [r.key, r] as const));
          const kernels = reply.records[0]?.runtime.nativeKernels;
          if (kernels !== undefined && kernels !== lastKernels) {
            lastKernels = kernels;
            log(`study: the workers train on ${reply.records[0].backend}, esmm-lab's native kernels ${kernels}`);
          }
          for (const record of reply.records) {
            writer.append(record);
            reporter.runDone(byKey.get(record.key)!, record);
          }
          for (const f of reply.failures) reporter.runFailed(byKey.get(f.key)!, f.error);
        } else for (const r of job.runs) reporter.runFailed(r, reply.type === "failed" ? reply.error : "unexpected reply");
      } catch (e) {
        finish(e); // e.g. the results file cannot be written: stop rather than lose runs silently
        return;
      }
      dispatch();
    };

    const onExit = (job: Job | undefined, why: string) => {
      if (job?.type === "run") for (const r of job.runs) reporter.runFailed(r, why);
      else if (job?.type === "prepare") for (const r of scheduler.dataFailed(job.dataKey, why)) reporter.runFailed(r, `data preparation failed: ${why}`);
      if (scheduler.pending > 0) pool.respawn();
      dispatch();
    };

    const pool = new WorkerPool<Job>({ script: s.script, env: s.env, size: s.workers, log, onReply, onExit });
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort);
    pool.start();
    dispatch();
  });
}
