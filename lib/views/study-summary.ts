/**
 * The view of a study summary (lib/study/summary.ts summarizeStudy): one row per model, numbers formatted by
 * lib/format.ts, for showTable (notebooks) and tableText (`esmm stats`).
 */
import type { StudySummary } from "../study/summary";
import { formatNumber, formatP, formatPercent } from "../format";

/** One plain row per model: formatted strings, ready for tableText / showTable. */
export function summaryRows(summary: StudySummary): Record<string, string | number>[] {
  return summary.models.map((m) => ({
    model: m.model,
    n: m.n,
    mean: formatNumber(m.mean, 4),
    se: formatNumber(m.se, 2),
    [`vs ${summary.baseline} ± se(diff)`]: m.model === summary.baseline ? `0 (own se ${m.ownSePercent.toFixed(2)})` : formatPercent(m.percentVsBaseline, m.percentVsBaselineSe),
    test: m.vsBaseline ? m.vsBaseline.design : "",
    p: m.vsBaseline ? formatP(m.vsBaseline.p) : "",
    "MDE (80 %)": m.vsBaseline && Number.isFinite(m.vsBaseline.mde) ? `${m.vsBaseline.mde.toFixed(2)} %` : "",
    [`better than (p<${summary.alpha})`]: m.betterThan.join(" ") || "-",
    [`better than (Holm)`]: m.betterThanHolm.join(" ") || "-",
    conversions: m.conversionsRange === undefined ? "" : m.conversionsDiffer ? `${m.conversionsRange[0]}-${m.conversionsRange[1]}` : String(m.conversions),
    parameters:
      m.parametersRange === undefined
        ? ""
        : (m.parametersRange[0] === m.parametersRange[1] ? formatNumber(m.parameters) : `${formatNumber(m.parametersRange[0])}-${formatNumber(m.parametersRange[1])}`) + (m.parametersDiffer ? "*" : ""),
    "gap to oracle": m.oracleGap === undefined ? "" : formatNumber(m.oracleGap, 3),
  }));
}
