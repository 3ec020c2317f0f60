/**
 * The tuning protocol (issue 14, point 1): an equal budget of N trials per model, selection on the
 * validation day only, then the selected configuration of each model retrained over the study's design.
 *
 *   const trials = tuningStudy(base, { trials: 20, designSeed: 1 });     // N trials x models, one data set, one seed
 *   await runStudy(trials, { results });                                 // resumable, keyed, sharded as any study
 *   const chosen = selectBest(trialOutcomes(trials, readResults(results).records));
 *   await runStudy(tunedStudy(base, chosen), { results });                // worlds x seeds x models, tuned
 *
 * Trials are ordinary variants of a study (factor "trial", level k = 0..N-1, name "trial-k"); each holds
 * the settings of every model at design point k (trialSettings: the common dimensions identical for all
 * models, each family's own from the same point's family columns). They run on the base study's first
 * world and draw with its first model seed, so the selected trial's own run is the tuned study's run for
 * that (world, seed): the runner keys runs by what they compute and trains it once.
 *
 * Selection reads one number per trial: the validation day's weighted CTCVR log loss at the epoch early
 * stopping kept (`training.bestValLoss`, the trainer's criterion), through `validationScore`, and nothing
 * else of a record: never a test-day metric (test/tune.test.ts poisons them). Ties go to the lower trial.
 */
import { getModelSpec } from "../models/zoo";
import { matchRecords } from "../study/results";
import { expandGrid, RunSpec, StudySpec, VariantSpec } from "../study/spec";
import { SearchDesignKind, searchDesign } from "./design";
import { DEFAULT_SEARCH_SPACE, SearchSpace, TrialSettings, designDimensions, trialSettings } from "./space";

/** The factor name of trial variants; their level is the trial index k. */
export const TRIAL_FACTOR = "trial";
export const TUNED_VARIANT = "tuned";

export const trialVariantName = (k: number) => `trial-${k}`;

export interface TuneOptions {
  /** Trials per model, N >= 1. */
  trials: number;
  /** Seed of the design (an integer). */
  designSeed: number;
  /** Default "halton". */
  design?: SearchDesignKind;
  /** Default DEFAULT_SEARCH_SPACE. */
  space?: SearchSpace;
  /** Models to tune (default: the base study's). */
  models?: string[];
}

/**
 * The trial study of `base`: `options.trials` variants (trial-0 .. trial-(N-1)) x the models, on the base's
 * first world and first draw, with its first model seed; the base's own architecture and training options
 * (e.g. the quick profile's epoch limit) under each trial's. Named `<base>-trials`. Throws as searchDesign,
 * and on an unknown model.
 */
export function tuningStudy(base: StudySpec, options: TuneOptions): StudySpec {
  const space = options.space ?? DEFAULT_SEARCH_SPACE;
  const models = (options.models ?? base.models).map((m) => getModelSpec(m).name);
  const design = searchDesign(options.trials, designDimensions(space), options.designSeed, options.design ?? "halton");
  const variants: VariantSpec[] = design.map((u, k) => ({
    name: trialVariantName(k),
    factor: TRIAL_FACTOR,
    level: k,
    models: Object.fromEntries(models.map((m) => [m, trialSettings(m, u, space)])),
  }));
  const { worlds: _w, draws: _d, ...rest } = base;
  void _w;
  void _d;
  return {
    ...rest,
    name: `${base.name}-trials`,
    models,
    seeds: [base.seeds[0]],
    data: { ...base.data, simulatorSeed: base.worlds?.[0] ?? base.data.simulatorSeed, prepareSeed: base.draws?.[0] ?? base.data.prepareSeed },
    variants,
  };
}

/** One finished trial: what selection and the notebook's curves read. */
export interface TrialOutcome {
  model: string;
  /** Trial index k (the variant's level). */
  trial: number;
  /** Validation-day weighted CTCVR log loss (nats) at the kept epoch (validationScore). */
  validationLoss: number;
  settings: TrialSettings;
}

/** The one number selection reads from a record: the validation loss early stopping kept. */
export function validationScore(record: { training: { bestValLoss: number } }): number {
  return record.training.bestValLoss;
}

/** What selection may read of a record: its run, code version, finishing time and training summary (no test scores). */
export type TrialRecord = { config: RunSpec; codeVersion?: string; finishedAt?: string; training: { bestValLoss: number } };

/**
 * The finished trials of `study` (a tuningStudy) among `records` (matched on what each run computes, the
 * current code's record first: lib/study/results.ts matchRecords), in grid order. Trials without a record
 * (not run yet, or failed) are absent.
 */
export function trialOutcomes(study: StudySpec, records: readonly TrialRecord[]): TrialOutcome[] {
  const out: TrialOutcome[] = [];
  for (const { run, record } of matchRecords(expandGrid(study), [...records])) {
    if (!record || run.factor !== TRIAL_FACTOR) continue;
    out.push({ model: run.model, trial: Number(run.level), validationLoss: validationScore(record), settings: { architecture: run.architecture, train: run.train } });
  }
  return out;
}

export interface Selection {
  model: string;
  trial: number;
  validationLoss: number;
  settings: TrialSettings;
  /** Finished trials the choice was made among. */
  finished: number;
}

/**
 * Per model (in first-appearance order), the trial with the lowest validation loss (ties: the lower trial
 * index); non-finite losses never win. Reads only `validationLoss` of the outcomes.
 */
export function selectBest(outcomes: readonly TrialOutcome[]): Selection[] {
  const best = new Map<string, Selection>();
  for (const o of outcomes) {
    const held = best.get(o.model);
    const finished = (held?.finished ?? 0) + 1;
    const better = !held || (Number.isFinite(o.validationLoss) && (!Number.isFinite(held.validationLoss) || o.validationLoss < held.validationLoss || (o.validationLoss === held.validationLoss && o.trial < held.trial)));
    best.set(o.model, better ? { model: o.model, trial: o.trial, validationLoss: o.validationLoss, settings: o.settings, finished } : { ...held!, finished });
  }
  return [...best.values()];
}

/**
 * The tuned study: `base`'s design (worlds x draws x seeds) for the selected models, one variant "tuned"
 * whose per-model settings are each model's selected trial's. Named `<base>-tuned`.
 */
export function tunedStudy(base: StudySpec, selections: readonly Selection[]): StudySpec {
  if (selections.length === 0) throw new Error("tuned study: no selected models (no finished trials)");
  return {
    ...base,
    name: `${base.name}-tuned`,
    models: selections.map((s) => s.model),
    variants: [{ name: TUNED_VARIANT, models: Object.fromEntries(selections.map((s) => [s.model, s.settings])) }],
  };
}

/** The tuning profiles: quick (3 trials, for tests) and full (20 trials per model, the paper's six), design seed 1. */
export function tuneProfile(name: "quick" | "full"): Required<Pick<TuneOptions, "trials" | "designSeed" | "design">> {
  return { trials: name === "quick" ? 3 : 20, designSeed: 1, design: "halton" };
}
