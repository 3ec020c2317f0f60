/**
 * Benchmark child process: training examples/s of one model of the zoo (default ESMM) on the reference shape
 * (8 categorical fields of vocabulary 1,000, embedding 8, shared 128-64, heads 32-16-1) with one backend and
 * one batch size.
 * Prints one JSON line. `esmm bench` runs one such process per backend (backends cannot switch in a process),
 * and several at once for `--parallel`.
 *
 * Usage: node build/bench/train-throughput.js BACKEND BATCH [BATCHES] [--epochs N] [--count] [--model NAME] [--seeds S]
 *          [--shape reference|ali-ccp] [--vocabulary IDS] [--embedding-updates dense|rowwise]
 * Output: {backend, model, batch, seeds, shape, vocabulary, embeddingUpdates, examplesPerSec, threads, cpuPercent, osThreads?,
 *          epochRates, kernelsPerStep?, tfOpsPerStep?, nativeKernels?}
 * - shape: "reference" (default, above) or "ali-ccp": the synthetic Ali-CCP rows of lib/data/ali-ccp-synthetic.ts
 *   (23 categorical fields, 8 numeric inputs, 4 % clicks) with the default architecture, at vocabulary sizes
 *   scaled to --vocabulary IDS ids in all (default: its own, 2,009,145); `vocabulary` is the total ids.
 * - embeddingUpdates: TrainConfig.embeddingUpdates (lib/train/rowwise.ts); default dense.
 * - seeds: S > 1 trains a seed group of S seeds in one graph (lib/train/trainer.ts), each seed on its own
 *   batch order of the same BATCHES x BATCH rows; default 1 (a single model, lib/train/trainer.ts).
 * - examplesPerSec: best of epochs 2..N (epoch 1 warms up: kernel setup, first allocations), the total over
 *   the group's seeds; default N = 3.
 * - threads: the backend's compute threads (tensorflow: TF_NUM_INTRAOP_THREADS when set, else the CPUs).
 * - cpuPercent: process CPU time / wall time over epochs 2..N (100 = one core busy): shows how many
 *   threads the backend really keeps busy (on a loaded machine, also how much CPU the process got).
 * - osThreads (Linux): the process' threads at the end: shows whether TF_NUM_INTRAOP_THREADS /
 *   TF_NUM_INTEROP_THREADS were honoured (tensorflow creates one thread per pool slot).
 * - nativeKernels (tensorflow only): this process' esmm-lab kernels, "loaded" or "not loaded: <reason>" (what
 *   `esmm bench` reports per line: a library that exists can still fail to load).
 * - with --count: tfjs kernels per training step (every kernel the engine runs, nested ones included),
 *   and on tensorflow the TensorFlow ops per step (what tfjs-node executes), counted as the difference
 *   between a 2k-batch and a k-batch epoch (evaluation, sync and setup cancel out).
 */
import * as fs from "node:fs";
import { syntheticAliCcpSplit, syntheticAliCcpVocabularies } from "../lib/data/ali-ccp-synthetic";
import { initBackend, tf } from "../lib/backend";
import type { EncodedSplit } from "../lib/data/encoded";
import { Rng } from "../lib/data/random";
import { buildModel, getModelSpec, inputDimsOf } from "../lib/models";
import { EMBEDDING_UPDATES, EmbeddingUpdates, fitSeedGroup, fitSpec, trainModel, trainSeedGroup } from "../lib/train";

const FIELDS = 8;
const VOCAB = 1000;

export function syntheticSplit(name: string, rows: number, seed: number): EncodedSplit {
  const rng = new Rng(seed);
  const categorical = Int32Array.from({ length: rows * FIELDS }, () => rng.int(VOCAB));
  const click = Float32Array.from({ length: rows }, () => (rng.bernoulli(0.2) ? 1 : 0));
  const conversion = Float32Array.from(click, (c) => (c && rng.bernoulli(0.1) ? 1 : 0));
  return {
    name,
    size: rows,
    categoricalFields: Array.from({ length: FIELDS }, (_, f) => `f${f}`),
    vocabularySizes: new Array(FIELDS).fill(VOCAB),
    numericFields: [],
    categorical,
    numeric: new Float32Array(0),
    click,
    conversion,
    weight: new Float32Array(rows).fill(1),
    day: new Int32Array(rows),
  };
}

interface Counters {
  kernels: number;
  tfOps: number;
}

/** Counts engine kernels (and tfjs-node's TensorFlow op executions) while `f` runs. */
async function counting(f: () => Promise<void>): Promise<Counters> {
  const t = tf();
  const engine = t.engine() as unknown as { runKernelFunc(cfg: { kernelName?: string }): unknown };
  const backend = t.backend() as unknown as Record<string, unknown>;
  const c: Counters = { kernels: 0, tfOps: 0 };
  const runKernelFunc = engine.runKernelFunc;
  engine.runKernelFunc = function (cfg) {
    if (cfg.kernelName) c.kernels++;
    return runKernelFunc.call(this, cfg);
  };
  const wrapped: [string, unknown][] = [];
  for (const name of ["executeSingleOutput", "executeMultipleOutputs"]) {
    const orig = backend[name];
    if (typeof orig !== "function") continue;
    wrapped.push([name, orig]);
    backend[name] = function (this: unknown, ...args: unknown[]) {
      c.tfOps++;
      return (orig as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  try {
    await f();
  } finally {
    engine.runKernelFunc = runKernelFunc;
    for (const [name, orig] of wrapped) backend[name] = orig;
  }
  return c;
}

/** The benchmark shapes: how a split of `rows` rows is made (seeded). */
export type BenchShape = "reference" | "ali-ccp";
export const BENCH_SHAPES: readonly BenchShape[] = ["reference", "ali-ccp"];

/** A split of the shape: the reference rows, or synthetic Ali-CCP rows with `vocabulary` ids in all (default its own sizes). */
export function shapeSplit(shape: BenchShape, name: string, rows: number, seed: number, vocabulary?: number): EncodedSplit {
  return shape === "ali-ccp" ? syntheticAliCcpSplit(name, rows, seed, syntheticAliCcpVocabularies(vocabulary)) : syntheticSplit(name, rows, seed);
}

/** Kernels (and TensorFlow ops) per training step at `batch` rows (of each of `seeds` seeds of a group when seeds > 1). */
async function opsPerStep(batch: number, modelName: string, seeds: number, makeSplit: (name: string, rows: number, seed: number) => EncodedSplit, embeddingUpdates: EmbeddingUpdates | undefined): Promise<{ kernelsPerStep: number; tfOpsPerStep?: number }> {
  const k = 5;
  const validation = makeSplit("validation", 8, 2);
  const run = async (batches: number) => {
    const train = makeSplit("train", batch * batches, 3);
    const group = seeds > 1 ? { seeds: seedList(seeds) } : { seed: 1 };
    const model = buildModel(getModelSpec(modelName), inputDimsOf(train), group);
    try {
      return await counting(async () => {
        const options = { batchSize: batch, maxEpochs: 1, syncEvery: 1000, embeddingUpdates };
        if (seeds > 1) await trainSeedGroup(model, { train, validation }, options);
        else await trainModel(model, { train, validation }, options);
      });
    } finally {
      model.dispose();
    }
  };
  await run(k); // warm-up (kernel registration, caches)
  const a = await run(k);
  const b = await run(2 * k);
  const kernelsPerStep = (b.kernels - a.kernels) / k;
  return b.tfOps > 0 ? { kernelsPerStep, tfOpsPerStep: (b.tfOps - a.tfOps) / k } : { kernelsPerStep };
}

/** The model seeds of a benchmark group of S seeds: 1..S. */
function seedList(seeds: number): number[] {
  return Array.from({ length: seeds }, (_, s) => s + 1);
}

/** Threads of this process (Linux /proc), or undefined. */
function osThreads(): number | undefined {
  try {
    const m = /^Threads:\s+(\d+)/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function main() {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    args.splice(i, 1);
    return true;
  };
  const option = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const count = flag("--count") === true;
  const epochs = Number(option("--epochs") ?? 3);
  const spec = getModelSpec(option("--model") ?? "ESMM");
  const seeds = Number(option("--seeds") ?? 1);
  const shape = (option("--shape") ?? "reference") as BenchShape;
  const vocabularyArg = option("--vocabulary");
  const vocabulary = vocabularyArg === undefined ? undefined : Number(vocabularyArg);
  const embeddingUpdates = option("--embedding-updates") as EmbeddingUpdates | undefined;
  if (!BENCH_SHAPES.includes(shape)) throw new Error(`train-throughput.js: --shape takes ${BENCH_SHAPES.join(" or ")}, got ${shape}`);
  if (vocabulary !== undefined && shape !== "ali-ccp") throw new Error("train-throughput.js: --vocabulary is for --shape ali-ccp");
  if (embeddingUpdates !== undefined && !EMBEDDING_UPDATES.includes(embeddingUpdates)) throw new Error(`train-throughput.js: --embedding-updates takes ${EMBEDDING_UPDATES.join(" or ")}, got ${embeddingUpdates}`);
  const makeSplit = (name: string, rows: number, seed: number) => shapeSplit(shape, name, rows, seed, vocabulary);
  const [backend, batchArg, batchesArg] = args;
  const batch = Number(batchArg ?? 1024);
  const batches = Number(batchesArg ?? 40);
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(batches) || batches < 1 || !Number.isInteger(epochs) || epochs < 2 || !Number.isInteger(seeds) || seeds < 1) {
    throw new Error("usage: train-throughput.js BACKEND BATCH [BATCHES] [--epochs N>=2] [--count] [--model NAME] [--seeds S>=1]");
  }
  const info = await initBackend((backend ?? "auto") as "auto");
  const train = makeSplit("train", batch * batches, 1);
  const validation = makeSplit("validation", 1024, 2);
  let cpuStart = process.cpuUsage();
  let wallStart = performance.now();
  let cpuPercent = 0;
  const onEpochEnd = (e: { epoch: number }) => {
    if (e.epoch === 1) {
      cpuStart = process.cpuUsage();
      wallStart = performance.now();
    } else if (e.epoch === epochs) {
      const used = process.cpuUsage(cpuStart);
      cpuPercent = Math.round((100 * (used.user + used.system)) / 1000 / (performance.now() - wallStart));
    }
  };
  const options = { batchSize: batch, maxEpochs: epochs, patience: epochs + 1, embeddingUpdates };
  let epochRecords: { examplesPerSecond: number }[];
  if (seeds > 1) {
    // One callback per seed and epoch: time the group from the first seed's records.
    const { model, outcomes } = await fitSeedGroup(spec, { train, validation }, { ...options, seeds: seedList(seeds), onEpochEnd: (seed, e) => seed === 1 && onEpochEnd(e) });
    model.dispose();
    const first = outcomes[0];
    if (!first.result) throw first.error;
    epochRecords = first.result.epochs; // each record's examples/s is the group's total (lib/train/trainer.ts)
  } else {
    const { model, result } = await fitSpec(spec, { train, validation }, { ...options, modelSeed: 1, onEpochEnd });
    model.dispose();
    epochRecords = result.epochs;
  }
  const epochRates = epochRecords.map((e) => Math.round(e.examplesPerSecond));
  const examplesPerSec = Math.max(...epochRates.slice(1));
  const envThreads = Number(process.env.TF_NUM_INTRAOP_THREADS);
  const threads = info.name === "tensorflow" && Number.isInteger(envThreads) && envThreads > 0 ? envThreads : (info.threads ?? 1);
  const counts = count ? await opsPerStep(batch, spec.name, seeds, makeSplit, embeddingUpdates) : {};
  const ids = train.vocabularySizes.reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ backend: info.name, model: spec.name, batch, seeds, shape, vocabulary: ids, embeddingUpdates: embeddingUpdates ?? "dense", examplesPerSec, threads, cpuPercent, osThreads: osThreads(), epochRates, ...counts, ...(info.nativeKernels === undefined ? {} : { nativeKernels: info.nativeKernels }) }));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
