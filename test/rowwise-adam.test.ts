/**
 * Row-wise (lazy) embedding updates (lib/train/rowwise.ts), tests with known answers:
 * - row-wise Adam equals the dense Adam of lib/train/adam.ts bit for bit when every row is touched every step
 *   (the in-place pass against the "kernel" grouping, the TensorScatterUpdate path against "per-variable":
 *   the same float32 arithmetic per element; rows given in a shuffled order), with and without weight decay;
 * - where rows are skipped, it matches a float64 reference of the lazy rule in plain JS, test/float64-adam.ts (values,
 *   first and second moments after k steps; tolerance 2e-6 relative + 1e-9 absolute, float32 rounding of the
 *   stored values; the reference rounds 1 - b^t to float32 as lib/train/adam.ts documents, ~1e-5 otherwise), untouched rows keep their values and zero moments exactly, and a per-row step count (which
 *   the rule does not use) would be far outside the tolerance;
 * - the sparse lookup's gradient (the gathered rows as the tape's variable) equals tf.gather's dense
 *   gradient on the rows it has, for a bare table and for every model of the zoo (and a seed group of 2);
 * - ESMM (alone and as a seed group) trained with row-wise updates on a small simulated split: finite,
 *   decreasing training loss; each seed of a group equals its single row-wise run.
 *
 * - on the native backend, the in-place write (TensorFlow's InplaceUpdate, lib/backend/inplace-rows.ts) equals
 *   the TensorScatterUpdate path bit for bit (values and both moments) over k steps with skipped rows;
 * - the op sequence (native, and `inPlace: false` everywhere), with both moments in one [rows, 2 dim] variable,
 *   equals a float32 replay of the lazy rule op by op (test/float64-adam.ts float32LazyReplay) bit for bit,
 *   with skipped rows, in both weight decay forms;
 * - on the native backend, deepCopy (the copy-on-write of a shared table) copies every bit (-0, NaN, a
 *   subnormal) into a buffer a write does not share with its source.
 *
 * Backend: wasm (test/helpers.ts trainingBackend); the last test runs this whole file again in a child process on
 * the native backend when it is built (ESMM_BACKEND=tensorflow), and ESMM_BACKEND=cpu runs it on cpu (by hand).
 */
import { execFile } from "node:child_process";
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type * as tfjs from "@tensorflow/tfjs";
import { availableBackends, tf } from "../lib/backend";
import { deepCopy, inplaceUpdateRows } from "../lib/backend/inplace-rows";
import { defaultSplitPlan, prepare, PreparedData } from "../lib/data/prepare";
import { readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { buildModel, getModelSpec, inputDimsOf, lookupRows, MODEL_NAMES, totalLoss } from "../lib/models";
import { gatherRows as gatherTableRows } from "../lib/models/fast-ops";
import { fitSeedGroup, fitSpec, inputTensors, labelTensors, predict, predictSeeds, sliceRows } from "../lib/train";
import { Adam, AdamGrouping } from "../lib/train/adam";
import { embeddingLayout, RowDeduper, RowwiseAdam, rowMajorIndices } from "../lib/train/rowwise";
import { adamReference, ADAM, applyRowSteps, assertSameAsDense, float32LazyReplay } from "./float64-adam";
import { rng, tempDir, trainingBackend } from "./helpers";

let data: PreparedData;
let backend = "";

before(async () => {
  backend = (await trainingBackend()).name;
  const dir = tempDir();
  writeSimulatedLog({ impressions: 20_000, days: 8, users: 300, ads: 80, targetCtr: 0.05, targetCvr: 0.15 }, 5, dir);
  data = prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(8), negativeKeepRate: 0.3, seed: 5 });
});

function shuffled(n: number, r: () => number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

for (const [inPlace, wanted] of [
  [true, "kernel"],
  [false, "per-variable"],
] as [boolean, AdamGrouping][]) {
  for (const weightDecay of [0, 0.05]) {
    test(`row-wise Adam (${inPlace ? "in place" : "TensorScatterUpdate"}) equals dense Adam ("${wanted}") bit for bit when every row is touched (weight decay ${weightDecay})`, (ctx) => {
      const t = tf();
      const grouping: AdamGrouping = wanted === "kernel" && backend !== "wasm" && backend !== "cpu" ? "per-variable" : wanted;
      const rows = 13;
      const dim = 3;
      const r = rng(11);
      const init = Float32Array.from({ length: rows * dim }, () => r() * 0.1 - 0.05);
      // Own copies: the cpu backend keeps a typed array given to tf.tensor as the tensor's buffer.
      const a = t.variable(t.tensor2d(init.slice(), [rows, dim]));
      const b = t.variable(t.tensor2d(init.slice(), [rows, dim]));
      const dense = new Adam([a], { ...ADAM, grouping, weightDecay });
      const lazy = new RowwiseAdam([b], { ...ADAM, weightDecay, inPlace });
      try {
        for (let step = 0; step < 25; step++) {
          const g = Float32Array.from({ length: rows * dim }, () => (r() - 0.5) * (step % 3 === 0 ? 1e-3 : 1));
          const order = shuffled(rows, r);
          const gRows = new Float32Array(rows * dim);
          order.forEach((row, k) => gRows.set(g.subarray(row * dim, row * dim + dim), k * dim));
          t.tidy(() => {
            dense.apply([t.tensor2d(g, [rows, dim])]);
            const ids = t.tensor2d(order, [rows, 1], "int32");
            lazy.apply(order, ids, [t.tensor2d(gRows, [rows, dim])], [gatherTableRows(b as tfjs.Tensor2D, ids)]);
          });
        }
        assertSameAsDense(dense, a, lazy, b);
      } finally {
        for (const x of [dense, lazy, a, b]) x.dispose();
      }
    });
  }
}

for (const inPlace of [true, false]) {
  test(`row-wise Adam (${inPlace ? "in place" : "TensorScatterUpdate"}) with skipped rows matches a float64 reference of the lazy rule after k steps`, (ctx) => {
    const t = tf();
    const rows = 10;
    const dim = 2;
    const decay = 0.01;
    const r = rng(5);
    const init = Float32Array.from({ length: rows * dim }, () => r() * 0.1 - 0.05);
    // Row 9 is never touched; row 4 first at step 4; rows 0 and 1 every step; the others now and then.
    const touched = [[0, 1, 2, 3], [1, 0, 5], [0, 1, 2, 6, 7], [4, 1, 0], [0, 1], [8, 1, 0, 4, 3], [0, 1, 6]];
    const steps = touched.map((ids) => ({ ids, g: ids.map(() => Array.from({ length: dim }, () => Math.fround((r() - 0.5) * 0.2))) }));
    const table = t.variable(t.tensor2d(init.slice(), [rows, dim]));
    const lazy = new RowwiseAdam([table], { ...ADAM, weightDecay: decay, inPlace });
    try {
      applyRowSteps(lazy, table, steps, dim);
      const want = adamReference(init, dim, steps, decay);
      const moments = lazy.moments(0);
      const got = { p: table.dataSync(), m: moments.m.dataSync(), v: moments.v.dataSync() };
      moments.m.dispose();
      moments.v.dispose();
      let worst = 0;
      for (const key of ["p", "m", "v"] as const) {
        want[key].forEach((w, i) => {
          const diff = Math.abs(got[key][i] - w);
          worst = Math.max(worst, diff / (2e-6 * Math.abs(w) + 1e-9));
          assert.ok(diff <= 2e-6 * Math.abs(w) + 1e-9, `${key}[${i}]: ${got[key][i]} vs float64 ${w}`);
        });
      }
      ctx.diagnostic(`worst difference from the float64 reference, relative to 2e-6 |x| + 1e-9: ${worst.toExponential(2)}`);
      // Row 9, never touched: its value exactly as initialised, its moments exactly zero.
      for (let j = 0; j < dim; j++) {
        assert.equal(got.p[9 * dim + j], init[9 * dim + j]);
        assert.equal(got.m[9 * dim + j], 0);
        assert.equal(got.v[9 * dim + j], 0);
      }
      // The step count is the optimizer's, not the row's: a per-row count moves row 4 (first touched at step 4) far.
      const perRow = adamReference(init, dim, steps, decay, "coupled", true);
      assert.ok(Math.abs(perRow.p[4 * dim] - want.p[4 * dim]) > 1e3 * (2e-6 * Math.abs(want.p[4 * dim]) + 1e-9), "the reference tells the step counts apart");
    } finally {
      lazy.dispose();
      table.dispose();
    }
  });
}

test("in-place row updates never change a tensor sharing the table's data (a getWeights clone, a caller's array)", (ctx) => {
  const t = tf();
  const rows = 6;
  const dim = 2;
  const r = rng(9);
  const table = t.variable(t.tensor2d(Float32Array.from({ length: rows * dim }, () => r() - 0.5), [rows, dim]));
  const lazy = new RowwiseAdam([table], { ...ADAM, inPlace: true });
  const step = () =>
    t.tidy(() => {
      const ids = Int32Array.from([3, 0]);
      const column = t.tensor2d(ids, [2, 1], "int32");
      lazy.apply(ids, column, [t.tensor2d([0.1, -0.2, 0.3, 0.05], [2, dim])], [gatherTableRows(table as tfjs.Tensor2D, column)]);
    });
  try {
    step();
    const snapshot = t.clone(table);
    const before = (snapshot.dataSync() as Float32Array).slice();
    step();
    assert.deepEqual(snapshot.dataSync(), before, "a clone taken before the step keeps its values");
    assert.notDeepEqual(table.dataSync(), before, "the table moved");
    // setWeights with a tensor made from a caller's array (on cpu the tensor's buffer IS that array).
    const mine = before.slice();
    const given = t.tensor2d(mine, [rows, dim]);
    table.assign(given);
    step();
    assert.deepEqual(mine, before, "the caller's array is untouched");
    assert.deepEqual(given.dataSync(), before, "the given tensor is untouched");
    t.dispose([snapshot, given]);
  } finally {
    lazy.dispose();
    table.dispose();
  }
});

test("RowDeduper: each batch's unique stacked ids in order of first appearance and every lookup's position, as a Map gives them, over batches of a 3-seed group (the scratch array is cleared after each batch, also after an index out of range)", () => {
  const r = rng(17);
  const vocabularySizes = [5, 40, 3];
  const layout = { tables: [], offsets: [0, 5, 45], vocabularySizes, tableRows: 48, seeds: 3 };
  const deduper = new RowDeduper(layout);
  const rows = 9;
  for (let b = 0; b < 6; b++) {
    const host = Int32Array.from({ length: 3 * rows * 3 }, (_, k) => Math.floor(r() * vocabularySizes[k % 3]));
    // The definition: stacked id = seed * tableRows + offset of the field + index; positions by first appearance.
    const first = new Map<number, number>();
    const positions = Array.from(host, (v, k) => {
      const id = Math.floor(k / (rows * 3)) * 48 + layout.offsets[k % 3] + v;
      if (!first.has(id)) first.set(id, first.size);
      return first.get(id)!;
    });
    const got = deduper.dedupe(host, rows);
    assert.deepEqual(Array.from(got.unique), [...first.keys()], `batch ${b}: unique ids`);
    assert.deepEqual(Array.from(got.positions), positions, `batch ${b}: positions`);
    if (b === 2) {
      const bad = host.slice();
      bad[3 * 7 + 1] = 40; // row 7 of seed 0, field 1: vocabulary 40
      assert.throws(() => deduper.dedupe(bad, rows), /index 40 of field 1 is not in \[0, 40\)/);
    }
  }
  assert.throws(() => deduper.dedupe(new Int32Array(5), rows), /5 categorical indices for 3 seed\(s\) x 9 rows x 3 fields/);
});

test("the sparse lookup's gradient equals tf.gather's dense gradient on the rows it has (zero elsewhere)", () => {
  const t = tf();
  const rows = 20;
  const dim = 4;
  const r = rng(3);
  const ids = Int32Array.from({ length: 37 }, () => Math.floor(r() * 12) * (r() < 0.5 ? 1 : 0) + Math.floor(r() * 3));
  const weights = t.tensor2d(Float32Array.from({ length: ids.length * dim }, () => r() - 0.5), [ids.length, dim]);
  const table = t.tensor2d(Float32Array.from({ length: rows * dim }, () => r() - 0.5), [rows, dim]);
  const layout = { tables: [], offsets: [0], vocabularySizes: [rows], tableRows: rows, seeds: 1 };
  const { unique, positions } = new RowDeduper(layout).dedupe(ids, ids.length);
  assert.deepEqual([...unique].sort((a, b) => a - b), [...new Set(ids)].sort((a, b) => a - b));
  assert.ok(unique.length < ids.length, "the case has repeated rows");
  const denseGrad = t.grad((x: tfjs.Tensor) => t.sum(t.mul(t.gather(x, t.tensor1d(ids, "int32")), weights)))(table);
  const gathered = t.gather(table, t.tensor1d(unique, "int32")) as tfjs.Tensor2D;
  const pos = t.tensor2d(positions, [positions.length, 1], "int32");
  const sparseGrad = t.grad((x: tfjs.Tensor) => t.sum(t.mul(lookupRows(x as tfjs.Tensor2D, pos), weights)))(gathered);
  assert.deepEqual(sparseGrad.shape, [unique.length, dim]);
  const d = denseGrad.arraySync() as number[][];
  const s = sparseGrad.arraySync() as number[][];
  unique.forEach((row, k) => s[k].forEach((x, j) => assert.ok(Math.abs(x - d[row][j]) <= 1e-6 * Math.max(1, Math.abs(d[row][j])), `row ${row}, ${j}: ${x} vs ${d[row][j]}`)));
  const have = new Set(unique);
  d.forEach((row, i) => { if (!have.has(i)) assert.ok(row.every((x) => x === 0), `row ${i} not in the batch has a dense gradient`); });
  t.dispose([weights, table, denseGrad, gathered, pos, sparseGrad]);
});

test("every model of the zoo (and a seed group of 2): the same loss, and per touched row the dense table gradient, through the gathered rows", () => {
  const t = tf();
  const dims = inputDimsOf(data.train);
  const batch = sliceRows(data.train, 0, 256);
  for (const name of MODEL_NAMES) {
    for (const seeds of [undefined, [1, 2]]) {
      const spec = getModelSpec(name);
      const model = seeds ? buildModel(spec, dims, { seeds }) : buildModel(spec, dims, { seed: 1 });
      try {
        t.tidy(() => {
          const inputs = inputTensors(batch);
          const labels = labelTensors(batch);
          const S = seeds?.length ?? 1;
          const host = seeds ? new Int32Array(S * batch.size * dims.categoricalFields.length) : rowMajorIndices(batch);
          if (seeds) for (let s = 0; s < S; s++) host.set(rowMajorIndices(batch), s * batch.size * dims.categoricalFields.length);
          const groupInputs = seeds
            ? {
                categoricalMatrix: t.tensor3d(host, [S, batch.size, dims.categoricalFields.length], "int32"),
                numeric: inputs.numeric ? (t.broadcastTo(inputs.numeric, [S, inputs.numeric.shape[0], inputs.numeric.shape[1]]) as tfjs.Tensor3D) : undefined,
              }
            : inputs;
          const groupLabels = seeds ? Object.fromEntries(Object.entries(labels).map(([k, x]) => [k, t.broadcastTo(x, [S, batch.size])])) as unknown as typeof labels : labels;
          const loss = (x: typeof groupInputs) => t.sum(totalLoss(spec, model.forward(x, true), groupLabels, "batch-weight")) as tfjs.Scalar;
          const layout = embeddingLayout(model);
          assert.ok(layout.tables.length >= 1, `${name}: embedding tables`);
          const dense = t.variableGrads(() => loss(groupInputs), layout.tables);
          const { unique, positions } = new RowDeduper(layout).dedupe(host, batch.size);
          const ids = t.tensor2d(unique, [unique.length, 1], "int32");
          const gathered = layout.tables.map((x) => gatherTableRows(x as tfjs.Tensor2D, ids));
          const embeddingRows = { positions: t.tensor2d(positions, [positions.length, 1], "int32"), rows: new Map(layout.tables.map((x, i) => [x, gathered[i]])) };
          const sparse = t.engine().gradients(() => loss({ ...groupInputs, embeddingRows }), gathered, undefined, true);
          const label = `${name}${seeds ? " (group of 2)" : ""}`;
          assert.ok(Math.abs(sparse.value.dataSync()[0] - dense.value.dataSync()[0]) <= 1e-6 * Math.abs(dense.value.dataSync()[0]), `${label}: loss`);
          layout.tables.forEach((x, i) => {
            const d = t.gather(dense.grads[x.name], t.tensor1d(unique, "int32")).dataSync();
            const s = sparse.grads[i].dataSync();
            const scale = Math.max(...Array.from(d, Math.abs));
            let worst = 0;
            d.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - s[k]))));
            assert.ok(worst <= 1e-5 * scale, `${label}, table ${i}: worst difference ${worst} of ${scale}`);
            // The dense gradient has nothing outside the touched rows.
            const total = t.sum(t.abs(dense.grads[x.name])).dataSync()[0];
            assert.ok(Math.abs(total - t.sum(t.abs(sparse.grads[i])).dataSync()[0]) <= 1e-4 * total, `${label}: the dense gradient lives on the touched rows`);
          });
        });
      } finally {
        model.dispose();
      }
    }
  }
});

test("ESMM trained with row-wise updates on a small simulated split: finite, decreasing loss; each seed of a group equals its single run", async () => {
  const options = { maxEpochs: 3, patience: 3, batchSize: 256, learningRate: 3e-3, embeddingUpdates: "rowwise" as const, syncEvery: 5 };
  const spec = getModelSpec("ESMM");
  const single: { loss: number[]; preds: Float32Array }[] = [];
  for (const seed of [1, 2]) {
    const { model, result } = await fitSpec(spec, data, { ...options, modelSeed: seed });
    try {
      const losses = result.epochs.map((e) => e.trainLoss);
      assert.equal(result.config.embeddingUpdates, "rowwise");
      assert.equal(losses.length, 3);
      assert.ok(losses.every(Number.isFinite), `finite: ${losses}`);
      assert.ok(losses[2] < losses[1] && losses[1] < losses[0], `decreasing: ${losses}`);
      assert.ok(result.epochs.every((e) => Number.isFinite(e.valLoss)));
      assert.equal(result.epochs[2].numTensors, result.epochs[1].numTensors, "no tensor leaks from epoch to epoch");
      single.push({ loss: losses, preds: Float32Array.from(predict(model, data.validation).pCtcvr) });
    } finally {
      model.dispose();
    }
  }
  const { model, outcomes } = await fitSeedGroup(spec, data, { ...options, seeds: [1, 2] });
  try {
    const preds = predictSeeds(model, data.validation);
    outcomes.forEach((o, s) => {
      assert.ok(o.result, `seed ${o.seed}: ${o.error?.message}`);
      o.result.epochs.forEach((e, k) => assert.ok(Math.abs(e.trainLoss - single[s].loss[k]) <= 2e-4 * single[s].loss[k], `seed ${o.seed} epoch ${k + 1}: ${e.trainLoss} vs ${single[s].loss[k]}`));
      let worst = 0;
      preds[s].pCtcvr.forEach((p, i) => (worst = Math.max(worst, Math.abs(p - single[s].preds[i]) / Math.max(single[s].preds[i], 1e-6))));
      assert.ok(worst <= 2e-2, `seed ${o.seed}: predictions within ${worst}`);
    });
  } finally {
    model.dispose();
  }
});

test("embeddingUpdates is checked", async () => {
  await assert.rejects(fitSpec(getModelSpec("ESMM"), data, { embeddingUpdates: "sparse" as never, maxEpochs: 1 }), /embeddingUpdates must be one of dense, rowwise/);
});

for (const form of ["coupled", "decoupled"] as const) {
  test(`row-wise Adam's op sequence (moments side by side in one [rows, 2 dim] variable) equals a float32 replay of the lazy rule bit for bit, with skipped rows (${form} decay)`, (ctx) => {
    const t = tf();
    const rows = 12;
    const dim = 3;
    const r = rng(31);
    const init = Float32Array.from({ length: rows * dim }, () => r() - 0.5);
    // Row 11 is never touched; row 7 first at step 3; rows 0 and 2 every step; rows given out of order.
    const touched = [[2, 0, 5], [0, 9, 2, 1], [7, 2, 0], [0, 2], [3, 0, 8, 2, 10], [2, 7, 0, 4, 6]];
    const steps = touched.map((ids) => ({ ids, g: ids.map(() => Array.from({ length: dim }, () => Math.fround((r() - 0.5) * 0.3))) }));
    const want = float32LazyReplay(init, dim, steps, 0.02, form);
    // Every backend runs the op sequence with inPlace: false; the native backend's in-place write runs it too.
    for (const inPlace of backend === "tensorflow" ? [false, true] : [false]) {
      const table = t.variable(t.tensor2d(init.slice(), [rows, dim]));
      const lazy = new RowwiseAdam([table], { ...ADAM, weightDecay: 0.02, weightDecayForm: form, inPlace });
      try {
        applyRowSteps(lazy, table, steps, dim);
        const { m, v } = lazy.moments(0);
        const got = { p: table.dataSync(), m: m.dataSync(), v: v.dataSync() };
        m.dispose();
        v.dispose();
        assert.deepEqual(got.p, want.p, `values (inPlace ${inPlace})`);
        assert.deepEqual(got.m, want.m, `first moments (inPlace ${inPlace})`);
        assert.deepEqual(got.v, want.v, `second moments (inPlace ${inPlace})`);
        assert.ok(got.m[11 * dim] === 0 && got.v[11 * dim] === 0 && got.m[7 * dim] !== 0, "row 11 untouched, row 7 stepped");
      } finally {
        lazy.dispose();
        table.dispose();
      }
    }
    ctx.diagnostic(`backend ${backend}`);
  });
}

test("native backend: the in-place write equals TensorScatterUpdate bit for bit (values, both moments) over k steps with skipped rows", (ctx) => {
  const t = tf();
  if (backend !== "tensorflow") return ctx.skip(`runs on the native backend (the child process of the next test), not ${backend}`);
  const rows = 50;
  const dim = 4;
  const r = rng(21);
  const init = Float32Array.from({ length: rows * dim }, () => r() - 0.5);
  const steps = Array.from({ length: 12 }, () => {
    const ids = [...new Set(Array.from({ length: 9 }, () => Math.floor(r() * r() * rows)))];
    return { ids: Int32Array.from(ids), g: Float32Array.from({ length: ids.length * dim }, () => (r() - 0.5) * 0.2) };
  });
  const run = (inPlace: boolean) => {
    const table = t.variable(t.tensor2d(init.slice(), [rows, dim]));
    const lazy = new RowwiseAdam([table], { ...ADAM, weightDecay: 0.01, inPlace });
    let snapshot: tfjs.Tensor | undefined;
    try {
      steps.forEach((s, k) => {
        t.tidy(() => {
          const column = t.tensor2d(s.ids, [s.ids.length, 1], "int32");
          lazy.apply(s.ids, column, [t.tensor2d(s.g, [s.ids.length, dim])], [gatherTableRows(table as tfjs.Tensor2D, column)]);
        });
        if (k === 5) snapshot = t.clone(table); // shares the table's data: the next in-place step must copy first
      });
      const { m, v } = lazy.moments(0);
      const got = { p: table.dataSync().slice(), m: m.dataSync().slice(), v: v.dataSync().slice(), snapshot: snapshot!.dataSync().slice() };
      m.dispose();
      v.dispose();
      return got;
    } finally {
      snapshot?.dispose();
      lazy.dispose();
      table.dispose();
    }
  };
  const inPlace = run(true);
  const scattered = run(false);
  assert.deepEqual(inPlace.p, scattered.p, "values");
  assert.deepEqual(inPlace.m, scattered.m, "first moments");
  assert.deepEqual(inPlace.v, scattered.v, "second moments");
  assert.deepEqual(inPlace.snapshot, scattered.snapshot, "a clone taken after step 6 keeps step 6's values");
  assert.notDeepEqual(inPlace.snapshot, inPlace.p, "the table moved after the clone");
});

test("native backend: deepCopy (RowwiseAdam's copy-on-write) copies the bits, -0, NaN and a subnormal included, into a buffer of its own", (ctx) => {
  const t = tf();
  if (backend !== "tensorflow") return ctx.skip(`runs on the native backend (the child process of the next test), not ${backend}`);
  const values = new Float32Array([1.5, -0, NaN, 1e-40, -Infinity, 3]);
  const x = t.tensor2d(values, [3, 2]);
  const y = deepCopy(x);
  try {
    assert.deepEqual(new Uint32Array(y.dataSync().buffer), new Uint32Array(values.buffer), "the copy's bits");
    inplaceUpdateRows(y, t.tensor1d([1], "int32"), t.tensor2d([[7, 8]]));
    assert.deepEqual(new Uint32Array(x.dataSync().buffer), new Uint32Array(values.buffer), "x unchanged by a write into the copy");
    assert.deepEqual(Array.from(y.dataSync()), [1.5, -0, 7, 8, -Infinity, 3]);
  } finally {
    x.dispose();
    y.dispose();
  }
});

test("this file's tests pass on the native backend (child process)", async (ctx) => {
  if (process.env.ESMM_ROWWISE_CHILD) return ctx.skip("the child itself");
  if (!(await availableBackends()).includes("tensorflow")) return ctx.skip("the native backend is not built here (make native)");
  const env: Record<string, string | undefined> = { ...process.env, ESMM_BACKEND: "tensorflow", ESMM_ROWWISE_CHILD: "1" };
  delete env.NODE_TEST_CONTEXT;
  const r = await new Promise<{ code: number; out: string }>((resolve) =>
    execFile(process.execPath, ["--test", __filename], { env, timeout: 300_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: stdout + stderr }),
    ),
  );
  assert.equal(r.code, 0, `the tests on the native backend failed:\n${r.out.slice(-4000)}`);
  assert.match(r.out, /# fail 0/);
  assert.doesNotMatch(r.out, /# pass 0\b/);
});
