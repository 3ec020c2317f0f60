/**
 * lib/views/data-report.ts, notebook 01's views, on a hand-made manifest and preparation report with the rows, lines
 * and traces written out: each function only shapes data (rates in % are 100 x the share: CTR 0.04 is 4 %; the
 * downsampling's non-clicked rows before are all rows minus the clicked ones, 1000 - 40 = 960, and kept x weight is
 * 96 / 0.1 = 960).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DayEntry, PlacementEntry } from "../lib/data/simulated-files";
import type { PrepareReport } from "../lib/data/prepare";
import {
  dataBiasFigure,
  describeTable,
  downsamplingFigure,
  funnelFigure,
  impressionsFigure,
  oracleRows,
  perDayRows,
  placementRows,
  ratesFigure,
  readLine,
  splitRows,
  splitsCaption,
  totalsRows,
  vocabularyCaption,
  vocabularyRows,
} from "../lib/views/data-report";

type Trace = { name?: string; x: unknown[]; y: number[] };
const counts = (impressions: number, clicks: number, conversions: number) => ({ impressions, clicks, conversions, ctr: clicks / impressions, cvr: conversions / clicks, ctcvr: conversions / impressions });
const day = (d: number, impressions: number, clicks: number, conversions: number): DayEntry => ({ day: d, file: `day-${d}.csv`, ...counts(impressions, clicks, conversions), oracle: { ctr: 0.1 * d, cvr: 0.2 * d, ctcvr: 0.01 * d } });
const days = [day(11, 1000, 40, 2), day(12, 500, 10, 1), day(13, 800, 16, 4), day(14, 800, 20, 5)];

test("totalsRows: the totals as quantities, the oracle's CTCVR cross-entropy last", () => {
  assert.deepEqual(totalsRows({ totals: counts(1000, 40, 2), oracle: { ctr: 0.1, cvr: 0.2, ctcvr: 0.009 } }), [
    { quantity: "impressions", value: 1000 },
    { quantity: "clicks", value: 40 },
    { quantity: "conversions", value: 2 },
    { quantity: "CTR (clicks / impressions)", value: 0.04 },
    { quantity: "CVR (conversions / clicks)", value: 0.05 },
    { quantity: "CTCVR (conversions / impressions)", value: 0.002 },
    { quantity: "oracle CTCVR cross-entropy (floor)", value: 0.009 },
  ]);
});

test("readLine: from the cache, or from the CSV files and whether the cache was written", () => {
  assert.equal(readLine({ from: "cache", cacheWritten: false }, 200_000, 15, 12), "read 200,000 rows from log.bin in 12 ms");
  assert.equal(readLine({ from: "csv", cacheWritten: true }, 200_000, 15, 340), "parsed 200,000 rows from 15 CSV files in 340 ms, wrote log.bin");
  assert.equal(readLine({ from: "csv", cacheWritten: false }, 5, 1, 3), "parsed 5 rows from 1 CSV files in 3 ms");
});

test("describeTable: the statistic (the frame's index) becomes the first column", () => {
  assert.deepEqual(describeTable({ columns: ["click", "conversion"], index: ["count", "mean"], values: [[10, 10], [0.1, 0.02]] }), {
    columns: ["statistic", "click", "conversion"],
    values: [["count", 10, 10], ["mean", 0.1, 0.02]],
  });
});

test("perDayRows, impressionsFigure, ratesFigure: one row and one point per day, rates in %", () => {
  assert.deepEqual(perDayRows(days.slice(0, 1)), [{ day: 11, impressions: 1000, clicks: 40, conversions: 2, ctr: 0.04, cvr: 0.05, oracle_ctcvr_xent: 0.11 }]);
  const bars = impressionsFigure(days).data as Trace[];
  assert.deepEqual([bars[0].x, bars[0].y], [["11", "12", "13", "14"], [1000, 500, 800, 800]]);
  const rates = ratesFigure(days.slice(0, 2)).data as Trace[];
  assert.deepEqual(rates.map((t) => [t.name, t.x, t.y.map((v) => Number(v.toFixed(10)))]), [
    ["CTR (clicks / impressions)", [11, 12], [4, 2]],
    ["CVR (conversions / clicks)", [11, 12], [5, 10]],
  ]);
});

test("funnelFigure: impressions, clicks, conversions in that order", () => {
  const fig = funnelFigure({ impressions: 1000, clicks: 40, conversions: 2 });
  const data = fig.data as { type: string; x: number[]; y: string[] }[];
  assert.deepEqual(data.map((t) => [t.type, t.y, t.x]), [["funnel", ["impressions", "clicks", "conversions"], [1000, 40, 2]]]);
  assert.equal((fig.layout as { title: { text: string } }).title.text, "Impression → click → conversion");
});

test("placementRows and dataBiasFigure: observed CVR on clicks beside the true CVR over clicked and all impressions", () => {
  const p: PlacementEntry = { name: "search", ...counts(500, 50, 5), meanTrueCvrOnClicks: 0.09, meanTrueCvrOnImpressions: 0.06 };
  assert.deepEqual(placementRows([p]), [{ placement: "search", impressions: 500, ctr: 0.1, clicks: 50, cvr_on_clicks: 0.1, true_cvr_clicked: 0.09, true_cvr_all: 0.06 }]);
  const data = dataBiasFigure([p]).data as Trace[];
  assert.deepEqual(data.map((t) => [t.name, t.x, t.y.map((v) => Number(v.toFixed(10)))]), [
    ["observed conversions / clicks", ["search"], [10]],
    ["true CVR, mean over clicked impressions", ["search"], [9]],
    ["true CVR, mean over all impressions", ["search"], [6]],
  ]);
});

const report: PrepareReport = {
  negativeKeepRate: 0.1,
  seed: 7,
  oovMinCount: 2,
  oovMaskRate: 0.01,
  splits: [
    { name: "train", days: [1, 2], rows: 136, weightedRows: 1000, clicks: 40, conversions: 2, oovRate: { ad: 0.01, user: 0.02 }, oovRows: 0.03 },
    { name: "test", days: [13], rows: 50, weightedRows: 50, clicks: 2, conversions: 1, oovRate: { ad: 0.1 } },
  ],
  vocabularies: [{ field: "ad", trainingIds: 600, indexed: 550, pooled: 50, masked: 3, oovTrained: true }],
  downsampling: { before: 1000, kept: 136, keptClicked: 40, keptNonClicked: 96 },
};

test("splitRows, vocabularyRows and their captions", () => {
  assert.deepEqual(splitRows(report), [
    { split: "train", days: "1,2", rows: 136, weighted_rows: 1000, clicks: 40, conversions: 2, oov_rows: 0.03, oov_ad: 0.01, oov_user: 0.02 },
    { split: "test", days: "13", rows: 50, weighted_rows: 50, clicks: 2, conversions: 1, oov_rows: undefined, oov_ad: 0.1, oov_user: undefined },
  ]);
  assert.equal(splitsCaption(0.1), "Splits (negatives kept at r = 0.1 on training days)");
  assert.deepEqual(vocabularyRows(report), [{ field: "ad", training_ids: 600, indexed: 550, pooled: 50, masked_rows: 3, oov_row_trained: true }]);
  assert.throws(() => vocabularyRows({}), /no vocabularies/);
  assert.equal(vocabularyCaption(report), "Vocabularies (kept training rows; index 0 = unseen ids, ids seen < 2 times, and a seeded 0.01 of training rows where rare ids are fewer)");
});

test("downsamplingFigure: rows before, kept, and kept x weight 1/r, clicked and not clicked", () => {
  const data = downsamplingFigure(report.downsampling, 0.1).data as Trace[];
  assert.deepEqual(data.map((t) => [t.name, t.x, t.y.map((v) => Number(v.toFixed(10)))]), [
    ["rows before", ["clicked", "not clicked"], [40, 960]],
    ["rows kept", ["clicked", "not clicked"], [40, 96]],
    ["kept rows x weight", ["clicked", "not clicked"], [40, 960]],
  ]);
});

test("oracleRows: the days from validation on, each with its role", () => {
  assert.deepEqual(oracleRows(days, { validationDay: 12, testDay: 13 }).map((r) => [r.day, r.role, r.conversions, r.oracle_ctcvr_xent]), [
    [12, "validation", 1, 0.12],
    [13, "test", 4, 0.13],
    [14, "later", 5, 0.14],
  ]);
});
