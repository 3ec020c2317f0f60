/**
 * Views of the simulated log and its preparation (notebook 01): the data set's totals, where the rows were read from,
 * a describe() table, the days, the funnel, the placements' data bias, the splits and vocabularies, the negative
 * downsampling and the oracle's cross-entropies. Domain code (lib/data: the simulation manifest, loadSimulatedLog,
 * prepare's PrepareReport) returns data; these functions only shape it into rows for showTable (numbers kept as
 * numbers, lib/views/tables.ts decides their digits), lines and figures.
 */
import type { DayEntry, LoadedSimulatedLog, PlacementEntry, SimulationManifest } from "../data/simulated-files";
import type { PrepareReport, SplitPlan } from "../data/prepare";
import { LOG_CACHE_FILE } from "../data/log-cache";
import type { FrameLike } from "./tables";
import type { Figure } from "../plots/figure";
import { barWithErrors, funnelChart, lineChart, withTemplate } from "../plots/charts";

// ---------------------------------------------------------------------------------------------------
// The log.

/** The data set's totals as quantity/value rows: counts, CTR, CVR, CTCVR and the oracle's CTCVR cross-entropy (the floor). */
export function totalsRows(manifest: Pick<SimulationManifest, "totals" | "oracle">): { quantity: string; value: number }[] {
  const t = manifest.totals;
  return [
    { quantity: "impressions", value: t.impressions },
    { quantity: "clicks", value: t.clicks },
    { quantity: "conversions", value: t.conversions },
    { quantity: "CTR (clicks / impressions)", value: t.ctr },
    { quantity: "CVR (conversions / clicks)", value: t.cvr },
    { quantity: "CTCVR (conversions / impressions)", value: t.ctcvr },
    { quantity: "oracle CTCVR cross-entropy (floor)", value: manifest.oracle.ctcvr },
  ];
}

/**
 * Where the log's rows were read from, in one line: the binary cache (LOG_CACHE_FILE), or `days` CSV files (and
 * whether the cache was written), the rows and the milliseconds it took.
 */
export function readLine(loaded: Pick<LoadedSimulatedLog, "from" | "cacheWritten">, rows: number, days: number, ms: number): string {
  const count = rows.toLocaleString("en-US");
  return loaded.from === "cache"
    ? `read ${count} rows from ${LOG_CACHE_FILE} in ${ms} ms`
    : `parsed ${count} rows from ${days} CSV files in ${ms} ms${loaded.cacheWritten ? `, wrote ${LOG_CACHE_FILE}` : ""}`;
}

/** A describe() frame (danfojs: statistics as its index) as a table with the statistic as its first column. */
export function describeTable(summary: { columns: string[]; index: readonly unknown[]; values: readonly unknown[] }): FrameLike {
  return { columns: ["statistic", ...summary.columns], values: (summary.values as unknown[][]).map((row, i) => [summary.index[i], ...row]) };
}

// ---------------------------------------------------------------------------------------------------
// Days, funnel, placements.

/** One row per day: impressions, clicks, conversions, CTR, CVR and the oracle's CTCVR cross-entropy. */
export function perDayRows(days: readonly DayEntry[]): { day: number; impressions: number; clicks: number; conversions: number; ctr: number; cvr: number; oracle_ctcvr_xent: number }[] {
  return days.map((d) => ({ day: d.day, impressions: d.impressions, clicks: d.clicks, conversions: d.conversions, ctr: d.ctr, cvr: d.cvr, oracle_ctcvr_xent: d.oracle.ctcvr }));
}

/** Impressions per day as bars. */
export function impressionsFigure(days: readonly Pick<DayEntry, "day" | "impressions">[]): Figure {
  return barWithErrors(days.map((d) => String(d.day)), days.map((d) => d.impressions), days.map(() => 0), { title: "Impressions per day", xTitle: "day", yTitle: "impressions" });
}

/** CTR and CVR per day, in %. */
export function ratesFigure(days: readonly Pick<DayEntry, "day" | "ctr" | "cvr">[]): Figure {
  const x = days.map((d) => d.day);
  return lineChart(
    [
      { name: "CTR (clicks / impressions)", x, y: days.map((d) => 100 * d.ctr) },
      { name: "CVR (conversions / clicks)", x, y: days.map((d) => 100 * d.cvr) },
    ],
    { title: "CTR and CVR per day", xTitle: "day", yTitle: "%" },
  );
}

/** The funnel impressions → clicks → conversions of the whole log. */
export function funnelFigure(totals: Pick<SimulationManifest["totals"], "impressions" | "clicks" | "conversions">): Figure {
  return funnelChart(
    [
      { name: "impressions", value: totals.impressions },
      { name: "clicks", value: totals.clicks },
      { name: "conversions", value: totals.conversions },
    ],
    { title: "Impression → click → conversion" },
  );
}

/** One row per placement: impressions, CTR, clicks, observed CVR on clicks, and the true CVR's mean over clicked and over all impressions. */
export function placementRows(placements: readonly PlacementEntry[]): { placement: string; impressions: number; ctr: number; clicks: number; cvr_on_clicks: number; true_cvr_clicked: number; true_cvr_all: number }[] {
  return placements.map((p) => ({ placement: p.name, impressions: p.impressions, ctr: p.ctr, clicks: p.clicks, cvr_on_clicks: p.cvr, true_cvr_clicked: p.meanTrueCvrOnClicks, true_cvr_all: p.meanTrueCvrOnImpressions }));
}

/** The data bias by placement: observed conversions / clicks beside the true CVR's mean over clicked and over all impressions, in %. */
export function dataBiasFigure(placements: readonly PlacementEntry[]): Figure {
  const names = placements.map((p) => p.name);
  return withTemplate({
    data: [
      { type: "bar", name: "observed conversions / clicks", x: names, y: placements.map((p) => 100 * p.cvr) },
      { type: "bar", name: "true CVR, mean over clicked impressions", x: names, y: placements.map((p) => 100 * p.meanTrueCvrOnClicks) },
      { type: "bar", name: "true CVR, mean over all impressions", x: names, y: placements.map((p) => 100 * p.meanTrueCvrOnImpressions) },
    ],
    layout: { barmode: "group", title: { text: "Data bias: CVR on clicked impressions vs over all impressions" }, yaxis: { title: { text: "P(conversion | click), %" } }, showlegend: true, legend: { orientation: "h", y: -0.2 } },
  });
}

// ---------------------------------------------------------------------------------------------------
// The preparation.

/** One row per prepared split: its days, raw and weighted rows, clicks, conversions, the share of rows with any id at OOV index 0, and the ad's and user's OOV shares. */
export function splitRows(report: Pick<PrepareReport, "splits">): Record<string, string | number | undefined>[] {
  return report.splits.map((s) => ({ split: s.name, days: s.days.join(","), rows: s.rows, weighted_rows: s.weightedRows, clicks: s.clicks, conversions: s.conversions, oov_rows: s.oovRows, oov_ad: s.oovRate.ad, oov_user: s.oovRate.user }));
}

/** The caption of splitRows' table, with the negative keep rate r of the training days. */
export function splitsCaption(negativeKeepRate: number): string {
  return `Splits (negatives kept at r = ${negativeKeepRate} on training days)`;
}

/** One row per categorical field's vocabulary: distinct training ids, indexed, pooled into index 0, rows masked to 0, and whether row 0 is trained. Throws on a report without vocabularies. */
export function vocabularyRows(report: Pick<PrepareReport, "vocabularies">): { field: string; training_ids: number; indexed: number; pooled: number; masked_rows: number; oov_row_trained: boolean }[] {
  if (!report.vocabularies) throw new Error("vocabularyRows: the report has no vocabularies (a folder prepared before they were recorded)");
  return report.vocabularies.map((v) => ({ field: v.field, training_ids: v.trainingIds, indexed: v.indexed, pooled: v.pooled, masked_rows: v.masked, oov_row_trained: v.oovTrained }));
}

/** The caption of vocabularyRows' table: the OOV rules' minimum count and masking rate. */
export function vocabularyCaption(report: Pick<PrepareReport, "oovMinCount" | "oovMaskRate">): string {
  return `Vocabularies (kept training rows; index 0 = unseen ids, ids seen < ${report.oovMinCount} times, and a seeded ${report.oovMaskRate} of training rows where rare ids are fewer)`;
}

/** The negative downsampling of the training days: clicked and non-clicked rows before, kept, and kept times their weight (1/r), log scale. */
export function downsamplingFigure(d: PrepareReport["downsampling"], negativeKeepRate: number): Figure {
  const x = ["clicked", "not clicked"];
  return withTemplate({
    data: [
      { type: "bar", name: "rows before", x, y: [d.keptClicked, d.before - d.keptClicked] },
      { type: "bar", name: "rows kept", x, y: [d.keptClicked, d.keptNonClicked] },
      { type: "bar", name: "kept rows x weight", x, y: [d.keptClicked, d.keptNonClicked / negativeKeepRate] },
    ],
    layout: { barmode: "group", title: { text: `Negative downsampling on training days (r = ${negativeKeepRate}, weight 1/r)` }, yaxis: { title: { text: "rows" }, type: "log" }, showlegend: true },
  });
}

/** One row per day from the validation day on: its role (validation, test, later), conversions and the oracle's cross-entropies (CTR, CVR on clicks, CTCVR). */
export function oracleRows(days: readonly DayEntry[], plan: Pick<SplitPlan, "validationDay" | "testDay">): Record<string, string | number>[] {
  return days
    .filter((d) => d.day >= plan.validationDay)
    .map((d) => ({ day: d.day, role: d.day === plan.validationDay ? "validation" : d.day === plan.testDay ? "test" : "later", conversions: d.conversions, oracle_ctr_xent: d.oracle.ctr, oracle_cvr_xent_on_clicks: d.oracle.cvr, oracle_ctcvr_xent: d.oracle.ctcvr }));
}
