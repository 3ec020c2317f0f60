/**
 * Why a model's pCTCVR is off on the test day, measured against the simulator's truth (issue 22).
 *
 * One model is trained as a study run trains it (lib/study/run.ts: same spec, architecture, seed and training
 * options), then its pCTCVR is compared with the true P(click) x P(conversion | click) on a chain of views that
 * goes from the rows it was trained on to the test day as scored, one change per step
 * (lib/metrics/calibration-decomposition.ts calibrationChain: the steps multiply to the test day's ratio):
 *
 *   fit             the training rows, with their downsampling weights (what the loss saw);
 *   generalisation  fresh rows of the last training day, drawn by the simulator after that day's own rows
 *                   (the same world, day and population; rows no model saw), weight 1;
 *   day change      the test day's in-vocabulary rows with each ad's age as of the last training day: what the
 *                   days between training and test change in the world (ad factor drift, launches, base rate);
 *   OOV rows        adding the test day's rows with an id unseen in training (index 0), ages still shifted;
 *   ad age          the test day as scored: ad_age_days as it is, beyond the training days' range;
 *   labels          the test day's true probabilities against its labels (sampling noise of the labels).
 *
 * Beside the chain (not in it): the training rows without their weights, the validation day, the test day's
 * in-vocabulary and OOV rows as scored, and its first unscaled day of rows (the evaluation multiplier's sample).
 * Per epoch: the model-vs-truth ratio on the fresh training-day rows, the validation day and the test day's
 * first unscaled day of rows, so the early-stopping choice can be read against the ratio's swing.
 *
 * Simulated data only (needs the truth and the world that made it): the world is rebuilt from its config and
 * seed, and its validation day's first rows are checked against the prepared ones (throws when they differ).
 */
import { initBackend } from "../backend";
import type { EncodedSplit } from "../data/encoded";
import { encodeSplit, type NumericScaler, type PreparedData } from "../data/prepare";
import { createWorld, generateDay, rowsPerDay, simulatedDayLog } from "../data/simulator";
import type { SimulatorConfig } from "../data/simulator-config";
import { CalibrationStep, CalibrationTerms, calibrationChain, calibrationTerms } from "../metrics";
import { Architecture, buildModel, getModelSpec, inputDimsOf } from "../models";
import { predict, trainModel, TrainOptions } from "../train";

/** The numeric field holding an ad's age in days (lib/data/simulator.ts). */
export const AD_AGE_FIELD = "ad_age_days";

export interface CalibrationDecompositionOptions {
  model: string;
  seed: number;
  architecture?: Partial<Architecture>;
  /** Training options, as a study run's `train` (onEpochEnd is the decomposition's own). */
  train?: Omit<TrainOptions, "onEpochEnd">;
  /** Fresh rows of the last training day, as a multiple of that day's rows (default 1). */
  heldOutMultiplier?: number;
}

export interface CalibrationView {
  name: string;
  /** In the chain (its step is named after it) or shown beside it. */
  inChain: boolean;
  terms: CalibrationTerms;
}

export interface EpochCalibration {
  epoch: number;
  valLoss: number;
  improved: boolean;
  /** sum(p) / sum(truth) of pCTCVR on the fresh training-day rows, the validation day, the test day's first unscaled day. */
  heldOut: number;
  validation: number;
  test: number;
}

export interface CalibrationDecomposition {
  model: string;
  seed: number;
  bestEpoch: number;
  epochs: EpochCalibration[];
  views: CalibrationView[];
  /** The chain's steps (the views with inChain, then "labels") and the test day's calibration ratio. */
  chain: { steps: CalibrationStep[]; total: number };
}

/** The simulated world a prepared data set was made from: its resolved config (data-spec.json) and seed. */
export interface WorldSource {
  config: SimulatorConfig;
  seed: number;
}

/**
 * Trains `options.model` on `data` and decomposes its test-day pCTCVR calibration ratio (see the header).
 * `world`: the simulator config and seed `data` was made from. Throws when the data has no truth, when the
 * world does not remake the data's validation day, or when the data has no ad-age field.
 */
export async function decomposeTestCalibration(data: PreparedData, world: WorldSource, options: CalibrationDecompositionOptions): Promise<CalibrationDecomposition> {
  if (!data.test.truth || !data.train.truth || !data.validation.truth) throw new Error("decomposeTestCalibration: the data has no simulator truth");
  await initBackend();
  const lastTrainDay = Math.max(...data.plan.trainDays);
  const heldOut = freshRowsOfDay(data, world, lastTrainDay, options.heldOutMultiplier ?? 1);
  const testAged = withAdAgeShifted(data.test, data.scalers, data.plan.testDay - lastTrainDay);
  const unscaledTestRows = rowsPerDay({ ...world.config, evaluationMultiplier: 1, laterDaysMultiplier: 1 })[data.plan.testDay];
  const testFirstDay = firstRows(data.test, Math.min(unscaledTestRows, data.test.size));

  const spec = getModelSpec(options.model);
  const model = buildModel(spec, inputDimsOf(data.train), { architecture: options.architecture, seed: options.seed });
  try {
    const epochs: EpochCalibration[] = [];
    const ratio = (s: EncodedSplit) => ctcvrTerms(s, predict(model, s).pCtcvr).predictedOverTruth;
    const result = await trainModel(model, data, {
      ...options.train,
      onEpochEnd: (e) => epochs.push({ epoch: e.epoch, valLoss: e.valLoss, improved: e.improved, heldOut: ratio(heldOut), validation: ratio(data.validation), test: ratio(testFirstDay) }),
    });
    const p = (s: EncodedSplit) => predict(model, s).pCtcvr;
    const pTrain = p(data.train);
    const pTest = p(data.test);
    const pTestAged = p(testAged);
    const inVocab = vocabularyMask(data.test, true);
    const view = (name: string, inChain: boolean, terms: CalibrationTerms): CalibrationView => ({ name, inChain, terms });
    const views = [
      view("fit: training rows, downsampling weights", true, ctcvrTerms(data.train, pTrain)),
      view("training rows, unweighted", false, ctcvrTerms(data.train, pTrain, { unweighted: true })),
      view(`generalisation: fresh rows of day ${lastTrainDay} (last training day)`, true, ctcvrTerms(heldOut, p(heldOut))),
      view(`validation day ${data.plan.validationDay}`, false, ctcvrTerms(data.validation, p(data.validation))),
      view(`day change: test day, in-vocabulary rows, ad ages as of day ${lastTrainDay}`, true, ctcvrTerms(testAged, pTestAged, { keep: inVocab })),
      view(`OOV rows: test day, all rows, ad ages as of day ${lastTrainDay}`, true, ctcvrTerms(testAged, pTestAged)),
      view("ad age: test day as scored", true, ctcvrTerms(data.test, pTest)),
      view("test day, in-vocabulary rows", false, ctcvrTerms(data.test, pTest, { keep: inVocab })),
      view("test day, rows with an OOV id", false, ctcvrTerms(data.test, pTest, { keep: vocabularyMask(data.test, false) })),
      view(`test day, first ${testFirstDay.size} rows (one unscaled day)`, false, ctcvrTerms(testFirstDay, pTest.subarray(0, testFirstDay.size))),
    ];
    return {
      model: spec.name,
      seed: options.seed,
      bestEpoch: result.bestEpoch,
      epochs,
      views,
      chain: calibrationChain(views.filter((v) => v.inChain)),
    };
  } finally {
    model.dispose();
  }
}

/**
 * CalibrationTerms of pCTCVR `p` on `split` (label click AND conversion, truth pClick x pConversionGivenClick,
 * the split's weights unless `unweighted`), over the rows where `keep` is 1 (all when omitted).
 */
export function ctcvrTerms(split: EncodedSplit, p: ArrayLike<number>, options: { keep?: Uint8Array; unweighted?: boolean } = {}): CalibrationTerms {
  if (!split.truth) throw new Error(`ctcvrTerms: split "${split.name}" has no simulator truth`);
  const { pClick, pConversionGivenClick } = split.truth;
  const y = Float64Array.from(split.click, (c, i) => c * split.conversion[i]);
  const t = Float64Array.from(pClick, (pc, i) => pc * pConversionGivenClick[i]);
  return calibrationTerms(y, p, t, options.unweighted ? undefined : split.weight, options.keep);
}

/** 1 for the rows of `split` with no categorical field at the OOV index 0 (inVocabulary), else for the others. */
export function vocabularyMask(split: EncodedSplit, inVocabulary: boolean): Uint8Array {
  const nCat = split.categoricalFields.length;
  const out = new Uint8Array(split.size);
  for (let i = 0; i < split.size; i++) {
    let oov = false;
    for (let f = 0; f < nCat && !oov; f++) oov = split.categorical[i * nCat + f] === 0;
    out[i] = oov === inVocabulary ? 0 : 1;
  }
  return out;
}

/**
 * `split` with each row's ad age (AD_AGE_FIELD, standardised with `scalers`) made `days` days younger, floored
 * at age 0: the rows as they would look `days` days earlier. Other columns are shared, not copied. Throws when
 * the split has no ad-age field.
 */
export function withAdAgeShifted(split: EncodedSplit, scalers: NumericScaler[], days: number): EncodedSplit {
  const f = split.numericFields.indexOf(AD_AGE_FIELD);
  const scaler = scalers.find((s) => s.field === AD_AGE_FIELD);
  if (f < 0 || !scaler) throw new Error(`withAdAgeShifted: split "${split.name}" has no numeric field ${AD_AGE_FIELD}`);
  const nNum = split.numericFields.length;
  const numeric = Float32Array.from(split.numeric);
  for (let i = 0; i < split.size; i++) {
    const age = numeric[i * nNum + f] * scaler.sd + scaler.mean;
    numeric[i * nNum + f] = (Math.max(0, Math.round(age) - days) - scaler.mean) / scaler.sd;
  }
  return { ...split, name: `${split.name} (ad ages -${days} d)`, numeric };
}

/** The first `n` rows of `split` (views of its arrays, not copies). */
export function firstRows(split: EncodedSplit, n: number): EncodedSplit {
  const nCat = split.categoricalFields.length;
  const nNum = split.numericFields.length;
  return {
    ...split,
    name: `${split.name} (first ${n} rows)`,
    size: n,
    categorical: split.categorical.subarray(0, n * nCat),
    numeric: split.numeric.subarray(0, n * nNum),
    click: split.click.subarray(0, n),
    conversion: split.conversion.subarray(0, n),
    weight: split.weight.subarray(0, n),
    day: split.day.subarray(0, n),
    truth: split.truth && { pClick: split.truth.pClick.subarray(0, n), pConversionGivenClick: split.truth.pConversionGivenClick.subarray(0, n) },
  };
}

/**
 * Rows of day `day` that the data set does not hold: the world of `world` with that day enlarged to (1 + multiplier)
 * times its rows (lib/data/simulator.ts: an enlarged day starts with exactly the rows of the unscaled day and
 * the world does not depend on the enlargement), the rows past the unscaled day's, encoded with the data's
 * vocabularies and scalers, weight 1. Throws unless the rebuilt world remakes the data's validation day.
 */
export function freshRowsOfDay(data: PreparedData, world: WorldSource, day: number, multiplier: number): EncodedSplit {
  if (!(multiplier > 0)) throw new Error(`freshRowsOfDay: multiplier must be positive, got ${multiplier}`);
  const days = world.config.days;
  const enlarged = { ...world.config, evaluationDays: days - day, evaluationMultiplier: 1 + multiplier, laterDaysMultiplier: 1 };
  const w = createWorld(enlarged, world.seed);
  checkSameWorld(data, w);
  const unscaled = rowsPerDay({ ...world.config, evaluationMultiplier: 1, laterDaysMultiplier: 1 })[day];
  const log = simulatedDayLog(w, day, unscaled);
  const rows = Int32Array.from({ length: log.size }, (_, i) => i);
  return encodeSplit(`fresh rows of day ${day}`, log, rows, new Float32Array(log.size).fill(1), data.vocabularies, data.scalers).split;
}

/** Throws unless world `w` draws the data's validation day: its first rows' true P(click) (written to 9 digits). */
function checkSameWorld(data: PreparedData, w: ReturnType<typeof createWorld>): void {
  const first = generateDay(w, data.plan.validationDay, 1000).next().value;
  const truth = data.validation.truth!.pClick;
  for (let i = 0; first && i < first.size; i++) {
    if (Math.abs(first.pClick[i] - truth[i]) > 1e-8 * Math.max(1e-12, truth[i]) + 1e-12) {
      throw new Error(`freshRowsOfDay: the world of simulator seed ${w.seed} does not remake the data's validation day (row ${i}: P(click) ${first.pClick[i]} vs ${truth[i]}); wrong config or seed`);
    }
  }
}
