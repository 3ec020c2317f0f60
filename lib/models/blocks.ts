/**
 * Building blocks with low-level ops: a store of named variables, embedding tables (one per categorical
 * field), and MLP towers (dense + optional batch norm + ReLU, ending in an optional 1-unit logit layer).
 *
 * Initialisation (study protocol): embeddings uniform in +-embeddingInitScale (0.05), dense kernels
 * glorot-uniform, biases zero, batch-norm gamma 1 / beta 0; every initialiser is seeded from the model seed
 * and the variable's local name, so two towers never start from the same draw and a seed reproduces a model.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../backend";

let instanceCounter = 0;

/** Which part of the model a variable belongs to (for parameter counts). */
export type VariableRole = "embedding" | "dense" | "batchnorm";

export interface VariableInfo {
  /** Local name, e.g. `trunk/emb/user`, `ctr/mlp/2/kernel`. */
  name: string;
  variable: tfjs.Variable;
  trainable: boolean;
  role: VariableRole;
  /** `trunk` for the shared trunk, otherwise the task (`ctr`, `cvr`, `ctcvr`). */
  owner: string;
  size: number;
}

/**
 * Named variables of one model instance. Local names are unique within the model; the underlying tfjs
 * variables get a process-unique prefix (tfjs registers variable names globally).
 */
export class VariableStore {
  readonly prefix: string;
  readonly infos = new Map<string, VariableInfo>();

  constructor(modelName: string, readonly seed: number) {
    this.prefix = `${modelName}#${++instanceCounter}`;
  }

  create(name: string, owner: string, role: VariableRole, init: () => tfjs.Tensor, trainable = true): tfjs.Variable {
    if (this.infos.has(name)) throw new Error(`variable "${name}" already exists in ${this.prefix}`);
    const value = init();
    const variable = tf().variable(value, trainable, `${this.prefix}/${name}`);
    value.dispose();
    this.infos.set(name, { name, variable, trainable, role, owner, size: variable.size });
    return variable;
  }

  /** Seed for the initialiser of variable `name` (alea accepts strings). */
  seedFor(name: string): string {
    return `${this.seed}/${name}`;
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

/** Inputs of a forward pass. */
export interface ModelInputs {
  /** One int32 [batch] tensor per categorical field, values in [0, vocabularySize). */
  categorical: tfjs.Tensor1D[];
  /** float32 [batch, numericFields]; absent when there are no numeric fields. */
  numeric?: tfjs.Tensor2D;
}

export interface EmbeddingBlock {
  scope: string;
  tables: tfjs.Variable[];
  /** Width of the concatenated input (fields * dim + numeric fields). */
  outputDim: number;
}

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
  const tables = fields.map((field, f) => {
    const name = `${scope}/${field}`;
    return store.create(name, owner, "embedding", () =>
      tf().randomUniform([vocabularySizes[f], dim], -initScale, initScale, "float32", store.seedFor(name)),
    );
  });
  return { scope, tables, outputDim: fields.length * dim + numericCount };
}

/** Embeddings of every field, concatenated with the numeric inputs: [batch, outputDim]. */
export function applyEmbeddings(block: EmbeddingBlock, inputs: ModelInputs): tfjs.Tensor2D {
  const t = tf();
  const parts: tfjs.Tensor2D[] = block.tables.map((table, f) => t.gather(table, inputs.categorical[f]) as tfjs.Tensor2D);
  if (inputs.numeric && inputs.numeric.shape[1] > 0) parts.push(inputs.numeric);
  if (parts.length === 0) throw new Error(`embeddings ${block.scope}: no input fields`);
  return parts.length === 1 ? parts[0] : (t.concat(parts, 1) as tfjs.Tensor2D);
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
      layer.bias = store.create(`${name}/bias`, owner, "dense", () => t.zeros([fanOut]));
    }
    layers.push(layer);
    fanIn = fanOut;
  });
  return { scope, layers, outputDim: fanIn };
}

/**
 * Dense layer y = act(x W + b) with a hand-written gradient whose matrix products are all untransposed:
 * dx = dz transpose(W), dW = transpose(x) dz, db = sum(dz). Same values as tfjs' own gradient of
 * matMul (test/models.test.ts checks), but the wasm backend of tfjs 4.22 runs matMul with
 * transposeA/transposeB (what tfjs' MatMul gradient uses) 5-8x slower than an explicit transpose
 * followed by a plain matMul, and the backward pass is two thirds of a training step.
 * Saved tensors go through `save` (tfjs disposes a custom op's forward intermediates).
 */
export function dense(x: tfjs.Tensor2D, kernel: tfjs.Tensor2D, bias: tfjs.Tensor1D | undefined, relu: boolean): tfjs.Tensor2D {
  const t = tf();
  const backward = (dy: tfjs.Tensor2D, xs: tfjs.Tensor2D, w: tfjs.Tensor2D, out: tfjs.Tensor2D): tfjs.Tensor[] => {
    const dz = relu ? (t.mul(dy, t.step(out)) as tfjs.Tensor2D) : dy;
    const grads: tfjs.Tensor[] = [t.matMul(dz, t.transpose(w)), t.matMul(t.transpose(xs), dz)];
    if (bias) grads.push(t.sum(dz, 0));
    return grads;
  };
  const activation = relu ? "relu" : "linear";
  if (bias) {
    const op = t.customGrad((xi, wi, bi, save) => {
      const out = t.fused.matMul({ a: xi as tfjs.Tensor2D, b: wi as tfjs.Tensor2D, bias: bi as tfjs.Tensor1D, activation });
      (save as tfjs.GradSaveFunc)([xi as tfjs.Tensor2D, wi as tfjs.Tensor2D, out]);
      return { value: out, gradFunc: (dy, saved) => backward(dy as tfjs.Tensor2D, saved[0] as tfjs.Tensor2D, saved[1] as tfjs.Tensor2D, saved[2] as tfjs.Tensor2D) };
    });
    return op(x, kernel, bias) as tfjs.Tensor2D;
  }
  const op = t.customGrad((xi, wi, save) => {
    const out = t.fused.matMul({ a: xi as tfjs.Tensor2D, b: wi as tfjs.Tensor2D, activation });
    (save as tfjs.GradSaveFunc)([xi as tfjs.Tensor2D, wi as tfjs.Tensor2D, out]);
    return { value: out, gradFunc: (dy, saved) => backward(dy as tfjs.Tensor2D, saved[0] as tfjs.Tensor2D, saved[1] as tfjs.Tensor2D, saved[2] as tfjs.Tensor2D) };
  });
  return op(x, kernel) as tfjs.Tensor2D;
}

/**
 * Forward through an MLP. In training mode batch norm uses the batch's moments and updates its moving
 * statistics (an `assign`, which the gradient tape ignores); otherwise it uses the moving statistics.
 */
export function applyMlp(mlp: Mlp, x: tfjs.Tensor2D, training: boolean): tfjs.Tensor2D {
  const t = tf();
  let h = x;
  for (const layer of mlp.layers) {
    if (!layer.batchNorm) {
      h = dense(h, layer.kernel as tfjs.Tensor2D, layer.bias as tfjs.Tensor1D, layer.relu);
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
  }
  return h;
}

/** [batch, 1] -> [batch]. */
export function squeezeLogit(x: tfjs.Tensor2D): tfjs.Tensor1D {
  return tf().reshape(x, [x.shape[0]]) as tfjs.Tensor1D;
}
