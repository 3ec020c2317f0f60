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
 * (lib/models/fast-ops.ts denseProduct: TensorFlow's BatchMatMulV2 on [S, rows, in] x [S, in, out], S the seeds
 * of the record's group (training.seedGroup; 1 for a run trained alone); rows 1024 in training, 8192 in
 * prediction; the least of --repeat timings), per row, times the rows above. It leaves out everything else a step
 * does (lookups, activations, losses, Adam), the epochs a group trains past a stopped seed, and the scoring, so
 * the study cannot run faster than it with these products; divided by --workers, it is the wall time's floor for
 * the training and prediction part of the study. Run it as the study's workers run: the native backend, one
 * thread (`make bench-arithmetic` does); otherwise a line on stderr says the times are not that floor. Repeated
 * runs on one quiet machine differ by a few per cent (the least timing of each product moves): quote the range.
 *
 * Usage: TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 node build/bench/study-arithmetic.js RUNS.jsonl DATA_DIR
 *          [--workers 2] [--repeat 200]
 * Prints one JSON line: {runs, records, multiplyAdds {train, validation, test, later, total}, teraFlops (2 per
 * multiply-add), productsSeconds {train, validation, test, later, total, perWorker}, shapes [{in, out, seeds,
 * batch, kind (forward | inputGradient | kernelGradient), microseconds, gflops}], workers, repeat, backend,
 * threads (TF_NUM_INTRAOP_THREADS), cpu, loadAverage}. Bad input (a missing or empty runs file, a line that is
 * not a record, a record without what the count needs or of an unknown model, missing data, an unknown or
 * repeated option) is one line naming the file and line or the option, exit 2, checked before TensorFlow loads
 * where it can be.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend, tf } from "../lib/backend";
import { cpuDescription } from "../lib/backend/parallelism";
import { buildModel, getModelSpec, type InputDims } from "../lib/models";
import { denseProduct } from "../lib/models/fast-ops";

interface RecordLike {
  model?: unknown;
  dataManifest?: { dataKey?: string };
  training?: {
    epochs?: unknown[];
    trainRows?: number;
    validationRows?: number;
    architecture?: Record<string, unknown>;
    seedGroup?: { seeds?: number[] };
  };
  test?: { rows?: number };
  later?: { rows?: number }[];
}

type ProductKind = "forward" | "inputGradient" | "kernelGradient";
type Phase = "train" | "validation" | "test" | "later";
const TRAIN_BATCH = 1024;
const PREDICT_BATCH = 8192; // lib/train/evaluate.ts predictEachSeed's default, and the trainer's evalBatchSize
const OPTIONS = ["--workers", "--repeat"] as const;

function fail(message: string): never {
  process.stderr.write(`study-arithmetic: ${message}\n`);
  process.exit(2);
}

/**
 * The dense kernels of `model` built on `dims` (a single model of seed 1; a group's are the same per seed):
 * [in, out] each, for every trainable rank-2 variable that is not an embedding table (MLP layers, gates,
 * transfer layers). Their sum of in x out is the model's multiply-adds per row in one forward pass, each kernel
 * applied once per row (products between activations, such as AITM's attention, are left out: a floor).
 * Throws what buildModel throws (an unknown model, a bad architecture).
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

/**
 * Microseconds of one [S, rows, in] x [S, in, out] product of `kind`, run as the dense layers run it
 * (lib/models/fast-ops.ts denseProduct): the least of `repeat` timings, after 10 warm-ups (a floor).
 */
function timeProduct(S: number, rows: number, inDim: number, outDim: number, kind: ProductKind, repeat: number): number {
  const t = tf();
  const x = t.randomNormal([S, rows, inDim], 0, 1, "float32", 1);
  const w = t.randomNormal([S, inDim, outDim], 0, 1, "float32", 2);
  const dy = t.randomNormal([S, rows, outDim], 0, 1, "float32", 3);
  const run = () => (kind === "forward" ? denseProduct(x, w, false, false) : kind === "inputGradient" ? denseProduct(dy, w, false, true) : denseProduct(x, dy, true, false));
  for (let i = 0; i < 10; i++) run().dispose();
  let least = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    run().dispose(); // tfjs-node runs an op synchronously: it has finished when the call returns
    least = Math.min(least, Number(process.hrtime.bigint() - t0) / 1e3);
  }
  x.dispose();
  w.dispose();
  dy.dispose();
  return least;
}

/** The command line: two paths and the options of OPTIONS, each at most once with a positive integer. */
function parseArgs(argv: string[]): { runsFile: string; dataDir: string; workers: number; repeat: number } {
  const values = new Map<string, number>();
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      paths.push(a);
      continue;
    }
    if (!(OPTIONS as readonly string[]).includes(a)) fail(`unknown option ${a} (options: ${OPTIONS.join(", ")})`);
    if (values.has(a)) fail(`${a} is given twice`);
    const v = Number(argv[i + 1]);
    if (argv[i + 1] === undefined || !Number.isInteger(v) || v < 1) fail(`${a} takes a positive integer, got ${argv[i + 1] ?? "nothing"}`);
    values.set(a, v);
    i++;
  }
  if (paths.length !== 2) fail("usage: study-arithmetic.js RUNS.jsonl DATA_DIR [--workers 2] [--repeat 200]");
  return { runsFile: paths[0], dataDir: paths[1], workers: values.get("--workers") ?? 2, repeat: values.get("--repeat") ?? 200 };
}

/** The records of `runsFile` with their line numbers (blank lines skipped, counted). Exit 2 on a line that is not a record. */
function readRecords(runsFile: string): { record: RecordLike; line: number }[] {
  if (!fs.existsSync(runsFile)) fail(`${runsFile}: no such file (a study's records: make reproduce writes runs/models.jsonl)`);
  if (!fs.statSync(runsFile).isFile()) fail(`${runsFile}: not a file`);
  const out: { record: RecordLike; line: number }[] = [];
  fs.readFileSync(runsFile, "utf8")
    .split("\n")
    .forEach((text, i) => {
      if (text.trim() === "") return;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch {
        fail(`${runsFile}: line ${i + 1} is not JSON`);
      }
      if (record === null || typeof record !== "object" || Array.isArray(record)) fail(`${runsFile}: line ${i + 1} is not a run record (a JSON object)`);
      out.push({ record: record as RecordLike, line: i + 1 });
    });
  if (out.length === 0) fail(`${runsFile}: no records`);
  return out;
}

async function main(): Promise<void> {
  const { runsFile, dataDir, workers, repeat } = parseArgs(process.argv.slice(2));
  const records = readRecords(runsFile);

  // Every record checked, and its data's dimensions read, before the backend loads.
  const runs = records.map(({ record: r, line }) => {
    const where = `${runsFile}: line ${line}`;
    if (typeof r.model !== "string") fail(`${where}: no model name`);
    const model = r.model;
    try {
      getModelSpec(model);
    } catch (e) {
      fail(`${where}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const key = r.dataManifest?.dataKey;
    const epochs = r.training?.epochs?.length;
    const { trainRows, validationRows } = r.training ?? {};
    if (!key || !epochs || !trainRows || !validationRows || !r.test?.rows) fail(`${where} (${model}): no dataManifest.dataKey, training epochs, row counts or test rows`);
    const prepared = path.join(dataDir, key, "prepared.json");
    if (!fs.existsSync(prepared)) fail(`${where} (${model}): its data ${prepared} is missing`);
    let train: { categoricalFields?: string[]; vocabularySizes?: number[]; numericFields?: string[] } | undefined;
    try {
      train = JSON.parse(fs.readFileSync(prepared, "utf8")).splits?.train;
    } catch {
      fail(`${prepared}: not JSON`);
    }
    if (!train?.categoricalFields || !train.vocabularySizes) fail(`${prepared}: no splits.train dimensions`);
    const dims: InputDims = { categoricalFields: train.categoricalFields, vocabularySizes: train.vocabularySizes, numericFields: train.numericFields ?? [] };
    const rows: Record<Phase, number> = {
      train: epochs * trainRows,
      validation: epochs * validationRows,
      test: r.test.rows,
      later: (r.later ?? []).reduce((s, l) => s + (l.rows ?? 0), 0),
    };
    // The seeds trained in its graph: the products it ran were [S, rows, in] x [S, in, out].
    const seeds = r.training?.seedGroup?.seeds?.length ?? 1;
    return { where, model, key, dims, rows, seeds, architecture: r.training?.architecture };
  });

  const info = await initBackend();
  const threads = process.env.TF_NUM_INTRAOP_THREADS;
  if (info.name !== "tensorflow" || threads !== "1") {
    process.stderr.write(`study-arithmetic: timing on ${info.name} with TF_NUM_INTRAOP_THREADS=${threads ?? "unset"}; the study's workers run the native backend with 1 thread (make bench-arithmetic), so these times are not its floor\n`);
  }

  // Multiply-adds per run, and the rows each (shape, S) of products sees in each phase.
  const kernelsOf = new Map<string, [number, number][]>();
  const multiplyAdds = { train: 0, validation: 0, test: 0, later: 0, total: 0 };
  const uses = new Map<string, { inDim: number; outDim: number; seeds: number; rows: Record<Phase, number> }>();
  for (const run of runs) {
    const cacheKey = `${run.model} ${run.key} ${JSON.stringify(run.architecture ?? {})}`;
    let kernels = kernelsOf.get(cacheKey);
    if (!kernels) {
      try {
        kernels = denseKernels(run.model, run.dims, run.architecture);
      } catch (e) {
        fail(`${run.where} (${run.model}): ${e instanceof Error ? e.message : String(e)}`);
      }
      kernelsOf.set(cacheKey, kernels);
    }
    const perRow = kernels.reduce((s, [a, b]) => s + a * b, 0);
    multiplyAdds.train += 3 * perRow * run.rows.train;
    multiplyAdds.validation += perRow * run.rows.validation;
    multiplyAdds.test += perRow * run.rows.test;
    multiplyAdds.later += perRow * run.rows.later;
    for (const [a, b] of kernels) {
      const useKey = `${a}x${b} S${run.seeds}`;
      const u = uses.get(useKey) ?? { inDim: a, outDim: b, seeds: run.seeds, rows: { train: 0, validation: 0, test: 0, later: 0 } };
      for (const phase of ["train", "validation", "test", "later"] as const) u.rows[phase] += run.rows[phase];
      uses.set(useKey, u);
    }
  }
  multiplyAdds.total = multiplyAdds.train + multiplyAdds.validation + multiplyAdds.test + multiplyAdds.later;

  // Each (shape, S) timed as the study runs it; seconds per row of one seed, times its rows.
  const shapes: { in: number; out: number; seeds: number; batch: number; kind: ProductKind; microseconds: number; gflops: number }[] = [];
  const productsSeconds = { train: 0, validation: 0, test: 0, later: 0, total: 0, perWorker: 0 };
  const timed = (u: { inDim: number; outDim: number; seeds: number }, batch: number, kind: ProductKind): number => {
    const us = timeProduct(u.seeds, batch, u.inDim, u.outDim, kind, repeat);
    shapes.push({ in: u.inDim, out: u.outDim, seeds: u.seeds, batch, kind, microseconds: round(us, 1), gflops: round((2 * u.seeds * batch * u.inDim * u.outDim) / us / 1e3, 1) });
    return us / 1e6 / (u.seeds * batch);
  };
  for (const u of uses.values()) {
    const trainPerRow = timed(u, TRAIN_BATCH, "forward") + timed(u, TRAIN_BATCH, "inputGradient") + timed(u, TRAIN_BATCH, "kernelGradient");
    const predictPerRow = timed(u, PREDICT_BATCH, "forward");
    productsSeconds.train += u.rows.train * trainPerRow;
    for (const phase of ["validation", "test", "later"] as const) productsSeconds[phase] += u.rows[phase] * predictPerRow;
  }
  productsSeconds.total = productsSeconds.train + productsSeconds.validation + productsSeconds.test + productsSeconds.later;
  productsSeconds.perWorker = productsSeconds.total / workers;
  for (const k of Object.keys(productsSeconds) as (keyof typeof productsSeconds)[]) productsSeconds[k] = round(productsSeconds[k], 3);

  console.log(
    JSON.stringify({
      runs: runsFile,
      records: records.length,
      multiplyAdds,
      teraFlops: round((2 * multiplyAdds.total) / 1e12, 2),
      productsSeconds,
      shapes,
      workers,
      repeat,
      backend: info.name,
      threads: threads ?? null,
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
