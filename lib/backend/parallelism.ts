/**
 * How to spread independent training runs (a study's models x seeds) over the machine's cores: how many
 * worker processes, how many compute threads each, and the environment that sets those threads.
 *
 * Measured on this 2-core machine (AMD EPYC, 2 vCPUs), reference shape (ESMM, 8 fields, embedding 8,
 * 128-64 / 32-16-1), after the training-speed work, with `esmm bench --parallel WxT --repeat 3`: W bench
 * processes training at once, each with T threads; total examples/s of the W processes, medians. The
 * machine carried other load during the measurements (load average 3-5), so absolute numbers are noisy;
 * the ordering held in every repetition.
 *
 *   tensorflow (tfjs-node)   batch 1024   batch 4096
 *     1 x 2                      95k         208k      one process, TensorFlow's default 2 intra-op threads
 *     1 x 1                     132k         243k
 *     2 x 1                     274k         424k      <- two models at once, one thread each
 *     2 x 2                     205k         386k      (oversubscribed: 4 compute threads on 2 cores)
 *   wasm (single-threaded in Node: tfjs-backend-wasm disables its threads there)
 *     1 x 1                      76k          93k
 *     2 x 1                      96k         103k
 *
 * - TensorFlow honours TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS in tfjs-node: the process has
 *   15 threads by default, 14 with either set to 1, 13 with both, 17 with either set to 4 (one thread
 *   per pool slot; `osThreads` in bench/train-throughput.js's output). Set them before the library loads
 *   (in the worker's environment).
 * - One intra-op thread is faster even for a single process here (interleaved, 5 runs each: 123k vs
 *   93k examples/s at batch 1024, 224k vs 164k at 4096): a step is ~150 small TensorFlow ops, too small
 *   to gain from splitting across threads, and a second thread costs synchronisation (and waits for a
 *   busy core on a loaded machine).
 * - So: one worker per core, one thread each, on every backend (what lib/study's runner does by default).
 *   With fewer runs than cores, fewer workers (still one thread each).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { hugePageEnv } from "./huge-pages";
import type { BackendName } from "./index";
import { tfLogEnv } from "./tf-logs";

/** Environment variables that set a worker's compute threads (read by TensorFlow / OpenMP at load). */
export const THREAD_ENV_VARS = ["TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"] as const;

/** The environment giving a process `threads` compute threads (merge into a child's environment). */
export function threadEnv(threads: number): Record<string, string> {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threadEnv: threads must be a positive integer, got ${threads}`);
  const n = String(threads);
  return { TF_NUM_INTRAOP_THREADS: n, TF_NUM_INTEROP_THREADS: n, OMP_NUM_THREADS: n };
}

/**
 * The environment of a process this project starts to train (a bench child, a PyTorch peer): `base` with
 * `threads` compute threads (threadEnv), TensorFlow's log level (tf-logs.ts tfLogEnv) and transparent huge
 * pages (huge-pages.ts hugePageEnv; the user's GLIBC_TUNABLES and ESMM_HUGE_PAGES=0 are kept). Throws as
 * threadEnv and hugePageEnv do.
 */
export function trainingChildEnv(threads: number, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, ...tfLogEnv(base), ...threadEnv(threads), ...hugePageEnv(base) };
}

export interface Parallelism {
  /** Worker processes (each trains one model at a time). */
  workers: number;
  /** Compute threads per worker. */
  threadsPerWorker: number;
  /** Variables to set in every worker's environment (before it loads the backend). */
  env: Record<string, string>;
}

function availableCores(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/**
 * Workers x threads for training many independent models on `backend` with `cores` cores: one worker
 * per core, one compute thread each (see the measurements above). `env` pins TensorFlow's (and
 * OpenMP's) thread pools to one thread; wasm and cpu run one thread whatever the environment, and get
 * the same variables so that a worker falling back to another backend stays single-threaded.
 */
export function recommendedParallelism(backend: BackendName, cores = availableCores()): Parallelism {
  if (!Number.isFinite(cores) || cores < 1) throw new Error(`recommendedParallelism: cores must be >= 1, got ${cores}`);
  const workers = Math.floor(cores);
  switch (backend) {
    case "tensorflow":
    case "wasm":
    case "cpu":
      return { workers, threadsPerWorker: 1, env: threadEnv(1) };
    default:
      throw new Error(`recommendedParallelism: unknown backend "${String(backend)}"`);
  }
}

/**
 * The machine's processor as a bench line records it, e.g. "AMD EPYC (family 25, model 17; avx512f), 2 cores":
 * the model name, and on Linux the family/model numbers and whether AVX-512 is there (/proc/cpuinfo), since
 * machines of one name differ: on 2026-12-06 two "AMD EPYC, 2 cores" machines ran the same benches 1.5-3.0x apart
 * (docs/speed.md). Never throws (an unreadable /proc/cpuinfo gives the model name alone). `cpuinfo`: the text of
 * /proc/cpuinfo, for tests.
 */
export function cpuDescription(cpuinfo?: string): string {
  const cores = availableCores();
  let text = cpuinfo;
  if (text === undefined && process.platform === "linux") {
    try {
      text = fs.readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      text = undefined;
    }
  }
  const field = (name: string) => (text ? new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1].trim() : undefined);
  const model = field("model name") ?? os.cpus()[0]?.model?.trim() ?? "unknown processor";
  const family = field("cpu family");
  const number = field("model");
  const flags = field("flags")?.split(/\s+/);
  const details = [family !== undefined && number !== undefined ? `family ${family}, model ${number}` : "", flags ? (flags.includes("avx512f") ? "avx512f" : flags.includes("avx2") ? "avx2, no avx512f" : "no avx2") : ""].filter((x) => x !== "");
  return `${model}${details.length > 0 ? ` (${details.join("; ")})` : ""}, ${cores} cores`;
}
