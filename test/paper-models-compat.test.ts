/**
 * The model layer may be rebuilt (trunk kinds, towers, loss kinds as registries) but the paper's six models
 * must compute what they computed before: each is trained for 2 epochs of 8 batches of 256 rows on the
 * cpu backend (deterministic, single-threaded) with model seed 5, and its pCTR / pCVR / pCTCVR on 256 test
 * rows are compared with test/fixtures/paper-models-compat.json, recorded with the six-model layer as it
 * was before the model families were added (commit b1b2e27: `trunk: "shared" | "separate"`, CE-only loss terms).
 *
 * Tolerance: 1e-6 relative (+1e-9 absolute) on every prediction and per-epoch loss. The rebuilt layer runs
 * the same ops in the same order for these six models (same variable names, hence the same seeded
 * initial values; the closed-form loss for cross-entropy terms), so the numbers are expected to agree to
 * float32 rounding or exactly; 1e-6 is ~10 float32 ulps, far below what any change of behaviour moves (see
 * test/speed-equivalence.test.ts: a learning rate x (1 + 1e-6) already moves these numbers by up to 5e-6).
 *
 * Record again (only when the six models are MEANT to change): ESMM_RECORD_PAPER_COMPAT=1 node --test
 * build/test/paper-models-compat.test.js
 * The fixture is part of the numerics version in every run key (lib/study/numerics.ts): recording it again
 * starts a new set of keys, so studies retrain exactly when these numbers change.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { rng } from "./helpers";
import { FIXTURES_DIR } from "./paths";
import type { EncodedSplit } from "../lib/data/encoded";
import { initBackend } from "../lib/backend";
import { getModelSpec } from "../lib/models";
import { fitSpec, predict } from "../lib/train";

const FIXTURE = path.join(FIXTURES_DIR, "paper-models-compat.json");
const RECORD = process.env.ESMM_RECORD_PAPER_COMPAT === "1";
const RTOL = 1e-6;
const ATOL = 1e-9;
const PAPER_MODELS = ["IP", "ESMM", "ESMM-NS", "ESSP-Split", "IPSP", "ESP"];

before(async () => {
  await initBackend("cpu");
});

const VOCAB = [30, 20, 12, 6];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const world = (() => {
  const r = rng(123);
  return VOCAB.map((v) => Array.from({ length: v }, () => [r() * 2 - 1, r() * 2 - 1]));
})();

/** Click ~ logistic(field effects + x0), conversion | click ~ logistic(other effects - x1); non-clicks kept 1/2 with weight 2. */
function split(n: number, seed: number): EncodedSplit {
  const r = rng(seed);
  const nf = VOCAB.length;
  const categorical = new Int32Array(n * nf);
  const numeric = new Float32Array(n);
  const click = new Float32Array(n);
  const conversion = new Float32Array(n);
  const weight = new Float32Array(n);
  let i = 0;
  while (i < n) {
    const ids = VOCAB.map((v) => Math.floor(r() * v));
    const x0 = r() * 2 - 1;
    let zc = -1 + x0;
    let zv = -0.3 - x0;
    ids.forEach((id, f) => {
      zc += world[f][id][0];
      zv += world[f][id][1];
    });
    const c = r() < sigmoid(zc) ? 1 : 0;
    const v = c && r() < sigmoid(zv) ? 1 : 0;
    if (!c && r() >= 0.5) continue;
    categorical.set(ids, i * nf);
    numeric[i] = x0;
    click[i] = c;
    conversion[i] = v;
    weight[i] = c ? 1 : 2;
    i++;
  }
  return {
    name: `compat-${seed}`,
    size: n,
    categoricalFields: VOCAB.map((_, f) => `f${f}`),
    vocabularySizes: VOCAB,
    numericFields: ["x0"],
    categorical,
    numeric,
    click,
    conversion,
    weight,
    day: new Int32Array(n),
  };
}

const data = { train: split(2048, 1), validation: split(512, 2) };
const testSplit = split(256, 3);

type Record_ = { trainLoss: number[]; valLoss: number[]; predictions: Record<string, number[]> };

async function run(model: string): Promise<Record_> {
  const fitted = await fitSpec(getModelSpec(model), data, { modelSeed: 5, batchSize: 256, maxEpochs: 2, patience: 5, learningRate: 3e-3 });
  try {
    const p = predict(fitted.model, testSplit);
    const predictions: Record<string, number[]> = { pCtcvr: Array.from(p.pCtcvr) };
    if (p.pCtr) predictions.pCtr = Array.from(p.pCtr);
    if (p.pCvr) predictions.pCvr = Array.from(p.pCvr);
    return { trainLoss: fitted.result.epochs.map((e) => e.trainLoss), valLoss: fitted.result.epochs.map((e) => e.valLoss), predictions };
  } finally {
    fitted.model.dispose();
  }
}

const recorded: Record<string, Record_> = {};

for (const model of PAPER_MODELS) {
  test(`${model}: same losses and predictions as the six-model layer it replaced (rtol ${RTOL})`, async () => {
    const got = await run(model);
    if (RECORD) {
      recorded[model] = got;
      if (Object.keys(recorded).length === PAPER_MODELS.length) fs.writeFileSync(FIXTURE, JSON.stringify(recorded) + "\n");
      return;
    }
    const want = (JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<string, Record_>)[model];
    assert.deepEqual(Object.keys(got.predictions).sort(), Object.keys(want.predictions).sort(), "outputs");
    const check = (g: number[], w: number[], what: string) => {
      assert.equal(g.length, w.length, what);
      g.forEach((x, i) => assert.ok(Math.abs(x - w[i]) <= RTOL * Math.abs(w[i]) + ATOL, `${model} ${what}[${i}]: ${x} vs recorded ${w[i]}`));
    };
    check(got.trainLoss, want.trainLoss, "trainLoss");
    check(got.valLoss, want.valLoss, "valLoss");
    for (const k of Object.keys(want.predictions)) check(got.predictions[k], want.predictions[k], k);
  });
}
