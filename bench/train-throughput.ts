/**
 * Benchmark child process: training examples/s of ESMM on the reference shape (8 categorical fields of
 * vocabulary 1,000, embedding 8, shared 128-64, heads 32-16-1) with one backend and one batch size.
 * Prints one JSON line. `esmm bench` runs one such process per backend (backends cannot switch in a process).
 * Usage: node build/bench/train-throughput.js BACKEND BATCH [BATCHES]
 */
import { initBackend } from "../lib/backend";
import type { EncodedSplit } from "../lib/data/encoded";
import { Rng } from "../lib/data/random";
import { getModelSpec } from "../lib/models";
import { fitSpec } from "../lib/train";

const FIELDS = 8;
const VOCAB = 1000;

function syntheticSplit(name: string, rows: number, seed: number): EncodedSplit {
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

async function main() {
  const [backend, batchArg, batchesArg] = process.argv.slice(2);
  const batch = Number(batchArg ?? 1024);
  const batches = Number(batchesArg ?? 40);
  const info = await initBackend((backend ?? "auto") as "auto");
  const train = syntheticSplit("train", batch * batches, 1);
  const validation = syntheticSplit("validation", 1024, 2);
  const { model, result } = await fitSpec(getModelSpec("ESMM"), { train, validation }, { batchSize: batch, maxEpochs: 3, patience: 10, modelSeed: 1 });
  model.dispose();
  // epoch 1 includes warm-up (kernel compilation, first allocations): report the best later epoch
  const examplesPerSec = Math.max(...result.epochs.slice(1).map((e) => e.examplesPerSecond));
  console.log(JSON.stringify({ backend: info.name, batch, examplesPerSec: Math.round(examplesPerSec), threads: info.threads ?? 1 }));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
