/**
 * Views of the protocol-sensitivity study (lib/study/sensitivity.ts sensitivityResults), notebook 05: the factors, each
 * factor's figure and table of % vs IP by level, the findings per factor, the MDE at each level, and the closing
 * table as rows for showTable and as markdown for docs/sensitivity.md (its generated block). Numbers go through
 * lib/format.ts.
 */
import { VERDICTS, type Finding } from "../study/findings";
import type { Factor, FactorResult } from "../study/sensitivity";
import type { StudySpec } from "../study/spec";
import type { Figure } from "../plots/figure";
import { withTemplate } from "../plots/charts";
import { formatNumber, formatPercent, formatRange } from "../format";

// ---------------------------------------------------------------------------------------------------
// The design.

/**
 * One row per factor of `factors` (lib/study SENSITIVITY_FACTORS) that some variant of `study` varies, in the
 * factors' order: its name, the option it sets, its default level and the study's levels (in the variants' order).
 */
export function sensitivityFactorRows(factors: readonly Pick<Factor, "name" | "option" | "defaultLevel">[], study: Pick<StudySpec, "variants">): { factor: string; option: string; default: string | number; levels: string }[] {
  const variants = study.variants ?? [];
  return factors
    .filter((f) => variants.some((v) => v.factor === f.name))
    .map((f) => ({ factor: f.name, option: f.option, default: f.defaultLevel, levels: variants.filter((v) => v.factor === f.name).map((v) => v.level).join(", ") }));
}

/** The caption of sensitivityFactorRows' table: the profile, models x seeds per level. */
export function sensitivityFactorsCaption(study: Pick<StudySpec, "models" | "seeds">, profile: string): string {
  return `Factors (profile ${profile}; ${study.models.length} models x ${study.seeds.length} seeds per level; other options at their defaults)`;
}

// ---------------------------------------------------------------------------------------------------
// Each factor.

/** A level as an axis label: "0.1 (default)" for the factor's default level, else the level. */
const levelLabel = (r: FactorResult, level: string) => `${level}${String(level) === String(r.factor.defaultLevel) ? " (default)" : ""}`;

/**
 * One factor's figure: per model other than IP (the first level's models), its % vs IP at each level (categorical
 * axis, the default marked) ± 1 se of the difference; NaN where a level lacks the model.
 */
export function sensitivityLevelFigure(r: FactorResult): Figure {
  const levels = [...r.summaries.keys()];
  const models = r.summaries.get(levels[0])!.models.map((m) => m.model).filter((m) => m !== "IP");
  const at = (level: string, model: string) => r.summaries.get(level)!.models.find((m) => m.model === model);
  return withTemplate({
    data: models.map((model) => ({
      type: "scatter",
      mode: "lines+markers",
      name: model,
      x: levels.map((l) => levelLabel(r, l)),
      y: levels.map((l) => at(l, model)?.percentVsBaseline ?? NaN),
      error_y: { type: "data", visible: true, array: levels.map((l) => at(l, model)?.percentVsBaselineSe ?? NaN) },
    })),
    layout: {
      title: { text: `${r.factor.name} (${r.factor.option}): % improvement over IP, ± 1 s.e. of the difference` },
      xaxis: { title: { text: r.factor.name }, type: "category" },
      yaxis: { title: { text: "% vs IP (positive = better)" }, zeroline: true },
      showlegend: true,
    },
  });
}

/**
 * One factor's table, one row per level: the level, its test days' conversions (formatRange) and per model its %
 * vs the baseline ± se of the difference ("0" for the baseline).
 */
export function sensitivityLevelRows(r: FactorResult): Record<string, string | number>[] {
  return [...r.summaries.entries()].map(([level, s]) => {
    const row: Record<string, string | number> = { level, test_conversions: formatRange(s.conversions) };
    for (const m of s.models) row[m.model] = m.model === s.baseline ? "0" : formatPercent(m.percentVsBaseline, m.percentVsBaselineSe);
    return row;
  });
}

/** The caption of sensitivityLevelRows' table. */
export function sensitivityLevelCaption(r: FactorResult): string {
  return `${r.factor.name}: % vs IP per level (test-day conversions beside each level)`;
}

/** One factor's findings in words: the factor in bold, then one bullet per finding ("- claim: holds at ...; ..."). */
export function sensitivityFindingsMarkdown(r: Pick<FactorResult, "factor" | "findings">): string {
  return `**${r.factor.name}**\n\n` + r.findings.map((f) => `- ${f.claim}: ${f.text}`).join("\n");
}

// ---------------------------------------------------------------------------------------------------
// Across factors.

/** One row per factor and level: the MDE of each comparison with the baseline ("1.23 %", power 0.8), models without one left out. */
export function sensitivityMdeRows(results: readonly Pick<FactorResult, "factor" | "summaries">[]): Record<string, string>[] {
  return results.flatMap((r) => [...r.summaries.entries()].map(([level, s]) => {
    const row: Record<string, string> = { factor: r.factor.name, level };
    for (const m of s.models) if (m.vsBaseline) row[`MDE ${m.model}`] = `${m.vsBaseline.mde.toFixed(2)} %`;
    return row;
  }));
}

/** A finding's estimate at one level, for a table cell: the percent difference ± se, or the sd ratio. */
function estimateText(f: Finding): string {
  if (!Number.isFinite(f.estimate)) return "no test";
  return f.kind === "more-variable" ? `sd ratio ${formatNumber(f.estimate, 3)}` : formatPercent(f.estimate, f.se);
}

/**
 * The closing table: one row per finding, one column per factor; each cell groups the levels by verdict and
 * gives the estimate at each level, e.g. "holds: batch-weight +1.80 % ± 0.20; contradicted: own-rows -2.10 %
 * ± 0.30" (the estimate is the finding's difference in percent of IP's mean, or the sd ratio).
 */
export function sensitivityTable(results: FactorResult[]): Record<string, string>[] {
  if (results.length === 0) return [];
  return results[0].findings.map((f, k) => {
    const row: Record<string, string> = { finding: f.claim };
    for (const r of results) {
      const x = r.findings[k];
      row[r.factor.name] = VERDICTS.map((v) => ({ v, levels: x.perLevel.filter((p) => p.finding.verdict === v) }))
        .filter((g) => g.levels.length > 0)
        .map((g) => `${g.v}: ${g.levels.map((p) => `${p.level} ${estimateText(p.finding)}`).join(", ")}`)
        .join("; ");
    }
    return row;
  });
}

/** The same table as markdown, for docs/sensitivity.md's generated block. */
export function sensitivityMarkdown(results: FactorResult[]): string {
  const rows = sensitivityTable(results);
  if (rows.length === 0) return "";
  const cols = Object.keys(rows[0]);
  return [`| ${cols.join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${cols.map((c) => r[c]).join(" | ")} |`)].join("\n");
}

/** docs/sensitivity.md's "sensitivity" block: the closing table as markdown, then the design and the verdicts' rule (`seeds` per level, `alpha`). */
export function sensitivityBlock(results: FactorResult[], options: { seeds: number; alpha: number }): string {
  return `${sensitivityMarkdown(results)}\n\n(${options.seeds} seeds per level, one data set per level, comparisons paired by seed; verdicts at α = ${options.alpha} after Holm over every test of the grid; generated by notebooks/05-protocol-sensitivity.ipynb)`;
}
