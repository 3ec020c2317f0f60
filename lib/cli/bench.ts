/**
 * `esmm bench`: training examples/s per backend that loads here and per batch size (a benchmark, not a
 * test); optionally next to PyTorch on the same shape (`--peer torch`) and for several training
 * processes at once (`--parallel`).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command, UsageError, numberList, numberValue } from "./args";
import { intRange } from "../ranges";
import { availableBackends, BACKEND_NAMES, BackendName, projectRoot, tfLogEnv } from "../backend";
import { threadEnv } from "../backend/parallelism";
import { MODEL_NAMES } from "../models/zoo";

interface ChildResult {
  backend: string;
  model: string;
  batch: number;
  seeds: number;
  examplesPerSec: number;
  threads: number;
  cpuPercent: number;
  kernelsPerStep?: number;
  tfOpsPerStep?: number;
}

interface TorchResult {
  batch: number;
  examplesPerSec: number;
  threads: number;
  torch: string;
}

/** PyTorch on the whole machine at one batch size: 1 process x `cores` threads, `cores` processes x 1 thread, and the better. */
interface TorchWholeMachine {
  batch: number;
  oneProcess: number;
  processes: number;
  best: number;
  torch: string;
}

export const benchCommand: Command = {
  name: "bench",
  summary: "training examples/s of each backend on the reference shape",
  usage: `esmm bench [--batch 1024[,4096,...]] [--backend NAME[,NAME]] [--models NAME[,NAME]|all] [--seeds S[,S...]] [--batches N]
           [--repeat N] [--count] [--threads N] [--peer torch [--peer-threads N]] [--parallel WxT[,WxT...]] [--json]

Reference shape: ESMM (or each of --models) on 8 categorical fields (vocabulary 1,000), embedding 8, shared layers 128-64,
heads 32-16-1. Each backend runs in its own process (bench/train-throughput.js); the rate is the best of
epochs 2-3 (epoch 1 warms up) of --batches batches (default 40).

--models LIST   models of the zoo to time (default ESMM; "all": the twelve), each on the same shape; the
                table gets a model column. The peer (PyTorch) is ESMM only.
--seeds LIST    seeds trained together in one graph (lib/train/seed-group.ts), e.g. 1,3,10 (default 1: a single
                model). Each seed has its own batch order of the same rows; examples/s is the total over the seeds.
--repeat N      run every measurement N times, interleaved (backends, batch sizes, peer in turn), and
                report medians (the machine's other load makes single runs noisy). Default 1.
--count         also report tfjs kernels per training step (and TensorFlow ops per step on tensorflow).
--threads N     compute threads of the tfjs process (TF_NUM_INTRAOP_THREADS=N etc.; wasm and cpu always run
                1). Default 1: TensorFlow is fastest with one thread here (a step is ~150 small ops; measured
                166k examples/s at batch 1024 with 1 thread, 100k with 2), and it is what study workers use.
--peer torch    also run bench/torch_bench.py (same model, losses, Adam, data) in the project's .venv, installing
                PyTorch there first when it is missing (.venv/bin/pip install --retries 0 -r bench/requirements-torch.txt),
                and compare whole machines in the same command: PyTorch as 1 process x C threads and as C processes
                x 1 thread (C = the cores), the better of the two; tfjs as C processes x 1 thread (what the study
                runner uses); ratio = tfjs whole machine / PyTorch whole machine, per batch size and seed count.
                --peer-threads N: only PyTorch 1 process x N threads (and tfjs one process). On a machine other
                processes keep busy, PyTorch's OpenMP threads spin-wait for each other and its rate collapses
                (10-40x slower in some runs): compare on a quiet machine.
--parallel WxT  instead: W training processes at once, each with T compute threads
                (TF_NUM_INTRAOP_THREADS=T etc.; wasm and cpu always run 1 thread), e.g. 1x2,2x1; reports
                the total examples/s of the W processes (median over --repeat).
--json          one object per line: {backend, model, batch, seeds, examplesPerSec, threads, cpuPercent[, kernelsPerStep,
                tfOpsPerStep][, totalExamplesPerSec, torchExamplesPerSec, torchOneProcess, torchProcesses, ratio]};
                with --parallel {backend, batch, seeds, workers, threadsPerWorker, totalExamplesPerSec, perWorker}.`,
  options: {
    batch: { type: "string", number: intRange(1), list: true },
    backend: { type: "string" },
    batches: { type: "string", number: intRange(1) },
    repeat: { type: "string", number: intRange(1) },
    count: { type: "boolean" },
    peer: { type: "string" },
    "peer-threads": { type: "string", number: intRange(1) },
    threads: { type: "string", number: intRange(1) },
    parallel: { type: "string" },
    json: { type: "boolean" },
    models: { type: "string" },
    seeds: { type: "string", number: intRange(1, 64), list: true },
  },
  async run(v) {
    const batches = numberList(v, "batch") ?? [1024];
    const seedCounts = numberList(v, "seeds") ?? [1];
    const steps = numberValue(v, "batches", 40);
    const repeat = numberValue(v, "repeat", 1);
    if (v.peer !== undefined && v.peer !== "torch") throw new UsageError(`bench: --peer takes "torch", got ${JSON.stringify(v.peer)}`);
    const parallel = typeof v.parallel === "string" ? parseParallel(v.parallel) : undefined;
    if (parallel && v.peer) throw new UsageError("bench: --parallel and --peer are separate measurements; run them one at a time");
    let backends = await availableBackends();
    if (typeof v.backend === "string") {
      const wanted = v.backend.split(",");
      for (const b of wanted) if (!BACKEND_NAMES.includes(b as BackendName)) throw new UsageError(`bench: unknown backend "${b}" (${BACKEND_NAMES.join(", ")})`);
      backends = backends.filter((b) => wanted.includes(b));
    }
    const models = parseModels(v.models);
    if (models.length > 1 && (parallel || v.peer)) throw new UsageError("bench: --models with several models times each alone; run --parallel and --peer with one model");
    const child = path.join(__dirname, "..", "..", "bench", "train-throughput.js");
    const json = v.json === true;

    if (parallel) {
      await runParallel(child, backends, batches, seedCounts, steps, repeat, parallel, json);
      return;
    }

    const cores = os.cpus().length;
    const peerThreadsGiven = v["peer-threads"] !== undefined;
    const peerThreads = numberValue(v, "peer-threads", cores);
    const threads = numberValue(v, "threads", 1);
    const python = v.peer === "torch" ? ensureTorch() : undefined;
    const wholeMachine = python !== undefined && !peerThreadsGiven && cores > 1;
    const results = new Map<string, ChildResult[]>();
    const totals = new Map<string, number[]>();
    const torchRuns = new Map<number, TorchWholeMachine[]>();
    const childArgs = (backend: string, batch: number, model: string, seeds: number, count: boolean) => [
      child, backend, String(batch), String(steps), "--model", model, "--seeds", String(seeds), ...(count ? ["--count"] : []),
    ];
    for (let rep = 0; rep < repeat; rep++) {
      for (const backend of backends) {
        for (const batch of batches) for (const model of models) for (const seeds of seedCounts) {
          const r = spawnSync(process.execPath, childArgs(backend, batch, model, seeds, v.count === true && rep === 0), { encoding: "utf8", env: { ...process.env, ...tfLogEnv(process.env), ...threadEnv(threads) } });
          const line = r.stdout.trim().split("\n").pop() ?? "";
          if (r.status !== 0 || !line.startsWith("{")) {
            console.error(`bench: ${backend} ${model} batch ${batch} seeds ${seeds} failed: ${r.stderr.trim().split("\n").pop()}`);
            continue;
          }
          const res = JSON.parse(line) as ChildResult;
          const key = `${res.backend}/${res.model}/${batch}/${seeds}`;
          results.set(key, [...(results.get(key) ?? []), res]);
          if (wholeMachine) {
            // tfjs on the whole machine as the study runs it: one single-threaded process per core, at once.
            const env = { ...process.env, ...tfLogEnv(process.env), ...threadEnv(1) };
            const runs = await Promise.all(Array.from({ length: cores }, () => runChild(process.execPath, childArgs(backend, batch, model, seeds, false), env)));
            if (runs.every((x) => x !== undefined)) totals.set(key, [...(totals.get(key) ?? []), runs.reduce((a, x) => a + x!.examplesPerSec, 0)]);
          }
        }
      }
      if (python) {
        for (const t of await runTorchWholeMachine(python, batches, steps, peerThreads, wholeMachine ? cores : 1)) torchRuns.set(t.batch, [...(torchRuns.get(t.batch) ?? []), t]);
      }
    }

    const torchRate = new Map([...torchRuns].map(([b, runs]) => [b, median(runs.map((r) => r.best))]));
    const counted = [...results.values()].some((runs) => runs[0].kernelsPerStep !== undefined);
    if (!json) {
      let head = `${"backend".padEnd(12)}${models.length > 1 ? "model".padEnd(12) : ""}${"batch".padStart(7)}${"seeds".padStart(7)}${"examples/s".padStart(14)}`;
      if (counted) head += `${"kernels/step".padStart(14)}${"TF ops/step".padStart(13)}`;
      if (wholeMachine) head += `${`${cores} procs ex/s`.padStart(14)}`;
      if (python) head += `${"torch ex/s".padStart(14)}${"ratio".padStart(8)}`;
      console.log(head + (repeat > 1 ? `   (medians of ${repeat} runs)` : ""));
      const tfThreads = backends.includes("tensorflow") ? `tensorflow ${threads} thread(s), wasm 1` : "1 thread";
      const torchSide = wholeMachine ? `; whole machine: tfjs ${cores} processes x 1 thread, PyTorch the better of 1 process x ${peerThreads} threads and ${cores} processes x 1 thread` : python ? `; PyTorch 1 process x ${peerThreads} thread(s)` : "";
      process.stderr.write(`bench: tfjs ${tfThreads}${torchSide}\n`);
    }
    for (const [key, runs] of results) {
      const first = runs[0];
      const rate = Math.round(median(runs.map((r) => r.examplesPerSec)));
      const total = totals.has(key) ? Math.round(median(totals.get(key)!)) : undefined;
      const torch = torchRate.get(first.batch);
      const torchRuns1 = torchRuns.get(first.batch);
      const ratio = torch ? +((total ?? rate) / torch).toFixed(3) : undefined;
      if (json) {
        const out: Record<string, unknown> = {
          backend: first.backend,
          model: first.model,
          batch: first.batch,
          seeds: first.seeds,
          examplesPerSec: rate,
          threads: first.threads,
          cpuPercent: median(runs.map((r) => r.cpuPercent)),
        };
        if (first.kernelsPerStep !== undefined) out.kernelsPerStep = first.kernelsPerStep;
        if (first.tfOpsPerStep !== undefined) out.tfOpsPerStep = first.tfOpsPerStep;
        if (total !== undefined) Object.assign(out, { processes: cores, totalExamplesPerSec: total });
        if (python) {
          Object.assign(out, {
            torchExamplesPerSec: torch === undefined ? null : Math.round(torch),
            torchOneProcess: torchRuns1 ? { threads: peerThreads, examplesPerSec: Math.round(median(torchRuns1.map((r) => r.oneProcess))) } : null,
            torchProcesses: wholeMachine && torchRuns1 ? { processes: cores, threadsEach: 1, examplesPerSec: Math.round(median(torchRuns1.map((r) => r.processes))) } : null,
            ratio: ratio ?? null,
          });
        }
        console.log(JSON.stringify(out));
        continue;
      }
      let row = `${first.backend.padEnd(12)}${models.length > 1 ? first.model.padEnd(12) : ""}${String(first.batch).padStart(7)}${String(first.seeds).padStart(7)}${fmt(rate).padStart(14)}`;
      if (counted) row += `${String(first.kernelsPerStep ?? "").padStart(14)}${String(first.tfOpsPerStep ?? "-").padStart(13)}`;
      if (wholeMachine) row += `${(total !== undefined ? fmt(total) : "failed").padStart(14)}`;
      if (python) row += `${(torch ? fmt(Math.round(torch)) : "failed").padStart(14)}${(ratio !== undefined ? ratio.toFixed(2) : "-").padStart(8)}`;
      console.log(row);
    }
  },
};

/** --models: names of the zoo (case-insensitive) or "all"; default ESMM. */
function parseModels(value: unknown): string[] {
  if (value === undefined) return ["ESMM"];
  if (value === "all") return [...MODEL_NAMES];
  return String(value).split(",").map((n) => {
    const m = MODEL_NAMES.find((k) => k.toLowerCase() === n.trim().toLowerCase());
    if (!m) throw new UsageError(`bench: unknown model "${n}" in --models (models: ${MODEL_NAMES.join(", ")}, or all)`);
    return m;
  });
}

function parseParallel(s: string): { workers: number; threads: number }[] {
  return s.split(",").map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`bench: --parallel takes WORKERSxTHREADS items like 2x1, got ${JSON.stringify(part)}`);
    return { workers: Number(m[1]), threads: Number(m[2]) };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** W bench children at once, each with `threads` compute threads; total examples/s per (backend, batch, WxT). */
async function runParallel(
  child: string,
  backends: BackendName[],
  batches: number[],
  seedCounts: number[],
  steps: number,
  repeat: number,
  configs: { workers: number; threads: number }[],
  json: boolean,
): Promise<void> {
  const totals = new Map<string, { backend: string; batch: number; seeds: number; workers: number; threads: number; runs: number[][] }>();
  for (let rep = 0; rep < repeat; rep++) {
    for (const backend of backends) {
      for (const batch of batches) for (const seeds of seedCounts) {
        for (const { workers, threads } of configs) {
          const env = { ...process.env, ...tfLogEnv(process.env), ...threadEnv(threads) };
          const runs = await Promise.all(
            Array.from({ length: workers }, () => runChild(process.execPath, [child, backend, String(batch), String(steps), "--epochs", "4", "--seeds", String(seeds)], env)),
          );
          const ok = runs.filter((r): r is ChildResult => r !== undefined);
          if (ok.length < workers) {
            console.error(`bench: ${backend} batch ${batch} seeds ${seeds} ${workers}x${threads}: ${workers - ok.length} worker(s) failed`);
            continue;
          }
          const key = `${backend}/${batch}/${seeds}/${workers}x${threads}`;
          const entry = totals.get(key) ?? { backend, batch, seeds, workers, threads, runs: [] };
          entry.runs.push(ok.map((r) => r.examplesPerSec));
          totals.set(key, entry);
        }
      }
    }
  }
  if (!json) console.log(`${"backend".padEnd(12)}${"batch".padStart(7)}${"seeds".padStart(7)}${"workers x threads".padStart(19)}${"total ex/s".padStart(13)}   per worker${repeat > 1 ? ` (medians of ${repeat} runs)` : ""}`);
  for (const e of totals.values()) {
    const total = Math.round(median(e.runs.map((r) => r.reduce((a, b) => a + b, 0))));
    const perWorker = e.runs[0].map((_, i) => Math.round(median(e.runs.map((r) => r[i]))));
    const threadsPerWorker = e.backend === "tensorflow" ? e.threads : 1;
    if (json) console.log(JSON.stringify({ backend: e.backend, batch: e.batch, seeds: e.seeds, workers: e.workers, threadsPerWorker, totalExamplesPerSec: total, perWorker }));
    else console.log(`${e.backend.padEnd(12)}${String(e.batch).padStart(7)}${String(e.seeds).padStart(7)}${`${e.workers} x ${threadsPerWorker}`.padStart(19)}${fmt(total).padStart(13)}   ${perWorker.map(fmt).join(", ")}`);
  }
}

function runChild(exec: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildResult | undefined> {
  return new Promise((resolve) => {
    const p = spawn(exec, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.resume();
    p.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      resolve(code === 0 && line.startsWith("{") ? (JSON.parse(line) as ChildResult) : undefined);
    });
  });
}

/** The project venv's python with PyTorch importable (installed from bench/requirements-torch.txt when missing). */
function ensureTorch(): string {
  const root = projectRoot();
  const python = path.join(root, ".venv", "bin", "python");
  const pip = path.join(root, ".venv", "bin", "pip");
  if (!fs.existsSync(python)) throw new UsageError(`bench --peer torch: no virtualenv at ${python} (run \`make setup\` first)`);
  const probe = () => spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  let r = probe();
  if (r.status !== 0) {
    const req = path.join(root, "bench", "requirements-torch.txt");
    console.error(`bench: installing PyTorch into .venv (${path.relative(root, req)})`);
    const install = spawnSync(pip, ["install", "--retries", "0", "-r", req], { stdio: ["ignore", "inherit", "inherit"] });
    if (install.status !== 0) throw new Error(`bench --peer torch: pip install -r ${req} failed (exit ${install.status})`);
    r = probe();
    if (r.status !== 0) throw new Error(`bench --peer torch: torch still not importable: ${r.stderr.trim().split("\n").pop()}`);
  }
  return python;
}

/** One bench/torch_bench.py process with `threads` threads; resolves with its lines (empty when it failed). */
function runTorch(python: string, batches: number[], steps: number, threads: number): Promise<TorchResult[]> {
  const script = path.join(projectRoot(), "bench", "torch_bench.py");
  return new Promise((resolve) => {
    const p = spawn(python, [script, "--batch", batches.join(","), "--batches", String(steps), "--threads", String(threads)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code) => {
      if (code !== 0) {
        console.error(`bench: torch peer failed: ${err.trim().split("\n").pop()}`);
        return resolve([]);
      }
      resolve(out.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as TorchResult));
    });
  });
}

/**
 * PyTorch on the whole machine, per batch size: 1 process x `threads` threads, then (when `processes` > 1)
 * `processes` single-threaded processes at once (their rates summed), and the better of the two.
 */
async function runTorchWholeMachine(python: string, batches: number[], steps: number, threads: number, processes: number): Promise<TorchWholeMachine[]> {
  const one = await runTorch(python, batches, steps, threads);
  const many = processes > 1 ? await Promise.all(Array.from({ length: processes }, () => runTorch(python, batches, steps, 1))) : [];
  return one.map((r) => {
    const parts = many.map((lines) => lines.find((l) => l.batch === r.batch));
    const processesRate = processes > 1 && parts.every(Boolean) ? parts.reduce((a, l) => a + l!.examplesPerSec, 0) : 0;
    return { batch: r.batch, oneProcess: r.examplesPerSec, processes: processesRate, best: Math.max(r.examplesPerSec, processesRate), torch: r.torch };
  });
}
