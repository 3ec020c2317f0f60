/**
 * One run of the study: train one model of the zoo on a prepared data set with one seed, then score it on
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
import type { EncodedSplit } from "../data/encoded";
import type { PreparedData } from "../data/prepare";
import { CvrMechanism, cvrMechanism, EVALUATION_SPACES, evaluateSpaces, logLossPerRow, SPACE_NAMES, spaceColumns, spaceLabels, SpaceName, SpacesReport } from "../metrics";
import { Architecture, getModelSpec } from "../models";
import { fitSpec, predict, Predictions, TrainOptions, TrainResult } from "../train";

export interface RunOptions {
  model: string;
  seed: number;
  architecture?: Partial<Architecture>;
  train?: TrainOptions;
  /** Receives the test day's predictions (for prediction files, reliability curves, bootstraps). */
  onTestPredictions?: (predictions: Predictions) => void;
}

export const TEST_FOLDS = 12;

/** Per fold f (rows i with i mod folds = f): sum of CTCVR log-loss terms (nats) and sum of weights. */
export interface FoldScores {
  folds: number;
  logLossSum: number[];
  weightSum: number[];
}

export interface SplitScore {
  split: string;
  days: number[];
  rows: number;
  conversions: number;
  metrics: SpacesReport;
  /** CTCVR log loss by fold (the test split only). */
  ctcvrFolds?: FoldScores;
  /** Cross-entropies (nats) of the true probabilities on each space's rows (oracleOf; simulated data only). */
  oracle?: Record<SpaceName, number>;
  /**
   * The pCVR against the true P(conversion | click, x), on clicked and non-clicked rows (cvrMechanism):
   * simulated data and models with a pCVR only. Absent from records written before it existed.
   */
  mechanism?: { cvr: CvrMechanism };
}

export interface RunRecord {
  model: string;
  seed: number;
  backend: string;
  training: Omit<TrainResult, "spec">;
  test: SplitScore;
  later: SplitScore[];
  timings: { trainSeconds: number; evaluateSeconds: number; totalSeconds: number };
}

/**
 * The oracle: per evaluation space (EVALUATION_SPACES), the weighted mean cross-entropy (nats) of the
 * simulator's true probability of the space's label on the space's rows, -[y log q + (1 - y) log(1 - q)]
 * unclipped (q is strictly inside (0, 1)). Undefined without the simulator's truth.
 */
export function oracleOf(split: EncodedSplit): SplitScore["oracle"] {
  if (!split.truth) return undefined;
  const { pClick, pConversionGivenClick } = split.truth;
  const oracle: Partial<Record<SpaceName, number>> = {};
  for (const name of SPACE_NAMES) {
    const space = EVALUATION_SPACES[name];
    const q = Float64Array.from(pClick, (pc, i) => space.truth(pc, pConversionGivenClick[i]));
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

export function scoreSplit(split: EncodedSplit, preds: ReturnType<typeof predict>, options: { folds?: boolean } = {}): SplitScore {
  return {
    split: split.name,
    days: [...new Set(split.day)],
    rows: split.size,
    conversions: split.conversion.reduce((s, v) => s + v, 0),
    metrics: evaluateSpaces({ click: split.click, conversion: split.conversion, weight: split.weight, pCtr: preds.pCtr, pCvr: preds.pCvr, pCtcvr: preds.pCtcvr }),
    ctcvrFolds: options.folds ? foldScores(split, preds.pCtcvr) : undefined,
    oracle: oracleOf(split),
    mechanism: mechanismOf(split, preds),
  };
}

/** Trains `options.model` on `data.train` (early stopping on `data.validation`) and scores it. */
export async function runModel(data: PreparedData, options: RunOptions): Promise<RunRecord> {
  await initBackend();
  const spec = getModelSpec(options.model);
  const started = Date.now();
  const { model, result } = await fitSpec(spec, data, { ...options.train, architecture: options.architecture, modelSeed: options.seed });
  const trained = Date.now();
  try {
    const testPredictions = predict(model, data.test);
    options.onTestPredictions?.(testPredictions);
    const test = scoreSplit(data.test, testPredictions, { folds: true });
    const later = data.later.map((s) => scoreSplit(s, predict(model, s)));
    const { spec: _spec, ...training } = result;
    void _spec;
    const done = Date.now();
    return {
      model: spec.name,
      seed: options.seed,
      backend: backendInfo()?.name ?? result.backend,
      training,
      test,
      later,
      timings: { trainSeconds: (trained - started) / 1000, evaluateSeconds: (done - trained) / 1000, totalSeconds: (done - started) / 1000 },
    };
  } finally {
    model.dispose();
  }
}
