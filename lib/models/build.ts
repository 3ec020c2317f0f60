/**
 * Spec -> trainable model.
 *
 * A model is embeddings -> trunk -> towers -> outputs. The trunk kinds enter through `TRUNK_BUILDERS`
 * (one builder each); every builder says what each tower's input is:
 * - separate: each tower has its own embeddings `<tower>/emb/*` and its MLP starts with sharedLayers, so
 *   every task's path from input to logit has the same shape (and MLP parameter count) as in the shared
 *   design. ESP is one such tower.
 * - sharedBottom: one embedding block `trunk/emb/*` and one MLP `trunk/mlp/*` feed every tower.
 * - mmoe: `trunk/emb/*`, experts `trunk/expert<k>/*`, a softmax gate `trunk/gate-<tower>/*` per tower.
 * - ple: `trunk/emb/*`; per level l, shared experts `trunk/ple<l>/shared<k>/*`, task experts
 *   `trunk/ple<l>/<tower>-expert<k>/*`, task gates `trunk/ple<l>/gate-<tower>/*` and (but at the last
 *   level) the shared gate `trunk/ple<l>/gate/*`.
 * Experts and gates, task-specific or not, belong to the trunk (owner "trunk"); a tower owns its MLP and
 * its transfer layers, so an output that reaches another tower's variables has a transfer edge.
 * Towers are `<tower>/mlp/*` (hidden layers + 1-unit logit); a tower with `transferFrom` adds AITM's
 * information transfer `<tower>/ait/*` between its last hidden layer and its logit layer.
 *
 * Every initialiser is seeded by the model seed and the variable's local name (blocks.ts), so the paper's
 * six models keep the variables, names and initial values they had before the families were added
 * (test/paper-models-compat.test.ts), and no two experts start from the same draw.
 *
 * Outputs: each tower's logit and sigmoid; pCTCVR = pCTR * pCVR for product models. Which variables each
 * output reaches is measured on the built graph (`taskVariables`: tfjs' gradient connectivity on a
 * two-row batch), not declared.
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
  applyMlpLayers,
  createEmbeddings,
  createMlp,
  dense,
  inputShape,
  squeezeLogit,
  stackedIndices,
} from "./blocks";
import { ModelOutputs, OUTPUT_KEYS } from "./losses";
import { Architecture, InputDims, ModelSpec, TaskOutput, TowerName, TrunkKind, TrunkSpec, outputsOf, resolveArchitecture, resolveTrunk } from "./spec";
import { validateSpec } from "./validate";

export interface ParameterCount {
  /** Trainable parameters. */
  total: number;
  /** All embedding tables (shared or per tower). */
  embeddings: number;
  /** Non-embedding parameters of the trunk (shared layers, shared experts and gates; 0 for separate models). */
  shared: number;
  /** Tower-owned parameters: towers, their gates, task experts and transfer layers (whole towers of separate models). */
  heads: number;
  /** shared + heads: every dense / gate / transfer / batch-norm parameter. */
  mlp: number;
  /** Parameters each output reaches (ctcvr of a product model: ctr and cvr paths). */
  perTask: Partial<Record<TaskOutput, number>>;
  /** Same, without embeddings: equal between the shared and separate designs by construction. */
  perTaskMlp: Partial<Record<TaskOutput, number>>;
  /** Batch-norm moving statistics (not trained). */
  nonTrainable: number;
}

export interface MultiTaskModel {
  readonly spec: ModelSpec;
  readonly architecture: Architecture;
  readonly dims: InputDims;
  /** The model seed (a seed group's first seed). */
  readonly seed: number;
  /** A seed group's seeds in slice order; [seed] for a single model. */
  readonly seeds: number[];
  /** A seed group: variables and activations carry a leading seed axis, outputs are [S, batch]. */
  readonly grouped: boolean;
  /** Every variable by local name (trainable and batch-norm statistics). */
  readonly variables: ReadonlyMap<string, VariableInfo>;
  /** Trainable variables, in a fixed order (pass as the optimizer's varList). */
  trainableVariables(): tfjs.Variable[];
  /** Local names of the trainable variables an output reaches, measured on the graph (gradient connectivity). */
  taskVariables(task: TaskOutput): string[];
  forward(inputs: ModelInputs, training: boolean): ModelOutputs;
  parameterCount(): ParameterCount;
  /** Copies of every variable's value (caller disposes, or hands back to setWeights). */
  getWeights(): Map<string, tfjs.Tensor>;
  setWeights(weights: ReadonlyMap<string, tfjs.Tensor>): void;
  dispose(): void;
}

export interface BuildOptions {
  architecture?: Partial<Architecture>;
  /** Seed of every initialiser. Default 0. */
  seed?: number;
  /**
   * A seed group: S models of these seeds in one set of variables stacked on a leading seed axis (blocks.ts),
   * seed s's slice initialised exactly as a single model of seed s. The forward pass then returns [S, batch]
   * outputs. Takes precedence over `seed`. Batch norm is not supported in a group.
   */
  seeds?: number[];
}

/** Input dimensions of a prepared split. */
export function inputDimsOf(split: InputDims): InputDims {
  return {
    categoricalFields: [...split.categoricalFields],
    vocabularySizes: [...split.vocabularySizes],
    numericFields: [...split.numericFields],
  };
}

// ------------------------------------------------------------------------------------------------
// Trunks: one builder per kind

/** What a trunk builder is given. */
interface TrunkContext {
  store: VariableStore;
  architecture: Architecture;
  towers: TowerName[];
  /** Creates an embedding block (every categorical field, plus the numeric inputs). */
  embeddings(scope: string, owner: string): EmbeddingBlock;
}

/** A built trunk: its embedding blocks, and each tower's input. */
interface Trunk {
  blocks: EmbeddingBlock[];
  /** Width of the representation a tower receives. */
  inputDim(tower: TowerName): number;
  /** Hidden layers every tower puts before its own (separate trunks: sharedLayers). */
  towerPrefix: number[];
  /** One forward pass: `embed` gives a block's embeddings for the batch; returns each tower's input. */
  apply(embed: (block: EmbeddingBlock) => tfjs.Tensor2D, training: boolean): (tower: TowerName) => tfjs.Tensor2D;
}

/** A softmax gate over `experts` inputs: [batch, in] -> [batch, experts]. */
interface Gate {
  kernel: tfjs.Variable;
  bias: tfjs.Variable;
}

function createGate(store: VariableStore, scope: string, owner: string, inputDim: number, experts: number): Gate {
  const t = tf();
  const limit = Math.sqrt(6 / (inputDim + experts));
  const kernel = store.create(`${scope}/kernel`, owner, "gate", () => t.randomUniform([inputDim, experts], -limit, limit, "float32", store.seedFor(`${scope}/kernel`)));
  const bias = store.create(`${scope}/bias`, owner, "gate", () => t.zeros([experts]), true, "bias");
  return { kernel, bias };
}

/**
 * sum_k softmax(x W + b)_k * expert_k: x [batch, in], experts k of [batch, d] -> [batch, d] (with a leading
 * seed axis in a seed group: the expert axis goes after the batch axis either way).
 */
function mixExperts(gate: Gate, x: tfjs.Tensor2D, experts: tfjs.Tensor2D[]): tfjs.Tensor2D {
  const t = tf();
  if (experts.length === 1) return experts[0];
  const rowAxis = x.rank - 2;
  const weights = t.softmax(dense(x, gate.kernel as tfjs.Tensor2D, gate.bias as tfjs.Tensor1D, false)); // [batch, E]
  const stacked = t.stack(experts, rowAxis + 1); // [batch, E, d]
  return t.sum(t.mul(stacked, t.expandDims(weights, rowAxis + 2)), rowAxis + 1) as tfjs.Tensor2D;
}

type TrunkBuilder = (trunk: Required<TrunkSpec>, ctx: TrunkContext) => Trunk;

export const TRUNK_BUILDERS: { [K in TrunkKind]: (trunk: Extract<Required<TrunkSpec>, { kind: K }>, ctx: TrunkContext) => Trunk } = {
  separate(_trunk, ctx) {
    const blocks = new Map(ctx.towers.map((tower) => [tower, ctx.embeddings(`${tower}/emb`, tower)] as const));
    return {
      blocks: [...blocks.values()],
      inputDim: (tower) => blocks.get(tower)!.outputDim,
      towerPrefix: ctx.architecture.sharedLayers,
      apply: (embed) => (tower) => embed(blocks.get(tower)!),
    };
  },
  sharedBottom(trunk, ctx) {
    const block = ctx.embeddings("trunk/emb", "trunk");
    const mlp = createMlp(ctx.store, "trunk/mlp", "trunk", block.outputDim, trunk.layers, false, ctx.architecture.batchNorm);
    return {
      blocks: [block],
      inputDim: () => mlp.outputDim,
      towerPrefix: [],
      apply(embed, training) {
        const h = applyMlp(mlp, embed(block), training);
        return () => h;
      },
    };
  },
  mmoe(trunk, ctx) {
    if (!(Number.isInteger(trunk.experts) && trunk.experts >= 1)) throw new Error(`mmoe trunk: experts must be a positive integer, got ${trunk.experts}`);
    if (trunk.expertLayers.length === 0) throw new Error("mmoe trunk: expertLayers must not be empty");
    const block = ctx.embeddings("trunk/emb", "trunk");
    const experts: Mlp[] = [];
    for (let k = 0; k < trunk.experts; k++) {
      experts.push(createMlp(ctx.store, `trunk/expert${k}`, "trunk", block.outputDim, trunk.expertLayers, false, ctx.architecture.batchNorm));
    }
    const gates = new Map(ctx.towers.map((tower) => [tower, createGate(ctx.store, `trunk/gate-${tower}`, "trunk", block.outputDim, trunk.experts)] as const));
    return {
      blocks: [block],
      inputDim: () => experts[0].outputDim,
      towerPrefix: [],
      apply(embed, training) {
        const x = embed(block);
        const outs = experts.map((e) => applyMlp(e, x, training));
        const mixed = new Map<TowerName, tfjs.Tensor2D>();
        return (tower) => {
          let h = mixed.get(tower);
          if (!h) mixed.set(tower, (h = mixExperts(gates.get(tower)!, x, outs)));
          return h;
        };
      },
    };
  },
  ple(trunk, ctx) {
    const { sharedExperts, taskExperts, expertLayers } = trunk;
    for (const [what, n] of [["sharedExperts", sharedExperts], ["taskExperts", taskExperts]] as const) {
      if (!(Number.isInteger(n) && n >= 0)) throw new Error(`ple trunk: ${what} must be a non-negative integer, got ${n}`);
    }
    if (sharedExperts + taskExperts === 0) throw new Error("ple trunk: needs at least one expert per gate");
    if (expertLayers.length === 0) throw new Error("ple trunk: expertLayers must have one width per level");
    const bn = ctx.architecture.batchNorm;
    const block = ctx.embeddings("trunk/emb", "trunk");
    const levels = expertLayers.map((width, l) => {
      const inputDim = l === 0 ? block.outputDim : expertLayers[l - 1];
      const last = l === expertLayers.length - 1;
      const shared = Array.from({ length: sharedExperts }, (_, k) => createMlp(ctx.store, `trunk/ple${l}/shared${k}`, "trunk", inputDim, [width], false, bn));
      const task = new Map(
        ctx.towers.map((tower) => [tower, Array.from({ length: taskExperts }, (_, k) => createMlp(ctx.store, `trunk/ple${l}/${tower}-expert${k}`, "trunk", inputDim, [width], false, bn))] as const),
      );
      const taskGates = new Map(ctx.towers.map((tower) => [tower, createGate(ctx.store, `trunk/ple${l}/gate-${tower}`, "trunk", inputDim, taskExperts + sharedExperts)] as const));
      const sharedGate = last ? undefined : createGate(ctx.store, `trunk/ple${l}/gate`, "trunk", inputDim, ctx.towers.length * taskExperts + sharedExperts);
      return { shared, task, taskGates, sharedGate };
    });
    return {
      blocks: [block],
      inputDim: () => expertLayers[expertLayers.length - 1],
      towerPrefix: [],
      apply(embed, training) {
        const x = embed(block);
        let taskIn = new Map(ctx.towers.map((tower) => [tower, x] as const));
        let sharedIn = x;
        for (const level of levels) {
          const sharedOut = level.shared.map((e) => applyMlp(e, sharedIn, training));
          const taskOut = new Map(ctx.towers.map((tower) => [tower, level.task.get(tower)!.map((e) => applyMlp(e, taskIn.get(tower)!, training))] as const));
          const nextTask = new Map(ctx.towers.map((tower) => [tower, mixExperts(level.taskGates.get(tower)!, taskIn.get(tower)!, [...taskOut.get(tower)!, ...sharedOut])] as const));
          if (level.sharedGate) sharedIn = mixExperts(level.sharedGate, sharedIn, [...ctx.towers.flatMap((tower) => taskOut.get(tower)!), ...sharedOut]);
          taskIn = nextTask;
        }
        return (tower) => taskIn.get(tower)!;
      },
    };
  },
};

// ------------------------------------------------------------------------------------------------
// Towers, with AITM's adaptive information transfer

interface Transfer {
  source: TowerName;
  /** Dense ReLU from the source's last hidden representation to this tower's width. */
  project: { kernel: tfjs.Variable; bias: tfjs.Variable };
  query: tfjs.Variable;
  key: tfjs.Variable;
  value: tfjs.Variable;
  dim: number;
}

function createTransfer(store: VariableStore, tower: TowerName, source: TowerName, sourceDim: number, dim: number): Transfer {
  const t = tf();
  const glorot = (name: string, fanIn: number, fanOut: number) => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    return store.create(name, tower, "transfer", () => t.randomUniform([fanIn, fanOut], -limit, limit, "float32", store.seedFor(name)));
  };
  return {
    source,
    project: { kernel: glorot(`${tower}/ait/project/kernel`, sourceDim, dim), bias: store.create(`${tower}/ait/project/bias`, tower, "transfer", () => t.zeros([dim]), true, "bias") },
    query: glorot(`${tower}/ait/query`, dim, dim),
    key: glorot(`${tower}/ait/key`, dim, dim),
    value: glorot(`${tower}/ait/value`, dim, dim),
    dim,
  };
}

/**
 * AIT (Xi et al. KDD'21, Eq. 3-5): p = ReLU(h_source W + b), q = h_own; for u in {p, q}: weight_u =
 * softmax_u(<u Wq, u Wk> / sqrt(d)), output sum_u weight_u (u Wv). [batch, d] -> [batch, d].
 */
function applyTransfer(tr: Transfer, source: tfjs.Tensor2D, own: tfjs.Tensor2D): tfjs.Tensor2D {
  const t = tf();
  // A seed group's tensors carry a leading seed axis (`lead`); the computation is the same per seed.
  const lead = own.shape.slice(0, -2);
  const rowAxis = lead.length;
  const rows = own.shape[rowAxis];
  const swapLast = lead.length === 0 ? undefined : [...lead.map((_, i) => i), rowAxis + 1, rowAxis];
  const p = dense(source, tr.project.kernel as tfjs.Tensor2D, tr.project.bias as tfjs.Tensor1D, true);
  const both = t.concat([p, own], rowAxis) as tfjs.Tensor2D; // [2 batch, d]: p rows, then q rows
  const q = dense(both, tr.query as tfjs.Tensor2D, undefined, false);
  const k = dense(both, tr.key as tfjs.Tensor2D, undefined, false);
  const v = dense(both, tr.value as tfjs.Tensor2D, undefined, false);
  const scores = t.reshape(t.div(t.sum(t.mul(q, k), rowAxis + 1), Math.sqrt(tr.dim)), [...lead, 2, rows]);
  const weights = t.softmax(t.transpose(scores, swapLast)); // [batch, 2]
  const values = t.reshape(v, [...lead, 2, rows, tr.dim]);
  const w = t.reshape(t.transpose(weights, swapLast), [...lead, 2, rows, 1]);
  return t.sum(t.mul(values, w), rowAxis) as tfjs.Tensor2D;
}

interface Tower {
  name: TowerName;
  mlp: Mlp;
  transfer?: Transfer;
}

// ------------------------------------------------------------------------------------------------
// The model

export function buildModel(spec: ModelSpec, dims: InputDims, options: BuildOptions = {}): MultiTaskModel {
  validateSpec(spec);
  if (dims.categoricalFields.length !== dims.vocabularySizes.length) {
    throw new Error(`model "${spec.name}": ${dims.categoricalFields.length} categorical fields but ${dims.vocabularySizes.length} vocabulary sizes`);
  }
  const architecture = resolveArchitecture(options.architecture);
  const store = new VariableStore(spec.name, options.seeds ?? options.seed ?? 0);
  const seed = store.seed;
  store.dropout = architecture.dropout;
  const { embeddingDim, headLayers, batchNorm, embeddingInitScale } = architecture;
  const towerOrder = spec.towers.map((x) => x.name);

  let trunk: Trunk;
  const towers: Tower[] = [];
  try {
    const ctx: TrunkContext = {
      store,
      architecture,
      towers: towerOrder,
      embeddings: (scope, owner) =>
        createEmbeddings(store, scope, owner, dims.categoricalFields, dims.vocabularySizes, dims.numericFields.length, embeddingDim, embeddingInitScale),
    };
    const resolved = resolveTrunk(spec.trunk, architecture);
    trunk = (TRUNK_BUILDERS[resolved.kind] as TrunkBuilder)(resolved, ctx);
    const widths = new Map<TowerName, number>();
    for (const towerSpec of spec.towers) {
      const layers = [...trunk.towerPrefix, ...(towerSpec.layers ?? headLayers)];
      const mlp = createMlp(store, `${towerSpec.name}/mlp`, towerSpec.name, trunk.inputDim(towerSpec.name), layers, true, batchNorm);
      const width = layers.length > 0 ? layers[layers.length - 1] : trunk.inputDim(towerSpec.name);
      widths.set(towerSpec.name, width);
      const tower: Tower = { name: towerSpec.name, mlp };
      if (towerSpec.transferFrom) tower.transfer = createTransfer(store, towerSpec.name, towerSpec.transferFrom, widths.get(towerSpec.transferFrom)!, width);
      towers.push(tower);
    }
  } catch (e) {
    store.dispose();
    throw e;
  }

  const forward = (inputs: ModelInputs, training: boolean): ModelOutputs => {
    const t = tf();
    const { fields } = inputShape(inputs);
    if (fields !== dims.categoricalFields.length) {
      throw new Error(`model "${spec.name}": expected ${dims.categoricalFields.length} categorical inputs, got ${fields}`);
    }
    // Every block has the same fields, hence the same offsets: one index tensor for all of them.
    let indices: tfjs.Tensor2D | undefined;
    const embed = (block: EmbeddingBlock) => {
      // Row-wise updates (inputs.embeddingRows): the lookup reads the batch's gathered rows, no table indices.
      if (block.table && !inputs.embeddingRows) indices ??= stackedIndices(block, inputs);
      return applyEmbeddings(block, inputs, indices);
    };
    const towerInput = trunk.apply(embed, training);
    const hidden = new Map<TowerName, tfjs.Tensor2D>();
    const logits = new Map<TowerName, tfjs.Tensor1D>();
    for (const tower of towers) {
      const n = tower.mlp.layers.length;
      let h = applyMlpLayers(tower.mlp, towerInput(tower.name), training, 0, n - 1);
      if (tower.transfer) h = applyTransfer(tower.transfer, hidden.get(tower.transfer.source)!, h);
      hidden.set(tower.name, h);
      logits.set(tower.name, squeezeLogit(applyMlpLayers(tower.mlp, h, training, n - 1, n)));
    }
    const out: Partial<ModelOutputs> = {};
    for (const name of towerOrder) {
      const keys = OUTPUT_KEYS[name];
      (out as Record<string, tfjs.Tensor1D>)[keys.logit] = logits.get(name)!;
      (out as Record<string, tfjs.Tensor1D>)[keys.probability] = t.sigmoid(logits.get(name)!);
    }
    if (spec.ctcvr === "product") out.pCtcvr = t.mul(out.pCtr!, out.pCvr!) as tfjs.Tensor1D;
    return out as ModelOutputs;
  };
  const trainableList = store.trainableVariables();

  // Reachability, measured once: which trainable variables each output's gradient reaches, on two rows.
  let reach: Map<TaskOutput, string[]> | undefined;
  const taskVariables = (task: TaskOutput): string[] => {
    if (!outputsOf(spec).includes(task)) throw new Error(`model "${spec.name}" has no output "${task}"`);
    reach ??= measureReachability();
    return [...reach.get(task)!];
  };
  const measureReachability = (): Map<TaskOutput, string[]> => {
    const t = tf();
    const byTfName = new Map([...store.infos.values()].map((i) => [i.variable.name, i.name]));
    const result = new Map<TaskOutput, string[]>();
    t.tidy(() => {
      const rows = 2;
      const inputs: ModelInputs = {
        categoricalMatrix: t.zeros([rows, dims.categoricalFields.length], "int32") as tfjs.Tensor2D,
        numeric: dims.numericFields.length > 0 ? (t.ones([rows, dims.numericFields.length]) as tfjs.Tensor2D) : undefined,
      };
      for (const task of outputsOf(spec)) {
        const key = OUTPUT_KEYS[task].probability;
        const g = t.variableGrads(() => t.sum(forward(inputs, false)[key] as tfjs.Tensor1D) as tfjs.Scalar, trainableList);
        const names = new Set(Object.keys(g.grads).map((n) => byTfName.get(n)!));
        result.set(task, [...store.infos.values()].filter((i) => names.has(i.name)).map((i) => i.name));
      }
    });
    return result;
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

  return {
    spec,
    architecture,
    dims: inputDimsOf(dims),
    seed,
    seeds: [...store.seeds],
    grouped: store.grouped,
    variables: store.infos,
    trainableVariables: () => trainableList,
    taskVariables,
    forward,
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
