/**
 * One training loop (lib/train/trainer.ts trainSeeds) for a model of S >= 1 seeds: a single model is the S = 1
 * case. Known answers: the single model's own run (a group of its one seed, whose variables carry a seed axis,
 * must stop where it stops and predict what it predicts, up to float32 summation order: 1e-5 relative), and a
 * poisoned batch (the seed's outcome is its TrainingDivergedError, and with no seed left the loop ends at that
 * sync instead of finishing the epoch). Backend: wasm (test/helpers.ts trainingBackend).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { EncodedSplit } from "../lib/data/encoded";
import { buildModel, getModelSpec, inputDimsOf } from "../lib/models";
import { EpochRecord, TrainingDivergedError, TrainProgress, predictEachSeed, trainSeeds } from "../lib/train";
import { encodedSplit, rng, trainingBackend } from "./helpers";

before(async () => {
  await trainingBackend();
});

const VOCAB = [20, 15, 4];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** `n` rows: click ~ logistic(field 0's effect + x0), conversion | click ~ logistic(field 1's effect - x1); `flipClick` reverses the click rule. */
function split(n: number, seed: number, flipClick = false): EncodedSplit {
  const r = rng(seed);
  const effects = VOCAB.map((v, f) => Array.from({ length: v }, (_, k) => Math.sin(7 * k + 3 * f)));
  const nf = VOCAB.length;
  const categorical = new Int32Array(n * nf);
  const numeric = new Float32Array(n * 2);
  const click = new Float32Array(n);
  const conversion = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < nf; f++) categorical[i * nf + f] = Math.floor(r() * VOCAB[f]);
    const x0 = r() * 2 - 1;
    const x1 = r() * 2 - 1;
    numeric[i * 2] = x0;
    numeric[i * 2 + 1] = x1;
    const zc = 2 * effects[0][categorical[i * nf]] + x0 - 1;
    click[i] = r() < sigmoid(flipClick ? -zc : zc) ? 1 : 0;
    conversion[i] = click[i] && r() < sigmoid(2 * effects[1][categorical[i * nf + 1]] - x1) ? 1 : 0;
  }
  return encodedSplit({ name: `split-${seed}`, categoricalFields: ["a", "b", "c"], vocabularySizes: VOCAB, numericFields: ["x0", "x1"], categorical, numeric, click, conversion });
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

test("a single model is the loop's S = 1 case: a group of its one seed stops where it stops and predicts what it predicts", async (ctx) => {
  // the click rule reversed on the validation split: IP's CTR tower gets worse while its CVR tower learns
  const data = { train: split(1500, 1), validation: split(600, 2, true) };
  const options = { maxEpochs: 6, batchSize: 128, learningRate: 5e-3, patience: 1 };
  const lines: string[] = [];
  for (const name of ["ESMM", "IP"]) {
    const spec = getModelSpec(name);
    const single = buildModel(spec, inputDimsOf(data.train), { seed: 4 });
    const group = buildModel(spec, inputDimsOf(data.train), { seeds: [4] });
    try {
      const [a] = await trainSeeds(single, data, options);
      const [b] = await trainSeeds(group, data, options);
      assert.ok(a.result && b.result, `${name}: ${a.error ?? b.error}`);
      assert.equal(a.result.seedGroup, undefined, `${name}: a single model is no seed group`);
      assert.deepEqual(b.result.seedGroup, { seeds: [4] });
      assert.equal(b.result.epochs.length, a.result.epochs.length, `${name}: epochs`);
      assert.equal(b.result.bestEpoch, a.result.bestEpoch, `${name}: best epoch`);
      assert.deepEqual(b.result.units?.map((u) => [u.criterion, u.bestEpoch, u.lastEpoch]), a.result.units?.map((u) => [u.criterion, u.bestEpoch, u.lastEpoch]));
      assert.equal(b.result.restoredBest, a.result.restoredBest);
      assert.equal(name === "IP", a.result.units !== undefined && a.result.units[0].bestEpoch !== a.result.units[1].bestEpoch, `${name}: the towers stop apart`);
      assert.ok(a.result.stoppedEarly, `${name}: early stopping exercised`);
      const [p] = predictEachSeed(single, data.validation);
      const [q] = predictEachSeed(group, data.validation);
      let worst = rel(b.result.bestValLoss, a.result.bestValLoss);
      for (const key of ["pCtr", "pCvr", "pCtcvr"] as const) for (let i = 0; i < p[key]!.length; i++) worst = Math.max(worst, rel(q[key]![i], p[key]![i]));
      lines.push(`${name}: epochs ${a.result.epochs.length}, worst relative difference ${worst.toExponential(1)}`);
      assert.ok(worst < 1e-5, `${name}: differs by ${worst} relative`);
    } finally {
      single.dispose();
      group.dispose();
    }
  }
  ctx.diagnostic(lines.join("\n"));
});

test("a diverging seed's outcome is its error; with no seed left the loop ends at that sync (S = 1 and S = 2)", async () => {
  const bad = split(600, 3);
  bad.numeric = bad.numeric.slice().fill(NaN, 2 * 300); // rows 300.. poisoned: the first shuffled batch holds some
  const data = { train: bad, validation: split(200, 4) };
  for (const layout of [{ seed: 1 }, { seeds: [1, 2] }]) {
    const model = buildModel(getModelSpec("ESMM"), inputDimsOf(bad), layout);
    try {
      const progress: TrainProgress[] = [];
      const ended: EpochRecord[] = [];
      const outcomes = await trainSeeds(model, data, { batchSize: 50, syncEvery: 3, onProgress: (p) => progress.push(p), onEpochEnd: (e) => ended.push(e) });
      assert.equal(outcomes.length, model.seeds.length);
      for (const o of outcomes) {
        assert.ok(o.error instanceof TrainingDivergedError, `${JSON.stringify(layout)} seed ${o.seed}: ${o.error}`);
        assert.equal(o.error.epoch, 1);
        assert.equal(o.error.batch, 1);
      }
      assert.deepEqual(progress.map((p) => p.batch), [3], "one sync, then the loop ended (12 batches in the epoch)");
      assert.deepEqual(ended, []);
    } finally {
      model.dispose();
    }
  }
});
