/**
 * Views of the study on real data (notebook 08, and the block of docs/real-data.md it writes between markers): the
 * prepared splits, the study design, the runs, the captions of the published-style AUC table and of the epoch
 * tables, and that block. Domain code (lib/data prepare's PrepareReport, lib/study metricTable, summarizeStudy,
 * epochChoiceInflation) returns data; these functions only shape it into rows for showTable (numbers kept as
 * numbers, lib/views/tables.ts decides their digits) or text (counts through lib/format.ts, defined once).
 */
import type { PrepareReport } from "../data/prepare";
import type { StudySpec } from "../study/spec";
import type { StudySummary } from "../study/summary";
import type { MetricTable } from "../study/metric-table";
import type { TrainConfig } from "../train/trainer";
import type { RecordFields, StudyRecord } from "../analysis/record";
import { replicateText } from "../study/data-source";
import { countOf, formatRange } from "../format";
import { metricTableMarkdown } from "./metric-table";
import { trainingSettingRows } from "./design";

// ---------------------------------------------------------------------------------------------------
// The data.

/** What the first cell prints on the full profile when ESMM_REAL_DATA is not set: how to get the full Ali-CCP release. */
export const FULL_DATA_INSTRUCTIONS = `ESMM_REAL_DATA is not set: this runs on the repository's 200-row Ali-CCP sample, which checks the pipeline but decides nothing.
For the full Ali-CCP release (docs/real-data.md):
  1. download sample_skeleton_{train,test}.csv and common_features_{train,test}.csv from https://tianchi.aliyun.com/dataset/408 into data/ali-ccp/
  2. cd data/ali-ccp && python preprocess_ali_ccp.py   # torch-rechub's script (examples/ranking/data/ali-ccp/): writes ali_ccp_{train,val,test}.csv
  3. ESMM_REAL_DATA=data/ali-ccp ESMM_PROFILE=full bash scripts/run-notebooks.sh --report notebooks/08-real-data.ipynb`;

export type PreparedSplitRow = {
  split: string;
  rows: number;
  weighted_rows: number;
  clicks: number;
  conversions: number;
  ctr: number;
  cvr_of_clicks: number;
  oov_rows: number;
};

/**
 * One row per prepared split (train, validation, test, later days): raw rows, weighted rows (a downsampled training
 * row counts 1/r), clicks, conversions, CTR = clicks / weighted rows, CVR of clicks = conversions / clicks (NaN
 * without clicks) and the share of rows with at least one id at the out-of-vocabulary index 0 (docs/simulator.md,
 * "The out-of-vocabulary row learns"; NaN for folders prepared before it was recorded).
 */
export function preparedSplitRows(report: Pick<PrepareReport, "splits">): PreparedSplitRow[] {
  return report.splits.map((s) => ({
    split: s.name,
    rows: s.rows,
    weighted_rows: s.weightedRows,
    clicks: s.clicks,
    conversions: s.conversions,
    ctr: s.clicks / s.weightedRows,
    cvr_of_clicks: s.clicks > 0 ? s.conversions / s.clicks : NaN,
    oov_rows: s.oovRows ?? NaN,
  }));
}

export const PREPARED_SPLITS_CAPTION = "Prepared splits (no truth columns: no oracle)";

/**
 * The prepared folder in one line: its path, its content sha256 (first 12 digits), the kind of its source ("?"
 * when the header names none), the negative keep rate and the preparation seed.
 */
export function preparedFolderLine(dir: string, data: { prepared?: { sha256: string }; negativeKeepRate: number; prepareSeed: number }, source: Record<string, unknown>): string {
  return `prepared folder ${dir} (content sha256 ${data.prepared!.sha256.slice(0, 12)}; source: ${source.kind ?? "?"}); non-clicked training rows kept at rate ${data.negativeKeepRate}, seed ${data.prepareSeed}`;
}

// ---------------------------------------------------------------------------------------------------
// The design and the runs.

/** The training settings the design table reads: `spec.train` over DEFAULT_TRAIN_CONFIG (lib/train/trainer.ts). */
export type TrainSettings = Pick<TrainConfig, "lossNormalization" | "maxEpochs" | "patience" | "testEveryEpoch">;

/**
 * The study design as setting/value rows: models, model seeds, the data folder and its one data replicate
 * (lib/study replicateText), the negative keep rate, loss normalisation, whether the test split is scored every
 * epoch, max epochs / patience (from `train`, the resolved settings) and the worker processes.
 */
export function designRows(spec: Pick<StudySpec, "models" | "seeds" | "data">, train: TrainSettings, options: { folder: string; workers: number }): { setting: string; value: string | number }[] {
  return [
    { setting: "models", value: spec.models.join(", ") },
    { setting: "model seeds", value: spec.seeds.join(", ") },
    { setting: "data", value: `${options.folder} (one data replicate: ${replicateText(spec.data)})` },
    ...trainingSettingRows(spec.data.negativeKeepRate, train, { workers: options.workers, showTestEveryEpoch: true }),
  ];
}

/**
 * A run's record, as far as these views read it: the fields of lib/analysis/record.ts StudyRecord they read, with its
 * types; the AUCs may be absent (records written before they were stored, missingAucNote), the epochs are counted only.
 */
export type RunRecordLike = RecordFields<
  StudyRecord,
  {
    model: true;
    seed: true;
    backend: true;
    test: {
      rows: true;
      conversions: true;
      metrics: { ctcvr: { logLoss: true; prAuc: true; rocAuc: "optional"; count: true; positives: true }; cvr: { rocAuc: "optional"; count: true; positives: true } };
    };
    training: { bestEpoch: true; parameters: { total: true }; epochs: {}; units: { criterion: true; bestEpoch: true } };
    timings: { trainSeconds: true };
  }
>;

export type RunRow = { model: string; seed: number; ctcvr_log_loss: number; ctcvr_pr_auc: number; best_epoch: number; parameters: number; train_seconds: number; backend: string };

/** One row per run: model, seed, test CTCVR log loss and PR-AUC, best epoch, parameters, training seconds, backend. */
export function runRows(records: readonly RunRecordLike[]): RunRow[] {
  return records.map((r) => ({
    model: r.model,
    seed: r.seed,
    ctcvr_log_loss: r.test.metrics.ctcvr.logLoss,
    ctcvr_pr_auc: r.test.metrics.ctcvr.prAuc,
    best_epoch: r.training.bestEpoch,
    parameters: r.training.parameters.total,
    train_seconds: r.timings.trainSeconds,
    backend: r.backend,
  }));
}

/** The caption of runRows' table: records found of the grid's runs, and the test split (of the first record: its rows, its conversions). */
export function runsCaption(records: readonly RunRecordLike[], gridRuns: number): string {
  return `${records.length} of ${gridRuns} runs (test split: ${records[0]?.test.rows.toLocaleString("en-US")} impressions, ${countOf(records[0]?.test.conversions ?? "?", "conversion")})`;
}

/** The design as one phrase for captions: "1 data set x 2 seeds, test split with 5 conversions" (conversions as a range when they differ). */
export function realDataDesignLabel(s: Pick<StudySummary, "replicates" | "seedsPerReplicate" | "conversions">): string {
  return `${s.replicates} data set x ${s.seedsPerReplicate[0]} seeds, test split with ${countOf(formatRange(s.conversions), "conversion")}`;
}

// ---------------------------------------------------------------------------------------------------
// The published-style AUC table and the epoch choice.

/**
 * A line for records written before the AUCs were stored (a CTCVR AUC missing, or a CVR space without its AUC; a
 * model without a pCVR has no CVR space, nothing to miss): `npx esmm rescore --results <results>` recomputes them
 * from the stored predictions, without training. Undefined when every record has them.
 */
export function missingAucNote(records: readonly RunRecordLike[], results: string): string | undefined {
  const without = records.filter((r) => r.test.metrics.ctcvr.rocAuc === undefined || (r.test.metrics.cvr !== undefined && r.test.metrics.cvr.rocAuc === undefined));
  return without.length > 0 ? `${without.length} record(s) carry no AUCs: npx esmm rescore --results ${results} recomputes them from the stored predictions` : undefined;
}

/** The rows the two AUCs are computed on (of the first record): the CVR AUC's clicked test rows and their conversions, the CTCVR AUC's test rows and their clicks with a conversion. */
export function aucRowsText(records: readonly RunRecordLike[]): string {
  const cvr = records[0]?.test.metrics.cvr;
  const ctcvr = records[0]?.test.metrics.ctcvr;
  return `CVR AUC on the ${cvr?.count.toLocaleString("en-US")} clicked test rows (${countOf(cvr?.positives ?? "?", "conversion")}), CTCVR AUC on all ${ctcvr?.count.toLocaleString("en-US")} test rows (${countOf(ctcvr?.positives ?? "?", "click with a conversion", "clicks with a conversion")})`;
}

/** The caption of the metric table (metricTableRows) beside DDPO Table 2: what its cells are, the AUCs' rows (aucRowsText) and the design. */
export function publishedTableCaption(table: Pick<MetricTable, "baseline">, aucRows: string, design: string): string {
  return `DDPO Table 2's AUCs beside the cross-entropies: mean ± se over seeds [95 % t interval]; % vs ${table.baseline} ± se of the difference paired by seed. ${aucRows}. ${design}; epoch chosen on the validation split.`;
}

export type EpochRow = { model: string; epoch_chosen_on: string; criterion: string; best_epoch_by_seed: string; at_cap: string; epochs_run: string };

/**
 * One row per model (in `models`' order) of the epoch each run kept, chosen on the validation split: the criterion
 * (a model of several stopping units, IP: each tower's own cross-entropy, else the CTCVR cross-entropy), the best
 * epoch by seed (per unit, "CTR 2 / CVR 1"), how many runs stopped at `maxEpochs` (their best epoch is the cap) and
 * the epochs each run trained.
 */
export function epochRows(models: readonly string[], records: readonly RunRecordLike[], maxEpochs: number): EpochRow[] {
  const upper = (criterion: string) => criterion.toUpperCase();
  return models.map((model) => {
    const runs = records.filter((r) => r.model === model);
    const units = runs[0]?.training.units;
    return {
      model,
      epoch_chosen_on: "validation split",
      criterion: units ? units.map((u) => `${upper(u.criterion)} tower: ${upper(u.criterion)} cross-entropy`).join("; ") : "CTCVR cross-entropy",
      best_epoch_by_seed: runs.map((r) => (r.training.units ? r.training.units.map((u) => `${upper(u.criterion)} ${u.bestEpoch}`).join(" / ") : String(r.training.bestEpoch))).join(", "),
      at_cap: `${runs.filter((r) => r.training.bestEpoch === maxEpochs).length} of ${runs.length}`,
      epochs_run: runs.map((r) => r.training.epochs.length).join(", "),
    };
  });
}

/** The caption of epochRows' table: the training limits, and that the test split chose nothing. */
export function epochCaption(train: Pick<TrainSettings, "maxEpochs" | "patience">): string {
  return `The epoch of every run, chosen on the validation split (at most ${train.maxEpochs} epochs, patience ${train.patience}); the test split was never looked at to choose it`;
}

/** The caption of the test-set epoch choice's table (epochChoiceRows): its columns, then what `maxEpochs` leaves to choose, then the design. */
export function inflationCaption(maxEpochs: number, design: string): string {
  return `Test-set epoch choice: per model, the reported value (epoch chosen on the validation split), the best value over the epochs on the test split (the epoch a test-set choice would keep, per metric), and the inflation = test-chosen − reported in the direction "better" (AUCs on their 0-1 scale; nats for the cross-entropy), mean over seeds ± se (sd / √n, paired by seed) [95 % t interval]. ${maxEpochs === 1 ? "This profile trains 1 epoch: nothing to choose, the inflation is 0 by construction; the full profile measures it." : `At most ${maxEpochs} epochs.`} ${design}.`;
}

/**
 * docs/real-data.md's "real-data-auc" block: the metric table as markdown, then a line with the AUCs' rows, the
 * design, what the cells are and where it came from (`source` the data folder's name, `sha256` the prepared folder's
 * content hash, shown to 12 digits, `date` YYYY-MM-DD).
 */
export function aucBlockMarkdown(table: MetricTable, options: { aucRows: string; design: string; source: string; sha256: string; date: string }): string {
  return [
    metricTableMarkdown(table),
    "",
    `${options.aucRows}. ${options.design}; mean ± standard error over seeds [95 % t interval]; % vs ${table.baseline} ± the standard error of the difference paired by seed; epoch chosen on the validation split. Generated by notebooks/08-real-data.ipynb on ${options.date} from ${options.source} (prepared folder content sha256 ${options.sha256.slice(0, 12)}).`,
  ].join("\n");
}
