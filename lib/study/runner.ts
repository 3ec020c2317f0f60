/**
 * The study runner: the grid of a StudySpec (variants x seeds x models), run in parallel worker
 * processes, one JSON line per finished run.
 *
 *   const summary = await runStudy(studyProfile("quick"), { results: "runs/quick.jsonl" });
 *
 * - Resumable: runs whose key is already in the results file are skipped (see results.ts for the key and
 *   the file's crash safety). A partial last line left by a killed runner is cut off before appending.
 * - Data: each distinct DataSpec is simulated and prepared once into `<dataRoot>/<dataKey>` (data-cache.ts),
 *   by a worker, while other workers train on data that is ready; workers load it with `readPrepared`.
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
 * - Shards (`shard: {index, count}`): run j of the grid goes to shard (j mod n) + 1 (shard.ts).
 * - Only this process writes the results file; workers write the predictions sidecars (before the line).
 */
import { ChildProcess, fork } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../backend";
import { getModelSpec } from "../models/zoo";
import { createProgress, formatDuration, Progress } from "../plots/progress";
import { dataSpecKey, findPreparedData, preparedDataInfo, PreparedDataInfo } from "./data-cache";
import {
  codeVersion,
  DataManifestSummary,
  defaultPredictionsDir,
  openResultsWriter,
  readResults,
  ResultsProblem,
  runKey,
  StudyRecord,
} from "./results";
import { formatShard, Shard, shardOf } from "./shard";
import { DataSpec, expandGrid, RunSpec, StudySpec } from "./spec";
import { WorkerJob, WorkerReply } from "./worker";
import { recommendedParallelism, threadEnv, THREAD_ENV_VARS } from "../backend/parallelism";

export interface RunFailure {
  key?: string;
  variant: string;
  model: string;
  seed: number;
  error: string;
}

export interface StudyProgress {
  /** Runs finished (written) in this session, failed in this session, found already done. */
  done: number;
  failed: number;
  skipped: number;
  /** Runs this session set out to do (the shard's grid minus those already in the results file). */
  total: number;
  /** The run just finished or failed. */
  record?: StudyRecord;
  failure?: RunFailure;
}

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
}

export interface StudyRunSummary {
  study: string;
  results: string;
  predictionsDir: string;
  /** Runs in this shard's grid (all runs without a shard). */
  total: number;
  /** Written in this session. */
  done: number;
  /** Already in the results file. */
  skipped: number;
  failed: RunFailure[];
  /** The records written in this session, in the order they finished. */
  records: StudyRecord[];
  wallSeconds: number;
  workers: number;
  /** Bytes of a partial last line that were cut off, and lines of the results file that were ignored. */
  repairedBytes: number;
  ignoredLines: ResultsProblem[];
  aborted: boolean;
}

/** Environment of a worker: the recommended threads per worker (see the header), unless set already. */
export function workerEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  const override = base.ESMM_WORKER_THREADS?.trim();
  if (override) {
    if (!/^[1-9]\d*$/.test(override)) throw new Error(`ESMM_WORKER_THREADS must be a positive integer, got ${JSON.stringify(override)}`);
    Object.assign(env, threadEnv(Number(override)));
  } else {
    for (const [k, v] of Object.entries(recommendedParallelism("tensorflow").env)) if (env[k] === undefined || env[k] === "") env[k] = v;
  }
  return env;
}

/** One worker per core (recommendedParallelism; the same for every backend). */
export function defaultWorkers(): number {
  return recommendedParallelism("tensorflow").workers;
}

export function defaultDataRoot(): string {
  return path.join(projectRoot(), "data", "study");
}

/** The compiled worker script (next to this file when compiled, else under <project>/build). */
export function workerScript(): string {
  const beside = path.join(__dirname, "worker.js");
  if (fs.existsSync(beside)) return beside;
  const built = path.join(projectRoot(), "build", "lib", "study", "worker.js");
  if (fs.existsSync(built)) return built;
  throw new Error(`study worker not found (${beside}); compile the library first (npm run build)`);
}

/** The study with canonical model names (checked against the zoo). */
export function normalizeStudy(spec: StudySpec): StudySpec {
  if (!spec.name) throw new Error("study: name is required");
  if (!spec.models.length) throw new Error(`study ${spec.name}: no models`);
  if (!spec.seeds.length) throw new Error(`study ${spec.name}: no seeds`);
  for (const s of spec.seeds) if (!Number.isInteger(s)) throw new Error(`study ${spec.name}: seeds must be integers, got ${s}`);
  return { ...spec, models: spec.models.map((m) => getModelSpec(m).name) };
}

/** Lines from a worker's stderr that are noise (TensorFlow's start-up banner). */
const NOISE = [/All log messages before absl::InitializeLog/, /oneDNN custom operations are on/, /cpu_feature_guard|This TensorFlow binary is optimized/, /To enable the following instructions/];

interface Item {
  index: number;
  run: RunSpec;
  dataKey: string;
  key?: string;
}

type DataState =
  | { status: "missing"; spec: DataSpec; summary?: DataManifestSummary }
  | { status: "preparing"; spec: DataSpec; summary?: DataManifestSummary }
  | { status: "ready"; spec: DataSpec; info: PreparedDataInfo; summary: DataManifestSummary }
  | { status: "failed"; spec: DataSpec; error: string };

interface Worker {
  proc: ChildProcess;
  job?: WorkerJob & { item?: Item };
  stderrTail: string[];
  exited: boolean;
}

/** Runs the study's grid (or a shard of it), skipping runs already in `options.results`. */
export async function runStudy(spec: StudySpec, options: RunStudyOptions): Promise<StudyRunSummary> {
  const started = Date.now();
  const study = normalizeStudy(spec);
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const resultsFile = path.resolve(options.results);
  const predictionsDir = path.resolve(options.predictionsDir ?? defaultPredictionsDir(options.results));
  const dataRoot = path.resolve(options.dataRoot ?? defaultDataRoot());
  const code = codeVersion();
  const shardTag = options.shard ? ` shard ${formatShard(options.shard)}` : "";

  const grid = shardOf(expandGrid(study), options.shard);
  const existing = readResults(resultsFile);
  for (const p of existing.problems) log(`study: ${resultsFile}:${p.line}: ignored (${p.reason})`);

  // What is known about each data set: cached folder, or at least its manifest hash from earlier records.
  const fromResults = new Map<string, DataManifestSummary>();
  for (const r of existing.records) if (r.dataManifest?.dataKey) fromResults.set(r.dataManifest.dataKey, r.dataManifest);
  const data = new Map<string, DataState>();
  const items: Item[] = [];
  for (const { index, item: run } of grid) {
    const dataKey = dataSpecKey(run.data);
    if (!data.has(dataKey)) {
      const dir = findPreparedData(run.data, dataRoot);
      if (dir) {
        const info = preparedDataInfo(dir);
        data.set(dataKey, { status: "ready", spec: run.data, info, summary: info.summary });
      } else data.set(dataKey, { status: "missing", spec: run.data, summary: fromResults.get(dataKey) });
    }
    items.push({ index, run, dataKey });
  }

  const seen = new Set<string>();
  let skipped = 0;
  /** Resolves keys where the data's manifest is known; drops runs already done. */
  const resolveKeys = (list: Item[]): Item[] =>
    list.filter((it) => {
      if (it.key) return true;
      const d = data.get(it.dataKey)!;
      const summary = d.status === "failed" ? undefined : d.summary;
      if (!summary) return true;
      it.key = runKey(it.run, summary.sha256, code);
      if (existing.byKey.has(it.key) || seen.has(it.key)) {
        skipped++;
        return false;
      }
      seen.add(it.key);
      return true;
    });
  let queue = resolveKeys(items);
  const total = queue.length;

  const summary: StudyRunSummary = {
    study: study.name,
    results: resultsFile,
    predictionsDir,
    total: grid.length,
    done: 0,
    skipped,
    failed: [],
    records: [],
    wallSeconds: 0,
    workers: 0,
    repairedBytes: 0,
    ignoredLines: existing.problems,
    aborted: false,
  };
  if (queue.length === 0) {
    summary.wallSeconds = (Date.now() - started) / 1000;
    return summary;
  }

  const nWorkers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), queue.length));
  summary.workers = nWorkers;
  const env = workerEnv();
  const script = workerScript();
  const writer = openResultsWriter(resultsFile);
  summary.repairedBytes = writer.repairedBytes;
  if (writer.repairedBytes > 0) log(`study: cut a partial last line (${writer.repairedBytes} bytes) off ${resultsFile}`);
  log(
    `study ${study.name}${shardTag}: ${grid.length} runs, ${skipped} already done, ${queue.length} to run on ${nWorkers} worker(s)` +
      ` (threads ${THREAD_ENV_VARS.map((k) => `${k}=${env[k] ?? "default"}`).join(" ")}); results ${resultsFile}`,
  );

  let bar: Progress | undefined = options.progress === false ? undefined : createProgress({ total, label: `study ${study.name}${shardTag}`, unit: "run" });
  const report = (extra: Partial<StudyProgress>) => {
    options.onProgress?.({ done: summary.done, failed: summary.failed.length, skipped: summary.skipped, total, ...extra });
  };

  return new Promise<StudyRunSummary>((resolve, reject) => {
    const workers: Worker[] = [];
    let jobIds = 0;
    let crashes = 0;
    let finished = false;

    const failItem = (it: Item, error: string) => {
      const failure: RunFailure = { key: it.key, variant: it.run.variant, model: it.run.model, seed: it.run.seed, error };
      summary.failed.push(failure);
      log(`study: ${it.run.model} seed ${it.run.seed} (${it.run.variant}) failed: ${error}`);
      bar?.tick(1, `${it.run.model} seed ${it.run.seed} FAILED`);
      report({ failure });
    };

    const finish = (error?: unknown) => {
      if (finished) return;
      finished = true;
      options.signal?.removeEventListener("abort", onAbort);
      for (const w of workers) {
        if (w.exited) continue;
        if (summary.aborted || error) w.proc.kill("SIGTERM");
        else if (w.proc.connected) w.proc.disconnect();
      }
      writer.close();
      summary.wallSeconds = (Date.now() - started) / 1000;
      bar?.done(`${summary.done} done, ${summary.skipped} skipped, ${summary.failed.length} failed in ${formatDuration(summary.wallSeconds)}`);
      bar = undefined;
      // Wait for the workers to go, so callers (and tests) see no stray processes.
      Promise.all(workers.map((w) => (w.exited ? undefined : new Promise((r) => w.proc.once("exit", r))))).then(() =>
        error ? reject(error) : resolve(summary),
      );
    };

    const onAbort = () => {
      summary.aborted = true;
      finish();
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort);

    const send = (w: Worker, job: WorkerJob & { item?: Item }) => {
      w.job = job;
      const { item: _item, ...message } = job as WorkerJob & { item?: Item };
      void _item;
      w.proc.send(message);
    };

    const dispatch = () => {
      if (finished) return;
      for (const w of workers) {
        if (w.job || w.exited) continue;
        let pick = queue.findIndex((it) => data.get(it.dataKey)!.status === "ready");
        if (pick >= 0) {
          const it = queue[pick];
          queue.splice(pick, 1);
          const d = data.get(it.dataKey) as Extract<DataState, { status: "ready" }>;
          send(w, { type: "run", jobId: ++jobIds, key: it.key!, run: it.run, dataDir: d.info.dir, dataManifest: d.summary, codeVersion: code, predictionsDir, item: it });
          continue;
        }
        pick = queue.findIndex((it) => data.get(it.dataKey)!.status === "missing");
        if (pick >= 0) {
          const it = queue[pick];
          const d = data.get(it.dataKey)!;
          data.set(it.dataKey, { ...d, status: "preparing" } as DataState);
          log(`study: preparing data ${it.dataKey} (${d.spec.simulator.impressions ?? "default"} impressions, simulator seed ${d.spec.simulatorSeed}) in ${dataRoot}`);
          send(w, { type: "prepare", jobId: ++jobIds, dataSpec: d.spec, root: dataRoot, item: { ...it } });
        }
      }
      if (queue.length === 0 && workers.every((w) => !w.job)) finish();
      else if (workers.every((w) => w.exited)) {
        for (const it of queue) failItem(it, "no worker left");
        queue = [];
        finish();
      }
    };

    const onReply = (w: Worker, reply: WorkerReply) => {
      const job = w.job;
      if (!job || job.jobId !== reply.jobId) return;
      w.job = undefined;
      try {
        if (job.type === "prepare") {
          const dataKey = job.item!.dataKey;
          const d = data.get(dataKey)!;
          if (reply.type === "prepared") {
            const known = d.status === "failed" ? undefined : d.summary;
            data.set(dataKey, { status: "ready", spec: d.spec, info: reply.info, summary: reply.info.summary });
            const before = skipped;
            const waiting = queue.filter((it) => it.dataKey === dataKey);
            if (known && known.sha256 !== reply.info.summary.sha256) {
              // The earlier records' manifest differs from the regenerated one: their keys do not apply.
              for (const it of waiting) if (it.key) seen.delete(it.key), (it.key = undefined);
            }
            const keep = new Set(resolveKeys(waiting));
            queue = queue.filter((it) => it.dataKey !== dataKey || keep.has(it));
            if (skipped > before) {
              summary.skipped = skipped;
              bar?.tick(skipped - before, `${skipped - before} already done`);
            }
          } else {
            data.set(dataKey, { status: "failed", spec: d.spec, error: reply.type === "failed" ? reply.error : "unexpected reply" });
            const lost = queue.filter((it) => it.dataKey === dataKey);
            queue = queue.filter((it) => it.dataKey !== dataKey);
            for (const it of lost) failItem(it, `data preparation failed: ${reply.type === "failed" ? reply.error : "?"}`);
          }
        } else {
          const it = job.item!;
          if (reply.type === "done") {
            writer.append(reply.record);
            summary.done++;
            summary.records.push(reply.record);
            const m = reply.record.test.metrics.ctcvr;
            bar?.tick(1, `${it.run.model} seed ${it.run.seed}${it.run.variant === "default" ? "" : ` ${it.run.variant}`}: CTCVR ${Number(m.logLoss).toFixed(6)}`);
            report({ record: reply.record });
          } else failItem(it, reply.type === "failed" ? reply.error : "unexpected reply");
        }
      } catch (e) {
        finish(e); // e.g. the results file cannot be written: stop rather than lose runs silently
        return;
      }
      dispatch();
    };

    const spawn = (): Worker => {
      const proc = fork(script, [], {
        env,
        stdio: ["ignore", "inherit", "pipe", "ipc"],
        // Only memory limits carry over: the parent's other flags (e.g. node --test's) are not the worker's.
        execArgv: process.execArgv.filter((a) => a.startsWith("--max-old-space-size")),
      });
      const w: Worker = { proc, stderrTail: [], exited: false };
      let partial = "";
      proc.stderr!.setEncoding("utf8");
      proc.stderr!.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          if (NOISE.some((re) => re.test(line))) continue;
          w.stderrTail.push(line);
          if (w.stderrTail.length > 20) w.stderrTail.shift();
          process.stderr.write(`[worker ${proc.pid}] ${line}\n`);
        }
      });
      proc.on("message", (reply: WorkerReply) => onReply(w, reply));
      proc.on("error", (e) => log(`study: worker ${proc.pid}: ${e.message}`));
      proc.on("exit", (code, signal) => {
        w.exited = true;
        if (finished) return;
        const job = w.job;
        w.job = undefined;
        const why = `worker ${proc.pid} exited (${signal ?? `code ${code}`})${w.stderrTail.length ? `: ${w.stderrTail.slice(-3).join(" | ")}` : ""}`;
        if (job?.type === "run") failItem(job.item!, why);
        else if (job?.type === "prepare") {
          const dataKey = job.item!.dataKey;
          const d = data.get(dataKey)!;
          data.set(dataKey, { status: "failed", spec: d.spec, error: why });
          const lost = queue.filter((it) => it.dataKey === dataKey);
          queue = queue.filter((it) => it.dataKey !== dataKey);
          for (const it of lost) failItem(it, `data preparation failed: ${why}`);
        }
        crashes++;
        if (queue.length > 0 && crashes <= nWorkers + 2) workers.push(spawn());
        dispatch();
      });
      return w;
    };

    for (let i = 0; i < nWorkers; i++) workers.push(spawn());
    dispatch();
  });
}

/** One line: "study NAME: 12 runs done, 48 skipped, 0 failed in 3:05 (results FILE)". */
export function formatStudySummary(s: StudyRunSummary): string {
  return (
    `study ${s.study}: ${s.done} run${s.done === 1 ? "" : "s"} done, ${s.skipped} skipped, ${s.failed.length} failed` +
    `${s.aborted ? " (aborted)" : ""} in ${formatDuration(s.wallSeconds)} wall time, ${s.workers} worker(s) (results ${s.results})`
  );
}
