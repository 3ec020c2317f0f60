/**
 * The few primitives a training step spends its time in, each in its cheapest form per backend
 * (measured with a per-kernel profile of a training step at batch 1024; see bench/train-throughput.ts).
 *
 * - dense forward: the native backend runs TensorFlow's BatchMatMulV2 (+ BiasAdd, + Relu) directly, with no
 *   reshapes to 3-D (tfjs' matMul op adds three Reshape kernels per call, each a TensorFlow op with an
 *   uploaded shape tensor); wasm and cpu run tfjs' `_FusedMatMul` kernel (matMul + bias in one kernel;
 *   `tf.fused.matMul` itself falls back to unfused kernels whenever a gradient is being recorded, i.e. in
 *   every training step) and then Relu (wasm's fused ReLU maps NaN to 0, hiding divergence).
 * - dense backward: native uses TensorFlow's ReluGrad, BatchMatMulV2 with adjoint flags and BiasAddGrad (tfjs'
 *   Step kernel is six TensorFlow ops there). wasm's matMul with transposeA/transposeB is 5-8x slower than
 *   an explicit Transpose followed by a plain matMul, and its Sum over axis 0 transposes first, so wasm
 *   and cpu use explicit transposes, ReLU's mask via Step, and the bias gradient as ones[1,B] x dz.
 *   (Transposing the narrower of x and dz for dW measured no faster in training.)
 * - row lookup (embeddings): wasm's GatherV2 kernel costs ~40 ns per output element (it rebuilds an index
 *   vector per element); its GatherND copies whole slices and is ~8x faster; on native GatherND is 2-3x
 *   faster than GatherV2 too. The lookup's gradient is ScatterNd on wasm, UnsortedSegmentSum elsewhere.
 *
 * The native fast path calls the tfjs-node backend's `executeSingleOutput` (present in tfjs-node 4.x);
 * when the backend does not expose it, the portable tfjs ops are used instead.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { nativeKernelsStatus, tf } from "../backend";
import { biasRelu, gatherRowsByIds, segmentSum } from "../backend/native-kernels";

/** A TensorFlow op attribute as tfjs-node's binding takes it. */
interface NativeAttr {
  name: string;
  type: number;
  value: number | boolean | string;
}

interface NativeBackend {
  executeSingleOutput(name: string, attrs: NativeAttr[], inputs: tfjs.Tensor[]): tfjs.Tensor;
  binding: { TF_ATTR_BOOL: number; TF_ATTR_TYPE: number; TF_ATTR_STRING: number; TF_FLOAT: number };
}

type OpsFlavor = "native" | "wasm" | "js";

interface NativeOps {
  be: NativeBackend;
  tFloat: NativeAttr;
  nhwc: NativeAttr;
  transposeAttrs: Map<string, NativeAttr[]>;
}

/** Per backend, looked up once: its flavor, the native ops, and whether esmm-lab's kernels are loaded (initBackend loads them before any op). */
let cache: { backend: object; flavor: OpsFlavor; native?: NativeOps; kernels: boolean } | undefined;

function current(): { flavor: OpsFlavor; native?: NativeOps; kernels: boolean } {
  const t = tf();
  const backend = t.backend() as unknown as object;
  if (cache && cache.backend === backend) return cache;
  const name = t.getBackend();
  let flavor: OpsFlavor = name === "wasm" ? "wasm" : "js";
  let native: NativeOps | undefined;
  const be = backend as Partial<NativeBackend>;
  if (name === "tensorflow" && typeof be.executeSingleOutput === "function" && be.binding && typeof be.binding.TF_ATTR_TYPE === "number") {
    const b = be.binding;
    const tFloat: NativeAttr = { name: "T", type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
    const transposeAttrs = new Map<string, NativeAttr[]>();
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        transposeAttrs.set(`${ta}/${tb}`, [
          tFloat,
          { name: "adj_x", type: b.TF_ATTR_BOOL, value: ta },
          { name: "adj_y", type: b.TF_ATTR_BOOL, value: tb },
        ]);
      }
    }
    native = { be: be as NativeBackend, tFloat, nhwc: { name: "data_format", type: b.TF_ATTR_STRING, value: "NHWC" }, transposeAttrs };
    flavor = "native";
  }
  cache = { backend, flavor, native, kernels: flavor === "native" && nativeKernelsStatus().loaded };
  return cache;
}

/**
 * TensorFlow's BatchMatMulV2 on 2-D tensors (the op tfjs-node's own BatchMatMul kernel runs, without
 * tfjs' reshapes to 3-D). Not TensorFlow's MatMul op: with the TensorFlow 2.21 C library this project
 * builds against, MatMul called from tfjs-node corrupts the heap (glibc aborts with "corrupted size vs.
 * prev_size", reproducibly under `node --cpu-prof`).
 */
function nativeMatMul(n: NativeOps, a: tfjs.Tensor, b: tfjs.Tensor, transposeA: boolean, transposeB: boolean): tfjs.Tensor2D {
  return n.be.executeSingleOutput("BatchMatMulV2", n.transposeAttrs.get(`${transposeA}/${transposeB}`)!, [a, b]) as tfjs.Tensor2D;
}

/**
 * The product a dense layer runs, alone: [S, rows, in] x [S, in, out] (or 2-D), either side transposed
 * (adjoint), through the same call as denseForward / denseBackward (native: BatchMatMulV2 directly; wasm and
 * cpu: tf.matMul). For benchmarks that time the layers' products apart (bench/study-arithmetic.ts).
 */
export function denseProduct(a: tfjs.Tensor, b: tfjs.Tensor, transposeA: boolean, transposeB: boolean): tfjs.Tensor {
  const { native } = current();
  return native ? nativeMatMul(native, a, b, transposeA, transposeB) : tf().matMul(a as tfjs.Tensor3D, b as tfjs.Tensor3D, transposeA, transposeB);
}

/**
 * act(x W + b): [batch, in] x [in, out] (+ [out]) -> [batch, out]; in a seed group [S, batch, in] x
 * [S, in, out] (+ [S, 1, out]) -> [S, batch, out], one batched product over the seed axis. Not
 * differentiable by itself (used inside customGrad).
 */
export function denseForward(x: tfjs.Tensor2D, w: tfjs.Tensor2D, bias: tfjs.Tensor1D | undefined, relu: boolean): tfjs.Tensor2D {
  const t = tf();
  const { native, kernels: loaded } = current();
  const kernels = native !== undefined && bias !== undefined && loaded;
  if (w.rank === 3) {
    let z: tfjs.Tensor = native ? nativeMatMul(native, x, w, false, false) : t.matMul(x as unknown as tfjs.Tensor3D, w as unknown as tfjs.Tensor3D);
    if (kernels) return biasRelu(native.be, z, bias, relu) as tfjs.Tensor2D;
    if (bias) z = t.add(z, bias);
    if (relu) z = native ? native.be.executeSingleOutput("Relu", [native.tFloat], [z]) : t.relu(z);
    return z as tfjs.Tensor2D;
  }
  if (native) {
    let z: tfjs.Tensor = nativeMatMul(native, x, w, false, false);
    if (kernels) return biasRelu(native.be, z, bias, relu) as tfjs.Tensor2D;
    if (bias) z = native.be.executeSingleOutput("BiasAdd", [native.tFloat, native.nhwc], [z, bias]);
    if (relu) z = native.be.executeSingleOutput("Relu", [native.tFloat], [z]);
    return z as tfjs.Tensor2D;
  }
  const [rows, inner] = x.shape;
  const units = w.shape[1];
  const inputs: Record<string, tfjs.Tensor> = { a: t.reshape(x, [1, rows, inner]), b: t.reshape(w, [1, inner, units]) };
  if (bias) inputs.bias = bias;
  // ReLU as its own kernel: wasm's fused ReLU (an XNNPACK clamp) turns NaN into 0, which would hide a
  // diverged training run from the trainer's NaN check; its Relu kernel keeps NaN.
  const out = t.engine().runKernel("_FusedMatMul", inputs as unknown as tfjs.NamedTensorMap, {
    transposeA: false,
    transposeB: false,
    activation: "linear",
  } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor;
  const z = t.reshape(out, [rows, units]) as tfjs.Tensor2D;
  return relu ? t.relu(z) : z;
}

/**
 * Gradients of out = act(x W + b) given dy = dL/dout: [dx, dW] (+ db when `withBias`). `out` is the
 * forward output (ReLU's mask is out > 0).
 */
export function denseBackward(dy: tfjs.Tensor2D, x: tfjs.Tensor2D, w: tfjs.Tensor2D, out: tfjs.Tensor2D, relu: boolean, withBias: boolean): tfjs.Tensor[] {
  const t = tf();
  const { native } = current();
  if (w.rank === 3) {
    // Seed group: the same products batched over the seed axis; db sums each seed's rows ([S, 1, out]).
    const dz = relu ? (native ? native.be.executeSingleOutput("ReluGrad", [native.tFloat], [dy, out]) : t.mul(dy, t.step(out))) : dy;
    const mm = (a: tfjs.Tensor, b: tfjs.Tensor, ta: boolean, tb: boolean) =>
      native ? nativeMatMul(native, a, b, ta, tb) : t.matMul(a as tfjs.Tensor3D, b as tfjs.Tensor3D, ta, tb);
    const grads: tfjs.Tensor[] = [mm(dz, w, false, true), mm(x, dz, true, false)];
    if (withBias) grads.push(t.sum(dz, 1, true));
    return grads;
  }
  if (native) {
    const dz = relu ? native.be.executeSingleOutput("ReluGrad", [native.tFloat], [dy, out]) : dy;
    const grads: tfjs.Tensor[] = [nativeMatMul(native, dz, w, false, true), nativeMatMul(native, x, dz, true, false)];
    if (withBias) grads.push(native.be.executeSingleOutput("BiasAddGrad", [native.tFloat, native.nhwc], [dz]));
    return grads;
  }
  const dz = relu ? (t.mul(dy, t.step(out)) as tfjs.Tensor2D) : dy;
  const grads: tfjs.Tensor[] = [t.matMul(dz, t.transpose(w)), t.matMul(t.transpose(x), dz)];
  if (withBias) {
    const rows = dz.shape[0];
    grads.push(t.reshape(t.matMul(t.ones([1, rows]) as tfjs.Tensor2D, dz), [dz.shape[1]]));
  }
  return grads;
}

/**
 * Rows `indices` ([n, 1] int32: one row index per line) of `table` ([rows, dim]) -> [n, dim]. Not
 * differentiable by itself. esmm-lab's EsmmGatherRows kernel on native when it is built (a copy with the rows
 * ahead prefetched: the same bits as GatherND), GatherND on native without it and on wasm (2-3x and ~8x faster
 * than their GatherV2 here), GatherV2 on cpu.
 */
export function gatherRows(table: tfjs.Tensor2D, indices: tfjs.Tensor2D): tfjs.Tensor2D {
  const t = tf();
  const { flavor, kernels } = current();
  if (kernels) return gatherRowsByIds(t.backend(), table, indices);
  if (flavor === "js") return t.gather(table, t.reshape(indices, [indices.shape[0]])) as tfjs.Tensor2D;
  return t.gatherND(table, indices) as tfjs.Tensor2D;
}

/**
 * The gradient of `gatherRows`: rows of `values` ([n, dim]) summed into a zero [rows, dim] tensor at
 * `indices` ([n, 1]), duplicates added in row order. ScatterNd on wasm (its C++ kernel is ~3x faster than
 * the project's JS UnsortedSegmentSum kernel there), esmm-lab's EsmmSegmentSum kernel on native when it is built
 * (lib/backend/native-kernels.ts: the same bits; 0.21 ms against 1.9-2.3 ms for 81,920 rows of 8 into 80,000
 * segments, the reference model x 10 seeds), UnsortedSegmentSum elsewhere. Same values.
 */
export function scatterAddRows(values: tfjs.Tensor2D, indices: tfjs.Tensor2D, rows: number): tfjs.Tensor2D {
  const t = tf();
  const { flavor, kernels } = current();
  if (flavor === "wasm") return t.scatterND(indices, values, [rows, values.shape[1]]) as tfjs.Tensor2D;
  if (kernels) return segmentSum(t.backend(), values, indices, rows);
  const ids = t.reshape(indices, [indices.shape[0]]) as tfjs.Tensor1D;
  return t.unsortedSegmentSum(values, ids, rows) as tfjs.Tensor2D;
}
