/**
 * Seed-group compaction: a seed whose training ended (early stopping, or a failure) leaves the group's computation,
 * without moving a bit of the seeds that go on (issue 21, point 4).
 *
 * Why bits could move, and when they do not (measured by bench/seed-compaction.ts on a group [1, 2, 3] against
 * [1, 3], one step and three epochs, every variable, gradient and output compared bit for bit):
 * - every op of a step is per seed slice: the batched matrix products (TensorFlow's BatchMatMulV2, tfjs' matMul),
 *   the per-seed reductions, the gathers and scatter-adds into each seed's own rows, the loss per seed (the group's
 *   objective is the sum of the seeds', whose gradient is exactly each seed's own) and Adam (elementwise);
 *   cpu and wasm gave the same bits with or without the middle seed, everywhere;
 * - on the native backend, TensorFlow's transcendental elementwise kernels (Sigmoid, Softplus, Exp, Log,
 *   Reciprocal: Eigen's packet implementations) compute a tensor's last (size mod packet) elements with the scalar
 *   implementation, which rounds differently (up to 1 ulp; measured on [3, 333] against [2, 333]). A tensor whose
 *   per-seed size is not a multiple of the packet (a batch of rows not a multiple of 16, e.g. an epoch's last
 *   partial batch) gives its last seed a tail the others do not have, and removing a seed changes that tail.
 *   Mul, add, sub, div, sqrt, square, relu, maximum, abs, tanh and log1p agreed in both paths.
 * So a removal is exact when every seed that goes on keeps, for every row count a step or a prediction uses, the
 * same elements in the tail: `exactRemoval` checks that for packets of 4, 8 and 16 floats (SSE, AVX, AVX-512) and
 * picks the most stopped seeds it can remove (keeping a stopped last seed as the group's tail holder often lets all
 * the others go).
 * - One native kernel breaks that rule: TensorFlow's Softmax (MMoE's and PLE's gates, AITM's attention) changes
 *   values of seeds inside the group too (not only the last slot's tail: presumably its broadcast expression is
 *   evaluated in blocks whose edges depend on the whole tensor's size) (measured: [10, 1024, 4] against [9, 1024, 4], 2 of the kept seeds' 36,864 gate weights 1 ulp
 *   off; 10-seed MMoE and PLE groups trained compacted moved some seeds' records, MMoE's 5 of 10). `keepsBitsWhenCompacted` leaves
 *   those models out.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../backend";
import type { ModelSpec } from "../models";

/**
 * Whether a seed group of `spec` may be compacted: its step has no softmax (no mixture-of-experts trunk, "mmoe" or
 * "ple", and no tower with AITM's transfer, `transferFrom`); see the file comment.
 */
export function keepsBitsWhenCompacted(spec: ModelSpec): boolean {
  return (spec.trunk.kind === "separate" || spec.trunk.kind === "sharedBottom") && spec.towers.every((tower) => tower.transferFrom === undefined);
}

/** Packet sizes (floats) of the vector units whose elementwise tails are checked. */
export const PACKET_SIZES: readonly number[] = [4, 8, 16];

/**
 * How many of the last elements of slot `pos`'s `rows` (per-seed elements of a [slots, rows] tensor) fall in the
 * tensor's scalar tail: the final (slots * rows mod packet) elements.
 */
export function tailElements(pos: number, slots: number, rows: number, packet: number): number {
  const vectorEnd = Math.floor((slots * rows) / packet) * packet;
  return Math.max(0, Math.min(rows, (pos + 1) * rows - vectorEnd));
}

/**
 * The slots (indices into `active`, ascending) a group keeps when its inactive seeds leave: the layout with the
 * fewest slots in which every active seed has, for every per-seed row count in `rowCounts` and every packet size of
 * PACKET_SIZES, the same tail elements as in the full group of `active.length` slots (so its values are the same bit
 * for bit, see the file comment). Candidates: every inactive seed removed, else all but the last slot, else the
 * latest inactive seeds kept one more at a time. Returns every slot when no removal is exact (or none is inactive).
 * `rowCounts`: positive integers (duplicates allowed).
 */
export function exactRemoval(active: readonly boolean[], rowCounts: readonly number[]): number[] {
  const S = active.length;
  const all = active.map((_, s) => s);
  const inactive = all.filter((s) => !active[s]);
  if (inactive.length === 0 || inactive.length === S) return all;
  const counts = [...new Set(rowCounts)];
  const exact = (kept: number[]) =>
    kept.every((s, p) => !active[s] || counts.every((rows) => PACKET_SIZES.every((packet) => tailElements(p, kept.length, rows, packet) === tailElements(s, S, rows, packet))));
  // Remove the first k inactive seeds (k descending): the later ones, the last slot among them, stay as tail holders.
  for (let k = inactive.length; k > 0; k--) {
    const gone = new Set(inactive.slice(0, k));
    const kept = all.filter((s) => !gone.has(s));
    if (exact(kept)) return kept;
  }
  return all;
}

/**
 * Copies seed slices between variables of two models of the same spec and architecture: `to[i]`'s slot toSlots[j]
 * gets `from[i]`'s slot fromSlots[j] (every layout is seed-major, lib/models blocks.ts, so a variable reshaped to
 * [S, -1] holds slot s in row s). Values are copied, not computed: the same bits. Other slots of `to` are kept.
 */
export function copySeedSlices(from: readonly tfjs.Tensor[], fromSeeds: number, fromSlots: readonly number[], to: readonly tfjs.Variable[], toSeeds: number, toSlots: readonly number[]): void {
  const t = tf();
  if (from.length !== to.length) throw new Error(`copySeedSlices: ${from.length} source and ${to.length} target variables`);
  to.forEach((v, i) => {
    const next = t.tidy(() => {
      const src = t.reshape(from[i], [fromSeeds, -1]);
      const dst = t.reshape(v, [toSeeds, -1]);
      const rows: tfjs.Tensor[] = [];
      for (let q = 0; q < toSeeds; q++) {
        const j = toSlots.indexOf(q);
        rows.push(j >= 0 ? t.slice(src, [fromSlots[j], 0], [1, -1]) : t.slice(dst, [q, 0], [1, -1]));
      }
      return t.reshape(t.concat(rows, 0), v.shape);
    });
    v.assign(next);
    next.dispose();
  });
}

/** `x` (seed-major, `seeds` slots) reduced to slots `kept`, in that order: a new tensor. */
export function keepSlots(x: tfjs.Tensor, seeds: number, kept: readonly number[], shapeOf: (slots: number) => number[]): tfjs.Tensor {
  const t = tf();
  return t.tidy(() => {
    const rows = t.reshape(x, [seeds, -1]);
    return t.reshape(t.concat(kept.map((s) => t.slice(rows, [s, 0], [1, -1])), 0), shapeOf(kept.length));
  });
}

/** A variable's shape with `slots` seeds instead of `seeds` (the seed-major axis 0 scaled: [S, ...], [S, 1, ...], [S * rows, ...]). */
export function shapeWithSlots(shape: readonly number[], seeds: number, slots: number): number[] {
  return [(shape[0] / seeds) * slots, ...shape.slice(1)];
}
