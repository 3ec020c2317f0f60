/**
 * Does a seed's float32 result depend on which other seeds share its group? (issue 21, point 4: could a stopped
 * seed leave the group's computation without moving the others' bits.)
 *
 * Part "step": a group of seeds [1, 2, 3] and a group of [1, 3] (slices 1 and 3 start from the same values,
 * lib/models blocks.ts) take one training step on the same rows per seed (an odd batch size too, to reach the
 * elementwise kernels' packet tails); every per-seed tensor of seeds 1 and 3 is compared bit for bit: outputs,
 * per-seed losses, each variable's gradient slice and its value after one Adam step (./lib/train/adam.ts).
 * Part "train": trainSeeds on both groups with early stopping off (patience > epochs, no restore), the final
 * weights of seeds 1 and 3 compared (the middle seed removed from the start).
 *
 * Prints, per backend / model / tensor, the number of differing elements and the largest difference in ulps.
 * Usage: ESMM_BACKEND=tensorflow|wasm|cpu node build/bench/seed-compaction.js [MODELS=ESMM] [EPOCHS=3]
 */
import type * as tfjs from "@tensorflow/tfjs";
import { initBackend, tf } from "../lib/backend";
import { defaultSplitPlan, prepare } from "../lib/data/prepare";
import { readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { buildModel, getModelSpec, inputDimsOf, MultiTaskModel, totalLoss } from "../lib/models";
import { createOptimizer, gatherSeedRows, resolveTrainConfig, seedBatchTensors, trainSeedGroup } from "../lib/train";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Largest |a - b| in units in the last place of float32 (bit patterns ordered as integers), and how many differ. */
export function ulpDiff(a: Float32Array, b: Float32Array): { differ: number; maxUlp: number } {
  const ia = new Int32Array(a.buffer, a.byteOffset, a.length);
  const ib = new Int32Array(b.buffer, b.byteOffset, b.length);
  const ord = (x: number) => (x < 0 ? -2147483648 - x : x);
  let differ = 0;
  let maxUlp = 0;
  for (let i = 0; i < a.length; i++) {
    if (ia[i] === ib[i]) continue;
    differ++;
    maxUlp = Math.max(maxUlp, Math.abs(ord(ia[i]) - ord(ib[i])));
  }
  return { differ, maxUlp };
}

/** Seed slice `s` of a stacked per-seed tensor (leading seed axis, or "rows" layout: S equal parts of axis 0). */
function slice(x: tfjs.Tensor, S: number, s: number): Float32Array {
  const flat = x.dataSync() as Float32Array;
  const n = flat.length / S;
  return flat.slice(s * n, (s + 1) * n);
}

const SEEDS3 = [1, 2, 3];
const SEEDS2 = [1, 3];
/** Slice of each kept seed in the 3-group and in the 2-group. */
const KEPT = [
  { seed: 1, in3: 0, in2: 0 },
  { seed: 3, in3: 2, in2: 1 },
];

function report(backend: string, model: string, part: string, tensor: string, a3: tfjs.Tensor, a2: tfjs.Tensor) {
  for (const k of KEPT) {
    const d = ulpDiff(slice(a3, 3, k.in3), slice(a2, 2, k.in2));
    console.log(JSON.stringify({ backend, model, part, tensor, seed: k.seed, elements: a2.size / 2, ...d }));
  }
}

async function main() {
  const models = (process.argv[2] ?? "ESMM").split(",");
  const epochs = Number(process.argv[3] ?? "3");
  const backend = (await initBackend()).name;
  const t = tf();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "esmm-compaction-"));
  writeSimulatedLog({ impressions: 40_000, days: 8, users: 300, ads: 80, targetCtr: 0.05, targetCvr: 0.15 }, 3, dir);
  const data = prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(8), negativeKeepRate: 0.3, seed: 3 });
  const n = data.train.size;
  const dims = inputDimsOf(data.train);
  const orderOf = (s: number) => Int32Array.from({ length: n }, (_, i) => (i * (2 * s + 7919)) % n);

  for (const name of models) {
    const spec = getModelSpec(name);
    for (const rows of [1024, 333]) {
      const g3 = buildModel(spec, dims, { seeds: SEEDS3 });
      const g2 = buildModel(spec, dims, { seeds: SEEDS2 });
      const run = (m: MultiTaskModel, seeds: number[]) =>
        t.tidy(() => {
          const batch = seedBatchTensors(gatherSeedRows(data.train, seeds.map(orderOf), 0, rows));
          const out = m.forward(batch.inputs, true);
          const perSeed = totalLoss(spec, m.forward(batch.inputs, true), batch.labels, "batch-weight");
          const { grads } = t.variableGrads(() => t.sum(totalLoss(spec, m.forward(batch.inputs, true), batch.labels, "batch-weight")) as tfjs.Scalar, m.trainableVariables());
          return { out: { pCtcvr: out.pCtcvr, ...(out.ctrLogit ? { ctrLogit: out.ctrLogit } : {}) } as Record<string, tfjs.Tensor>, perSeed, grads };
        });
      const r3 = run(g3, SEEDS3);
      const r2 = run(g2, SEEDS2);
      const part = `step${rows}`;
      for (const k of Object.keys(r2.out)) report(backend, name, part, `out/${k}`, r3.out[k], r2.out[k]);
      report(backend, name, part, "loss", r3.perSeed, r2.perSeed);
      const v3 = g3.trainableVariables();
      const v2 = g2.trainableVariables();
      v2.forEach((v, i) => report(backend, name, part, `grad/${v.name.split("/").slice(1).join("/")}`, r3.grads[v3[i].name], r2.grads[v.name]));
      // One Adam step of each group with its own gradients.
      const cfg = resolveTrainConfig({}, 1);
      for (const [m, r] of [
        [g3, r3],
        [g2, r2],
      ] as const) {
        const opt = createOptimizer(m.trainableVariables(), cfg);
        t.tidy(() => opt.apply(m.trainableVariables().map((v) => r.grads[v.name])));
        opt.dispose();
      }
      v2.forEach((v, i) => report(backend, name, part, `adam/${v.name.split("/").slice(1).join("/")}`, v3[i], v));
      g3.dispose();
      g2.dispose();
    }
    // Part "train": whole epochs, the middle seed absent from the start.
    const results: Record<string, tfjs.Tensor[]> = {};
    for (const seeds of [SEEDS3, SEEDS2]) {
      const m = buildModel(spec, dims, { seeds });
      await trainSeedGroup(m, data, { maxEpochs: epochs, patience: epochs + 1, restoreBest: false, batchSize: 256, learningRate: 3e-3 });
      results[seeds.length] = m.trainableVariables().map((v) => v.clone());
      m.dispose();
    }
    const names = buildModel(spec, dims, { seeds: SEEDS2 });
    names.trainableVariables().forEach((v, i) => report(backend, name, `train${epochs}`, v.name.split("/").slice(1).join("/"), results[3][i], results[2][i]));
    names.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : String(e));
  process.exit(1);
});
