/**
 * esmm-lab's own TensorFlow kernels (lib/backend/native-kernels.cc, loaded by lib/backend/native-kernels.ts):
 * - which library may be loaded: missing, built from another source (stamp), turned off, a bad setting (no native
 *   backend needed);
 * - EsmmAdam equals lib/train/adam.ts' chain of TensorFlow ops bit for bit (p', m', v'), on values with zeros,
 *   -0, tiny and large gradients, at the first step and a late one;
 * - EsmmAdamParts equals the flat group's concat, decay ops, EsmmAdam and split bit for bit (no, coupled, decoupled decay);
 * - EsmmSegmentSum equals TensorFlow's UnsortedSegmentSum bit for bit with many duplicate ids (the order of
 *   the float32 sums matters), empty segments included; an id out of range is an error naming it;
 * - EsmmGatherRows equals GatherNd bit for bit (ids [n, 1] and [n], NaN and -0 rows); an id out of range is an error;
 * - EsmmBiasRelu equals BiasAdd (or the seed group's broadcasting Add), then Relu, bit for bit (NaN, -0, infinities);
 * - EsmmLazyAdamRows (row-wise Adam in place) is checked against the op sequence it replaces by
 *   test/rowwise-adam.test.ts (its native child: the in-place path against TensorScatterUpdate's, k steps, both
 *   decay forms) and here end to end:
 * - a 3-seed ESMM group trained with and without the kernels (two processes, ESMM_NATIVE_KERNELS=0 in one),
 *   with dense and with row-wise embedding updates, gives the same losses and predictions bit for bit.
 * The kernel tests run where the native backend and its kernels are built (`make native`); else they skip.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { execFile } from "node:child_process";
import type * as tfjs from "@tensorflow/tfjs";
import { rng, tempDir } from "./helpers";
import { initBackend, nativeKernelsStatus, tf } from "../lib/backend";
import { adamStep, adamStepParts, biasRelu, checkNativeKernels, gatherRowsByIds, nativeKernelsFiles, segmentSum } from "../lib/backend/native-kernels";
import { adamAccumulators, adamStepConstants } from "../lib/train/adam";

let backend = "";
before(async () => {
  backend = (await initBackend()).name;
});

function kernelsSkip(): string | undefined {
  if (backend !== "tensorflow") return `the native backend is not built here (make native); backend ${backend}`;
  const s = nativeKernelsStatus();
  return s.loaded ? undefined : `the native kernels are not loaded (${s.reason})`;
}

const bits = (x: tfjs.Tensor) => new Uint32Array((x.dataSync() as Float32Array).slice().buffer);

test("checkNativeKernels: a missing library, one built from another source (stamp), ESMM_NATIVE_KERNELS=0 and a bad ESMM_NATIVE_KERNELS are refused with the reason; a current one is loadable", () => {
  const dir = tempDir();
  const source = path.join(dir, "native-kernels.cc");
  fs.writeFileSync(source, "// kernels v1\n");
  const { library, stamp } = nativeKernelsFiles(dir);
  const missing = checkNativeKernels(dir, source, {});
  assert.ok("reason" in missing && /not built/.test(missing.reason) && /make native/.test(missing.tell ?? ""), JSON.stringify(missing));
  fs.writeFileSync(library, "not really a library");
  fs.writeFileSync(stamp, "0".repeat(64) + "\n");
  const stale = checkNativeKernels(dir, source, {});
  assert.ok("reason" in stale && /another version of native-kernels\.cc/.test(stale.reason) && /make native/.test(stale.tell ?? ""), JSON.stringify(stale));
  // sha256 of "// kernels v1\n"
  fs.writeFileSync(stamp, crypto.createHash("sha256").update("// kernels v1\n").digest("hex") + "\n");
  assert.deepEqual(checkNativeKernels(dir, source, {}), { library });
  for (const on of ["1", "true", "ON", ""]) assert.deepEqual(checkNativeKernels(dir, source, { ESMM_NATIVE_KERNELS: on }), { library }, on);
  for (const off of ["0", "false", "No", "off"]) {
    const r = checkNativeKernels(dir, source, { ESMM_NATIVE_KERNELS: off });
    assert.ok("reason" in r && r.tell === undefined && /turned off/.test(r.reason), JSON.stringify(r));
  }
  const bad = checkNativeKernels(dir, source, { ESMM_NATIVE_KERNELS: "bogus" });
  assert.ok("reason" in bad && /^esmm: ESMM_NATIVE_KERNELS=bogus is neither off \(0, false, no, off\) nor on \(1, true, yes, on, or unset\): the native kernels are not loaded$/.test(bad.tell ?? ""), JSON.stringify(bad));
  fs.writeFileSync(source, "// kernels v2\n");
  assert.ok("reason" in checkNativeKernels(dir, source, {}), "a changed source makes the library stale");
});

test("EsmmAdam equals the chain of TensorFlow ops of lib/train/adam.ts bit for bit (p, m, v; first and 1000th step)", (ctx) => {
  const skip = kernelsSkip();
  if (skip) return ctx.skip(skip);
  const t = tf();
  const r = rng(7);
  const n = 100_003;
  const draw = (f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  const special = [0, -0, 1e-30, -1e-30, 1e4, -1e4, 3e-39];
  const p = t.tensor1d(draw((i) => (i < special.length ? special[i] : r() * 2 - 1)));
  const m = t.tensor1d(draw((i) => (i % 5 === 0 ? 0 : (r() - 0.5) * 1e-2)));
  const v = t.tensor1d(draw((i) => (i % 7 === 0 ? 0 : r() * 1e-4)));
  const g = t.tensor1d(draw((i) => (i < special.length ? special[special.length - 1 - i] : (r() - 0.5) * (i % 3 === 0 ? 10 : 1e-3))));
  const config = { learningRate: 3e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
  const acc = adamAccumulators(config);
  for (let step = 1; step <= 1000; step++) {
    const a = adamStepConstants(acc, config);
    if (step !== 1 && step !== 1000) continue;
    const chain = t.tidy(() => {
      const s = (x: number) => t.scalar(x);
      const m1 = t.add(t.mul(m, s(config.beta1)), t.mul(g, s(1 - config.beta1)));
      const v1 = t.add(t.mul(v, s(config.beta2)), t.mul(t.square(g), s(1 - config.beta2)));
      const p1 = t.add(p, t.mul(t.div(m1, t.add(t.sqrt(v1), s(a.epsT))), s(a.lrT)));
      return [p1, m1, v1];
    });
    const fused = adamStep(t.backend(), p, m, v, g, a);
    ["p", "m", "v"].forEach((name, k) => {
      const x = bits(fused[k]);
      const y = bits(chain[k]);
      let differ = 0;
      for (let i = 0; i < n; i++) if (x[i] !== y[i]) differ++;
      assert.equal(differ, 0, `step ${step}: ${name}' differs from the chain in ${differ} of ${n} elements`);
    });
    [...fused, ...chain].forEach((x) => x.dispose());
  }
  // The inputs are not written.
  assert.equal(Array.from(p.dataSync().slice(0, 3)).join(), "0,0,1.0000000031710769e-30");
  [p, m, v, g].forEach((x) => x.dispose());
});

test("EsmmAdamParts equals the flat group's ops (concat of the gradients, the decay ops, EsmmAdam, split) bit for bit, without decay, coupled and decoupled; sizes that do not add up are an error", (ctx) => {
  const skip = kernelsSkip();
  if (skip) return ctx.skip(skip);
  const t = tf();
  const r = rng(13);
  const shapes = [[7, 5], [5], [3, 2, 4], [1]];
  const sizes = shapes.map((sh) => sh.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const vector = (scale: number) => t.tensor1d(Float32Array.from({ length: total }, (_, i) => (i === 3 ? -0 : (r() - 0.5) * scale)));
  const p = vector(2);
  const m = vector(1e-2);
  const v = t.abs(vector(1e-4));
  const grads = shapes.map((sh) => t.tensor(Float32Array.from({ length: sh.reduce((a, b) => a * b, 1) }, () => (r() - 0.5) * (r() < 0.2 ? 10 : 1e-3)), sh));
  const attrs = adamStepConstants(adamAccumulators({ beta1: 0.9, beta2: 0.999 }), { learningRate: 3e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  for (const [decay, shrink] of [[0, 0], [Math.fround(0.01), 0], [0, Math.fround(3e-5)]]) {
    const current = shrink ? t.sub(p, t.mul(p, t.scalar(shrink))) : p;
    const flatGrad = t.concat(grads.map((g) => t.reshape(g, [g.size])));
    const g = decay ? t.add(flatGrad, t.mul(current, t.scalar(decay))) : flatGrad;
    const want = adamStep(t.backend(), current, m, v, g, attrs);
    const got = adamStepParts(t.backend(), p, m, v, grads, { ...attrs, decay, shrink });
    assert.equal(got.length, 3 + shapes.length);
    ["p", "m", "v"].forEach((name, i) => assert.deepEqual(bits(got[i]), bits(want[i]), `decay ${decay}, shrink ${shrink}: ${name}'`));
    const parts = t.split(want[0], sizes);
    shapes.forEach((sh, k) => {
      assert.deepEqual(got[3 + k].shape, sh);
      assert.deepEqual(bits(got[3 + k]), bits(parts[k]), `decay ${decay}, shrink ${shrink}: part ${k}`);
    });
    t.dispose([...(current === p ? [] : [current]), flatGrad, ...(g === flatGrad ? [] : [g]), ...want, ...got, ...parts]);
  }
  assert.throws(() => adamStepParts(t.backend(), p, m, v, grads.slice(1), { ...attrs, decay: 0, shrink: 0 }), /the gradients have 30 elements, the flat vector 65/);
  t.dispose([p, m, v, ...grads]);
});

test("EsmmSegmentSum equals TensorFlow's UnsortedSegmentSum bit for bit (duplicate ids, empty segments); an id out of range is an error naming it", (ctx) => {
  const skip = kernelsSkip();
  if (skip) return ctx.skip(skip);
  const t = tf();
  const r = rng(11);
  for (const [n, d, segments] of [[82_000, 8, 8_000], [5_000, 16, 37], [0, 4, 5], [64, 3, 1000]] as const) {
    const data = t.tensor2d(Float32Array.from({ length: n * d }, () => (r() - 0.5) * (r() < 0.1 ? 1e3 : 1e-3)), [n, d]);
    const ids = t.tensor1d(Int32Array.from({ length: n }, () => Math.floor(r() * r() * segments)), "int32");
    const theirs = t.unsortedSegmentSum(data, ids, segments);
    const column = t.reshape(ids, [n, 1]) as tfjs.Tensor2D; // the lookups' [n, 1] ids, taken as they are
    for (const idsTensor of [ids, column]) {
      const ours = segmentSum(t.backend(), data, idsTensor, segments);
      assert.deepEqual(ours.shape, [segments, d]);
      const x = bits(ours);
      const y = bits(theirs);
      let differ = 0;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) differ++;
      assert.equal(differ, 0, `[${n}, ${d}] into ${segments}, ids [${idsTensor.shape}]: ${differ} of ${x.length} elements differ`);
      ours.dispose();
    }
    [data, ids, column, theirs].forEach((z) => z.dispose());
  }
  const data = t.ones([3, 2]) as tfjs.Tensor2D;
  const ids = t.tensor1d([0, 5, 1], "int32");
  assert.throws(() => segmentSum(t.backend(), data, ids, 5), /ids\[1\] = 5 is not in \[0, 5\)/);
  data.dispose();
  ids.dispose();
});

test("EsmmGatherRows equals TensorFlow's GatherNd bit for bit (ids [n, 1] and [n], repeated ids, NaN and -0 rows); an id out of range is an error naming it", (ctx) => {
  const skip = kernelsSkip();
  if (skip) return ctx.skip(skip);
  const t = tf();
  const r = rng(19);
  for (const [rows, d, n] of [[2_000, 8, 50_000], [37, 5, 100], [10, 1, 0]] as const) {
    const special = [NaN, -0, Infinity, 3e-39];
    const table = t.tensor2d(Float32Array.from({ length: rows * d }, (_, i) => (i < special.length ? special[i] : r() - 0.5)), [rows, d]);
    const ids = Int32Array.from({ length: n }, () => Math.floor(r() * r() * rows));
    const column = t.tensor2d(ids, [n, 1], "int32");
    const flat = t.tensor1d(ids, "int32");
    const theirs = t.gatherND(table, column);
    for (const idsTensor of [column, flat]) {
      const ours = gatherRowsByIds(t.backend(), table, idsTensor);
      assert.deepEqual(ours.shape, [n, d]);
      assert.deepEqual(bits(ours), bits(theirs), `[${rows}, ${d}] at ${n} ids of shape [${idsTensor.shape}]`);
      ours.dispose();
    }
    t.dispose([table, column, flat, theirs]);
  }
  const table = t.ones([4, 2]) as tfjs.Tensor2D;
  const ids = t.tensor2d([1, 4, 0], [3, 1], "int32");
  assert.throws(() => gatherRowsByIds(t.backend(), table, ids), /EsmmGatherRows: ids\[1\] = 4 is not in \[0, 4\)/);
  t.dispose([table, ids]);
});

test("EsmmBiasRelu equals TensorFlow's BiasAdd (single model) or broadcasting Add (seed group), then Relu, bit for bit (NaN, -0, negatives); a bias that does not fit is an error", (ctx) => {
  const skip = kernelsSkip();
  if (skip) return ctx.skip(skip);
  const t = tf();
  const be = t.backend() as unknown as { executeSingleOutput(name: string, attrs: object[], inputs: tfjs.Tensor[]): tfjs.Tensor; binding: { TF_ATTR_TYPE: number; TF_FLOAT: number; TF_ATTR_STRING: number } };
  const T = { name: "T", type: be.binding.TF_ATTR_TYPE, value: be.binding.TF_FLOAT };
  const relu = (x: tfjs.Tensor) => be.executeSingleOutput("Relu", [T], [x]);
  const r = rng(5);
  const special = [NaN, -0, 0, -1e-40, 1e-40, -3, 3, Infinity, -Infinity];
  // The special values at the start and every 101 elements after (TensorFlow's vector loop and its tail).
  const values = (n: number) => Float32Array.from({ length: n }, (_, i) => (i % 101 < special.length ? special[i % 101] : (r() - 0.5) * 4));
  const cases: [number[], number[], (z: tfjs.Tensor, b: tfjs.Tensor) => tfjs.Tensor][] = [
    [[1027, 37], [37], (z, b) => be.executeSingleOutput("BiasAdd", [T, { name: "data_format", type: be.binding.TF_ATTR_STRING, value: "NHWC" }], [z, b])],
    [[6, 1027, 37], [6, 1, 37], (z, b) => t.add(z, b)],
    [[3, 5, 128], [3, 1, 128], (z, b) => t.add(z, b)],
  ];
  for (const [zs, bs, add] of cases) {
    const z = t.tensor(values(zs.reduce((a, b) => a * b)), zs);
    const b = t.tensor(values(bs.reduce((a, b) => a * b)), bs); // z + b where both are special: NaN, -0 + -0, 0, +-2e-40 (flushed to +-0), +-6, +-Infinity
    for (const withRelu of [true, false]) {
      const sum = add(z, b);
      const theirs = withRelu ? relu(sum) : sum;
      const ours = biasRelu(t.backend(), z, b, withRelu);
      assert.deepEqual(ours.shape, zs);
      const x = bits(ours);
      const y = bits(theirs);
      let differ = 0;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) differ++;
      assert.equal(differ, 0, `[${zs}] + [${bs}], relu ${withRelu}: ${differ} of ${x.length} elements differ`);
      [sum, theirs, ours].forEach((q) => q.dispose());
    }
    [z, b].forEach((q) => q.dispose());
  }
  const z = t.ones([2, 3, 4]);
  const b = t.ones([2, 1, 3]);
  assert.throws(() => biasRelu(t.backend(), z, b, true), /EsmmBiasRelu: z \[B, O\] with b \[O\], or z \[S, B, O\] with b \[S, 1, O\]/);
  [z, b].forEach((q) => q.dispose());
});

test("a 3-seed ESMM group trains to the same bits with and without the native kernels, dense and row-wise embedding updates (two processes)", async (ctx) => {
  const skip = kernelsSkip();
  if (skip) return ctx.skip(skip);
  const lib = path.join(__dirname, "..", "lib");
  const helpers = path.join(__dirname, "helpers.js"); // encodedSplit
  const script = `
    const crypto = require("node:crypto");
    const { initBackend } = require(${JSON.stringify(path.join(lib, "backend"))});
    const { getModelSpec } = require(${JSON.stringify(path.join(lib, "models"))});
    const { fitSeeds, predictEachSeed } = require(${JSON.stringify(path.join(lib, "train"))});
    const { encodedSplit } = require(${JSON.stringify(helpers)});
    const { Rng } = require(${JSON.stringify(path.join(lib, "data", "random"))});
    const split = (n, seed) => {
      const r = new Rng(seed);
      const categorical = Int32Array.from({ length: n * 4 }, (_, i) => r.int([50, 20, 300, 7][i % 4]));
      const click = Float32Array.from({ length: n }, (_, i) => (r.bernoulli(categorical[i * 4] < 10 ? 0.5 : 0.15) ? 1 : 0));
      const conversion = Float32Array.from(click, (c, i) => (c && r.bernoulli(categorical[i * 4 + 1] < 5 ? 0.5 : 0.1) ? 1 : 0));
      return encodedSplit({ name: "s" + seed, vocabularySizes: [50, 20, 300, 7], numericFields: ["x"], categorical, numeric: Float32Array.from({ length: n }, () => r.uniform()), click, conversion });
    };
    (async () => {
      await initBackend("tensorflow");
      const data = { train: split(3000, 1), validation: split(800, 2) };
      const h = crypto.createHash("sha256");
      for (const embeddingUpdates of ["dense", "rowwise"]) {
        const { model, outcomes } = await fitSeeds(getModelSpec("ESMM"), data, { seeds: [1, 2, 3], batchSize: 256, maxEpochs: 3, patience: 5, learningRate: 3e-3, embeddingUpdates });
        for (const o of outcomes) h.update(JSON.stringify(o.result ? o.result.epochs.map((e) => [e.trainLoss, e.valLoss]) : String(o.error)));
        for (const p of predictEachSeed(model, split(500, 3))) h.update(Buffer.from(p.pCtcvr.buffer));
        model.dispose();
      }
      console.log(h.digest("hex"));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const run = (kernels: string) =>
    new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["-e", script], { env: { ...process.env, ESMM_NATIVE_KERNELS: kernels, ESMM_BACKEND: "tensorflow" }, timeout: 240_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr.slice(-2000)}`)) : resolve(stdout.trim().split("\n").pop() ?? ""),
      ),
    );
  const [withKernels, without] = await Promise.all([run("1"), run("0")]);
  assert.match(withKernels, /^[0-9a-f]{64}$/);
  assert.equal(withKernels, without, "training with the kernels moved a bit of the losses or predictions");
});
