/**
 * Views of the protocol-sensitivity study (lib/study/sensitivity.ts sensitivityResults): the closing table of
 * notebook 05, as rows for showTable and as markdown for docs/sensitivity.md. Numbers go through lib/format.ts.
 */
import { VERDICTS, type Finding } from "../study/findings";
import type { FactorResult } from "../study/sensitivity";
import { formatNumber, formatPercent } from "../format";

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

/** The same table as markdown, for the README's "What the conclusions depend on" section. */
export function sensitivityMarkdown(results: FactorResult[]): string {
  const rows = sensitivityTable(results);
  if (rows.length === 0) return "";
  const cols = Object.keys(rows[0]);
  return [`| ${cols.join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${cols.map((c) => r[c]).join(" | ")} |`)].join("\n");
}
