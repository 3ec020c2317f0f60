/**
 * Views of the paper's findings (lib/study/findings.ts evaluateFindings, findingsAcrossLevels): the markdown list
 * notebooks 04, 07 and 08 and `esmm stats` print, the plain rows for showTable, and the table of verdicts across the
 * levels of a factor. Numbers go through lib/format.ts (p by formatP, percent differences by formatPercent).
 * The reasons and evidence sentences are the findings' own (Finding.reason, Finding.evidence): computed with the
 * verdict, not here.
 */
import type { Finding, FindingAcrossLevels, Verdict } from "../study/findings";
import { formatNumber, formatP, formatPercent } from "../format";

/**
 * Markdown: a count line, then one bullet per finding: the claim, the verdict, the computed reason and
 * the numbers. `title` (optional) is put first, e.g. the metric, design and alpha.
 */
export function findingsText(findings: readonly Finding[], options: { title?: string } = {}): string {
  const count = (v: Verdict) => findings.filter((f) => f.verdict === v).length;
  const lines: string[] = [];
  if (options.title) lines.push(options.title, "");
  const parts = [`${count("holds")} hold`, `${count("contradicted")} contradicted`, `${count("inconclusive")} inconclusive`];
  lines.push(`Of the paper's ${findings.length} findings tested here: ${parts.join(", ")}.`, "");
  for (const f of findings) {
    // a family-wise "contradicted" is decided by the p against the claim: show that one (findingsRows shows both)
    const familywiseP = f.verdictFamilywise === "contradicted" ? `p against = ${formatP(f.pAgainstFamilywise)}` : `p = ${formatP(f.pFamilywise)}`;
    const familywise = Number.isNaN(f.pFamilywise) ? "" : ` Family-wise (Holm over ${findings.length}): ${f.verdictFamilywise}, ${familywiseP}.`;
    const magnitude = f.magnitude ? ` The paper's magnitude (${f.magnitude.value} % ± ${f.magnitude.tolerance}): ${f.magnitude.shown ? "shown" : "not shown"} (TOST p = ${formatP(f.magnitude.p)}).` : "";
    lines.push(`- **${f.claim}**: ${f.verdict}. ${capitalize(f.reason)}.${familywise}${magnitude} _(${f.evidence})_`);
  }
  return lines.join("\n");
}

function capitalize(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);
}

/**
 * Plain rows, one per finding: id, claim, alternative, verdict, p for and against the claim, the family-wise verdict
 * with both Holm-adjusted p (a family-wise "contradicted" is decided by "p family-wise against", a "holds" by
 * "p family-wise"), estimate ± se, MDE.
 */
export function findingsRows(findings: readonly Finding[]): Record<string, string>[] {
  return findings.map((f) => ({
    id: f.id,
    claim: f.claim,
    alternative: f.alternative,
    verdict: f.verdict,
    p: formatP(f.p),
    "p against": formatP(f.pAgainst),
    "verdict (family-wise)": f.verdictFamilywise,
    "p family-wise": formatP(f.pFamilywise),
    "p family-wise against": formatP(f.pAgainstFamilywise),
    estimate: f.kind === "more-variable" ? `sd ratio ${formatNumber(f.estimate, 3)}` : formatPercent(f.estimate, f.se),
    "MDE (80 %)": Number.isFinite(f.mde) ? `${f.mde.toFixed(2)} %` : "",
  }));
}

/** Markdown table of findingsAcrossLevels: one row per finding. */
export function findingsAcrossLevelsText(rows: readonly FindingAcrossLevels[]): string {
  return [
    "| finding | holds at | contradicted at | inconclusive at |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.claim} | ${r.holdsAt.join(", ") || "-"} | ${r.contradictedAt.join(", ") || "-"} | ${r.inconclusiveAt.join(", ") || "-"} |`),
  ].join("\n");
}
