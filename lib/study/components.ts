/**
 * Where the noise of a comparison comes from, and one error bar that covers all of it.
 *
 * A comparison "A vs B" (percent of the baseline's mean, positive = A better) estimated from a study with
 * C data replicates (worlds x downsampling draws) and S model seeds per replicate has, per replicate c, the
 * seed-mean difference D_c = mean_s d_{c,s}. Its variance splits into three parts (a nested random-effects
 * model, d_{c,s} = delta + u_c + r_c + e_{c,s}):
 *
 *   seed       e: initial weights and batch order; sigma2_seed is the within-replicate variance of the
 *              per-seed paired differences (pooled over replicates, df = sum (S_c - 1)); it adds
 *              sigma2_seed / S to var(D_c).
 *   test rows  r: which impressions the test day happens to hold; all seeds of a replicate are scored on
 *              the same rows, so this part does not shrink with seeds. Measured by resampling the test rows
 *              (seeds held fixed) and rescoring every run: sigma2_rows = the bootstrap variance of D_c,
 *              averaged over replicates.
 *   world      u: how much the effect itself differs between simulated worlds and downsampling draws;
 *              estimated as var(D_c) - sigma2_seed / S - sigma2_rows (method of moments, floored at 0),
 *              so it needs C >= 2.
 *
 * With these, the standard error of a design with C' replicates, S' seeds and test days m' times as large
 * is sqrt((sigma2_world + sigma2_seed / S' + sigma2_rows * m / m') / C') (m = the measured design's test
 * size), which is how the default design was chosen (planDesign).
 *
 * studyBootstrap: the one error bar. Each resample b draws, within every data replicate, the seeds with
 * replacement (paired: the same seeds for every model) and the test rows (once per replicate and resample;
 * every run of every model rescored on the same rows), then recomputes each model's percent vs the
 * baseline as the mean over replicates. With unit "replicate" (across worlds) it also draws the replicates
 * with replacement. Seeds and rows are crossed (every seed is scored on every row) and are resampled
 * independently, Owen's (2007) pigeonhole bootstrap, which errs on the large side; so does resampling
 * every level of a nested design (Field & Welsh 2007). Verdicts use the analytic tests of compare.ts; the
 * bootstrap is their check.
 *
 * The rescoring is the per-row log-loss terms' weighted mean over the drawn rows (lib/metrics
 * logLossPerRow: the same terms as logLoss), checked against logLoss in the tests.
 *
 * Row groups (StudyBootstrapOptions.rowGroups = G, the fast path notebook 04 uses): the test rows are resampled
 * as G groups, row i in group i mod G (the records' fold layout, lib/study/run.ts foldScores, with G groups),
 * from sums stored once per group and run (the weighted loss sum and the weight of the group's rows): each
 * resample draws G groups with replacement, with the same random stream as the row bootstrap (G draws instead
 * of n), and scores every run as sum(count_g x lossSum_g) / sum(count_g x weight_g). The groups are sums of
 * n/G rows that are interleaved, so they are exchangeable as the rows are; the interval is the row bootstrap's
 * up to resampling G units instead of n (the percentile interval of a smooth statistic of G >= 1000 units;
 * the variance a factor (G - 1)/G (n - 1)/n of it, < 0.1 %). Cost: one pass over the runs x rows to make the
 * sums, then B x G x runs multiply-adds (the row bootstrap: B x n x runs, ~1,300x more at G = 1,000 on a
 * 1.33M-row test day). With G = n (one row per group) and weight-1 rows it is the row bootstrap exactly, the
 * same numbers bit for bit for the same seed (test/study-bootstrap-groups.test.ts).
 */
import { Rng, deriveSeed } from "../data/random";
import { logLossPerRow } from "../metrics";
import { percentBetter, percentOfBaseline, quantileSorted } from "../stats";
import { mean, sampleVariance } from "../stats/simple-statistics";
import { DataReplicate, replicateCell } from "./data-source";
import { ComparisonUnit, DesignRun, byReplicate, pooledWithin, replicateKey } from "./compare";

// ---------------------------------------------------------------------------------------------------
// Test rows and predictions of a study, per data replicate.

/** One data replicate's test day and the test-day predictions of its runs; the replicate a simulated world and draw, or a prepared folder (data-source.ts DataReplicate). */
export interface ReplicateScores extends DataReplicate {
  /** Labels (click AND conversion for CTCVR), length n. */
  label: ArrayLike<number>;
  /** Row weights (1 on evaluation days), length n; undefined = all 1. */
  weight?: ArrayLike<number>;
  runs: { model: string; seed: number; p: ArrayLike<number> }[];
}

/** Per-row losses of every run of a replicate, laid out row-major [row * runs + run] for resampling. */
interface LossTable {
  key: string;
  n: number;
  weight: Float64Array;
  runs: { model: string; seed: number }[];
  losses: Float64Array;
  /** Seeds present for every model, sorted. */
  seeds: number[];
  models: string[];
}

function lossTable(r: ReplicateScores): LossTable {
  const n = r.label.length;
  const weight = Float64Array.from({ length: n }, (_, i) => (r.weight ? r.weight[i] : 1));
  const R = r.runs.length;
  const losses = new Float64Array(n * R);
  const l = new Float64Array(n); // each run's terms in turn (logLossPerRow's `into`)
  r.runs.forEach((run, k) => {
    if (run.p.length !== n) throw new Error(`replicate ${replicateCell(r)}: ${run.model} seed ${run.seed} has ${run.p.length} predictions for ${n} test rows`);
    logLossPerRow(r.label, run.p, {}, l);
    for (let i = 0; i < n; i++) losses[i * R + k] = l[i];
  });
  const { models, seeds } = runsOf(r);
  return { key: replicateCell(r), n, weight, runs: r.runs.map(({ model, seed }) => ({ model, seed })), losses, seeds, models };
}

/**
 * Per group g of rows (row i in group i mod G) and run k: the weighted sum of the run's log-loss terms,
 * lossSums[g * R + k], and the group's weight, weights[g]; laid out as a LossTable of G "rows" with unit
 * multiplicity (rescore then weights a group's sums by its draw count).
 */
function groupedLossTable(r: ReplicateScores, groups: number): LossTable & { groupWeight: Float64Array } {
  const n = r.label.length;
  const G = groups;
  const R = r.runs.length;
  const groupWeight = new Float64Array(G);
  for (let i = 0; i < n; i++) groupWeight[i % G] += r.weight ? r.weight[i] : 1;
  const losses = new Float64Array(G * R);
  const l = new Float64Array(n); // each run's terms in turn (logLossPerRow's `into`)
  r.runs.forEach((run, k) => {
    if (run.p.length !== n) throw new Error(`replicate ${replicateCell(r)}: ${run.model} seed ${run.seed} has ${run.p.length} predictions for ${n} test rows`);
    logLossPerRow(r.label, run.p, {}, l);
    for (let i = 0; i < n; i++) losses[(i % G) * R + k] += (r.weight ? r.weight[i] : 1) * l[i];
  });
  const { models, seeds } = runsOf(r);
  return { key: replicateCell(r), n: G, weight: new Float64Array(G).fill(1), runs: r.runs.map(({ model, seed }) => ({ model, seed })), losses, seeds, models, groupWeight };
}

/** The models of a replicate's runs and the seeds every model has, sorted. */
function runsOf(r: ReplicateScores): { models: string[]; seeds: number[] } {
  const models = [...new Set(r.runs.map((x) => x.model))];
  const seedSets = models.map((m) => new Set(r.runs.filter((x) => x.model === m).map((x) => x.seed)));
  const seeds = [...seedSets[0]].filter((s) => seedSets.every((set) => set.has(s))).sort((a, b) => a - b);
  return { models, seeds };
}

/**
 * Log loss of every run of a grouped table on groups drawn with multiplicity `counts` (length G, undefined =
 * each once): sum_g c_g lossSums[g, k] / sum_g c_g weight_g.
 */
function rescoreGroups(t: LossTable & { groupWeight: Float64Array }, counts: Int32Array | undefined): Float64Array {
  const R = t.runs.length;
  const sums = new Float64Array(R);
  let total = 0;
  for (let g = 0; g < t.n; g++) {
    const c = counts ? counts[g] : 1;
    if (c === 0) continue;
    total += c * t.groupWeight[g];
    const o = g * R;
    for (let k = 0; k < R; k++) sums[k] += c * t.losses[o + k];
  }
  for (let k = 0; k < R; k++) sums[k] /= total;
  return sums;
}

/** Log loss of every run of the table on rows drawn with multiplicity `counts` (length n). */
function rescore(t: LossTable, counts: Int32Array | undefined): Float64Array {
  const R = t.runs.length;
  const sums = new Float64Array(R);
  let total = 0;
  for (let i = 0; i < t.n; i++) {
    const c = counts ? counts[i] : 1;
    if (c === 0) continue;
    const w = c * t.weight[i];
    total += w;
    const o = i * R;
    for (let k = 0; k < R; k++) sums[k] += w * t.losses[o + k];
  }
  for (let k = 0; k < R; k++) sums[k] /= total;
  return sums;
}

/** counts[i] = how often row i is drawn in n draws with replacement. */
function drawCounts(rng: Rng, n: number, counts: Int32Array): void {
  counts.fill(0);
  for (let j = 0; j < n; j++) counts[rng.int(n)]++;
}

/** Per model, the mean over `seeds` (with repeats) of its runs' scores. */
function modelMeans(t: LossTable, scores: Float64Array, seeds: readonly number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const model of t.models) {
    let s = 0;
    for (const seed of seeds) {
      const k = t.runs.findIndex((r) => r.model === model && r.seed === seed);
      s += scores[k];
    }
    out.set(model, s / seeds.length);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The bootstrap.

export interface StudyBootstrapOptions {
  /** Resamples B (default 200). */
  resamples?: number;
  /** Seed of the resampling draws (required). */
  seed: number;
  baseline?: string;
  /** Interval level: 1 - alpha (default alpha 0.05). */
  alpha?: number;
  /** "seed" (default): the replicates are fixed, as in compare.ts; "replicate": they are resampled too. */
  unit?: ComparisonUnit;
  /** Called after each data replicate is resampled, with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Resample the test rows as this many groups (row i in group i mod G) from per-group sums (the header's
   * "Row groups"): the fast path, e.g. 1000. Absent (the default): row by row, as before. An integer >= 2;
   * a replicate with fewer rows than G throws.
   */
  rowGroups?: number;
}

export interface BootstrapComparison {
  model: string;
  /** Percent vs the baseline on the full data (mean over replicates of the replicate's seed-mean percent). */
  estimate: number;
  /** Bootstrap se and percentile interval of that percent, resampling replicates, seeds and test rows. */
  se: number;
  ci: [number, number];
  /** The test-row part alone: per replicate, the variance of its seed-mean percent over row resamples (seeds fixed), averaged over replicates. */
  rowsVariance: number;
}

export interface StudyBootstrap {
  resamples: number;
  replicates: number;
  alpha: number;
  models: BootstrapComparison[];
}

/**
 * The hierarchical bootstrap of the header, for the log loss of every model vs the baseline. `replicates`
 * are loaders, called one at a time (a replicate's predictions are dropped before the next is loaded),
 * so memory holds one replicate's runs x rows. Costs B x (sum over replicates of rows x runs)
 * multiply-adds; with `rowGroups` G, one pass over rows x runs and B x G x runs per replicate. Deterministic for a seed: replicate c draws from the stream deriveSeed(seed, "replicate",
 * c), the choice of replicates from deriveSeed(seed, "replicates"). Throws when a replicate lacks the
 * baseline or the models differ between replicates.
 */
export function studyBootstrap(replicates: readonly (() => ReplicateScores)[], options: StudyBootstrapOptions): StudyBootstrap {
  const B = options.resamples ?? 200;
  const alpha = options.alpha ?? 0.05;
  const baseline = options.baseline ?? "IP";
  if (!Number.isInteger(options.seed)) throw new Error(`studyBootstrap: seed must be an integer, got ${options.seed}`);
  if (!Number.isInteger(B) || B < 2) throw new Error(`studyBootstrap: resamples must be an integer >= 2, got ${B}`);
  const C = replicates.length;
  if (C === 0) throw new Error("studyBootstrap: no replicates");

  let models: string[] = [];
  // Per replicate: the full-data percent per model, the B percents with seeds held fixed (rows only), and
  // the B percents with seeds and rows resampled.
  const full: Map<string, number>[] = [];
  const rowsOnly: Map<string, Float64Array>[] = [];
  const resampled: Map<string, Float64Array>[] = [];
  const G = options.rowGroups;
  if (G !== undefined && !(Number.isInteger(G) && G >= 2)) throw new Error(`studyBootstrap: rowGroups must be an integer >= 2, got ${G}`);
  replicates.forEach((load, c) => {
    const scores = load();
    if (G !== undefined && G > scores.label.length) throw new Error(`studyBootstrap: rowGroups ${G} exceeds replicate ${replicateCell(scores)}'s ${scores.label.length} test rows`);
    const grouped = G === undefined ? undefined : groupedLossTable(scores, G);
    const t = grouped ?? lossTable(scores);
    const rescoreRows = (counts: Int32Array | undefined) => (grouped ? rescoreGroups(grouped, counts) : rescore(t, counts));
    if (!t.models.includes(baseline)) throw new Error(`studyBootstrap: replicate ${t.key} has no ${baseline} runs`);
    if (c === 0) models = t.models;
    else if ([...t.models].sort().join() !== [...models].sort().join()) throw new Error(`studyBootstrap: replicate ${t.key} has models ${t.models.join(", ")}, the first had ${models.join(", ")}`);
    const percents = (means: Map<string, number>) => new Map(models.map((m) => [m, percentBetter(means.get(m)!, means.get(baseline)!, false)]));
    full.push(percents(modelMeans(t, rescoreRows(undefined), t.seeds)));
    const fixed = new Map(models.map((m) => [m, new Float64Array(B)]));
    const drawn = new Map(models.map((m) => [m, new Float64Array(B)]));
    const rng = new Rng(deriveSeed(options.seed, "replicate", c));
    const counts = new Int32Array(t.n);
    for (let b = 0; b < B; b++) {
      drawCounts(rng, t.n, counts); // rows (or row groups) once per replicate and resample; every run rescored on them
      const runScores = rescoreRows(counts);
      const a = percents(modelMeans(t, runScores, t.seeds));
      const seedDraw = Array.from({ length: t.seeds.length }, () => t.seeds[rng.int(t.seeds.length)]);
      const z = percents(modelMeans(t, runScores, seedDraw));
      for (const m of models) {
        fixed.get(m)![b] = a.get(m)!;
        drawn.get(m)![b] = z.get(m)!;
      }
    }
    rowsOnly.push(fixed);
    resampled.push(drawn);
    options.onProgress?.(c + 1, C);
  });

  const pick = new Rng(deriveSeed(options.seed, "replicates"));
  const all = Array.from({ length: C }, (_, c) => c);
  const chosen = Array.from({ length: B }, () => (C > 1 && options.unit === "replicate" ? Array.from({ length: C }, () => pick.int(C)) : all));
  return {
    resamples: B,
    replicates: C,
    alpha,
    models: models.map((model) => {
      const d = chosen.map((cs, b) => mean(cs.map((c) => resampled[c].get(model)![b])));
      const sorted = Float64Array.from(d).sort();
      return {
        model,
        estimate: mean(full.map((f) => f.get(model)!)),
        se: model === baseline ? 0 : Math.sqrt(sampleVariance(d)),
        ci: [quantileSorted(sorted, alpha / 2), quantileSorted(sorted, 1 - alpha / 2)],
        rowsVariance: model === baseline ? 0 : mean(rowsOnly.map((r) => sampleVariance(Array.from(r.get(model)!)))),
      };
    }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Variance components.

export interface VarianceComponents {
  model: string;
  /** Against (the baseline). */
  versus: string;
  replicates: number;
  /** Mean seeds per replicate (paired seeds). */
  seedsPerReplicate: number;
  /** Variance of the per-seed difference within a replicate (percent^2), and its df. */
  seedVariance: number;
  seedDf: number;
  /** Test-row variance of a replicate's seed-mean difference (percent^2), from studyBootstrap; NaN without it. */
  rowsVariance: number;
  /** World-to-world variance of the effect (percent^2): var(D_c) - seed / S - rows, floored at 0; NaN with one replicate. */
  worldVariance: number;
  /** var(D_c) observed over replicates (NaN with one replicate). */
  replicateMeanVariance: number;
  /** Standard error of the estimate: sqrt(var(D_c) / C) with several replicates, else sqrt(seed / S) (rows not included). */
  se: number;
  /** True when the moment estimate of the world part came out negative and was set to 0. */
  worldFloored: boolean;
}

/**
 * The three parts of the variance of a comparison's replicate means (header). `rowsVariance` comes from
 * studyBootstrap (pass it per model) or is left NaN. Values in percent of the baseline's mean.
 */
export function varianceComponents(
  runs: readonly DesignRun[],
  model: string,
  options: { baseline?: string; higherIsBetter: boolean; rowsVariance?: number },
): VarianceComponents {
  const baseline = options.baseline ?? "IP";
  const grouped = byReplicate(runs);
  const perReplicate: number[][] = [];
  for (const m of grouped.values()) {
    const xa = m.get(model);
    const xb = m.get(baseline);
    if (!xa || !xb) continue;
    const seeds = [...xa.keys()].filter((s) => xb.has(s));
    if (seeds.length === 0) continue;
    const base = mean([...xb.values()].map((r) => r.value));
    perReplicate.push(seeds.map((s) => percentOfBaseline(xa.get(s)!.value - xb.get(s)!.value, base, options.higherIsBetter)));
  }
  const replicateMeans = perReplicate.map((d) => mean(d));
  const { variance: seedVariance, df } = pooledWithin(perReplicate);
  const seedsTotal = perReplicate.reduce((a, d) => a + d.length, 0);
  const C = replicateMeans.length;
  const S = C > 0 ? seedsTotal / C : NaN;
  const rowsVariance = options.rowsVariance ?? NaN;
  const replicateMeanVariance = C >= 2 ? sampleVariance(replicateMeans) : NaN;
  const raw = replicateMeanVariance - seedVariance / S - (Number.isNaN(rowsVariance) ? 0 : rowsVariance);
  const worldVariance = C >= 2 ? Math.max(0, raw) : NaN;
  return {
    model,
    versus: baseline,
    replicates: C,
    seedsPerReplicate: S,
    seedVariance,
    seedDf: df,
    rowsVariance,
    worldVariance,
    replicateMeanVariance,
    se: C >= 2 ? Math.sqrt(replicateMeanVariance / C) : Math.sqrt(seedVariance / S),
    worldFloored: C >= 2 && raw < 0,
  };
}

/**
 * The components of every model's difference with the baseline of a study summary (summarizeStudy: its runs,
 * baseline and direction), in the summary's model order, the test-row part of each from `boot` (studyBootstrap
 * over the same study). Throws when `boot` lacks a model.
 */
export function componentsVsBaseline(
  summary: { baseline: string; higherIsBetter: boolean; runs: readonly DesignRun[]; models: readonly { model: string }[] },
  boot: Pick<StudyBootstrap, "models">,
): VarianceComponents[] {
  return summary.models
    .filter((m) => m.model !== summary.baseline)
    .map(({ model }) => {
      const b = boot.models.find((x) => x.model === model);
      if (!b) throw new Error(`componentsVsBaseline: the bootstrap has no model ${model}`);
      return varianceComponents(summary.runs, model, { baseline: summary.baseline, higherIsBetter: summary.higherIsBetter, rowsVariance: b.rowsVariance });
    });
}

/** A design to plan: data replicates, seeds per replicate, and test days `testScale` times the measured one. */
export interface PlannedDesign {
  replicates: number;
  seeds: number;
  testScale: number;
}

/**
 * Standard error and df of a comparison under a planned design, from measured components:
 *   unit "seed" (these data sets; each seed on its own 1/S of the test day): se^2 = (seed + rows * S / m) / (C S),
 *     df = C (S - 1), since a unit carries one seed's noise and the row noise of 1/S of the day;
 *   unit "replicate" (across worlds): se^2 = (world + seed / S + rows / m) / C, df = C - 1;
 * with m = testScale and rows the measured test-row variance of one seed-mean difference on the whole day.
 */
export function plannedSe(
  c: Pick<VarianceComponents, "worldVariance" | "seedVariance" | "rowsVariance">,
  d: PlannedDesign,
  unit: ComparisonUnit = "seed",
): { se: number; df: number } {
  const world = Number.isNaN(c.worldVariance) ? 0 : c.worldVariance;
  const rows = Number.isNaN(c.rowsVariance) ? 0 : c.rowsVariance;
  if (unit === "replicate") return { se: Math.sqrt((world + c.seedVariance / d.seeds + rows / d.testScale) / d.replicates), df: d.replicates - 1 };
  return { se: Math.sqrt((c.seedVariance + (rows * d.seeds) / d.testScale) / (d.replicates * d.seeds)), df: d.replicates * (d.seeds - 1) };
}

export { replicateKey };
