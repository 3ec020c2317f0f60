/**
 * Seed-batched training (the one loop of lib/train/trainer.ts with S > 1 seeds) is an optimisation of S single runs: each seed of a group
 * must get its single run's gradients, predictions, early stopping and test metrics.
 *
 * Backend: the default one (`initBackend()`: the native backend where it is installed, which is where the
 * study runner trains groups; wasm on a clean clone), so the test checks the kernels the study uses.
 *
 * Tolerances, from float32 summation order (a batched product over the seed axis, per-seed reductions):
 * - one step's gradients: 1e-5 of the variable's largest gradient (measured: up to 1.2e-6 on native, 1.1e-6 on wasm);
 * - after training (S = 3, up to 4 epochs of 256-row batches, patience 1): the same number of epochs and best
 *   epoch per seed, the best validation loss and the test CTCVR log loss within 2e-4 relative, and every
 *   pCTCVR within 2e-2 relative (measured on native and wasm: losses within 3e-5, predictions within 6e-3:
 *   rounding differences grow over ~300 Adam steps). A seed trained on another seed's batch order or
 *   initialisation is off by 1e-2 to 1e-1 in loss, and its predictions by more than 10 %.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type * as tfjs from "@tensorflow/tfjs";
import { initBackend, tf } from "../lib/backend";
import { defaultSplitPlan, prepare, PreparedData } from "../lib/data/prepare";
import { readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { buildModel, getModelSpec, inputDimsOf, MODEL_NAMES, PAPER_MODEL_NAMES, totalLoss } from "../lib/models";
import { logLoss } from "../lib/metrics";
import { fitSeedGroup, fitSpec, gatherSeedRows, predict, predictSeeds, SeedBatchReader, seedBatchTensors, TrainingDivergedError, trainSeedGroup } from "../lib/train";
import { tempDir } from "./helpers";

let data: PreparedData;
let backend = "";
const SEEDS = [1, 2, 3];
const TRAIN = { maxEpochs: 4, patience: 1, learningRate: 3e-3, batchSize: 256 };

before(async () => {
  backend = (await initBackend()).name;
  const dir = tempDir();
  writeSimulatedLog({ impressions: 40_000, days: 8, users: 300, ads: 80, targetCtr: 0.05, targetCvr: 0.15 }, 3, dir);
  data = prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(8), negativeKeepRate: 0.3, seed: 3 });
});

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

test("SeedBatchReader gives every batch of an epoch exactly as gatherSeedRows does (1 and 3 seeds, chunks of 1, 3 and 32 batches, a last partial batch); a range outside the split or wider than a batch throws", () => {
  const n = data.train.size;
  const orders = SEEDS.map((s) => Int32Array.from({ length: n }, (_, i) => (i * (2 * s + 7919) + s) % n));
  const batchSize = 100;
  assert.ok(n % batchSize !== 0, "the split ends in a partial batch");
  for (const group of [orders.slice(0, 1), orders]) {
    for (const chunkBatches of [1, 3, 32]) {
      const reader = new SeedBatchReader(data.train, group, batchSize, chunkBatches);
      for (let from = 0; from < n; from += batchSize) {
        const to = Math.min(from + batchSize, n);
        const want = gatherSeedRows(data.train, group, from, to);
        const got = reader.batch(from, to);
        for (const key of ["seeds", "size", "fields", "numericCount"] as const) assert.equal(got[key], want[key], key);
        for (const key of ["categoricalRows", "numeric", "click", "conversion", "weight"] as const) {
          assert.deepEqual(Array.from(got[key]), Array.from(want[key]), `${group.length} seed(s), chunks of ${chunkBatches}, rows [${from}, ${to}): ${key}`);
        }
      }
    }
  }
  const reader = new SeedBatchReader(data.train, orders, batchSize);
  assert.throws(() => reader.batch(n - 10, n + 1), /rows \[\d+, \d+\) of \d+ with batches of 100/);
  assert.throws(() => reader.batch(0, 101), /with batches of 100/);
});

test("a seed group's slice s starts from seed s's initial values and gets its single model's gradients (every model of the zoo)", (ctx) => {
  const t = tf();
  let worst = 0;
  const dims = inputDimsOf(data.train);
  // Each seed its own rows: the first 512 rows of three different permutations.
  const n = data.train.size;
  const orders = SEEDS.map((s) => Int32Array.from({ length: n }, (_, i) => (i * (2 * s + 7919)) % n));
  for (const name of MODEL_NAMES) {
    const spec = getModelSpec(name);
    const group = buildModel(spec, dims, { seeds: SEEDS });
    try {
      const batch = seedBatchTensors(gatherSeedRows(data.train, orders, 0, 512));
      const g = t.variableGrads(() => t.sum(totalLoss(spec, group.forward(batch.inputs, true), batch.labels, "batch-weight")) as tfjs.Scalar, group.trainableVariables());
      SEEDS.forEach((seed, s) => {
        const single = buildModel(spec, dims, { seed });
        try {
          const one = seedBatchTensors(gatherSeedRows(data.train, [orders[s]], 0, 512));
          const inputs = {
            categoricalMatrix: t.reshape(one.inputs.categoricalMatrix!, [512, dims.categoricalFields.length]) as tfjs.Tensor2D,
            numeric: one.inputs.numeric ? (t.reshape(one.inputs.numeric, [512, dims.numericFields.length]) as tfjs.Tensor2D) : undefined,
          };
          const labels = { click: t.reshape(one.labels.click, [512]), conversion: t.reshape(one.labels.conversion, [512]), weight: t.reshape(one.labels.weight, [512]) } as typeof one.labels;
          const gs = t.variableGrads(() => totalLoss(spec, single.forward(inputs, true), labels, "batch-weight"), single.trainableVariables());
          const groupVars = group.trainableVariables();
          single.trainableVariables().forEach((v, k) => {
            const slice = (x: tfjs.Tensor) => t.reshape(x, [SEEDS.length, -1]).slice([s, 0], [1, -1]).dataSync();
            const init = slice(groupVars[k]);
            const own = v.dataSync();
            assert.deepEqual(Array.from(init), Array.from(own), `${name} seed ${seed}: ${v.name} initial values`);
            const a = slice(g.grads[groupVars[k].name]);
            const b = gs.grads[v.name].dataSync();
            let scale = 0;
            let diff = 0;
            for (let i = 0; i < b.length; i++) {
              scale = Math.max(scale, Math.abs(b[i]));
              diff = Math.max(diff, Math.abs(a[i] - b[i]));
            }
            assert.ok(diff <= 1e-5 * scale + 1e-12, `${name} seed ${seed}: ${v.name} gradient differs by ${diff} (largest ${scale})`);
            if (scale > 0) worst = Math.max(worst, diff / scale);
          });
        } finally {
          single.dispose();
        }
      });
    } finally {
      group.dispose();
    }
  }
  ctx.diagnostic(`backend ${backend}: largest gradient difference ${worst.toExponential(1)} of the variable's largest gradient`);
});

test(`each of the six paper models trained as a group of S = 3 seeds equals its three single runs`, async (t) => {
  const lines: string[] = [];
  let differentStops = 0;
  for (const name of PAPER_MODEL_NAMES) {
    const spec = getModelSpec(name);
    const { model: group, outcomes } = await fitSeedGroup(spec, data, { ...TRAIN, seeds: SEEDS });
    const grouped = predictSeeds(group, data.test);
    group.dispose();
    let worstPrediction = 0;
    let worstLoss = 0;
    const stops = new Set<number>();
    for (const [s, seed] of SEEDS.entries()) {
      const { model, result } = await fitSpec(spec, data, { ...TRAIN, modelSeed: seed });
      const single = predict(model, data.test);
      model.dispose();
      const o = outcomes[s];
      assert.ok(o.result, `${name} seed ${seed}: ${o.error}`);
      assert.equal(o.seed, seed);
      assert.equal(o.result.modelSeed, seed);
      assert.deepEqual(o.result.seedGroup, { seeds: SEEDS });
      assert.equal(o.result.epochs.length, result.epochs.length, `${name} seed ${seed}: epochs trained`);
      assert.equal(o.result.bestEpoch, result.bestEpoch, `${name} seed ${seed}: best epoch`);
      // IP: each tower's own stopping (lib/train/early-stopping.ts stoppingUnits), the same in the group
      const units = (r: typeof result) => r.units?.map((u) => [u.criterion, u.bestEpoch, u.lastEpoch]);
      assert.deepEqual(units(o.result), units(result), `${name} seed ${seed}: stopping units`);
      assert.equal(name === "IP", result.units !== undefined);
      assert.equal(o.result.stoppedEarly, result.stoppedEarly);
      assert.equal(o.result.restoredBest, result.restoredBest);
      assert.deepEqual(o.result.parameters, result.parameters);
      stops.add(result.epochs.length);
      worstLoss = Math.max(worstLoss, rel(o.result.bestValLoss, result.bestValLoss));
      const y = Float64Array.from(data.test.click, (c, i) => c * data.test.conversion[i]);
      const testLoss = (p: Float64Array) => logLoss(y, p, data.test.weight);
      worstLoss = Math.max(worstLoss, rel(testLoss(grouped[s].pCtcvr), testLoss(single.pCtcvr)));
      for (let i = 0; i < single.pCtcvr.length; i++) worstPrediction = Math.max(worstPrediction, rel(grouped[s].pCtcvr[i], single.pCtcvr[i]));
    }
    if (stops.size > 1) differentStops++;
    lines.push(`${name.padEnd(10)} worst loss rel diff ${worstLoss.toExponential(1)}, worst pCTCVR rel diff ${worstPrediction.toExponential(1)}, epochs per seed ${outcomes.map((o) => o.result?.epochs.length).join("/")}`);
    assert.ok(worstLoss < 2e-4, `${name}: validation or test loss differs by ${worstLoss} relative`);
    assert.ok(worstPrediction < 2e-2, `${name}: a pCTCVR differs by ${worstPrediction} relative`);
  }
  t.diagnostic(`backend ${backend}\n${lines.join("\n")}`);
  // The groups exercised per-seed early stopping: some seeds stopped while others went on.
  assert.ok(differentStops >= 1, "no group had seeds stopping at different epochs");
});

test("a seed whose weights are not finite fails alone; the other seeds of its group equal their single runs", async () => {
  const t = tf();
  const spec = getModelSpec("ESMM");
  const group = buildModel(spec, inputDimsOf(data.train), { seeds: SEEDS });
  try {
    // Seed 2's CVR logit kernel becomes NaN: its loss is NaN from the first batch.
    const kernel = [...group.variables.values()].find((i) => i.name === "cvr/mlp/2/kernel")!.variable;
    const poisoned = t.tidy(() => {
      const mask = t.broadcastTo(t.reshape(t.tensor1d([0, 1, 0], "bool"), [3, 1, 1]), kernel.shape);
      return t.where(mask, t.fill(kernel.shape, NaN), kernel);
    });
    kernel.assign(poisoned);
    poisoned.dispose();
    const outcomes = await trainSeedGroup(group, data, TRAIN);
    assert.ok(outcomes[1].error instanceof TrainingDivergedError, `seed 2: ${outcomes[1].error}`);
    assert.match(outcomes[1].error!.message, /training loss is NaN at epoch 1, batch 1/);
    const grouped = predictSeeds(group, data.test);
    for (const s of [0, 2]) {
      const { model, result } = await fitSpec(spec, data, { ...TRAIN, modelSeed: SEEDS[s] });
      const single = predict(model, data.test);
      model.dispose();
      assert.equal(outcomes[s].result?.bestEpoch, result.bestEpoch);
      assert.ok(rel(outcomes[s].result!.bestValLoss, result.bestValLoss) < 2e-4);
      for (let i = 0; i < single.pCtcvr.length; i++) assert.ok(rel(grouped[s].pCtcvr[i], single.pCtcvr[i]) < 2e-2, `seed ${SEEDS[s]} row ${i}`);
    }
  } finally {
    group.dispose();
  }
});

test("seed groups refuse what they do not support, with a clear message", () => {
  const dims = inputDimsOf(data.train);
  const spec = getModelSpec("ESMM");
  assert.throws(() => buildModel(spec, dims, { seeds: [1, 1] }), /repeated seed/);
  assert.throws(() => buildModel(spec, dims, { seeds: [] }), /at least one seed/);
  assert.throws(() => buildModel(spec, dims, { seeds: [1, 2], architecture: { batchNorm: true } }), /batch norm is not supported in a seed group/);
  const single = buildModel(spec, dims, { seed: 1 });
  assert.throws(() => predictSeeds(single, data.test), /not a seed group/);
  single.dispose();
  const group = buildModel(spec, dims, { seeds: [1, 2] });
  assert.throws(() => predict(group, data.test), /is a seed group; use predictSeeds/);
  group.dispose();
});
