/**
 * The linear-time UnsortedSegmentSum kernel (lib/backend/unsorted-segment-sum.ts) against
 * tfjs's own cpu kernel (the one it replaces) and a naive loop, on cpu and wasm; and the
 * gradient of an embedding lookup (tf.gather) against a hand-computed scatter-add.
 * Tolerance for float32 sums: |got - want| <= 1e-5 * max(1, |want|).
 */
import { rng } from "./helpers";
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs";
import { initBackend, tf, type BackendName } from "../lib/backend";
import {
  SEGMENT_SUM_KERNEL,
  registerSegmentSumKernel,
  replacedSegmentSumKernel,
  restoreReplacedSegmentSumKernel,
  segmentSumValues,
  segmentSumKernels,
} from "../lib/backend/unsorted-segment-sum";

const TOL = 1e-5;


interface Case {
  label: string;
  xShape: number[];
  idsRank: number;
  numSegments: number;
  dtype: "float32" | "int32";
  /** Ids are drawn from [lo, hi). */
  lo: number;
  hi: number;
  seed: number;
}

const CASES: Case[] = [
  { label: "rank-1 x", xShape: [37], idsRank: 1, numSegments: 11, dtype: "float32", lo: 0, hi: 8, seed: 1 },
  { label: "rank-2 x", xShape: [64, 5], idsRank: 1, numSegments: 20, dtype: "float32", lo: 0, hi: 15, seed: 2 },
  { label: "rank-3 x", xShape: [30, 3, 4], idsRank: 1, numSegments: 9, dtype: "float32", lo: 0, hi: 9, seed: 3 },
  { label: "rank-3 x, rank-2 ids", xShape: [6, 7, 4], idsRank: 2, numSegments: 13, dtype: "float32", lo: 0, hi: 10, seed: 4 },
  { label: "rank-2 x, negative ids dropped", xShape: [50, 3], idsRank: 1, numSegments: 6, dtype: "float32", lo: -3, hi: 6, seed: 5 },
  { label: "int32 rank-2 x", xShape: [40, 2], idsRank: 1, numSegments: 7, dtype: "int32", lo: 0, hi: 5, seed: 6 },
  { label: "one segment, many repeats", xShape: [200, 8], idsRank: 1, numSegments: 1, dtype: "float32", lo: 0, hi: 1, seed: 7 },
  { label: "more segments than rows", xShape: [5, 3], idsRank: 1, numSegments: 40, dtype: "float32", lo: 0, hi: 40, seed: 8 },
];

function makeInputs(c: Case): { x: number[]; ids: number[]; idsShape: number[] } {
  const r = rng(c.seed);
  const size = c.xShape.reduce((a, b) => a * b, 1);
  const idsShape = c.xShape.slice(0, c.idsRank);
  const rows = idsShape.reduce((a, b) => a * b, 1);
  const x = Array.from({ length: size }, () => (c.dtype === "int32" ? Math.floor(r() * 200) - 100 : r() * 4 - 2));
  const ids = Array.from({ length: rows }, () => c.lo + Math.floor(r() * (c.hi - c.lo)));
  return { x, ids, idsShape };
}

/** Independent naive reference (nested loops over the flat layout). */
function naive(x: number[], ids: number[], rows: number, inner: number, numSegments: number): number[] {
  const out = new Array<number>(numSegments * inner).fill(0);
  for (let s = 0; s < numSegments; s++) {
    for (let r = 0; r < rows; r++) {
      if (ids[r] !== s) continue;
      for (let j = 0; j < inner; j++) out[s * inner + j] = Math.fround(out[s * inner + j] + x[r * inner + j]);
    }
  }
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const tol = TOL * Math.max(1, Math.abs(want[i]));
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      assert.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]} (tolerance ${tol})`);
    }
  }
}

async function segmentSumOn(c: Case, x: number[], ids: number[], idsShape: number[]) {
  const t = tf();
  const xt = t.tensor(x, c.xShape, c.dtype);
  const it = t.tensor(ids, idsShape, "int32");
  const y = t.unsortedSegmentSum(xt, it as never, c.numSegments) as Tensor;
  const out = { shape: y.shape, dtype: y.dtype, values: Array.from(await y.data()) };
  t.dispose([xt, it, y]);
  return out;
}

test("segmentSumValues matches a naive loop", () => {
  for (const c of CASES) {
    const { x, ids, idsShape } = makeInputs(c);
    const rows = ids.length;
    const inner = x.length / rows;
    const got = segmentSumValues(x, c.xShape, ids, idsShape, c.numSegments, c.dtype);
    assert.deepEqual(got.shape, [c.numSegments, ...c.xShape.slice(c.idsRank)], c.label);
    assertClose(got.values, naive(x, ids, rows, inner, c.numSegments), c.label);
  }
});

test("segmentSumValues: shape checks and out-of-range ids", () => {
  assert.throws(() => segmentSumValues([1, 2, 3], [3], [0, 5, 1], [3], 4, "float32"), /segment id 5 .* not in \[0, 4\)/);
  assert.throws(() => segmentSumValues([1, 2, 3, 4], [2, 2], [0, 1], [1, 2], 4, "float32"), /prefix/);
  assert.throws(() => segmentSumValues([1], [1], [0], [1], 1.5, "float32"), /numSegments/);
  const empty = segmentSumValues([], [0, 3], [], [0], 2, "float32");
  assert.deepEqual(empty.shape, [2, 3]);
  assert.deepEqual(Array.from(empty.values), [0, 0, 0, 0, 0, 0]);
});

test("cpu: our kernel replaced tfjs's and agrees with it on random inputs", async () => {
  await initBackend("cpu");
  const t = tf();
  assert.equal(t.getBackend(), "cpu");
  assert.equal(t.getKernel(SEGMENT_SUM_KERNEL, "cpu")?.kernelFunc, segmentSumKernels.cpu);
  const original = replacedSegmentSumKernel("cpu");
  assert.ok(original, "the original cpu kernel was kept");
  assert.notEqual(original.kernelFunc, segmentSumKernels.cpu);

  for (const c of CASES) {
    const { x, ids, idsShape } = makeInputs(c);
    const got = await segmentSumOn(c, x, ids, idsShape);
    assert.deepEqual(got.shape, [c.numSegments, ...c.xShape.slice(c.idsRank)], c.label);
    assert.equal(got.dtype, c.dtype, `${c.label}: output dtype follows x`);
    // tfjs's own cpu kernel mis-broadcasts segment ids of rank > 1 (it expands them at the
    // wrong axis and throws), so it is a reference for rank-1 ids only.
    if (c.idsRank === 1) {
      restoreReplacedSegmentSumKernel(t, "cpu");
      try {
        const want = await segmentSumOn(c, x, ids, idsShape);
        assert.deepEqual(got.shape, want.shape, c.label);
        assertClose(got.values, want.values, `${c.label} (ours vs tfjs cpu)`);
      } finally {
        registerSegmentSumKernel(t, "cpu");
      }
    }
    const rows = ids.length;
    assertClose(got.values, naive(x, ids, rows, x.length / rows, c.numSegments), `${c.label} (ours vs naive)`);
  }
  assert.equal(t.getKernel(SEGMENT_SUM_KERNEL, "cpu")?.kernelFunc, segmentSumKernels.cpu);
});

test("cpu and wasm: ids >= numSegments throw, tensors are not leaked", async () => {
  for (const name of ["cpu", "wasm"] as const) {
    await initBackend(name);
    const t = tf();
    const before = t.memory().numTensors;
    const x = t.tensor1d([1, 2, 3]);
    const ids = t.tensor1d([0, 3, 1], "int32");
    assert.throws(() => t.unsortedSegmentSum(x, ids, 3), /segment id 3 .*not in \[0, 3\)/, name);
    t.dispose([x, ids]);
    assert.equal(t.memory().numTensors, before, `${name}: no tensor left behind`);
  }
});

test("wasm: has our kernel and agrees with the naive loop on random inputs", async () => {
  await initBackend("wasm");
  const t = tf();
  assert.equal(t.getBackend(), "wasm");
  assert.equal(t.getKernel(SEGMENT_SUM_KERNEL, "wasm")?.kernelFunc, segmentSumKernels.wasm);
  for (const c of CASES) {
    const { x, ids, idsShape } = makeInputs(c);
    const got = await segmentSumOn(c, x, ids, idsShape);
    const rows = ids.length;
    assert.deepEqual(got.shape, [c.numSegments, ...c.xShape.slice(c.idsRank)], c.label);
    assert.equal(got.dtype, c.dtype, c.label);
    assertClose(got.values, naive(x, ids, rows, x.length / rows, c.numSegments), `${c.label} (wasm)`);
  }
});

for (const name of ["cpu", "wasm"] as BackendName[]) {
  test(`${name}: gradient of sum(gather(table, ids) * c) is the scatter-add of c`, async () => {
    await initBackend(name);
    const t = tf();
    assert.equal(t.getBackend(), name);
    const r = rng(42);
    const vocab = 300;
    const dim = 6;
    for (const idsShape of [[257], [32, 5]]) {
      const n = idsShape.reduce((a, b) => a * b, 1);
      const table = Array.from({ length: vocab * dim }, () => r() - 0.5);
      // Ids in [0, 200): rows 200..299 get no gradient; many ids repeat.
      const ids = Array.from({ length: n }, () => Math.floor(r() * 200));
      const c = Array.from({ length: n * dim }, () => r() * 2 - 1);
      const want = new Array<number>(vocab * dim).fill(0);
      for (let k = 0; k < n; k++) {
        for (let j = 0; j < dim; j++) want[ids[k] * dim + j] = Math.fround(want[ids[k] * dim + j] + c[k * dim + j]);
      }

      const tableT = t.tensor2d(table, [vocab, dim]);
      const idsT = t.tensor(ids, idsShape, "int32");
      const cT = t.tensor(c, [...idsShape, dim]);
      const g = t.grad((w: Tensor) => t.sum(t.mul(t.gather(w, idsT), cT)))(tableT);
      assert.deepEqual(g.shape, [vocab, dim]);
      assertClose(await g.data(), want, `${name} ids shape [${idsShape.join(",")}]`);
      t.dispose([tableT, idsT, cT, g]);
    }
  });
}
