/**
 * Seed-group compaction (lib/train/compaction.ts, trainSeeds' compactStopped): a seed that stopped leaves the
 * group's computation and nothing else changes, bit for bit.
 *
 * Known answers: the elementwise tails of [slots, rows] tensors (a packet of P floats: the last slots * rows mod P
 * elements), which removals keep them; and, training the same group with and without compaction (ESMM, 4 seeds
 * that stop at different epochs, on the default backend: the native one where installed, which has the tails), the
 * same records, best epochs, final weights and test predictions bit for bit, while the group did get smaller; a
 * removed seed holds its best epoch's weights (its validation loss is its best one, recomputed); and the same for IP
 * (two stopping units) without restoreBest, whose removed seeds' towers hold their own last epochs' weights.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend";
import { defaultSplitPlan, prepare, PreparedData } from "../lib/data/prepare";
import { readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { buildModel, getModelSpec, inputDimsOf, PAPER_MODEL_NAMES } from "../lib/models";
import { predictEachSeed, splitLosses, trainSeeds, TrainSeedsOptions } from "../lib/train";
import { exactRemoval, keepsBitsWhenCompacted, tailElements } from "../lib/train/compaction";
import { tempDir } from "./helpers";

let data: PreparedData;

before(async () => {
  await initBackend();
  const dir = tempDir();
  writeSimulatedLog({ impressions: 12_000, days: 8, users: 300, ads: 80, targetCtr: 0.05, targetCvr: 0.15 }, 3, dir);
  data = prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(8), negativeKeepRate: 0.3, seed: 3 });
});

test("tailElements: the last slots * rows mod packet elements of a [slots, rows] tensor, counted in each slot", () => {
  assert.equal(tailElements(2, 3, 333, 8), 7); // 999 = 124 * 8 + 7
  assert.equal(tailElements(1, 3, 333, 8), 0);
  assert.equal(tailElements(1, 2, 333, 8), 2); // 666 = 83 * 8 + 2
  assert.equal(tailElements(0, 2, 333, 8), 0);
  assert.equal(tailElements(3, 4, 5, 16), 4); // 20 = 16 + 4: the last slot's 5 rows, 4 of them in the tail
  assert.equal(tailElements(2, 3, 1024, 16), 0);
  assert.equal(tailElements(1, 2, 3, 16), 3); // 6 < 16: everything is tail
  assert.equal(tailElements(0, 2, 3, 16), 3);
});

test("exactRemoval keeps every active seed's tail: removes freely when rows fill packets, keeps a stopped last slot as the tail holder otherwise", () => {
  assert.deepEqual(exactRemoval([true, false, true], [1024, 2048]), [0, 2]);
  // 333 rows: removing one seed shrinks the active last slot's tail (999 mod 8 = 7, 666 mod 8 = 2)
  assert.deepEqual(exactRemoval([true, false, true], [1024, 333]), [0, 1, 2]);
  // ... and removing 16 seeds of 333 rows does not (16 * 333 fills whole packets)
  const eighteen = Array.from({ length: 18 }, (_, s) => s === 0 || s === 17);
  assert.deepEqual(exactRemoval(eighteen, [333]), [0, 17]);
  // a stopped last slot: the others go, it stays (alone, the active seed 0 would get a tail it never had)
  assert.deepEqual(exactRemoval([true, false, false], [333]), [0, 2]);
  assert.deepEqual(exactRemoval([true, false, false, false], [1024]), [0]);
  // rows below a packet: the tail reaches the slots before the last one
  assert.deepEqual(exactRemoval([false, true, true, true], [8]), [0, 1, 2, 3]);
  assert.deepEqual(exactRemoval([false, true, true, true], [16]), [1, 2, 3]);
  // nothing to remove, or nothing left to train
  assert.deepEqual(exactRemoval([true, true], [333]), [0, 1]);
  assert.deepEqual(exactRemoval([false, false], [333]), [0, 1]);
});

test("models with a softmax (MMoE's and PLE's gates, AITM's attention) are not compacted; the paper's six are", () => {
  for (const name of PAPER_MODEL_NAMES) assert.equal(keepsBitsWhenCompacted(getModelSpec(name)), true, name);
  for (const name of ["MMoE", "PLE", "AITM"]) assert.equal(keepsBitsWhenCompacted(getModelSpec(name)), false, name);
});

/** Trains `model` with `seeds` twice, whole and with compactStopped: outcomes, compactions, final weights' bits, predictions. */
async function bothWays(name: string, seeds: number[], options: TrainSeedsOptions) {
  const spec = getModelSpec(name);
  const runs = [];
  for (const compactStopped of [false, true]) {
    const model = buildModel(spec, inputDimsOf(data.train), { seeds });
    try {
      const compactions: number[][] = [];
      const outcomes = await trainSeeds(model, data, { ...options, compactStopped, onCompact: (remaining) => compactions.push(remaining) });
      const weights = model.trainableVariables().map((v) => Array.from(new Uint32Array(Float32Array.from(v.dataSync()).buffer)));
      runs.push({ outcomes, compactions, weights, test: predictEachSeed(model, data.test), validation: predictEachSeed(model, data.validation) });
    } finally {
      model.dispose();
    }
  }
  const [whole, compacted] = runs;
  assert.deepEqual(whole.compactions, []);
  assert.ok(compacted.compactions.length > 0 && compacted.compactions.at(-1)!.length < seeds.length, `${name}: the group got smaller: ${JSON.stringify(compacted.compactions)}`);
  assert.deepEqual(compacted.weights, whole.weights, `${name}: every seed's final weights, bit for bit`);
  seeds.forEach((seed, s) => {
    const a = whole.outcomes[s].result!;
    const b = compacted.outcomes[s].result!;
    const rows = (r: typeof a) => r.epochs.map((e) => [e.trainLoss, e.valLoss, e.val, e.improved, e.unitsImproved]);
    assert.deepEqual(rows(b), rows(a), `${name} seed ${seed}: records`);
    assert.deepEqual([b.bestEpoch, b.bestValLoss, b.units], [a.bestEpoch, a.bestValLoss, a.units], `${name} seed ${seed}: best epoch`);
    assert.deepEqual(compacted.test[s], whole.test[s], `${name} seed ${seed}: test predictions`);
  });
  return { compacted, removed: seeds.filter((seed) => !compacted.compactions.at(-1)!.includes(seed)) };
}

test("a compacted group trains every seed to the same bits as the whole group, and a removed seed holds its best epoch", async () => {
  const seeds = [1, 2, 3, 4];
  const { compacted, removed } = await bothWays("ESMM", seeds, { maxEpochs: 8, patience: 1, learningRate: 1e-2, batchSize: 256 });
  for (const seed of removed) {
    const s = seeds.indexOf(seed);
    const result = compacted.outcomes[s].result!;
    assert.ok(result.bestEpoch < result.epochs.length, `seed ${seed} stopped after its best epoch`);
    assert.equal(splitLosses(data.validation, compacted.validation[s]).ctcvr, result.epochs[result.bestEpoch - 1].valLoss, `seed ${seed}: its best epoch's weights`);
  }
});

test("compaction of a model of two stopping units (IP) without restoreBest: the same bits, a removed seed's towers hold their last epochs", async () => {
  const seeds = [1, 2, 3, 4];
  const { compacted, removed } = await bothWays("IP", seeds, { maxEpochs: 8, patience: 1, learningRate: 3e-3, batchSize: 256, restoreBest: false });
  for (const seed of removed) {
    const s = seeds.indexOf(seed);
    const result = compacted.outcomes[s].result!;
    // Each tower holds its unit's last epoch's weights: its task's validation loss is that epoch's record.
    const held = splitLosses(data.validation, compacted.validation[s]);
    assert.equal(result.units!.length, 2);
    for (const unit of result.units!) {
      assert.equal(held[unit.criterion], result.epochs[unit.lastEpoch - 1].val[unit.criterion], `seed ${seed}: ${unit.criterion} tower at epoch ${unit.lastEpoch}`);
    }
  }
});
