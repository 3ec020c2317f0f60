/**
 * Benchmark (not a test): the arithmetic a finished study did, and the least time its matrix products alone take
 * on this machine. It answers "how fast could this study be here at all?" for a target such as issue 21's
 * `make reproduce` <= 8 min.
 *
 * From a study's records (RUNS.jsonl, e.g. runs/models.jsonl after `make reproduce`) and their prepared data
 * (DATA_DIR/<dataKey>/prepared.json, e.g. data/study): each run's model is built on its data's input dimensions
 * and its dense kernels ([in, out] per row: the MLPs, gates and transfer layers; embeddings are lookups, no
 * products) give its multiply-adds per row. A run then did, per row: 3 products per kernel for each training row
 * of each epoch it trained (forward, the input's gradient, the kernel's gradient), 1 per validation row of each
 * epoch, 1 per test and later-day row. The least time: every product timed here as the study runs it
 * (`tf.matMul` on [S, rows, in] x [S, in, out], the seed-group layout, S = --seeds; rows 1024 in training, 8192 in
 * prediction; one thread, the study worker's; the least of --repeat timings), per row, times the rows above. It leaves out everything else a
 * step does (lookups, activations, losses, Adam), the epochs a group trains past a stopped seed, and the
 * scoring, so the study cannot run faster than it with these products; divided by --workers, it is the wall
 * time's floor for the training and prediction part of the study.
 *
 * Usage: TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 node build/bench/study-arithmetic.js RUNS.jsonl DATA_DIR
 *          [--seeds 6] [--workers 2] [--repeat 200]
 * Prints one JSON line: {runs, records, multiplyAdds {train, validation, test, later, total}, teraFlops (2 per
 * multiply-add), productsSeconds {train, validation, test, later, total, perWorker}, shapes [{in, out, batch,
 * kind (forward | inputGradient | kernelGradient), microseconds, gflops}], seeds, workers, backend, cpu,
 * loadAverage}. Exit 2 with one line on a missing file or a record without what it needs.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as tfjs from "@tensorflow/tfjs";
import { initBackend, tf } from "../lib/backend";
import { cpuDescription } from "../lib/backend/parallelism";
import { buildModel, getModelSpec, type InputDims } from "../lib/models";

interface RecordLike {
  model: string;
  dataManifest?: { dataKey?: string };
  training?: { epochs?: unknown[]; trainRows?: number; validationRows?: number; architecture?: Record<string, unknown> };
  test?: { rows?: number };
  later?: { rows?: number }[];
}

type ProductKind = "forward" | "inputGradient" | "kernelGradient";
const TRAIN_BATCH = 1024;
const PREDICT_BATCH = 8192; // lib/train/evaluate.ts predictEachSeed's default, and the trainer's evalBatchSize

function fail(message: string): never {
  process.stderr.write(`study-arithmetic: ${message}\n`);
  process.exit(2);
}

/**
 * The dense kernels of `model` built on `dims` (a single model of seed 1; a group's are the same per seed):
 * [in, out] each, for every trainable rank-2 variable that is not an embedding table (MLP layers, gates,
 * transfer layers). Their sum of in x out is the model's multiply-adds per row in one forward pass, each kernel
 * applied once per row (products between activations, such as AITM's attention, are left out: a floor).
 */
export function denseKernels(model: string, dims: InputDims, architecture: Record<string, unknown> | undefined): [number, number][] {
  const built = buildModel(getModelSpec(model), dims, { architecture: architecture as never, seed: 1 });
  try {
    const kernels: [number, number][] = [];
    for (const info of built.variables.values()) {
      if (!info.trainable || info.role === "embedding" || info.role === "batchnorm") continue;
      const shape = info.variable.shape;
      if (shape.length === 2) kernels.push([shape[0], shape[1]]);
    }
    return kernels;
  } finally {
    built.dispose();
  }
}

/** Microseconds of one [S, rows, in] x [S, in, out] product of `kind`: the least of `repeat` timings, after 20 warm-ups (a floor). */
function timeProduct(S: number, rows: number, inDim: number, outDim: number, kind: ProductKind, repeat: number): number {
  const t = tf();
  const x = t.randomNormal([S, rows, inDim], 0, 1, "float32", 1) as tfjs.Tensor3D;
  const w = t.randomNormal([S, inDim, outDim], 0, 1, "float32", 2) as tfjs.Tensor3D;
  const dy = t.randomNormal([S, rows, outDim], 0, 1, "float32", 3) as tfjs.Tensor3D;
  const run = () =>
    kind === "forward" ? t.matMul(x, w) : kind === "inputGradient" ? t.matMul(dy, w, false, true) : t.matMul(x, dy, true, false);
  for (let i = 0; i < 20; i++) run().dispose();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    run().dispose(); // tfjs-node runs an op synchronously: it has finished when the call returns
    times.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  x.dispose();
  w.dispose();
  dy.dispose();
  return Math.min(...times);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number): number => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(args[i + 1]);
    if (!Number.isInteger(v) || v < 1) fail(`${name} takes a positive integer, got ${args[i + 1]}`);
    args.splice(i, 2);
    return v;
  };
  const S = option("--seeds", 6);
  const workers = option("--workers", 2);
  const repeat = option("--repeat", 200);
  const [runsFile, dataDir] = args;
  if (!runsFile || !dataDir) fail("usage: study-arithmetic.js RUNS.jsonl DATA_DIR [--seeds 6] [--workers 2] [--repeat 200]");
  if (!fs.existsSync(runsFile)) fail(`${runsFile}: no such file (a study's records: make reproduce writes runs/models.jsonl)`);

  const info = await initBackend();
  const records: RecordLike[] = fs
    .readFileSync(runsFile, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l, i) => {
      try {
        return JSON.parse(l) as RecordLike;
      } catch {
        return fail(`${runsFile}: line ${i + 1} is not JSON`);
      }
    });

  // Per record: rows through the products in each phase, and the kernels of its model on its data.
  const kernelsOf = new Map<string, [number, number][]>();
  const shapesUsed = new Map<string, { inDim: number; outDim: number }>();
  const multiplyAdds = { train: 0, validation: 0, test: 0, later: 0, total: 0 };
  const phaseByShape: { key: string; phase: "train" | "validation" | "test" | "later"; rows: number }[] = [];
  records.forEach((r, i) => {
    const where = `${runsFile}: line ${i + 1} (${r.model})`;
    const key = r.dataManifest?.dataKey;
    const epochs = r.training?.epochs?.length;
    const { trainRows, validationRows } = r.training ?? {};
    if (!key || !epochs || !trainRows || !validationRows || !r.test?.rows) fail(`${where}: no dataManifest.dataKey, training epochs, row counts or test rows`);
    const prepared = path.join(dataDir, key, "prepared.json");
    if (!fs.existsSync(prepared)) fail(`${where}: its data ${prepared} is missing`);
    const cacheKey = `${r.model} ${key} ${JSON.stringify(r.training?.architecture ?? {})}`;
    let kernels = kernelsOf.get(cacheKey);
    if (!kernels) {
      const train = JSON.parse(fs.readFileSync(prepared, "utf8")).splits?.train;
      if (!train?.categoricalFields) fail(`${prepared}: no splits.train dimensions`);
      kernels = denseKernels(r.model, { categoricalFields: train.categoricalFields, vocabularySizes: train.vocabularySizes, numericFields: train.numericFields ?? [] }, r.training?.architecture);
      kernelsOf.set(cacheKey, kernels);
    }
    const perRow = kernels.reduce((s, [a, b]) => s + a * b, 0);
    const rows = {
      train: epochs * trainRows,
      validation: epochs * validationRows,
      test: r.test.rows,
      later: (r.later ?? []).reduce((s, l) => s + (l.rows ?? 0), 0),
    };
    multiplyAdds.train += 3 * perRow * rows.train;
    multiplyAdds.validation += perRow * rows.validation;
    multiplyAdds.test += perRow * rows.test;
    multiplyAdds.later += perRow * rows.later;
    for (const [a, b] of kernels) {
      const shapeKey = `${a}x${b}`;
      shapesUsed.set(shapeKey, { inDim: a, outDim: b });
      for (const phase of ["train", "validation", "test", "later"] as const) phaseByShape.push({ key: shapeKey, phase, rows: rows[phase] });
    }
  });
  multiplyAdds.total = multiplyAdds.train + multiplyAdds.validation + multiplyAdds.test + multiplyAdds.later;

  // Time each shape's products as the study runs them; seconds per row of one seed.
  const shapes: { in: number; out: number; batch: number; kind: ProductKind; microseconds: number; gflops: number }[] = [];
  const perRowSeconds = new Map<string, { train: number; predict: number }>();
  for (const [key, s] of shapesUsed) {
    let train = 0;
    for (const kind of ["forward", "inputGradient", "kernelGradient"] as const) {
      const us = timeProduct(S, TRAIN_BATCH, s.inDim, s.outDim, kind, repeat);
      shapes.push({ in: s.inDim, out: s.outDim, batch: TRAIN_BATCH, kind, microseconds: round(us, 1), gflops: round((2 * S * TRAIN_BATCH * s.inDim * s.outDim) / us / 1e3, 1) });
      train += us / 1e6 / (S * TRAIN_BATCH);
    }
    const us = timeProduct(S, PREDICT_BATCH, s.inDim, s.outDim, "forward", Math.max(20, Math.round(repeat / 8)));
    shapes.push({ in: s.inDim, out: s.outDim, batch: PREDICT_BATCH, kind: "forward", microseconds: round(us, 1), gflops: round((2 * S * PREDICT_BATCH * s.inDim * s.outDim) / us / 1e3, 1) });
    perRowSeconds.set(key, { train, predict: us / 1e6 / (S * PREDICT_BATCH) });
  }
  const productsSeconds = { train: 0, validation: 0, test: 0, later: 0, total: 0, perWorker: 0 };
  for (const { key, phase, rows } of phaseByShape) {
    const t = perRowSeconds.get(key)!;
    productsSeconds[phase] += rows * (phase === "train" ? t.train : t.predict);
  }
  productsSeconds.total = productsSeconds.train + productsSeconds.validation + productsSeconds.test + productsSeconds.later;
  productsSeconds.perWorker = productsSeconds.total / workers;
  for (const k of Object.keys(productsSeconds) as (keyof typeof productsSeconds)[]) productsSeconds[k] = round(productsSeconds[k], 1);

  console.log(
    JSON.stringify({
      runs: runsFile,
      records: records.length,
      multiplyAdds,
      teraFlops: round((2 * multiplyAdds.total) / 1e12, 2),
      productsSeconds,
      shapes,
      seeds: S,
      workers,
      backend: info.name,
      threads: process.env.TF_NUM_INTRAOP_THREADS ?? null,
      cpu: cpuDescription(),
      loadAverage: os.loadavg().map((x) => round(x, 2)),
    }),
  );
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`study-arithmetic: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
