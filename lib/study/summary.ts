/**
 * Summaries of a finished study (many runs: variants x data replicates x models x seeds), as in the
 * paper's result tables. Pure functions: result records in, plain objects out; deterministic (models in
 * the order given by `models`, then in order of first appearance).
 *
 * - summarizeStudy(results, options): one metric ("space.metric", default "ctcvr.logLoss") on one split
 *   ("test" or "later:<i>") of one variant. Per model: n, mean, sd, and the mean's standard error at the
 *   design's unit (lib/study/compare.ts modelMeanEstimate: over seeds with one data replicate, over
 *   replicate means with several); the paper's normalisation, the percent by which the model is better
 *   than the baseline (IP) (lib/stats percentBetter, positive = better), WITH THE STANDARD ERROR OF THE
 *   DIFFERENCE (both models' noise; paired by seed, or at the replicate level: compare.ts), its design,
 *   df, p, the minimum detectable effect (alpha, power 0.8) and the power at a 1 % effect; the baseline's
 *   own standard error in percent of its mean (Figure 3's error bar on IP); the split's conversion count;
 *   for logLoss the mean gap to the oracle's cross-entropy on the same rows; the parameter count. Every
 *   ordered pair of models is compared the same way (paired / cluster / Welch), with two "better than"
 *   columns: at raw p < alpha (as in the paper) and at Holm-adjusted p < alpha (Holm over all k(k-1)/2
 *   pairs of the table).
 * - temporalShift(results, options): the same normalisation on the test day and on every later day
 *   (models scored without retraining): per model and split, the percent vs IP on that day with its se.
 * - calibrationSummary(results, options): per model the mean calibration ratio (sum p / sum y) and the
 *   reliability curve pooled over the model's runs.
 * - summarizeByVariant(results, options): summarizeStudy for each variant (sensitivity studies), in
 *   order of first appearance, keyed by variant name.
 *
 * Records: one per finished run, as the study runner writes them (JSON Lines). Only the fields of
 * `StudyResult` are read. A record without `variant` belongs to variant "default"; its data replicate is
 * (config.data.simulatorSeed, config.data.prepareSeed), (0, 0) when the record has no config; real data
 * (config.data.prepared, lib/study/real-data.ts) is its prepared folder, draw = its preparation seed: one replicate.
 * Records know their data (lib/study/data-identity.ts): the records of one variant must share one data design
 * (config.data without its seeds), else the summary is refused (MixedDataError, naming the designs and what
 * they differ in) unless `data` picks one. When the same (variant, replicate, model, seed) appears more than
 * once (a rerun after a code change appends a new record), the one that finished LAST is kept (ties and
 * records without finishedAt: the later in file order), `duplicatesDropped` counts the others and a note says
 * how many were on other data or from other code. The kept runs of one comparison cell (variant, replicate)
 * must have read one data set (data manifest), else the summary is refused: pairing them by seed would
 * compare different data. Metrics stored as null (the runner's encoding of NaN) count as undefined. A run whose metric is
 * NaN/missing on the split (e.g. an AUC on a day without conversions, or a missing later day) is left out
 * of that model's values and counted in `undefinedRuns`; runs whose model has no prediction for the metric's
 * space (no pCvr: no CVR metrics) are among them, and one note names all such models at once.
 */
import type { ReliabilityBin } from "../metrics/calibration";
import { EVALUATION_SPACES, SPACE_NAMES, SpaceName } from "../metrics/spaces";
import { MechanismQuantity, MechanismSubset, MetricRef, metricEntry, metricRef, metricValue } from "../analysis/metrics";
import type { StudyResult, StudySplitScore } from "../analysis/record";
import { Summary, holm, percentBetter, summarize } from "../stats";
import { formatNumber } from "../format";
import { ComparisonUnit, ContrastEstimate, DesignKind, DesignRun, differenceEstimate, modelMeanEstimate } from "./compare";
import { DataReplicate, dataReplicateOf, replicateCell, replicateText } from "./data-source";
import { MixedDataError, dataSetLabel, dataSetOf, groupByData, mixedDataText, selectData } from "./data-identity";

// ---------------------------------------------------------------------------------------------------
// Record types: a results-file record as the analysis reads it, derived from the one definition of the record
// (lib/analysis/record.ts StudyRecord: every field optional but model, seed and the test day's CTCVR log loss).

export type { SpaceScoresLike, StudyResult, StudySplitScore } from "../analysis/record";

/**
 * The data replicate of a record (data-source.ts dataReplicateOf): (simulator seed, downsampling seed), (0, 0)
 * when not recorded; real data (`config.data.prepared`) its prepared folder (data key) and the seed the folder
 * was prepared with, so all the runs on one prepared folder are one replicate, and it is no world. A tuning
 * repeat of the fair protocol adds `repeat`.
 */
export function replicateOf(r: StudyResult): DataReplicate & { repeat?: number } {
  const out: DataReplicate & { repeat?: number } = dataReplicateOf(r.config?.data);
  // a tuning repeat of the fair protocol (lib/tune/protocol.ts): its runs are a cell of their own, crossed with the worlds
  if (r.factor === REPEAT_FACTOR && r.level !== undefined) out.repeat = Number(r.level);
  return out;
}

/** The factor of the fair protocol's evaluation variants: level r = tuning repeat r (lib/tune/protocol.ts). */
export const REPEAT_FACTOR = "repeat";

// ---------------------------------------------------------------------------------------------------
// Metric and split names: metrics are the registry's (lib/analysis/metrics.ts).

export type { SpaceName };
export type { MechanismQuantity, MechanismSubset, MetricRef };
/** The evaluation spaces a record scores (lib/metrics/spaces.ts SPACE_NAMES). */
export const STUDY_SPACES: readonly SpaceName[] = SPACE_NAMES;

/**
 * "space.metric" or "mechanism.<name>" with its better direction: lib/analysis/metrics.ts metricRef (kept under
 * this name for the CLI and notebooks). Throws one line on an unknown name (listing the known ones) or a metric
 * without a better direction.
 */
export const parseMetric = metricRef;

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

// ---------------------------------------------------------------------------------------------------
// Run selection.

export interface SelectOptions {
  /** Variant to summarise; required when the results hold more than one. */
  variant?: string;
  /** Model order (models not listed follow in order of first appearance). */
  models?: string[];
  /**
   * The data to summarise: a data design id, data cache key or manifest sha256 (a prefix of 4 or more
   * characters; data-identity.ts selectData). Needed when the variant's records were computed on several.
   */
  data?: string;
}

interface Selection {
  variant: string;
  factor?: string;
  level?: string | number;
  runs: StudyResult[];
  models: string[];
  duplicatesDropped: number;
  /** The note on superseded records (supersededText), undefined when none. */
  superseded?: string;
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
  let inVariant = results.filter((r) => variantOf(r) === variant);
  if (options.data !== undefined) inVariant = selectData(inVariant, options.data);
  const designs = groupByData(inVariant);
  if (designs.length > 1) {
    throw new MixedDataError(`the runs of variant "${variant}" were computed on ${mixedDataText(designs)}: choose one`, designs.map((g) => g.id));
  }
  // One record per (data replicate, model, seed): the one that finished last (a rerun after a code change
  // supersedes the older record; records without finishedAt count as oldest, then file order decides).
  const byKey = new Map<string, StudyResult>();
  const dropped: { old: StudyResult; key: string }[] = [];
  for (const r of inVariant) {
    const rep = replicateOf(r);
    const key = `${replicateCell(rep)}\u0000${rep.repeat ?? ""}\u0000${r.model}\u0000${r.seed}`;
    const held = byKey.get(key);
    if (!held || (r.finishedAt ?? "") >= (held.finishedAt ?? "")) {
      byKey.set(key, r);
      if (held) dropped.push({ old: held, key });
    } else dropped.push({ old: r, key });
  }
  const runs = [...byKey.values()];
  const superseded = supersededText(dropped.map(({ old, key }) => ({ old, kept: byKey.get(key)! })));
  // Every kept run of one comparison cell (data replicate) read the same data set, or seeds pair across data.
  const cells = new Map<string, Map<string, StudyResult[]>>();
  for (const r of runs) {
    const cell = replicateText(replicateOf(r));
    let sets = cells.get(cell);
    if (!sets) cells.set(cell, (sets = new Map()));
    const set = dataSetOf(r);
    if (!sets.has(set)) sets.set(set, []);
    sets.get(set)!.push(r);
  }
  for (const [cell, sets] of cells) {
    if (sets.size < 2) continue;
    const named = [...sets.values()].map((rs) => `${dataSetLabel(rs[0])} (${rs.length} run(s): ${[...new Set(rs.map((r) => r.model))].join(", ")})`);
    throw new MixedDataError(
      `variant "${variant}", ${cell}: the kept runs read ${sets.size} different data sets, ${named.join(" and ")}: comparing them would pair seeds across data; choose one`,
      [...sets.values()].map((rs) => dataSetLabel(rs[0])),
    );
  }
  const appearance = [...new Set(inVariant.map((r) => r.model))];
  const listed = (options.models ?? []).filter((m) => appearance.includes(m));
  const models = [...listed, ...appearance.filter((m) => !listed.includes(m))];
  const first = inVariant[0];
  return { variant, factor: first?.factor, level: first?.level, runs, models, duplicatesDropped: inVariant.length - runs.length, superseded };
}

/**
 * The note on superseded records: how many, and of those how many were on other data (data set old -> kept)
 * or from other code (code version old -> kept); undefined when none.
 */
function supersededText(pairs: { old: StudyResult; kept: StudyResult }[]): string | undefined {
  if (pairs.length === 0) return undefined;
  const short = (s: string | undefined) => (s ?? "unrecorded").slice(0, 12);
  const changes = (label: string, of: (r: StudyResult) => string | undefined) => {
    const moved = pairs.filter((p) => of(p.old) !== of(p.kept));
    if (moved.length === 0) return [];
    const ways = [...new Set(moved.map((p) => `${short(of(p.old))} -> ${short(of(p.kept))}`))];
    return [`${moved.length} on other ${label} (${ways.slice(0, 2).join(", ")}${ways.length > 2 ? ", ..." : ""})`];
  };
  const parts = [...changes("data", (r) => (dataSetOf(r).startsWith("config:") ? undefined : dataSetLabel(r))), ...changes("code", (r) => r.codeVersion)];
  return `${pairs.length} older record(s) of the same variant, data replicate, model and seed superseded (the last to finish kept)${parts.length > 0 ? `: ${parts.join(", ")}` : ""}`;
}

// ---------------------------------------------------------------------------------------------------
// summarizeStudy

export interface SummaryOptions extends SelectOptions {
  /** Baseline of the normalisation (default "IP"). */
  baseline?: string;
  /** "space.metric" (default "ctcvr.logLoss"). */
  metric?: string;
  /** Overrides the registry's direction (lib/analysis/metrics.ts), e.g. to compare a calibration ratio one way. */
  higherIsBetter?: boolean;
  /** Significance level of the "better than" columns (default 0.01, as in the paper). */
  alpha?: number;
  /** "test" (default) or "later:<i>". */
  split?: string;
  /** MDE and power numbers (default true; false skips their noncentral-t computations, e.g. in Monte Carlo tests). */
  powerAnalysis?: boolean;
  /** "seed" (default: these data sets, paired by seed) or "replicate" (across worlds): lib/study/compare.ts. */
  unit?: ComparisonUnit;
}

export interface ModelSummary extends Summary {
  model: string;
  /** Seeds and values of the runs with a defined metric, in record order (replicates in `runs`). */
  seeds: number[];
  values: number[];
  /** Data replicates (world, draw) the model's runs come from. */
  replicates: number;
  /** Runs of this model whose metric is NaN or whose split is missing. */
  undefinedRuns: number;
  /** Percent by which the model is better than the baseline (positive = better; 0 for the baseline). */
  percentVsBaseline: number;
  /** Standard error of that difference (both models' noise, at the comparison's unit); NaN for the baseline. */
  percentVsBaselineSe: number;
  /** The comparison with the baseline: design, df, p, MDE, power at 1 % (undefined for the baseline itself). */
  vsBaseline?: ContrastEstimate;
  /** The model's own se in percent of the baseline's mean (Figure 3's error bar on the baseline). */
  ownSePercent: number;
  /** Conversions on the split (of the model's first run), min / max over its runs, and whether they differ. */
  conversions?: number;
  conversionsRange?: [number, number];
  conversionsDiffer: boolean;
  /** logLoss only: mean over runs of (model's cross-entropy - oracle's cross-entropy) on the same rows. */
  oracleGap?: number;
  /** Trainable parameters (of the first run), their range over runs, and whether runs on the same data replicate disagree. */
  parameters?: number;
  parametersRange?: [number, number];
  parametersDiffer: boolean;
  /** Models this one is better than at raw p < alpha (as in the paper), by the design's test. */
  betterThan: string[];
  /** The same with Holm-adjusted p < alpha. */
  betterThanHolm: string[];
}

/** One ordered pair of models, compared at the design's unit (compare.ts), with raw and Holm verdicts. */
export interface StudyComparison {
  a: string;
  b: string;
  meanA: number;
  meanB: number;
  /** Percent by which a is better than b, in percent of the baseline's mean, with its se, df and design. */
  estimate: number;
  se: number;
  design: DesignKind;
  /** t of the difference (positive when a is better), its df and two-sided p. */
  t: number;
  df: number;
  p: number;
  /** Holm-adjusted p over all unordered pairs of the table. */
  pHolm: number;
  /** a is better and p < alpha; the same with pHolm. */
  aBetter: boolean;
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
  /** Whether MDE and power numbers were computed (SummaryOptions.powerAnalysis). */
  powerAnalysis: boolean;
  /** The comparison unit (SummaryOptions.unit). */
  unit: ComparisonUnit;
  models: ModelSummary[];
  /** Every ordered pair of models that can be compared. */
  comparisons: StudyComparison[];
  /** Every defined run's value with its place in the design (what comparisons and findings are computed from). */
  runs: DesignRun[];
  /** Data replicates (world, draw) in the summary, and seeds per replicate (min, max over models). */
  replicates: number;
  seedsPerReplicate: [number, number];
  /** Conversions on the split over all runs. */
  conversions?: { min: number; max: number; differ: boolean };
  /** Runs summarised (after dropping duplicates) and duplicate records dropped. */
  runCount: number;
  duplicatesDropped: number;
  /** Things a reader should know (missing baseline, models without tests, ...). */
  notes: string[];
}

function range(xs: number[]): [number, number] | undefined {
  return xs.length === 0 ? undefined : [Math.min(...xs), Math.max(...xs)];
}

export function summarizeStudy(results: readonly StudyResult[], options: SummaryOptions = {}): StudySummary {
  const ref = parseMetric(options.metric ?? "ctcvr.logLoss", options.higherIsBetter);
  const { split, later } = parseSplit(options.split ?? "test");
  const alpha = options.alpha ?? 0.01;
  if (!(alpha > 0 && alpha < 1)) throw new Error(`alpha must be in (0, 1), got ${alpha}`);
  const baseline = options.baseline ?? "IP";
  const unit = options.unit ?? "seed";
  if (unit !== "seed" && unit !== "replicate" && unit !== "crossed") throw new Error(`unit must be "seed", "replicate" or "crossed", got "${unit}"`);
  const sel = selectRuns(results, options);
  const notes: string[] = [];
  if (sel.superseded) notes.push(sel.superseded);

  let days: number[] = [];
  const allConversions: number[] = [];
  const design: DesignRun[] = [];
  // Runs whose model has no prediction for the metric's space (no pCvr: no CVR metrics), per model: one note for all.
  const absentRuns = new Map<string, number>();
  const perModel = sel.models.map((model) => {
    const runs = sel.runs.filter((r) => r.model === model);
    const seeds: number[] = [];
    const values: number[] = [];
    const gaps: number[] = [];
    const conversions: number[] = [];
    const parameters: number[] = [];
    const parametersByReplicate = new Map<string, number>();
    let parametersVary = false;
    let undefinedRuns = 0;
    for (const r of runs) {
      const s = splitOf(r, later);
      if (s && days.length === 0 && s.days) days = [...s.days];
      if (s && typeof s.conversions === "number") conversions.push(s.conversions);
      const total = r.training?.parameters?.total;
      if (typeof total === "number") parameters.push(total);
      if (typeof total === "number") {
        // Vocabularies, and so embedding tables, differ between simulated worlds: compare counts within a replicate.
        const key = replicateCell(replicateOf(r));
        const seen = parametersByReplicate.get(key);
        if (seen === undefined) parametersByReplicate.set(key, total);
        else if (seen !== total) parametersVary = true;
      }
      const v = metricValue(s, ref.metric);
      if (!Number.isFinite(v)) {
        undefinedRuns++;
        if (s && s.metrics?.[ref.space] === undefined) absentRuns.set(model, (absentRuns.get(model) ?? 0) + 1);
        continue;
      }
      seeds.push(r.seed);
      values.push(v);
      const folds = ref.metric === "ctcvr.logLoss" && later === undefined ? s?.ctcvrFolds : undefined;
      design.push({ model, seed: r.seed, ...replicateOf(r), value: v, data: dataSetOf(r), ...(folds ? { folds } : {}) });
      const oracle = s?.oracle?.[ref.space];
      if (ref.name === "logLoss" && typeof oracle === "number") gaps.push(v - oracle);
    }
    allConversions.push(...conversions);
    const convRange = range(conversions);
    const paramRange = range(parameters);
    const own = modelMeanEstimate(design, model, unit);
    return {
      model,
      n: own.n,
      mean: own.estimate,
      sd: own.sd,
      se: own.se,
      ci95: own.ci95,
      seeds,
      values,
      replicates: new Set(design.filter((d) => d.model === model).map(replicateCell)).size,
      undefinedRuns,
      percentVsBaseline: NaN,
      percentVsBaselineSe: NaN,
      vsBaseline: undefined as ContrastEstimate | undefined,
      ownSePercent: NaN,
      conversions: conversions[0],
      conversionsRange: convRange,
      conversionsDiffer: convRange !== undefined && convRange[0] !== convRange[1],
      // The gap is reported only when every defined run has an oracle.
      oracleGap: gaps.length > 0 && gaps.length === values.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : undefined,
      parameters: parameters[0],
      parametersDiffer: parametersVary,
      parametersRange: paramRange,
      betterThan: [] as string[],
      betterThanHolm: [] as string[],
    } satisfies ModelSummary;
  });

  const powerAnalysis = options.powerAnalysis !== false;
  const compareOptions = { higherIsBetter: ref.higherIsBetter, baseline, alpha, powerAnalysis, unit };
  const base = perModel.find((m) => m.model === baseline);
  const baselineMean = base?.mean ?? NaN;
  if (!base) notes.push(`baseline ${baseline} has no runs: no percent changes`);
  else if (base.n === 0) notes.push(`baseline ${baseline} has no defined ${ref.metric}: no percent changes`);
  for (const m of perModel) {
    m.ownSePercent = Math.abs(percentOfSe(m.se, baselineMean));
    if (m.model === baseline) {
      m.percentVsBaseline = base && base.n > 0 ? 0 : NaN;
    } else if (base && base.n > 0 && m.n > 0) {
      const c = differenceEstimate(design, m.model, baseline, compareOptions);
      m.vsBaseline = c;
      m.percentVsBaseline = c.estimate;
      m.percentVsBaselineSe = c.se;
    }
    const undefinedHere = m.undefinedRuns - (absentRuns.get(m.model) ?? 0);
    if (undefinedHere > 0) notes.push(`${m.model}: ${undefinedHere} run(s) without a defined ${ref.metric} on ${split}`);
    if (m.parametersDiffer) notes.push(`${m.model}: parameter counts differ across runs on the same data`);
  }

  // Every unordered pair compared at the design's unit; Holm over the pairs of this table.
  const testable = base && base.n > 0 ? perModel.filter((m) => m.n >= 2) : [];
  if (absentRuns.size > 0) {
    const runs = (m: ModelSummary) => (absentRuns.get(m.model) === m.seeds.length + m.undefinedRuns ? m.model : `${m.model} (${absentRuns.get(m.model)} of ${m.seeds.length + m.undefinedRuns} runs)`);
    notes.push(`without ${EVALUATION_SPACES[ref.space].prediction}, so no ${ref.space.toUpperCase()} metrics: ${perModel.filter((m) => absentRuns.has(m.model)).map(runs).join(", ")}`);
  }
  // A model with no run holding the space's prediction is named by the note above, not again here.
  const untested = perModel.filter((m) => !testable.includes(m) && absentRuns.get(m.model) !== m.seeds.length + m.undefinedRuns).map((m) => m.model);
  if (untested.length > 0) notes.push(`no tests for ${untested.join(", ")} (fewer than 2 defined runs, or no ${baseline} to scale by)`);
  const pairs: { i: number; j: number; c: ContrastEstimate }[] = [];
  for (let i = 0; i < testable.length; i++) {
    for (let j = i + 1; j < testable.length; j++) pairs.push({ i, j, c: differenceEstimate(design, testable[i].model, testable[j].model, { ...compareOptions, powerAnalysis: false }) });
  }
  const adjusted = holm(pairs.map((q) => (Number.isNaN(q.c.p) ? NaN : q.c.p)));
  const comparisons: StudyComparison[] = [];
  pairs.forEach(({ i, j, c }, k) => {
    for (const [x, y, flip] of [[i, j, 1], [j, i, -1]] as const) {
      const a = testable[x];
      const b = testable[y];
      const estimate = flip * c.estimate;
      const aBetter = estimate > 0 && c.p < alpha;
      const aBetterHolm = estimate > 0 && adjusted[k] < alpha;
      comparisons.push({ a: a.model, b: b.model, meanA: a.mean, meanB: b.mean, estimate, se: c.se, design: c.design, t: flip * c.t, df: c.df, p: c.p, pHolm: adjusted[k], aBetter, aBetterHolm });
      if (aBetter) a.betterThan.push(b.model);
      if (aBetterHolm) a.betterThanHolm.push(b.model);
    }
  });
  // betterThan in model order
  for (const m of testable) {
    const order = (xs: string[]) => sel.models.filter((name) => xs.includes(name));
    m.betterThan = order(m.betterThan);
    m.betterThanHolm = order(m.betterThanHolm);
  }
  comparisons.sort((p, q) => sel.models.indexOf(p.a) - sel.models.indexOf(q.a) || sel.models.indexOf(p.b) - sel.models.indexOf(q.b));

  const convRange = range(allConversions);
  const replicateKeys = new Set(design.map(replicateCell));
  if (convRange && convRange[0] !== convRange[1] && replicateKeys.size <= 1) {
    notes.push(`conversions on ${split} differ across runs (${convRange[0]}-${convRange[1]}): runs were scored on different data`);
  }
  const seedCounts = perModel.filter((m) => m.n > 0).map((m) => m.n / Math.max(1, m.replicates));
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
    powerAnalysis,
    unit,
    models: perModel,
    comparisons,
    runs: design,
    replicates: replicateKeys.size,
    seedsPerReplicate: seedCounts.length > 0 ? [Math.min(...seedCounts), Math.max(...seedCounts)] : [0, 0],
    conversions: convRange && { min: convRange[0], max: convRange[1], differ: convRange[0] !== convRange[1] },
    runCount: sel.runs.length,
    duplicatesDropped: sel.duplicatesDropped,
    notes,
  };
}

/** A standard error in percent of the baseline's mean (sign dropped). */
function percentOfSe(se: number, baselineMean: number): number {
  return percentBetter(baselineMean + se, baselineMean, true);
}

/** The summary of `model`, or undefined. */
export function modelSummary(summary: StudySummary, model: string): ModelSummary | undefined {
  return summary.models.find((m) => m.model === model);
}

/** The comparison of a vs b, or undefined when either cannot be tested. */
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
// How a comparison was tested, in words (the findings' evidence and the tables quote it).

const DESIGN_WORDS: Record<DesignKind, string> = {
  cluster: "one value per data replicate: across worlds",
  "paired-folds": "paired by seed, each seed on its own share of the test day",
  paired: "paired by seed, whole test day",
  welch: "Welch, unpaired",
  crossed: "tuning repeats crossed with worlds, both random: the error holds the selection's and the worlds' variance",
};

/** How a comparison was tested, in words, e.g. "paired t over 30 seeds in 10 data replicates (paired by seed, ..., df 20)". */
export function designText(c: Pick<ContrastEstimate, "design" | "units" | "df" | "replicates">): string {
  const where = c.replicates > 1 ? ` in ${c.replicates} data replicates` : "";
  const what =
    c.design === "cluster"
      ? `t over ${c.units} data replicates`
      : c.design === "crossed"
        ? `t over ${c.units} (repeat, world) cells, two-way random effects, Satterthwaite df`
        : c.design === "welch"
          ? `Welch t over ${c.units} runs`
          : `paired t over ${c.units} seeds${where}`;
  return `${what} (${DESIGN_WORDS[c.design]}; df ${formatNumber(c.df, 3)})`;
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
  // means, standard errors and percentages only: no MDE or power (the noncentral t is most of a summary's time)
  const summaries = splits.map((split) => summarizeStudy(sel.runs, { ...options, powerAnalysis: false, variant: sel.variant, models: sel.models, split }));
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
  const ratio = metricEntry(`${space}.calibrationRatio`);
  return {
    variant: sel.variant,
    split,
    space,
    models: sel.models.map((model) => {
      const runs = sel.runs.filter((r) => r.model === model);
      const ratios = runs.map((r) => metricValue(splitOf(r, later), ratio)).filter((v) => Number.isFinite(v));
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
