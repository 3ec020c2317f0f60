/**
 * Spec -> trainable model.
 *
 * - trunk "shared": one embedding block `trunk/emb/*` and one MLP `trunk/mlp/*` (sharedLayers) feed every
 *   head; each head is `<task>/mlp/*` (headLayers + 1-unit logit).
 * - trunk "separate": each head is a full tower with its own embeddings `<task>/emb/*` and MLP `<task>/mlp/*`
 *   of sharedLayers + headLayers + 1-unit logit, so that every task's path from input to logit has the
 *   same shape (and MLP parameter count) as in the shared design. ESP is one such tower.
 *
 * pCTCVR: product models return pCtr * pCvr (no parameters); head models return sigmoid(ctcvrLogit).
 */
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../backend";
import {
  EmbeddingBlock,
  Mlp,
  ModelInputs,
  VariableInfo,
  VariableStore,
  applyEmbeddings,
  applyMlp,
  createEmbeddings,
  createMlp,
  inputShape,
  squeezeLogit,
  stackedIndices,
} from "./blocks";
import { ModelOutputs } from "./losses";
import { Architecture, InputDims, ModelSpec, TaskOutput, outputsOf, resolveArchitecture, validateSpec } from "./spec";

export interface ParameterCount {
  /** Trainable parameters. */
  total: number;
  /** All embedding tables (shared or per task). */
  embeddings: number;
  /** MLP layers of the shared trunk (0 for separate models). */
  shared: number;
  /** Task-specific MLP layers: heads of shared models, whole towers of separate models. */
  heads: number;
  /** shared + heads: every dense / batch-norm parameter. */
  mlp: number;
  /** Parameters on the path from the inputs to each output (ctcvr of a product model: ctr and cvr paths). */
  perTask: Partial<Record<TaskOutput, number>>;
  /** Same, MLP parameters only: equal between the shared and separate designs by construction. */
  perTaskMlp: Partial<Record<TaskOutput, number>>;
  /** Batch-norm moving statistics (not trained). */
  nonTrainable: number;
}

export interface MultiTaskModel {
  readonly spec: ModelSpec;
  readonly architecture: Architecture;
  readonly dims: InputDims;
  readonly seed: number;
  /** Every variable by local name (trainable and batch-norm statistics). */
  readonly variables: ReadonlyMap<string, VariableInfo>;
  /** Trainable variables, in a fixed order (pass as the optimizer's varList). */
  trainableVariables(): tfjs.Variable[];
  /** Local names of the variables each output depends on (declared by construction). */
  taskVariables(task: TaskOutput): string[];
  forward(inputs: ModelInputs, training: boolean): ModelOutputs;
  /**
   * The training loop's view of the model (lib/train): each embedding block's tables stacked into one
   * variable, so that a step differentiates and updates one tensor per block instead of one per field
   * (no per-step concat of the tables nor split of their gradient). Call `sync()` before using the model
   * itself (forward, getWeights, ...), and `dispose()` at the end.
   */
  trainingView(): TrainingView;
  parameterCount(): ParameterCount;
  /** Copies of every variable's value (caller disposes, or hands back to setWeights). */
  getWeights(): Map<string, tfjs.Tensor>;
  setWeights(weights: ReadonlyMap<string, tfjs.Tensor>): void;
  dispose(): void;
}

export interface TrainingView {
  /** What a training step differentiates and updates: one stacked table per embedding block, then every trainable dense / batch-norm variable. */
  readonly variables: tfjs.Variable[];
  /** Same function as the model's forward, reading the stacked tables. */
  forward(inputs: ModelInputs, training: boolean): ModelOutputs;
  /** Copies the stacked tables into the model's per-field embedding variables. */
  sync(): void;
  /** Disposes the stacked tables (does not sync). */
  dispose(): void;
}

let viewCounter = 0;

export interface BuildOptions {
  architecture?: Partial<Architecture>;
  /** Seed of every initialiser. Default 0. */
  seed?: number;
}

/** Input dimensions of a prepared split. */
export function inputDimsOf(split: InputDims): InputDims {
  return {
    categoricalFields: [...split.categoricalFields],
    vocabularySizes: [...split.vocabularySizes],
    numericFields: [...split.numericFields],
  };
}

interface Tower {
  embeddings: EmbeddingBlock;
  mlp: Mlp;
}

export function buildModel(spec: ModelSpec, dims: InputDims, options: BuildOptions = {}): MultiTaskModel {
  validateSpec(spec);
  if (dims.categoricalFields.length !== dims.vocabularySizes.length) {
    throw new Error(`model "${spec.name}": ${dims.categoricalFields.length} categorical fields but ${dims.vocabularySizes.length} vocabulary sizes`);
  }
  const architecture = resolveArchitecture(options.architecture);
  const seed = options.seed ?? 0;
  const store = new VariableStore(spec.name, seed);
  const { embeddingDim, sharedLayers, headLayers, batchNorm, embeddingInitScale } = architecture;
  const embed = (scope: string, owner: string) =>
    createEmbeddings(store, scope, owner, dims.categoricalFields, dims.vocabularySizes, dims.numericFields.length, embeddingDim, embeddingInitScale);

  let trunk: Tower | undefined;
  const heads = new Map<TaskOutput, Mlp>();
  const towers = new Map<TaskOutput, Tower>();
  try {
    if (spec.trunk === "shared") {
      const embeddings = embed("trunk/emb", "trunk");
      const mlp = createMlp(store, "trunk/mlp", "trunk", embeddings.outputDim, sharedLayers, false, batchNorm);
      trunk = { embeddings, mlp };
      for (const task of spec.heads) heads.set(task, createMlp(store, `${task}/mlp`, task, mlp.outputDim, headLayers, true, batchNorm));
    } else {
      for (const task of spec.heads) {
        const embeddings = embed(`${task}/emb`, task);
        towers.set(task, { embeddings, mlp: createMlp(store, `${task}/mlp`, task, embeddings.outputDim, [...sharedLayers, ...headLayers], true, batchNorm) });
      }
    }
  } catch (e) {
    store.dispose();
    throw e;
  }

  const headOwners = (task: TaskOutput): TaskOutput[] =>
    task === "ctcvr" && spec.ctcvr === "product" ? ["ctr", "cvr"] : [task];

  const taskVariables = (task: TaskOutput): string[] => {
    if (!outputsOf(spec).includes(task)) throw new Error(`model "${spec.name}" has no output "${task}"`);
    const owners = new Set<string>(headOwners(task));
    if (trunk) owners.add("trunk");
    return [...store.infos.values()].filter((i) => owners.has(i.owner)).map((i) => i.name);
  };

  type TableSource = (block: EmbeddingBlock) => tfjs.Tensor2D | undefined;
  const forwardWith = (inputs: ModelInputs, training: boolean, stackedTable: TableSource): ModelOutputs => {
    const t = tf();
    const { fields } = inputShape(inputs);
    if (fields !== dims.categoricalFields.length) {
      throw new Error(`model "${spec.name}": expected ${dims.categoricalFields.length} categorical inputs, got ${fields}`);
    }
    // Every block has the same fields, hence the same offsets: one index tensor for all towers.
    let indices: tfjs.Tensor2D | undefined;
    const embed = (block: EmbeddingBlock) => {
      if (block.tables.length > 0) indices ??= stackedIndices(block, inputs);
      return applyEmbeddings(block, inputs, stackedTable(block), indices);
    };
    const logits = new Map<TaskOutput, tfjs.Tensor1D>();
    if (trunk) {
      const h = applyMlp(trunk.mlp, embed(trunk.embeddings), training);
      for (const [task, head] of heads) logits.set(task, squeezeLogit(applyMlp(head, h, training)));
    } else {
      for (const [task, tower] of towers) {
        logits.set(task, squeezeLogit(applyMlp(tower.mlp, embed(tower.embeddings), training)));
      }
    }
    const out: Partial<ModelOutputs> = {};
    const ctr = logits.get("ctr");
    const cvr = logits.get("cvr");
    const ctcvr = logits.get("ctcvr");
    if (ctr) {
      out.ctrLogit = ctr;
      out.pCtr = t.sigmoid(ctr);
    }
    if (cvr) {
      out.cvrLogit = cvr;
      out.pCvr = t.sigmoid(cvr);
    }
    if (spec.ctcvr === "product") {
      out.pCtcvr = t.mul(out.pCtr!, out.pCvr!) as tfjs.Tensor1D;
    } else {
      out.ctcvrLogit = ctcvr!;
      out.pCtcvr = t.sigmoid(ctcvr!);
    }
    return out as ModelOutputs;
  };
  const forward = (inputs: ModelInputs, training: boolean): ModelOutputs => forwardWith(inputs, training, () => undefined);

  const blocks = (): EmbeddingBlock[] => (trunk ? [trunk.embeddings] : [...towers.values()].map((x) => x.embeddings));

  const trainingView = (): TrainingView => {
    const t = tf();
    const id = ++viewCounter;
    const stacked = new Map<EmbeddingBlock, tfjs.Variable>();
    const embeddingVars = new Set<tfjs.Variable>();
    for (const block of blocks()) {
      if (block.tables.length === 0) continue;
      const value = t.tidy(() => (block.tables.length === 1 ? t.clone(block.tables[0]) : t.concat(block.tables, 0)));
      stacked.set(block, t.variable(value, true, `${store.prefix}/${block.scope}/stacked#${id}`));
      value.dispose();
      for (const v of block.tables) embeddingVars.add(v);
    }
    const variables = [...stacked.values(), ...trainableList.filter((v) => !embeddingVars.has(v))];
    return {
      variables,
      forward: (inputs, training) => forwardWith(inputs, training, (block) => stacked.get(block) as tfjs.Tensor2D | undefined),
      sync() {
        for (const [block, table] of stacked) {
          const parts = t.split(table, block.tables.map((v) => v.shape[0]), 0);
          block.tables.forEach((v, i) => v.assign(parts[i]));
          for (const p of parts) p.dispose();
        }
      },
      dispose() {
        for (const v of stacked.values()) v.dispose();
        stacked.clear();
      },
    };
  };

  const parameterCount = (): ParameterCount => {
    const infos = [...store.infos.values()];
    const sum = (pred: (i: VariableInfo) => boolean) => infos.filter(pred).reduce((s, i) => s + i.size, 0);
    const trainable = (i: VariableInfo) => i.trainable;
    const perTask: Partial<Record<TaskOutput, number>> = {};
    const perTaskMlp: Partial<Record<TaskOutput, number>> = {};
    for (const task of outputsOf(spec)) {
      const names = new Set(taskVariables(task));
      perTask[task] = sum((i) => i.trainable && names.has(i.name));
      perTaskMlp[task] = sum((i) => i.trainable && i.role !== "embedding" && names.has(i.name));
    }
    const embeddings = sum((i) => trainable(i) && i.role === "embedding");
    const shared = sum((i) => trainable(i) && i.role !== "embedding" && i.owner === "trunk");
    const headsCount = sum((i) => trainable(i) && i.role !== "embedding" && i.owner !== "trunk");
    return {
      total: sum(trainable),
      embeddings,
      shared,
      heads: headsCount,
      mlp: shared + headsCount,
      perTask,
      perTaskMlp,
      nonTrainable: sum((i) => !i.trainable),
    };
  };

  const trainableList = store.trainableVariables();

  return {
    spec,
    architecture,
    dims: inputDimsOf(dims),
    seed,
    variables: store.infos,
    trainableVariables: () => trainableList,
    taskVariables,
    forward,
    trainingView,
    parameterCount,
    getWeights() {
      const t = tf();
      const out = new Map<string, tfjs.Tensor>();
      for (const [name, info] of store.infos) out.set(name, t.clone(info.variable));
      return out;
    },
    setWeights(weights) {
      for (const [name, info] of store.infos) {
        const w = weights.get(name);
        if (!w) throw new Error(`model "${spec.name}": setWeights is missing "${name}"`);
        info.variable.assign(w);
      }
    },
    dispose() {
      store.dispose();
    },
  };
}
