/**
 * esmm-lab's own TensorFlow kernels on the native backend: `./native-kernels.cc`, compiled by `make native`
 * (scripts/install-native.sh, step 5) into `<nativeDir>/esmm-kernels.node` with the source's sha256 beside it
 * (`esmm-kernels.sha256`). Loading the library registers its ops in TensorFlow; tfjs-node's binding then runs
 * them by name. Each kernel computes exactly what the chain of TensorFlow ops it replaces computes (bit for
 * bit, test/native-kernels.test.ts), in one pass instead of one pass per op; where the kernels are not loaded
 * the chain runs, so results never depend on whether they are.
 *
 * Loaded by lib/backend's loadNative (the 'tensorflow' backend) unless ESMM_NATIVE_KERNELS=0 (for A/B
 * measurements). A library built from another version of the source, or missing while the backend is built, is
 * not loaded and one line on stderr says to run `make native`.
 *
 * Kernels:
 * - `EsmmAdam` (adamStep below): one Adam step of a flat vector (lib/train/adam.ts' twelve elementwise ops).
 *   At 860,000 parameters (the reference model x 10 seeds) 1.7 ms against 11.3 ms for the chain (measured
 *   2026-12-06 on this 2-core machine, one thread).
 * - `EsmmAdamParts` (adamStepParts below): EsmmAdam over a flat group that also takes the variables' gradients as
 *   they are and returns the new values in their shapes (lib/train/adam.ts' reshapes, concat, split and reshapes
 *   around the step: 2 N + 2 ops for N variables).
 * - `EsmmSegmentSum` (segmentSum below): TensorFlow's UnsortedSegmentSum for the gradient of an embedding
 *   lookup, rows added in input order as TensorFlow's kernel adds them. 81,920 rows of 8 into 80,000 segments
 *   (the reference model x 10 seeds): 0.21 ms against 1.9-2.3 ms for TensorFlow's kernel (same machine, one thread).
 * - `EsmmLazyAdamRows` (lazyAdamRows below): row-wise (lazy) Adam of an embedding table and its moments, in
 *   place, the touched rows prefetched (lib/train/rowwise.ts' native op sequence: a gather, eleven elementwise
 *   ops and two read-ahead gathers + InplaceUpdate writes per table).
 * - `EsmmGatherRows` (gatherRowsByIds below): TensorFlow's GatherNd of table rows (an embedding lookup, the rows a
 *   batch touches), copied with the rows 16 ahead prefetched.
 * - `EsmmBiasRelu` (biasRelu below): a dense layer's bias and ReLU after its product in one pass (TensorFlow's
 *   BiasAdd, or in a seed group its broadcasting Add of each seed's bias, then Relu).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as tfjs from "@tensorflow/tfjs";
import type { AdamKernelAttrs } from "../train/adam-kernel";

/** The variable that turns the kernels off: ESMM_NATIVE_KERNELS=0 (or false, no, off; 1, true, yes, on or unset: on). */
export const NATIVE_KERNELS_VAR = "ESMM_NATIVE_KERNELS";

/** Whether the kernels are loaded in this process, or why not. */
export interface NativeKernelsStatus {
  loaded: boolean;
  /** When not loaded: why (turned off, not built, older than the source, failed to load). */
  reason?: string;
}

/** An op attribute as tfjs-node's binding takes it (a float list is a number[], a bool a boolean). */
interface NativeAttr {
  name: string;
  type: number;
  value: number | number[] | boolean;
}

interface NativeBackend {
  executeSingleOutput(name: string, attrs: NativeAttr[], inputs: tfjs.Tensor[]): tfjs.Tensor;
  executeMultipleOutputs(name: string, attrs: NativeAttr[], inputs: tfjs.Tensor[], n: number): tfjs.Tensor[];
  binding: { TF_ATTR_FLOAT: number; TF_ATTR_INT: number; TF_ATTR_BOOL: number };
}

/** The Adam kernels' attribute `adam`: [b1, 1 - b1, b2, 1 - b2, lr_t, eps_t] (each rounded to float32 by the binding). */
function adamAttr(be: NativeBackend, a: AdamKernelAttrs): NativeAttr {
  return { name: "adam", type: be.binding.TF_ATTR_FLOAT, value: [a.b1, a.oneMinusB1, a.b2, a.oneMinusB2, a.lrT, a.epsT] };
}

let status: NativeKernelsStatus = { loaded: false, reason: "the native backend is not loaded" };

/** The kernels' library and its stamp inside `nativeDir` (scripts/install-native.sh writes both). */
export function nativeKernelsFiles(nativeDir: string): { library: string; stamp: string } {
  return { library: path.join(nativeDir, "esmm-kernels.node"), stamp: path.join(nativeDir, "esmm-kernels.sha256") };
}

/**
 * Whether the kernels' library in `nativeDir` may be loaded (no side effect): `{ library }` when it exists and
 * its stamp holds the sha256 of `source` (lib/backend/native-kernels.cc; when the source is not there, as in an
 * installed package, the library is trusted), else why not and the one line to tell the user (`tell`; none when
 * they turned the kernels off). ESMM_NATIVE_KERNELS: 0, false, no or off turn them off; unset, empty, 1, true,
 * yes or on leave them on; any other value is refused (not loaded, with a line saying so).
 */
export function checkNativeKernels(nativeDir: string, source: string, env: NodeJS.ProcessEnv = process.env): { library: string } | { reason: string; tell?: string } {
  const setting = env[NATIVE_KERNELS_VAR]?.trim() ?? "";
  if (/^(0|false|no|off)$/i.test(setting)) return { reason: `turned off (${NATIVE_KERNELS_VAR}=${setting})` };
  if (!/^(|1|true|yes|on)$/i.test(setting)) {
    const reason = `${NATIVE_KERNELS_VAR}=${setting} is neither off (0, false, no, off) nor on (1, true, yes, on, or unset)`;
    return { reason, tell: `esmm: ${reason}: the native kernels are not loaded` };
  }
  const stale = (reason: string) => ({ reason, tell: `esmm: the native kernels are ${reason}: run \`make native\` (training goes on without them, slower)` });
  const { library, stamp } = nativeKernelsFiles(nativeDir);
  if (!fs.existsSync(library)) return stale(`not built (${library} missing)`);
  if (fs.existsSync(source)) {
    const want = crypto.createHash("sha256").update(fs.readFileSync(source)).digest("hex");
    const have = fs.existsSync(stamp) ? fs.readFileSync(stamp, "utf8").trim() : "";
    if (have !== want) return stale(`built from another version of ${path.basename(source)} (${path.basename(stamp)} does not hold its sha256)`);
  }
  return { library };
}

/**
 * Loads the kernels' library into this process (once, after tfjs-node loaded TensorFlow) when
 * checkNativeKernels allows it. Never throws: returns the status, and writes checkNativeKernels' line (or one
 * saying the library failed to load) on stderr.
 */
export function loadNativeKernels(nativeDir: string, source: string, env: NodeJS.ProcessEnv = process.env): NativeKernelsStatus {
  const check = checkNativeKernels(nativeDir, source, env);
  const notLoaded = (reason: string, tell: string | undefined): NativeKernelsStatus => {
    status = { loaded: false, reason };
    if (tell) process.stderr.write(tell + "\n");
    return { ...status };
  };
  if ("reason" in check) return notLoaded(check.reason, check.tell);
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, check.library);
  } catch (e) {
    const reason = `not loadable (${(e instanceof Error ? e.message : String(e)).split("\n")[0]})`;
    return notLoaded(reason, `esmm: the native kernels are ${reason}: run \`make native\` (training goes on without them, slower)`);
  }
  status = { loaded: true };
  return { ...status };
}

/** Whether the kernels are loaded, or why not. */
export function nativeKernelsStatus(): NativeKernelsStatus {
  return { ...status };
}

/**
 * One Adam step of p, m, v with gradient g (float32 tensors of one size, any shape) by the `EsmmAdam` kernel:
 * [p', m', v'], new tensors of p's shape (the inputs are not written). `backend` is tfjs-node's backend
 * (tf.backend()). Same bits as lib/train/adam.ts' chain with the same float32 constants. Throws when the
 * kernels are not loaded (check nativeKernelsStatus first) and (TensorFlow's error) on sizes that differ.
 */
export function adamStep(backend: unknown, p: tfjs.Tensor, m: tfjs.Tensor, v: tfjs.Tensor, g: tfjs.Tensor, a: AdamKernelAttrs): tfjs.Tensor[] {
  if (!status.loaded) throw new Error(`adamStep: the native kernels are not loaded (${status.reason})`);
  const be = backend as NativeBackend;
  return be.executeMultipleOutputs("EsmmAdam", [adamAttr(be, a)], [p, m, v, g], 3);
}

/**
 * One Adam step of a flat group by the `EsmmAdamParts` kernel: p, m, v (float32 [P], the group's flat values and
 * moments) and `grads`, its variables' gradients in the flat vector's order (any shapes, sizes summing to P).
 * Returns [p', m', v', ...parts]: new tensors, p', m', v' of p's shape and p' cut into the gradients' shapes.
 * Decoupled `shrink` (p - p shrink first) and coupled `decay` (g + p decay), float32, at most one of them not 0.
 * Same bits as adamStep on the concatenated gradient (and lib/train/adam.ts' chain). Throws when the kernels are
 * not loaded and (TensorFlow's error) when the sizes do not add up.
 */
export function adamStepParts(backend: unknown, p: tfjs.Tensor, m: tfjs.Tensor, v: tfjs.Tensor, grads: tfjs.Tensor[], a: AdamKernelAttrs & { decay: number; shrink: number }): tfjs.Tensor[] {
  if (!status.loaded) throw new Error(`adamStepParts: the native kernels are not loaded (${status.reason})`);
  const be = backend as NativeBackend;
  const F = (name: string, value: number) => ({ name, type: be.binding.TF_ATTR_FLOAT, value });
  const attrs = [{ name: "N", type: be.binding.TF_ATTR_INT, value: grads.length }, adamAttr(be, a), F("decay", a.decay), F("shrink", a.shrink)];
  return be.executeMultipleOutputs("EsmmAdamParts", attrs, [p, m, v, ...grads], 3 + grads.length);
}

/**
 * Rows of `data` (float32 [n, d]) summed into `numSegments` rows at `ids` (int32 [n] or [n, 1]) by the `EsmmSegmentSum`
 * kernel: float32 [numSegments, d], the bits of TensorFlow's UnsortedSegmentSum (rows added in input order).
 * Throws when the kernels are not loaded and (TensorFlow's error, naming the row) on an id outside
 * [0, numSegments).
 */
export function segmentSum(backend: unknown, data: tfjs.Tensor2D, ids: tfjs.Tensor1D | tfjs.Tensor2D, numSegments: number): tfjs.Tensor2D {
  if (!status.loaded) throw new Error(`segmentSum: the native kernels are not loaded (${status.reason})`);
  const be = backend as NativeBackend;
  return be.executeSingleOutput("EsmmSegmentSum", [{ name: "num_segments", type: be.binding.TF_ATTR_INT, value: numSegments }], [data, ids]) as tfjs.Tensor2D;
}

/**
 * Row-wise (lazy) Adam of `table` (float32 [rows, dim]) and its moments `mv` ([rows, 2 dim], m | v) at the
 * distinct rows `ids` (int32 [U] or [U, 1]) with their summed gradients `grads` ([U, dim]), written in place by the
 * `EsmmLazyAdamRows` kernel: the bits of lib/train/rowwise.ts' op sequence (decoupled `shrink` and coupled
 * `decay`, float32, at most one of them not 0). The caller makes sure no other tensor shares the buffers of
 * `table` and `mv` (RowwiseAdam copies a shared one first) and that `ids` are distinct (a repeated id is
 * stepped twice). Returns nothing. Throws when the kernels are not loaded and (TensorFlow's error, naming it) on
 * an id outside [0, rows) or shapes that do not fit.
 */
export function lazyAdamRows(backend: unknown, table: tfjs.Tensor, mv: tfjs.Tensor, ids: tfjs.Tensor1D | tfjs.Tensor2D, grads: tfjs.Tensor2D, a: AdamKernelAttrs & { decay: number; shrink: number }): void {
  if (!status.loaded) throw new Error(`lazyAdamRows: the native kernels are not loaded (${status.reason})`);
  const be = backend as NativeBackend;
  const F = (name: string, value: number) => ({ name, type: be.binding.TF_ATTR_FLOAT, value });
  be.executeMultipleOutputs("EsmmLazyAdamRows", [adamAttr(be, a), F("decay", a.decay), F("shrink", a.shrink)], [table, mv, ids, grads], 0);
}

/**
 * Rows `ids` (int32 [n, 1] or [n], each in [0, rows)) of `table` (float32 [rows, d]) by the `EsmmGatherRows`
 * kernel: float32 [n, d], a new tensor, the bits of TensorFlow's GatherNd (a copy). Throws when the kernels are not
 * loaded and (TensorFlow's error, naming it) on an id outside [0, rows).
 */
export function gatherRowsByIds(backend: unknown, table: tfjs.Tensor2D, ids: tfjs.Tensor): tfjs.Tensor2D {
  if (!status.loaded) throw new Error(`gatherRowsByIds: the native kernels are not loaded (${status.reason})`);
  const be = backend as NativeBackend;
  return be.executeSingleOutput("EsmmGatherRows", [], [table, ids]) as tfjs.Tensor2D;
}

/**
 * A dense layer's bias, and ReLU when `relu`, by the `EsmmBiasRelu` kernel: z + b, then (out <= 0 ? 0 : out),
 * in a new tensor of z's shape. `z` float32 [B, O] with `b` [O] (a single model: TensorFlow's BiasAdd), or
 * [S, B, O] with b [S, 1, O] (a seed group, each seed its own bias: TensorFlow's broadcasting Add); the bits
 * of those ops followed by TensorFlow's Relu. Throws when the kernels are not loaded and (TensorFlow's error)
 * when b does not fit z.
 */
export function biasRelu(backend: unknown, z: tfjs.Tensor, b: tfjs.Tensor, relu: boolean): tfjs.Tensor {
  if (!status.loaded) throw new Error(`biasRelu: the native kernels are not loaded (${status.reason})`);
  const be = backend as NativeBackend;
  return be.executeSingleOutput("EsmmBiasRelu", [{ name: "relu", type: be.binding.TF_ATTR_BOOL, value: relu }], [z, b]);
}
