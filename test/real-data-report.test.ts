/**
 * lib/views/real-data-report.ts, notebook 08's views, on small hand-made inputs with the rows and texts written out:
 * each function only shapes data, so the expected rows are the inputs rearranged (ratios worked by hand: 4 clicks
 * of 40 weighted rows is a CTR of 0.1, 1 conversion of 4 clicks a CVR of 0.25).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DataSpec } from "../lib/study/spec";
import type { MetricTable } from "../lib/study/metric-table";
import {
  aucBlockMarkdown,
  aucRowsText,
  designRows,
  epochCaption,
  epochRows,
  inflationCaption,
  missingAucNote,
  preparedFolderLine,
  preparedSplitRows,
  publishedTableCaption,
  realDataDesignLabel,
  runRows,
  runsCaption,
  RunRecordLike,
} from "../lib/views/real-data-report";

const SHA = "83f05d876d600339" + "0".repeat(48);
const data: DataSpec = { simulator: {}, simulatorSeed: 0, negativeKeepRate: 0.1, laterDays: 0, prepareSeed: 7, prepared: { dir: "/data/prep", sha256: SHA } };

/** A run's record: CTCVR on 1234 test rows with 3 clicks with a conversion, CVR (when `cvr`) on 56 clicked rows with 3 conversions. */
function run(model: string, seed: number, options: { bestEpoch?: number; epochs?: number; units?: RunRecordLike["training"]["units"]; ctcvrAuc?: number; cvr?: boolean; cvrAuc?: number } = {}): RunRecordLike {
  return {
    model,
    seed,
    backend: "tensorflow",
    test: {
      rows: 1234,
      conversions: 3,
      metrics: {
        ctcvr: { logLoss: 0.01 * seed, prAuc: 0.1 * seed, rocAuc: "ctcvrAuc" in options ? options.ctcvrAuc : 0.6, count: 1234, positives: 3 },
        ...(options.cvr === false ? {} : { cvr: { rocAuc: "cvrAuc" in options ? options.cvrAuc : 0.55, count: 56, positives: 3 } }),
      },
    },
    training: { bestEpoch: options.bestEpoch ?? 1, parameters: { total: 100 + seed }, epochs: Array.from({ length: options.epochs ?? 1 }), units: options.units },
    timings: { trainSeconds: 2.5 },
  };
}

test("preparedSplitRows: counts as they are, CTR over weighted rows, CVR over clicks (NaN without), OOV share (NaN when not recorded)", () => {
  const splits = [
    { name: "train", days: [1], rows: 10, weightedRows: 40, clicks: 4, conversions: 1, oovRate: {}, oovRows: 0.1 },
    { name: "test", days: [2], rows: 5, weightedRows: 5, clicks: 0, conversions: 0, oovRate: {} },
  ];
  assert.deepEqual(preparedSplitRows({ splits }), [
    { split: "train", rows: 10, weighted_rows: 40, clicks: 4, conversions: 1, ctr: 0.1, cvr_of_clicks: 0.25, oov_rows: 0.1 },
    { split: "test", rows: 5, weighted_rows: 5, clicks: 0, conversions: 0, ctr: 0, cvr_of_clicks: NaN, oov_rows: NaN },
  ]);
});

test("preparedFolderLine: the folder, its sha256 to 12 digits, the source's kind ('?' without), keep rate and seed", () => {
  assert.equal(preparedFolderLine("/data/prep", data, { kind: "ali-ccp" }), "prepared folder /data/prep (content sha256 83f05d876d60; source: ali-ccp); non-clicked training rows kept at rate 0.1, seed 7");
  assert.equal(preparedFolderLine("/data/prep", data, {}), "prepared folder /data/prep (content sha256 83f05d876d60; source: ?); non-clicked training rows kept at rate 0.1, seed 7");
});

test("designRows: the design's settings in order, the replicate named by the folder's key and its preparation seed", () => {
  const train = { lossNormalization: "batch-weight" as const, maxEpochs: 1, patience: 2, testEveryEpoch: true };
  assert.deepEqual(designRows({ models: ["IP", "ESMM"], seeds: [1, 2], data }, train, { folder: "/data/prep", workers: 2 }), [
    { setting: "models", value: "IP, ESMM" },
    { setting: "model seeds", value: "1, 2" },
    { setting: "data", value: "/data/prep (one data replicate: the prepared folder 83f05d876d600339 (draw = its preparation seed 7))" },
    { setting: "negative keep rate (weight 1/r)", value: 0.1 },
    { setting: "loss normalisation", value: "batch-weight" },
    { setting: "test split scored every epoch (records only)", value: "yes" },
    { setting: "max epochs / patience", value: "1 / 2" },
    { setting: "worker processes", value: 2 },
  ]);
  assert.equal(designRows({ models: ["IP"], seeds: [1], data }, { ...train, testEveryEpoch: undefined }, { folder: "x", workers: 1 })[5].value, "no");
});

test("runRows and runsCaption: one row per run; the caption counts the runs found and the first record's test split", () => {
  const records = [run("IP", 1), run("ESMM", 2)];
  assert.deepEqual(runRows(records), [
    { model: "IP", seed: 1, ctcvr_log_loss: 0.01, ctcvr_pr_auc: 0.1, best_epoch: 1, parameters: 101, train_seconds: 2.5, backend: "tensorflow" },
    { model: "ESMM", seed: 2, ctcvr_log_loss: 0.02, ctcvr_pr_auc: 0.2, best_epoch: 1, parameters: 102, train_seconds: 2.5, backend: "tensorflow" },
  ]);
  assert.equal(runsCaption(records, 12), "2 of 12 runs (test split: 1,234 impressions, 3 conversions)");
  const one = { ...run("IP", 1), test: { ...run("IP", 1).test, conversions: 1 } };
  assert.equal(runsCaption([one], 1), "1 of 1 runs (test split: 1,234 impressions, 1 conversion)");
});

test("realDataDesignLabel: one data set, the seeds, the test split's conversions (a range when they differ)", () => {
  assert.equal(realDataDesignLabel({ replicates: 1, seedsPerReplicate: [2, 2], conversions: { min: 5, max: 5, differ: false } }), "1 data set x 2 seeds, test split with 5 conversions");
  assert.equal(realDataDesignLabel({ replicates: 1, seedsPerReplicate: [6, 6], conversions: { min: 1, max: 1, differ: false } }), "1 data set x 6 seeds, test split with 1 conversion");
  assert.equal(realDataDesignLabel({ replicates: 1, seedsPerReplicate: [6, 6], conversions: undefined }), "1 data set x 6 seeds, test split with ? conversions");
});

test("missingAucNote: counts records without a CTCVR AUC or with a CVR space but no CVR AUC; a model without a pCVR misses nothing", () => {
  assert.equal(missingAucNote([run("IP", 1), run("ESP", 1, { cvr: false })], "runs/x.jsonl"), undefined);
  assert.equal(
    missingAucNote([run("IP", 1, { ctcvrAuc: undefined }), run("ESMM", 1, { cvrAuc: undefined }), run("ESP", 1, { cvr: false })], "runs/x.jsonl"),
    "2 record(s) carry no AUCs: npx esmm rescore --results runs/x.jsonl recomputes them from the stored predictions",
  );
});

test("aucRowsText and publishedTableCaption: the AUCs' rows from the first record, then the caption around them", () => {
  const rows = aucRowsText([run("IP", 1)]);
  assert.equal(rows, "CVR AUC on the 56 clicked test rows (3 conversions), CTCVR AUC on all 1,234 test rows (3 clicks with a conversion)");
  assert.equal(
    publishedTableCaption({ baseline: "IP" }, "ROWS", "DESIGN"),
    "DDPO Table 2's AUCs beside the cross-entropies: mean ± se over seeds [95 % t interval]; % vs IP ± se of the difference paired by seed. ROWS. DESIGN; epoch chosen on the validation split.",
  );
});

test("epochRows: per model the criterion (per tower for IP), best epoch by seed, runs at the cap and epochs run", () => {
  const ipUnits = (ctr: number, cvr: number): RunRecordLike["training"]["units"] => [{ criterion: "ctr", bestEpoch: ctr }, { criterion: "cvr", bestEpoch: cvr }];
  const records = [
    run("IP", 1, { bestEpoch: 3, epochs: 3, units: ipUnits(3, 1) }),
    run("IP", 2, { bestEpoch: 2, epochs: 3, units: ipUnits(2, 2) }),
    run("ESMM", 1, { bestEpoch: 3, epochs: 3 }),
    run("ESMM", 2, { bestEpoch: 1, epochs: 3 }),
  ];
  assert.deepEqual(epochRows(["IP", "ESMM", "ESP"], records, 3), [
    { model: "IP", epoch_chosen_on: "validation split", criterion: "CTR tower: CTR cross-entropy; CVR tower: CVR cross-entropy", best_epoch_by_seed: "CTR 3 / CVR 1, CTR 2 / CVR 2", at_cap: "1 of 2", epochs_run: "3, 3" },
    { model: "ESMM", epoch_chosen_on: "validation split", criterion: "CTCVR cross-entropy", best_epoch_by_seed: "3, 1", at_cap: "1 of 2", epochs_run: "3, 3" },
    { model: "ESP", epoch_chosen_on: "validation split", criterion: "CTCVR cross-entropy", best_epoch_by_seed: "", at_cap: "0 of 0", epochs_run: "" },
  ]);
  assert.equal(epochCaption({ maxEpochs: 10, patience: 2 }), "The epoch of every run, chosen on the validation split (at most 10 epochs, patience 2); the test split was never looked at to choose it");
});

test("inflationCaption: one epoch says there is nothing to choose; more name the cap", () => {
  const head = 'Test-set epoch choice: per model, the reported value (epoch chosen on the validation split), the best value over the epochs on the test split (the epoch a test-set choice would keep, per metric), and the inflation = test-chosen − reported in the direction "better" (AUCs on their 0-1 scale; nats for the cross-entropy), mean over seeds ± se (sd / √n, paired by seed) [95 % t interval].';
  assert.equal(inflationCaption(1, "D"), `${head} This profile trains 1 epoch: nothing to choose, the inflation is 0 by construction; the full profile measures it. D.`);
  assert.equal(inflationCaption(10, "D"), `${head} At most 10 epochs. D.`);
});

test("aucBlockMarkdown: the metric table as markdown, a blank line, then where it came from", () => {
  const cell = { n: 2, undefinedRuns: 0, absentRuns: 0, mean: 0.6, se: 0.01, ci95: [0.5, 0.7] as [number, number], percentVsBaseline: 0, percentVsBaselineSe: NaN };
  const table: MetricTable = {
    baseline: "IP",
    columns: [{ metric: "ctcvr.rocAuc", label: "CTCVR ROC-AUC", higherIsBetter: true, rows: "impressions", prediction: "pCtcvr" }],
    rows: [
      { model: "IP", seeds: [1, 2], cells: [cell] },
      { model: "ESMM", seeds: [1, 2], cells: [{ ...cell, mean: 0.61, se: 0.012, ci95: [0.51, 0.71], percentVsBaseline: 1.234, percentVsBaselineSe: 0.5 }] },
    ],
    notes: [],
  };
  assert.equal(
    aucBlockMarkdown(table, { aucRows: "ROWS", design: "DESIGN", source: "ali-ccp", sha256: SHA, date: "2026-12-06" }),
    [
      "| model | seeds | CTCVR ROC-AUC (all rows): mean ± se [95 % t] | CTCVR ROC-AUC (all rows): % vs IP |",
      "|---|---|---|---|",
      "| IP | 2 | 0.6 ± 0.01 [0.5, 0.7] | 0.00 % |",
      "| ESMM | 2 | 0.61 ± 0.012 [0.51, 0.71] | +1.23 % ± 0.50 |",
      "",
      "ROWS. DESIGN; mean ± standard error over seeds [95 % t interval]; % vs IP ± the standard error of the difference paired by seed; epoch chosen on the validation split. Generated by notebooks/08-real-data.ipynb on 2026-12-06 from ali-ccp (prepared folder content sha256 83f05d876d60).",
    ].join("\n"),
  );
});
