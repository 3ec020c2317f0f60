/**
 * The training loop shared by every model of the zoo.
 *
 * One Adam optimizer (./adam.ts) over all trainable variables (with TrainConfig.embeddingUpdates "rowwise": dense
 * Adam over the dense variables and lazy Adam over the rows each batch touches, ./rowwise.ts); one step per batch over the spec's total
 * loss (a pure function of the batch), on the model's variables (each embedding block one stacked table, so a
 * step differentiates and updates one tensor per block). IP's two networks are two towers of one model: they see the same batches and are
 * stepped in the same loop (their variables are disjoint, so this equals two optimizers), and each stops on its own
 * task's validation loss (./early-stopping.ts stoppingUnits: CTR tower on CTR log loss, CVR tower on CVR log loss
 * over clicks, as two separately trained networks would); every other model stops on the validation split's
 * weighted CTCVR log loss.
 *
 * Per epoch: a seeded shuffle (pure-rand xoroshiro128+), the batches, then predictions on the validation
 * split and its weighted log losses; early stopping with patience per stopping unit, restoring each unit's best
 * epoch's weights. The loop ends when every unit has stopped (a stopped unit's variables keep being stepped, which
 * does not touch the others: they share no parameter and no loss term; its best weights are restored at the end).
 * The loss is read back from the backend once per `syncEvery` batches (all pending batch losses in one
 * read), which is also when non-finite losses are detected and `onProgress` is called.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { EncodedSplit } from "../data/encoded";
import { backendInfo, tf } from "../backend";
import {
  Architecture,
  DEFAULT_LOSS_NORMALIZATION,
  LOSS_NORMALIZATIONS,
  LossNormalization,
  ModelSpec,
  MultiTaskModel,
  ParameterCount,
  buildModel,
  inputDimsOf,
  totalLoss,
} from "../models";
import { BatchArrays, batchCount, checkSplit, inputTensors, labelTensors, shuffledBatches } from "./batches";
import { EarlyStopping, StoppingUnit, stoppingUnits } from "./early-stopping";
import { SplitLosses, predict, splitLosses } from "./evaluate";
import { createRng } from "./random";
import { Adam, defaultAdamGrouping, WEIGHT_DECAY_FORMS, WeightDecayForm } from "./adam";
import { EMBEDDING_UPDATES, EmbeddingUpdates, RowwiseTraining, rowMajorIndices } from "./rowwise";

export interface TrainConfig {
  /** Seed of the shuffling. Default: the model's seed. */
  seed: number;
  /** Adam learning rate. Default 1e-3. */
  learningRate: number;
  adamBeta1: number;
  adamBeta2: number;
  /** Default 1e-8 (PyTorch's, as in the protocol's reference implementation; tfjs' own default is 1e-7). */
  adamEpsilon: number;
  /** Rows per training batch. Default 1024. */
  batchSize: number;
  /** Default 10. */
  maxEpochs: number;
  /** Epochs without improvement of the validation loss before stopping. Default 2. */
  patience: number;
  /** Minimum improvement that counts. Default 0. */
  minDelta: number;
  /** How loss terms are normalised (see LossNormalization). Default "batch-weight". */
  lossNormalization: LossNormalization;
  /** Rows per forward pass when evaluating. Default 8192. */
  evalBatchSize: number;
  /** Read the batch losses back (check them, report progress) every this many batches. Default 25. */
  syncEvery: number;
  /** Restore the best epoch's weights at the end. Default true. */
  restoreBest: boolean;
  /**
   * Weight decay λ of Adam (./adam.ts), in the form `weightDecayForm` names, on every trainable variable,
   * embeddings included (with row-wise embedding updates: on the rows a batch touches only). Default 0
   * (none: the update is exactly the one without it).
   */
  weightDecay: number;
  /**
   * "coupled" L2 (g + λ p, PyTorch Adam's weight_decay: what every recorded result used) or "decoupled"
   * (p - lr λ p before the step, PyTorch AdamW's; Loshchilov & Hutter ICLR'19). Optional, absent meaning
   * "coupled" (not in DEFAULT_TRAIN_CONFIG: study run keys hash the defaults and must not move).
   */
  weightDecayForm?: WeightDecayForm;
  /**
   * How embedding tables are updated (./rowwise.ts). "dense" (the default): the lookup's gradient is a
   * [table rows, dim] tensor and Adam steps every row every step (PyTorch's dense Adam, the paper's reference
   * implementation; every recorded result was made with it). "rowwise": the gradient is kept to the rows the
   * batch touches and Adam steps those rows and their moments only (the lazy rule of PyTorch's SparseAdam /
   * TensorFlow Addons' LazyAdam, see ./rowwise.ts): other results, a step cost that does not grow with the
   * vocabulary's arithmetic. Dense layers use dense Adam either way. Optional, absent meaning "dense" (not in
   * DEFAULT_TRAIN_CONFIG: study run keys hash the defaults, lib/study/results.ts, and must not move).
   */
  embeddingUpdates?: EmbeddingUpdates;
  /**
   * Multipliers of the model spec's loss-term weights, one per term in spec order (e.g. [1, 2]: ESMM's
   * CTCVR term counts twice). Absent (the default): the spec's own weights. Used by tuning (lib/tune) for
   * each family's own weights.
   */
  lossWeights?: number[];
}

export const DEFAULT_TRAIN_CONFIG: Readonly<Omit<TrainConfig, "seed">> = Object.freeze({
  learningRate: 1e-3,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  batchSize: 1024,
  maxEpochs: 10,
  patience: 2,
  minDelta: 0,
  lossNormalization: DEFAULT_LOSS_NORMALIZATION,
  evalBatchSize: 8192,
  syncEvery: 25,
  restoreBest: true,
  weightDecay: 0,
});

export interface TrainProgress {
  model: string;
  /** 1-based. */
  epoch: number;
  maxEpochs: number;
  /** Batches done in this epoch (1-based count). */
  batch: number;
  totalBatches: number;
  /** Mean training loss over this epoch's batches so far. */
  loss: number;
  /** Training examples per second in this epoch so far. */
  examplesPerSecond: number;
}

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Mean of the batches' training objective. */
  trainLoss: number;
  /** Weighted CTCVR log loss on the validation split (the early-stopping criterion of one-unit models). */
  valLoss: number;
  /** Validation CTCVR / CTR / CVR(clicked rows) weighted log losses. */
  val: SplitLosses;
  /** Some stopping unit improved at this epoch (a one-unit model: the CTCVR loss improved). */
  improved: boolean;
  /** Models of several stopping units (IP): whether each unit's criterion improved, by criterion; absent otherwise. */
  unitsImproved?: Partial<Record<StoppingUnit["criterion"], boolean>>;
  trainSeconds: number;
  evalSeconds: number;
  /** Training examples per second in this epoch. */
  examplesPerSecond: number;
  /** tf.memory().numTensors at the end of the epoch (constant from epoch 1 on unless something leaks). */
  numTensors: number;
}

export interface TrainHooks {
  /** Called every `syncEvery` batches and after an epoch's last batch. Draw progress bars here. */
  onProgress?: (p: TrainProgress) => void;
  /** Called after each epoch's evaluation. */
  onEpochEnd?: (e: EpochRecord) => void;
}

export type TrainOptions = Partial<TrainConfig> & TrainHooks;

export interface TrainResult {
  model: string;
  spec: ModelSpec;
  architecture: Architecture;
  /** The model's initialisation seed. */
  modelSeed: number;
  config: TrainConfig;
  epochs: EpochRecord[];
  /**
   * 1-based epoch whose weights the model holds at the end (when restoreBest); with several stopping units, the
   * latest of the units' best epochs (each unit's own in `units`).
   */
  bestEpoch: number;
  /** Validation CTCVR log loss of the weights the model holds at the end (when restoreBest). */
  bestValLoss: number;
  /** Models of several stopping units (IP): each unit's criterion, best epoch, best value and last epoch. Absent otherwise. */
  units?: { criterion: StoppingUnit["criterion"]; bestEpoch: number; bestValue: number; lastEpoch: number }[];
  /** Stopped by patience before maxEpochs. */
  stoppedEarly: boolean;
  /** The best epoch was not the last one and its weights were restored. */
  restoredBest: boolean;
  parameters: ParameterCount;
  timings: { totalSeconds: number; trainSeconds: number; evalSeconds: number; examplesPerSecond: number };
  trainRows: number;
  validationRows: number;
  backend: string;
  /**
   * Trained in a seed group (./seed-group.ts) of these seeds: its timings are the group's divided by the
   * group's size. Absent for a run trained alone.
   */
  seedGroup?: { seeds: number[] };
}

/** A non-finite training or validation loss. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly model: string,
    readonly epoch: number,
    /** 1-based batch of the epoch, or "validation". */
    readonly batch: number | "validation",
    readonly loss: number,
  ) {
    super(
      batch === "validation"
        ? `model "${model}": validation loss or prediction is ${loss} after epoch ${epoch}; training stopped`
        : `model "${model}": training loss is ${loss} at epoch ${epoch}, batch ${batch}; training stopped ` +
            `(weights are no longer usable: lower the learning rate or check the inputs for NaN/Infinity)`,
    );
    this.name = "TrainingDivergedError";
  }
}

export function resolveTrainConfig(options: Partial<TrainConfig>, modelSeed: number): TrainConfig {
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, seed: modelSeed };
  for (const k of Object.keys(c) as (keyof TrainConfig)[]) {
    const v = options[k];
    if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  }
  if (options.lossWeights !== undefined) c.lossWeights = [...options.lossWeights];
  if (options.embeddingUpdates !== undefined) c.embeddingUpdates = options.embeddingUpdates;
  if (options.weightDecayForm !== undefined) c.weightDecayForm = options.weightDecayForm;
  const posInt = (k: keyof TrainConfig) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v <= 0) throw new Error(`train config: ${k} must be a positive integer, got ${v}`);
  };
  posInt("batchSize");
  posInt("maxEpochs");
  posInt("evalBatchSize");
  posInt("syncEvery");
  if (!(c.learningRate > 0)) throw new Error(`train config: learningRate must be > 0, got ${c.learningRate}`);
  if (!(Number.isFinite(c.weightDecay) && c.weightDecay >= 0)) throw new Error(`train config: weightDecay must be a finite number >= 0, got ${c.weightDecay}`);
  if (c.weightDecayForm !== undefined && !WEIGHT_DECAY_FORMS.includes(c.weightDecayForm)) {
    throw new Error(`train config: weightDecayForm must be one of ${WEIGHT_DECAY_FORMS.join(", ")}, got "${c.weightDecayForm}"`);
  }
  if (c.lossWeights !== undefined && !c.lossWeights.every((w) => Number.isFinite(w) && w >= 0)) {
    throw new Error(`train config: lossWeights must be finite numbers >= 0, got ${c.lossWeights.join(", ")}`);
  }
  if (c.embeddingUpdates !== undefined && !EMBEDDING_UPDATES.includes(c.embeddingUpdates)) {
    throw new Error(`train config: embeddingUpdates must be one of ${EMBEDDING_UPDATES.join(", ")}, got "${c.embeddingUpdates}"`);
  }
  if (!LOSS_NORMALIZATIONS.includes(c.lossNormalization)) {
    throw new Error(`train config: lossNormalization must be one of ${LOSS_NORMALIZATIONS.join(", ")}, got "${c.lossNormalization}"`);
  }
  return c;
}

/**
 * `spec` with each loss term's weight multiplied by `multipliers[i]` (TrainConfig.lossWeights); `spec` itself
 * when absent. Throws when the count differs from the spec's terms.
 */
export function withLossWeights(spec: ModelSpec, multipliers: readonly number[] | undefined): ModelSpec {
  if (multipliers === undefined) return spec;
  if (multipliers.length !== spec.losses.length) {
    throw new Error(`model "${spec.name}": lossWeights has ${multipliers.length} multipliers for ${spec.losses.length} loss terms`);
  }
  return { ...spec, losses: spec.losses.map((term, i) => ({ ...term, weight: term.weight * multipliers[i] })) };
}

/**
 * Throws, naming the model and the split, when a training or validation split does not fit `model` (see
 * checkSplit) or is empty. Shared by trainModel and the seed-group trainer (./seed-group.ts).
 */
export function checkTrainingData(model: MultiTaskModel, data: { train: EncodedSplit; validation: EncodedSplit }): void {
  const name = model.spec.name;
  checkSplit(data.train, model.dims, name);
  checkSplit(data.validation, model.dims, name);
  if (data.train.size === 0) throw new Error(`model "${name}": training split "${data.train.name}" is empty`);
  if (data.validation.size === 0) throw new Error(`model "${name}": validation split "${data.validation.name}" is empty`);
}

/** The training loop's Adam (./adam.ts) over `variables`, configured from `config` (the backend's fastest grouping). */
export function createOptimizer(variables: tfjs.Variable[], config: TrainConfig): Adam {
  return new Adam(variables, {
    learningRate: config.learningRate,
    beta1: config.adamBeta1,
    beta2: config.adamBeta2,
    epsilon: config.adamEpsilon,
    grouping: defaultAdamGrouping(),
    weightDecay: config.weightDecay,
    weightDecayForm: config.weightDecayForm,
  });
}

const now = () => performance.now() / 1000;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Trains `model` in place on `data.train`, early-stopping on `data.validation`. */
export async function trainModel(
  model: MultiTaskModel,
  data: { train: EncodedSplit; validation: EncodedSplit },
  options: TrainOptions = {},
): Promise<TrainResult> {
  const t = tf();
  const name = model.spec.name;
  if (model.grouped) throw new Error(`trainModel: model "${name}" is a seed group; use trainSeedGroup`);
  const config = resolveTrainConfig(options, model.seed);
  const { train, validation } = data;
  checkTrainingData(model, data);

  // The step differentiates the model's trainable variables (one stacked embedding table per block) and
  // updates them with ./adam.ts.
  const varList = model.trainableVariables();
  // Row-wise embedding updates (./rowwise.ts) hold their own optimizers (dense Adam for the dense variables).
  const rowwise = config.embeddingUpdates === "rowwise" ? new RowwiseTraining(model, config) : undefined;
  const optimizer = rowwise ? undefined : createOptimizer(varList, config);
  const lossSpec = withLossWeights(model.spec, config.lossWeights);
  const rng = createRng(config.seed);
  // One early-stopping rule per stopping unit (./early-stopping.ts): IP's two towers, or the whole model.
  const units = stoppingUnits(model);
  const stopping = units.map(() => new EarlyStopping({ patience: config.patience, minDelta: config.minDelta }));
  const unitActive = units.map(() => true);
  const unitLastEpoch = units.map(() => 0);
  const snapshot = (unit: StoppingUnit) => new Map(unit.variables.map((v) => [v, t.clone(model.variables.get(v)!.variable)] as const));
  const dispose = (m: Map<string, tfjs.Tensor> | undefined) => m?.forEach((w) => w.dispose());
  const best: (Map<string, tfjs.Tensor> | undefined)[] = units.map(() => undefined);
  /** A unit's weights when it stopped before the loop's end (restoreBest off). */
  const last: (Map<string, tfjs.Tensor> | undefined)[] = units.map(() => undefined);
  const totalBatches = batchCount(train.size, config.batchSize);
  const epochs: EpochRecord[] = [];
  let restoredBest = false;
  let bestValLoss = Infinity;
  const start = now();
  let trainSeconds = 0;
  let evalSeconds = 0;

  const step = (batch: BatchArrays): tfjs.Scalar =>
    t.tidy(() => {
      const inputs = inputTensors(batch);
      const labels = labelTensors(batch);
      if (rowwise) {
        return rowwise.step(inputs, rowMajorIndices(batch), batch.size, (x) => totalLoss(lossSpec, model.forward(x, true), labels, config.lossNormalization));
      }
      const loss = () => totalLoss(lossSpec, model.forward(inputs, true), labels, config.lossNormalization);
      const { value, grads } = t.variableGrads(loss, varList);
      optimizer!.apply(
        varList.map((v) => {
          const g = grads[v.name];
          // Every trainable variable feeds some loss term (validateSpec); a missing gradient is a bug.
          if (!g) throw new Error(`model "${name}": variable ${v.name} received no gradient`);
          return g;
        }),
      );
      return value;
    });

  try {
    for (let epoch = 1; epoch <= config.maxEpochs; epoch++) {
      const epochStart = now();
      let pending: tfjs.Scalar[] = [];
      let pendingFirstBatch = 1;
      let lossSum = 0;
      let lossCount = 0;
      let examples = 0;
      let b = 0;
      const sync = async () => {
        if (pending.length === 0) return;
        const stacked = t.stack(pending);
        const values = stacked.dataSync();
        stacked.dispose();
        for (const p of pending) p.dispose();
        pending = [];
        for (let k = 0; k < values.length; k++) {
          if (!Number.isFinite(values[k])) throw new TrainingDivergedError(name, epoch, pendingFirstBatch + k, values[k]);
          lossSum += values[k];
          lossCount++;
        }
        pendingFirstBatch = b + 1;
        options.onProgress?.({
          model: name,
          epoch,
          maxEpochs: config.maxEpochs,
          batch: b,
          totalBatches,
          loss: lossSum / lossCount,
          examplesPerSecond: examples / Math.max(now() - epochStart, 1e-9),
        });
        await yieldToEventLoop();
      };
      for (const batch of shuffledBatches(train, config.batchSize, rng)) {
        pending.push(step(batch));
        b++;
        examples += batch.size;
        if (pending.length >= config.syncEvery) await sync();
      }
      await sync();
      const epochTrainSeconds = now() - epochStart;
      trainSeconds += epochTrainSeconds;

      const evalStart = now();
      const preds = predict(model, validation, { batchSize: config.evalBatchSize });
      const bad = preds.pCtcvr.find((p) => !Number.isFinite(p));
      if (bad !== undefined) throw new TrainingDivergedError(name, epoch, "validation", bad);
      const val = splitLosses(validation, preds);
      if (!Number.isFinite(val.ctcvr)) throw new TrainingDivergedError(name, epoch, "validation", val.ctcvr);
      const unitsImproved: Partial<Record<StoppingUnit["criterion"], boolean>> = {};
      units.forEach((unit, u) => {
        if (!unitActive[u]) return;
        const decision = stopping[u].update(epoch, val[unit.criterion] ?? NaN);
        unitsImproved[unit.criterion] = decision.improved;
        unitLastEpoch[u] = epoch;
        if (decision.improved) {
          dispose(best[u]);
          best[u] = snapshot(unit);
        }
        if (decision.stop && epoch < config.maxEpochs) {
          unitActive[u] = false;
          if (units.length > 1 && !config.restoreBest) last[u] = snapshot(unit);
        }
      });
      const epochEvalSeconds = now() - evalStart;
      evalSeconds += epochEvalSeconds;
      const record: EpochRecord = {
        epoch,
        trainLoss: lossSum / lossCount,
        valLoss: val.ctcvr,
        val,
        improved: Object.values(unitsImproved).some(Boolean),
        ...(units.length > 1 ? { unitsImproved } : {}),
        trainSeconds: epochTrainSeconds,
        evalSeconds: epochEvalSeconds,
        examplesPerSecond: train.size / Math.max(epochTrainSeconds, 1e-9),
        numTensors: t.memory().numTensors,
      };
      epochs.push(record);
      options.onEpochEnd?.(record);
      if (!unitActive.some(Boolean)) break;
    }
    // Each unit's weights: its best epoch's (restoreBest), else those of its last epoch.
    const finalEpoch = epochs[epochs.length - 1].epoch;
    units.forEach((_, u) => {
      const weights = config.restoreBest ? (stopping[u].bestEpoch !== finalEpoch ? best[u] : undefined) : last[u];
      if (!weights) return;
      for (const [v, w] of weights) model.variables.get(v)!.variable.assign(w);
      if (config.restoreBest) restoredBest = true;
    });
    // Several units: the CTCVR loss of the weights the model now holds (no epoch had them all).
    bestValLoss = units.length > 1 ? splitLosses(validation, predict(model, validation, { batchSize: config.evalBatchSize })).ctcvr : stopping[0].bestValue;
  } finally {
    best.forEach(dispose);
    last.forEach(dispose);
    optimizer?.dispose();
    rowwise?.dispose();
  }

  const examplesTrained = epochs.length * train.size;
  return {
    model: name,
    spec: model.spec,
    architecture: model.architecture,
    modelSeed: model.seed,
    config,
    epochs,
    bestEpoch: Math.max(...stopping.map((s) => s.bestEpoch)),
    bestValLoss,
    ...(units.length > 1
      ? { units: units.map((unit, u) => ({ criterion: unit.criterion, bestEpoch: stopping[u].bestEpoch, bestValue: stopping[u].bestValue, lastEpoch: unitLastEpoch[u] })) }
      : {}),
    stoppedEarly: unitLastEpoch.every((e) => e < config.maxEpochs),
    restoredBest,
    parameters: model.parameterCount(),
    timings: {
      totalSeconds: now() - start,
      trainSeconds,
      evalSeconds,
      examplesPerSecond: examplesTrained / Math.max(trainSeconds, 1e-9),
    },
    trainRows: train.size,
    validationRows: validation.size,
    backend: backendInfo()?.name ?? t.getBackend(),
  };
}

export interface FitOptions extends TrainOptions {
  architecture?: Partial<Architecture>;
  /** Seed of the model's initialisers and (unless `seed` is given) of the shuffling. Default 0. */
  modelSeed?: number;
}

/** Builds `spec` for `data.train`'s inputs and trains it. The caller owns (and disposes) the model. */
export async function fitSpec(
  spec: ModelSpec,
  data: { train: EncodedSplit; validation: EncodedSplit },
  options: FitOptions = {},
): Promise<{ model: MultiTaskModel; result: TrainResult }> {
  const model = buildModel(spec, inputDimsOf(data.train), { architecture: options.architecture, seed: options.modelSeed ?? options.seed ?? 0 });
  try {
    const result = await trainModel(model, data, options);
    return { model, result };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
