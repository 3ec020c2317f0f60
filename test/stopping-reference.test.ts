/**
 * Golden output of the early-stopping rules (lib/train/early-stopping.ts stoppingUnits): IP's towers stop on their
 * own tasks' validation losses, every other model on the CTCVR loss. IP and ESMM are trained on the cpu backend
 * (model seed 5, batches of 256, at most 6 epochs, patience 1) with a validation split whose click rule is flipped,
 * so IP's CTR tower stops before its CVR tower; each model's epochs, best epochs, stopping units and pCTR / pCVR /
 * pCTCVR on 128 test rows are compared with test/fixtures/stopping-reference.json (rtol 1e-6, as
 * test/paper-models-compat.test.ts).
 *
 * The fixture is part of the numerics version in every run key (lib/study/numerics.ts MODEL_FIXTURES): a change of
 * the stopping rules changes what runs compute, and the keys with it. Record again (only when the rules are MEANT
 * to change): ESMM_RECORD_STOPPING=1 node --test build/test/stopping-reference.test.js
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { encodedSplit, rng } from "./helpers";
import { FIXTURES_DIR } from "./paths";
import type { EncodedSplit } from "../lib/data/encoded";
import { initBackend } from "../lib/backend";
import { getModelSpec } from "../lib/models";
import { fitSpec, predict } from "../lib/train";

const FIXTURE = path.join(FIXTURES_DIR, "stopping-reference.json");
const RECORD = process.env.ESMM_RECORD_STOPPING === "1";
const MODELS = ["IP", "ESMM"];

before(async () => {
  await initBackend("cpu");
});

const VOCAB = [30, 20, 6];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const effects = (() => {
  const r = rng(321);
  return VOCAB.map((v) => Array.from({ length: v }, () => [r() * 3 - 1.5, r() * 3 - 1.5]));
})();

/** Click ~ logistic(field effects + x0) (sign flipped when `flipClick`), conversion | click ~ logistic(other effects - x0). */
function split(n: number, seed: number, flipClick = false): EncodedSplit {
  const r = rng(seed);
  const categorical = new Int32Array(n * VOCAB.length);
  const numeric = new Float32Array(n);
  const click = new Float32Array(n);
  const conversion = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const ids = VOCAB.map((v) => Math.floor(r() * v));
    const x0 = r() * 2 - 1;
    const zc = ids.reduce((z, id, f) => z + effects[f][id][0], x0);
    const zv = ids.reduce((z, id, f) => z + effects[f][id][1], -x0);
    click[i] = r() < sigmoid(-1 + (flipClick ? -zc : zc)) ? 1 : 0;
    conversion[i] = click[i] && r() < sigmoid(zv) ? 1 : 0;
    categorical.set(ids, i * VOCAB.length);
    numeric[i] = x0;
  }
  return encodedSplit({ name: `stopping-${seed}`, vocabularySizes: VOCAB, numericFields: ["x0"], categorical, numeric, click, conversion });
}

const data = { train: split(3072, 1), validation: split(768, 2, true) };
const testSplit = split(128, 3);

type Reference = { epochs: number; bestEpoch: number; units: [string, number, number][] | null; predictions: Record<string, number[]> };

async function run(model: string): Promise<Reference> {
  const fitted = await fitSpec(getModelSpec(model), data, { modelSeed: 5, batchSize: 256, maxEpochs: 6, patience: 1, learningRate: 5e-3 });
  try {
    const p = predict(fitted.model, testSplit);
    const predictions: Record<string, number[]> = { pCtcvr: Array.from(p.pCtcvr) };
    if (p.pCtr) predictions.pCtr = Array.from(p.pCtr);
    if (p.pCvr) predictions.pCvr = Array.from(p.pCvr);
    const r = fitted.result;
    return { epochs: r.epochs.length, bestEpoch: r.bestEpoch, units: r.units?.map((u) => [u.criterion, u.bestEpoch, u.lastEpoch]) ?? null, predictions };
  } finally {
    fitted.model.dispose();
  }
}

const recorded: Record<string, Reference> = {};

for (const model of MODELS) {
  test(`${model}: same epochs, stopping units and predictions as recorded (rtol 1e-6)`, async () => {
    const got = await run(model);
    if (RECORD) {
      recorded[model] = got;
      if (Object.keys(recorded).length === MODELS.length) fs.writeFileSync(FIXTURE, JSON.stringify(recorded) + "\n");
      return;
    }
    const want = (JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<string, Reference>)[model];
    assert.deepEqual([got.epochs, got.bestEpoch, got.units], [want.epochs, want.bestEpoch, want.units]);
    for (const key of Object.keys(want.predictions)) {
      got.predictions[key].forEach((x, i) => {
        const w = want.predictions[key][i];
        assert.ok(Math.abs(x - w) <= 1e-6 * Math.abs(w) + 1e-9, `${model} ${key}[${i}]: ${x} vs ${w}`);
      });
    }
    if (model === "IP") assert.ok(got.units![0][1] !== got.units![1][1], "the towers stop at different epochs (the case the fixture is for)");
  });
}
