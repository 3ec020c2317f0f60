/**
 * A linear-time `UnsortedSegmentSum` kernel for the tfjs 'wasm' and 'cpu' backends.
 *
 * Why: the gradient of `tf.gather` (every embedding lookup) is an UnsortedSegmentSum. The wasm
 * backend of tfjs 4.22 has no such kernel ("kernel not found" on the first training step), and
 * the cpu backend's one builds a mask per segment, O(numSegments * x.size) — for an embedding
 * table of 20k rows that is minutes per step. This kernel reads the inputs synchronously,
 * scatter-adds row by row, and hands the result back to the backend: O(x.size + output size).
 *
 * Semantics (those of TensorFlow's `UnsortedSegmentSum`):
 * - `segmentIds.shape` is a prefix of `x.shape`; output shape is
 *   `[numSegments, ...x.shape.slice(segmentIds.rank)]`, segments with no id are 0;
 * - output dtype = `x.dtype` (float32 or int32; int32 sums wrap like TF's int32);
 * - negative ids are dropped (as TF does);
 * - ids >= numSegments throw (TF on CPU errors too; TF on GPU and tfjs' old cpu kernel would
 *   silently drop them — an error here points at a vocabulary / index bug instead).
 * float32 sums accumulate in float32, in row order (as TF's CPU kernel does).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs";
import type { TF } from "./index";

export const SEGMENT_SUM_KERNEL = "UnsortedSegmentSum";

/** The backends this kernel is registered for. */
export type SegmentSumBackend = "wasm" | "cpu";

/** Minimal view of a tfjs backend, as the kernel uses it (cpu: MathBackendCPU, wasm: BackendWasm). */
interface KernelBackendLike {
  readSync(dataId: object): unknown;
  makeTensorInfo?(shape: number[], dtype: string, values?: unknown): TensorInfo;
  makeOutput?(shape: number[], dtype: string, memoryOffset?: number | null, values?: unknown): TensorInfo;
}

/** Plain-array form of the op, shared by the kernel and by tests (no tfjs involved). */
export function segmentSumValues(
  x: ArrayLike<number>,
  xShape: readonly number[],
  segmentIds: ArrayLike<number>,
  idsShape: readonly number[],
  numSegments: number,
  dtype: "float32" | "int32",
): { values: Float32Array | Int32Array; shape: number[] } {
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`);
  }
  const idsRank = idsShape.length;
  if (idsRank > xShape.length || idsShape.some((d, i) => d !== xShape[i])) {
    throw new Error(
      `UnsortedSegmentSum: segmentIds shape [${idsShape.join(",")}] must be a prefix of x shape [${xShape.join(",")}]`,
    );
  }
  const innerShape = xShape.slice(idsRank);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  const rows = idsShape.reduce((a, b) => a * b, 1);
  if (segmentIds.length !== rows || x.length !== rows * inner) {
    throw new Error(
      `UnsortedSegmentSum: got ${x.length} values for x and ${segmentIds.length} ids, shapes say ${rows * inner} and ${rows}`,
    );
  }
  const out = dtype === "int32" ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let r = 0; r < rows; r++) {
    const id = segmentIds[r];
    if (id < 0) continue;
    if (id >= numSegments) {
      throw new Error(`UnsortedSegmentSum: segment id ${id} (at position ${r}) is not in [0, ${numSegments})`);
    }
    const src = r * inner;
    const dst = id * inner;
    if (inner === 1) {
      out[dst] += x[src];
    } else {
      for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
    }
  }
  return { values: out, shape: [numSegments, ...innerShape] };
}

function segmentSumKernelFor(backendName: SegmentSumBackend): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x as TensorInfo;
    const segmentIds = inputs.segmentIds as TensorInfo;
    const numSegments = Number((attrs as { numSegments?: number } | undefined)?.numSegments);
    if (x.dtype !== "float32" && x.dtype !== "int32") {
      throw new Error(`UnsortedSegmentSum: x of dtype ${x.dtype} is not supported (float32 or int32)`);
    }
    const b = backend as unknown as KernelBackendLike;
    // cpu: the backend's own typed array (no copy); wasm: a copy out of the heap.
    const xValues = b.readSync(x.dataId) as Float32Array | Int32Array;
    const idValues = b.readSync(segmentIds.dataId) as Int32Array | Float32Array;
    const { values, shape } = segmentSumValues(xValues, x.shape, idValues, segmentIds.shape, numSegments, x.dtype);
    // wasm has no makeTensorInfo (its base-class one throws); makeOutput(..., null, values) copies
    // values into the heap. cpu's makeOutput is another thing (returns a Tensor): use makeTensorInfo.
    if (backendName === "wasm") return b.makeOutput!(shape, x.dtype, null, values);
    return b.makeTensorInfo!(shape, x.dtype, values);
  };
}

/** The kernel functions, one per backend (they differ only in how the output is handed back). */
export const segmentSumKernels: Readonly<Record<SegmentSumBackend, KernelFunc>> = {
  wasm: segmentSumKernelFor("wasm"),
  cpu: segmentSumKernelFor("cpu"),
};

/** Kernel configs replaced by ours, per backend (the cpu one is kept for tests and benchmarks). */
const replaced = new Map<SegmentSumBackend, KernelConfig>();

/**
 * Registers the kernel for `backendName` in tfjs's (process-global) kernel registry, replacing
 * what was there: `registerKernel` over an existing key only warns and overwrites, so the old
 * one is unregistered first (no warning). Idempotent.
 */
export function registerSegmentSumKernel(tf: TF, backendName: SegmentSumBackend): void {
  const existing = tf.getKernel(SEGMENT_SUM_KERNEL, backendName);
  const kernelFunc = segmentSumKernels[backendName];
  if (existing?.kernelFunc === kernelFunc) return;
  if (existing) {
    if (!replaced.has(backendName)) replaced.set(backendName, existing);
    tf.unregisterKernel(SEGMENT_SUM_KERNEL, backendName);
  }
  tf.registerKernel({ kernelName: SEGMENT_SUM_KERNEL, backendName, kernelFunc });
}

/** The kernel that `registerSegmentSumKernel` replaced (tfjs's quadratic cpu one), if any. */
export function replacedSegmentSumKernel(backendName: SegmentSumBackend): KernelConfig | undefined {
  return replaced.get(backendName);
}

/**
 * Puts the replaced kernel back (for measurements and tests); `registerSegmentSumKernel`
 * installs ours again. Does nothing when nothing was replaced.
 */
export function restoreReplacedSegmentSumKernel(tf: TF, backendName: SegmentSumBackend): void {
  const original = replaced.get(backendName);
  if (!original) return;
  if (tf.getKernel(SEGMENT_SUM_KERNEL, backendName)) tf.unregisterKernel(SEGMENT_SUM_KERNEL, backendName);
  tf.registerKernel(original);
}
