/**
 * The fair protocol (issue 22): one answer to the paper's question that survives its own selection noise.
 *
 *   const p = fairProtocol("full");                          // tuning design, rungs, repeats, tuning worlds
 *   const base = fairStudy("full");                          // the evaluation design: worlds from a prior x seeds
 *   const repeats = await runFairTuning(base, p, { results });   // R independent tunings, each nested
 *   const evaluation = evaluationStudy(base, repeats);        // each repeat's chosen configurations, every world
 *   await runStudy(evaluation, { results });
 *   const summary = summarizeStudy(evaluationResults(evaluation, records), { variant: TUNED_VARIANT, unit: "crossed" });
 *
 * 1. Nested. Each repeat r tunes on its own tuning world (`tuningWorlds[r]`, drawn from the same world prior as
 *    the evaluation worlds, never one of them: checkProtocol throws), with its own design (seed designSeed + r)
 *    and its own model seeds (seedBase (r + 1) + 1, 2, ...). Selection never sees an evaluation unit.
 * 2. The same budget for every model, the untuned configuration included: trial 0 of every repeat is the untuned
 *    configuration (the study's defaults: Adam 1e-3, embedding 8, 128-64 / 32-16, batch 1024, no weight decay, no
 *    dropout, loss weights 1); trials 1..N-1 are the first N-1 points of the repeat's design over the search space
 *    (lib/tune/space.ts, where weight decay 0 and dropout 0 are each reachable, and together at trial 0).
 * 3. Selection robust to seed noise: successive halving over seeds (Jamieson & Talwalkar, AISTATS 2016; here the
 *    resource is seeds, not epochs). Rung 0 runs every trial on 1 seed; rung j keeps the `rungs[j].keep` trials of
 *    lowest mean score over the previous rung's seeds and runs them on `rungs[j].seeds` seeds (the earlier seeds'
 *    runs are reused: runs are keyed by what they compute). The chosen trial is the best mean over the last rung's
 *    seeds, so every finalist is read on more than one seed.
 * 4. The selection day is sized for selection: the score is the CTCVR cross-entropy on the tuning world's held-out
 *    test day, which the evaluation multiplier makes 10x a training day in the full profile (about 1,500
 *    conversions, against about 140 on the 1x validation day that early stopping reads). It is never a day of an
 *    evaluation world, and neither training nor early stopping reads it.
 * 5. The repeat is a level of the analysis: every repeat's choices are evaluated on every evaluation world, and
 *    the comparisons treat repeats and worlds as crossed random effects (lib/stats/crossed.ts; unit "crossed" of
 *    lib/study/compare.ts), so the verdict's standard error holds the selection's variance and the worlds'.
 */
import { ScoredSplit, metricValue } from "../analysis/metrics";
import { getModelSpec } from "../models/zoo";
import { RunStudyOptions, StudyRunSummary, runStudy } from "../study/runner";
import { matchRecords } from "../study/results";
import { DEFAULT_DATA_SPEC, RunSpec, StudySpec, VariantSpec, expandGrid } from "../study/spec";
import { REPEAT_FACTOR, StudySummary, summarizeStudy } from "../study/summary";
import type { DesignRun } from "../study/compare";
import { FINDING_RULES, Finding, evaluateFindings, findingContrast, findingsAtMargins } from "../study/findings";
import { MetaRegression, metaRegression } from "../study/meta-regression";
import type { StudyRecord } from "../study/results";
import { CrossedEstimate, crossedPlannedSe, tTestPower } from "../stats";
import { median as ssMedian } from "../stats/simple-statistics";
import { PAPER_MODEL_NAMES } from "../models/zoo";
import { SearchDesignKind, searchDesign } from "./design";
import { DEFAULT_SEARCH_SPACE, SearchSpace, TrialSettings, designDimensions, trialSettings } from "./space";
import { TRIAL_FACTOR, TUNED_VARIANT } from "./plan";

/** One rung of successive halving over seeds: keep this many trials per model, run each on this many seeds. */
export interface Rung {
  keep: number;
  seeds: number;
}

export interface FairProtocol {
  /** Trials per model and repeat, N >= 2 (trial 0 is the untuned configuration). */
  trials: number;
  /** Design seed of repeat 0; repeat r uses designSeed + r. */
  designSeed: number;
  design: SearchDesignKind;
  space: SearchSpace;
  /** Independent repeats of the whole tuning, R >= 1 (>= 3 in the full profile). */
  repeats: number;
  /** One tuning world (simulator seed) per repeat, disjoint from the evaluation worlds. */
  tuningWorlds: number[];
  /** Successive halving: rungs[0].keep = trials; keep falls and seeds grow from rung to rung; the last rung has >= 2 seeds. */
  rungs: Rung[];
  /** Repeat r's model seeds are seedBase (r + 1) + 1, 2, ... */
  seedBase: number;
}

/**
 * The profiles. full: R = 3 repeats of N = 10 trials (trial 0 untuned), rung 0 all 10 on 1 seed, rung 1 the best 3
 * on 3 seeds (16 runs per model and repeat), tuning worlds 1001-1003. quick (make test): R = 2, N = 3, rung 1 the
 * best 2 on 2 seeds, tuning worlds 1001-1002.
 */
export function fairProtocol(profile: "quick" | "full"): FairProtocol {
  return profile === "full"
    ? { trials: 10, designSeed: 1, design: "halton", space: DEFAULT_SEARCH_SPACE, repeats: 3, tuningWorlds: [1001, 1002, 1003], rungs: [{ keep: 10, seeds: 1 }, { keep: 3, seeds: 3 }], seedBase: 100 }
    : { trials: 3, designSeed: 1, design: "halton", space: DEFAULT_SEARCH_SPACE, repeats: 2, tuningWorlds: [1001, 1002], rungs: [{ keep: 3, seeds: 1 }, { keep: 2, seeds: 2 }], seedBase: 100 };
}

/** The world prior of the fair protocol's worlds (lib/data/world-prior.ts). */
export const FAIR_WORLD_PRIOR = "ad-logs";

/**
 * The fair protocol's evaluation design. full: the paper's six models on 8 worlds drawn from the "ad-logs" prior
 * (simulator seeds 21-28, 2,000,000 impressions, 15 days, test day x10) x 2 model seeds per repeat, at most 20
 * epochs (the 10-epoch cap bound in 10-14 of 36 runs of ESMM and ESSP-Split: issue 22), patience 2. quick: 2
 * worlds (21, 22) of 200,000 impressions x 2 seeds, at most 2 epochs.
 */
export function fairStudy(profile: "quick" | "full"): StudySpec {
  const full = profile === "full";
  return {
    name: full ? "fair" : "fair-quick",
    models: [...PAPER_MODEL_NAMES],
    seeds: [1, 2],
    worlds: full ? [21, 22, 23, 24, 25, 26, 27, 28] : [21, 22],
    worldPrior: FAIR_WORLD_PRIOR,
    data: {
      ...structuredClone(DEFAULT_DATA_SPEC),
      simulator: { ...DEFAULT_DATA_SPEC.simulator, impressions: full ? 2_000_000 : 200_000, evaluationMultiplier: full ? 10 : 2, laterDaysMultiplier: 1 },
    },
    train: { maxEpochs: full ? 20 : 2 },
  };
}

/**
 * Throws (one line naming the rule) when the protocol cannot be run on `base`: fewer than 2 trials, a tuning
 * world count other than `repeats`, a tuning world that is an evaluation world, rungs that do not start with
 * every trial, do not shrink (keep) and grow (seeds), or whose last rung reads fewer than 2 seeds.
 */
export function checkProtocol(base: StudySpec, p: FairProtocol): void {
  const fail = (what: string) => {
    throw new Error(`fair protocol: ${what}`);
  };
  if (!Number.isInteger(p.trials) || p.trials < 2) fail(`trials must be an integer >= 2 (trial 0 is the untuned configuration), got ${p.trials}`);
  if (!Number.isInteger(p.repeats) || p.repeats < 1) fail(`repeats must be an integer >= 1, got ${p.repeats}`);
  if (p.tuningWorlds.length !== p.repeats) fail(`${p.repeats} repeats need ${p.repeats} tuning worlds, got ${p.tuningWorlds.length}`);
  if (new Set(p.tuningWorlds).size !== p.tuningWorlds.length) fail(`tuning worlds repeat a value (${p.tuningWorlds.join(", ")})`);
  const evaluation = new Set(base.worlds ?? [base.data.simulatorSeed]);
  const shared = p.tuningWorlds.filter((w) => evaluation.has(w));
  if (shared.length > 0) fail(`tuning world(s) ${shared.join(", ")} are also evaluation worlds: selection would see an evaluation unit`);
  if (p.rungs.length === 0 || p.rungs[0].keep !== p.trials) fail(`rung 0 must keep every trial (${p.trials})`);
  p.rungs.forEach((r, j) => {
    if (!Number.isInteger(r.keep) || r.keep < 1 || !Number.isInteger(r.seeds) || r.seeds < 1) fail(`rung ${j}: keep and seeds must be integers >= 1`);
    if (j > 0 && !(r.keep <= p.rungs[j - 1].keep && r.seeds > p.rungs[j - 1].seeds)) fail(`rung ${j}: keep must not grow and seeds must grow from rung ${j - 1}`);
  });
  if (p.rungs[p.rungs.length - 1].seeds < 2) fail(`the last rung must read at least 2 seeds per finalist`);
}

/** Model seeds of repeat r: seedBase (r + 1) + 1 .. + n. */
export function repeatSeeds(p: FairProtocol, r: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => p.seedBase * (r + 1) + i + 1);
}

/** The untuned configuration: no setting over the study's own (the defaults every untuned run trains with). */
export const UNTUNED: TrialSettings = Object.freeze({ architecture: {}, train: {} }) as TrialSettings;

/** The settings of trial k of repeat r for `model`: k = 0 the untuned configuration, k >= 1 the design's point k - 1. */
export function trialOf(p: FairProtocol, r: number, model: string, k: number): TrialSettings {
  if (k === 0) return { architecture: {}, train: {} };
  const design = searchDesign(p.trials - 1, designDimensions(p.space), p.designSeed + r, p.design);
  return trialSettings(model, design[k - 1], p.space);
}

/**
 * The study of rung `j` of repeat `r`: for each model, its kept trials (`kept`: model -> trial indices) on the
 * rung's seeds, on the repeat's tuning world. Trial variants are named "r<r>-trial-<k>" (factor "trial", level k),
 * each run only for the models that kept it.
 */
export function rungStudy(base: StudySpec, p: FairProtocol, r: number, j: number, kept: ReadonlyMap<string, readonly number[]>): StudySpec {
  const trials = [...new Set([...kept.values()].flat())].sort((a, b) => a - b);
  const variants: VariantSpec[] = trials.map((k) => {
    const models = [...kept.entries()].filter(([, ks]) => ks.includes(k)).map(([m]) => m);
    return {
      name: `r${r}-trial-${k}`,
      factor: TRIAL_FACTOR,
      level: k,
      data: { simulatorSeed: p.tuningWorlds[r] },
      models: Object.fromEntries(models.map((m) => [m, trialOf(p, r, m, k)])),
      onlyModels: models,
    };
  });
  const { worlds: _w, ...rest } = base;
  void _w;
  return { ...rest, name: `${base.name}-tune-r${r}-rung${j}`, seeds: repeatSeeds(p, r, p.rungs[j].seeds), variants };
}

/** The metric tuning selects on (a name of lib/analysis/metrics.ts; selection keeps the lowest: its direction is "lower"). */
export const SELECTION_METRIC = "ctcvr.logLoss";

/** The score selection reads of a tuning run: the CTCVR cross-entropy on its tuning world's held-out test day (nats). */
export function selectionScore(record: { test?: ScoredSplit }): number {
  return metricValue(record.test, SELECTION_METRIC);
}

/** What the tuning reads of a results-file record (lib/analysis/record.ts StudyRecord is one): what it computed and its test score. */
export type TuningRecord = Parameters<typeof matchRecords>[1][number] & { test?: ScoredSplit };

/** One trial's scores at a rung: by seed, with their mean. */
export interface TrialScore {
  model: string;
  trial: number;
  settings: TrialSettings;
  /** Score per seed read (selectionScore), in seed order. */
  scores: number[];
  seeds: number[];
  mean: number;
}

/**
 * The finished trials of a rung study among `records` (matched on what each run computes): per (model, trial), the
 * scores of the seeds that finished. A trial misses seeds when runs failed or are not done.
 */
export function rungScores(study: StudySpec, records: readonly TuningRecord[]): TrialScore[] {
  const out = new Map<string, TrialScore>();
  for (const { run, record } of matchRecords(expandGrid(study), [...records])) {
    const k = `${run.model}\u0000${run.level}`;
    let t = out.get(k);
    if (!t) out.set(k, (t = { model: run.model, trial: Number(run.level), settings: { architecture: run.architecture, train: run.train }, scores: [], seeds: [], mean: NaN }));
    const score = record ? selectionScore(record) : NaN;
    if (Number.isFinite(score)) {
      t.scores.push(score);
      t.seeds.push(run.seed);
    }
  }
  for (const t of out.values()) t.mean = t.scores.length === 0 ? NaN : t.scores.reduce((a, b) => a + b, 0) / t.scores.length;
  return [...out.values()];
}

/**
 * Per model, the `keep` trials of lowest mean score among those with every one of `seeds` seeds finished (ties: the
 * lower trial). Returns model -> trial indices (best first). A model with no complete trial keeps none.
 */
export function keepBest(scores: readonly TrialScore[], keep: number, seeds: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const model of [...new Set(scores.map((s) => s.model))]) {
    const complete = scores.filter((s) => s.model === model && s.scores.length >= seeds && Number.isFinite(s.mean));
    complete.sort((a, b) => a.mean - b.mean || a.trial - b.trial);
    out.set(model, complete.slice(0, keep).map((s) => s.trial));
  }
  return out;
}

/** One repeat of the tuning: its world, design, seeds, every rung's scores and each model's choice. */
export interface TuningRepeat {
  repeat: number;
  world: number;
  designSeed: number;
  rungs: { rung: number; seeds: number[]; scores: TrialScore[] }[];
  /** Per model: the chosen trial (best mean over the last rung's seeds), its settings, mean score and the seeds read. */
  chosen: { model: string; trial: number; settings: TrialSettings; mean: number; seedsRead: number }[];
}

/**
 * Runs the whole tuning: for each repeat, each rung's study (runStudy: resumable, keyed; finished runs are skipped),
 * then the halving. `options` are runStudy's (the results file holds every rung's runs). Returns the repeats and
 * each rung's run summary. Throws as checkProtocol, and when a model has no finished trial at the last rung.
 */
export async function runFairTuning(
  base: StudySpec,
  p: FairProtocol,
  options: RunStudyOptions & { records: () => readonly TuningRecord[] },
): Promise<{ repeats: TuningRepeat[]; summaries: StudyRunSummary[] }> {
  checkProtocol(base, p);
  const models = base.models.map((m) => getModelSpec(m).name);
  const summaries: StudyRunSummary[] = [];
  const repeats: TuningRepeat[] = [];
  for (let r = 0; r < p.repeats; r++) {
    let kept = new Map(models.map((m) => [m, Array.from({ length: p.trials }, (_, k) => k)] as const));
    const rungs: TuningRepeat["rungs"] = [];
    for (let j = 0; j < p.rungs.length; j++) {
      const study = rungStudy(base, p, r, j, kept);
      summaries.push(await runStudy(study, options));
      const scores = rungScores(study, options.records());
      rungs.push({ rung: j, seeds: study.seeds, scores });
      const next = j + 1 < p.rungs.length ? p.rungs[j + 1].keep : 1;
      kept = keepBest(scores, next, p.rungs[j].seeds);
    }
    const last = rungs[rungs.length - 1];
    const chosen = models.map((m) => {
      const k = kept.get(m)?.[0];
      const s = last.scores.find((x) => x.model === m && x.trial === k);
      if (k === undefined || !s) throw new Error(`fair protocol: repeat ${r}: ${m} has no trial finished on all ${p.rungs[p.rungs.length - 1].seeds} seeds of the last rung`);
      return { model: m, trial: k, settings: s.settings, mean: s.mean, seedsRead: s.scores.length };
    });
    repeats.push({ repeat: r, world: p.tuningWorlds[r], designSeed: p.designSeed + r, rungs, chosen });
  }
  return { repeats, summaries };
}

/** The variant of the untuned configuration in the evaluation study (one row of the sensitivity table). */
export const UNTUNED_VARIANT = "untuned";

/**
 * The evaluation study: `base`'s worlds x seeds, one variant per repeat ("repeat-<r>", factor REPEAT_FACTOR, level r)
 * with each model's chosen settings of that repeat, and (unless `untuned` is false) the untuned configuration as
 * variant "untuned". Runs shared by two variants (the same computation) are trained once.
 */
export function evaluationStudy(base: StudySpec, repeats: readonly TuningRepeat[], options: { untuned?: boolean } = {}): StudySpec {
  if (repeats.length === 0) throw new Error("fair protocol: no tuning repeats to evaluate");
  const variants: VariantSpec[] = repeats.map((t) => ({
    name: `repeat-${t.repeat}`,
    factor: REPEAT_FACTOR,
    level: t.repeat,
    models: Object.fromEntries(t.chosen.map((c) => [c.model, c.settings])),
  }));
  if (options.untuned !== false) variants.push({ name: UNTUNED_VARIANT });
  return { ...base, name: `${base.name}-evaluation`, variants };
}

/**
 * The evaluation study's records as results for summarizeStudy, labelled by the grid (a record shared by two
 * variants appears once per variant): the repeats' runs as variant TUNED_VARIANT with factor REPEAT_FACTOR and
 * level r (so unit "crossed" sees the repeat), the untuned runs as variant "untuned".
 */
export function evaluationResults<R extends Parameters<typeof matchRecords>[1][number]>(study: StudySpec, records: readonly R[]): (R & { variant: string; factor?: string; level?: string | number })[] {
  const out: (R & { variant: string; factor?: string; level?: string | number })[] = [];
  for (const { run, record } of matchRecords(expandGrid(study), [...records])) {
    if (!record) continue;
    const tuned = run.factor === REPEAT_FACTOR;
    out.push({ ...record, config: run as RunSpec, variant: tuned ? TUNED_VARIANT : run.variant, factor: tuned ? REPEAT_FACTOR : undefined, level: tuned ? run.level : undefined });
  }
  return out;
}

/**
 * Rung 0's scores as DesignRuns for the spread finding over trials (FindingOptions.trials): one per (repeat, model,
 * trial) with world = the repeat, seed = the trial, value = its score on the rung's one seed.
 */
export function trialDesignRuns(repeats: readonly TuningRepeat[]): DesignRun[] {
  return repeats.flatMap((t) => t.rungs[0].scores.filter((s) => s.scores.length > 0).map((s) => ({ model: s.model, seed: s.trial, world: t.repeat, draw: 0, value: s.scores[0] })));
}

// ---------------------------------------------------------------------------------------------------
// The analysis: the headline, the findings, the margins, power, what the conclusions depend on.

/** Everything notebook 07 reports of a fair-protocol study (data only; lib/views/fair-report.ts renders it). */
export interface FairAnalysis {
  /** Tuned: every repeat's choices over the evaluation worlds, unit "crossed" (repeats x worlds random). */
  tuned: StudySummary;
  /** Untuned (one row of the sensitivity table): the same worlds and seeds, unit "replicate" (worlds random). */
  untuned?: StudySummary;
  findings: Finding[];
  untunedFindings?: Finding[];
  /** Verdicts at margins 0.25, 0.5 and 1 % (FINDING_MARGINS). */
  margins: ReturnType<typeof findingsAtMargins>;
  /** Per model vs the baseline: the crossed estimate's variance components, power at 1 %, and the smallest design reaching power 0.8 at 1 %. */
  power: { model: string; components: CrossedEstimate["components"]; se: number; df: number; powerAtOnePercent: number; needed: { repeats: number; worlds: number } | undefined }[];
  /** Per finding with one contrast: the meta-regression of its per-world effect on the world prior's parameters. */
  dependence: { id: string; regression: MetaRegression }[];
  /** Per model: how often the best epoch was the epoch cap (tuned runs), and how often the untuned configuration was chosen. */
  /**
   * Per model's tuned runs: how often the best epoch was the cap, the median best epoch, and for models whose towers
   * stop apart (IP, lib/train/early-stopping.ts stoppingUnits) each tower's median best epoch, by its criterion.
   */
  epochCap: { model: string; runs: number; atCap: number; share: number; maxEpochs: number; medianBestEpoch: number; units?: { criterion: string; medianBestEpoch: number }[] }[];
  untunedChosen: { model: string; repeats: number; of: number }[];
}

/** The margins (percent of IP's mean) at which the README shows every verdict (issue 22: 0.25, 0.5 and 1 %). */
export const FINDING_MARGINS = [0.25, 0.5, 1] as const;

/** Power target of the design question: 0.8 at a 1 % difference, alpha as the summary's. */
const TARGET = { effect: 1, power: 0.8 };

/**
 * The analysis of a fair-protocol study: `records` are the results file's (the evaluation's and the tuning's),
 * `repeats` the tuning (runFairTuning). Metric: the one tuning selects on (SELECTION_METRIC: the test day's CTCVR
 * cross-entropy), alpha 0.01, IP the baseline.
 */
export function analyseFair(
  evaluation: StudySpec,
  repeats: readonly TuningRepeat[],
  records: readonly StudyRecord[],
  options: { alpha?: number; margin?: number; prior?: string } = {},
): FairAnalysis {
  const alpha = options.alpha ?? 0.01;
  const results = evaluationResults(evaluation, records);
  const tuned = summarizeStudy(results, { metric: SELECTION_METRIC, alpha, variant: TUNED_VARIANT, unit: "crossed" });
  const hasUntuned = results.some((r) => r.variant === UNTUNED_VARIANT);
  const untuned = hasUntuned ? summarizeStudy(results, { metric: SELECTION_METRIC, alpha, variant: UNTUNED_VARIANT, unit: "replicate" }) : undefined;
  const trials = trialDesignRuns(repeats);
  const findings = evaluateFindings(tuned, { margin: options.margin, trials });
  const untunedFindings = untuned ? evaluateFindings(untuned, { margin: options.margin }) : undefined;
  const margins = findingsAtMargins(tuned, FINDING_MARGINS, { trials });
  const power = tuned.models
    .filter((m) => m.model !== tuned.baseline)
    .map((m) => {
      // the comparison with IP as the summary made it (compare.ts, design "crossed"): its cells' variance components
      const c = m.vsBaseline?.crossed;
      const components = c?.components ?? { rows: NaN, columns: NaN, residual: NaN };
      const se = c ? m.vsBaseline!.se : NaN;
      const df = c ? m.vsBaseline!.df : NaN;
      const powerAtOnePercent = Number.isFinite(se) && se > 0 && df > 0 ? tTestPower({ effect: TARGET.effect, se, df, alpha }) : NaN;
      let needed: { repeats: number; worlds: number } | undefined;
      if (c) {
        search: for (let R = Math.max(2, c.cells.length); R <= 10; R++) {
          for (let W = 2; W <= 200; W++) {
            const planned = crossedPlannedSe(components, R, W);
            if (planned.se > 0 && planned.df > 0 && tTestPower({ effect: TARGET.effect, se: planned.se, df: planned.df, alpha }) >= TARGET.power) {
              needed = { repeats: R, worlds: W };
              break search;
            }
          }
        }
      }
      return { model: m.model, components, se, df, powerAtOnePercent, needed };
    });
  const prior = options.prior ?? evaluation.worldPrior;
  const dependence = prior
    ? FINDING_RULES.flatMap((rule) => {
        const contrast = findingContrast(rule);
        return contrast ? [{ id: rule.id, regression: metaRegression(tuned.runs, contrast, { prior, higherIsBetter: tuned.higherIsBetter, baseline: tuned.baseline }) }] : [];
      })
    : [];
  const tunedRecords = results.filter((r) => r.variant === TUNED_VARIANT);
  const epochCap = tuned.models.map((m) => {
    const runs = tunedRecords.filter((r) => r.model === m.model);
    const atCap = runs.filter((r) => r.training.bestEpoch >= r.training.config.maxEpochs).length;
    const median = (xs: number[]) => (xs.length === 0 ? NaN : ssMedian(xs));
    const criteria = [...new Set(runs.flatMap((r) => r.training.units?.map((u) => u.criterion) ?? []))];
    return {
      model: m.model,
      runs: runs.length,
      atCap,
      share: runs.length === 0 ? NaN : atCap / runs.length,
      maxEpochs: Math.max(0, ...runs.map((r) => r.training.config.maxEpochs)),
      medianBestEpoch: median(runs.map((r) => r.training.bestEpoch)),
      ...(criteria.length > 0
        ? { units: criteria.map((criterion) => ({ criterion, medianBestEpoch: median(runs.flatMap((r) => r.training.units?.filter((u) => u.criterion === criterion).map((u) => u.bestEpoch) ?? [])) })) }
        : {}),
    };
  });
  const untunedChosen = tuned.models.map((m) => ({ model: m.model, repeats: repeats.filter((t) => t.chosen.some((c) => c.model === m.model && c.trial === 0)).length, of: repeats.length }));
  return { tuned, untuned, findings, untunedFindings, margins, power, dependence, epochCap, untunedChosen };
}
