/**
 * What choosing the epoch on the test set would add to a study's test metrics. Every run here keeps the
 * weights of the epoch its validation loss chose (lib/train/trainer.ts); several peer codebases instead keep
 * the epoch (or checkpoint) whose test metric is best, and report that metric. With TrainConfig.testEveryEpoch
 * each epoch record holds the test scores of that epoch's weights (EpochRecord.test), so both numbers are known
 * per run: the inflation is the test-chosen value minus the reported (validation-chosen) one, in the direction
 * "better", per seed, then its mean over the model's seeds with the standard error of that mean. Each seed's
 * difference is of two numbers of the same run on the same test rows, so the spread over seeds is the paired
 * one (seed-to-seed variation of the two cancels).
 *
 * The reported value is the record's final `test.metrics` (what metricTable and Figure 3 show); for a model of
 * one stopping unit it is the chosen epoch's entry exactly (test/epoch-test-scores.test.ts), so the inflation
 * is >= 0. IP's two towers each stop on their own validation loss, so its reported weights can mix two epochs
 * that no single epoch held: its test-chosen epoch is the best single epoch, and its inflation can be negative.
 * Each metric takes its own best epoch (a peer choosing on the test AUC reports that AUC), so the three
 * inflations are each an upper bound of what one test-chosen checkpoint would show for all three.
 */
import { summarize } from "../stats/summary";

/** The metrics the inflation is measured for: DDPO Table 2's two AUCs and the CTCVR cross-entropy. */
export const EPOCH_CHOICE_METRICS: readonly EpochChoiceMetric[] = [
  { metric: "cvr.rocAuc", label: "CVR ROC-AUC", rows: "clicks", higherIsBetter: true, unit: "AUC (0-1)" },
  { metric: "ctcvr.rocAuc", label: "CTCVR ROC-AUC", rows: "impressions", higherIsBetter: true, unit: "AUC (0-1)" },
  { metric: "ctcvr.logLoss", label: "CTCVR cross-entropy", rows: "impressions", higherIsBetter: false, unit: "nats per unit weight" },
];

export interface EpochChoiceMetric {
  /** "space.metric" of an epoch's test scores and of the record's test.metrics. */
  metric: "cvr.rocAuc" | "ctcvr.rocAuc" | "ctcvr.logLoss";
  label: string;
  /** The space's test rows: "clicks" (clicked rows) or "impressions" (all rows). */
  rows: "clicks" | "impressions";
  higherIsBetter: boolean;
  /** The unit of the values and of the inflation. */
  unit: string;
}

/** One space's scores as records store them (NaN written as null). */
type StoredScores = { logLoss?: number | null; rocAuc?: number | null };

/** What epochChoiceInflation reads of a study record (lib/study/results.ts StudyRecord is one). */
export interface EpochChoiceRecord {
  model: string;
  seed: number;
  test: { metrics: { ctcvr: StoredScores; cvr?: StoredScores } };
  training?: { epochs?: readonly { epoch: number; test?: { ctcvr: StoredScores; cvr?: StoredScores } }[] };
}

/** One model's inflation of one metric. */
export interface EpochChoiceCell {
  /** Seeds with both values defined. */
  n: number;
  /** Seeds where the reported value or every epoch's value is undefined (NaN: e.g. an AUC on rows of one class). */
  undefinedRuns: number;
  /** Seeds whose model has no prediction for the space (no pCVR: no CVR metrics), not counted in undefinedRuns. */
  absentRuns: number;
  /** Mean over those seeds of the reported value (epoch chosen on the validation split). */
  validationChosen: number;
  /** Mean over those seeds of the best value over epochs (epoch chosen on the test split, per seed). */
  testChosen: number;
  /** Mean over seeds of (test-chosen - reported) in the direction "better" (for the cross-entropy: reported - test-chosen), in the metric's unit. */
  inflation: number;
  /** Standard error of that mean (sd / sqrt(n) over seeds); NaN with fewer than 2 seeds. */
  inflationSe: number;
  /** 95 % t interval of the mean (n - 1 df). */
  ci95: [number, number];
}

export interface EpochChoiceRow {
  model: string;
  /** Seeds of the model's runs with per-epoch test scores, ascending. */
  seeds: number[];
  /** Runs of the model without per-epoch test scores (trained without testEveryEpoch), left out. */
  runsWithoutEpochScores: number;
  /** Epochs each seed ran (in `seeds` order). */
  epochsRun: number[];
  /** One cell per metric of EPOCH_CHOICE_METRICS, in that order. */
  cells: EpochChoiceCell[];
}

export interface EpochChoiceTable {
  metrics: readonly EpochChoiceMetric[];
  rows: EpochChoiceRow[];
}

const value = (scores: { ctcvr: StoredScores; cvr?: StoredScores } | undefined, metric: EpochChoiceMetric["metric"]): number => {
  const [space, name] = metric.split(".") as ["ctcvr" | "cvr", "logLoss" | "rocAuc"];
  const v = scores?.[space]?.[name];
  return typeof v === "number" ? v : NaN;
};

/**
 * Per model (in order of first appearance in `records`), per metric of EPOCH_CHOICE_METRICS: the mean over its
 * seeds of how much better the best test value over the epochs (the epoch chosen on the test set) is than the
 * reported test value (the epoch chosen on the validation split), ± the standard error of that mean (see the
 * file comment). Units: the AUC itself (0-1 scale: 0.004 is 0.4 points of a percent AUC) for the AUCs, nats per unit weight
 * for the cross-entropy. A model trained one epoch has inflation 0 exactly. Records without per-epoch test
 * scores (runs without testEveryEpoch) are left out and counted; NaN (null) values are undefined and counted.
 * `records` are one study's runs of one variant on one data set; throws when a (model, seed) appears twice.
 */
export function epochChoiceInflation(records: readonly EpochChoiceRecord[]): EpochChoiceTable {
  const byModel = new Map<string, EpochChoiceRecord[]>();
  for (const r of records) {
    const runs = byModel.get(r.model) ?? [];
    if (runs.some((x) => x.seed === r.seed)) throw new Error(`epochChoiceInflation: model ${r.model}, seed ${r.seed} appears twice (pass one variant's runs)`);
    runs.push(r);
    byModel.set(r.model, runs);
  }
  const rows = [...byModel].map(([model, runs]): EpochChoiceRow => {
    const scored = runs.filter((r) => (r.training?.epochs?.length ?? 0) > 0 && r.training!.epochs!.every((e) => e.test !== undefined)).sort((a, b) => a.seed - b.seed);
    const cells = EPOCH_CHOICE_METRICS.map((m): EpochChoiceCell => {
      const sign = m.higherIsBetter ? 1 : -1;
      const reported: number[] = [];
      const best: number[] = [];
      const space = m.metric.split(".")[0] as "ctcvr" | "cvr";
      const absentRuns = scored.filter((r) => r.test.metrics[space] === undefined).length;
      for (const r of scored) {
        const v = value(r.test.metrics, m.metric);
        const perEpoch = r.training!.epochs!.map((e) => value(e.test, m.metric)).filter((x) => !Number.isNaN(x));
        if (Number.isNaN(v) || perEpoch.length === 0) continue;
        reported.push(v);
        best.push(sign > 0 ? Math.max(...perEpoch) : Math.min(...perEpoch));
      }
      const s = summarize(best.map((b, i) => sign * (b - reported[i])));
      const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, x) => a + x, 0) / xs.length);
      return { n: s.n, undefinedRuns: scored.length - s.n - absentRuns, absentRuns, validationChosen: mean(reported), testChosen: mean(best), inflation: s.mean, inflationSe: s.se, ci95: s.ci95 };
    });
    return {
      model,
      seeds: scored.map((r) => r.seed),
      runsWithoutEpochScores: runs.length - scored.length,
      epochsRun: scored.map((r) => r.training!.epochs!.length),
      cells,
    };
  });
  return { metrics: EPOCH_CHOICE_METRICS, rows };
}
