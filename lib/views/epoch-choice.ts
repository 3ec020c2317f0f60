/**
 * Views of the epoch-choice inflation (lib/study/epoch-choice.ts epochChoiceInflation): rows for showTable and
 * the same table as markdown. Numbers go through lib/format.ts: the reported and test-chosen means with 4
 * significant digits, the inflation as "mean ± se [lo, hi]" (the se 2 digits; the 95 % t interval).
 */
import type { EpochChoiceCell, EpochChoiceTable } from "../study/epoch-choice";
import { formatNumber, markdownTable } from "../format";

/**
 * "0.0041 ± 0.0012 [-0.0011, 0.0093]"; without the spread with one seed; "-" with none; "(k undefined)" appended
 * when k runs had no value (NaN), "(k without pCvr)" when k runs' model has no prediction for the space.
 */
function formatInflation(c: EpochChoiceCell, prediction: string): string {
  const note = (c.undefinedRuns > 0 ? ` (${c.undefinedRuns} undefined)` : "") + (c.absentRuns > 0 ? ` (${c.absentRuns} without ${prediction})` : "");
  if (c.n === 0) return `-${note}`;
  const spread = Number.isFinite(c.inflationSe) ? ` ± ${formatNumber(c.inflationSe, 2)} [${formatNumber(c.ci95[0])}, ${formatNumber(c.ci95[1])}]` : "";
  return `${formatNumber(c.inflation)}${spread}${note}`;
}

/**
 * One object per model for showTable: model, seeds, epochs run per seed, then per metric the mean reported value
 * (epoch chosen on validation), the mean test-chosen value and the inflation (mean ± se [95 % t]).
 */
export function epochChoiceRows(t: EpochChoiceTable): Record<string, string | number>[] {
  return t.rows.map((r) => {
    const row: Record<string, string | number> = { model: r.model, seeds: r.seeds.length, epochs_run: r.epochsRun.join(", ") || "-" };
    t.metrics.forEach((m, j) => {
      const c = r.cells[j];
      const header = `${m.label} (${m.rows === "clicks" ? "clicked" : "all"} rows)`;
      row[`${header}: validation-chosen`] = c.n > 0 ? formatNumber(c.validationChosen) : "-";
      row[`${header}: test-chosen`] = c.n > 0 ? formatNumber(c.testChosen) : "-";
      row[`${header}: inflation ± se [95 % t]`] = formatInflation(c, m.metric.startsWith("cvr.") ? "pCvr" : "pCtcvr");
    });
    if (r.runsWithoutEpochScores > 0) row.note = `${r.runsWithoutEpochScores} run(s) without per-epoch test scores left out`;
    return row;
  });
}

/** The same table as markdown. */
export function epochChoiceMarkdown(t: EpochChoiceTable): string {
  const rows = epochChoiceRows(t);
  const header = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return markdownTable(header, rows.map((r) => header.map((h) => r[h] ?? "")));
}
