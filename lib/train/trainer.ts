/**
 * The training loop shared by every model of the zoo, for a model of S >= 1 seeds: a single model (S = 1) and a
 * seed group (S seeds of one model trained in one graph, lib/models BuildOptions.seeds) are trained by the same
 * loop, `trainSeeds`; trainModel / trainSeedGroup / fitSpec / fitSeedGroup are thin wrappers of it.
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
 * Per epoch: a seeded shuffle per seed (pure-rand xoroshiro128+), the batches, then predictions on the validation
 * split and its weighted log losses; early stopping with patience per seed and stopping unit, restoring each
 * unit's best epoch's weights. With TrainConfig.testEveryEpoch, each epoch's weights are also scored on the test
 * split, for the epoch's record only (nothing reads it: the weights kept are the same bit for bit). A seed ends
 * when all its units have stopped, the loop when every seed has (a stopped unit's variables keep being stepped,
 * which does not touch the others: they share no parameter and no loss term; its best weights are restored at
 * the end).
 * The loss is read back from the backend once per `syncEvery` batches (all pending batch losses in one
 * read), which is also when non-finite losses are detected and `onProgress` is called.
 *
 * What each seed of a group keeps from its single run (test/seed-group.test.ts compares every seed's
 * predictions and metrics with its single run):
 * - its initial values (the group's slice s is drawn with seed s, lib/models blocks.ts);
 * - its batch order (its own shuffling generator, seeded with its training seed, one permutation per epoch);
 * - its loss: the group's objective is the sum of the seeds' objectives, each a function of its own slice
 *   and its own rows only, so each slice's gradient is its single run's gradient; Adam is elementwise;
 * - its early stopping and its records: a stopped seed's slice keeps being stepped with the others (the step is
 *   one graph), but each unit's weights are taken from the snapshot of its best epoch (or, without restoreBest,
 *   of its last epoch), and the seed's records end where its single run would have ended. With
 *   TrainSeedsOptions.compactStopped, stopped seeds leave the group after their last epoch instead, when that
 *   moves no bit of the others (./compaction.ts; the study runner, lib/study/run.ts, asks for it);
 * - its failure: a non-finite loss or prediction fails that seed only; the other seeds go on.
 * A group differs from its single runs by float32 summation order (a batched matrix product and the per-seed
 * reductions may add in a different order), so values agree to a tolerance, not bit for bit. A single model is
 * the S = 1 case without a seed axis (its variables are unstacked): the batch builder (./batches.ts
 * seedBatchTensors) leaves the axis out and its one loss is not summed, so it runs the ops a single run always
 * ran (test/paper-models-compat.test.ts holds its predictions to 1e-6). Time is measured for the loop; each
 * seed's timings are the loop's divided by S. Batch norm and dropout are not supported in a group (buildModel throws).
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { EncodedSplit } from "../data/encoded";
import { backendInfo, tf } from "../backend";
import {
  Architecture,
  DEFAULT_LOSS_NORMALIZATION,
  LOSS_NORMALIZATIONS,
  LossNormalization,
  ModelInputs,
  ModelSpec,
  MultiTaskModel,
  ParameterCount,
  buildModel,
  inputDimsOf,
  totalLoss,
} from "../models";
import { batchCount, checkSplit, SeedBatchReader, seedBatchTensors } from "./batches";
import { EarlyStopping, SeedSnapshots, StoppingUnit, stoppingUnits } from "./early-stopping";
import { Predictions, SplitLosses, predictEachSeed, splitLosses } from "./evaluate";
import { evaluateSpaces, SpaceMetrics } from "../metrics";
import { createRng, shuffledIndices } from "./random";
import { Adam, defaultAdamGrouping, WEIGHT_DECAY_FORMS, WeightDecayForm } from "./adam";
import { EMBEDDING_UPDATES, EmbeddingUpdates, RowwiseTraining } from "./rowwise";
import { copySeedSlices, exactRemoval, keepsBitsWhenCompacted } from "./compaction";

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
  /**
   * Also score the test split after every epoch and keep its metrics in the epoch's record (EpochRecord.test):
   * what choosing the epoch on the test set would have picked (lib/study/epoch-choice.ts). A measurement only:
   * it never touches training, the epoch choice or the weights kept (the same predictions bit for bit,
   * test/epoch-test-scores.test.ts); it costs one prediction pass over the test split per epoch (counted in the
   * epoch's evalSeconds). Needs the data's test split (trainSeeds throws without it). Optional, absent meaning
   * false (not in DEFAULT_TRAIN_CONFIG: study run keys hash the defaults and must not move; a run with it has
   * its own key).
   */
  testEveryEpoch?: boolean;
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
  /**
   * With TrainConfig.testEveryEpoch only: the test split scored with this epoch's weights (before any restore),
   * per evaluation space the model predicts. Never read by training or early stopping.
   */
  test?: EpochTestScore;
}

/** The metrics of one evaluation space kept per epoch: weighted log loss (nats per unit weight), ROC AUC and PR AUC (unitless; NaN where undefined). */
export interface EpochSpaceScore {
  logLoss: number;
  rocAuc: number;
  prAuc: number;
}

/**
 * One epoch's test scores (TrainConfig.testEveryEpoch), per space of lib/metrics EVALUATION_SPACES (ctcvr: all
 * rows, label click AND conversion, pCTCVR; cvr: clicked rows, label conversion, pCVR; ctr: all rows, pCTR),
 * computed by lib/metrics evaluateSpaces, the function of the record's final `test.metrics`: at the chosen
 * epoch the two agree exactly (same weights, same predictions).
 */
export interface EpochTestScore {
  ctcvr: EpochSpaceScore;
  cvr?: EpochSpaceScore;
  ctr?: EpochSpaceScore;
}

/** evaluateSpaces of `preds` on `split`, reduced to the metrics an epoch record keeps (EpochTestScore). */
export function epochTestScore(split: EncodedSplit, preds: Predictions): EpochTestScore {
  const report = evaluateSpaces({ click: split.click, conversion: split.conversion, weight: split.weight, pCtr: preds.pCtr, pCvr: preds.pCvr, pCtcvr: preds.pCtcvr });
  const keep = (m: SpaceMetrics): EpochSpaceScore => ({ logLoss: m.logLoss, rocAuc: m.rocAuc, prAuc: m.prAuc });
  return {
    ctcvr: keep(report.ctcvr),
    ...(report.cvr ? { cvr: keep(report.cvr) } : {}),
    ...(report.ctr ? { ctr: keep(report.ctr) } : {}),
  };
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
   * Trained in a seed group of these seeds (a model with a seed axis, lib/models BuildOptions.seeds). Absent for
   * a single model. Either way its timings are the loop's divided by the number of seeds.
   */
  seedGroup?: { seeds: number[] };
}

/**
 * The splits of a training: `train` (the steps), `validation` (early stopping) and, read only with
 * TrainConfig.testEveryEpoch, `test` (scored after every epoch, never used for any decision). A PreparedData
 * (lib/data/prepare.ts) is one.
 */
export interface TrainingData {
  train: EncodedSplit;
  validation: EncodedSplit;
  test?: EncodedSplit;
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
  if (options.testEveryEpoch !== undefined) c.testEveryEpoch = options.testEveryEpoch;
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
  if (c.testEveryEpoch !== undefined && typeof c.testEveryEpoch !== "boolean") {
    throw new Error(`train config: testEveryEpoch must be true or false, got ${JSON.stringify(c.testEveryEpoch)}`);
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
 * checkSplit) or is empty.
 */
export function checkTrainingData(model: MultiTaskModel, data: TrainingData): void {
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

/** Every variable of `model` (trainable or not) in its fixed order. */
const allVariables = (model: MultiTaskModel): tfjs.Variable[] => [...model.variables.values()].map((i) => i.variable);

/** Rows per seed of the forward passes predicting a split of `n` rows in batches of `batchSize` (the last may be smaller). */
function evalRowCounts(n: number, batchSize: number): number[] {
  return [Math.min(n, batchSize), n % batchSize];
}

/** One seed's outcome: its result, or the error that ended its training (TrainingDivergedError). */
export type SeedOutcome = { seed: number; result: TrainResult; error?: undefined } | { seed: number; result?: undefined; error: Error };

export interface TrainSeedsOptions extends Omit<TrainOptions, "onEpochEnd"> {
  /** Shuffling seed of each seed of the model (same order). Default: `seed` for every seed when given, else each model seed. */
  shuffleSeeds?: number[];
  /**
   * A seed group: after an epoch at which some seeds ended (stopped or failed) while others go on, train the others
   * in a smaller group without them (./compaction.ts), when that leaves every remaining seed's float32 values the
   * same bit for bit (exactRemoval); the ended seeds' weights are final then (their best or last epoch's). The
   * results are the same either way (test/seed-compaction.test.ts); only the work and time differ. Default false
   * (every seed is stepped until the group ends). Not with embeddingUpdates "rowwise", nor for models with a softmax
   * (MMoE, PLE, AITM: keepsBitsWhenCompacted), whose groups then train whole.
   */
  compactStopped?: boolean;
  /** With compactStopped: called after each compaction with the model seeds still trained, in slot order. */
  onCompact?: (remaining: number[], epoch: number) => void;
  /** Called after each epoch's evaluation, once per seed still training, with that seed. */
  onEpochEnd?: (e: EpochRecord, seed: number) => void;
}

/**
 * The training loop: trains every seed of `model` in place on `data.train`, each early-stopping on
 * `data.validation` (see the file comment). A model is a group of S >= 1 seeds: a single model (built with
 * `seed`) is S = 1 without a seed axis, a seed group (built with `seeds`) has one (lib/models blocks.ts); the
 * loop is the same, the layout only changes the batch's tensors (./batches.ts seedBatchTensors) and whether the
 * per-seed losses are summed.
 *
 * Returns one outcome per seed in the model's seed order; a non-finite training loss, validation loss or
 * prediction ends that seed only, with a TrainingDivergedError as its outcome (a NaN in one seed's slice does
 * not reach the others). Timings are the loop's, divided by S. Throws (before any training) on an empty split,
 * a split that does not fit the model, a bad config, `shuffleSeeds` of another length than the seeds, or
 * testEveryEpoch without a fitting `data.test`.
 */
export async function trainSeeds(
  model: MultiTaskModel,
  data: TrainingData,
  options: TrainSeedsOptions = {},
): Promise<SeedOutcome[]> {
  const t = tf();
  const name = model.spec.name;
  const seeds = model.seeds;
  const S = seeds.length;
  if (options.shuffleSeeds && options.shuffleSeeds.length !== S) {
    throw new Error(`model "${name}": ${options.shuffleSeeds.length} shuffle seeds for ${S} model seeds`);
  }
  const configs = seeds.map((seed, s) => resolveTrainConfig({ ...options, seed: options.shuffleSeeds?.[s] ?? options.seed }, seed));
  const config = configs[0];
  const { train, validation } = data;
  checkTrainingData(model, data);
  // TrainConfig.testEveryEpoch: the test split, scored after every epoch for the record only.
  const test = config.testEveryEpoch ? data.test : undefined;
  if (config.testEveryEpoch) {
    if (!test) throw new Error(`model "${name}": testEveryEpoch needs the data's test split, and none was given`);
    checkSplit(test, model.dims, name);
  }

  // The step differentiates the model's trainable variables (one stacked embedding table per block) and
  // updates them with ./adam.ts; row-wise embedding updates (./rowwise.ts) hold their own optimizers (dense
  // Adam for the dense variables; each seed's rows are its own rows of the stacked tables).
  let varList = model.trainableVariables();
  const rowwise = config.embeddingUpdates === "rowwise" ? new RowwiseTraining(model, config) : undefined;
  let optimizer = rowwise ? undefined : createOptimizer(varList, config);
  // Compaction (options.compactStopped): the model stepped (`work`) may be a smaller group of the seeds still
  // training, `slots[p]` the seed (index into `seeds`) of its slot p; `model` gets every seed's weights at the end.
  let work = model;
  let slots = seeds.map((_, s) => s);
  const bySlot = <T>(perSeed: T[]): T[] => slots.map((s) => perSeed[s]);
  const slotOf = (s: number) => slots.indexOf(s);
  const compact = options.compactStopped === true && model.grouped && !rowwise && keepsBitsWhenCompacted(model.spec);
  const lossSpec = withLossWeights(model.spec, config.lossWeights);
  const rngs = configs.map((c) => createRng(c.seed));
  // One early-stopping rule per seed and stopping unit (./early-stopping.ts): IP's two towers, or the whole model.
  const units = stoppingUnits(model);
  const stopping = seeds.map(() => units.map(() => new EarlyStopping({ patience: config.patience, minDelta: config.minDelta })));
  /** The last epoch each seed's unit was evaluated in. */
  const unitLastEpoch = seeds.map(() => units.map(() => 0));
  const unitActive = seeds.map(() => units.map(() => true));
  const epochs: EpochRecord[][] = seeds.map(() => []);
  const errors: (Error | undefined)[] = seeds.map(() => undefined);
  /** Still training: some unit neither stopped nor failed. */
  const active = seeds.map(() => true);
  const unitVariablesOf = (m: MultiTaskModel) => units.map((unit) => unit.variables.map((v) => m.variables.get(v)!.variable));
  let unitVariables = unitVariablesOf(model);
  /** Each unit's best epoch's weights, per slot of `work`. */
  let best = unitVariables.map((variables) => new SeedSnapshots(variables, S));
  /** Without restoreBest: a unit's weights when it stopped while the loop went on (later steps move them), per slot of `work`. */
  let last = unitVariables.map((variables) => new SeedSnapshots(variables, S));
  const lastTaken = units.map(() => seeds.map(() => false));
  const totalBatches = batchCount(train.size, config.batchSize);
  const start = now();
  let trainSeconds = 0;
  let evalSeconds = 0;
  let epochsRun = 0;
  /** Several units: each seed's validation CTCVR loss at the end (one unit: its best value). */
  const bestValLoss = seeds.map(() => NaN);

  /** One step on rows [from, to) of each seed's permutation; returns the seeds' objectives, [S]. */
  const step = (batches: SeedBatchReader, from: number, to: number): tfjs.Tensor1D =>
    t.tidy(() => {
      const batch = batches.batch(from, to);
      const { inputs, labels } = seedBatchTensors(batch, model.grouped);
      let perSeed: tfjs.Tensor1D | undefined;
      // A group's objective is the sum of its seeds' objectives (each a function of its own slice and rows, so
      // each slice's gradient is its single run's); a single model's is its one scalar, as is.
      const objective = (x: ModelInputs = inputs): tfjs.Scalar => {
        const loss = totalLoss(lossSpec, work.forward(x, true), labels, config.lossNormalization);
        perSeed = t.keep(t.reshape(loss, [slots.length]) as tfjs.Tensor1D);
        return model.grouped ? t.sum(loss) : (loss as tfjs.Scalar);
      };
      if (rowwise) {
        rowwise.step(inputs, batch.categoricalRows, batch.size, objective).dispose();
        return perSeed!;
      }
      const { value, grads } = t.variableGrads(() => objective(), varList);
      value.dispose();
      optimizer!.apply(
        varList.map((v) => {
          const g = grads[v.name];
          // Every trainable variable feeds some loss term (validateSpec); a missing gradient is a bug.
          if (!g) throw new Error(`model "${name}": variable ${v.name} received no gradient`);
          return g;
        }),
      );
      return perSeed!;
    });

  /** Per-seed row counts of every tensor a step or a prediction makes (the tails exactRemoval checks). */
  const rowCounts = [config.batchSize, train.size % config.batchSize, ...evalRowCounts(validation.size, config.evalBatchSize), ...(test ? evalRowCounts(test.size, config.evalBatchSize) : [])].filter((n) => n > 0);
  /**
   * Compaction (options.compactStopped), after an epoch's records: the ended seeds exactRemoval lets go get their
   * final weights in `model` (their units' best epoch's, or last epoch's, as the end of the loop would give them),
   * and the others go on in a smaller group holding their values, Adam moments and snapshots.
   */
  const compactWork = () => {
    const kept = exactRemoval(bySlot(active), rowCounts);
    if (kept.length === slots.length) return;
    const gone = slots.map((_, p) => p).filter((p) => !kept.includes(p));
    if (work !== model) copySeedSlices(allVariables(work), slots.length, gone, allVariables(model), S, gone.map((p) => slots[p]));
    const modelUnitVariables = unitVariablesOf(model);
    units.forEach((_, u) => {
      const restored = gone.filter((p) => {
        const s = slots[p];
        return !errors[s] && (config.restoreBest ? stopping[s][u].bestEpoch > 0 : lastTaken[u][s]);
      });
      (config.restoreBest ? best : last)[u].copyTo(modelUnitVariables[u], S, restored, restored.map((p) => slots[p]));
    });
    const next = buildModel(model.spec, model.dims, { architecture: model.architecture, seeds: kept.map((p) => seeds[slots[p]]) });
    copySeedSlices(allVariables(work), slots.length, kept, allVariables(next), kept.length, kept.map((_, q) => q));
    const nextVars = next.trainableVariables();
    const nextOptimizer = optimizer!.keepSeeds(nextVars, slots.length, kept);
    optimizer!.dispose();
    optimizer = nextOptimizer;
    unitVariables = unitVariablesOf(next);
    const keepSnapshots = (xs: SeedSnapshots[]) =>
      xs.map((x, u) => {
        const y = x.keepSlots(unitVariables[u], kept);
        x.dispose();
        return y;
      });
    best = keepSnapshots(best);
    last = keepSnapshots(last);
    if (work !== model) work.dispose();
    work = next;
    varList = nextVars;
    slots = kept.map((p) => slots[p]);
    options.onCompact?.(slots.map((s) => seeds[s]), epochsRun);
  };

  try {
    for (let epoch = 1; epoch <= config.maxEpochs && active.some(Boolean); epoch++) {
      epochsRun = epoch;
      const epochStart = now();
      const orders = rngs.map((rng) => shuffledIndices(train.size, rng));
      let pending: tfjs.Tensor1D[] = [];
      let pendingFirstBatch = 1;
      const lossSum = new Float64Array(S);
      let lossCount = 0;
      let examples = 0;
      let b = 0;
      // Reads the pending batch losses back (one read), checks them, reports progress.
      const sync = async () => {
        if (pending.length === 0) return;
        const stacked = t.stack(pending); // [batches, slots]
        const values = stacked.dataSync();
        const width = slots.length;
        stacked.dispose();
        for (const p of pending) p.dispose();
        const k = pending.length;
        pending = [];
        for (let s = 0; s < S; s++) {
          if (!active[s]) continue;
          for (let j = 0; j < k; j++) {
            const v = values[j * width + slotOf(s)];
            if (!Number.isFinite(v)) {
              errors[s] = new TrainingDivergedError(name, epoch, pendingFirstBatch + j, v);
              active[s] = false;
              break;
            }
            lossSum[s] += v;
          }
        }
        lossCount += k;
        pendingFirstBatch = b + 1;
        const live = seeds.map((_, s) => s).filter((s) => active[s]);
        options.onProgress?.({
          model: name,
          epoch,
          maxEpochs: config.maxEpochs,
          batch: b,
          totalBatches,
          loss: live.length > 0 ? live.reduce((acc, s) => acc + lossSum[s], 0) / live.length / lossCount : NaN,
          examplesPerSecond: examples / Math.max(now() - epochStart, 1e-9),
        });
        await yieldToEventLoop();
      };
      const batches = new SeedBatchReader(train, bySlot(orders), config.batchSize); // the slots change only between epochs
      for (let from = 0; from < train.size && active.some(Boolean); from += config.batchSize) {
        pending.push(step(batches, from, Math.min(from + config.batchSize, train.size)));
        b++;
        examples += slots.length * Math.min(config.batchSize, train.size - from);
        if (pending.length >= config.syncEvery) await sync();
      }
      await sync();
      if (!active.some(Boolean)) break;
      const epochTrainSeconds = now() - epochStart;
      trainSeconds += epochTrainSeconds;

      // Validation: every seed's predictions and weighted log losses, each unit's early-stopping decision.
      const evalStart = now();
      const slotPreds = predictEachSeed(work, validation, { batchSize: config.evalBatchSize });
      const preds = seeds.map((_, s) => slotPreds[slotOf(s)]);
      const improved = units.map(() => seeds.map(() => false));
      const ending = units.map(() => seeds.map(() => false));
      const records: (EpochRecord | undefined)[] = seeds.map(() => undefined);
      for (let s = 0; s < S; s++) {
        if (!active[s]) continue;
        const bad = preds[s].pCtcvr.find((p) => !Number.isFinite(p));
        if (bad !== undefined) {
          errors[s] = new TrainingDivergedError(name, epoch, "validation", bad);
          active[s] = false;
          continue;
        }
        const val = splitLosses(validation, preds[s]);
        if (!Number.isFinite(val.ctcvr)) {
          errors[s] = new TrainingDivergedError(name, epoch, "validation", val.ctcvr);
          active[s] = false;
          continue;
        }
        const unitsImproved: Partial<Record<StoppingUnit["criterion"], boolean>> = {};
        units.forEach((unit, u) => {
          if (!unitActive[s][u]) return;
          const decision = stopping[s][u].update(epoch, val[unit.criterion] ?? NaN);
          unitsImproved[unit.criterion] = improved[u][s] = decision.improved;
          unitLastEpoch[s][u] = epoch;
          // A unit's last epoch: stopped by patience now, or the last epoch of all.
          ending[u][s] = decision.stop || epoch === config.maxEpochs;
        });
        records[s] = {
          epoch,
          trainLoss: lossSum[s] / lossCount,
          valLoss: val.ctcvr,
          val,
          improved: Object.values(unitsImproved).some(Boolean),
          ...(units.length > 1 ? { unitsImproved } : {}),
          trainSeconds: epochTrainSeconds / S,
          evalSeconds: 0,
          examplesPerSecond: (S * train.size) / Math.max(epochTrainSeconds, 1e-9),
          numTensors: 0,
        };
      }
      units.forEach((_, u) => seeds.forEach((_, s) => ending[u][s] && (unitActive[s][u] = false)));
      for (let s = 0; s < S; s++) if (!unitActive[s].some(Boolean)) active[s] = false;
      // Snapshots: each improved unit's weights; without restoreBest, a unit that stopped while the loop goes on.
      const goesOn = epoch < config.maxEpochs && active.some(Boolean);
      units.forEach((_, u) => {
        best[u].take(bySlot(improved[u]));
        if (config.restoreBest || !goesOn) return;
        last[u].take(bySlot(ending[u]));
        seeds.forEach((_, s) => ending[u][s] && (lastTaken[u][s] = true));
      });
      // TrainConfig.testEveryEpoch: this epoch's weights (the snapshots above are taken, nothing is restored yet)
      // scored on the test split, for the records only; nothing above or below reads it.
      if (test) {
        const testPreds = predictEachSeed(work, test, { batchSize: config.evalBatchSize });
        records.forEach((record, s) => record && (record.test = epochTestScore(test, testPreds[slotOf(s)])));
      }
      const epochEvalSeconds = now() - evalStart;
      evalSeconds += epochEvalSeconds;
      for (let s = 0; s < S; s++) {
        const record = records[s];
        if (!record) continue;
        record.evalSeconds = epochEvalSeconds / S;
        record.numTensors = t.memory().numTensors;
        epochs[s].push(record);
        options.onEpochEnd?.(record, seeds[s]);
      }
      if (compact && goesOn) compactWork();
    }
    // Every seed's units' weights: their best epoch's (restoreBest), else their last epoch's.
    units.forEach((_, u) => {
      if (config.restoreBest) best[u].restore(bySlot(seeds.map((_, s) => !errors[s] && stopping[s][u].bestEpoch > 0 && stopping[s][u].bestEpoch !== epochsRun)));
      else last[u].restore(bySlot(seeds.map((_, s) => !errors[s] && lastTaken[u][s])));
    });
    // A compacted group's seeds back into the model's slots.
    if (work !== model) {
      copySeedSlices(allVariables(work), slots.length, slots.map((_, p) => p), allVariables(model), S, slots);
      work.dispose();
      work = model;
    }
    // Several units: the CTCVR loss of the weights each seed now holds (no epoch had them all).
    if (units.length > 1 && errors.some((e) => !e)) {
      const restored = predictEachSeed(model, validation, { batchSize: config.evalBatchSize });
      seeds.forEach((_, s) => !errors[s] && (bestValLoss[s] = splitLosses(validation, restored[s]).ctcvr));
    }
  } finally {
    if (work !== model) work.dispose();
    best.forEach((x) => x.dispose());
    last.forEach((x) => x.dispose());
    optimizer?.dispose();
    rowwise?.dispose();
  }

  const parameters = model.parameterCount();
  const backend = backendInfo()?.name ?? t.getBackend();
  const totalSeconds = now() - start;
  return seeds.map((seed, s): SeedOutcome => {
    const error = errors[s];
    if (error) return { seed, error };
    const seedEpochs = epochs[s];
    const result: TrainResult = {
      model: name,
      spec: model.spec,
      architecture: model.architecture,
      modelSeed: seed,
      config: configs[s],
      epochs: seedEpochs,
      bestEpoch: Math.max(...stopping[s].map((x) => x.bestEpoch)),
      bestValLoss: units.length > 1 ? bestValLoss[s] : stopping[s][0].bestValue,
      ...(units.length > 1
        ? { units: units.map((unit, u) => ({ criterion: unit.criterion, bestEpoch: stopping[s][u].bestEpoch, bestValue: stopping[s][u].bestValue, lastEpoch: unitLastEpoch[s][u] })) }
        : {}),
      stoppedEarly: unitLastEpoch[s].every((e) => e < config.maxEpochs),
      restoredBest: config.restoreBest && stopping[s].some((x, u) => x.bestEpoch !== unitLastEpoch[s][u]),
      parameters,
      timings: {
        totalSeconds: totalSeconds / S,
        trainSeconds: trainSeconds / S,
        evalSeconds: evalSeconds / S,
        examplesPerSecond: (S * epochsRun * train.size) / Math.max(trainSeconds, 1e-9),
      },
      trainRows: train.size,
      validationRows: validation.size,
      backend,
      ...(model.grouped ? { seedGroup: { seeds: [...seeds] } } : {}),
    };
    return { seed, result };
  });
}

export interface FitOptions extends TrainOptions {
  architecture?: Partial<Architecture>;
  /** Seed of the model's initialisers and (unless `seed` is given) of the shuffling. Default 0. */
  modelSeed?: number;
}

export interface SeedGroupOptions extends Omit<TrainSeedsOptions, "seed" | "onEpochEnd"> {
  /** Called after each epoch's evaluation, once per seed still training. */
  onEpochEnd?: (seed: number, e: EpochRecord) => void;
}

export interface FitSeedGroupOptions extends SeedGroupOptions {
  architecture?: Partial<Architecture>;
  /** The group's model seeds (distinct integers). */
  seeds: number[];
}

/**
 * Builds `spec` for `data.train`'s inputs with model seed(s) `seeds` (a number: a single model, S = 1 without a
 * seed axis; a list: a seed group, lib/models BuildOptions) and trains it with `trainSeeds`. The caller owns
 * (and disposes) the model; on a throw the model is disposed.
 */
export async function fitSeeds(
  spec: ModelSpec,
  data: TrainingData,
  options: TrainSeedsOptions & { architecture?: Partial<Architecture>; seeds: number | number[] },
): Promise<{ model: MultiTaskModel; outcomes: SeedOutcome[] }> {
  const { architecture, seeds, ...train } = options;
  const model = buildModel(spec, inputDimsOf(data.train), Array.isArray(seeds) ? { architecture, seeds } : { architecture, seed: seeds });
  try {
    return { model, outcomes: await trainSeeds(model, data, train) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** The result of a single model's training, or its error thrown. */
function onlyResult(outcomes: SeedOutcome[]): TrainResult {
  const [outcome] = outcomes;
  if (outcome.error) throw outcome.error;
  return outcome.result;
}

/**
 * `trainSeeds` of a single model (S = 1): its result; throws its TrainingDivergedError, and on a seed group
 * (use trainSeedGroup).
 */
export async function trainModel(model: MultiTaskModel, data: TrainingData, options: TrainOptions = {}): Promise<TrainResult> {
  if (model.grouped) throw new Error(`trainModel: model "${model.spec.name}" is a seed group; use trainSeedGroup`);
  return onlyResult(await trainSeeds(model, data, options));
}

/** `trainSeeds` of a seed group (its per-epoch hook called with the seed first). Throws on a single model (use trainModel). */
export async function trainSeedGroup(model: MultiTaskModel, data: TrainingData, options: SeedGroupOptions = {}): Promise<SeedOutcome[]> {
  if (!model.grouped) throw new Error(`trainSeedGroup: model "${model.spec.name}" is not a seed group; use trainModel`);
  const { onEpochEnd, ...rest } = options;
  return trainSeeds(model, data, { ...rest, onEpochEnd: onEpochEnd && ((e, seed) => onEpochEnd(seed, e)) });
}

/** `fitSeeds` of a single model of seed `modelSeed` (default: `seed`, else 0): the model and its result; throws its error. */
export async function fitSpec(
  spec: ModelSpec,
  data: TrainingData,
  options: FitOptions = {},
): Promise<{ model: MultiTaskModel; result: TrainResult }> {
  const { modelSeed, ...rest } = options;
  const { model, outcomes } = await fitSeeds(spec, data, { ...rest, seeds: modelSeed ?? options.seed ?? 0 });
  try {
    return { model, result: onlyResult(outcomes) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** `fitSeeds` of a seed group of `options.seeds` (its per-epoch hook called with the seed first). The caller owns (and disposes) the model. */
export async function fitSeedGroup(
  spec: ModelSpec,
  data: TrainingData,
  options: FitSeedGroupOptions,
): Promise<{ model: MultiTaskModel; outcomes: SeedOutcome[] }> {
  const { onEpochEnd, ...rest } = options;
  return fitSeeds(spec, data, { ...rest, onEpochEnd: onEpochEnd && ((e, seed) => onEpochEnd(seed, e)) });
}
