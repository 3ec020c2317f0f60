/**
 * The runs of the study: train one model of the zoo on a prepared data set with S >= 1 seeds, then score each on
 * the test day and on each later day (temporal shift, no retraining), in every evaluation space, next to
 * the simulator's oracle where the truth is known. `esmm train` and the study runner both use it.
 *
 * Mechanism metrics. Where the truth is known and the model has a pCVR, each split's score also holds the
 * pCVR against the true P(conversion | click, x) on clicked and on non-clicked rows (lib/metrics/mechanism.ts:
 * the fit and the sample selection bias). Models without a CVR head (ESSP-Split, ESP) get none: their pCVR
 * is not derived from pCTCVR / pCTR.
 *
 * Test folds. The test day's rows are dealt into TEST_FOLDS = 12 folds (row i to fold i mod 12; rows are in
 * the order the simulator drew the impressions, so the folds are random shares of the day) and the run
 * records, per fold, the sum of its CTCVR log-loss terms and of its weights. A study with S seeds per data
 * set can then score each seed on its own disjoint share of the test day (lib/study/compare.ts), which makes
 * the test rows' sampling noise part of the seed-to-seed spread a paired t test sees.
 */
import { backendInfo, initBackend } from "../backend";
import type { FoldScores, RunRecord, SplitScore } from "../analysis/record";
import type { EncodedSplit } from "../data/encoded";
import type { PreparedData } from "../data/prepare";
import { cvrMechanism, ECE_BINNING, EVALUATION_SPACES, evaluateSpaces, logLossPerRow, ReliabilityBin, reliabilityCurve, SPACE_NAMES, spaceColumns, spaceLabels, SpaceName, SpacesOptions } from "../metrics";
import { Architecture, getModelSpec } from "../models";
import { fitSeeds, predictEachSeed, Predictions, TrainOptions, TrainResult } from "../train";

export interface RunOptions {
  model: string;
  seed: number;
  architecture?: Partial<Architecture>;
  train?: TrainOptions;
  /** Receives the test day's predictions (for prediction files, reliability curves, bootstraps). */
  onTestPredictions?: (predictions: Predictions) => void;
}

export const TEST_FOLDS = 12;

// The record's types are defined once, in lib/analysis/record.ts (kept exported here under their names).
export type { FoldScores, SplitScore, RunRecord } from "../analysis/record";

/**
 * The oracle: per evaluation space (EVALUATION_SPACES), the weighted mean cross-entropy (nats) of the
 * simulator's true probability of the space's label on the space's rows, -[y log q + (1 - y) log(1 - q)]
 * unclipped (q is strictly inside (0, 1)). Undefined without the simulator's truth.
 */
export function oracleOf(split: EncodedSplit): SplitScore["oracle"] {
  if (!split.truth) return undefined;
  // The same for every run on this split (it reads only the truth and labels): computed once per split object.
  const known = ORACLES.get(split);
  if (known) return { ...known };
  const oracle = computeOracle(split, split.truth);
  ORACLES.set(split, oracle);
  return { ...oracle };
}

/** oracleOf's values per split (a split's columns are not changed once prepared). */
const ORACLES = new WeakMap<EncodedSplit, Record<SpaceName, number>>();

function computeOracle(split: EncodedSplit, truth: NonNullable<EncodedSplit["truth"]>): Record<SpaceName, number> {
  const { pClick, pConversionGivenClick } = truth;
  const oracle: Partial<Record<SpaceName, number>> = {};
  for (const name of SPACE_NAMES) {
    const space = EVALUATION_SPACES[name];
    const q = new Float64Array(pClick.length); // a plain loop, not Float64Array.from with a callback per row
    for (let i = 0; i < q.length; i++) q[i] = space.truth(pClick[i], pConversionGivenClick[i]);
    const { y, p, w } = spaceColumns(space, split.click, split.conversion, q, split.weight); // w defined: the split's weights
    let crossEntropy = 0;
    let weight = 0;
    for (let i = 0; i < y.length; i++) {
      crossEntropy -= w![i] * (y[i] ? Math.log(p[i]) : Math.log1p(-p[i]));
      weight += w![i];
    }
    oracle[name] = crossEntropy / weight;
  }
  return oracle as Record<SpaceName, number>;
}

/** The mechanism metrics of `preds` on `split` (see the header): undefined without truth or without a pCVR. */
function mechanismOf(split: EncodedSplit, preds: Predictions): SplitScore["mechanism"] {
  if (!split.truth || !preds.pCvr) return undefined;
  return { cvr: cvrMechanism({ click: split.click, weight: split.weight, pCvr: preds.pCvr, pConversionGivenClick: split.truth.pConversionGivenClick }) };
}

/** CTCVR log loss per fold: the same terms as logLoss (logLossPerRow), summed by row index mod `folds`. */
export function foldScores(split: EncodedSplit, pCtcvr: ArrayLike<number>, folds = TEST_FOLDS): FoldScores {
  const terms = logLossPerRow(spaceLabels(EVALUATION_SPACES.ctcvr, split.click, split.conversion), pCtcvr);
  const logLossSum = new Array<number>(folds).fill(0);
  const weightSum = new Array<number>(folds).fill(0);
  for (let i = 0; i < split.size; i++) {
    logLossSum[i % folds] += split.weight[i] * terms[i];
    weightSum[i % folds] += split.weight[i];
  }
  return { folds, logLossSum, weightSum };
}

/**
 * The score of `preds` on `split` (a record's `test` or `later` entry): each evaluation space's metrics
 * (evaluateSpaces), the CTCVR log loss by fold when `options.folds`, the oracle and the mechanism metrics.
 * `options.onEceCurve` receives each space's reliability curve in the ECE's bins (evaluateSpaces' option).
 */
export function scoreSplit(split: EncodedSplit, preds: Predictions, options: { folds?: boolean; onEceCurve?: SpacesOptions["onEceCurve"] } = {}): SplitScore {
  // Plain loops (a Set of every row's day, a reduce with a callback per row, took 20 ms of a 1.33M-row day).
  const { day, conversion } = split;
  const days = new Set<number>();
  for (let i = 0; i < day.length; i++) if (i === 0 || day[i] !== day[i - 1]) days.add(day[i]); // a day already in keeps its place
  let conversions = 0;
  for (let i = 0; i < conversion.length; i++) conversions += conversion[i];
  return {
    split: split.name,
    days: [...days],
    rows: split.size,
    conversions,
    metrics: evaluateSpaces({ click: split.click, conversion: split.conversion, weight: split.weight, pCtr: preds.pCtr, pCvr: preds.pCvr, pCtcvr: preds.pCtcvr }, { onEceCurve: options.onEceCurve }),
    ctcvrFolds: options.folds ? foldScores(split, preds.pCtcvr) : undefined,
    oracle: oracleOf(split),
    mechanism: mechanismOf(split, preds),
  };
}

/**
 * The test day's score of a run from its predictions on `split` (the data's test split): scoreSplit with the
 * CTCVR log loss by fold. The one definition of a record's `test`, used when a run finishes and by `esmm
 * rescore` on the stored predictions (float32 tensor outputs, so the sidecar holds them exactly).
 */
export function scoreTest(split: EncodedSplit, preds: Predictions): SplitScore {
  return scoreTestWithReliability(split, preds).test;
}

/**
 * scoreTest and testReliability of the same predictions in one pass: a study record's `test` and
 * `reliability`. The curve is the CTCVR space's ECE bins, which the score computes anyway: the same label
 * (click AND conversion), predictions, weights and binning (ECE_BINNING, evaluateSpaces' default), so the
 * same bins bit for bit as testReliability's (test/score-reliability.test.ts), without a second sort and
 * binning of the day.
 */
export function scoreTestWithReliability(split: EncodedSplit, preds: Predictions): { test: SplitScore; reliability: ReliabilityBin[] } {
  let reliability: ReliabilityBin[] | undefined;
  const test = scoreSplit(split, preds, { folds: true, onEceCurve: (space, curve) => space === "ctcvr" && (reliability = curve) });
  if (!reliability) throw new Error("scoreTestWithReliability: the CTCVR space gave no reliability curve"); // cannot happen: ctcvr is always scored
  return { test, reliability };
}

/**
 * The reliability curve of a study record: pCTCVR on the test split against its CTCVR label (click AND
 * conversion), weighted, in the ECE's bins (ECE_BINNING: 10 equal-weight bins). `pCtcvr`: one value per row.
 * The definition; runs and `esmm rescore` take it from scoreTestWithReliability (the same bins, one sort).
 */
export function testReliability(split: EncodedSplit, pCtcvr: ArrayLike<number>): ReliabilityBin[] {
  const label = new Float32Array(split.size);
  for (let i = 0; i < split.size; i++) label[i] = split.click[i] * split.conversion[i];
  return reliabilityCurve(label, pCtcvr, split.weight, ECE_BINNING);
}

/**
 * The record of a trained run from its result and its predictions on the test and later splits, scored here.
 * `seconds`: its training time and the time its predictions took; the scoring's own time is added to evaluate.
 */
function recordOf(data: PreparedData, model: string, seed: number, result: TrainResult, test: Predictions, later: Predictions[], seconds: { train: number; predict: number }): { record: RunRecord; reliability: ReliabilityBin[] } {
  const { spec: _spec, ...training } = result;
  void _spec;
  const scoring = Date.now();
  const { test: testScore, reliability } = scoreTestWithReliability(data.test, test);
  const laterScores = data.later.map((s, k) => scoreSplit(s, later[k]));
  const evaluate = seconds.predict + (Date.now() - scoring) / 1000;
  const record: RunRecord = {
    model,
    seed,
    backend: backendInfo()?.name ?? result.backend,
    training,
    test: testScore,
    later: laterScores,
    timings: { trainSeconds: seconds.train, evaluateSeconds: evaluate, totalSeconds: seconds.train + evaluate },
  };
  return { record, reliability };
}

export interface SeedsRunOptions extends Omit<RunOptions, "seed" | "onTestPredictions"> {
  /**
   * The model seed(s), as lib/models BuildOptions takes them: a number trains a single model (S = 1, no seed
   * axis: any backend, batch norm and dropout allowed); a list trains its seeds as one seed group (one graph,
   * each seed its own initialisation, batch order and early stopping; S >= 1).
   */
  seeds: number | number[];
  /** Receives each seed's test-day predictions. */
  onTestPredictions?: (seed: number, predictions: Predictions) => void;
}

/**
 * One seed's run: its record and its test day's reliability curve (testReliability's bins, from
 * scoreTestWithReliability), or the error its training ended with.
 */
export type SeedRunOutcome = { seed: number; record: RunRecord; reliability: ReliabilityBin[]; error?: undefined } | { seed: number; record?: undefined; reliability?: undefined; error: Error };

/**
 * Trains `options.model` with S >= 1 seeds on `data.train` (early stopping on `data.validation`; the one
 * training loop, lib/train/trainer.ts trainSeeds) and scores each seed on the test and later days. A group's
 * records equal their single runs' up to float32 summation order (test/seed-group.test.ts). Each seed's
 * timings are the loop's and the predictions' divided by S. A seed that diverges fails alone (its outcome's
 * error); throws what building or training throws before any seed trains (bad data, bad config).
 */
export async function runSeeds(data: PreparedData, options: SeedsRunOptions): Promise<SeedRunOutcome[]> {
  await initBackend();
  const spec = getModelSpec(options.model);
  const started = Date.now();
  const S = Array.isArray(options.seeds) ? options.seeds.length : 1;
  // A shuffling seed given in the options is every seed's, as in their single runs. A group's seeds that stopped
  // leave its computation when that moves no other seed's bits (lib/train/compaction.ts): the same records.
  const { model, outcomes } = await fitSeeds(spec, data, { ...options.train, architecture: options.architecture, seeds: options.seeds, compactStopped: true });
  const trained = Date.now();
  try {
    if (outcomes.every((o) => o.error)) return outcomes.map((o) => ({ seed: o.seed, error: o.error! }));
    const test = predictEachSeed(model, data.test);
    const later = data.later.map((s) => predictEachSeed(model, s));
    const done = Date.now();
    const seconds = { train: (trained - started) / 1000 / S, predict: (done - trained) / 1000 / S };
    return outcomes.map((o, s): SeedRunOutcome => {
      if (!o.result) return { seed: o.seed, error: o.error! };
      options.onTestPredictions?.(o.seed, test[s]);
      return { seed: o.seed, ...recordOf(data, spec.name, o.seed, o.result, test[s], later.map((l) => l[s]), seconds) };
    });
  } finally {
    model.dispose();
  }
}

/** `runSeeds` of a single model of seed `options.seed`: its record; throws its training error. */
export async function runModel(data: PreparedData, options: RunOptions): Promise<RunRecord> {
  const { seed, onTestPredictions, ...rest } = options;
  const [outcome] = await runSeeds(data, { ...rest, seeds: seed, onTestPredictions: onTestPredictions && ((_, p) => onTestPredictions(p)) });
  if (outcome.error) throw outcome.error;
  return outcome.record;
}

/** The options of runSeedGroup: runSeeds' with the group's seeds as a list. */
export interface SeedGroupRunOptions extends SeedsRunOptions {
  /** The group's model seeds (distinct integers). */
  seeds: number[];
}

/** `runSeeds` of a seed group of `options.seeds`. */
export async function runSeedGroup(data: PreparedData, options: SeedGroupRunOptions): Promise<SeedRunOutcome[]> {
  return runSeeds(data, options);
}
