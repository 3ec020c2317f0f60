/**
 * Row-wise (lazy) embedding updates: the gradient of an embedding lookup kept sparse, and Adam stepping only
 * the embedding rows a batch touches (TrainConfig.embeddingUpdates = "rowwise"; the default "dense" is
 * ./trainer.ts' step, unchanged).
 *
 * The step. The batch's categorical indices are on the host already (lib/train/batches.ts), so the rows it
 * touches are found there: the stacked row ids (index + its field's offset, + s * table rows for seed s of a
 * seed group, as blocks.ts' `stackedIndices`), deduplicated in order of first appearance (`RowDeduper`): U
 * unique rows and, per (row, field), its position among them. Outside the gradient tape each embedding table
 * is gathered at the U rows ([U, dim]); the model's forward pass looks its embeddings up in those gathered
 * rows (ModelInputs.embeddingRows), and the tape differentiates the loss with respect to the gathered rows
 * and the dense variables. The lookup's gradient is then [U, dim] (the rows' summed gradients: an
 * UnsortedSegmentSum over U segments, or ScatterNd on wasm, blocks.ts' `lookupRows`), never a
 * [vocabulary, dim] tensor. Dense variables keep the dense Adam of ./adam.ts (same grouping as the dense step).
 *
 * The optimizer (`RowwiseAdam`): the lazy rule of PyTorch's `torch.optim.SparseAdam` and TensorFlow Addons'
 * `LazyAdam`. For each touched row r, with g_r the row's summed gradient:
 *   m_r <- b1 m_r + (1 - b1) g_r,  v_r <- b2 v_r + (1 - b2) g_r^2,  p_r <- p_r - lr_t m_r / (sqrt(v_r) + eps_t);
 * rows not touched keep their value and both moments (their moments do not decay). What is followed exactly:
 * - the step count t of the bias corrections is the optimizer's step count, one per training step, shared
 *   by every row (LazyAdam's `iterations + 1`; SparseAdam's per-parameter `state['step']`, which counts the
 *   steps where the table got a gradient, i.e. every step here), NOT a per-row count of the row's updates;
 * - lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) as in both, with b^t accumulated in float32 as ./adam.ts does;
 * - epsilon: eps_t = eps sqrt(1 - b2^t), i.e. eps is added to sqrt(v^) (PyTorch's dense `Adam` and this
 *   project's dense Adam), where SparseAdam and LazyAdam add the uncorrected eps to sqrt(v). This is the one
 *   deliberate difference from them: with it, row-wise Adam equals the dense Adam of ./adam.ts whenever every
 *   row is touched (test/rowwise-adam.test.ts). The two placements differ by eps (1 - sqrt(1 - b2^t)) in the
 *   denominator: < 1e-8 for eps = 1e-8, at every step.
 * - weight decay (TrainConfig.weightDecay λ; neither SparseAdam nor LazyAdam has one), on the touched rows
 *   only, in the form TrainConfig.weightDecayForm names: "coupled" (the default) g_r <- g_r + λ p_r before
 *   the moments (p_r the gathered rows' values at the start of the step); "decoupled" (AdamW, as PyTorch's
 *   `AdamW`: ./adam.ts) p_r <- p_r - lr λ p_r before the step above, whose moments see the undecayed g_r.
 *   Untouched rows do not decay in either form, and a row skipped for n steps is not decayed n times when
 *   it is next touched (one decay per step that touches it): the semantics of TF Addons'
 *   `DecoupledWeightDecayExtension` on sparse gradients (`extend_with_decoupled_weight_decay(LazyAdam)`
 *   decays only the indices of the gradient; TFA's decay is not multiplied by lr, PyTorch's and this one are).
 *   With every row touched every step, either form equals the dense Adam of ./adam.ts in that form.
 * Float32 arithmetic and where the rows are written. Both moments of a table live in one variable
 * [rows, 2 dim], row r = m_r | v_r (one 64-byte cache line at dim 8), so a step reads and writes each touched
 * row's moments once: at 2M ids the touched rows' random reads and writes, not the arithmetic, are most of
 * the update's time. On the native backend the rows' update runs the same float32 ops per element as
 * ./adam.ts' per-variable update on the gathered rows (both moments side by side: bit for bit the values of
 * separate m and v), and the new rows of the moments, then of the table, are written in place by TensorFlow's
 * InplaceUpdate kernel (lib/backend/inplace-rows.ts): O(touched rows) per step, not O(table), though at
 * millions of rows each touched row costs a cache and TLB miss. Where esmm-lab's own kernels are built
 * (lib/backend/native-kernels.ts) one EsmmLazyAdamRows kernel a table does all of it in one pass over the
 * touched rows, prefetching the rows ahead: the same float32 operations, the same bits, 1.4x the examples/s
 * at 2M ids (docs/speed.md). On wasm and cpu it is one JS pass over
 * the touched rows, written in place into the backend's buffers, with the arithmetic of ./adam-kernel.ts (the
 * "kernel" grouping dense Adam uses there). On every backend a buffer shared with another tensor (a getWeights
 * clone, a best-epoch snapshot, a setWeights value) is copied first (copy-on-write, by the backend's reference
 * count). `inPlace: false` writes through TensorScatterUpdate instead (a new table each step: O(table) memory
 * traffic, the native path before the in-place kernel; same values, test/rowwise-adam.test.ts).
 */
import type * as tfjs from "@tensorflow/tfjs";
import { nativeKernelsStatus, tf } from "../backend";
import { deepCopy, inplaceUpdateRows } from "../backend/inplace-rows";
import { lazyAdamRows } from "../backend/native-kernels";
import type { ModelInputs, MultiTaskModel } from "../models";
import { gatherRows } from "../models/fast-ops";
import { Adam, AdamAccumulators, adamAccumulators, adamStepConstants, defaultAdamGrouping, WeightDecayForm, weightDecayTerms } from "./adam";
import type { AdamKernelAttrs } from "./adam-kernel";
import type { TrainConfig } from "./trainer";

/** How embedding tables are updated: "dense" (every row every step, ./adam.ts) or "rowwise" (touched rows only). */
export type EmbeddingUpdates = "dense" | "rowwise";
export const EMBEDDING_UPDATES: readonly EmbeddingUpdates[] = Object.freeze(["dense", "rowwise"]);

/** Where a model's embedding rows live: what the host needs to compute stacked row ids. */
export interface EmbeddingLayout {
  /** The trainable embedding tables (one per embedding block), each [seeds * tableRows, dim]. */
  tables: tfjs.Variable[];
  /** First row of each categorical field in a seed's stacked table. */
  offsets: number[];
  vocabularySizes: number[];
  /** Rows of one seed's stacked table (sum of the vocabulary sizes). */
  tableRows: number;
  /** Seeds stacked in each table (1 for a single model). */
  seeds: number;
}

/**
 * The embedding layout of `model` (every block has the same fields, hence the same offsets: blocks.ts).
 * Throws when a table's shape is not [seeds * tableRows, dim].
 */
export function embeddingLayout(model: MultiTaskModel): EmbeddingLayout {
  const vocabularySizes = [...model.dims.vocabularySizes];
  const offsets: number[] = [];
  let tableRows = 0;
  for (const v of vocabularySizes) {
    offsets.push(tableRows);
    tableRows += v;
  }
  const seeds = model.seeds.length;
  const tables = [...model.variables.values()].filter((i) => i.role === "embedding" && i.trainable).map((i) => i.variable);
  for (const table of tables) {
    if (table.rank !== 2 || table.shape[0] !== seeds * tableRows) {
      throw new Error(`model "${model.spec.name}": embedding table ${table.name} has shape [${table.shape.join(", ")}], expected [${seeds * tableRows}, dim]`);
    }
  }
  return { tables, offsets, vocabularySizes, tableRows, seeds };
}

/** The unique rows of a batch and each lookup's position among them. */
export interface BatchRows {
  /** Stacked row ids, each once, in order of first appearance: int32 [U]. */
  unique: Int32Array;
  /** Per (seed, row, field), row-major, the position of its stacked row id in `unique`: int32 [n]. */
  positions: Int32Array;
}

/**
 * Deduplicates a batch's stacked row ids on the host in O(n): a scratch array over all rows of the table
 * (seeds * tableRows int32, reused across batches and reset after each one).
 */
export class RowDeduper {
  private slot: Int32Array;

  constructor(private readonly layout: EmbeddingLayout) {
    this.slot = new Int32Array(layout.seeds * layout.tableRows).fill(-1);
  }

  /**
   * `categoricalRows`: the batch's indices, row-major [seeds, rows, fields] (or [rows, fields] for a single
   * model), each in [0, vocabularySizes[f]). Throws on an index out of range or a length that is not
   * seeds * rows * fields.
   */
  dedupe(categoricalRows: Int32Array, rows: number): BatchRows {
    const { offsets, vocabularySizes, tableRows, seeds } = this.layout;
    const fields = offsets.length;
    const n = seeds * rows * fields;
    if (categoricalRows.length !== n) {
      throw new Error(`row-wise updates: ${categoricalRows.length} categorical indices for ${seeds} seed(s) x ${rows} rows x ${fields} fields`);
    }
    const slot = this.slot;
    const positions = new Int32Array(n);
    const unique = new Int32Array(n);
    let u = 0;
    let k = 0; // (seed, row, field) row-major, as categoricalRows
    try {
      for (let s = 0; s < seeds; s++) {
        const seedBase = s * tableRows;
        for (let i = 0; i < rows; i++) {
          for (let f = 0; f < fields; f++, k++) {
            const value = categoricalRows[k];
            if (!(value >= 0 && value < vocabularySizes[f])) {
              throw new Error(`row-wise updates: index ${value} of field ${f} is not in [0, ${vocabularySizes[f]})`);
            }
            const id = seedBase + offsets[f] + value;
            let p = slot[id];
            if (p < 0) {
              p = u++;
              slot[id] = p;
              unique[p] = id;
            }
            positions[k] = p;
          }
        }
      }
    } finally {
      for (let i = 0; i < u; i++) slot[unique[i]] = -1;
    }
    return { unique: unique.slice(0, u), positions };
  }
}

/** The batch's categorical indices row-major ([rows, fields]), as inputTensors uploads them. */
export function rowMajorIndices(b: { size: number; categorical: Int32Array[]; categoricalRows?: Int32Array }): Int32Array {
  const nf = b.categorical.length;
  if (b.categoricalRows && b.categoricalRows.length === b.size * nf) return b.categoricalRows;
  const rows = new Int32Array(b.size * nf);
  for (let f = 0; f < nf; f++) for (let i = 0; i < b.size; i++) rows[i * nf + f] = b.categorical[f][i];
  return rows;
}

export interface RowwiseAdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Weight decay λ >= 0 on the touched rows (see `weightDecayForm`). Default 0. */
  weightDecay?: number;
  /** "coupled" (g_r + λ p_r; the default) or "decoupled" (p_r - lr λ p_r before the step: AdamW). */
  weightDecayForm?: WeightDecayForm;
  /**
   * Write the rows in place into the backend's buffers (native: InplaceUpdate after the op sequence; wasm and
   * cpu: one JS pass), or through TensorScatterUpdate (a new tensor per step). Default: in place. Same values
   * either way on native (bit for bit); on wasm and cpu to float32 rounding of the intermediates (the JS pass
   * computes in float64 and rounds what it stores).
   */
  inPlace?: boolean;
}

/** Adam's bias-corrected constants of one step (./adam.ts adamStepConstants) and the weight decay. */
export interface LazyAdamStep extends AdamKernelAttrs {
  /** Coupled λ (0: none), rounded to float32. */
  decay: number;
  /** Decoupled lr λ (0 or absent: none), rounded to float32. */
  shrink?: number;
}

/**
 * The lazy update on plain arrays, in place: for each k, row `ids[k]` of `p` (row-major [rows, dim] float32)
 * and of the moments `mv` (row-major [rows, 2 dim] float32, row r = m_r | v_r: RowwiseAdam's layout) is
 * stepped with `g`'s row k ([U, dim]); other rows untouched. `ids` must be distinct (not checked: the caller
 * dedupes; a repeated id would be stepped twice); throws on an id out of range. Arithmetic of
 * ./adam-kernel.ts' adamUpdateValues (float64 intermediates, float32 stores), coupled decay as tfjs'
 * add(g, mul(p, λ)) in float32, decoupled as sub(p, mul(p, lr λ)) in float32.
 */
export function lazyAdamRowValues(p: Float32Array, mv: Float32Array, ids: ArrayLike<number>, g: Float32Array, dim: number, a: LazyAdamStep): void {
  const { b1, oneMinusB1, b2, oneMinusB2, lrT, epsT, decay } = a;
  const shrink = a.shrink ?? 0;
  const rows = p.length / dim;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (!(id >= 0 && id < rows)) throw new Error(`row-wise Adam: row ${id} is not in [0, ${rows})`);
    const base = id * dim;
    const mBase = 2 * base;
    const vBase = mBase + dim;
    const gBase = k * dim;
    for (let j = 0; j < dim; j++) {
      const i = base + j;
      const pi = shrink === 0 ? p[i] : Math.fround(p[i] - Math.fround(p[i] * shrink));
      let gi = g[gBase + j];
      if (decay !== 0) gi = Math.fround(gi + Math.fround(pi * decay));
      const mi = Math.fround(b1 * mv[mBase + j] + oneMinusB1 * gi);
      const vi = Math.fround(b2 * mv[vBase + j] + oneMinusB2 * (gi * gi));
      mv[mBase + j] = mi;
      mv[vBase + j] = vi;
      p[i] = pi + lrT * (mi / (Math.sqrt(vi) + epsT));
    }
  }
}

interface CpuLike {
  readSync(dataId: object): unknown;
  refCount(dataId: object): number;
}
interface WasmLike {
  typedArrayFromHeap(info: { dataId: object; shape: number[]; dtype: string }): Float32Array;
  refCount(dataId: object): number;
}

/**
 * Lazy Adam for embedding tables (see the file comment for the rule and what it follows): `apply` steps the
 * rows `ids` of each table with their gradients, and only those rows' moments. One instance per training
 * run; its step count advances once per `apply`.
 */
export class RowwiseAdam {
  /**
   * Both moments of table i in one variable [rows, 2 dim]: row r = m_r | v_r (at dim 8, 64 bytes: one cache
   * line), so one gather and one in-place write serve both moments of a row.
   */
  private readonly mv: tfjs.Variable[];
  /** Per table, the rows [1, 2 dim] the moments are scaled by (b1 dim times, then b2) and g | g^2 by (1 - b1, 1 - b2); made at the first op-sequence step. */
  private rates?: { decay: tfjs.Tensor2D; gradient: tfjs.Tensor2D }[];
  private steps = 0;
  /** beta1^t and beta2^t (./adam.ts adamStepConstants). */
  private readonly acc: AdamAccumulators;
  private readonly inPlace: boolean;
  /** In place by one JS pass over the backend's buffers (wasm, cpu), not by the op sequence + InplaceUpdate (native). */
  private readonly jsPass: boolean;
  /** Native, with esmm-lab's kernels loaded: the in-place update is one EsmmLazyAdamRows kernel a table (same bits). */
  private readonly nativeKernel: boolean;
  /** Buffers this optimizer owns (created by it, so writable in place while nothing else shares them). */
  private readonly owned = new WeakMap<tfjs.Variable, object>();
  /** λ of the coupled form and lr λ of the decoupled one (./adam.ts weightDecayTerms). */
  private readonly decay: { coupled: number; decoupled: number };

  /** Throws on a table that is not rank 2 float32, a weight decay that is not finite and >= 0 or an unknown form. */
  constructor(
    readonly tables: tfjs.Variable[],
    readonly config: RowwiseAdamConfig,
  ) {
    const t = tf();
    this.decay = weightDecayTerms(config, "row-wise Adam");
    for (const x of tables) {
      if (x.rank !== 2 || x.dtype !== "float32") throw new Error(`row-wise Adam: table ${x.name} must be float32 [rows, dim], got ${x.dtype} [${x.shape.join(", ")}]`);
    }
    const backend = t.getBackend();
    const canWriteInPlace = backend === "wasm" || backend === "cpu" || backend === "tensorflow";
    this.inPlace = config.inPlace ?? canWriteInPlace;
    if (this.inPlace && !canWriteInPlace) throw new Error(`row-wise Adam: in-place updates need the tensorflow, wasm or cpu backend, not ${backend}`);
    this.jsPass = this.inPlace && backend !== "tensorflow";
    this.nativeKernel = backend === "tensorflow" && nativeKernelsStatus().loaded;
    this.acc = adamAccumulators(config);
    this.mv = tables.map((x) => {
      const z = t.zeros([x.shape[0] as number, 2 * (x.shape[1] as number)]);
      const variable = t.variable(z, false, `${x.name}/lazy-adam/mv#${++lazyCounter}`);
      z.dispose();
      this.owned.set(variable, variable.dataId); // a fresh buffer nothing else holds: no copy before the first write
      return variable;
    });
  }

  /**
   * The first and second moments of table i, each [rows, dim]: new tensors copied from the optimizer's state
   * (the caller disposes them; later steps do not change them). O(table): for inspection and tests.
   */
  moments(i: number): { m: tfjs.Tensor2D; v: tfjs.Tensor2D } {
    const t = tf();
    const mv = this.mv[i];
    const [rows, dim] = [mv.shape[0] as number, (mv.shape[1] as number) / 2];
    const all = mv.dataSync() as Float32Array;
    const m = new Float32Array(rows * dim);
    const v = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      m.set(all.subarray(2 * r * dim, (2 * r + 1) * dim), r * dim);
      v.set(all.subarray((2 * r + 1) * dim, (2 * r + 2) * dim), r * dim);
    }
    return { m: t.tensor2d(m, [rows, dim], "float32"), v: t.tensor2d(v, [rows, dim], "float32") };
  }

  /**
   * One step. `ids`: the touched rows, distinct, as int32 [U] on the host and `idsColumn` [U, 1] on the
   * backend; `grads[i]`: table i's summed gradient of those rows [U, dim]; `rows[i]`: table i's values at
   * those rows at the start of the step [U, dim] (what the loss was computed from; used by the weight decay).
   * Call inside tf.tidy. Throws on shapes that do not match.
   */
  apply(ids: Int32Array, idsColumn: tfjs.Tensor2D, grads: tfjs.Tensor2D[], rows: tfjs.Tensor2D[]): void {
    const t = tf();
    if (grads.length !== this.tables.length || rows.length !== this.tables.length) {
      throw new Error(`row-wise Adam: ${grads.length} gradients and ${rows.length} row sets for ${this.tables.length} tables`);
    }
    const U = ids.length;
    this.tables.forEach((x, i) => {
      for (const [what, y] of [["gradient", grads[i]], ["rows", rows[i]]] as const) {
        if (y.rank !== 2 || y.shape[0] !== U || y.shape[1] !== x.shape[1]) {
          throw new Error(`row-wise Adam: ${what} of table ${x.name} is [${y.shape.join(", ")}], expected [${U}, ${x.shape[1]}]`);
        }
      }
    });
    this.steps++;
    const step: LazyAdamStep = {
      ...adamStepConstants(this.acc, this.config),
      decay: Math.fround(this.decay.coupled),
      shrink: Math.fround(this.decay.decoupled),
    };
    if (U === 0) return;
    if (this.jsPass) {
      this.tables.forEach((x, i) => {
        const g = grads[i].dataSync() as Float32Array;
        const targets = [x, this.mv[i]];
        // Every copy first, then the views: an allocation may grow (and detach) wasm's heap.
        for (const y of targets) this.own(y);
        const [pv, mv] = targets.map((y) => this.view(y));
        lazyAdamRowValues(pv, mv, ids, g, x.shape[1] as number, step);
      });
      return;
    }
    if (this.inPlace && this.nativeKernel) {
      // The same float32 operations per element as the op sequence below, in one pass over the touched rows
      // (lib/backend/native-kernels.cc's EsmmLazyAdamRows: the same bits).
      this.tables.forEach((x, i) => {
        this.own(x);
        this.own(this.mv[i]);
        lazyAdamRows(t.backend(), x, this.mv[i], idsColumn, grads[i], { ...step, shrink: step.shrink ?? 0 });
      });
      return;
    }
    // The op sequence of ./adam.ts' per-variable update, on the gathered rows, element for element the same
    // float32 ops (m b1 + g (1 - b1), v b2 + g^2 (1 - b2)), with both moments side by side in one [U, 2 dim].
    // The moments are written as soon as they are computed, while their rows are still in cache.
    const rates = this.momentRates();
    const lrT = t.scalar(step.lrT);
    const epsT = t.scalar(step.epsT);
    const { coupled: decay, decoupled: shrink } = this.decay;
    const ids1 = this.inPlace ? (t.reshape(idsColumn, [U]) as tfjs.Tensor1D) : undefined;
    const write = (y: tfjs.Variable, value: tfjs.Tensor2D) => {
      if (ids1) {
        this.own(y);
        inplaceUpdateRows(y, ids1, value);
      } else {
        y.assign(scatterRows(y, idsColumn, value));
      }
    };
    this.tables.forEach((x, i) => {
      const p = shrink === 0 ? rows[i] : t.sub(rows[i], t.mul(rows[i], t.scalar(shrink)));
      const g = decay === 0 ? grads[i] : t.add(grads[i], t.mul(p, t.scalar(decay)));
      const gg = t.mul(t.concat([g, t.square(g)], 1), rates[i].gradient);
      const mv = t.add(t.mul(gatherRows(this.mv[i] as tfjs.Tensor2D, idsColumn), rates[i].decay), gg) as tfjs.Tensor2D;
      write(this.mv[i], mv);
      const [m, v] = t.split(mv, 2, 1);
      write(x, t.add(p, t.mul(t.div(m, t.add(t.sqrt(v), epsT)), lrT)) as tfjs.Tensor2D);
    });
  }

  /** The per-table rows of `rates`, made (and kept outside any tidy) at the first call. */
  private momentRates(): { decay: tfjs.Tensor2D; gradient: tfjs.Tensor2D }[] {
    const t = tf();
    const { beta1, beta2 } = this.config;
    const row = (dim: number, a: number, b: number) => {
      const values = new Float32Array(2 * dim);
      values.fill(a, 0, dim);
      values.fill(b, dim);
      return t.keep(t.tensor2d(values, [1, 2 * dim], "float32"));
    };
    this.rates ??= this.tables.map((x) => {
      const dim = x.shape[1] as number;
      return { decay: row(dim, beta1, beta2), gradient: row(dim, 1 - beta1, 1 - beta2) };
    });
    return this.rates;
  }

  /**
   * Makes `x`'s buffer safe to write in place: when it is shared (another tensor holds the same data, e.g. a
   * getWeights clone) or was not made by this optimizer (a setWeights value, whose cpu buffer may be a
   * caller's array), `x` first gets a private copy.
   */
  private own(x: tfjs.Variable): void {
    const t = tf();
    const backend = t.backend() as unknown as CpuLike; // tfjs-node's backend has the same refCount
    if (this.owned.get(x) === x.dataId && backend.refCount(x.dataId) === 1) return;
    // Native: one copy inside TensorFlow; wasm and cpu: through the host (their buffers are host memory anyway).
    const copy = t.getBackend() === "tensorflow" ? deepCopy(x) : t.tensor(Float32Array.from(x.dataSync() as Float32Array), x.shape, "float32");
    x.assign(copy);
    copy.dispose();
    this.owned.set(x, x.dataId);
  }

  /** The backend's own float32 buffer of `x` (wasm: a view of the heap; cpu: the stored array). */
  private view(x: tfjs.Variable): Float32Array {
    const t = tf();
    const backend = t.backend() as unknown as CpuLike & WasmLike;
    if (t.getBackend() === "wasm") return backend.typedArrayFromHeap({ dataId: x.dataId, shape: x.shape, dtype: "float32" });
    return backend.readSync(x.dataId) as Float32Array;
  }

  dispose(): void {
    for (const x of this.mv) x.dispose();
    for (const r of this.rates ?? []) for (const y of [r.decay, r.gradient]) y.dispose();
    this.mv.length = 0;
    this.rates = undefined;
  }
}

let lazyCounter = 0;

/**
 * `x` with rows `ids` ([U, 1]) replaced by `rows` ([U, dim]): TensorScatterUpdate, a new tensor. On the cpu
 * backend of tfjs 4.22 that kernel writes into its input's buffer (its output shares the input's array), which
 * would also change every tensor sharing `x`'s data (a getWeights snapshot): there `x` is copied first.
 */
function scatterRows(x: tfjs.Tensor, ids: tfjs.Tensor2D, rows: tfjs.Tensor2D): tfjs.Tensor {
  const t = tf();
  const input = t.getBackend() === "cpu" ? t.tensor(Float32Array.from(x.dataSync() as Float32Array), x.shape, "float32") : x;
  return t.tensorScatterUpdate(input, ids, rows);
}

/**
 * The training step with row-wise embedding updates, of the one training loop (lib/train/trainer.ts trainSeeds), for S = 1 and seed groups alike: dense Adam
 * (./adam.ts, the backend's default grouping) over the model's other trainable variables, RowwiseAdam over its
 * embedding tables. Owns both optimizers' state: dispose it after training.
 */
export class RowwiseTraining {
  readonly layout: EmbeddingLayout;
  private readonly dense: tfjs.Variable[];
  private readonly denseAdam?: Adam;
  readonly embeddingAdam: RowwiseAdam;
  private readonly deduper: RowDeduper;

  constructor(
    private readonly model: MultiTaskModel,
    config: Pick<TrainConfig, "learningRate" | "adamBeta1" | "adamBeta2" | "adamEpsilon" | "weightDecay" | "weightDecayForm">,
    options: { inPlace?: boolean } = {},
  ) {
    this.layout = embeddingLayout(model);
    const tables = new Set(this.layout.tables);
    this.dense = model.trainableVariables().filter((v) => !tables.has(v));
    const adam = { learningRate: config.learningRate, beta1: config.adamBeta1, beta2: config.adamBeta2, epsilon: config.adamEpsilon, weightDecay: config.weightDecay, weightDecayForm: config.weightDecayForm };
    if (this.dense.length > 0) this.denseAdam = new Adam(this.dense, { ...adam, grouping: defaultAdamGrouping() });
    this.embeddingAdam = new RowwiseAdam(this.layout.tables, { ...adam, inPlace: options.inPlace });
    this.deduper = new RowDeduper(this.layout);
  }

  /**
   * One step: differentiates `objective` (the batch's loss from its inputs) with respect to the dense
   * variables and the batch's gathered embedding rows, then updates both. `categoricalRows`: the batch's
   * indices on the host, row-major [seeds, rows, fields] ([rows, fields] for a single model), the values of
   * `inputs.categoricalMatrix`. Returns the objective's value. Call inside tf.tidy. Throws when a variable
   * receives no gradient.
   */
  step(inputs: ModelInputs, categoricalRows: Int32Array, rows: number, objective: (inputs: ModelInputs) => tfjs.Scalar): tfjs.Scalar {
    const t = tf();
    const { tables } = this.layout;
    let embeddingRows: ModelInputs["embeddingRows"];
    let batch: BatchRows | undefined;
    let idsColumn: tfjs.Tensor2D | undefined;
    let gathered: tfjs.Tensor2D[] = [];
    if (tables.length > 0) {
      batch = this.deduper.dedupe(categoricalRows, rows);
      idsColumn = t.tensor2d(batch.unique, [batch.unique.length, 1], "int32");
      const positions = t.tensor2d(batch.positions, [batch.positions.length, 1], "int32");
      gathered = tables.map((x) => gatherRows(x as tfjs.Tensor2D, idsColumn!));
      embeddingRows = { positions, rows: new Map(tables.map((x, i) => [x, gathered[i]])) };
    }
    const xs: tfjs.Tensor[] = [...this.dense, ...gathered];
    const { value, grads } = t.engine().gradients(() => objective(embeddingRows ? { ...inputs, embeddingRows } : inputs), xs, undefined, true);
    grads.forEach((g, i) => {
      if (!g) {
        const what = i < this.dense.length ? `variable ${this.dense[i].name}` : `embedding table ${tables[i - this.dense.length].name}`;
        throw new Error(`model "${this.model.spec.name}": ${what} received no gradient`);
      }
    });
    this.denseAdam?.apply(grads.slice(0, this.dense.length));
    if (batch) this.embeddingAdam.apply(batch.unique, idsColumn!, grads.slice(this.dense.length) as tfjs.Tensor2D[], gathered);
    return value as tfjs.Scalar;
  }

  dispose(): void {
    this.denseAdam?.dispose();
    this.embeddingAdam.dispose();
  }
}
