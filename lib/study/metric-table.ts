/**
 * Several test metrics of one study side by side, per model, each with its spread over seeds: the table a
 * published comparison can be read against. `PUBLISHED_TABLE_METRICS` puts the metrics of DDPO (Su et al.,
 * SIGIR'24, doi 10.1145/3626772.3657817) Table 2 (CVR ROC-AUC on the clicked test rows, CTCVR ROC-AUC on all
 * test rows) beside this project's cross-entropies. Each space's rows and label are the ones of
 * lib/metrics/spaces.ts EVALUATION_SPACES (cvr: clicked rows, label = conversion; ctcvr: all rows, label =
 * click AND conversion), as the study runner stored them in each record's `test.metrics`; a record without
 * them gets them from `esmm rescore` (its stored predictions), not from a new training.
 *
 * Every number is summarizeStudy's (lib/study/summary.ts) for that metric, so nothing is defined twice: per
 * model the mean over its seeds, the standard error of that mean (sd / sqrt(n) with one data replicate) and the
 * 95 % t interval (mean +- t(0.975, df) se, df = n - 1 with one data replicate: compare.ts modelMeanEstimate),
 * and the percent by which it is better than the baseline (lib/stats percentBetter: positive = better, for the
 * AUCs 100 (AUC - AUC_IP) / AUC_IP) with the standard error of that difference (paired by seed).
 */
import { StudyResult, SummaryOptions, summarizeStudy } from "./summary";
import { EVALUATION_SPACES, SpaceName } from "../metrics/spaces";

/** DDPO Table 2's two AUCs, then the cross-entropies of the same spaces (report order). */
export const PUBLISHED_TABLE_METRICS: readonly string[] = ["cvr.rocAuc", "ctcvr.rocAuc", "ctcvr.logLoss", "cvr.logLoss"];

/** One metric of the table: its name, label, direction, and the test rows it is computed on. */
export interface MetricColumn {
  /** "space.metric", e.g. "cvr.rocAuc". */
  metric: string;
  /** "CVR ROC-AUC". */
  label: string;
  higherIsBetter: boolean;
  /** The space's rows: "impressions" (all test rows) or "clicks" (clicked test rows). */
  rows: "impressions" | "clicks";
  /** The prediction column the space scores ("pCvr"). */
  prediction: "pCtcvr" | "pCvr" | "pCtr";
}

/** One model's value of one metric over its seeds. */
export interface MetricCell {
  /** Runs with a defined value, and runs where it is undefined (NaN, e.g. an AUC on rows of one class). */
  n: number;
  undefinedRuns: number;
  /** Runs whose model has no prediction for the space (no pCVR: no CVR metrics), not counted in undefinedRuns. */
  absentRuns: number;
  mean: number;
  /** Standard error of the mean over seeds; NaN with fewer than 2 runs. */
  se: number;
  /** 95 % t interval of the mean. */
  ci95: [number, number];
  /** % better than the baseline (0 for the baseline) and the standard error of that difference (NaN for the baseline). */
  percentVsBaseline: number;
  percentVsBaselineSe: number;
}

/** One model's row: the seeds of its runs and one cell per column, in column order. */
export interface MetricTableRow {
  model: string;
  seeds: number[];
  cells: MetricCell[];
}

export interface MetricTable {
  baseline: string;
  columns: MetricColumn[];
  rows: MetricTableRow[];
  /** Notes of the underlying summaries (undefined runs, untested models), each once. */
  notes: string[];
}

export interface MetricTableOptions extends Omit<SummaryOptions, "metric" | "higherIsBetter"> {
  /** "space.metric" names (default PUBLISHED_TABLE_METRICS); each a metric of lib/analysis/metrics.ts with a better direction. */
  metrics?: readonly string[];
}

/**
 * The table of `metrics` (default PUBLISHED_TABLE_METRICS) over `records` (one study's runs), one row per model
 * in summarizeStudy's order (the first metric's). Throws what summarizeStudy throws (an unknown metric, records on
 * mixed data).
 */
export function metricTable(records: readonly StudyResult[], options: MetricTableOptions = {}): MetricTable {
  const metrics = options.metrics ?? PUBLISHED_TABLE_METRICS;
  if (metrics.length === 0) throw new Error("metricTable: no metrics");
  const summaries = metrics.map((metric) => summarizeStudy(records, { ...options, metric }));
  const columns = summaries.map((s) => ({ metric: s.metric, label: s.label, higherIsBetter: s.higherIsBetter, rows: EVALUATION_SPACES[s.space].rows, prediction: EVALUATION_SPACES[s.space].prediction }));
  // A model without the space's prediction column (e.g. no pCVR) has no metrics of that space in its records.
  const absent = (model: string, space: SpaceName) => records.filter((r) => r.model === model && r.test.metrics[space] === undefined).length;
  const rows = summaries[0].models.map((first) => ({
    model: first.model,
    seeds: [...new Set(summaries.flatMap((s) => s.models.find((m) => m.model === first.model)?.seeds ?? []))].sort((a, b) => a - b),
    cells: summaries.map((s) => {
      const m = s.models.find((x) => x.model === first.model);
      const absentRuns = absent(first.model, s.space);
      if (!m) return { n: 0, undefinedRuns: 0, absentRuns, mean: NaN, se: NaN, ci95: [NaN, NaN] as [number, number], percentVsBaseline: NaN, percentVsBaselineSe: NaN };
      return { n: m.n, undefinedRuns: m.undefinedRuns - absentRuns, absentRuns, mean: m.mean, se: m.se, ci95: m.ci95, percentVsBaseline: m.percentVsBaseline, percentVsBaselineSe: m.percentVsBaselineSe };
    }),
  }));
  return { baseline: summaries[0].baseline, columns, rows, notes: [...new Set(summaries.flatMap((s) => s.notes))] };
}
