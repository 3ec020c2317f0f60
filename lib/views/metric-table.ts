/**
 * Views of a metric table (lib/study/metric-table.ts metricTable): rows for showTable and a markdown table for
 * docs (written between generated markers by fair-report.ts writeGeneratedBlock). Numbers go through lib/format.ts
 * (defined once): a value as "mean ± se [lo, hi]" (4 significant digits, the se 2; the 95 % t interval), the
 * comparison with the baseline as formatPercent's "+1.07 % ± 0.16" (% better than the baseline ± the standard
 * error of the difference).
 */
import type { MetricCell, MetricTable } from "../study/metric-table";
import { formatNumber, formatPercent, markdownTable } from "../format";

/**
 * "0.6123 ± 0.0021 [0.6064, 0.6182]"; "0.6123" with one run; "-" with none; "(k undefined)" appended when k runs
 * had no value (NaN), "(k without pCvr)" when k runs' model has no prediction for the space (`prediction`).
 */
export function formatMetricCell(c: MetricCell, prediction = "its prediction"): string {
  const undefinedNote = (c.undefinedRuns > 0 ? ` (${c.undefinedRuns} undefined)` : "") + (c.absentRuns > 0 ? ` (${c.absentRuns} without ${prediction})` : "");
  if (c.n === 0) return `-${undefinedNote}`;
  const spread = Number.isFinite(c.se) ? ` ± ${formatNumber(c.se, 2)} [${formatNumber(c.ci95[0])}, ${formatNumber(c.ci95[1])}]` : "";
  return `${formatNumber(c.mean)}${spread}${undefinedNote}`;
}

/** The header of a column: its label and its test rows ("CVR ROC-AUC (clicked rows)"). */
export function metricColumnHeader(t: MetricTable, j: number): string {
  const c = t.columns[j];
  return `${c.label} (${c.rows === "clicks" ? "clicked" : "all"} rows)`;
}

/** One object per model for showTable: model, seeds, then per metric its value cell and its % vs the baseline. */
export function metricTableRows(t: MetricTable): Record<string, string | number>[] {
  return t.rows.map((r) => {
    const row: Record<string, string | number> = { model: r.model, seeds: r.seeds.length };
    t.columns.forEach((c, j) => {
      const header = metricColumnHeader(t, j);
      row[`${header}: mean ± se [95 % t]`] = formatMetricCell(r.cells[j], c.prediction);
      row[`${header}: % vs ${t.baseline}`] = formatPercent(r.cells[j].percentVsBaseline, r.cells[j].percentVsBaselineSe);
    });
    return row;
  });
}

/** The same table as markdown. */
export function metricTableMarkdown(t: MetricTable): string {
  const rows = metricTableRows(t);
  const header = Object.keys(rows[0] ?? { model: "" });
  return markdownTable(header, rows.map((r) => header.map((h) => r[h])));
}
