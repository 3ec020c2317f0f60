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
import { availableBackends, BACKEND_NAMES, BackendName, nativeDir, nativeKernelsSource, nativePackageDir, projectRoot } from "../backend";
import { checkNativeKernels } from "../backend/native-kernels";
import { HUGE_PAGES_TUNABLE, hugePageEnv } from "../backend/huge-pages";
import { cpuDescription, trainingChildEnv } from "../backend/parallelism";
import { MODEL_NAMES } from "../models/zoo";
import { EMBEDDING_UPDATES, EmbeddingUpdates } from "../train/rowwise";
import { SYNTHETIC_ALI_CCP_IDS, SYNTHETIC_CLICK_RATE, SYNTHETIC_CONVERSION_GIVEN_CLICK, syntheticAliCcpVocabularies } from "../data/ali-ccp-synthetic";

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
  /** The child's esmm-lab kernels on the native backend: "loaded" or "not loaded: <reason>" (absent elsewhere). */
  nativeKernels?: string;
}

interface TorchResult {
  batch: number;
  /** "adam" (dense gradient, Adam on every parameter) or "sparse-adam" (SparseAdam on the embeddings). */
  optimizer: string;
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
  summary: "training examples/s of each backend on the reference shape (or the synthetic Ali-CCP one)",
  usage: `esmm bench [--batch 1024[,4096,...]] [--backend NAME[,NAME]] [--models NAME[,NAME]|all] [--seeds S[,S...]] [--batches N]
           [--repeat N] [--count] [--threads N] [--peer torch [--peer-threads N]] [--parallel WxT[,WxT...]] [--json]
           [--shape ali-ccp [--vocabulary IDS[,IDS...]] [--embedding-updates dense|rowwise[,...]]]

Reference shape: ESMM (or each of --models) on 8 categorical fields (vocabulary 1,000), embedding 8, shared layers 128-64,
heads 32-16-1. Each backend runs in its own process (bench/train-throughput.js); the rate is the best of
epochs 2-3 (epoch 1 warms up) of --batches batches (default 40). Row-wise updates at large vocabularies warm up for
longer (their per-epoch rate still rises over the first five or six 40-batch epochs): for the rate of a long run, give
both sides longer epochs, e.g. --batches 200 (docs/speed.md).

--models LIST   models of the zoo to time (default ESMM; "all": every model of the zoo), each on the same shape; the
                table gets a model column. The peer (PyTorch) is ESMM only.
--seeds LIST    seeds trained together in one graph (lib/train/trainer.ts), e.g. 1,3,10 (default 1: a single
                model). Each seed has its own batch order of the same rows; examples/s is the total over the seeds.
--repeat N      run every measurement N times, interleaved (backends, batch sizes, peer in turn), and
                report medians (the machine's other load makes single runs noisy). Default 1.
--count         also report tfjs kernels per training step (and TensorFlow ops per step on tensorflow).
--threads N     compute threads of the tfjs process (TF_NUM_INTRAOP_THREADS=N etc.; wasm and cpu always run
                1). Default 1: TensorFlow is fastest with one thread here (a step is 110-170 small ops; measured
                166k examples/s at batch 1024 with 1 thread, 100k with 2, on 2026-11-30), and it is what study workers use.
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
                tfOpsPerStep][, processes, totalExamplesPerSec], hugePages, nativeKernels, loadAverage, cpu[, torchExamplesPerSec,
                torchOneProcess, torchProcesses, ratio]} (hugePages: the children started in huge pages; nativeKernels:
                a tensorflow line's children loaded esmm-lab's kernels, as they reported it (always false for
                wasm and cpu); loadAverage:
                the machine's 1/5/15-minute load when the command started; cpu: the processor, e.g. "AMD EPYC
                (family 25, model 17; avx512f), 2 cores": machines of one name can differ 2x, so compare rates of
                one machine, or ratios to the peer of the same command);
                with --parallel {backend, batch, seeds, workers, threadsPerWorker, totalExamplesPerSec, perWorker,
                hugePages, nativeKernels, loadAverage, cpu}. Without --json the same conditions are one line on
                stderr before the table (the kernels as the children had them); with --json, a stderr line when
                the children's kernels differ from this process' check of the files. Either way a 1-minute load
                average at or above the cores adds a warning on stderr: other work ran in the last minute, and
                while it runs every rate reads low. A --backend that does not load here is an error (exit 2).

Without --backend every backend that loads here is timed, wasm and cpu included: on the ali-ccp shape or with
--seeds 10 they take minutes per measurement (cpu: tens of minutes at 2M ids with dense updates); give
--backend tensorflow for the native one alone.

Every process the bench starts, PyTorch's included, gets GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE} (transparent huge
pages for malloc: lib/backend/huge-pages.ts) unless GLIBC_TUNABLES is set already; ESMM_HUGE_PAGES=0 measures
without (1, the default, with). At 2M ids PyTorch gains about 10 % (SparseAdam) and 50 % (dense Adam) from it,
tfjs' row-wise update 0-7 % (docs/speed.md); the reference shape runs alike.

On the native backend the children use esmm-lab's own kernels when \`make native\` built them (fused Adam, the
embedding gradient's segment sum and row gathers, row-wise Adam in place, a layer's bias and ReLU:
lib/backend/native-kernels.ts; the same bits as the op chains they replace); ESMM_NATIVE_KERNELS=0 (or false, no,
off) measures without them. Measured on 2026-12-06 with the first three: 10-seed groups 1.18x in one process,
row-wise ESMM at 2M ids 1.39x; with all six, 10-seed groups reached 1.74x PyTorch's whole machine (docs/speed.md).

--shape ali-ccp  instead of the reference shape: ESMM with the default architecture (embedding 8 per field, shared
                128-64, heads 32-16-1) on the synthetic Ali-CCP rows of lib/data/ali-ccp-synthetic.ts (23 categorical
                fields, ids skewed to small values; 8 numeric inputs; 4 % clicks, 0.53 % of them convert), drawn in
                memory (no file), BATCHES x BATCH rows.
  --vocabulary LIST   total ids of the 23 fields, each field scaled to it (default 10000,200000,2000000; the
                synthetic file's own sizes, lib/data/ali-ccp-synthetic.ts, are ${SYNTHETIC_ALI_CCP_IDS.toLocaleString("en-US")} ids).
  --embedding-updates LIST   dense and/or rowwise (default dense,rowwise): how Adam updates the embedding tables
                (esmm train --help; lib/train/rowwise.ts). With rowwise the step's cost grows far less with the
                vocabulary than with dense (docs/speed.md).
  --peer torch  also runs bench/torch_bench.py on the same shape (the same vocabulary sizes, numeric inputs,
                label rates, architecture and batches) with the same threads (--threads, or --peer-threads),
                one process, twice: dense Adam (nn.Embedding's dense gradient, Adam on every parameter: what
                torch-rechub, MTReclib, DeepCTR-Torch and FuxiCTR do) and SparseAdam (nn.Embedding(sparse=True),
                torch.optim.SparseAdam on the embeddings, Adam on the dense layers: the lazy rule rowwise follows).
  One line per backend, vocabulary, update rule, batch size and seed count; with --json {shape: "ali-ccp", backend,
  model, batch, seeds, vocabulary, embeddingUpdates, examplesPerSec, threads, cpuPercent, hugePages, nativeKernels, loadAverage, cpu[, torchDenseExamplesPerSec,
  torchSparseExamplesPerSec, torchThreads, torch]} (a torch rate is null when its run failed). --parallel and
  --count are for the reference shape.`,
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
    shape: { type: "string" },
    vocabulary: { type: "string", number: intRange(345), list: true },
    "embedding-updates": { type: "string" },
  },
  async run(v) {
    const batches = numberList(v, "batch") ?? [1024];
    const seedCounts = numberList(v, "seeds") ?? [1];
    const steps = numberValue(v, "batches", 40);
    const repeat = numberValue(v, "repeat", 1);
    try {
      hugePageEnv();
    } catch (e) {
      throw new UsageError(`bench: ${(e as Error).message}`);
    }
    const context = benchContext();
    if (v.peer !== undefined && v.peer !== "torch") throw new UsageError(`bench: --peer takes "torch", got ${JSON.stringify(v.peer)}`);
    const parallel = typeof v.parallel === "string" ? parseParallel(v.parallel) : undefined;
    if (parallel && v.peer) throw new UsageError("bench: --parallel and --peer are separate measurements; run them one at a time");
    const shape = v.shape ?? "reference";
    if (shape !== "reference" && shape !== "ali-ccp") throw new UsageError(`bench: --shape takes reference or ali-ccp, got ${JSON.stringify(v.shape)}`);
    if (shape === "ali-ccp" && (parallel || v.count)) throw new UsageError("bench: --parallel and --count are for the reference shape, not --shape ali-ccp");
    if (shape !== "ali-ccp" && (v.vocabulary !== undefined || v["embedding-updates"] !== undefined)) throw new UsageError("bench: --vocabulary and --embedding-updates are for --shape ali-ccp");
    const updates = parseUpdates(v["embedding-updates"]);
    let backends = await availableBackends();
    if (typeof v.backend === "string") {
      const wanted = v.backend.split(",");
      for (const b of wanted) if (!BACKEND_NAMES.includes(b as BackendName)) throw new UsageError(`bench: unknown backend "${b}" (${BACKEND_NAMES.join(", ")})`);
      // a backend asked for by name that does not load is an error, never an empty table
      const missing = wanted.filter((b) => !backends.includes(b as BackendName));
      if (missing.length > 0) {
        const native = path.join(nativePackageDir(), "package.json");
        const why = fs.existsSync(native) ? `installed in ${nativeDir()} but it fails to load` : `not built in ${nativeDir()}`;
        const hint = missing.includes("tensorflow") ? ` (the native backend: ${why}; \`make native\` builds it, ESMM_NATIVE_DIR moves it: docs/native-backend.md)` : "";
        throw new UsageError(`bench: --backend ${missing.join(",")} does not load here${hint}; these do: ${backends.join(", ") || "none"}`);
      }
      backends = backends.filter((b) => wanted.includes(b));
    }
    const models = parseModels(v.models);
    if (models.length > 1 && (parallel || v.peer)) throw new UsageError("bench: --models with several models times each alone; run --parallel and --peer with one model");
    const child = path.join(__dirname, "..", "..", "bench", "train-throughput.js");
    const json = v.json === true;
    // the JSON lines carry the load; the warning goes to stderr (the table form's conditions line holds it)
    const warning = loadWarning(context);
    if (json && warning) process.stderr.write(`bench: ${warning}\n`);
    if (shape === "ali-ccp") {
      const vocabularies = numberList(v, "vocabulary") ?? [10_000, 200_000, 2_000_000];
      const threads = numberValue(v, "threads", 1);
      const python = v.peer === "torch" ? ensureTorch() : undefined;
      await runAliCcp({ child, backends, batches, seedCounts, steps, repeat, models, vocabularies, updates, threads, torchThreads: numberValue(v, "peer-threads", threads), python, json, context });
      return;
    }

    if (parallel) {
      await runParallel(child, backends, batches, seedCounts, steps, repeat, parallel, json, context);
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
          const r = spawnSync(process.execPath, childArgs(backend, batch, model, seeds, v.count === true && rep === 0), { encoding: "utf8", env: trainingChildEnv(threads) });
          const line = r.stdout.trim().split("\n").pop() ?? "";
          if (r.status !== 0 || !line.startsWith("{")) {
            console.error(`bench: ${backend} ${model} batch ${batch} seeds ${seeds} failed: ${r.stderr.trim().split("\n").pop()}`);
            continue;
          }
          const res = JSON.parse(line) as ChildResult;
          noteChildKernels(context, res, json);
          const key = `${res.backend}/${res.model}/${batch}/${seeds}`;
          results.set(key, [...(results.get(key) ?? []), res]);
          if (wholeMachine) {
            // tfjs on the whole machine as the study runs it: one single-threaded process per core, at once.
            const env = trainingChildEnv(1);
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
      const tfThreads = threadsText(backends, threads);
      const torchSide = wholeMachine ? `; whole machine: tfjs ${cores} processes x 1 thread, PyTorch the better of 1 process x ${peerThreads} threads and ${cores} processes x 1 thread` : python ? `; PyTorch 1 process x ${peerThreads} thread(s)` : "";
      process.stderr.write(`bench: tfjs ${tfThreads}${torchSide}; ${conditionsLine(context, backends)}\n`);
      console.log(head + (repeat > 1 ? `   (medians of ${repeat} runs)` : ""));
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
        Object.assign(out, lineContext(context, first));
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

/** --embedding-updates: a comma-separated list of dense / rowwise; default both. */
function parseUpdates(value: unknown): EmbeddingUpdates[] {
  if (value === undefined) return ["dense", "rowwise"];
  const list = String(value).split(",").map((x) => x.trim());
  for (const u of list) if (!EMBEDDING_UPDATES.includes(u as EmbeddingUpdates)) throw new UsageError(`bench: --embedding-updates takes ${EMBEDDING_UPDATES.join(" and/or ")}, got ${JSON.stringify(u)}`);
  return [...new Set(list)] as EmbeddingUpdates[];
}

/**
 * What a JSON line of the bench says about the conditions it ran in: whether its children started in huge pages
 * (their GLIBC_TUNABLES asks for glibc.malloc.hugetlb=1: lib/backend/huge-pages.ts) and the machine's 1/5/15-minute
 * load average when the command started (other work on the cores moves every rate). Throws as hugePageEnv does.
 */
function benchContext(): BenchContext {
  const env = trainingChildEnv(1);
  const tunables = env.GLIBC_TUNABLES ?? "";
  const kernels = checkNativeKernels(nativeDir(), nativeKernelsSource(), { ...process.env, ...env });
  return {
    hugePages: tunables.split(":").includes(HUGE_PAGES_TUNABLE),
    nativeKernels: "library" in kernels,
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    cpu: cpuDescription(),
    kernelsReason: "reason" in kernels ? kernels.reason : undefined,
    cores: os.cpus().length,
  };
}

/** What every line of a bench says about where it ran (benchContext), and what its stderr line says besides. */
interface BenchContext extends BenchLineContext {
  /** Why the native kernels are not loaded (checkNativeKernels' reason: turned off, not built, stale). */
  kernelsReason: string | undefined;
  cores: number;
  /** What the first tensorflow child reported ("loaded" or "not loaded: <reason>"), once one has run. */
  childKernels?: string;
}

/** The context a JSON line carries. */
interface BenchLineContext {
  hugePages: boolean;
  nativeKernels: boolean;
  loadAverage: number[];
  cpu: string;
}

/**
 * The conditions of a table-form bench in one line for stderr, written before the table: the same facts as the
 * JSON lines' context (huge pages, esmm-lab's kernels for the native backend and why they are not loaded, load
 * average, processor), and a warning when the 1-minute load is at or above the cores (loadWarning).
 */
function conditionsLine(context: BenchContext, backends: readonly string[]): string {
  const predicted = context.nativeKernels ? "loaded" : `not loaded: ${context.kernelsReason}`;
  const kernels = backends.includes("tensorflow") ? `; esmm-lab's kernels on tensorflow: ${context.childKernels ?? predicted}` : "";
  const warning = loadWarning(context);
  return `huge pages ${context.hugePages ? "on" : "off"}${kernels}; load average ${context.loadAverage.join(", ")} at the start; ${context.cpu}${warning ? `; ${warning}` : ""}`;
}

/** The tfjs side's threads for the stderr line: the native backend's `threads`, the others' one, of the backends timed. */
function threadsText(backends: readonly string[], threads: number): string {
  const single = backends.filter((b) => b !== "tensorflow");
  if (!backends.includes("tensorflow")) return "1 thread";
  return `tensorflow ${threads} thread(s)${single.length > 0 ? `, ${single.join(" and ")} 1` : ""}`;
}

/**
 * "warning: ..." when the 1-minute load average at the start is at or above the cores, else undefined. The average
 * lags (a command that just ended still counts), so it says what may be: other work holding the cores reads every
 * rate low (a PyTorch peer's most, its threads spin-wait).
 */
export function loadWarning(context: Pick<BenchContext, "loadAverage" | "cores">): string | undefined {
  const load = context.loadAverage[0];
  if (!(load >= context.cores)) return undefined;
  return `warning: the 1-minute load average ${load} is at or above the ${context.cores} cores: other work ran in the last minute, and if it still runs the rates read low`;
}

/**
 * Keeps the first tensorflow child's kernels status in `context` (the table form's conditions line, written after the
 * runs, gives it), and with --json writes one stderr line when it differs from checkNativeKernels' prediction in this
 * process (e.g. a library that exists but does not load): the JSON lines carry the children's status.
 */
function noteChildKernels(context: BenchContext, result: ChildResult, json: boolean): void {
  if (context.childKernels !== undefined || result.backend !== "tensorflow" || result.nativeKernels === undefined) return;
  context.childKernels = result.nativeKernels;
  if (json && (result.nativeKernels === "loaded") !== context.nativeKernels) {
    process.stderr.write(`bench: esmm-lab's kernels in the tensorflow children: ${result.nativeKernels} (the JSON lines say what the children had)\n`);
  }
}

/**
 * The context of one JSON line: the kernels are the native backend's only (wasm and cpu lines say false), as its
 * child reported them (the prediction of this process when a child did not say).
 */
function lineContext(context: BenchContext, child: Pick<ChildResult, "backend" | "nativeKernels">): BenchLineContext {
  const { hugePages, loadAverage, cpu } = context;
  const loaded = child.nativeKernels === undefined ? context.nativeKernels : child.nativeKernels === "loaded";
  return { hugePages, nativeKernels: child.backend === "tensorflow" && loaded, loadAverage, cpu };
}

interface AliCcpRun {
  context: BenchContext;
  child: string;
  backends: BackendName[];
  batches: number[];
  seedCounts: number[];
  steps: number;
  repeat: number;
  models: string[];
  vocabularies: number[];
  updates: EmbeddingUpdates[];
  /** Compute threads of the tfjs processes and of PyTorch (torchThreads). */
  threads: number;
  torchThreads: number;
  /** The venv's python with torch, for --peer torch. */
  python?: string;
  json: boolean;
}

/**
 * `esmm bench --shape ali-ccp`: one child per backend, vocabulary, update rule, batch size, model and seed count
 * (bench/train-throughput.js --shape ali-ccp), and with a python PyTorch's dense Adam and SparseAdam on the same
 * vocabulary sizes and batch sizes (one bench/torch_bench.py process per vocabulary, `torchThreads` threads).
 * Medians over `repeat` runs, interleaved. Prints a table or JSON lines (see the usage).
 */
async function runAliCcp(o: AliCcpRun): Promise<void> {
  const results = new Map<string, ChildResult[]>();
  const torch = new Map<string, TorchResult[]>();
  const env = trainingChildEnv(o.threads);
  for (let rep = 0; rep < o.repeat; rep++) {
    for (const vocabulary of o.vocabularies) {
      for (const backend of o.backends) for (const batch of o.batches) for (const model of o.models) for (const seeds of o.seedCounts) for (const updates of o.updates) {
        const args = [o.child, backend, String(batch), String(o.steps), "--model", model, "--seeds", String(seeds), "--shape", "ali-ccp", "--vocabulary", String(vocabulary), "--embedding-updates", updates];
        const r = spawnSync(process.execPath, args, { encoding: "utf8", env, maxBuffer: 1 << 26 });
        const line = r.stdout.trim().split("\n").pop() ?? "";
        if (r.status !== 0 || !line.startsWith("{")) {
          console.error(`bench: ali-ccp ${backend} ${model} vocabulary ${vocabulary} ${updates} batch ${batch} seeds ${seeds} failed: ${r.stderr.trim().split("\n").pop()}`);
          continue;
        }
        const key = `${vocabulary}/${backend}/${model}/${batch}/${seeds}/${updates}`;
        const res = JSON.parse(line) as ChildResult;
        noteChildKernels(o.context, res, o.json);
        results.set(key, [...(results.get(key) ?? []), res]);
      }
      if (o.python) {
        const extra = ["--shape", "ali-ccp", "--vocabularies", syntheticAliCcpVocabularies(vocabulary).join(","), "--numeric", "8",
          "--click-rate", String(SYNTHETIC_CLICK_RATE), "--conversion-rate", String(SYNTHETIC_CONVERSION_GIVEN_CLICK), "--optimizers", "adam,sparse-adam"];
        for (const t of await runTorch(o.python, o.batches, o.steps, o.torchThreads, extra)) {
          const key = `${vocabulary}/${t.batch}/${t.optimizer}`;
          torch.set(key, [...(torch.get(key) ?? []), t]);
        }
      }
    }
  }
  const torchRate = (vocabulary: number, batch: number, optimizer: string) => {
    const runs = torch.get(`${vocabulary}/${batch}/${optimizer}`);
    return runs ? Math.round(median(runs.map((r) => r.examplesPerSec))) : null;
  };
  const torchVersion = [...torch.values()][0]?.[0]?.torch;
  if (!o.json) {
    let head = `${"backend".padEnd(12)}${"model".padEnd(8)}${"ids".padStart(11)}${"updates".padStart(9)}${"batch".padStart(7)}${"seeds".padStart(7)}${"examples/s".padStart(12)}`;
    if (o.python) head += `${"torch Adam".padStart(12)}${"SparseAdam".padStart(12)}${"ratio".padStart(7)}`;
    process.stderr.write(`bench: ali-ccp shape; tfjs ${threadsText(o.backends, o.threads)}${o.python ? `, PyTorch ${torchVersion ?? "?"} 1 process x ${o.torchThreads} thread(s); ratio = examples/s / SparseAdam's` : ""}; ${conditionsLine(o.context, o.backends)}\n`);
    console.log(head + (o.repeat > 1 ? `   (medians of ${o.repeat} runs)` : ""));
  }
  for (const runs of results.values()) {
    const first = runs[0] as ChildResult & { vocabulary: number; embeddingUpdates: string };
    const rate = Math.round(median(runs.map((r) => r.examplesPerSec)));
    const dense = o.python ? torchRate(first.vocabulary, first.batch, "adam") : undefined;
    const sparse = o.python ? torchRate(first.vocabulary, first.batch, "sparse-adam") : undefined;
    if (o.json) {
      const out: Record<string, unknown> = {
        shape: "ali-ccp",
        backend: first.backend,
        model: first.model,
        batch: first.batch,
        seeds: first.seeds,
        vocabulary: first.vocabulary,
        embeddingUpdates: first.embeddingUpdates,
        examplesPerSec: rate,
        threads: first.threads,
        cpuPercent: median(runs.map((r) => r.cpuPercent)),
      };
      Object.assign(out, lineContext(o.context, first));
      if (o.python) Object.assign(out, { torchDenseExamplesPerSec: dense, torchSparseExamplesPerSec: sparse, torchThreads: o.torchThreads, torch: torchVersion ?? null });
      console.log(JSON.stringify(out));
      continue;
    }
    let row = `${first.backend.padEnd(12)}${first.model.padEnd(8)}${fmt(first.vocabulary).padStart(11)}${first.embeddingUpdates.padStart(9)}${String(first.batch).padStart(7)}${String(first.seeds).padStart(7)}${fmt(rate).padStart(12)}`;
    if (o.python) row += `${(dense ? fmt(dense) : "failed").padStart(12)}${(sparse ? fmt(sparse) : "failed").padStart(12)}${(sparse ? (rate / sparse).toFixed(2) : "-").padStart(7)}`;
    console.log(row);
  }
}

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
  context: BenchContext,
): Promise<void> {
  const totals = new Map<string, { backend: string; batch: number; seeds: number; workers: number; threads: number; runs: number[][]; nativeKernels?: string }>();
  for (let rep = 0; rep < repeat; rep++) {
    for (const backend of backends) {
      for (const batch of batches) for (const seeds of seedCounts) {
        for (const { workers, threads } of configs) {
          const env = trainingChildEnv(threads);
          const runs = await Promise.all(
            Array.from({ length: workers }, () => runChild(process.execPath, [child, backend, String(batch), String(steps), "--epochs", "4", "--seeds", String(seeds)], env)),
          );
          const ok = runs.filter((r): r is ChildResult => r !== undefined);
          if (ok.length < workers) {
            console.error(`bench: ${backend} batch ${batch} seeds ${seeds} ${workers}x${threads}: ${workers - ok.length} worker(s) failed`);
            continue;
          }
          const key = `${backend}/${batch}/${seeds}/${workers}x${threads}`;
          noteChildKernels(context, ok[0], json);
          const entry = totals.get(key) ?? { backend, batch, seeds, workers, threads, runs: [], nativeKernels: ok[0].nativeKernels };
          entry.runs.push(ok.map((r) => r.examplesPerSec));
          totals.set(key, entry);
        }
      }
    }
  }
  if (!json) process.stderr.write(`bench: ${conditionsLine(context, backends)}\n`);
  if (!json) console.log(`${"backend".padEnd(12)}${"batch".padStart(7)}${"seeds".padStart(7)}${"workers x threads".padStart(19)}${"total ex/s".padStart(13)}   per worker${repeat > 1 ? ` (medians of ${repeat} runs)` : ""}`);
  for (const e of totals.values()) {
    const total = Math.round(median(e.runs.map((r) => r.reduce((a, b) => a + b, 0))));
    const perWorker = e.runs[0].map((_, i) => Math.round(median(e.runs.map((r) => r[i]))));
    const threadsPerWorker = e.backend === "tensorflow" ? e.threads : 1;
    if (json) console.log(JSON.stringify({ backend: e.backend, batch: e.batch, seeds: e.seeds, workers: e.workers, threadsPerWorker, totalExamplesPerSec: total, perWorker, ...lineContext(context, e) }));
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

/** One bench/torch_bench.py process with `threads` threads (and `extra` arguments); resolves with its lines (empty when it failed). */
function runTorch(python: string, batches: number[], steps: number, threads: number, extra: string[] = []): Promise<TorchResult[]> {
  const script = path.join(projectRoot(), "bench", "torch_bench.py");
  return new Promise((resolve) => {
    const p = spawn(python, [script, "--batch", batches.join(","), "--batches", String(steps), "--threads", String(threads), ...extra], { stdio: ["ignore", "pipe", "pipe"], env: trainingChildEnv(threads) });
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
