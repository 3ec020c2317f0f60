/**
 * Decoupled weight decay (AdamW; lib/train/adam.ts, lib/train/rowwise.ts, TrainConfig.weightDecayForm), tests
 * with known answers:
 * - dense Adam with weightDecayForm "decoupled" matches a float64 reference (test/float64-adam.ts) of PyTorch's AdamW (p <- p - lr λ p,
 *   then the Adam step with the undecayed gradient) after k steps: values and both moments, for every grouping
 *   the backend has ("flat" over two variables, "per-variable", "kernel"); tolerance 2e-6 relative + 5e-7 of the
 *   array's largest value (float32 rounding of the stored values and of the op chains), and the coupled reference is far outside it;
 * - with λ = 0 the decoupled form equals plain Adam bit for bit;
 * - row-wise (lazy) Adam with skipped rows matches the float64 reference of the lazy AdamW rule (touched rows
 *   decayed once per step that touches them, untouched rows and their moments unchanged), in place and through
 *   TensorScatterUpdate, and equals dense decoupled Adam bit for bit when every row is touched every step;
 * - the option: absent means coupled, an unknown form is refused with one line naming it, and a run that
 *   spells out the default ("coupled", or any form with λ = 0) has the run key of one that leaves it out.
 *
 * Backend: wasm (test/helpers.ts trainingBackend); ESMM_BACKEND=cpu or tensorflow runs the same checks there (by hand).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../lib/backend";
import { gatherRows as gatherTableRows } from "../lib/models/fast-ops";
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig } from "../lib/train";
import { Adam, AdamGrouping, WeightDecayForm } from "../lib/train/adam";
import { RowwiseAdam } from "../lib/train/rowwise";
import { canonicalJson, computation } from "../lib/study/results";
import { expandGrid } from "../lib/study/spec";
import { studyProfile } from "../lib/study";
import { adamReference, ADAM, applyRowSteps, assertSameAsDense, denseMoments } from "./float64-adam";
import { rng, trainingBackend } from "./helpers";

let backend = "";

before(async () => {
  backend = (await trainingBackend()).name;
});

/** Large enough that the decay moves the values far beyond the tolerance within a few steps (lr λ = 2e-3). */
const DECAY = 0.2;

function groupingsOf(name: string): AdamGrouping[] {
  return name === "wasm" || name === "cpu" ? ["flat", "per-variable", "kernel"] : ["flat", "per-variable"];
}

/**
 * Largest |got - want| / (2e-6 |want| + 5e-7 max |want|) over the three arrays (<= 1: within tolerance). The
 * absolute part: each step's float32 rounding (~8 ops of 2^-24 in the "flat" and "per-variable" groupings) of
 * a step of about lr = 0.01 leaves ~1e-9 on a value, which adds up over 30 steps to ~2.5e-8 measured on
 * values near 0 (max |p| = 0.17, so the bound is 8e-8); the two decay forms differ by ~1e-2.
 */
function worstError(got: Record<"p" | "m" | "v", ArrayLike<number>>, want: Record<"p" | "m" | "v", number[]>): number {
  let worst = 0;
  for (const key of ["p", "m", "v"] as const) {
    const scale = Math.max(...want[key].map(Math.abs));
    want[key].forEach((w, i) => (worst = Math.max(worst, Math.abs(got[key][i] - w) / (2e-6 * Math.abs(w) + 5e-7 * scale))));
  }
  return worst;
}

/** k steps of random gradients (every row every step), as adamReference() takes them. */
function denseSteps(rows: number, dim: number, k: number, r: () => number) {
  return Array.from({ length: k }, (_, step) => ({
    ids: Array.from({ length: rows }, (_, i) => i),
    g: Array.from({ length: rows }, () => Array.from({ length: dim }, () => Math.fround((r() - 0.5) * (step % 3 === 0 ? 1e-3 : 0.2)))),
  }));
}

test("dense Adam, decoupled decay: matches a float64 reference of PyTorch's AdamW after k steps (values and both moments), every grouping", (ctx) => {
  const t = tf();
  const rows = 9;
  const dim = 2;
  const r = rng(21);
  const init = Float32Array.from({ length: rows * dim }, () => r() * 0.2 - 0.1);
  const steps = denseSteps(rows, dim, 30, r);
  const want = adamReference(init, dim, steps, DECAY, "decoupled");
  for (const grouping of groupingsOf(backend)) {
    // two variables (rows 0-3 and 4-8), so "flat" concatenates them
    const a = t.variable(t.tensor2d(init.slice(0, 4 * dim), [4, dim]));
    const b = t.variable(t.tensor1d(init.slice(4 * dim)));
    const adam = new Adam([a, b], { ...ADAM, grouping, weightDecay: DECAY, weightDecayForm: "decoupled" });
    try {
      for (const s of steps) {
        const g = Float32Array.from(s.g.flat());
        t.tidy(() => adam.apply([t.tensor2d(g.slice(0, 4 * dim), [4, dim]), t.tensor1d(g.slice(4 * dim))]));
      }
      const got = { p: Float32Array.from([...a.dataSync(), ...b.dataSync()]), ...denseMoments(adam) };
      const worst = worstError(got, want);
      ctx.diagnostic(`${grouping}: worst difference from the float64 AdamW reference, relative to the tolerance: ${worst.toExponential(2)}`);
      assert.ok(worst <= 1, `${grouping}: ${worst} x the tolerance`);
      // the reference tells the forms apart: coupled L2 at the same λ lands far outside the tolerance
      assert.ok(worstError(got, adamReference(init, dim, steps, DECAY, "coupled")) > 1e3, `${grouping}: coupled and decoupled references are distinguishable`);
    } finally {
      adam.dispose();
      a.dispose();
      b.dispose();
    }
  }
});

test("dense Adam: decoupled decay with λ = 0 equals plain Adam bit for bit (every grouping)", () => {
  const t = tf();
  const rows = 7;
  const dim = 3;
  const r = rng(4);
  const init = Float32Array.from({ length: rows * dim }, () => r() * 0.2 - 0.1);
  const steps = denseSteps(rows, dim, 12, r);
  for (const grouping of groupingsOf(backend)) {
    const a = t.variable(t.tensor2d(init.slice(), [rows, dim]));
    const b = t.variable(t.tensor2d(init.slice(), [rows, dim]));
    const plain = new Adam([a], { ...ADAM, grouping });
    const decoupled = new Adam([b], { ...ADAM, grouping, weightDecay: 0, weightDecayForm: "decoupled" });
    try {
      for (const s of steps) {
        const g = Float32Array.from(s.g.flat());
        t.tidy(() => {
          plain.apply([t.tensor2d(g, [rows, dim])]);
          decoupled.apply([t.tensor2d(g, [rows, dim])]);
        });
      }
      assert.deepEqual(b.dataSync(), a.dataSync(), `${grouping}: values`);
      assert.deepEqual(denseMoments(decoupled), denseMoments(plain), `${grouping}: moments`);
    } finally {
      plain.dispose();
      decoupled.dispose();
      a.dispose();
      b.dispose();
    }
  }
});

for (const inPlace of [true, false]) {
  const path = inPlace ? "in place" : "TensorScatterUpdate";

  test(`row-wise Adam (${path}), decoupled decay with skipped rows: matches the float64 lazy AdamW reference (touched rows decay only)`, (ctx) => {
    const t = tf();
    if (inPlace && backend !== "wasm" && backend !== "cpu") return ctx.skip(`in-place updates need wasm or cpu, not ${backend}`);
    const rows = 10;
    const dim = 2;
    const r = rng(8);
    const init = Float32Array.from({ length: rows * dim }, () => r() * 0.2 - 0.1);
    // Row 9 is never touched; row 4 first at step 4; rows 0 and 1 every step; the others now and then.
    const touched = [[0, 1, 2, 3], [1, 0, 5], [0, 1, 2, 6, 7], [4, 1, 0], [0, 1], [8, 1, 0, 4, 3], [0, 1, 6], [5, 0, 1]];
    const steps = touched.map((ids) => ({ ids, g: ids.map(() => Array.from({ length: dim }, () => Math.fround((r() - 0.5) * 0.2))) }));
    const table = t.variable(t.tensor2d(init.slice(), [rows, dim]));
    const lazy = new RowwiseAdam([table], { ...ADAM, weightDecay: DECAY, weightDecayForm: "decoupled", inPlace });
    try {
      applyRowSteps(lazy, table, steps, dim);
      const moments = lazy.moments(0);
      const got = { p: table.dataSync() as Float32Array, m: moments.m.dataSync() as Float32Array, v: moments.v.dataSync() as Float32Array };
      moments.m.dispose();
      moments.v.dispose();
      const worst = worstError(got, adamReference(init, dim, steps, DECAY, "decoupled"));
      ctx.diagnostic(`worst difference from the float64 lazy AdamW reference, relative to the tolerance: ${worst.toExponential(2)}`);
      assert.ok(worst <= 1, `${worst} x the tolerance`);
      assert.ok(worstError(got, adamReference(init, dim, steps, DECAY, "coupled")) > 1e3, "coupled and decoupled references are distinguishable");
      // Row 9, never touched: not decayed, moments zero.
      for (let j = 0; j < dim; j++) {
        assert.equal(got.p[9 * dim + j], init[9 * dim + j]);
        assert.equal(got.m[9 * dim + j], 0);
        assert.equal(got.v[9 * dim + j], 0);
      }
      // Decaying every row every step (dense AdamW semantics) would have moved it far beyond the tolerance.
      const shrinkAll = (1 - ADAM.learningRate * DECAY) ** steps.length;
      assert.ok(Math.abs(got.p[9 * dim] - init[9 * dim] * shrinkAll) > 1e-3 * Math.abs(init[9 * dim]), "an untouched row would have moved under dense decay");
    } finally {
      lazy.dispose();
      table.dispose();
    }
  });

  test(`row-wise Adam (${path}), decoupled decay: equals dense decoupled Adam bit for bit when every row is touched`, (ctx) => {
    const t = tf();
    if (inPlace && backend !== "wasm" && backend !== "cpu") return ctx.skip(`in-place updates need wasm or cpu, not ${backend}`);
    const wanted: AdamGrouping = inPlace ? "kernel" : "per-variable";
    const grouping: AdamGrouping = wanted === "kernel" && backend !== "wasm" && backend !== "cpu" ? "per-variable" : wanted;
    const rows = 11;
    const dim = 3;
    const r = rng(13);
    const init = Float32Array.from({ length: rows * dim }, () => r() * 0.1 - 0.05);
    const a = t.variable(t.tensor2d(init.slice(), [rows, dim]));
    const b = t.variable(t.tensor2d(init.slice(), [rows, dim]));
    const config = { ...ADAM, weightDecay: DECAY, weightDecayForm: "decoupled" as const };
    const dense = new Adam([a], { ...config, grouping });
    const lazy = new RowwiseAdam([b], { ...config, inPlace });
    try {
      for (const s of denseSteps(rows, dim, 20, r)) {
        const g = Float32Array.from(s.g.flat());
        t.tidy(() => {
          dense.apply([t.tensor2d(g, [rows, dim])]);
          const ids = Int32Array.from(s.ids);
          const column = t.tensor2d(ids, [rows, 1], "int32");
          lazy.apply(ids, column, [t.tensor2d(g, [rows, dim])], [gatherTableRows(b as tfjs.Tensor2D, column)]);
        });
      }
      assertSameAsDense(dense, a, lazy, b);
    } finally {
      for (const x of [dense, lazy, a, b]) x.dispose();
    }
  });
}

test("TrainConfig.weightDecayForm: optional (absent: coupled, not in the defaults), validated with one line", () => {
  assert.equal("weightDecayForm" in DEFAULT_TRAIN_CONFIG, false);
  assert.equal(resolveTrainConfig({}, 1).weightDecayForm, undefined);
  assert.equal(resolveTrainConfig({ weightDecay: 1e-4, weightDecayForm: "decoupled" }, 1).weightDecayForm, "decoupled");
  assert.throws(() => resolveTrainConfig({ weightDecayForm: "adamw" as WeightDecayForm }, 1), /^Error: train config: weightDecayForm must be one of coupled, decoupled, got "adamw"$/);
  const t = tf();
  const x = t.variable(t.zeros([2]));
  try {
    assert.throws(() => new Adam([x], { ...ADAM, grouping: "per-variable", weightDecayForm: "l2" as WeightDecayForm }), /Adam: weightDecayForm must be one of coupled, decoupled, got "l2"/);
    assert.throws(() => new RowwiseAdam([], { ...ADAM, weightDecayForm: "l2" as WeightDecayForm }), /row-wise Adam: weightDecayForm must be one of/);
  } finally {
    x.dispose();
  }
});

test("run keys: weightDecayForm \"coupled\" (or any form with λ = 0) names the run without the option; decoupled with λ > 0 another", () => {
  const run = expandGrid(studyProfile("quick"))[0];
  const key = (train: object) => canonicalJson(computation({ ...run, train: { ...run.train, ...train } }));
  assert.equal(key({ weightDecayForm: "coupled" }), key({}));
  assert.equal(key({ weightDecay: 1e-5, weightDecayForm: "coupled" }), key({ weightDecay: 1e-5 }));
  assert.equal(key({ weightDecayForm: "decoupled" }), key({}));
  assert.equal(key({ weightDecay: 0, weightDecayForm: "decoupled" }), key({ weightDecay: 0 }));
  assert.notEqual(key({ weightDecay: 1e-5, weightDecayForm: "decoupled" }), key({ weightDecay: 1e-5 }));
});
