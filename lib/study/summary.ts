/**
 * Summaries of a finished study (many runs: variants x models x seeds), as in the paper's result tables.
 * Pure functions: result records in, plain objects out; deterministic (models in the order given by
 * `models`, then in order of first appearance).
 *
 * - summarizeStudy(results, options): one metric ("space.metric", default "ctcvr.logLoss") on one split
 *   ("test" or "later:<i>") of one variant. Per model: n, mean, sd, se, t-based 95% CI (lib/stats
 *   summarize); the paper's normalisation, the percent change of the model's mean relative to the
 *   baseline's (IP) mean, positive = better:
 *       lower-is-better metrics (logLoss, normalizedEntropy, ece):  100 * (baseMean - mean) / baseMean
 *       higher-is-better metrics (rocAuc, prAuc):                   100 * (mean - baseMean) / baseMean
 *   with se of the percent = 100 * se / |baseMean| (the baseline mean taken as a fixed scale); the
 *   split's conversion count (and whether it differs across runs); for logLoss, the mean gap to the
 *   oracle's cross-entropy on the same rows; the parameter count. Pairwise Welch t tests between the
 *   models with at least 2 defined values (lib/stats pairwiseComparisons), and two "better than"
 *   columns: at raw p < alpha (as in the paper) and at Holm-adjusted p < alpha (Holm over all
 *   k(k-1)/2 pairs of the table).
 * - temporalShift(results, options): the same normalisation on the test day and on every later day
 *   (models scored without retraining): per model and split, the percent change vs IP on that day.
 * - calibrationSummary(results, options): per model the mean calibration ratio (sum p / sum y) and the
 *   reliability curve pooled over the model's runs.
 * - summarizeByVariant(results, options): summarizeStudy for each variant (sensitivity studies), in
 *   order of first appearance, keyed by variant name.
 *
 * Records: one per finished run, as the study runner writes them (JSON Lines). Only the fields of
 * `StudyResult` are read. A record without `variant` belongs to variant "default". When the same
 * (variant, model, seed) appears more than once, the FIRST record in file order is kept (as the study
 * runner's readResults keeps the first record of each key) and `duplicatesDropped` counts the others.
 * Metrics stored as null (the runner's encoding of NaN) count as undefined. A run whose metric is NaN/missing on the split (e.g. an AUC
 * on a day without conversions, or a missing later day) is left out of that model's values and counted
 * in `undefinedRuns`.
 */
import type { ReliabilityBin } from "../metrics/calibration";
import type { SpaceName } from "../metrics/spaces";
import { PairwiseComparison, Summary, pairwiseComparisons, percentChangeVsBaseline, summarize } from "../stats";

// ---------------------------------------------------------------------------------------------------
// Record types: the minimal structure read from the study runner's JSONL records (RunRecord fits).

/** The metrics of one evaluation space (lib/metrics SpaceMetrics fits). */
export interface SpaceScoresLike {
  logLoss: number;
  normalizedEntropy?: number;
  rocAuc?: number;
  prAuc?: number;
  calibrationRatio?: number;
  ece?: number;
}

/** One scored split (lib/study/run SplitScore fits). */
export interface StudySplitScore {
  split?: string;
  days?: number[];
  rows?: number;
  conversions?: number;
  metrics: { ctcvr: SpaceScoresLike; cvr?: SpaceScoresLike; ctr?: SpaceScoresLike };
  /** Cross-entropies of the true probabilities on the same rows (simulated data). */
  oracle?: { ctcvr: number; ctr: number; cvr: number };
}

/** One finished run of a study. */
export interface StudyResult {
  model: string;
  seed: number;
  /** Missing = "default" (the default study's single variant). */
  variant?: string;
  factor?: string;
  level?: string | number;
  test: StudySplitScore;
  later?: StudySplitScore[];
  training?: { parameters?: { total: number } };
  /** Reliability curve of the run (as recorded by the runner: test day, CTCVR space). */
  reliability?: ReliabilityBin[];
}

// ---------------------------------------------------------------------------------------------------
// Metric and split names.

export type { SpaceName };
export const STUDY_SPACES: readonly SpaceName[] = ["ctcvr", "cvr", "ctr"];

/** Which way is better, per metric name. calibrationRatio has no direction (1 is ideal): see calibrationSummary. */
export const METRIC_DIRECTIONS: Readonly<Record<string, "lower" | "higher">> = {
  logLoss: "lower",
  normalizedEntropy: "lower",
  ece: "lower",
  rocAuc: "higher",
  prAuc: "higher",
};

const METRIC_LABELS: Record<string, string> = {
  logLoss: "cross-entropy",
  normalizedEntropy: "normalized entropy",
  ece: "ECE",
  rocAuc: "ROC-AUC",
  prAuc: "PR-AUC",
  calibrationRatio: "calibration ratio",
};

export interface MetricRef {
  /** "ctcvr.logLoss" */
  metric: string;
  space: SpaceName;
  name: string;
  higherIsBetter: boolean;
  /** "CTCVR cross-entropy" */
  label: string;
}

/** Parses "space.metric"; throws on an unknown space or a metric without a better direction. */
export function parseMetric(metric: string, higherIsBetter?: boolean): MetricRef {
  const dot = metric.indexOf(".");
  const space = metric.slice(0, dot) as SpaceName;
  const name = metric.slice(dot + 1);
  if (dot < 0 || !STUDY_SPACES.includes(space) || name === "") {
    throw new Error(`metric must be "space.metric" with space ${STUDY_SPACES.join(", ")}, e.g. "ctcvr.logLoss"; got "${metric}"`);
  }
  let higher = higherIsBetter;
  if (higher === undefined) {
    const dir = METRIC_DIRECTIONS[name];
    if (dir === undefined) {
      throw new Error(
        name === "calibrationRatio"
          ? `metric "${metric}" has no better direction (1 is ideal): use calibrationSummary`
          : `unknown metric "${name}" (metrics: ${Object.keys(METRIC_DIRECTIONS).join(", ")})`,
      );
    }
    higher = dir === "higher";
  }
  return { metric, space, name, higherIsBetter: higher, label: `${space.toUpperCase()} ${METRIC_LABELS[name] ?? name}` };
}

/** "test" -> the test split; "later:<i>" -> the i-th later day (0-based). */
export function parseSplit(split: string): { split: string; later?: number } {
  if (split === "test") return { split };
  const m = /^later:(\d+)$/.exec(split);
  if (!m) throw new Error(`split must be "test" or "later:<i>" (i = 0, 1, ...), got "${split}"`);
  return { split, later: Number(m[1]) };
}

function splitOf(r: StudyResult, later: number | undefined): StudySplitScore | undefined {
  return later === undefined ? r.test : r.later?.[later];
}

function metricOf(score: StudySplitScore | undefined, ref: MetricRef): number {
  const space = score?.metrics?.[ref.space] as unknown as Record<string, unknown> | undefined;
  const v = space?.[ref.name];
  return typeof v === "number" ? v : NaN;
}

// ---------------------------------------------------------------------------------------------------
// Run selection.

export interface SelectOptions {
  /** Variant to summarise; required when the results hold more than one. */
  variant?: string;
  /** Model order (models not listed follow in order of first appearance). */
  models?: string[];
}

interface Selection {
  variant: string;
  factor?: string;
  level?: string | number;
  runs: StudyResult[];
  models: string[];
  duplicatesDropped: number;
}

const variantOf = (r: StudyResult) => r.variant ?? "default";

/** Distinct variants in order of first appearance. */
export function studyVariants(results: readonly StudyResult[]): string[] {
  return [...new Set(results.map(variantOf))];
}

function selectRuns(results: readonly StudyResult[], options: SelectOptions): Selection {
  const variants = studyVariants(results);
  let variant = options.variant;
  if (variant === undefined) {
    if (variants.length > 1) throw new Error(`the results hold ${variants.length} variants (${variants.join(", ")}): choose one`);
    variant = variants[0] ?? "default";
  } else if (!variants.includes(variant)) {
    throw new Error(`no results for variant "${variant}" (variants: ${variants.join(", ") || "none"})`);
  }
  const inVariant = results.filter((r) => variantOf(r) === variant);
  // The first record per (model, seed) is kept.
  const byKey = new Map<string, StudyResult>();
  for (const r of inVariant) {
    const key = `${r.model}\u0000${r.seed}`;
    if (!byKey.has(key)) byKey.set(key, r);
  }
  const runs = [...byKey.values()];
  const appearance = [...new Set(inVariant.map((r) => r.model))];
  const listed = (options.models ?? []).filter((m) => appearance.includes(m));
  const models = [...listed, ...appearance.filter((m) => !listed.includes(m))];
  const first = inVariant[0];
  return { variant, factor: first?.factor, level: first?.level, runs, models, duplicatesDropped: inVariant.length - runs.length };
}

// ---------------------------------------------------------------------------------------------------
// summarizeStudy

export interface SummaryOptions extends SelectOptions {
  /** Baseline of the normalisation (default "IP"). */
  baseline?: string;
  /** "space.metric" (default "ctcvr.logLoss"). */
  metric?: string;
  /** Direction override for metrics not in METRIC_DIRECTIONS. */
  higherIsBetter?: boolean;
  /** Significance level of the "better than" columns (default 0.01, as in the paper). */
  alpha?: number;
  /** "test" (default) or "later:<i>". */
  split?: string;
}

export interface ModelSummary extends Summary {
  model: string;
  /** Seeds and values of the runs with a defined metric, in record order. */
  seeds: number[];
  values: number[];
  /** Runs of this model whose metric is NaN or whose split is missing. */
  undefinedRuns: number;
  /** Percent change of the mean vs the baseline's mean, positive = better (NaN without a baseline). */
  percentVsBaseline: number;
  /** 100 * se / |baseline mean|. */
  percentVsBaselineSe: number;
  /** Conversions on the split (of the model's first run), min / max over its runs, and whether they differ. */
  conversions?: number;
  conversionsRange?: [number, number];
  conversionsDiffer: boolean;
  /** logLoss only: mean over runs of (model's cross-entropy - oracle's cross-entropy) on the same rows. */
  oracleGap?: number;
  /** Trainable parameters (of the first run) and whether runs disagree. */
  parameters?: number;
  parametersDiffer: boolean;
  /** Models this one is better than, Welch p < alpha (raw p, as in the paper). */
  betterThan: string[];
  /** The same with Holm-adjusted p < alpha. */
  betterThanHolm: string[];
}

/** A pairwise Welch comparison (raw p decides `aBetter`), with the Holm-adjusted verdict beside it. */
export interface StudyComparison extends PairwiseComparison {
  /** a's mean is better and pHolm < alpha. */
  aBetterHolm: boolean;
}

export interface StudySummary {
  metric: string;
  space: SpaceName;
  metricName: string;
  label: string;
  higherIsBetter: boolean;
  split: string;
  /** Days of the split (from the first run that has it). */
  days: number[];
  variant: string;
  factor?: string;
  level?: string | number;
  baseline: string;
  /** The baseline's mean (NaN when the baseline has no defined value). */
  baselineMean: number;
  alpha: number;
  models: ModelSummary[];
  /** Every ordered pair of models that have >= 2 defined values. */
  comparisons: StudyComparison[];
  /** Conversions on the split over all runs. */
  conversions?: { min: number; max: number; differ: boolean };
  /** Runs summarised (after dropping duplicates) and duplicate records dropped. */
  runs: number;
  duplicatesDropped: number;
  /** Things a reader should know (missing baseline, models without tests, ...). */
  notes: string[];
}

function range(xs: number[]): [number, number] | undefined {
  return xs.length === 0 ? undefined : [Math.min(...xs), Math.max(...xs)];
}

function percentOf(mean: number, baseMean: number, higherIsBetter: boolean): number {
  if (!Number.isFinite(baseMean) || baseMean === 0 || Number.isNaN(mean)) return NaN;
  return higherIsBetter ? (100 * (mean - baseMean)) / baseMean : percentChangeVsBaseline([mean], baseMean)[0];
}

export function summarizeStudy(results: readonly StudyResult[], options: SummaryOptions = {}): StudySummary {
  const ref = parseMetric(options.metric ?? "ctcvr.logLoss", options.higherIsBetter);
  const { split, later } = parseSplit(options.split ?? "test");
  const alpha = options.alpha ?? 0.01;
  if (!(alpha > 0 && alpha < 1)) throw new Error(`alpha must be in (0, 1), got ${alpha}`);
  const baseline = options.baseline ?? "IP";
  const sel = selectRuns(results, options);
  const notes: string[] = [];
  if (sel.duplicatesDropped > 0) notes.push(`${sel.duplicatesDropped} duplicate record(s) of the same model and seed dropped (the first one kept)`);

  let days: number[] = [];
  const allConversions: number[] = [];
  const perModel = sel.models.map((model) => {
    const runs = sel.runs.filter((r) => r.model === model);
    const seeds: number[] = [];
    const values: number[] = [];
    const gaps: number[] = [];
    const conversions: number[] = [];
    const parameters: number[] = [];
    let undefinedRuns = 0;
    for (const r of runs) {
      const s = splitOf(r, later);
      if (s && days.length === 0 && s.days) days = [...s.days];
      if (s && typeof s.conversions === "number") conversions.push(s.conversions);
      const total = r.training?.parameters?.total;
      if (typeof total === "number") parameters.push(total);
      const v = metricOf(s, ref);
      if (!Number.isFinite(v)) {
        undefinedRuns++;
        continue;
      }
      seeds.push(r.seed);
      values.push(v);
      const oracle = s?.oracle?.[ref.space];
      if (ref.name === "logLoss" && typeof oracle === "number") gaps.push(v - oracle);
    }
    allConversions.push(...conversions);
    const convRange = range(conversions);
    const paramRange = range(parameters);
    return {
      model,
      ...summarize(values),
      seeds,
      values,
      undefinedRuns,
      percentVsBaseline: NaN,
      percentVsBaselineSe: NaN,
      conversions: conversions[0],
      conversionsRange: convRange,
      conversionsDiffer: convRange !== undefined && convRange[0] !== convRange[1],
      // The gap is reported only when every defined run has an oracle.
      oracleGap: gaps.length > 0 && gaps.length === values.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : undefined,
      parameters: parameters[0],
      parametersDiffer: paramRange !== undefined && paramRange[0] !== paramRange[1],
      betterThan: [] as string[],
      betterThanHolm: [] as string[],
    } satisfies ModelSummary;
  });

  const base = perModel.find((m) => m.model === baseline);
  const baselineMean = base?.mean ?? NaN;
  if (!base) notes.push(`baseline ${baseline} has no runs: no percent changes`);
  else if (base.n === 0) notes.push(`baseline ${baseline} has no defined ${ref.metric}: no percent changes`);
  for (const m of perModel) {
    m.percentVsBaseline = percentOf(m.mean, baselineMean, ref.higherIsBetter);
    m.percentVsBaselineSe = Number.isFinite(baselineMean) && baselineMean !== 0 ? (100 * m.se) / Math.abs(baselineMean) : NaN;
    if (m.undefinedRuns > 0) notes.push(`${m.model}: ${m.undefinedRuns} run(s) without a defined ${ref.metric} on ${split}`);
    if (m.parametersDiffer) notes.push(`${m.model}: parameter counts differ across runs`);
  }

  // Pairwise Welch tests between models with >= 2 values; Holm over the pairs of this table.
  const testable = perModel.filter((m) => m.n >= 2);
  const untested = perModel.filter((m) => m.n < 2).map((m) => m.model);
  if (untested.length > 0) notes.push(`no t tests for ${untested.join(", ")} (fewer than 2 defined runs)`);
  const comparisons: StudyComparison[] = [];
  if (testable.length >= 2) {
    const groups: Record<string, number[]> = {};
    for (const m of testable) groups[m.model] = m.values;
    const raw = pairwiseComparisons(groups, { alpha, higherIsBetter: ref.higherIsBetter, adjust: "none" });
    const adjusted = pairwiseComparisons(groups, { alpha, higherIsBetter: ref.higherIsBetter, adjust: "holm" });
    raw.comparisons.forEach((c: PairwiseComparison, k) => {
      const h = adjusted.comparisons[k];
      comparisons.push({ ...c, aBetterHolm: h.aBetter });
    });
    for (const m of testable) {
      m.betterThan = raw.betterThan[m.model];
      m.betterThanHolm = adjusted.betterThan[m.model];
    }
  }

  const convRange = range(allConversions);
  if (convRange && convRange[0] !== convRange[1]) {
    notes.push(`conversions on ${split} differ across runs (${convRange[0]}-${convRange[1]}): runs were scored on different data`);
  }
  return {
    metric: ref.metric,
    space: ref.space,
    metricName: ref.name,
    label: ref.label,
    higherIsBetter: ref.higherIsBetter,
    split,
    days,
    variant: sel.variant,
    factor: sel.factor,
    level: sel.level,
    baseline,
    baselineMean,
    alpha,
    models: perModel,
    comparisons,
    conversions: convRange && { min: convRange[0], max: convRange[1], differ: convRange[0] !== convRange[1] },
    runs: sel.runs.length,
    duplicatesDropped: sel.duplicatesDropped,
    notes,
  };
}

/** The summary of `model`, or undefined. */
export function modelSummary(summary: StudySummary, model: string): ModelSummary | undefined {
  return summary.models.find((m) => m.model === model);
}

/** The comparison of a vs b, or undefined when either has fewer than 2 defined values. */
export function comparison(summary: StudySummary, a: string, b: string): StudyComparison | undefined {
  return summary.comparisons.find((c) => c.a === a && c.b === b);
}

/** summarizeStudy for each variant (in order of first appearance), optionally of one factor only. */
export function summarizeByVariant(
  results: readonly StudyResult[],
  options: Omit<SummaryOptions, "variant"> & { factor?: string } = {},
): Map<string, StudySummary> {
  const { factor, ...rest } = options;
  const chosen = factor === undefined ? results : results.filter((r) => r.factor === factor);
  const out = new Map<string, StudySummary>();
  for (const variant of studyVariants(chosen)) out.set(variant, summarizeStudy(chosen, { ...rest, variant }));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Table rows for notebooks and the CLI.

function fmtNum(x: number | undefined, digits = 4): string {
  if (x === undefined || Number.isNaN(x)) return "";
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

function fmtPercent(x: number, se: number): string {
  if (Number.isNaN(x)) return "";
  const sign = x > 0 ? "+" : "";
  return `${sign}${x.toFixed(2)} %` + (Number.isNaN(se) ? "" : ` ± ${se.toFixed(2)}`);
}

/** One plain row per model: formatted strings, ready for tableText / showTable. */
export function summaryRows(summary: StudySummary): Record<string, string | number>[] {
  return summary.models.map((m) => ({
    model: m.model,
    n: m.n,
    mean: fmtNum(m.mean, 4),
    se: fmtNum(m.se, 2),
    [`vs ${summary.baseline}`]: fmtPercent(m.percentVsBaseline, m.percentVsBaselineSe),
    [`better than (p<${summary.alpha})`]: m.betterThan.join(" ") || "-",
    [`better than (Holm)`]: m.betterThanHolm.join(" ") || "-",
    conversions: m.conversionsRange === undefined ? "" : m.conversionsDiffer ? `${m.conversionsRange[0]}-${m.conversionsRange[1]}` : String(m.conversions),
    parameters: m.parameters === undefined ? "" : m.parameters.toLocaleString("en-US") + (m.parametersDiffer ? "*" : ""),
    "gap to oracle": fmtNum(m.oracleGap, 3),
  }));
}

// ---------------------------------------------------------------------------------------------------
// temporalShift

export interface ShiftPoint {
  split: string;
  days: number[];
  n: number;
  mean: number;
  se: number;
  percentVsBaseline: number;
  percentVsBaselineSe: number;
}

export interface TemporalShift {
  metric: string;
  label: string;
  baseline: string;
  variant: string;
  /** "test", then "later:0", "later:1", ... with their days and conversions. */
  splits: { split: string; days: number[]; conversions?: { min: number; max: number; differ: boolean } }[];
  models: { model: string; points: ShiftPoint[] }[];
}

/**
 * Percent change vs the baseline on the test day and on each later day (the baseline's own mean on that
 * day), per model. The number of later days is the largest `later` length over the selected runs.
 */
export function temporalShift(results: readonly StudyResult[], options: Omit<SummaryOptions, "split" | "alpha"> = {}): TemporalShift {
  const sel = selectRuns(results, options);
  const laterDays = Math.max(0, ...sel.runs.map((r) => r.later?.length ?? 0));
  const splits = ["test", ...Array.from({ length: laterDays }, (_, i) => `later:${i}`)];
  const summaries = splits.map((split) => summarizeStudy(sel.runs, { ...options, variant: sel.variant, models: sel.models, split }));
  return {
    metric: summaries[0].metric,
    label: summaries[0].label,
    baseline: summaries[0].baseline,
    variant: sel.variant,
    splits: summaries.map((s) => ({ split: s.split, days: s.days, conversions: s.conversions })),
    models: sel.models.map((model) => ({
      model,
      points: summaries.map((s) => {
        const m = modelSummary(s, model)!;
        return {
          split: s.split,
          days: s.days,
          n: m.n,
          mean: m.mean,
          se: m.se,
          percentVsBaseline: m.percentVsBaseline,
          percentVsBaselineSe: m.percentVsBaselineSe,
        };
      }),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------
// calibrationSummary

export interface CalibrationOptions extends SelectOptions {
  /** "test" (default) or "later:<i>", for the calibration ratio. */
  split?: string;
  /** Space of the calibration ratio (default "ctcvr"). */
  space?: SpaceName;
}

export interface ModelCalibration {
  model: string;
  /** Calibration ratio sum(p)/sum(y) over runs (1 = calibrated, > 1 = over-prediction). */
  calibrationRatio: Summary;
  /**
   * Reliability curve pooled over the model's runs that recorded one: bin k's weight and count are
   * summed over runs, its meanPredicted and observedRate are weight-weighted means over the runs'
   * non-empty bin k (the curve of all runs' predictions put together); lo / hi are the smallest lo and
   * largest hi of bin k. Empty pooled bins have NaN means. Undefined when no run recorded a curve.
   */
  reliability?: ReliabilityBin[];
  /** Runs whose curve was pooled, and whether their bin edges agree (they do for uniform bins). */
  reliabilityRuns: number;
  binEdgesAgree: boolean;
}

export interface CalibrationSummary {
  variant: string;
  split: string;
  space: SpaceName;
  models: ModelCalibration[];
}

function poolReliability(curves: ReliabilityBin[][]): { bins: ReliabilityBin[]; agree: boolean } {
  const k = Math.max(...curves.map((c) => c.length));
  let agree = curves.every((c) => c.length === k);
  const bins: ReliabilityBin[] = [];
  for (let b = 0; b < k; b++) {
    let lo = Infinity;
    let hi = -Infinity;
    let count = 0;
    let weight = 0;
    let pred = 0;
    let obs = 0;
    const edges = new Set<string>();
    for (const c of curves) {
      const bin = c[b];
      if (!bin) continue;
      edges.add(`${bin.lo},${bin.hi}`);
      lo = Math.min(lo, bin.lo);
      hi = Math.max(hi, bin.hi);
      count += bin.count;
      if (bin.weight > 0 && Number.isFinite(bin.meanPredicted) && Number.isFinite(bin.observedRate)) {
        weight += bin.weight;
        pred += bin.weight * bin.meanPredicted;
        obs += bin.weight * bin.observedRate;
      }
    }
    if (edges.size > 1) agree = false;
    bins.push({ lo, hi, count, weight, meanPredicted: weight > 0 ? pred / weight : NaN, observedRate: weight > 0 ? obs / weight : NaN });
  }
  return { bins, agree };
}

export function calibrationSummary(results: readonly StudyResult[], options: CalibrationOptions = {}): CalibrationSummary {
  const sel = selectRuns(results, options);
  const { split, later } = parseSplit(options.split ?? "test");
  const space = options.space ?? "ctcvr";
  if (!STUDY_SPACES.includes(space)) throw new Error(`space must be one of ${STUDY_SPACES.join(", ")}, got "${space}"`);
  const ref: MetricRef = { metric: `${space}.calibrationRatio`, space, name: "calibrationRatio", higherIsBetter: false, label: "" };
  return {
    variant: sel.variant,
    split,
    space,
    models: sel.models.map((model) => {
      const runs = sel.runs.filter((r) => r.model === model);
      const ratios = runs.map((r) => metricOf(splitOf(r, later), ref)).filter((v) => Number.isFinite(v));
      const curves = runs.map((r) => r.reliability).filter((c): c is ReliabilityBin[] => Array.isArray(c) && c.length > 0);
      const pooled = curves.length > 0 ? poolReliability(curves) : undefined;
      return {
        model,
        calibrationRatio: summarize(ratios),
        reliability: pooled?.bins,
        reliabilityRuns: curves.length,
        binEdgesAgree: pooled?.agree ?? true,
      };
    }),
  };
}
