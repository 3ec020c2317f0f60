/**
 * Seed-batched training: S seeds of one model trained in one graph (a seed group, lib/models BuildOptions.seeds),
 * an optimisation of S runs of `trainModel` with the same results (test/seed-group.test.ts compares every
 * seed's predictions and metrics with its single run).
 *
 * What each seed keeps from its single run:
 * - its initial values (the group's slice s is drawn with seed s, blocks.ts);
 * - its batch order (its own shuffling generator, seeded with its training seed, one permutation per epoch);
 * - its loss: the group's objective is the sum of the seeds' objectives, each a function of its own slice
 *   and its own rows only, so each slice's gradient is its single run's gradient; Adam is elementwise;
 * - its early stopping: each seed is evaluated on the validation split after every epoch and each of its
 *   stopping units (./early-stopping.ts stoppingUnits: IP's two towers, or the whole model) stops by its own
 *   patience. A stopped seed's slice keeps being stepped with the others (the step is one graph), but each unit's
 *   weights are taken from the snapshot of its best epoch (or, without restoreBest, of its last epoch), and the
 *   seed's records end where its single run would have ended;
 * - its failure: a non-finite loss or prediction fails that seed only (a NaN in one slice does not reach the
 *   others); the other seeds go on.
 * Differences: float32 summation order (a batched matrix product and the per-seed reductions may add in a
 * different order), so values agree to a tolerance, not bit for bit. Time is measured for the group; each
 * seed's timings are the group's divided by its size. Batch norm is not supported in a group (buildModel throws).
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { EncodedSplit } from "../data/encoded";
import { backendInfo, tf } from "../backend";
import { Architecture, ModelInputs, ModelSpec, MultiTaskModel, buildModel, inputDimsOf, totalLoss } from "../models";
import { batchCount, gatherSeedRows, seedBatchTensors } from "./batches";
import { EarlyStopping, StoppingUnit, stoppingUnits } from "./early-stopping";
import { predictSeeds, splitLosses } from "./evaluate";
import { createRng, shuffledIndices } from "./random";
import { RowwiseTraining } from "./rowwise";
import {
  EpochRecord,
  TrainConfig,
  TrainOptions,
  TrainResult,
  TrainingDivergedError,
  checkTrainingData,
  createOptimizer,
  resolveTrainConfig,
  withLossWeights,
} from "./trainer";

/** One seed's outcome: its result, or the error its single run would have thrown. */
export type SeedOutcome = { seed: number; result: TrainResult; error?: undefined } | { seed: number; result?: undefined; error: Error };

export interface SeedGroupOptions extends Omit<TrainOptions, "seed" | "onProgress" | "onEpochEnd"> {
  /** Shuffling seed of each seed of the group (same order). Default: each model seed. */
  shuffleSeeds?: number[];
  /** Called every `syncEvery` batches with the group's progress (loss: mean over the active seeds). */
  onProgress?: TrainOptions["onProgress"];
  /** Called after each epoch's evaluation, once per active seed. */
  onEpochEnd?: (seed: number, e: EpochRecord) => void;
}

const now = () => performance.now() / 1000;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Weight snapshots of some seeds of a group: per variable an [S, size] copy, seed s's row updated by `take`.
 * (Every layout of blocks.ts is seed-major, so a variable reshaped to [S, -1] has seed s's values in row s.)
 */
class SeedSnapshots {
  private values = new Map<tfjs.Variable, tfjs.Tensor>();
  constructor(private readonly variables: tfjs.Variable[], private readonly seeds: number) {}

  /** Copies the current values of the seeds where `which[s]` into the snapshot. */
  take(which: boolean[]): void {
    if (!which.some(Boolean)) return;
    const t = tf();
    const mask = t.tensor2d(which.map((b) => (b ? 1 : 0)), [which.length, 1], "bool");
    for (const v of this.variables) {
      const previous = this.values.get(v);
      const next = t.tidy(() => {
        const current = t.reshape(v, [this.seeds, -1]);
        return previous ? t.where(mask, current, previous) : t.clone(current);
      });
      previous?.dispose();
      this.values.set(v, next);
    }
    mask.dispose();
  }

  /** Assigns to each variable: the snapshot for seeds where `use[s]`, `fallback`'s snapshot for the others. */
  restore(use: boolean[], fallback?: SeedSnapshots): void {
    const t = tf();
    const mask = t.tensor2d(use.map((b) => (b ? 1 : 0)), [use.length, 1], "bool");
    for (const v of this.variables) {
      const mine = this.values.get(v);
      const other = fallback?.values.get(v);
      if (!mine) continue;
      t.tidy(() => v.assign(t.reshape(other ? t.where(mask, mine, other) : mine, v.shape)));
    }
    mask.dispose();
  }

  dispose(): void {
    for (const x of this.values.values()) x.dispose();
    this.values.clear();
  }
}

/**
 * Trains a seed group `model` in place on `data.train`, each seed early-stopping on `data.validation` (see
 * the file comment). Returns one outcome per seed, in the group's seed order. Throws (before any training)
 * on a model that is not a group, an empty split or a split that does not fit the model.
 */
export async function trainSeedGroup(
  model: MultiTaskModel,
  data: { train: EncodedSplit; validation: EncodedSplit },
  options: SeedGroupOptions = {},
): Promise<SeedOutcome[]> {
  const t = tf();
  const name = model.spec.name;
  if (!model.grouped) throw new Error(`trainSeedGroup: model "${name}" is not a seed group; use trainModel`);
  const seeds = model.seeds;
  const S = seeds.length;
  if (options.shuffleSeeds && options.shuffleSeeds.length !== S) {
    throw new Error(`trainSeedGroup: ${options.shuffleSeeds.length} shuffle seeds for ${S} model seeds`);
  }
  const configs: TrainConfig[] = seeds.map((seed, s) => resolveTrainConfig({ ...options, seed: options.shuffleSeeds?.[s] }, seed));
  const config = configs[0];
  const { train, validation } = data;
  checkTrainingData(model, data);

  const varList = model.trainableVariables();
  // Row-wise embedding updates (./rowwise.ts): each seed's rows are its own rows of the stacked tables.
  const rowwise = config.embeddingUpdates === "rowwise" ? new RowwiseTraining(model, config) : undefined;
  const optimizer = rowwise ? undefined : createOptimizer(varList, config);
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
  const unitVariables = units.map((unit) => unit.variables.map((v) => model.variables.get(v)!.variable));
  const best = unitVariables.map((variables) => new SeedSnapshots(variables, S));
  const last = unitVariables.map((variables) => new SeedSnapshots(variables, S));
  const totalBatches = batchCount(train.size, config.batchSize);
  const start = now();
  let trainSeconds = 0;
  let evalSeconds = 0;
  let epochsRun = 0;
  /** Several units: each seed's validation CTCVR loss at the end (one unit: its best value). */
  const bestValLoss = seeds.map(() => NaN);

  const step = (orders: Int32Array[], from: number, to: number): tfjs.Tensor1D =>
    t.tidy(() => {
      const arrays = gatherSeedRows(train, orders, from, to);
      const { inputs, labels } = seedBatchTensors(arrays);
      let perSeed: tfjs.Tensor | undefined;
      const objective = (x: ModelInputs = inputs) => {
        perSeed = t.keep(totalLoss(lossSpec, model.forward(x, true), labels, config.lossNormalization));
        return t.sum(perSeed) as tfjs.Scalar;
      };
      if (rowwise) {
        rowwise.step(inputs, arrays.categoricalRows, arrays.size, objective).dispose();
        return perSeed as tfjs.Tensor1D;
      }
      const { value, grads } = t.variableGrads(() => objective(), varList);
      value.dispose();
      optimizer!.apply(
        varList.map((v) => {
          const g = grads[v.name];
          if (!g) throw new Error(`model "${name}": variable ${v.name} received no gradient`);
          return g;
        }),
      );
      return perSeed as tfjs.Tensor1D;
    });

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
      const sync = async () => {
        if (pending.length === 0) return;
        const stacked = t.stack(pending); // [batches, S]
        const values = stacked.dataSync();
        stacked.dispose();
        for (const p of pending) p.dispose();
        const k = pending.length;
        pending = [];
        for (let s = 0; s < S; s++) {
          if (!active[s]) continue;
          for (let j = 0; j < k; j++) {
            const v = values[j * S + s];
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
      for (let from = 0; from < train.size; from += config.batchSize) {
        pending.push(step(orders, from, Math.min(from + config.batchSize, train.size)));
        b++;
        examples += S * Math.min(config.batchSize, train.size - from);
        if (pending.length >= config.syncEvery) await sync();
      }
      await sync();
      const epochTrainSeconds = now() - epochStart;
      trainSeconds += epochTrainSeconds;

      const evalStart = now();
      const preds = predictSeeds(model, validation, { batchSize: config.evalBatchSize });
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
      units.forEach((_, u) => {
        best[u].take(improved[u]);
        last[u].take(ending[u]);
        seeds.forEach((_, s) => ending[u][s] && (unitActive[s][u] = false));
      });
      const epochEvalSeconds = now() - evalStart;
      evalSeconds += epochEvalSeconds;
      for (let s = 0; s < S; s++) {
        const record = records[s];
        if (!record) continue;
        record.evalSeconds = epochEvalSeconds / S;
        record.numTensors = t.memory().numTensors;
        epochs[s].push(record);
        options.onEpochEnd?.(seeds[s], record);
        if (!unitActive[s].some(Boolean)) active[s] = false;
      }
    }
    // Every seed's units' weights: their best epoch's (restoreBest), else their last epoch's.
    units.forEach((_, u) => {
      const hasBest = seeds.map((_, s) => !errors[s] && stopping[s][u].bestEpoch > 0);
      if (config.restoreBest) best[u].restore(hasBest, last[u]);
      else last[u].restore(seeds.map(() => true));
    });
    // Several units: the CTCVR loss of the weights each seed now holds (no epoch had them all).
    if (units.length > 1) {
      const restored = predictSeeds(model, validation, { batchSize: config.evalBatchSize });
      seeds.forEach((_, s) => !errors[s] && (bestValLoss[s] = splitLosses(validation, restored[s]).ctcvr));
    }
  } finally {
    best.forEach((b) => b.dispose());
    last.forEach((b) => b.dispose());
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
    const lastEpoch = seedEpochs[seedEpochs.length - 1].epoch;
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
      seedGroup: { seeds: [...seeds] },
    };
    return { seed, result };
  });
}

export interface FitSeedGroupOptions extends SeedGroupOptions {
  architecture?: Partial<Architecture>;
  /** The group's model seeds (distinct integers). */
  seeds: number[];
}

/** Builds `spec` as a seed group of `options.seeds` for `data.train`'s inputs and trains it. The caller owns (and disposes) the model. */
export async function fitSeedGroup(
  spec: ModelSpec,
  data: { train: EncodedSplit; validation: EncodedSplit },
  options: FitSeedGroupOptions,
): Promise<{ model: MultiTaskModel; outcomes: SeedOutcome[] }> {
  const model = buildModel(spec, inputDimsOf(data.train), { architecture: options.architecture, seeds: options.seeds });
  try {
    const outcomes = await trainSeedGroup(model, data, options);
    return { model, outcomes };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
