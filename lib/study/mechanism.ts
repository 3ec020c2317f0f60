/**
 * Mechanism metrics over a study (notebook 06): how far each model's pCVR is from the simulator's true
 * P(conversion | click, x) on clicked test impressions (the fit) and on non-clicked ones (the sample
 * selection bias ESMM and ESCM2 are about), from each run's `test.mechanism` (lib/metrics/mechanism.ts),
 * described per model (mean and se over runs), and the debiasing families' pairs. The check the notebook closes
 * with (does a debiasing term lower that bias, and does that reach CTCVR?) is decided by rules of the findings
 * registry (lib/study/findings.ts debiasingRules) on the summary metric "mechanism.nonClickedKl"
 * (lib/study/summary.ts), at the study's design unit: lib/tune/beyond.ts.
 */
import { metricValue } from "../analysis/metrics";
import type { StudyResult } from "../analysis/record";

/** Mean and standard error over runs (se = sd / sqrt(runs), descriptive: the runs share worlds). */
export interface MeanSe {
  mean: number;
  se: number;
}

export interface MechanismRow {
  model: string;
  runs: number;
  /** Excess cross-entropy over the truth's entropy (mean KL, nats per impression), clicked and non-clicked test rows. */
  clickedKl: MeanSe;
  nonClickedKl: MeanSe;
  /** Sum of pCVR over sum of the true P(conversion | click, x) (1 = calibrated). */
  clickedCalibration: MeanSe;
  nonClickedCalibration: MeanSe;
}

function meanSe(values: number[]): MeanSe {
  const v = values.filter(Number.isFinite);
  const n = v.length;
  if (n === 0) return { mean: NaN, se: NaN };
  const mean = v.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, se: NaN };
  const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

/**
 * One row per model whose runs carry mechanism metrics (models with a pCVR, on simulated data), in first-seen order.
 * `records`: results-file records (lib/analysis/record.ts StudyRecord; read as StudyResult).
 */
export function mechanismSummary(records: readonly StudyResult[]): MechanismRow[] {
  const models = [...new Set(records.filter((r) => r.test.mechanism).map((r) => r.model))];
  return models.map((model) => {
    const runs = records.filter((r) => r.model === model && r.test.mechanism);
    // each column a metric of the registry (lib/analysis/metrics.ts), read from the run's test.mechanism
    const col = (metric: string) => meanSe(runs.map((r) => metricValue(r.test, metric)));
    return {
      model,
      runs: runs.length,
      clickedKl: col("mechanism.clickedKl"),
      nonClickedKl: col("mechanism.nonClickedKl"),
      clickedCalibration: col("mechanism.clickedCalibration"),
      nonClickedCalibration: col("mechanism.nonClickedCalibration"),
    };
  });
}

/**
 * The families with a debiasing claim, each against ESMM (the entire-space model every one of their papers compares
 * with, and one reference for every claim so the CVR-bias comparisons share a baseline): ESCM2-IPS and ESCM2-DR are
 * ESMM plus their term (same trunk and CTR/CVR towers); the released ESCM2 presets add it on their mixture-of-experts
 * trunk; DCMT, Multi-IPW, Multi-DR, DR-JL and MRDR are the counterfactual (IPS, DR) alternatives; NISE (non-clicked
 * rows as unlabeled data) and ChorusCVR (factual vs ambiguous negatives) the newest entire-space ones.
 */
export const DEBIASING_PAIRS: readonly [string, string][] = [
  ["ESCM2-IPS", "ESMM"],
  ["ESCM2-DR", "ESMM"],
  ["DCMT", "ESMM"],
  ["Multi-IPW", "ESMM"],
  ["Multi-DR", "ESMM"],
  ["DR-JL", "ESMM"],
  ["MRDR", "ESMM"],
  ["ESCM2-IPW-release", "ESMM"],
  ["ESCM2-DR-release", "ESMM"],
  ["ESCM2-IPW-release-bigdata", "ESMM"],
  ["ESCM2-DR-release-bigdata", "ESMM"],
  ["NISE", "ESMM"],
  ["ChorusCVR", "ESMM"],
];
