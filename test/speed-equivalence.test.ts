/**
 * Speed work must not change results: short seeded training runs on the cpu backend (deterministic, single
 * threaded) whose loss curves and test predictions are compared with test/fixtures/speed-reference.json,
 * recorded with the library as it was BEFORE the training-speed changes (per-field embedding gathers,
 * losses from tfjs' generic gradients, tfjs' own AdamOptimizer). Five runs cover the code paths the speed
 * work touched: ESMM (the reference model), IP (separate towers, a loss on clicked rows), ESSP-Split (an
 * independent CTCVR head), IPSP with own-rows normalisation, ESP with batch norm; 8 categorical fields of
 * different vocabularies plus 2 numeric ones, 3 epochs of 8 batches of 256.
 *
 * Tolerance: 1e-4 relative (+1e-7 absolute) on every per-epoch loss (train, validation CTCVR / CTR / CVR)
 * and on the mean / sd / min / max of the test predictions, 1e-3 relative on 8 individual predictions;
 * the best epoch must be the same. Why not bit-identical: the fast step computes the same functions in
 * another float32 order (one gather from stacked tables, analytic loss gradients, Adam with folded bias
 * corrections), which moves each step by float32 rounding (measured after the change: <= 3e-7 relative on
 * every compared number). Why not looser: a few dozen Adam steps through ReLUs amplify perturbations
 * (the recorded code with its learning rate x (1 + 1e-6) moves these numbers by <= 5e-6, with x (1 + 1e-5)
 * by up to 2e-3), and the behaviour changes one would care about all fail it: Adam epsilon 1e-7 instead
 * of 1e-8, learning rate x 1.01, beta2 0.998, batch size 255 move the worst compared number of EVERY run
 * by 2.5e-3 to 0.65 (measured when choosing the tolerance). So 1e-4 sits ~300x above the rounding the
 * speed work causes and well below any change of behaviour.
 *
 * The Adam test checks every grouping of lib/train/adam.ts (flat, per-variable, the JS kernel) against
 * tfjs' AdamOptimizer directly (native's "flat" grouping is otherwise only exercised on tensorflow).
 *
 * Record again (only when behaviour is MEANT to change): ESMM_RECORD_SPEED_REFERENCE=1 node --test
 * build/test/speed-equivalence.test.js; ESMM_SPEED_VERBOSE=1 prints each run's worst difference.
 * The fixture is part of the numerics version in every run key (lib/study/numerics.ts): recording it again
 * starts a new set of keys, so studies retrain exactly when these numbers change.
 */
import { before, test } from "node:test";
import type * as tfjs from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { rng } from "./helpers";
import { FIXTURES_DIR } from "./paths";
import type { EncodedSplit } from "../lib/data/encoded";
import { initBackend, tf } from "../lib/backend";
import { Architecture, LossNormalization, getModelSpec } from "../lib/models";
import { fitSpec, predict } from "../lib/train";
import { Adam, AdamGrouping } from "../lib/train/adam";

const FIXTURE = path.join(FIXTURES_DIR, "speed-reference.json");
const RECORD = process.env.ESMM_RECORD_SPEED_REFERENCE === "1";

/** Relative tolerance on losses and summaries (see the file comment). */
export const LOSS_RTOL = 1e-4;
const ABS_TOL = 1e-7;
/** Relative tolerance on individual predictions. */
export const PREDICTION_RTOL = 1e-3;

before(async () => {
  // Always cpu: the reference was recorded there (deterministic, no threads); a fresh process per test file.
  await initBackend("cpu");
});

// Reference-like shape, small: 8 categorical fields of different vocabularies, 2 numeric fields.
const VOCAB = [50, 40, 30, 20, 10, 5, 60, 8];
const NUMERIC = ["x0", "x1"];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

const world = (() => {
  const r = rng(77);
  return VOCAB.map((v) => Array.from({ length: v }, () => [r() * 2 - 1, r() * 2 - 1]));
})();

/** Click ~ logistic(sum of field effects + x0), conversion | click ~ logistic(other effects - x1); non-clicks kept 1/2, weight 2. */
function split(n: number, seed: number): EncodedSplit {
  const r = rng(seed);
  const nf = VOCAB.length;
  const categorical = new Int32Array(n * nf);
  const numeric = new Float32Array(n * 2);
  const click = new Float32Array(n);
  const conversion = new Float32Array(n);
  const weight = new Float32Array(n);
  let i = 0;
  while (i < n) {
    const ids = VOCAB.map((v) => Math.floor(r() * v));
    const x0 = r() * 2 - 1;
    const x1 = r() * 2 - 1;
    let zc = -1.5 + x0;
    let zv = -0.5 - x1;
    ids.forEach((id, f) => {
      zc += world[f][id][0];
      zv += world[f][id][1];
    });
    const c = r() < sigmoid(zc) ? 1 : 0;
    const v = c && r() < sigmoid(zv) ? 1 : 0;
    if (!c && r() >= 0.5) continue;
    categorical.set(ids, i * nf);
    numeric.set([x0, x1], i * 2);
    click[i] = c;
    conversion[i] = v;
    weight[i] = c ? 1 : 2;
    i++;
  }
  return {
    name: `speed-${seed}`,
    size: n,
    categoricalFields: VOCAB.map((_, f) => `f${f}`),
    vocabularySizes: VOCAB,
    numericFields: NUMERIC,
    categorical,
    numeric,
    click,
    conversion,
    weight,
    day: new Int32Array(n),
  };
}

interface Case {
  id: string;
  model: string;
  lossNormalization?: LossNormalization;
  architecture?: Partial<Architecture>;
}

/** The reference model and one case per code path the speed work touches (separate towers, clicks-space loss, head CTCVR, batch norm). */
const CASES: Case[] = [
  { id: "ESMM", model: "ESMM" },
  { id: "IP", model: "IP" },
  { id: "ESSP-Split", model: "ESSP-Split" },
  { id: "IPSP-own-rows", model: "IPSP", lossNormalization: "own-rows" },
  { id: "ESP-batchnorm", model: "ESP", architecture: { batchNorm: true } },
];

interface Summary {
  mean: number;
  sd: number;
  min: number;
  max: number;
  /** The first 8 test rows' predictions. */
  head: number[];
}

interface CaseRecord {
  trainLoss: number[];
  valLoss: number[];
  valCtr: (number | null)[];
  valCvr: (number | null)[];
  bestEpoch: number;
  test: Record<string, Summary>;
}

function summary(p: Float64Array): Summary {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of p) {
    s += x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / p.length;
  let ss = 0;
  for (const x of p) ss += (x - mean) ** 2;
  return { mean, sd: Math.sqrt(ss / p.length), min, max, head: Array.from(p.subarray(0, 8)) };
}

const data = { train: split(2048, 1), validation: split(512, 2) };
const testSplit = split(1024, 3);

async function runCase(c: Case): Promise<CaseRecord> {
  const { model, result } = await fitSpec(getModelSpec(c.model), data, {
    modelSeed: 11,
    batchSize: 256,
    maxEpochs: 3,
    patience: 5,
    learningRate: 3e-3,
    lossNormalization: c.lossNormalization,
    architecture: c.architecture,
  });
  try {
    const preds = predict(model, testSplit);
    const test: Record<string, Summary> = { pCtcvr: summary(preds.pCtcvr) };
    if (preds.pCtr) test.pCtr = summary(preds.pCtr);
    if (preds.pCvr) test.pCvr = summary(preds.pCvr);
    return {
      trainLoss: result.epochs.map((e) => e.trainLoss),
      valLoss: result.epochs.map((e) => e.valLoss),
      valCtr: result.epochs.map((e) => e.val.ctr ?? null),
      valCvr: result.epochs.map((e) => e.val.cvr ?? null),
      bestEpoch: result.bestEpoch,
      test,
    };
  } finally {
    model.dispose();
  }
}

/** Largest |got - want| / (rtol * |want| + ABS_TOL) over paired numbers (<= 1 passes), with where it was. */
function worst(got: unknown, want: unknown, rtol: number, where: string, acc: { ratio: number; rel: number; where: string }): void {
  if (typeof want === "number") {
    assert.equal(typeof got, "number", `${where}: expected a number, got ${String(got)}`);
    const g = got as number;
    const ratio = Math.abs(g - want) / (rtol * Math.abs(want) + ABS_TOL);
    const rel = Math.abs(g - want) / Math.max(Math.abs(want), 1e-300);
    if (!(ratio <= acc.ratio) || Number.isNaN(ratio)) Object.assign(acc, { ratio: Number.isNaN(ratio) ? Infinity : ratio, rel, where: `${where}: got ${g}, reference ${want}` });
    return;
  }
  if (want === null) {
    assert.equal(got, null, where);
    return;
  }
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, `${where}: length ${Array.isArray(got) ? got.length : "-"} vs ${want.length}`);
    want.forEach((w, i) => worst((got as unknown[])[i], w, rtol, `${where}[${i}]`, acc));
    return;
  }
  const wo = want as Record<string, unknown>;
  const go = got as Record<string, unknown>;
  assert.deepEqual(Object.keys(go).sort(), Object.keys(wo).sort(), where);
  for (const k of Object.keys(wo)) worst(go[k], wo[k], k === "head" ? PREDICTION_RTOL : rtol, `${where}.${k}`, acc);
}

test("Adam: every grouping follows tfjs' AdamOptimizer (30 steps, sparse gradients, 3 variables)", () => {
  const t = tf();
  const before = t.memory().numTensors;
  const shapes = [[50, 8], [8, 4], [4]];
  const config = { learningRate: 3e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
  for (const grouping of ["flat", "per-variable", "kernel"] as AdamGrouping[]) {
    const init = shapes.map((s, i) => t.randomUniform(s, -1, 1, "float32", 10 + i));
    const variable = (x: tfjs.Tensor) => {
      const copy = x.clone();
      const v = t.variable(copy);
      copy.dispose();
      return v;
    };
    const ref = init.map(variable);
    const mine = init.map(variable);
    const tfAdam = t.train.adam(config.learningRate, config.beta1, config.beta2, config.epsilon);
    const adam = new Adam(mine, { ...config, grouping });
    for (let step = 0; step < 30; step++) {
      t.tidy(() => {
        // Embedding-like gradients: most entries exactly 0, the rest of varying scale.
        const grads = shapes.map((s, i) => {
          const g = t.randomNormal(s, 0, step % 3 === 0 ? 1e-3 : 1, "float32", 100 * step + i);
          return t.mul(g, t.cast(t.greater(t.randomUniform(s, 0, 1, "float32", 7000 + 100 * step + i), 0.6), "float32"));
        });
        tfAdam.applyGradients(ref.map((v, i) => ({ name: v.name, tensor: grads[i] })));
        adam.apply(grads);
      });
    }
    ref.forEach((r, i) => {
      const a = r.dataSync();
      const b = mine[i].dataSync();
      const x0 = init[i].dataSync();
      let maxDisp = 0;
      let maxDiff = 0;
      for (let k = 0; k < a.length; k++) {
        maxDisp = Math.max(maxDisp, Math.abs(a[k] - x0[k]));
        maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
      }
      assert.ok(maxDisp > 0);
      assert.ok(maxDiff <= 1e-5 * maxDisp, `${grouping}: variable ${i} differs by ${maxDiff} (displacement ${maxDisp})`);
    });
    adam.dispose();
    tfAdam.dispose();
    for (const x of [...init, ...ref, ...mine]) x.dispose();
  }
  assert.equal(t.memory().numTensors, before, "tensors leaked");
});

if (RECORD) {
  test("record test/fixtures/speed-reference.json (ESMM_RECORD_SPEED_REFERENCE=1)", async () => {
    const cases: Record<string, CaseRecord> = {};
    for (const c of CASES) cases[c.id] = await runCase(c);
    const out = {
      note: "Recorded on the cpu backend before the training-speed changes; compared by test/speed-equivalence.test.ts.",
      backend: "cpu",
      cases,
    };
    fs.writeFileSync(FIXTURE, JSON.stringify(out, null, 2) + "\n");
  });
} else {
  const reference = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as { cases: Record<string, CaseRecord> };
  for (const c of CASES) {
    test(`${c.id}: loss curves and test predictions equal the pre-speed-work reference (rtol ${LOSS_RTOL})`, async () => {
      const before = tf().memory().numTensors;
      const got = await runCase(c);
      const want = reference.cases[c.id];
      assert.ok(want, `no reference for ${c.id}`);
      assert.equal(got.bestEpoch, want.bestEpoch, "best epoch");
      const acc = { ratio: 0, rel: 0, where: "" };
      worst(got, want, LOSS_RTOL, c.id, acc);
      if (process.env.ESMM_SPEED_VERBOSE) console.log(`${c.id}: worst ${acc.ratio.toExponential(2)} of tolerance (relative ${acc.rel.toExponential(2)}) at ${acc.where}`);
      assert.ok(acc.ratio <= 1, `${c.id}: off by ${acc.ratio.toFixed(1)}x the tolerance at ${acc.where}`);
      assert.equal(tf().memory().numTensors, before, "tensors leaked");
    });
  }
}
