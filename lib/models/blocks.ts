/**
 * Building blocks with low-level ops: a store of named variables, embedding tables (every categorical
 * field's table stacked along axis 0 in one variable, looked up with one gather), and MLP towers (dense +
 * optional batch norm + ReLU, ending in an optional 1-unit logit layer).
 *
 * Initialisation (as in docs/protocol-facts.md): embeddings uniform in +-embeddingInitScale (0.05), dense kernels
 * glorot-uniform, biases zero, batch-norm gamma 1 / beta 0; every initialiser is seeded from the model seed
 * and the variable's local name, so two towers never start from the same draw and a seed reproduces a model.
 *
 * Seed groups. A store made with a list of seeds holds S models in one set of variables, stacked on a
 * leading seed axis: each variable's slice s is the value a single model of seed s would get (the
 * initialiser is called once per seed, with that seed), a kernel is [S, in, out], a bias [S, 1, out] and an
 * embedding block's table [S * rows, dim] (seed s's rows from s * rows; the lookup adds s * rows to the
 * indices). Activations then carry the seed axis too ([S, batch, width]) and a dense layer is one batched
 * matrix product over it, so a training step runs the same kernels for S seeds as for one. Batch norm is not
 * supported in a seed group.
 *
 * Dropout (Architecture.dropout, default 0): an MLP created while the store's `dropout` rate is above 0
 * applies inverted dropout after each hidden ReLU in training mode only (./dropout.ts); without it the
 * forward pass is unchanged. Not supported in a seed group either (its masks are drawn per model seed).
 */
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../backend";
import { denseBackward, denseForward, gatherRows, scatterAddRows } from "./fast-ops";
import { MlpDropout, applyDropout } from "./dropout";

let instanceCounter = 0;

/** Which part of the model a variable belongs to (for parameter counts). */
export type VariableRole = "embedding" | "dense" | "batchnorm" | "gate" | "transfer";

export interface VariableInfo {
  /** Local name, e.g. `trunk/emb` (a block's stacked embedding tables), `ctr/mlp/2/kernel`. */
  name: string;
  variable: tfjs.Variable;
  trainable: boolean;
  role: VariableRole;
  /** `trunk` for the shared trunk (embeddings, shared layers, shared experts and gates), otherwise the tower (`ctr`, `cvr`, ...). */
  owner: string;
  size: number;
}

/**
 * How a seed group lays a variable's per-seed values out (see the file comment): "stack" [S, ...shape],
 * "bias" [S, 1, ...shape] (broadcasts over a batch's rows), "rows" concatenated along axis 0 [S * rows, ...].
 */
export type SeedLayout = "stack" | "bias" | "rows";

/**
 * Named variables of one model instance. Local names are unique within the model; the underlying tfjs
 * variables get a process-unique prefix (tfjs registers variable names globally).
 */
export class VariableStore {
  readonly prefix: string;
  readonly infos = new Map<string, VariableInfo>();
  /** The seeds of a seed group, in order; one seed for a single model. */
  readonly seeds: number[];
  /** True for a seed group (variables carry a leading seed axis), even of one seed. */
  readonly grouped: boolean;
  /** The seed whose initial values are being drawn (seedFor reads it). */
  private current: number;
  /** Dropout rate of the MLPs created from now on (Architecture.dropout; set by buildModel). Default 0. */
  dropout = 0;

  /**
   * @param seed one model seed, or a seed group's seeds (distinct integers; a group of one seed is allowed
   *   and keeps the seed axis). Throws on an empty or repeated list.
   */
  constructor(modelName: string, seed: number | number[]) {
    this.prefix = `${modelName}#${++instanceCounter}`;
    this.grouped = Array.isArray(seed);
    this.seeds = Array.isArray(seed) ? [...seed] : [seed];
    if (this.seeds.length === 0) throw new Error(`model "${modelName}": a seed group needs at least one seed`);
    if (new Set(this.seeds).size !== this.seeds.length) throw new Error(`model "${modelName}": repeated seed in group [${this.seeds.join(", ")}]`);
    this.current = this.seeds[0];
  }

  /** The model seed (the first seed of a group). */
  get seed(): number {
    return this.seeds[0];
  }

  /**
   * A variable initialised by `init` (called once per seed of a group, each call seeded by seedFor with that
   * seed) and laid out by `layout` in a group. `size` in its info is one seed's parameter count.
   */
  create(name: string, owner: string, role: VariableRole, init: () => tfjs.Tensor, trainable = true, layout: SeedLayout = "stack"): tfjs.Variable {
    if (this.infos.has(name)) throw new Error(`variable "${name}" already exists in ${this.prefix}`);
    const t = tf();
    let value: tfjs.Tensor;
    if (!this.grouped) {
      value = init();
    } else {
      value = t.tidy(() => {
        const parts = this.seeds.map((s) => {
          this.current = s;
          return init();
        });
        this.current = this.seeds[0];
        return layout === "rows" ? t.concat(parts, 0) : t.stack(layout === "bias" ? parts.map((p) => t.expandDims(p, 0)) : parts, 0);
      });
    }
    const variable = t.variable(value, trainable, `${this.prefix}/${name}`);
    value.dispose();
    this.infos.set(name, { name, variable, trainable, role, owner, size: variable.size / this.seeds.length });
    return variable;
  }

  /** Seed for the initialiser of variable `name` (alea accepts strings): the model seed, or in a group the seed being drawn. */
  seedFor(name: string): string {
    return `${this.current}/${name}`;
  }

  get(name: string): tfjs.Variable {
    const info = this.infos.get(name);
    if (!info) throw new Error(`no variable "${name}" in ${this.prefix}`);
    return info.variable;
  }

  trainableVariables(): tfjs.Variable[] {
    return [...this.infos.values()].filter((i) => i.trainable).map((i) => i.variable);
  }

  dispose(): void {
    for (const i of this.infos.values()) i.variable.dispose();
    this.infos.clear();
  }
}

/** Inputs of a forward pass. Give the categorical indices as `categoricalMatrix` or as `categorical`. */
export interface ModelInputs {
  /** One int32 [batch] tensor per categorical field, values in [0, vocabularySize). */
  categorical?: tfjs.Tensor1D[];
  /**
   * The same indices as one int32 [batch, fields] tensor, row-major (what lib/train builds: one upload
   * instead of one per field). Used when present. A seed group also takes [S, batch, fields]: seed s's own
   * rows (its own batch order); [batch, fields] then means the same rows for every seed (evaluation).
   */
  categoricalMatrix?: tfjs.Tensor2D | tfjs.Tensor3D;
  /** float32 [batch, numericFields] (or [S, batch, numericFields] in a seed group, as above); absent when there are no numeric fields. */
  numeric?: tfjs.Tensor2D | tfjs.Tensor3D;
  /**
   * Row-wise embedding updates (lib/train/rowwise.ts): the rows a training batch touches, gathered from each
   * block's table outside the gradient tape, and each (row, field)'s position among them. When present, every
   * block with a table looks its embeddings up in `rows.get(block.table)` ([U, dim], the tape's variable) at
   * `positions` ([n, 1] int32, n = batch * fields, or S * batch * fields in a seed group, in the order of
   * `stackedIndices`), so the lookup's gradient is [U, dim], never [table rows, dim]. The values are those of
   * the table lookup. Absent (the default): the lookup reads the tables.
   */
  embeddingRows?: { positions: tfjs.Tensor2D; rows: ReadonlyMap<tfjs.Variable, tfjs.Tensor2D> };
}

export interface EmbeddingBlock {
  scope: string;
  /**
   * Every field's embedding table stacked along axis 0, one variable: [sum of vocabulary sizes, dim], field f's
   * rows starting at offsets[f]. Stored once: the forward pass and the training step read it directly (one
   * gather per block), nothing is kept in step. Undefined without categorical fields.
   */
  table?: tfjs.Variable;
  /** Categorical fields (tables) in the block. */
  fields: number;
  /** Width of the concatenated input (fields * dim + numeric fields). */
  outputDim: number;
  /** Embedding size. */
  dim: number;
  /** First row of each field's table in the stacked table (prefix sums of the vocabulary sizes). */
  offsets: number[];
  /** Vocabulary size of each field (rows of its table). */
  vocabularySizes: number[];
  /** Seeds stacked in the table (seed s's rows start at s * rows); 1 for a single model. */
  seeds: number;
  /** A seed group's block (activations carry the seed axis). */
  grouped: boolean;
}

/**
 * An embedding block: one variable `scope` holding every field's table, each initialised uniform in
 * +-initScale from its own seeded draw (`<seed>/<scope>/<field>`, the draws the per-field tables of the
 * earlier layout had, so a seed gives the same initial values).
 */
export function createEmbeddings(
  store: VariableStore,
  scope: string,
  owner: string,
  fields: string[],
  vocabularySizes: number[],
  numericCount: number,
  dim: number,
  initScale: number,
): EmbeddingBlock {
  const t = tf();
  const offsets: number[] = [];
  let rows = 0;
  for (const v of vocabularySizes) {
    offsets.push(rows);
    rows += v;
  }
  const table =
    fields.length === 0
      ? undefined
      : store.create(
          scope,
          owner,
          "embedding",
          () =>
            t.tidy(() => {
              const parts = fields.map((field, f) => t.randomUniform([vocabularySizes[f], dim], -initScale, initScale, "float32", store.seedFor(`${scope}/${field}`)));
              return parts.length === 1 ? parts[0] : t.concat(parts, 0);
            }),
          true,
          "rows",
        );
  return {
    scope,
    table,
    fields: fields.length,
    outputDim: fields.length * dim + numericCount,
    dim,
    offsets,
    vocabularySizes: [...vocabularySizes],
    seeds: store.seeds.length,
    grouped: store.grouped,
  };
}

/** Field `f`'s rows of a block's stacked table: [vocabularySizes[f], dim] (a new tensor; the caller disposes). */
export function fieldTable(block: EmbeddingBlock, f: number): tfjs.Tensor2D {
  if (!block.table) throw new Error(`embeddings ${block.scope}: no categorical fields`);
  if (block.grouped) throw new Error(`embeddings ${block.scope}: fieldTable of a seed group (slice one seed's rows instead)`);
  return tf().slice(block.table, [block.offsets[f], 0], [block.vocabularySizes[f], block.dim]) as tfjs.Tensor2D;
}

/** Number of rows of `inputs` and of categorical fields it carries. */
export function inputShape(inputs: ModelInputs): { rows: number; fields: number } {
  const m = inputs.categoricalMatrix;
  if (m) return { rows: m.shape[m.rank - 2], fields: m.shape[m.rank - 1] };
  const c = inputs.categorical ?? [];
  const num = inputs.numeric;
  return { rows: c.length > 0 ? c[0].shape[0] : num ? num.shape[num.rank - 2] : 0, fields: c.length };
}

/**
 * Row indices into the stacked tables of `block`, one per (row, field), row-major, as a column:
 * [batch * fields, 1] int32 (index + offset of its field). Shared by every block with the same offsets.
 * In a seed group: [S * batch * fields, 1], seed-major, seed s's indices shifted by s * rows (one add of an
 * [S, 1, fields] offset tensor, which also broadcasts evaluation's shared [batch, fields] rows to every seed).
 */
export function stackedIndices(block: EmbeddingBlock, inputs: ModelInputs): tfjs.Tensor2D {
  const t = tf();
  const { rows, fields } = inputShape(inputs);
  const matrix = inputs.categoricalMatrix ?? (t.stack(inputs.categorical!, 1) as tfjs.Tensor2D);
  if (block.grouped) {
    const tableRows = block.vocabularySizes.reduce((a, b) => a + b, 0);
    const offsets = new Int32Array(block.seeds * fields);
    for (let s = 0; s < block.seeds; s++) for (let f = 0; f < fields; f++) offsets[s * fields + f] = s * tableRows + block.offsets[f];
    const shifted = t.add(matrix, t.tensor3d(offsets, [block.seeds, 1, fields], "int32"));
    return t.reshape(shifted, [block.seeds * rows * fields, 1]) as tfjs.Tensor2D;
  }
  const shifted = block.offsets.some((o) => o !== 0) ? t.add(matrix, t.tensor1d(block.offsets, "int32")) : matrix;
  return t.reshape(shifted, [rows * fields, 1]) as tfjs.Tensor2D;
}

/**
 * Embedding lookup as one op: rows `indices` ([n, 1]) of `table`, whose gradient is one scatter-add into
 * the table's shape (tfjs' own gather gradient adds two Transpose and two Reshape kernels per call).
 */
export function lookupRows(table: tfjs.Tensor2D, indices: tfjs.Tensor2D): tfjs.Tensor2D {
  const t = tf();
  const rows = table.shape[0];
  const op = t.customGrad((tableIn, save) => {
    // The indices are not an input of the op: keep them for the backward pass through `save` (the forward
    // pass' intermediates are disposed before it runs).
    (save as tfjs.GradSaveFunc)([indices]);
    return {
      value: gatherRows(tableIn as tfjs.Tensor2D, indices),
      gradFunc: (dy, saved) => [scatterAddRows(dy as tfjs.Tensor2D, saved[0] as tfjs.Tensor2D, rows)],
    };
  });
  return op(table) as tfjs.Tensor2D;
}

/**
 * Embeddings of every field, concatenated with the numeric inputs: [batch, outputDim] ([S, batch, outputDim]
 * in a seed group). One gather from the block's stacked table with per-field row offsets; `indices` as from
 * `stackedIndices` (computed when absent).
 */
export function applyEmbeddings(block: EmbeddingBlock, inputs: ModelInputs, indices?: tfjs.Tensor2D): tfjs.Tensor2D {
  const gathered = block.table ? inputs.embeddingRows?.rows.get(block.table) : undefined;
  if (gathered) return applyEmbeddingsFrom(block, inputs, gathered, inputs.embeddingRows!.positions);
  const t = tf();
  const { rows, fields } = inputShape(inputs);
  const lead = block.grouped ? [block.seeds] : [];
  const parts: tfjs.Tensor[] = [];
  if (block.table) {
    if (fields !== block.fields) throw new Error(`embeddings ${block.scope}: ${block.fields} tables but ${fields} categorical inputs`);
    const idx = indices ?? stackedIndices(block, inputs);
    parts.push(t.reshape(lookupRows(block.table as tfjs.Tensor2D, idx), [...lead, rows, fields * block.dim]));
  }
  return withNumeric(block, inputs, parts, lead);
}

/**
 * applyEmbeddings with the rows looked up in `source` ([U, dim], e.g. a batch's gathered rows) at `positions`
 * ([batch * fields, 1], or [S * batch * fields, 1] in a seed group, int32 in [0, U)) instead of the block's
 * table: the same values when source[positions[k]] = table[stackedIndices[k]], and a gradient of shape [U, dim].
 */
export function applyEmbeddingsFrom(block: EmbeddingBlock, inputs: ModelInputs, source: tfjs.Tensor2D, positions: tfjs.Tensor2D): tfjs.Tensor2D {
  const t = tf();
  const { rows, fields } = inputShape(inputs);
  const lead = block.grouped ? [block.seeds] : [];
  if (fields !== block.fields) throw new Error(`embeddings ${block.scope}: ${block.fields} tables but ${fields} categorical inputs`);
  if (source.shape[1] !== block.dim) throw new Error(`embeddings ${block.scope}: gathered rows of width ${source.shape[1]}, the table's is ${block.dim}`);
  const parts: tfjs.Tensor[] = [t.reshape(lookupRows(source, positions), [...lead, rows, fields * block.dim])];
  return withNumeric(block, inputs, parts, lead);
}

/** `parts` (the embeddings, if any) concatenated with the numeric inputs along the feature axis. */
function withNumeric(block: EmbeddingBlock, inputs: ModelInputs, parts: tfjs.Tensor[], lead: number[]): tfjs.Tensor2D {
  const t = tf();
  const numeric = inputs.numeric;
  if (numeric && numeric.shape[numeric.rank - 1] > 0) {
    parts.push(block.grouped && numeric.rank === 2 ? t.broadcastTo(numeric, [block.seeds, ...numeric.shape]) : numeric);
  }
  if (parts.length === 0) throw new Error(`embeddings ${block.scope}: no input fields`);
  return (parts.length === 1 ? parts[0] : t.concat(parts, lead.length + 1)) as tfjs.Tensor2D;
}

export interface DenseLayer {
  name: string;
  kernel: tfjs.Variable;
  /** Absent when batch norm follows (its beta plays the bias' role). */
  bias?: tfjs.Variable;
  batchNorm?: { gamma: tfjs.Variable; beta: tfjs.Variable; movingMean: tfjs.Variable; movingVariance: tfjs.Variable };
  relu: boolean;
}

export interface Mlp {
  scope: string;
  layers: DenseLayer[];
  outputDim: number;
  /** Dropout after each hidden ReLU in training mode (./dropout.ts); absent when the rate is 0. */
  dropout?: MlpDropout;
}

/** Batch-norm constants (the tfjs-layers defaults). */
export const BATCH_NORM_MOMENTUM = 0.99;
export const BATCH_NORM_EPSILON = 1e-3;

/**
 * Dense layers of sizes `units` (ReLU, with batch norm if asked), then a 1-unit linear logit layer when
 * `logit` is true.
 */
export function createMlp(
  store: VariableStore,
  scope: string,
  owner: string,
  inputDim: number,
  units: number[],
  logit: boolean,
  batchNorm: boolean,
): Mlp {
  const t = tf();
  if (batchNorm && store.grouped) throw new Error(`${scope}: batch norm is not supported in a seed group (train its seeds one by one)`);
  if (store.dropout > 0 && store.grouped) throw new Error(`${scope}: dropout is not supported in a seed group (train its seeds one by one)`);
  const layers: DenseLayer[] = [];
  const sizes = logit ? [...units, 1] : units;
  let fanIn = inputDim;
  sizes.forEach((fanOut, i) => {
    const isLogit = logit && i === sizes.length - 1;
    const name = `${scope}/${i}`;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const kernel = store.create(`${name}/kernel`, owner, "dense", () =>
      t.randomUniform([fanIn, fanOut], -limit, limit, "float32", store.seedFor(`${name}/kernel`)),
    );
    const layer: DenseLayer = { name, kernel, relu: !isLogit };
    if (batchNorm && !isLogit) {
      layer.batchNorm = {
        gamma: store.create(`${name}/bn/gamma`, owner, "batchnorm", () => t.ones([fanOut])),
        beta: store.create(`${name}/bn/beta`, owner, "batchnorm", () => t.zeros([fanOut])),
        movingMean: store.create(`${name}/bn/movingMean`, owner, "batchnorm", () => t.zeros([fanOut]), false),
        movingVariance: store.create(`${name}/bn/movingVariance`, owner, "batchnorm", () => t.ones([fanOut]), false),
      };
    } else {
      layer.bias = store.create(`${name}/bias`, owner, "dense", () => t.zeros([fanOut]), true, "bias");
    }
    layers.push(layer);
    fanIn = fanOut;
  });
  const dropout = store.dropout > 0 ? { rate: store.dropout, seed: store.seedFor(`${scope}/dropout`), calls: 0 } : undefined;
  return { scope, layers, outputDim: fanIn, ...(dropout ? { dropout } : {}) };
}

/**
 * Dense layer y = act(x W + b) as one op with a hand-written gradient: dx = dz W^T, dW = x^T dz,
 * db = sum over rows of dz, dz = dy * (y > 0) for ReLU. Same values as tfjs' own gradient of
 * matMul + bias + relu (test/models.test.ts checks). Forward and backward run the cheapest kernels of
 * the current backend (./fast-ops.ts: `_FusedMatMul` on wasm/cpu, TensorFlow's BatchMatMulV2 / BiasAdd /
 * ReluGrad / BiasAddGrad on native, explicit transposes on wasm, whose transposed matMul is 5-8x slower).
 * Saved tensors go through `save` (tfjs disposes a custom op's forward intermediates).
 */
export function dense(x: tfjs.Tensor2D, kernel: tfjs.Tensor2D, bias: tfjs.Tensor1D | undefined, relu: boolean): tfjs.Tensor2D {
  const t = tf();
  const gradFunc = (dy: tfjs.Tensor | tfjs.Tensor[], saved: tfjs.Tensor[]): tfjs.Tensor[] =>
    denseBackward(dy as tfjs.Tensor2D, saved[0] as tfjs.Tensor2D, saved[1] as tfjs.Tensor2D, saved[2] as tfjs.Tensor2D, relu, bias !== undefined);
  if (bias) {
    const op = t.customGrad((xi, wi, bi, save) => {
      const out = denseForward(xi as tfjs.Tensor2D, wi as tfjs.Tensor2D, bi as tfjs.Tensor1D, relu);
      (save as tfjs.GradSaveFunc)([xi as tfjs.Tensor2D, wi as tfjs.Tensor2D, out]);
      return { value: out, gradFunc };
    });
    return op(x, kernel, bias) as tfjs.Tensor2D;
  }
  const op = t.customGrad((xi, wi, save) => {
    const out = denseForward(xi as tfjs.Tensor2D, wi as tfjs.Tensor2D, undefined, relu);
    (save as tfjs.GradSaveFunc)([xi as tfjs.Tensor2D, wi as tfjs.Tensor2D, out]);
    return { value: out, gradFunc };
  });
  return op(x, kernel) as tfjs.Tensor2D;
}

/**
 * Forward through an MLP. In training mode batch norm uses the batch's moments and updates its moving
 * statistics (an `assign`, which the gradient tape ignores); otherwise it uses the moving statistics.
 */
export function applyMlp(mlp: Mlp, x: tfjs.Tensor2D, training: boolean): tfjs.Tensor2D {
  return applyMlpLayers(mlp, x, training, 0, mlp.layers.length);
}

/** Forward through layers [from, to) of an MLP (as applyMlp; a tower with a transfer edge stops before its logit layer). */
export function applyMlpLayers(mlp: Mlp, x: tfjs.Tensor2D, training: boolean, from: number, to: number): tfjs.Tensor2D {
  const t = tf();
  let h = x;
  const drop = training && mlp.dropout ? mlp.dropout : undefined;
  const call = drop ? drop.calls++ : 0;
  for (const layer of mlp.layers.slice(from, to)) {
    if (!layer.batchNorm) {
      h = dense(h, layer.kernel as tfjs.Tensor2D, layer.bias as tfjs.Tensor1D, layer.relu);
      if (drop && layer.relu) h = applyDropout(h, drop, layer.name, call);
      continue;
    }
    const z = dense(h, layer.kernel as tfjs.Tensor2D, undefined, false);
    const bn = layer.batchNorm;
    let mean: tfjs.Tensor;
    let variance: tfjs.Tensor;
    if (training) {
      const m = t.moments(z, 0);
      mean = m.mean;
      variance = m.variance;
      bn.movingMean.assign(t.add(t.mul(bn.movingMean, BATCH_NORM_MOMENTUM), t.mul(mean, 1 - BATCH_NORM_MOMENTUM)));
      bn.movingVariance.assign(t.add(t.mul(bn.movingVariance, BATCH_NORM_MOMENTUM), t.mul(variance, 1 - BATCH_NORM_MOMENTUM)));
    } else {
      mean = bn.movingMean;
      variance = bn.movingVariance;
    }
    const normed = t.batchNorm(z, mean as tfjs.Tensor1D, variance as tfjs.Tensor1D, bn.beta as tfjs.Tensor1D, bn.gamma as tfjs.Tensor1D, BATCH_NORM_EPSILON);
    h = (layer.relu ? t.relu(normed) : normed) as tfjs.Tensor2D;
    if (drop && layer.relu) h = applyDropout(h, drop, layer.name, call);
  }
  return h;
}

/** [batch, 1] -> [batch] ([S, batch, 1] -> [S, batch] in a seed group). */
export function squeezeLogit(x: tfjs.Tensor2D): tfjs.Tensor1D {
  const shape: number[] = [...x.shape];
  return tf().reshape<tfjs.Rank>(x, shape.slice(0, -1)) as tfjs.Tensor1D;
}
