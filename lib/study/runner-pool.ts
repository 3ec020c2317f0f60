/**
 * The runner's worker processes: `child_process.fork` of the compiled worker.js (worker.ts), each doing one
 * job at a time. The pool numbers the jobs, routes each answer to the job it answers, filters TensorFlow's
 * load-time oneDNN lines out of the workers' stderr unless ESMM_TF_LOGS=1 or TF_CPP_MIN_LOG_LEVEL=0 (see
 * lib/backend/tf-logs.ts; other lines are passed on, prefixed "[worker PID]", and the
 * last 20 are kept to explain a death), reports deaths with the job that was lost, replaces dead workers
 * (at most size + 2 deaths in all) and waits for every process to exit when closed.
 *
 * What a job is and what to do with an answer or a death is the runner's business (runner.ts): each job
 * carries a `context` of the runner's choosing, handed back with its answer or its death.
 */
import { ChildProcess, fork } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { isTfStartupNoise, projectRoot, tfStartupLinesWanted } from "../backend";
import type { WorkerJob, WorkerReply } from "./worker";

/** The compiled worker script (next to this file when compiled, else under <project>/build). Throws when neither exists. */
export function workerScript(): string {
  const beside = path.join(__dirname, "worker.js");
  if (fs.existsSync(beside)) return beside;
  const built = path.join(projectRoot(), "build", "lib", "study", "worker.js");
  if (fs.existsSync(built)) return built;
  throw new Error(`study worker not found (${beside}); compile the library first (npm run build)`);
}

/** Lines of a worker's stderr kept to explain its death (the last 3 are quoted). */
const STDERR_TAIL = 20;

/** A job message without its id (the pool numbers the jobs). */
export type JobMessage = WorkerJob extends infer J ? (J extends WorkerJob ? Omit<J, "jobId"> : never) : never;

export interface PoolWorker<C> {
  readonly proc: ChildProcess;
  /** The job in hand: its id and the runner's context; undefined when idle. */
  job?: { id: number; context: C };
  /** Last stderr lines (noise excluded), oldest first. */
  stderrTail: string[];
  exited: boolean;
}

export interface WorkerPoolOptions<C> {
  /** The worker script (see workerScript). */
  script: string;
  /** The workers' environment (see workerEnv in runner.ts: thread counts). */
  env: NodeJS.ProcessEnv;
  /** Workers started by `start()`; also sets the death budget (size + 2). */
  size: number;
  /** Status lines (a worker's process error). */
  log: (line: string) => void;
  /** A worker answered its job; the worker is idle again when this is called. Not called after `close()`. */
  onReply: (context: C, reply: WorkerReply) => void;
  /**
   * A worker died before `close()`: `context` is the job it held (undefined when idle), `why` says
   * "worker PID exited (SIGNAL or code N)" and quotes its last 3 stderr lines.
   */
  onExit: (context: C | undefined, why: string) => void;
}

export class WorkerPool<C> {
  private readonly workers: PoolWorker<C>[] = [];
  private jobIds = 0;
  private deaths = 0;
  private closing = false;

  constructor(private readonly options: WorkerPoolOptions<C>) {}

  /** Forks `size` workers. Throws what `fork` throws. */
  start(): void {
    for (let i = 0; i < this.options.size; i++) this.workers.push(this.spawn());
  }

  /** Live workers without a job, in the order they were started. */
  idle(): PoolWorker<C>[] {
    return this.workers.filter((w) => !w.job && !w.exited);
  }

  /** Whether some worker holds a job. */
  get busy(): boolean {
    return this.workers.some((w) => w.job);
  }

  /** Whether every worker started so far has exited. */
  get allExited(): boolean {
    return this.workers.every((w) => w.exited);
  }

  /** Gives `worker` (idle, alive) a job; `context` comes back with its answer or its death. */
  send(worker: PoolWorker<C>, message: JobMessage, context: C): void {
    const id = ++this.jobIds;
    worker.job = { id, context };
    worker.proc.send({ ...message, jobId: id } as WorkerJob);
  }

  /** Forks a replacement for a dead worker unless more than size + 2 workers have died; returns whether it did. */
  respawn(): boolean {
    if (this.closing || this.deaths > this.options.size + 2) return false;
    this.workers.push(this.spawn());
    return true;
  }

  /**
   * Ends the workers: "disconnect" closes their IPC channel (they exit when idle), "kill" sends SIGTERM (jobs
   * in hand are lost). From now on answers and deaths are not reported. Resolves when every worker has exited.
   */
  close(how: "disconnect" | "kill"): Promise<void> {
    this.closing = true;
    for (const w of this.workers) {
      if (w.exited) continue;
      if (how === "kill") w.proc.kill("SIGTERM");
      else if (w.proc.connected) w.proc.disconnect();
    }
    return Promise.all(this.workers.map((w) => (w.exited ? undefined : new Promise((r) => w.proc.once("exit", r))))).then(() => undefined);
  }

  private spawn(): PoolWorker<C> {
    const proc = fork(this.options.script, [], {
      env: this.options.env,
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      // Only memory limits carry over: the parent's other flags (e.g. node --test's) are not the worker's.
      execArgv: process.execArgv.filter((a) => a.startsWith("--max-old-space-size")),
    });
    const w: PoolWorker<C> = { proc, stderrTail: [], exited: false };
    let partial = "";
    // TensorFlow's load-time lines that its log level cannot quiet, unless the workers' environment asks for them.
    const dropStartup = !tfStartupLinesWanted(this.options.env);
    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (dropStartup && isTfStartupNoise(line)) continue;
        w.stderrTail.push(line);
        if (w.stderrTail.length > STDERR_TAIL) w.stderrTail.shift();
        process.stderr.write(`[worker ${proc.pid}] ${line}\n`);
      }
    });
    proc.on("message", (reply: WorkerReply) => {
      const job = w.job;
      if (this.closing || !job || job.id !== reply.jobId) return;
      w.job = undefined;
      this.options.onReply(job.context, reply);
    });
    proc.on("error", (e) => this.options.log(`study: worker ${proc.pid}: ${e.message}`));
    proc.on("exit", (code, signal) => {
      w.exited = true;
      if (this.closing) return;
      const job = w.job;
      w.job = undefined;
      this.deaths++;
      const why = `worker ${proc.pid} exited (${signal ?? `code ${code}`})${w.stderrTail.length ? `: ${w.stderrTail.slice(-3).join(" | ")}` : ""}`;
      this.options.onExit(job?.context, why);
    });
    return w;
  }
}
