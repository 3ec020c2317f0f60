/**
 * Views of the untuned default design's statistical comparison (notebook 04, and the blocks of
 * docs/untuned-default-design.md it writes between markers): the data replicates, Figure 3's table, the comparison
 * across worlds, the noise components, the predicted MDE of other designs, calibration, the gap to the oracle, the
 * temporal shift and how each finding is tested. Domain code (lib/study/summary.ts summarizeStudy, calibrationSummary,
 * temporalShift; lib/study/components.ts; lib/study/findings.ts) returns data; these functions only shape it into
 * rows for showTable (lib/views/tables.ts, which formats numbers by formatNumber) or markdown (numbers through
 * lib/format.ts, defined once). Rows keep numbers as numbers, so the table decides their digits.
 */
import type { CalibrationSummary, ModelSummary, StudySummary, TemporalShift } from "../study/summary";
import { designText } from "../study/summary";
import type { ContrastEstimate } from "../study/compare";
import type { BootstrapComparison, PlannedDesign, VarianceComponents } from "../study/components";
import { plannedSe } from "../study/components";
import { recordsByDataSet } from "../study/replicate-scores";
import type { Finding } from "../study/findings";
import type { RecordFields, StudyRecord } from "../analysis/record";

/** A finding, as far as these views read it (lib/study/findings.ts Finding; any id). */
type FindingLike = Pick<Finding, "verdict" | "pFor" | "pAgainst"> & { id: string };
import { minimumDetectableEffect, tTestPower } from "../stats/power";
import type { Figure } from "../plots/figure";
import { barWithErrors, lineChart, reliabilityDiagram, withTemplate } from "../plots/charts";
import { countOf, formatNumber, formatP, formatPercent, formatRange, markdownTable } from "../format";

/** A comparison with the baseline, as far as these views read it. */
type Contrast = Pick<ContrastEstimate, "design" | "units" | "df" | "replicates" | "p" | "mde" | "powerAtOnePercent" | "unitValues">;
/** A model's summary, as far as these views read it (lib/study/summary.ts ModelSummary). */
export type ModelLike = Pick<ModelSummary, "model" | "n" | "mean" | "se" | "percentVsBaseline" | "percentVsBaselineSe" | "ownSePercent" | "betterThan" | "betterThanHolm" | "parameters" | "oracleGap"> & { vsBaseline?: Contrast };
/** A study summary, as far as these views read it (lib/study/summary.ts StudySummary). */
export type SummaryLike = Pick<StudySummary, "baseline" | "replicates" | "seedsPerReplicate" | "conversions"> & { models: readonly ModelLike[] };

// ---------------------------------------------------------------------------------------------------
// The design in words.

/**
 * The design as one phrase for captions: "2 data replicate(s) x 2 seeds, test days with 31-39 conversions"; seeds
 * per replicate as a range when replicates differ ("5-6"), conversions as the test days' range ("?" when unknown).
 */
export function studyDesignLabel(s: Pick<StudySummary, "replicates" | "seedsPerReplicate" | "conversions">): string {
  const [lo, hi] = s.seedsPerReplicate;
  const seedsPer = `${lo}${hi !== lo ? `-${hi}` : ""}`;
  return `${s.replicates} data replicate(s) x ${seedsPer} seeds, test days with ${countOf(formatRange(s.conversions), "conversion")}`;
}

/** A record's data replicate, as far as replicateRows reads it: the fields of lib/analysis/record.ts StudyRecord it reads, with its types. */
export type ReplicateRecordLike = RecordFields<StudyRecord, { config: { data: { simulatorSeed: true; prepareSeed: true } }; test: { rows: true; conversions: true } }>;

export type ReplicateRow = { world: number; draw: number; test_rows: number; test_conversions: number | undefined; runs: number };

/**
 * One row per data replicate (recordsByDataSet: simulator seed = world, downsampling seed = draw, in order of first
 * appearance): its test day's rows and conversions (of the replicate's last record) and its number of runs.
 */
export function replicateRows(records: readonly ReplicateRecordLike[]): ReplicateRow[] {
  return recordsByDataSet(records).map((group) => {
    const r = group[group.length - 1];
    return { world: r.config.data.simulatorSeed, draw: r.config.data.prepareSeed, test_rows: r.test.rows, test_conversions: r.test.conversions, runs: group.length };
  });
}

export const REPLICATES_CAPTION = "Data replicates of the study (simulator seed = world, downsampling seed = draw)";

// ---------------------------------------------------------------------------------------------------
// Figure 3 and the comparison across worlds.

export type Figure3Row = {
  model: string;
  runs: number;
  cross_entropy: number;
  se: number;
  percent_vs_IP: number;
  se_of_difference: number;
  test: string;
  p: number;
  mde_80: number;
  /** Left out with `power: false`. */
  power_at_1pct?: number;
  better_than: string;
  better_than_holm: string;
  parameters: number | undefined;
};

/**
 * Figure 3: per model, the % by which its cross-entropy is lower than the baseline's, ± 1 se of the difference (the
 * baseline's bar: its own se in % of its mean). `title` names the data (notebook 08: "Real data: ...").
 */
export function figure3Figure(s: SummaryLike, title = "CTCVR cross-entropy: % better than IP, ± 1 s.e. of the difference"): Figure {
  return barWithErrors(
    s.models.map((m) => m.model),
    s.models.map((m) => m.percentVsBaseline),
    s.models.map((m) => (m.model === s.baseline ? m.ownSePercent : m.percentVsBaselineSe)),
    { title, yTitle: "% improvement over IP" },
  );
}

/**
 * Figure 3's table, one row per model: runs, mean cross-entropy and its se, % vs the baseline ± se of the difference
 * (NaN for the baseline itself), how it was tested (or the baseline's own se in % of its mean), p, MDE at power 0.8,
 * the power at a 1 % difference (left out with `power: false`, as notebook 08 shows it), the models it beats (raw
 * p < alpha, and Holm), its parameters.
 */
export function figure3Rows(s: SummaryLike, options: { power?: boolean } = {}): Figure3Row[] {
  return s.models.map((m) => ({
    model: m.model,
    runs: m.n,
    cross_entropy: m.mean,
    se: m.se,
    percent_vs_IP: m.percentVsBaseline,
    se_of_difference: m.model === s.baseline ? NaN : m.percentVsBaselineSe,
    test: m.vsBaseline ? designText(m.vsBaseline) : `own se ${m.ownSePercent.toFixed(2)} % of its mean`,
    p: m.vsBaseline?.p ?? NaN,
    mde_80: m.vsBaseline?.mde ?? NaN,
    ...(options.power === false ? {} : { power_at_1pct: m.vsBaseline?.powerAtOnePercent ?? NaN }),
    better_than: m.betterThan.join(", ") || "-",
    better_than_holm: m.betterThanHolm.join(", ") || "-",
    parameters: m.parameters,
  }));
}

/** The caption of figure3Rows' table: what its columns mean at `alpha`, then the design (studyDesignLabel). */
export function figure3Caption(alpha: number, design: string): string {
  return `% vs IP ± se of the difference; p two-sided; MDE: smallest true difference (%) detected with power 0.8 at α = ${alpha}. Better than: p < ${alpha} (raw, as in the paper; and Holm over all pairs). ${design}.`;
}

export type AcrossWorldsRow = { model: string; percent_vs_IP: number; se_across_worlds: number; se_these_data_sets: number; p: number; mde_80: number; per_replicate: string };

/**
 * The comparison across worlds (`across`: summarizeStudy with unit "replicate"), one row per model compared with the
 * baseline: % vs the baseline, its se across worlds beside the se on these data sets (from `these`, the seed-unit
 * summary; NaN when `these` lacks the model), p, MDE and the per-replicate values (two decimals).
 */
export function acrossWorldsRows(across: SummaryLike, these: SummaryLike): AcrossWorldsRow[] {
  return across.models
    .filter((m) => m.vsBaseline)
    .map((m) => ({
      model: m.model,
      percent_vs_IP: m.percentVsBaseline,
      se_across_worlds: m.percentVsBaselineSe,
      se_these_data_sets: these.models.find((x) => x.model === m.model)?.percentVsBaselineSe ?? NaN,
      p: m.vsBaseline!.p,
      mde_80: m.vsBaseline!.mde,
      per_replicate: m.vsBaseline!.unitValues.map((v) => v.toFixed(2)).join(" "),
    }));
}

/** The caption of acrossWorldsRows' table: t over the replicates and its df. */
export function acrossWorldsCaption(replicates: number): string {
  return `Across worlds: t over ${replicates} data replicates (df ${replicates - 1}); per-replicate % vs IP listed`;
}

// ---------------------------------------------------------------------------------------------------
// Noise and power.

export type NoiseRow = {
  model: string;
  percent_vs_IP: number;
  analytic_se: number;
  bootstrap_se: number;
  bootstrap_ci95: string;
  sd_seed: number;
  sd_test_rows: number;
  sd_world: number;
  world_floored: string;
};

/**
 * The noise of each difference with the baseline, one row per variance component (lib/study/components.ts): the
 * estimate and analytic se (from `summary`), the bootstrap se and 95 % interval (from `boot`, the studyBootstrap
 * model of the same name), and the seed, test-row and world parts as standard deviations (% of the baseline's mean).
 * Throws when `summary` or `boot` lacks a component's model.
 */
export function noiseRows(
  components: readonly Pick<VarianceComponents, "model" | "seedVariance" | "rowsVariance" | "worldVariance" | "worldFloored">[],
  summary: SummaryLike,
  boot: readonly Pick<BootstrapComparison, "model" | "se" | "ci">[],
): NoiseRow[] {
  return components.map((c) => {
    const s = summary.models.find((m) => m.model === c.model);
    const b = boot.find((x) => x.model === c.model);
    if (!s || !b) throw new Error(`noiseRows: model ${c.model} is missing from the ${s ? "bootstrap" : "summary"}`);
    return {
      model: c.model,
      percent_vs_IP: s.percentVsBaseline,
      analytic_se: s.percentVsBaselineSe,
      bootstrap_se: b.se,
      bootstrap_ci95: `${b.ci[0].toFixed(2)} to ${b.ci[1].toFixed(2)}`,
      sd_seed: Math.sqrt(c.seedVariance),
      sd_test_rows: Math.sqrt(c.rowsVariance),
      sd_world: Math.sqrt(c.worldVariance),
      world_floored: c.worldFloored ? "yes" : "",
    };
  });
}

/** The caption of noiseRows' table, with the bootstrap's number of resamples. */
export function noiseCaption(resamples: number): string {
  return `Noise of each difference vs IP, as standard deviations in % of IP's mean: per single seed (seed), per replicate's test day (test rows), per world (world). Bootstrap: ${resamples} resamples of the seeds and the test rows within each replicate (replicates fixed).`;
}

/**
 * The predicted minimum detectable effect of other designs, one row per plan (unit "replicate": only plans with two or
 * more replicates): the design ("7 x 6 seeds, test day x10", the test day's size relative to a training day:
 * plan.testScale x `testScale`, the measured day's), its runs per model and, per component, the MDE (% of the
 * baseline's mean, two-sided `alpha`, power 0.8) from plannedSe; NaN where the plan leaves no df.
 */
export function plannedMdeRows(
  plans: readonly PlannedDesign[],
  components: readonly Pick<VarianceComponents, "model" | "seedVariance" | "rowsVariance" | "worldVariance">[],
  options: { unit: "seed" | "replicate"; alpha: number; testScale: number },
): Record<string, string | number>[] {
  return plans
    .filter((d) => options.unit === "seed" || d.replicates > 1)
    .map((d) => {
      const row: Record<string, string | number> = {
        design: `${d.replicates} x ${d.seeds} seeds, test day x${(d.testScale * options.testScale).toFixed(0)}`,
        runs_per_model: d.replicates * d.seeds,
      };
      for (const c of components) {
        const { se, df } = plannedSe(c, d, options.unit);
        row[`MDE ${c.model}`] = df > 0 ? minimumDetectableEffect({ se, df, alpha: options.alpha, power: 0.8 }) : NaN;
      }
      return row;
    });
}

/**
 * The variance of a replicate's mean difference with the baseline by source, one stacked bar per component
 * ((% of the baseline's mean)²): seed (the seed variance over the seeds per replicate), test rows, world; a NaN part
 * (one replicate: no world part) drawn as 0.
 */
export function varianceFigure(components: readonly Pick<VarianceComponents, "model" | "seedVariance" | "seedsPerReplicate" | "rowsVariance" | "worldVariance">[]): Figure {
  return withTemplate({
    data: ["seed", "test rows", "world"].map((part) => ({
      type: "bar",
      name: part,
      x: components.map((c) => c.model),
      y: components.map((c) => (part === "seed" ? c.seedVariance / c.seedsPerReplicate : part === "test rows" ? c.rowsVariance : c.worldVariance) || 0),
    })),
    layout: { barmode: "stack", title: { text: "Variance of a replicate's mean difference vs IP, by source ((% of IP)²)" }, yaxis: { title: { text: "(% of IP's mean)²" } } },
  });
}

/**
 * The power of each comparison with the baseline (two-sided t test at `alpha`, its se and df) at true differences 0,
 * 0.1, ..., 3 % of the baseline's mean: one line per compared model (tTestPower, lib/stats/power.ts).
 */
export function powerFigure(s: { models: readonly { model: string; vsBaseline?: Pick<ContrastEstimate, "se" | "df"> }[] }, alpha: number): Figure {
  const effects = Array.from({ length: 31 }, (_, i) => i * 0.1);
  return lineChart(
    s.models.filter((m) => m.vsBaseline).map((m) => ({
      name: m.model,
      x: effects,
      y: effects.map((e) => tTestPower({ effect: e, se: m.vsBaseline!.se, df: m.vsBaseline!.df, alpha })),
    })),
    { title: `Power of each comparison vs IP at α = ${alpha}, by true difference`, xTitle: "true difference (% of IP's mean)", yTitle: "power" },
  );
}

/** The caption of plannedMdeRows' table for `unit`. */
export function plannedMdeCaption(unit: "seed" | "replicate"): string {
  return unit === "seed"
    ? "Predicted MDE on these data sets (% of IP's mean, α = 0.01, power 0.8), each seed on its own share of the test day, from the components above"
    : "Predicted MDE across worlds (the replicate as unit), from the components above: the world part does not shrink with seeds or test rows";
}

// ---------------------------------------------------------------------------------------------------
// The appendix: PR-AUC, calibration, the oracle, the temporal shift.

/** A higher-is-better metric's summary (PR-AUC) as bars: % change vs the baseline ± 1 se of the difference. */
export function percentChangeFigure(s: SummaryLike, title: string): Figure {
  return barWithErrors(s.models.map((m) => m.model), s.models.map((m) => m.percentVsBaseline), s.models.map((m) => m.percentVsBaselineSe), { title, yTitle: "% vs IP (positive = better)" });
}

/** The reliability diagram of every model that recorded a curve (pooled bins: mean predicted vs observed rate, counts). */
export function reliabilityFigure(c: Pick<CalibrationSummary, "models">): Figure {
  return reliabilityDiagram(
    c.models
      .filter((m) => m.reliability)
      .map((m) => ({ name: m.model, predicted: m.reliability!.map((b) => b.meanPredicted), observed: m.reliability!.map((b) => b.observedRate), count: m.reliability!.map((b) => b.count) })),
    { title: "Reliability of pCTCVR on the test day (decile bins, pooled over seeds)" },
  );
}

/** Per model, its cross-entropy minus the oracle's (nats; NaN without an oracle) ± 1 se of its mean. */
export function oracleGapFigure(s: SummaryLike): Figure {
  return barWithErrors(s.models.map((m) => m.model), s.models.map((m) => m.oracleGap ?? NaN), s.models.map((m) => m.se), {
    title: "Test CTCVR cross-entropy minus the oracle's (± 1 s.e.)",
    yTitle: "gap to oracle (nats)",
  });
}

/** Per model, its % vs the baseline on each evaluation day (shiftDayNames), one line each. */
export function temporalShiftFigure(shift: Pick<TemporalShift, "splits" | "models">): Figure {
  const days = shiftDayNames(shift);
  return lineChart(shift.models.map((m) => ({ name: m.model, x: days, y: m.points.map((p) => p.percentVsBaseline) })), {
    title: "CTCVR cross-entropy, % improvement over IP on the same day",
    xTitle: "evaluation day",
    yTitle: "% vs IP",
  });
}

/** One row per model: the mean calibration ratio sum(p) / sum(y) over its runs and its se. */
export function calibrationRows(c: Pick<CalibrationSummary, "models">): { model: string; calibration_ratio: number; se: number }[] {
  return c.models.map((m) => ({ model: m.model, calibration_ratio: m.calibrationRatio.mean, se: m.calibrationRatio.se }));
}

/**
 * One row per model: its cross-entropy, its gap to the oracle's (nats) and that gap in % of the gap of the model
 * named `reference` (default "IP"; NaN when the summary lacks it or its gap).
 */
export function oracleGapRows(s: SummaryLike, reference = "IP"): { model: string; cross_entropy: number; gap_to_oracle: number | undefined; gap_percent_of_IP_gap: number }[] {
  const referenceGap = s.models.find((x) => x.model === reference)?.oracleGap ?? NaN;
  return s.models.map((m) => ({ model: m.model, cross_entropy: m.mean, gap_to_oracle: m.oracleGap, gap_percent_of_IP_gap: (100 * (m.oracleGap ?? NaN)) / referenceGap }));
}

/** The evaluation days of a temporal shift as axis labels: "day 13 (test)", "day 14", ... */
export function shiftDayNames(shift: Pick<TemporalShift, "splits">): string[] {
  return shift.splits.map((s) => `day ${s.days.join(",")}${s.split === "test" ? " (test)" : ""}`);
}

/** One row per model and evaluation day: the cross-entropy, % vs the baseline on the same day and its se. */
export function temporalShiftRows(shift: Pick<TemporalShift, "splits" | "models">): { model: string; day: string; cross_entropy: number; percent_vs_IP: number; se: number }[] {
  const days = shiftDayNames(shift);
  return shift.models.flatMap((m) => m.points.map((p, i) => ({ model: m.model, day: days[i], cross_entropy: p.mean, percent_vs_IP: p.percentVsBaseline, se: p.percentVsBaselineSe })));
}

// ---------------------------------------------------------------------------------------------------
// Findings.

/** One row per finding: its id and how it is tested (Finding.method). */
export function findingMethodRows(findings: readonly { id: string; method: string }[]): { id: string; method: string }[] {
  return findings.map((f) => ({ id: f.id, method: f.method }));
}

/** The p that decided a verdict: against the claim for "contradicted", for it otherwise. */
const decidingP = (f: FindingLike) => formatP(f.verdict === "contradicted" ? f.pAgainst : f.pFor);

// ---------------------------------------------------------------------------------------------------
// The blocks of docs/untuned-default-design.md (written by lib/report/generated-blocks.ts writeGeneratedBlock).

/**
 * Figure 3 as markdown, one row per model: cross-entropy, % vs the baseline ± se of the difference (the baseline: its
 * own se), p, MDE, power at 1 %, the models it beats (raw p < alpha, and Holm), and the comparison across worlds ±
 * se (p) from `across` (the unit-"replicate" summary; blank when it has fewer than two replicates or lacks the model).
 * Preceded by a line naming the notebook and the design.
 */
export function figure3Markdown(s: SummaryLike, across: SummaryLike, alpha: number, design: string): string {
  const acrossOf = (model: string) => (across.replicates < 2 ? undefined : across.models.find((x) => x.model === model));
  return `*Generated by notebooks/04-statistical-comparison.ipynb, full profile (${design}).*\n\n` + markdownTable(
    ["model", "CTCVR cross-entropy", "vs IP ± s.e. of the difference", "p", "MDE", "power at 1 %", `better than (p < ${alpha})`, "better than (Holm)", "across worlds ± s.e. (p)"],
    s.models.map((m) => {
      const base = m.model === s.baseline;
      const a = acrossOf(m.model);
      return [
        m.model,
        formatNumber(m.mean, 4),
        base ? `0 (own s.e. ${m.ownSePercent.toFixed(2)})` : formatPercent(m.percentVsBaseline, m.percentVsBaselineSe),
        base ? "" : formatP(m.vsBaseline?.p ?? NaN),
        base ? "" : `${(m.vsBaseline?.mde ?? NaN).toFixed(2)} %`,
        base ? "" : (m.vsBaseline?.powerAtOnePercent ?? NaN).toFixed(2),
        m.betterThan.join(", ") || "-",
        m.betterThanHolm.join(", ") || "-",
        base || !a?.vsBaseline ? "" : `${formatPercent(a.percentVsBaseline, a.percentVsBaselineSe)} (${formatP(a.vsBaseline.p)})`,
      ];
    }),
  );
}

/**
 * The findings on these worlds beside the same findings across them (`acrossFindings`, matched by id; blank where
 * absent), each verdict with the p that decided it; `replicates` names the worlds. Preceded by a line naming the
 * notebook, the design, alpha and the equivalence margin (% of IP's mean).
 */
export function findingsComparisonMarkdown(
  findings: readonly FindingLike[],
  acrossFindings: readonly FindingLike[],
  options: { replicates: number; alpha: number; margin: number; design: string },
): string {
  const { replicates, alpha, margin, design } = options;
  return `*Generated by notebooks/04-statistical-comparison.ipynb, full profile (${design}; α = ${alpha}, margin ±${margin} %).*\n\n` + markdownTable(
    ["finding", `on these ${replicates} worlds`, "p", `across worlds (t over ${replicates} worlds)`, "p"],
    findings.map((f) => {
      const a = acrossFindings.find((x) => x.id === f.id);
      return [`\`${f.id}\``, f.verdict, decidingP(f), a?.verdict ?? "", a ? decidingP(a) : ""];
    }),
  );
}
