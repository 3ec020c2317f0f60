/**
 * Comparisons of models over a study's design: which runs pair with which, what the independent unit is,
 * and a difference (or any contrast of model means) with its own standard error and degrees of freedom.
 *
 * The design (lib/study/spec.ts). Every run belongs to a data replicate (world = simulator seed, draw =
 * downsampling seed) and has a model seed. Runs with the same seed on the same data share their batch
 * order, and models of the same shape start from identical weights, so a comparison is paired by seed.
 *
 * Two questions, two units (CompareOptions.unit):
 *
 *   "seed" (default): do the models differ ON THESE DATA SETS? The paper's question ("on our data"). The
 *   data replicates are fixed blocks; the noise is what would change if the study were run again on the
 *   same worlds: model seeds and, when the runs recorded test folds, the test rows. Per replicate c and
 *   paired seed s, the contrast in percent of the baseline's mean on c; the estimate is the mean over
 *   replicates of their seed means; its variance sum_c s2 / S_c / C^2 with s2 the pooled within-replicate
 *   variance (df = sum_c (S_c - 1)); with one replicate this is the paired t test by seed (scipy ttest_rel).
 *     paired-folds  every run recorded its CTCVR loss on the test day's 12 folds (lib/study/run.ts): seed j
 *                   of a replicate (in seed order) is scored on folds f = j mod S only, its own disjoint share
 *                   of the test day, so each unit carries its own test-row noise and the paired t test sees
 *                   seeds and test rows together (the units are independent: disjoint rows, independent seeds).
 *     paired        no folds (e.g. older records, other metrics): every seed scored on the whole test day;
 *                   the test rows are then held fixed (conditional on the test day; components.ts measures
 *                   their share by bootstrap).
 *     welch         one replicate whose models' seed sets differ: Welch-Satterthwaite over the runs.
 *
 *   "replicate": do the findings hold ACROSS WORLDS of the simulator? The data replicate is the unit: per
 *   replicate, the contrast of the models' seed means; a one-sample t test over replicates (df = C - 1),
 *   design "cluster". A replicate repeats the whole experiment (users, ads, log, draw, test day, seeds), so
 *   the spread of replicate values holds every noise source, including how much the effect itself differs
 *   between worlds: the test of a fixed effect in the nested mixed model with model x world as its error
 *   term (Montgomery, Design and Analysis of Experiments, ch. 14). Needs two or more replicates (with one it
 *   falls back to the seed unit).
 *
 * Percent scale (one definition, percentOfBaseline in lib/stats): a contrast sum_m w_m x_m of metric values
 * is reported as 100 * s * sum_m w_m x_m / |baseline mean|, with s = -1 for lower-is-better metrics (cross-
 * entropy) and +1 for higher-is-better ones, so a positive number means the positive-weight side is better.
 * "A vs B" is the contrast {A: +1, B: -1}: positive when A is better, in percent of the baseline's (IP's) mean
 * on the same data replicate.
 */
import {
  TEstimate,
  brownForsytheTest,
  detectableNoncentrality,
  oneSampleEstimate,
  pairedTTest,
  percentOfBaseline,
  studentTTest,
  tQuantile,
  tTestOfEstimate,
  tTestPower,
  twoSidedP,
} from "../stats";
import { CrossedEstimate, crossedMean } from "../stats/crossed";
import { mean, sampleVariance } from "../stats/simple-statistics";
import type { FoldScores } from "./run";
import { replicateCell } from "./data-source";

/** One run's value of the chosen metric, with its place in the design. */
export interface DesignRun {
  model: string;
  seed: number;
  /** Simulator seed of the run's data (0 when unknown); absent for real data, whose replicate is its `folder`. */
  world?: number;
  /** Real data: the prepared folder the run read (its data key; data-source.ts DataReplicate); absent for simulated data. */
  folder?: string;
  /** Downsampling seed of the run's data (of a prepared folder: the seed it was prepared with; 0 when unknown). */
  draw: number;
  value: number;
  /** The run's CTCVR log loss by test fold, when the value is the test day's CTCVR log loss and it recorded them. */
  folds?: FoldScores;
  /**
   * The data set the run read (lib/study/data-identity.ts dataSetOf), when known: runs of one world and draw
   * on different data sets are different replicates, never paired.
   */
  data?: string;
  /**
   * Tuning repeat the run's configuration came from (the fair protocol, lib/tune/protocol.ts: one draw of the
   * selection procedure), crossed with the worlds. Absent for untuned studies. Runs of different repeats are
   * never paired with each other: a data replicate is then a (world, draw, repeat) cell.
   */
  repeat?: number;
}

export type ComparisonUnit = "seed" | "replicate" | "crossed";
export type DesignKind = "cluster" | "paired-folds" | "paired" | "welch" | "crossed";

/** Weights of a contrast of model means, e.g. { ESMM: 1, IP: -1 }. */
export type Contrast = Readonly<Record<string, number>>;

export interface ContrastEstimate extends TEstimate {
  /** In percent of the baseline's mean, positive = the positive-weight side is better (see the header). */
  estimate: number;
  design: DesignKind;
  /** Independent units the standard error rests on: data replicates (cluster), seeds (paired), runs (welch). */
  units: number;
  /** The per-unit values in percent (cluster: one per replicate; paired: one per replicate and seed; welch: empty). */
  unitValues: number[];
  /** Data replicates used, and seeds per replicate (min and max over replicates). */
  replicates: number;
  seedsPerReplicate: [number, number];
  /** Two-sided p of estimate = 0, and the t statistic. */
  t: number;
  p: number;
  /** Minimum detectable effect (percent, two-sided alpha, power 0.8) and the power at a 1 % effect. */
  mde: number;
  powerAtOnePercent: number;
  /**
   * Design "crossed" only: the cells as repeats x worlds (row r = repeat r, the worlds present in every repeat) and
   * crossedMean's variance components of them (lib/stats/crossed.ts), for power and design questions.
   */
  crossed?: { cells: number[][]; components: CrossedEstimate["components"] };
  /** Why units were left out (replicates missing a model, unpaired seeds). */
  notes: string[];
}

export interface CompareOptions {
  /** Lower-is-better (false, cross-entropy) or higher-is-better (true, AUCs). */
  higherIsBetter: boolean;
  /** Model whose mean sets the percent scale (default "IP"). */
  baseline?: string;
  /** "seed" (default: these data sets) or "replicate" (across worlds): see the header. */
  unit?: ComparisonUnit;
  /** Significance level of the power and MDE numbers (default 0.01). */
  alpha?: number;
  /** Power at which the MDE is given (default 0.8). */
  power?: number;
  /** Compute the MDE and the power at 1 % (default true; they cost ~100 noncentral-t CDFs each). */
  powerAnalysis?: boolean;
}

/** "world:draw" (real data "folder:<key>:draw"), the key of a data replicate ("...:data" when the run names its data set). */
export function replicateKey(r: Pick<DesignRun, "world" | "folder" | "draw" | "data" | "repeat">): string {
  return worldKey(r) + (r.repeat === undefined ? "" : `:r${r.repeat}`);
}

/** The data set part of a replicate key (world, draw and data set; no repeat). */
function worldKey(r: Pick<DesignRun, "world" | "folder" | "draw" | "data">): string {
  return r.data === undefined ? replicateCell(r) : `${replicateCell(r)}:${r.data}`;
}

/**
 * Cell values laid out as repeats x worlds for crossedMean (lib/stats/crossed.ts): one value per (repeat,
 * world) cell, each with a run of the cell (for its world, draw, data and repeat); the worlds present in every
 * repeat, in first-appearance order. Returns the matrix and how many cells were left out.
 */
function crossedLayout(cells: readonly (readonly [number, Pick<DesignRun, "world" | "folder" | "draw" | "data" | "repeat">])[]): { matrix: number[][]; dropped: number } {
  const repeats = [...new Set(cells.map(([, r]) => r.repeat ?? 0))];
  const worlds = [...new Set(cells.map(([, r]) => worldKey(r)))];
  const at = new Map(cells.map(([v, r]) => [`${r.repeat ?? 0}|${worldKey(r)}`, v] as const));
  const complete = worlds.filter((w) => repeats.every((rep) => at.has(`${rep}|${w}`)));
  const matrix = repeats.map((rep) => complete.map((w) => at.get(`${rep}|${w}`)!));
  return { matrix, dropped: cells.length - repeats.length * complete.length };
}

/** byReplicate's grouping of the arrays it has seen, with their length then (a longer array is grouped again). */
const groupedRuns = new WeakMap<readonly DesignRun[], { length: number; grouped: ReplicateGroups }>();

/** Data replicate -> model -> seed -> run, read-only (byReplicate shares one grouping among its callers). */
export type ReplicateGroups = ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<number, DesignRun>>>;

/**
 * Runs grouped by data replicate (in order of first appearance), then by model, then by seed (first run kept).
 * The grouping of an array is kept for the array's life and returned again while its length is unchanged: a
 * summary's many contrasts group its runs once (a Monte Carlo of 2,500 studies spent a quarter of its time
 * regrouping). So `runs` is read as immutable, as every caller here treats it; copy an array before editing it.
 */
export function byReplicate(runs: readonly DesignRun[]): ReplicateGroups {
  const kept = groupedRuns.get(runs);
  if (kept && kept.length === runs.length) return kept.grouped;
  const out = new Map<string, Map<string, Map<number, DesignRun>>>();
  groupedRuns.set(runs, { length: runs.length, grouped: out });
  for (const r of runs) {
    const key = replicateKey(r);
    let models = out.get(key);
    if (!models) out.set(key, (models = new Map()));
    let seeds = models.get(r.model);
    if (!seeds) models.set(r.model, (seeds = new Map()));
    if (!seeds.has(r.seed)) seeds.set(r.seed, r);
  }
  return out;
}

function meanValue(runs: Iterable<DesignRun>): number {
  const xs = [...runs].map((r) => r.value);
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Noncentralities beyond this give power 1 to double precision (tTestPower's own limit is 1000). */
const CERTAIN_NCP = 100;

/**
 * minimumDetectableEffect (the noncentrality times se), or Infinity when even an effect of MAX_NCP standard errors
 * has less than `power` (a Satterthwaite df below 1 at alpha 0.01, e.g. a crossed design of 2 repeats x 2 worlds):
 * no effect is detectable. lib/stats/power.ts detectableNoncentrality, kept per (df, alpha, power).
 */
export function detectableEffect(se: number, df: number, alpha: number, power: number): number {
  return detectableNoncentrality(df, alpha, power) * se;
}

function withTests(e: Omit<ContrastEstimate, "t" | "p" | "mde" | "powerAtOnePercent">, alpha: number, power: number | false): ContrastEstimate {
  const defined = Number.isFinite(e.estimate) && Number.isFinite(e.se) && e.se >= 0 && e.df > 0;
  const { t, p } = defined ? tTestOfEstimate(e) : { t: NaN, p: NaN };
  const usable = power !== false && defined && e.se > 0 && Number.isFinite(e.df);
  return {
    ...e,
    t,
    p,
    mde: usable ? detectableEffect(e.se, e.df, alpha, power as number) : NaN,
    powerAtOnePercent: usable ? (1 / e.se > CERTAIN_NCP ? 1 : tTestPower({ effect: 1, se: e.se, df: e.df, alpha })) : NaN,
  };
}

/** lib/stats oneSampleEstimate, with NaN se and df (not an error) when there are fewer than 2 defined values. */
function oneSample(values: number[]): TEstimate {
  if (values.length >= 2 && values.every(Number.isFinite)) return oneSampleEstimate(values);
  return { estimate: values.length === 1 ? values[0] : NaN, se: NaN, df: NaN };
}

/** The pooled within-group variance: sum of squares around each group's mean over sum of (size - 1); NaN without df. */
export function pooledWithin(groups: readonly (readonly number[])[]): { variance: number; df: number } {
  let ss = 0;
  let df = 0;
  for (const g of groups) {
    if (g.length === 0) continue;
    const m = mean(g as number[]);
    for (const x of g) ss += (x - m) * (x - m);
    df += g.length - 1;
  }
  return { variance: df > 0 ? ss / df : NaN, df };
}

/**
 * Mean over groups of the group means, with the pooled within-group variance: the fixed-blocks estimate
 * (groups = data replicates, values = per-seed units). One group: the one-sample mean and se.
 */
function blockedMean(groups: number[][]): { estimate: number; se: number; df: number } {
  const used = groups.filter((g) => g.length > 0);
  const C = used.length;
  if (C === 0) return { estimate: NaN, se: NaN, df: NaN };
  const { variance: s2, df } = pooledWithin(used);
  const estimate = mean(used.map((g) => mean(g)));
  if (df === 0) return { estimate, se: NaN, df: NaN };
  const se = Math.sqrt(used.reduce((acc, g) => acc + s2 / g.length, 0)) / C;
  return { estimate, se, df };
}

/** Folds of the j-th of S seeds: f = j mod S. */
function foldShareLoss(f: { logLossSum: number[]; weightSum: number[] }, j: number, S: number): number {
  let loss = 0;
  let weight = 0;
  for (let k = j; k < f.logLossSum.length; k += S) {
    loss += f.logLossSum[k];
    weight += f.weightSum[k];
  }
  return loss / weight;
}

/**
 * A contrast of model means over the design, in percent of the baseline's mean (see the header for the
 * units and designs). Needs the baseline's runs in every replicate used. Returns NaN numbers (never throws)
 * when no design applies, with the reason in `notes`; throws on an empty contrast.
 */
export function contrastEstimate(runs: readonly DesignRun[], contrast: Contrast, options: CompareOptions): ContrastEstimate {
  const models = Object.keys(contrast).filter((m) => contrast[m] !== 0);
  if (models.length === 0) throw new Error("contrastEstimate: the contrast has no non-zero weight");
  const baseline = options.baseline ?? "IP";
  const alpha = options.alpha ?? 0.01;
  const power = options.powerAnalysis === false ? false : (options.power ?? 0.8);
  const hib = options.higherIsBetter;
  const notes: string[] = [];
  const grouped = byReplicate(runs);
  const needed = [...new Set([...models, baseline])];
  const usable = [...grouped.entries()].filter(([, m]) => needed.every((name) => (m.get(name)?.size ?? 0) > 0));
  const dropped = grouped.size - usable.length;
  if (dropped > 0) notes.push(`${dropped} data replicate(s) without runs of every model of ${needed.join(", ")} left out`);
  const seedCounts = usable.map(([, m]) => Math.min(...models.map((name) => m.get(name)!.size)));
  const seedRange: [number, number] = seedCounts.length > 0 ? [Math.min(...seedCounts), Math.max(...seedCounts)] : [0, 0];
  const value = (m: ReadonlyMap<string, ReadonlyMap<number, DesignRun>>, pick: (name: string) => number) => models.reduce((acc, name) => acc + contrast[name] * pick(name), 0);
  const base = { replicates: usable.length, seedsPerReplicate: seedRange, notes };

  if (usable.length === 0) {
    notes.push(`no data replicate holds runs of ${needed.join(", ")}`);
    return withTests({ estimate: NaN, se: NaN, df: NaN, units: 0, unitValues: [], design: "welch", ...base }, alpha, power);
  }
  const unit = options.unit ?? "seed";
  if ((unit === "replicate" || unit === "crossed") && usable.length >= 2) {
    const unitValues = usable.map(([, m]) => percentOfBaseline(value(m, (name) => meanValue(m.get(name)!.values())), meanValue(m.get(baseline)!.values()), hib));
    if (unit === "crossed") {
      const { matrix, dropped: left } = crossedLayout(usable.map(([, m], i) => [unitValues[i], m.get(baseline)!.values().next().value!] as const));
      if (left > 0) notes.push(`${left} (world, repeat) cell(s) left out: their world lacks a repeat`);
      const cells = matrix.flat();
      if (cells.length >= 2) {
        const c = crossedMean(matrix);
        return withTests({ estimate: c.estimate, se: c.se, df: c.df, design: "crossed", units: cells.length, unitValues: cells, crossed: { cells: matrix, components: c.components }, ...base }, alpha, power);
      }
    }
    return withTests({ ...oneSample(unitValues), design: "cluster", units: usable.length, unitValues, ...base }, alpha, power);
  }

  // Seed unit: paired seeds within each replicate.
  const groups: number[][] = [];
  let withFolds = true;
  let unpaired = 0;
  const pairedSeeds = usable.map(([, m]) => {
    const sets = models.map((name) => new Set(m.get(name)!.keys()));
    const common = [...sets[0]].filter((s) => sets.every((x) => x.has(s))).sort((a, b) => a - b);
    if (sets.some((x) => x.size !== common.length)) unpaired++;
    const folds = models.flatMap((name) => common.map((s) => m.get(name)!.get(s)!.folds));
    if (common.length < 2 || folds.some((f) => !f || f.folds < common.length)) withFolds = false;
    return common;
  });
  if (usable.length === 1 && (pairedSeeds[0].length < 2 || unpaired > 0)) {
    // One replicate, seed sets that differ: Welch-Satterthwaite over the models' runs.
    const m = usable[0][1];
    notes.push(`seeds differ between ${models.join(", ")}: unpaired (Welch) comparison`);
    const scale = percentOfBaseline(1, meanValue(m.get(baseline)!.values()), hib); // percent per metric unit (signed)
    let estimate = 0;
    let variance = 0;
    let dfDenominator = 0;
    let runsUsed = 0;
    for (const name of models) {
      const xs = [...m.get(name)!.values()].map((r) => r.value);
      runsUsed += xs.length;
      estimate += contrast[name] * mean(xs);
      if (xs.length < 2) {
        variance = NaN;
        continue;
      }
      const v = (contrast[name] * contrast[name] * sampleVariance(xs)) / xs.length;
      variance += v;
      dfDenominator += (v * v) / (xs.length - 1);
    }
    const se = Math.sqrt(variance) * Math.abs(scale);
    const df = (variance * variance) / dfDenominator;
    return withTests({ estimate: estimate * scale, se, df, design: "welch", units: runsUsed, unitValues: [], ...base }, alpha, power);
  }
  if (unpaired > 0) notes.push(`${unpaired} data replicate(s) with seeds missing for some model: only the seeds every model has are compared`);
  usable.forEach(([, m], c) => {
    const seeds = pairedSeeds[c];
    const baseMean = meanValue(m.get(baseline)!.values());
    const S = seeds.length;
    groups.push(
      seeds.map((seed, j) =>
        percentOfBaseline(
          value(m, (name) => (withFolds ? foldShareLoss(m.get(name)!.get(seed)!.folds!, j, S) : m.get(name)!.get(seed)!.value)),
          baseMean,
          hib,
        ),
      ),
    );
  });
  const unitValues = groups.flat();
  return withTests({ ...blockedMean(groups), design: withFolds ? "paired-folds" : "paired", units: unitValues.length, unitValues, ...base }, alpha, power);
}

/** "A vs B": contrastEstimate with weights { A: +1, B: -1 } (positive = A better). */
export function differenceEstimate(runs: readonly DesignRun[], a: string, b: string, options: CompareOptions): ContrastEstimate {
  if (a === b) throw new Error(`differenceEstimate: a model cannot be compared with itself (${a})`);
  return contrastEstimate(runs, { [a]: 1, [b]: -1 }, options);
}

/** A model's own mean and its standard error at the comparison unit. */
export interface MeanEstimate extends TEstimate {
  n: number;
  /** sd of single runs within their data replicates (pooled); with one replicate, the sd of the runs. */
  sd: number;
  ci95: [number, number];
}

/**
 * The mean of a model's runs (the mean over data replicates of their seed means) and its standard error:
 * unit "seed", from the pooled within-replicate spread over seeds (the replicates as fixed blocks; with one
 * replicate the usual sd / sqrt(n)); unit "replicate", over replicate means. ci95 = estimate +- t se.
 */
export function modelMeanEstimate(runs: readonly DesignRun[], model: string, unit: ComparisonUnit = "seed"): MeanEstimate {
  const grouped = byReplicate(runs.filter((r) => r.model === model));
  const groups = [...grouped.values()].map((m) => [...m.get(model)!.values()].map((r) => r.value));
  const n = groups.reduce((a, g) => a + g.length, 0);
  const within = blockedMean(groups);
  let { estimate, se, df } = (unit === "replicate" || unit === "crossed") && groups.length >= 2 ? oneSample(groups.map((g) => mean(g))) : within;
  if (unit === "crossed" && groups.length >= 2) {
    const cells = [...grouped.values()].map((m) => [mean([...m.get(model)!.values()].map((r) => r.value)), m.get(model)!.values().next().value!] as const);
    const { matrix } = crossedLayout(cells);
    if (matrix.flat().length >= 2) ({ estimate, se, df } = crossedMean(matrix));
  }
  const sd = Math.sqrt(pooledWithin(groups).variance);
  const half = df > 0 && Number.isFinite(se) ? tQuantile(0.975, df) * se : NaN;
  return { estimate, se, df, n, sd, ci95: [estimate - half, estimate + half] };
}

/**
 * Seed-to-seed spread of two models, compared by the Brown-Forsythe test (Brown & Forsythe 1974): the
 * absolute deviations of each run from its model's median within the same data replicate. With one data
 * replicate this is scipy.stats.levene(a, b, center="median") exactly (for two groups its F is the squared
 * two-sample t of the deviations); with several and unit "seed", the deviations of all replicates are
 * pooled into the same two-group test; with unit "replicate", each replicate's mean absolute deviation is
 * one value and the two models are compared by a paired t over replicates (F = t^2, 1 and C - 1 df).
 * Values are in percent of the baseline's mean on their replicate, so replicates of different difficulty
 * pool. `sdRatio` is the ratio of the pooled within-replicate standard deviations (A over B). Replicates
 * where a model has fewer than 3 runs are left out (with 2 runs both deviations from the median are equal,
 * so the test would be degenerate: F infinite); with none left, p is NaN (no test).
 */
export interface SpreadComparison {
  a: string;
  b: string;
  sdA: number;
  sdB: number;
  sdRatio: number;
  /** Brown-Forsythe F (= t^2), its dfs and two-sided p. */
  statistic: number;
  df1: number;
  df2: number;
  p: number;
  /** Runs of each model that entered, and replicates. */
  nA: number;
  nB: number;
  replicates: number;
}

export function spreadComparison(runs: readonly DesignRun[], a: string, b: string, options: Pick<CompareOptions, "baseline" | "unit">): SpreadComparison {
  const baseline = options.baseline ?? "IP";
  const grouped = byReplicate(runs);
  const devA: number[] = [];
  const devB: number[] = [];
  const meanDevA: number[] = [];
  const meanDevB: number[] = [];
  const rawA: number[][] = [];
  const rawB: number[][] = [];
  const median = (xs: number[]) => {
    const s = [...xs].sort((p, q) => p - q);
    const h = s.length >> 1;
    return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  };
  for (const m of grouped.values()) {
    const xa = m.get(a);
    const xb = m.get(b);
    const base = m.get(baseline);
    // With 2 runs both deviations from the median are equal: the test would see no spread of spreads.
    if (!xa || !xb || !base || xa.size < 3 || xb.size < 3) continue;
    const scale = Math.abs(percentOfBaseline(1, meanValue(base.values()), true)); // spread only: no sign
    const va = [...xa.values()].map((r) => r.value * scale);
    const vb = [...xb.values()].map((r) => r.value * scale);
    rawA.push(va);
    rawB.push(vb);
    const da = va.map((x) => Math.abs(x - median(va)));
    const db = vb.map((x) => Math.abs(x - median(vb)));
    devA.push(...da);
    devB.push(...db);
    meanDevA.push(mean(da));
    meanDevB.push(mean(db));
  }
  const sdA = Math.sqrt(pooledWithin(rawA).variance);
  const sdB = Math.sqrt(pooledWithin(rawB).variance);
  const replicates = rawA.length;
  const base = { a, b, sdA, sdB, sdRatio: sdA / sdB, nA: devA.length, nB: devB.length, replicates };
  if (devA.length < 2 || devB.length < 2) return { ...base, statistic: NaN, df1: 1, df2: NaN, p: NaN };
  if (replicates === 1) {
    const bf = brownForsytheTest(rawA[0], rawB[0]);
    return { ...base, statistic: bf.statistic, df1: bf.df1, df2: bf.df2, p: bf.p };
  }
  if ((options.unit ?? "seed") === "replicate" || options.unit === "crossed") {
    const t = pairedTTest(meanDevA, meanDevB);
    return { ...base, statistic: t.t * t.t, df1: 1, df2: t.df, p: t.p };
  }
  const t = studentTTest(devA, devB);
  return { ...base, statistic: t.t * t.t, df1: 1, df2: t.df, p: Number.isNaN(t.t) ? NaN : twoSidedP(t.t, t.df) };
}
