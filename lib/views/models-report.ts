/**
 * Views of one run per model (notebook 02: the six models of the paper, each trained once on the default design's
 * first world, draw and seed): its learning curve, its test scores in each evaluation space beside the oracle's, and
 * the models side by side. Domain code (lib/study runStudy, gridRecords) returns the records; these functions only
 * shape them into rows for showTable (numbers kept as numbers, lib/views/tables.ts decides their digits), captions
 * and figures. % vs IP is lib/stats percentBetter, defined once.
 */
import type { Figure } from "../plots/figure";
import type { RecordFields, StudyRecord } from "../analysis/record";
import { lineChart } from "../plots/charts";
import { percentBetter } from "../stats/summary";
import { countOf } from "../format";

/** What these views read of one space's scores (lib/metrics/spaces.ts SpaceMetrics): the ROC AUC may be absent (records written before the AUCs were stored). */
type SpaceMask = { logLoss: true; prAuc: true; rocAuc: "optional"; calibrationRatio: true };

/** A run's record, as far as these views read it: the fields of lib/analysis/record.ts StudyRecord they read, with its types. */
export type ModelRecordLike = RecordFields<
  StudyRecord,
  {
    model: true;
    test: { days: true; conversions: true; metrics: { ctcvr: SpaceMask; cvr: SpaceMask; ctr: SpaceMask }; oracle: { ctcvr: true; cvr: true; ctr: true } };
    training: { bestEpoch: true; parameters: { total: true }; epochs: { epoch: true; trainLoss: true; valLoss: true } };
    timings: { trainSeconds: true };
  }
>;

/** One space's scores, as far as these views read them (ModelRecordLike's). */
export type SpaceScoresLike = ModelRecordLike["test"]["metrics"]["ctcvr"];

/** A model's learning curve: its training objective and validation CTCVR cross-entropy per epoch, the best epoch in the title. */
export function learningCurveFigure(name: string, record: Pick<ModelRecordLike, "training">): Figure {
  const epochs = record.training.epochs.map((e) => e.epoch);
  return lineChart(
    [
      { name: "training objective", x: epochs, y: record.training.epochs.map((e) => e.trainLoss) },
      { name: "validation CTCVR cross-entropy", x: epochs, y: record.training.epochs.map((e) => e.valLoss) },
    ],
    { title: `${name}: learning curve (best epoch ${record.training.bestEpoch})`, xTitle: "epoch", yTitle: "cross-entropy" },
  );
}

export type SpaceRow = { space: string; log_loss: number; oracle: number | undefined; gap_to_oracle: number; pr_auc: number; roc_auc: number | undefined; calibration: number };

/**
 * A run's test scores, one row per evaluation space it has (CTCVR on all test impressions; CVR on the clicked ones
 * and CTR on all, when the model predicts them): log loss, the oracle's (undefined without one), the gap (NaN
 * without an oracle), PR-AUC, ROC-AUC and the calibration ratio sum(p) / sum(y).
 */
export function spaceRows(record: Pick<ModelRecordLike, "test">): SpaceRow[] {
  const m = record.test.metrics;
  const oracle = record.test.oracle;
  const row = (space: string, s: SpaceScoresLike, o: number | undefined): SpaceRow => ({ space, log_loss: s.logLoss, oracle: o, gap_to_oracle: s.logLoss - (o ?? NaN), pr_auc: s.prAuc, roc_auc: s.rocAuc, calibration: s.calibrationRatio });
  return [
    row("CTCVR, all test impressions", m.ctcvr, oracle?.ctcvr),
    ...(m.cvr ? [row("CVR, clicked test impressions", m.cvr, oracle?.cvr)] : []),
    ...(m.ctr ? [row("CTR, all test impressions", m.ctr, oracle?.ctr)] : []),
  ];
}

/** The caption of spaceRows' table: the model, its test day and conversions, its training seconds, and whether the run was read from the results file. */
export function spaceCaption(name: string, record: Pick<ModelRecordLike, "test" | "timings">, readFromFile: boolean): string {
  return `${name}: test day ${record.test.days.join(",")} (${countOf(record.test.conversions, "conversion")}), ${record.timings.trainSeconds.toFixed(1)} s training${readFromFile ? " (read from the results file)" : ""}`;
}

export type ComparisonRow = {
  model: string;
  parameters: number;
  best_epoch: number;
  ctcvr_log_loss: number;
  vs_IP_percent: number;
  gap_to_oracle: number;
  ctcvr_pr_auc: number;
  cvr_log_loss_clicked: number | undefined;
  ctr_log_loss: number | undefined;
  train_seconds: number;
};

/**
 * The models side by side, one row per record: parameters, best epoch, test CTCVR log loss, its % better than
 * `baseline`'s (percentBetter: positive = better), gap to the oracle (NaN without one), CTCVR PR-AUC, CVR log loss
 * on clicked rows and CTR log loss (undefined for a model without that prediction), training seconds.
 */
export function comparisonRows(records: readonly ModelRecordLike[], baseline: Pick<ModelRecordLike, "test">): ComparisonRow[] {
  return records.map((r) => ({
    model: r.model,
    parameters: r.training.parameters.total,
    best_epoch: r.training.bestEpoch,
    ctcvr_log_loss: r.test.metrics.ctcvr.logLoss,
    vs_IP_percent: percentBetter(r.test.metrics.ctcvr.logLoss, baseline.test.metrics.ctcvr.logLoss, false),
    gap_to_oracle: r.test.metrics.ctcvr.logLoss - (r.test.oracle?.ctcvr ?? NaN),
    ctcvr_pr_auc: r.test.metrics.ctcvr.prAuc,
    cvr_log_loss_clicked: r.test.metrics.cvr?.logLoss,
    ctr_log_loss: r.test.metrics.ctr?.logLoss,
    train_seconds: r.timings.trainSeconds,
  }));
}

/** The caption of comparisonRows' table: the oracle's CTCVR cross-entropy (5 decimals, of the baseline's record). */
export function comparisonCaption(baseline: Pick<ModelRecordLike, "test">): string {
  return `Test day: CTCVR over all impressions (oracle ${baseline.test.oracle?.ctcvr.toFixed(5)}); % vs IP positive = better`;
}
