/**
 * Float64 references for the Adam tests (test/adamw.test.ts, test/rowwise-adam.test.ts): Adam over rows of a
 * table written in plain JS, independent of tfjs, its float32 replay op by op, and the bit-for-bit comparison
 * of a row-wise Adam against a dense one. One definition, so the two tests check lib/train/adam.ts and lib/train/rowwise.ts against the same
 * rule.
 */
import assert from "node:assert/strict";
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../lib/backend";
import { gatherRows } from "../lib/models/fast-ops";
import type { Adam, WeightDecayForm } from "../lib/train/adam";
import type { RowwiseAdam } from "../lib/train/rowwise";

/** The Adam hyperparameters both tests use (PyTorch's and tfjs' defaults, lr 0.01). */
export const ADAM = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** One step of a reference: the touched rows (in the order given) and their gradient rows (`dim` values each). */
export type RowStep = { ids: number[]; g: number[][] };

/**
 * c1 = 1 - b1^t and c2 = sqrt(1 - b2^t) at step t (1-based), b^t accumulated in float32 and 1 - b^t rounded to
 * float32: the documented rule of lib/train/adam.ts (tfjs' AdamOptimizer's; for b2 = 0.999 that is ~1e-5 off
 * the exact value, far above float32 rounding).
 */
export function biasCorrections(steps: number): { c1: number; c2: number } {
  let acc1 = Math.fround(ADAM.beta1);
  let acc2 = Math.fround(ADAM.beta2);
  for (let k = 1; k < steps; k++) {
    acc1 = Math.fround(acc1 * Math.fround(ADAM.beta1));
    acc2 = Math.fround(acc2 * Math.fround(ADAM.beta2));
  }
  return { c1: Math.fround(1 - acc1), c2: Math.sqrt(Math.fround(1 - acc2)) };
}

/**
 * Adam (ADAM's hyperparameters) in float64 over a table of rows of `dim` values (p0, row-major): at step t
 * (1-based, one per entry of `steps`, shared by every row) each row r of `steps[t-1].ids` with gradient row g:
 * - "coupled" (PyTorch Adam, L2; the default): g <- g + λ p;
 * - "decoupled" (PyTorch AdamW): p <- p - lr λ p first;
 * then m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2; p <- p - lr c2 / c1 m / (sqrt(v) + eps c2) (c1, c2 from
 * biasCorrections, as lib/train/adam.ts writes it; everything else in float64). Rows not listed in a step are
 * left alone (the lazy rule; list every row every step for dense Adam). `perRowSteps` counts t per row instead:
 * a rule lib/train/rowwise.ts does NOT follow, for showing that a test tells them apart.
 * Returns the values p and both moments m, v, row-major like p0.
 */
export function adamReference(p0: ArrayLike<number>, dim: number, steps: RowStep[], decay: number, form: WeightDecayForm = "coupled", perRowSteps = false) {
  const p = Array.from(p0, Number);
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const count = new Map<number, number>();
  const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps } = ADAM;
  steps.forEach((s, k) => {
    s.ids.forEach((row, u) => {
      const tRow = perRowSteps ? (count.get(row) ?? 0) + 1 : k + 1;
      count.set(row, tRow);
      const { c1, c2 } = biasCorrections(tRow);
      for (let j = 0; j < dim; j++) {
        const i = row * dim + j;
        let g = s.g[u][j];
        if (form === "decoupled") p[i] -= lr * decay * p[i];
        else g += decay * p[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        p[i] -= ((lr * c2) / c1) * (m[i] / (Math.sqrt(v[i]) + eps * c2));
      }
    });
  });
  return { p, m, v };
}

/**
 * The lazy rule of adamReference in float32, one rounded operation at a time in the order of lib/train/rowwise.ts'
 * op sequence (native backend and `inPlace: false`): p <- p - fl(p lrλ) (decoupled), g <- g + fl(p λ) (coupled),
 * m <- fl(m b1) + fl(g (1 - b1)), v <- fl(v b2) + fl(fl(g g) (1 - b2)), p <- p + fl(fl(m / fl(fl(sqrt v) + epsT)) lrT)
 * with every constant rounded to float32 (lrT = -lr c2 / c1, epsT = eps c2; biasCorrections) and every result
 * rounded (fl). IEEE float32 +, -, *, / and sqrt are correctly rounded, and so is each of them done in float64
 * and rounded once, so this is what any backend's float32 kernels give: the known answer, bit for bit.
 */
export function float32LazyReplay(p0: ArrayLike<number>, dim: number, steps: RowStep[], decay: number, form: WeightDecayForm = "coupled") {
  const f = Math.fround;
  const p = Float32Array.from(p0);
  const m = new Float32Array(p.length);
  const v = new Float32Array(p.length);
  const [b1, b2, omb1, omb2] = [f(ADAM.beta1), f(ADAM.beta2), f(1 - ADAM.beta1), f(1 - ADAM.beta2)];
  const lambda = f(form === "coupled" ? decay : 0);
  const shrink = f(form === "decoupled" ? ADAM.learningRate * decay : 0);
  steps.forEach((s, k) => {
    const { c1, c2 } = biasCorrections(k + 1);
    const lrT = f(-(ADAM.learningRate * c2) / c1);
    const epsT = f(ADAM.epsilon * c2);
    s.ids.forEach((id, r) => {
      for (let j = 0; j < dim; j++) {
        const i = id * dim + j;
        const pi = shrink === 0 ? p[i] : f(p[i] - f(p[i] * shrink));
        const g = lambda === 0 ? f(s.g[r][j]) : f(f(s.g[r][j]) + f(pi * lambda));
        m[i] = f(f(m[i] * b1) + f(g * omb1));
        v[i] = f(f(v[i] * b2) + f(f(g * g) * omb2));
        p[i] = f(pi + f(f(m[i] / f(f(Math.sqrt(v[i])) + epsT)) * lrT));
      }
    });
  });
  return { p, m, v };
}

/** The private moments of an Adam's groups, concatenated in variable order (for comparisons only). */
export function denseMoments(adam: Adam): { m: Float32Array; v: Float32Array } {
  const groups = (adam as unknown as { groups: { m: tfjs.Variable; v: tfjs.Variable }[] }).groups;
  const cat = (k: "m" | "v") => Float32Array.from(groups.flatMap((g) => Array.from(g[k].dataSync() as Float32Array)));
  return { m: cat("m"), v: cat("v") };
}

/**
 * Asserts that a row-wise Adam over table `lazyTable` holds, bit for bit, the values and both moments of a
 * dense Adam over its one variable `denseTable`.
 */
export function assertSameAsDense(dense: Adam, denseTable: tfjs.Variable, lazy: RowwiseAdam, lazyTable: tfjs.Variable): void {
  assert.deepEqual(lazyTable.dataSync(), denseTable.dataSync(), "values");
  const dm = denseMoments(dense);
  const { m, v } = lazy.moments(0);
  try {
    assert.deepEqual(m.dataSync(), dm.m, "first moments");
    assert.deepEqual(v.dataSync(), dm.v, "second moments");
  } finally {
    m.dispose();
    v.dispose();
  }
}

/** Applies `steps` (as adamReference takes them) to a row-wise Adam over `table` ([rows, dim]), one apply a step. */
export function applyRowSteps(lazy: RowwiseAdam, table: tfjs.Variable, steps: RowStep[], dim: number): void {
  const t = tf();
  for (const s of steps) {
    t.tidy(() => {
      const ids = Int32Array.from(s.ids);
      const column = t.tensor2d(ids, [ids.length, 1], "int32");
      lazy.apply(ids, column, [t.tensor2d(s.g.flat(), [ids.length, dim])], [gatherRows(table as tfjs.Tensor2D, column)]);
    });
  }
}
