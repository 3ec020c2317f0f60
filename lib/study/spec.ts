/**
 * What a study is, as data: a grid of variants x models x seeds over prepared data sets.
 *
 * A variant is a named set of protocol choices (simulator config, negative keep rate, architecture,
 * training options such as loss normalisation or patience). The default study has one variant,
 * "default"; the protocol-sensitivity study (notebook 05) has one variant per level of each factor.
 *
 * Replicates. Three sources of noise are crossed in the grid, each with its own seeds:
 *   worlds   simulator seeds (`data.simulatorSeed`): a new set of users and ads, a new log, its own test day;
 *   draws    downsampling seeds (`data.prepareSeed`): which non-clicked training rows are kept;
 *   seeds    model seeds: initial weights and batch order. Runs with the same seed on the same data share
 *            their batch order, and models of the same shape (IP and ESMM-NS; IPSP and ESMM) start from
 *            identical weights, so comparisons are paired by seed (lib/study/compare.ts).
 * A (world, draw) pair is one prepared data set, a "data replicate"; `worlds` and `draws` default to the
 * single values in `data`, which is the paper's design (one data set, many model seeds).
 *
 * Real data (`data.prepared`, lib/study/real-data.ts): a folder written by `esmm prepare` is the one data
 * set; nothing is simulated. Its DataSpec is made by `preparedDataSpec(dir)` from the folder: `prepareSeed` and
 * `negativeKeepRate` the values the folder was prepared with, `laterDays` its later days, `prepared.sha256` its
 * content hash, which keys its runs, and the placeholders `simulator` {} and `simulatorSeed` 0 (the format's,
 * kept so that no key moves; no world). What such a spec names is lib/study/data-source.ts's to say: its
 * records are one replicate, the prepared folder (draw = the preparation seed; dataReplicateOf), in
 * replicateOf and compare.ts. Worlds and draws cannot be set on real data (another draw is another prepared
 * folder).
 *
 * `expandGrid` lists the runs in a fixed order, so shards (`--shard i/n`) are deterministic.
 */
import { DEFAULT_NEGATIVE_KEEP_RATE, DEFAULT_OOV_MASK_RATE, DEFAULT_OOV_MIN_COUNT, DEFAULT_PREPARE_SEED } from "../data/prepare";
import { drawWorld } from "../data/world-prior";
import { embeddingUpdatesFor, isOneDataSet } from "./data-source";
import { modelRowField } from "../models/row-version";
import type { SimulatorConfig } from "../data/simulator-config";
import type { Architecture } from "../models";
import type { TrainConfig } from "../train";

export interface DataSpec {
  simulator: Partial<SimulatorConfig>;
  simulatorSeed: number;
  /** Keep rate of non-clicked training impressions (weight 1/r). */
  negativeKeepRate: number;
  /** Days after the test day scored without retraining. */
  laterDays: number;
  /** Seed of the downsampling draw (the same for every run on this data, as in docs/protocol-facts.md). */
  prepareSeed: number;
  /**
   * k of the out-of-vocabulary rule: ids seen fewer than k times on the kept training rows share index 0 with
   * unseen ids (lib/data/prepare.ts DEFAULT_OOV_MIN_COUNT, 2). Absent means that default.
   */
  oovMinCount?: number;
  /** m of the OOV masking rule (prepare.ts DEFAULT_OOV_MASK_RATE, 0.01; 0 = off). Absent means that default. */
  oovMaskRate?: number;
  /**
   * Real data: a prepared folder (`esmm prepare`) used as it is, never simulated; `sha256` is its content
   * hash (real-data.ts `preparedFolderSha256`), which names the data in the run keys instead of `dir`.
   * Absent for simulated data. Made by `preparedDataSpec(dir)`, with the other fields read from the folder.
   */
  prepared?: { dir: string; sha256: string };
  /**
   * The world prior this world's simulator parameters were drawn from (StudySpec.worldPrior, written by expandGrid),
   * so a record says which of its simulator options belong to its world rather than to the study's design.
   */
  worldPrior?: string;
}

export interface VariantSpec {
  name: string;
  /** Factor this variant belongs to and its level, for the sensitivity figures (e.g. "lossNormalization", "own-rows"). */
  factor?: string;
  level?: string | number;
  data?: Partial<Omit<DataSpec, "simulator">> & { simulator?: Partial<SimulatorConfig> };
  architecture?: Partial<Architecture>;
  train?: Partial<Omit<TrainConfig, "seed">>;
  /**
   * Settings of this variant for one model only, by the model's zoo name, merged over the variant's own
   * `architecture` and `train` for that model's runs (e.g. a tuning trial's loss-term weights, which differ
   * by family, or each model's tuned configuration: lib/tune).
   */
  models?: Record<string, { architecture?: Partial<Architecture>; train?: Partial<Omit<TrainConfig, "seed">> }>;
  /**
   * Only these models run in this variant (zoo names; default: every model of the study). A successive-halving
   * rung of the tuning protocol keeps different trials for different models (lib/tune/protocol.ts).
   */
  onlyModels?: string[];
}

export interface StudySpec {
  name: string;
  models: string[];
  seeds: number[];
  data: DataSpec;
  architecture?: Partial<Architecture>;
  train?: Partial<Omit<TrainConfig, "seed">>;
  variants?: VariantSpec[];
  /** Simulator seeds, one simulated world each (default: [data.simulatorSeed]). */
  worlds?: number[];
  /** Downsampling seeds, crossed with the worlds (default: [data.prepareSeed]). */
  draws?: number[];
  /**
   * Worlds as a population (lib/data/world-prior.ts): each world's simulator parameters are drawn from this
   * prior by its simulator seed and written into its `data.simulator`, over the study's own settings and under
   * a variant's. Absent: every world has the study's simulator settings (only the seed differs).
   */
  worldPrior?: string;
}

/** One run of the grid, fully resolved. */
export interface RunSpec {
  study: string;
  variant: string;
  factor?: string;
  level?: string | number;
  model: string;
  seed: number;
  data: DataSpec;
  architecture: Partial<Architecture>;
  train: Partial<Omit<TrainConfig, "seed">>;
  /**
   * The model row's fingerprint (lib/models/row-version.ts modelRowField), written by expandGrid when the row
   * differs from the row as first keyed (2026-12-06): part of the run's computation, so a changed row gets new
   * keys; absent for a row unchanged since, so older runs keep theirs.
   */
  modelRow?: string;
}

export const DEFAULT_DATA_SPEC: DataSpec = {
  simulator: { impressions: 2_000_000, days: 15 },
  simulatorSeed: 7,
  negativeKeepRate: DEFAULT_NEGATIVE_KEEP_RATE,
  laterDays: 2,
  prepareSeed: DEFAULT_PREPARE_SEED,
  oovMinCount: DEFAULT_OOV_MIN_COUNT,
  oovMaskRate: DEFAULT_OOV_MASK_RATE,
};

/**
 * `train` with the data source's defaults for what it leaves open: the embedding-update rule (embeddingUpdatesFor;
 * written into the run only when it is not the trainer's own default "dense", so that runs on simulated data keep
 * their keys, and a run on real data names the rule it was trained with).
 */
function withSourceDefaults(train: Partial<Omit<TrainConfig, "seed">>, data: DataSpec): Partial<Omit<TrainConfig, "seed">> {
  if (train.embeddingUpdates !== undefined) return train;
  const rule = embeddingUpdatesFor(data);
  return rule === "dense" ? train : { ...train, embeddingUpdates: rule };
}

/**
 * Runs in a fixed order: variant, world, draw, then seed, then model (so the runs of one data set come
 * together, and a partial study covers every model evenly). A variant that sets `data.simulatorSeed` or
 * `data.prepareSeed` itself overrides the study's worlds or draws. With `worldPrior`, each world's simulator
 * settings are the study's, then the prior's draw for that world, then the variant's own; a variant's
 * `onlyModels` leaves the other models out of it.
 */
export function expandGrid(study: StudySpec): RunSpec[] {
  const variants = study.variants && study.variants.length > 0 ? study.variants : [{ name: "default" }];
  const runs: RunSpec[] = [];
  // a row's fingerprint is a sha256 of its JSON: once per model, not once per run
  const rowFields = new Map(study.models.map((model) => [model, modelRowField(model)]));
  for (const v of variants as VariantSpec[]) {
    const base: DataSpec = { ...study.data, ...v.data, simulator: { ...study.data.simulator, ...v.data?.simulator } };
    const worlds = v.data?.simulatorSeed !== undefined ? [base.simulatorSeed] : (study.worlds ?? [base.simulatorSeed]);
    const draws = v.data?.prepareSeed !== undefined ? [base.prepareSeed] : (study.draws ?? [base.prepareSeed]);
    const oneDataSet = isOneDataSet(base); // real data: no world-prior draws (data-source.ts)
    for (const world of worlds) {
      for (const draw of draws) {
        const drawn = study.worldPrior && !oneDataSet ? drawWorld(study.worldPrior, world, { ...study.data.simulator, ...v.data?.simulator }).simulator : {};
        const data: DataSpec = study.worldPrior && !oneDataSet
          ? { ...base, simulator: { ...study.data.simulator, ...drawn, ...v.data?.simulator }, simulatorSeed: world, prepareSeed: draw, worldPrior: study.worldPrior }
          : { ...base, simulatorSeed: world, prepareSeed: draw };
        for (const seed of study.seeds) {
          for (const model of study.models) {
            if (v.onlyModels && !v.onlyModels.includes(model)) continue;
            const own = v.models?.[model];
            runs.push({
              study: study.name,
              variant: v.name,
              factor: v.factor,
              level: v.level,
              model,
              seed,
              data,
              architecture: { ...study.architecture, ...v.architecture, ...own?.architecture },
              train: withSourceDefaults({ ...study.train, ...v.train, ...own?.train }, data),
              ...rowFields.get(model),
            });
          }
        }
      }
    }
  }
  return runs;
}
