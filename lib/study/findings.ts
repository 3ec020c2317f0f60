/**
 * The paper's findings, each stated once as data (id, test kind, models) and tested as the paper states it,
 * with a three-way verdict:
 *
 *   holds         the data support the claim at alpha;
 *   contradicted  the data are evidence AGAINST it at alpha: significance in the other direction, or,
 *                 where the claim is a difference, equivalence shown (a difference inside the margin);
 *   inconclusive  neither: "not significant" never reads as "does not hold".
 *
 * The claim and the reason printed for each finding are derived from its rule and its numbers, never
 * typed a second time. Every comparison is the design-aware contrast of lib/study/compare.ts at the
 * summary's unit ("seed": paired by seed within each data set, each seed on its own share of the test day
 * when the runs recorded test folds; "replicate": one value per data replicate, across worlds), in percent
 * of the baseline's (IP's) mean, positive = better; alpha defaults to the summary's (0.01, as in the paper); the
 * margin of equivalence and non-inferiority defaults to 0.5 % of IP's mean (`margin` option).
 *
 * Test kinds (a small registry, FINDING_KINDS; a new kind enters there):
 *   difference        "A is better (worse) than B". For: two-sided t of the difference, in the claimed
 *                     direction. Against: two-sided t in the other direction; or TOST equivalence within
 *                     +-margin (Schuirmann 1987). Holds wins over equivalence (a significant difference
 *                     smaller than the margin holds, and the reason says it is inside the margin).
 *   at-least-as-good  "A is at least as good as B". For: non-inferiority, one-sided t of H0: A worse by
 *                     margin or more. Against: two-sided t, A significantly worse (this wins).
 *   equivalent        "A is equivalent to B". For: TOST within +-margin. Against: the difference lies beyond
 *                     the margin (one-sided t against the nearer bound, doubled: the (1 - alpha) interval
 *                     lies outside +-margin).
 *   more-variable     "A varies more over seeds than B". For / against: the Brown-Forsythe test (absolute
 *                     deviations from the median within each data replicate), with the sd ratio > 1 / < 1.
 *   best              "A is the best model". For: A non-inferior to EVERY other model (an intersection-union
 *                     test: each at alpha, no adjustment needed, Berger 1982; its p is the largest).
 *                     Against: SOME other model significantly better than A, Holm-adjusted over the others
 *                     (a union of hypotheses, so multiplicity is controlled). Against wins.
 *   not-additive      "The gains are not additive": I = g(combined) - g(part 1) - g(part 2), g = % better
 *                     than the baseline, i.e. the 2x2 interaction contrast, paired like any contrast. For:
 *                     two-sided t of I = 0. Against: TOST, I within +-margin. For wins.
 *
 * Multiplicity. `evaluateFindings` decides each finding at alpha on its own tests, as the paper does for
 * its own comparisons (only `best` adjusts, within itself). `findingsAcrossLevels` / the sensitivity grid
 * adjust every test of the grid together (Holm over all of them) before deciding: `decideFindings`.
 */
import {
  TEstimate,
  equivalenceOfEstimate,
  holm,
  nonInferiorityOfEstimate,
  oneSidedTTest,
} from "../stats";
import { formatNumber, formatP, formatPercent } from "../format";
import { Contrast, ContrastEstimate, DesignRun, contrastEstimate, differenceEstimate, spreadComparison } from "./compare";
import { StudySummary, designText } from "./summary";

export type Verdict = "holds" | "contradicted" | "inconclusive";
export const VERDICTS: readonly Verdict[] = ["holds", "contradicted", "inconclusive"];

export type FindingId = PaperFindingId | DebiasingFindingId;

/** The claims a debiasing family makes against the model it extends (issue 24; rules from debiasingRules). */
export type DebiasingFindingId = `${string}-lowers-cvr-bias-vs-${string}` | `${string}-better-ctcvr-than-${string}`;

export type PaperFindingId =
  | "esp-worse-than-ip"
  | "essp-split-better-than-esp"
  | "ipsp-better-than-ip"
  | "ipsp-best"
  | "esmm-ns-better-than-ip"
  | "esmm-ns-vs-essp-split"
  | "esmm-equivalent-to-ipsp"
  | "esmm-more-variable-than-ipsp"
  | "gains-not-additive";

export type FindingTest =
  | { kind: "difference"; model: string; direction: "better" | "worse"; than: string }
  | { kind: "at-least-as-good"; model: string; than: string }
  | { kind: "equivalent"; model: string; to: string }
  | { kind: "more-variable"; model: string; than: string }
  | { kind: "best"; model: string }
  | { kind: "not-additive"; combined: string; parts: [string, string]; baseline: string };

/**
 * The alternative of a finding's claim, as the paper states it: "two-sided" (a difference, tested two-sided and
 * counted in the claimed direction, as the paper's t tests), "greater" / "less" (one-sided: non-inferiority,
 * a larger spread, a combined gain below the sum), "equivalence" (TOST).
 */
export type Alternative = "two-sided" | "greater" | "less" | "equivalence";

export interface FindingRule {
  id: FindingId;
  test: FindingTest;
  /** A magnitude the paper gives for the estimate, checked beside the verdict: the estimate within value ± tolerance (percent), by TOST. */
  about?: { value: number; tolerance: number; source: string };
}

/** The paper's findings (O'Brien et al., RecSys'21, Section 5 and Figure 3), as rules. */
export const FINDING_RULES: readonly FindingRule[] = [
  { id: "esp-worse-than-ip", test: { kind: "difference", model: "ESP", direction: "worse", than: "IP" }, about: { value: -2, tolerance: 1, source: "Section 5: ESP \"was about 2% worse than IP\"" } },
  { id: "essp-split-better-than-esp", test: { kind: "difference", model: "ESSP-Split", direction: "better", than: "ESP" } },
  { id: "ipsp-better-than-ip", test: { kind: "difference", model: "IPSP", direction: "better", than: "IP" } },
  { id: "ipsp-best", test: { kind: "best", model: "IPSP" } },
  { id: "esmm-ns-better-than-ip", test: { kind: "difference", model: "ESMM-NS", direction: "better", than: "IP" } },
  { id: "esmm-ns-vs-essp-split", test: { kind: "at-least-as-good", model: "ESMM-NS", than: "ESSP-Split" } },
  { id: "esmm-equivalent-to-ipsp", test: { kind: "equivalent", model: "ESMM", to: "IPSP" } },
  { id: "esmm-more-variable-than-ipsp", test: { kind: "more-variable", model: "ESMM", than: "IPSP" } },
  { id: "gains-not-additive", test: { kind: "not-additive", combined: "ESMM", parts: ["ESMM-NS", "IPSP"], baseline: "IP" } },
];

/**
 * The debiasing families' claims as rules (issue 24: does a debiasing term lower the CVR bias, and does that reach
 * CTCVR?), one per [model, reference] pair of `pairs` and claim: "bias" gives `<model>-lowers-cvr-bias-vs-<ref>`,
 * "ctcvr" gives `<model>-better-ctcvr-than-<ref>`, each the "difference" kind (model better than reference, two-sided
 * t counted in the claimed direction; contradicted by a significant change the other way or by TOST equivalence
 * within the margin). Evaluate the "bias" rules on a summary of "mechanism.nonClickedKl" and the "ctcvr" rules on
 * one of "ctcvr.logLoss" (evaluateFindings(summary, options, rules)); the rule names only models and direction.
 */
export function debiasingRules(pairs: readonly (readonly [string, string])[], claim: "bias" | "ctcvr"): FindingRule[] {
  const slug = (m: string) => m.toLowerCase();
  return pairs.map(([model, than]) => ({
    id: (claim === "bias" ? `${slug(model)}-lowers-cvr-bias-vs-${slug(than)}` : `${slug(model)}-better-ctcvr-than-${slug(than)}`) as DebiasingFindingId,
    test: { kind: "difference", model, direction: "better", than },
  }));
}

/** One test a verdict rests on. */
export interface FindingTestResult {
  /** "for": all must reject for `holds`; "against": any rejecting gives `contradicted`. */
  role: "for" | "against";
  /** What is tested, in words (derived), e.g. "ESP worse than IP (two-sided t, claimed direction)". */
  name: string;
  statistic: number;
  df: number;
  /** Raw p; 1 for a directional test whose estimate points the other way (`applies` false). */
  p: number;
  /** p after the multiplicity adjustment in force (= p when none). */
  pAdjusted: number;
  /** False for a directional test whose estimate points the other way: it cannot reject. */
  applies: boolean;
  /** "equivalence" on an `against` test that shows the two within the margin (TOST); absent: it shows the claim's opposite. */
  shows?: "equivalence";
}

export interface Finding {
  id: FindingId;
  kind: FindingTest["kind"];
  /** The claim's alternative (the kind's, see Alternative). */
  alternative: Alternative;
  /** The claim in words, naming the metric (derived from the rule). */
  claim: string;
  /** How the claim is tested (derived from the rule, the design and the parameters). */
  method: string;
  verdict: Verdict;
  /** The p of the claim's own test: the difference's two-sided p; non-inferiority, TOST, Brown-Forsythe or interaction p; for `best` the intersection-union p (largest). */
  p: number;
  /** The smallest adjusted p of the tests against the claim. */
  pAgainst: number;
  /** Why the verdict follows (computed). */
  reason: string;
  /** The numbers the verdict rests on, in a sentence. */
  evidence: string;
  /**
   * Family-wise control over the findings evaluated together (evaluateFindings: Holm over the family). `pFor`:
   * the claim's p as its verdict reads it (the largest p of its tests for the claim, 1 when the estimate points
   * the other way); `pFamilywise`: pFor Holm-adjusted over the family; `pAgainstFamilywise`: pAgainst likewise;
   * `verdictFamilywise`: the verdict from those two at alpha (holds when pFamilywise < alpha, contradicted when
   * pAgainstFamilywise < alpha, the kind's precedence when both).
   */
  pFor: number;
  pFamilywise: number;
  pAgainstFamilywise: number;
  verdictFamilywise: Verdict;
  /** The paper's stated magnitude (rule.about) checked: TOST p of |estimate - value| < tolerance, and whether it is shown at alpha. */
  magnitude?: { value: number; tolerance: number; source: string; p: number; shown: boolean };
  tests: FindingTestResult[];
  /** The estimate behind the claim in percent of the baseline's mean (difference, interaction, sd ratio for more-variable). */
  estimate: number;
  se: number;
  /** Minimum detectable effect of the claim's comparison (two-sided alpha, power 0.8), percent. */
  mde: number;
  alpha: number;
  margin: number;
  /** Numbers for tables and tests. */
  values: Record<string, number>;
}

export interface FindingOptions {
  /** Equivalence / non-inferiority margin in percent of the baseline's mean (default 0.5). */
  margin?: number;
  /** Significance level (default: the summary's alpha). */
  alpha?: number;
  /**
   * Hyper-parameter trials, one DesignRun per (model, trial) with `world` = the tuning repeat, `seed` = the trial
   * and `value` = its selection score (lib/tune/protocol.ts trialDesignRuns). When given, `more-variable` tests the
   * spread over trials (the paper's remark: ESMM "did have slightly more varied performance as a function of
   * hyper-parameter values") instead of over seeds.
   */
  trials?: readonly DesignRun[];
}

export const DEFAULT_EQUIVALENCE_MARGIN = 0.5;

// ---------------------------------------------------------------------------------------------------
// The kinds: claim text, method text, and the tests from a summary.

interface Ctx {
  s: StudySummary;
  alpha: number;
  margin: number;
  trials?: readonly DesignRun[];
}

interface Evaluation {
  tests: Omit<FindingTestResult, "pAdjusted">[];
  p: number;
  estimate: number;
  se: number;
  mde: number;
  evidence: string;
  values: Record<string, number>;
  /** Extra words for the reason, e.g. "inside the margin". */
  note?: string;
}

interface FindingKind<T extends FindingTest> {
  /** The claim's alternative. */
  alternative: Alternative;
  models(t: T): string[];
  claim(t: T, ctx: Ctx): string;
  method(t: T, ctx: Ctx): string;
  evaluate(t: T, ctx: Ctx): Evaluation;
  /** Which verdict wins when tests for and against both reject. */
  precedence: "holds" | "contradicted";
}

function metricWords(ctx: Ctx): string {
  return ctx.s.label;
}

function better(ctx: Ctx): string {
  return ctx.s.higherIsBetter ? "higher" : "lower";
}

function compareOpts(ctx: Ctx) {
  return { higherIsBetter: ctx.s.higherIsBetter, baseline: ctx.s.baseline, alpha: ctx.alpha, powerAnalysis: ctx.s.powerAnalysis, unit: ctx.s.unit };
}

/** A two-sided test counted only when the estimate points the given way (else p = 1, applies = false). */
function directional(c: ContrastEstimate, positive: boolean): { p: number; applies: boolean } {
  if (Number.isNaN(c.p)) return { p: NaN, applies: true };
  const applies = positive ? c.estimate > 0 : c.estimate < 0;
  return { p: applies ? c.p : 1, applies };
}

function estimateEvidence(what: string, c: ContrastEstimate): string {
  return `${what} ${formatPercent(c.estimate, c.se)} (${designText(c)}; two-sided p = ${formatP(c.p)}; MDE ${formatNumber(c.mde, 3)} %)`;
}

const EXTRA_P_WORDS: Record<string, string> = { tostP: "TOST", nonInferiorityP: "non-inferiority", oneSidedLessP: "one-sided (I < 0)" };

/** The parts of an Evaluation that come from one contrast: its estimate, se, MDE, evidence and values. */
function fromContrast(what: string, c: ContrastEstimate, p: number, extra: Record<string, number>): Omit<Evaluation, "tests" | "note"> {
  const extraText = Object.entries(extra).map(([k, v]) => `${EXTRA_P_WORDS[k] ?? k} p = ${formatP(v)}`).join("; ");
  return {
    p,
    estimate: c.estimate,
    se: c.se,
    mde: c.mde,
    evidence: estimateEvidence(what, c) + (extraText ? `; ${extraText}` : ""),
    values: { estimate: c.estimate, se: c.se, t: c.t, df: c.df, p: c.p, mde: c.mde, units: c.units, ...extra },
  };
}

/** An estimate the t tests accept (a model with one run, or none, gives NaN: no test). */
function usable(e: TEstimate): boolean {
  return Number.isFinite(e.estimate) && Number.isFinite(e.se) && e.se >= 0 && e.df > 0;
}

const NO_TEST = { t: NaN, p: NaN };

function tost(c: TEstimate, margin: number): { p: number; lower: { t: number }; upper: { t: number } } {
  return usable(c) ? equivalenceOfEstimate(c, margin) : { p: NaN, lower: NO_TEST, upper: NO_TEST };
}

function nonInferiority(c: TEstimate, margin: number): { t: number; p: number } {
  return usable(c) ? nonInferiorityOfEstimate(c, margin, "greater") : NO_TEST;
}

function oneSided(c: TEstimate, nullValue: number, alternative: "greater" | "less"): { t: number; p: number } {
  return usable(c) ? oneSidedTTest(c, nullValue, alternative) : NO_TEST;
}

const difference: FindingKind<Extract<FindingTest, { kind: "difference" }>> = {
  alternative: "two-sided",
  models: (t) => [t.model, t.than],
  claim: (t, ctx) => `${t.model} is ${t.direction} than ${t.than} (${t.direction === "better" ? better(ctx) : ctx.s.higherIsBetter ? "lower" : "higher"} ${metricWords(ctx)})`,
  method: (t, ctx) =>
    `holds when the two-sided t test of ${t.model} vs ${t.than} has p < ${ctx.alpha} in the claimed direction; contradicted when it has p < ${ctx.alpha} ` +
    `the other way, or when TOST shows the two within ±${ctx.margin} % of ${ctx.s.baseline}'s mean`,
  evaluate(t, ctx) {
    const c = differenceEstimate(ctx.s.runs, t.model, t.than, compareOpts(ctx));
    const claimedPositive = t.direction === "better";
    const eq = tost(c, ctx.margin);
    const inside = Math.abs(c.estimate) < ctx.margin;
    return {
      tests: [
        { role: "for", name: `${t.model} ${t.direction} than ${t.than} (two-sided t)`, statistic: c.t, df: c.df, ...directional(c, claimedPositive) },
        { role: "against", name: `${t.model} ${t.direction === "better" ? "worse" : "better"} than ${t.than} (two-sided t)`, statistic: c.t, df: c.df, ...directional(c, !claimedPositive) },
        { role: "against", name: `${t.model} equivalent to ${t.than} within ±${ctx.margin} % (TOST)`, statistic: Math.min(eq.lower.t, -eq.upper.t), df: c.df, p: eq.p, applies: true, shows: "equivalence" },
      ],
      ...fromContrast(`${t.model} vs ${t.than}`, c, c.p, { tostP: eq.p }),
      note: inside ? `the difference is inside the ±${ctx.margin} % margin` : undefined,
    };
  },
  precedence: "holds",
};

const atLeastAsGood: FindingKind<Extract<FindingTest, { kind: "at-least-as-good" }>> = {
  alternative: "greater",
  models: (t) => [t.model, t.than],
  claim: (t, ctx) => `${t.model} is at least as good as ${t.than} (${metricWords(ctx)} not worse by ${ctx.margin} % of ${ctx.s.baseline}'s mean or more)`,
  method: (t, ctx) =>
    `holds when the one-sided non-inferiority t test (H0: ${t.model} worse by ≥ ${ctx.margin} %) has p < ${ctx.alpha} and ${t.model} is not significantly worse; ` +
    `contradicted when the two-sided t test shows ${t.model} worse at p < ${ctx.alpha}`,
  evaluate(t, ctx) {
    const c = differenceEstimate(ctx.s.runs, t.model, t.than, compareOpts(ctx));
    const ni = nonInferiority(c, ctx.margin);
    return {
      tests: [
        { role: "for", name: `${t.model} not worse than ${t.than} by ${ctx.margin} % or more (one-sided non-inferiority t)`, statistic: ni.t, df: c.df, p: ni.p, applies: true },
        { role: "against", name: `${t.model} worse than ${t.than} (two-sided t)`, statistic: c.t, df: c.df, ...directional(c, false) },
      ],
      ...fromContrast(`${t.model} vs ${t.than}`, c, ni.p, { nonInferiorityP: ni.p }),
    };
  },
  precedence: "contradicted",
};

const equivalent: FindingKind<Extract<FindingTest, { kind: "equivalent" }>> = {
  alternative: "equivalence",
  models: (t) => [t.model, t.to],
  claim: (t, ctx) => `${t.model} is equivalent to ${t.to} (${metricWords(ctx)} within ±${ctx.margin} % of ${ctx.s.baseline}'s mean)`,
  method: (t, ctx) =>
    `holds when two one-sided t tests (TOST) put the difference inside ±${ctx.margin} % at p < ${ctx.alpha}; contradicted when the ` +
    `${100 * (1 - ctx.alpha)} % interval of the difference lies outside ±${ctx.margin} %`,
  evaluate(t, ctx) {
    const c = differenceEstimate(ctx.s.runs, t.model, t.to, compareOpts(ctx));
    const eq = tost(c, ctx.margin);
    const outward = c.estimate >= 0 ? oneSided(c, ctx.margin, "greater") : oneSided(c, -ctx.margin, "less");
    return {
      tests: [
        { role: "for", name: `${t.model} within ±${ctx.margin} % of ${t.to} (TOST)`, statistic: Math.min(eq.lower.t, -eq.upper.t), df: c.df, p: eq.p, applies: true },
        { role: "against", name: `${t.model} and ${t.to} differ by more than ${ctx.margin} % (one-sided t beyond the nearer bound, doubled)`, statistic: outward.t, df: c.df, p: Number.isNaN(outward.p) ? NaN : Math.min(1, 2 * outward.p), applies: true },
      ],
      ...fromContrast(`${t.model} vs ${t.to}`, c, eq.p, { tostP: eq.p }),
    };
  },
  precedence: "holds",
};

const overWhat = (ctx: Ctx) => (ctx.trials ? "hyper-parameter trials" : "seeds");

const moreVariable: FindingKind<Extract<FindingTest, { kind: "more-variable" }>> = {
  alternative: "greater",
  models: (t) => [t.model, t.than],
  claim: (t, ctx) => `${t.model} varies more over ${overWhat(ctx)} than ${t.than} (${ctx.trials ? "selection score" : metricWords(ctx)})`,
  method: (t, ctx) =>
    (ctx.trials
      ? `Brown-Forsythe test of the spread over trials (unit: one trial; absolute deviations from the median within each tuning repeat): holds when p < ${ctx.alpha} `
      : `Brown-Forsythe test of the seed-to-seed spread (absolute deviations from the median within each data replicate): holds when p < ${ctx.alpha} `) +
    `and ${t.model}'s sd is the larger, contradicted when p < ${ctx.alpha} and it is the smaller`,
  evaluate(t, ctx) {
    const v = ctx.trials
      ? spreadComparison(ctx.trials, t.model, t.than, { baseline: ctx.s.baseline, unit: "seed" })
      : spreadComparison(ctx.s.runs, t.model, t.than, { baseline: ctx.s.baseline, unit: ctx.s.unit });
    const larger = v.sdRatio > 1;
    const p = v.p;
    return {
      tests: [
        { role: "for", name: `${t.model}'s spread larger than ${t.than}'s (Brown-Forsythe)`, statistic: v.statistic, df: v.df2, p: Number.isNaN(p) ? NaN : larger ? p : 1, applies: larger || Number.isNaN(p) },
        { role: "against", name: `${t.model}'s spread smaller than ${t.than}'s (Brown-Forsythe)`, statistic: v.statistic, df: v.df2, p: Number.isNaN(p) ? NaN : larger ? 1 : p, applies: !larger || Number.isNaN(p) },
      ],
      p,
      estimate: v.sdRatio,
      se: NaN,
      mde: NaN,
      evidence:
        `sd over seeds ${t.model} ${formatNumber(v.sdA, 3)} %, ${t.than} ${formatNumber(v.sdB, 3)} % of ${ctx.s.baseline}'s mean (ratio ${formatNumber(v.sdRatio, 3)}; ` +
        `${v.nA} and ${v.nB} ${ctx.trials ? "trials" : "runs"} over ${v.replicates} ${ctx.trials ? "tuning repeat(s)" : "data replicate(s)"}); Brown-Forsythe F = ${formatNumber(v.statistic, 3)}, df ${v.df1}, ${formatNumber(v.df2, 3)}, p = ${formatP(p)}`,
      values: { sdA: v.sdA, sdB: v.sdB, sdRatio: v.sdRatio, statistic: v.statistic, df1: v.df1, df2: v.df2, p },
    };
  },
  precedence: "holds",
};

const best: FindingKind<Extract<FindingTest, { kind: "best" }>> = {
  alternative: "greater",
  models: (t) => [t.model],
  claim: (t, ctx) => `${t.model} is the best model: at least as good as every other model (${metricWords(ctx)}, within ${ctx.margin} % of ${ctx.s.baseline}'s mean)`,
  method: (t, ctx) =>
    `holds when ${t.model} is non-inferior (one-sided t, margin ${ctx.margin} %) to every other model at p < ${ctx.alpha} (intersection-union test) and none is ` +
    `significantly better; contradicted when some model is better than ${t.model} at Holm-adjusted p < ${ctx.alpha} (two-sided t)`,
  evaluate(t, ctx) {
    const others = ctx.s.models.map((m) => m.model).filter((m) => m !== t.model && ctx.s.runs.some((r) => r.model === m));
    const comparisons = others.map((o) => ({ o, c: differenceEstimate(ctx.s.runs, t.model, o, compareOpts(ctx)) }));
    const ni = comparisons.map(({ o, c }) => ({ o, c, ni: nonInferiority(c, ctx.margin) }));
    const tests: Omit<FindingTestResult, "pAdjusted">[] = [
      ...ni.map(({ o, c, ni: x }) => ({ role: "for" as const, name: `${t.model} not worse than ${o} by ${ctx.margin} % or more (non-inferiority t)`, statistic: x.t, df: c.df, p: x.p, applies: true })),
      ...comparisons.map(({ o, c }) => ({ role: "against" as const, name: `${o} better than ${t.model} (two-sided t)`, statistic: -c.t, df: c.df, ...directional(c, false) })),
    ];
    const iut = ni.length === 0 ? NaN : Math.max(...ni.map((x) => x.ni.p));
    const worst = comparisons.reduce<{ o: string; c: ContrastEstimate } | undefined>((w, x) => (w === undefined || x.c.estimate < w.c.estimate ? x : w), undefined);
    return {
      tests,
      p: iut,
      estimate: worst?.c.estimate ?? NaN,
      se: worst?.c.se ?? NaN,
      mde: worst?.c.mde ?? NaN,
      evidence: comparisons.map(({ o, c }) => `vs ${o} ${formatPercent(c.estimate, c.se)} (p = ${formatP(c.p)})`).join("; "),
      values: Object.fromEntries(comparisons.flatMap(({ o, c }) => [[`vs ${o}`, c.estimate], [`se vs ${o}`, c.se], [`p vs ${o}`, c.p]])),
    };
  },
  precedence: "contradicted",
};

const notAdditive: FindingKind<Extract<FindingTest, { kind: "not-additive" }>> = {
  alternative: "less",
  models: (t) => [t.combined, ...t.parts, t.baseline],
  claim: (t, ctx) =>
    `The gains are not additive: ${t.combined}'s gain over ${t.baseline} is below ${t.parts[0]}'s gain plus ${t.parts[1]}'s (${metricWords(ctx)})`,
  method: (t, ctx) =>
    `interaction I = g(${t.combined}) - g(${t.parts[0]}) - g(${t.parts[1]}), g = % better than ${t.baseline}: holds when the one-sided t test of I < 0 (the paper's ` +
    `direction: the combined gain below the sum) has p < ${ctx.alpha}; contradicted when the one-sided t test of I > 0 has p < ${ctx.alpha}, or TOST puts I inside ±${ctx.margin} %`,
  evaluate(t, ctx) {
    // g(C) - g(P1) - g(P2) in percent = -(C - P1 - P2 + B) scaled: the contrast {C: 1, P1: -1, P2: -1, B: 1}.
    const c = contrastEstimate(ctx.s.runs, { [t.combined]: 1, [t.parts[0]]: -1, [t.parts[1]]: -1, [t.baseline]: 1 }, compareOpts(ctx));
    const below = oneSided(c, 0, "less");
    const above = oneSided(c, 0, "greater");
    const eq = tost(c, ctx.margin);
    return {
      tests: [
        { role: "for", name: `interaction I < 0: combined gain below the sum (one-sided t)`, statistic: below.t, df: c.df, p: below.p, applies: !(c.estimate > 0) },
        { role: "against", name: `interaction I > 0: combined gain above the sum (one-sided t)`, statistic: above.t, df: c.df, p: above.p, applies: !(c.estimate < 0) },
        { role: "against", name: `interaction I within ±${ctx.margin} % (TOST)`, statistic: Math.min(eq.lower.t, -eq.upper.t), df: c.df, p: eq.p, applies: true, shows: "equivalence" },
      ],
      ...fromContrast("I", c, below.p, { oneSidedLessP: below.p, tostP: eq.p }),
    };
  },
  precedence: "holds",
};

/** The registry of test kinds. */
export const FINDING_KINDS: { [K in FindingTest["kind"]]: FindingKind<Extract<FindingTest, { kind: K }>> } = {
  difference,
  "at-least-as-good": atLeastAsGood,
  equivalent,
  "more-variable": moreVariable,
  best,
  "not-additive": notAdditive,
};

function kindOf<T extends FindingTest>(t: T): FindingKind<T> {
  return FINDING_KINDS[t.kind] as unknown as FindingKind<T>;
}

/**
 * The contrast of model means a finding's estimate is (positive = the claim's first model better), for the
 * meta-regression over worlds (./meta-regression.ts): A vs B for difference, at-least-as-good and equivalent (the
 * claim's model first), the 2x2 interaction for not-additive; undefined for best and more-variable (no one contrast).
 */
export function findingContrast(rule: FindingRule): Contrast | undefined {
  const t = rule.test;
  switch (t.kind) {
    case "difference":
    case "at-least-as-good":
      return { [t.model]: 1, [t.than]: -1 };
    case "equivalent":
      return { [t.model]: 1, [t.to]: -1 };
    case "not-additive":
      return { [t.combined]: 1, [t.parts[0]]: -1, [t.parts[1]]: -1, [t.baseline]: 1 };
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Deciding.

/** The verdict from a finding's tests at alpha (adjusted p's). */
export function decideVerdict(tests: readonly FindingTestResult[], alpha: number, precedence: "holds" | "contradicted"): Verdict {
  const support = tests.filter((x) => x.role === "for");
  const against = tests.filter((x) => x.role === "against");
  const holds = support.length > 0 && support.every((x) => x.pAdjusted < alpha);
  const contradicted = against.some((x) => x.pAdjusted < alpha);
  if (holds && contradicted) return precedence;
  return holds ? "holds" : contradicted ? "contradicted" : "inconclusive";
}

function reasonOf(f: Pick<Finding, "verdict" | "tests" | "alpha">, note?: string): string {
  const pText = (x: FindingTestResult) => (x.pAdjusted === x.p || Number.isNaN(x.p) ? `p = ${formatP(x.p)}` : `p = ${formatP(x.p)}, Holm-adjusted ${formatP(x.pAdjusted)}`);
  const list = (xs: FindingTestResult[]) => xs.map((x) => `${x.name}: ${pText(x)}`).join("; ") || "none applies";
  const support = f.tests.filter((x) => x.role === "for");
  const against = f.tests.filter((x) => x.role === "against" && x.applies);
  const opposite = f.tests.filter((x) => x.role === "for" && !x.applies);
  const rejecting = against.filter((x) => x.pAdjusted < f.alpha);
  let text: string;
  if (f.verdict === "holds") text = `${support.length > 1 ? "every test for the claim rejects" : "the test for the claim rejects"} at alpha = ${f.alpha} (${list(support)})`;
  else if (f.verdict === "contradicted") text = `evidence against the claim at alpha = ${f.alpha} (${list(rejecting)})`;
  else {
    const missing = f.tests.every((x) => Number.isNaN(x.p));
    text = missing
      ? "no test possible (a model it needs has too few runs)"
      : opposite.length > 0
        ? `the estimate points against the claim, but not significantly at alpha = ${f.alpha} (${list(against)})`
        : `no test decides at alpha = ${f.alpha} (for: ${list(support.filter((x) => !(x.pAdjusted < f.alpha)))}; against: ${list(against)})`;
  }
  return note ? `${text}; ${note}` : text;
}

function build(rule: FindingRule, ctx: Ctx, adjust: (tests: Omit<FindingTestResult, "pAdjusted">[]) => number[]): Finding {
  const kind = kindOf(rule.test);
  const claim = kind.claim(rule.test, ctx);
  const method = kind.method(rule.test, ctx);
  const missing = kind.models(rule.test).filter((m) => !ctx.s.runs.some((r) => r.model === m));
  const ev: Evaluation =
    missing.length > 0
      ? { tests: [], p: NaN, estimate: NaN, se: NaN, mde: NaN, evidence: `no runs of ${missing.join(", ")}`, values: {} }
      : kind.evaluate(rule.test, ctx);
  const pAdj = adjust(ev.tests);
  const tests: FindingTestResult[] = ev.tests.map((x, k) => ({ ...x, pAdjusted: pAdj[k] }));
  const verdict = missing.length > 0 ? "inconclusive" : decideVerdict(tests, ctx.alpha, kind.precedence);
  const against = tests.filter((x) => x.role === "against").map((x) => x.pAdjusted);
  const forP = tests.filter((x) => x.role === "for").map((x) => (Number.isNaN(x.p) ? NaN : x.p));
  const magnitude =
    rule.about && missing.length === 0 && (rule.test.kind === "difference" || rule.test.kind === "at-least-as-good") && Number.isFinite(ev.se)
      ? (() => {
          const eq = tost({ estimate: ev.estimate - rule.about!.value, se: ev.se, df: ev.values.df }, rule.about!.tolerance);
          return { ...rule.about!, p: eq.p, shown: eq.p < ctx.alpha };
        })()
      : undefined;
  const f: Finding = {
    id: rule.id,
    kind: rule.test.kind,
    alternative: kind.alternative,
    claim,
    method,
    verdict,
    p: ev.p,
    pAgainst: against.length > 0 ? Math.min(...against.map((p) => (Number.isNaN(p) ? 1 : p))) : NaN,
    reason: "",
    evidence: ev.evidence,
    tests,
    estimate: ev.estimate,
    se: ev.se,
    mde: ev.mde,
    alpha: ctx.alpha,
    margin: ctx.margin,
    values: ev.values,
    pFor: forP.length === 0 || forP.some(Number.isNaN) ? NaN : Math.max(...forP),
    pFamilywise: NaN,
    pAgainstFamilywise: NaN,
    verdictFamilywise: "inconclusive",
    ...(magnitude ? { magnitude } : {}),
  };
  f.reason = missing.length > 0 ? `no test possible: no runs of ${missing.join(", ")}` : reasonOf(f, ev.note);
  return f;
}

function context(summary: StudySummary, options: FindingOptions): Ctx {
  const margin = options.margin ?? DEFAULT_EQUIVALENCE_MARGIN;
  if (!(margin > 0)) throw new Error(`findings: margin must be > 0 (percent of ${summary.baseline}'s mean), got ${margin}`);
  const alpha = options.alpha ?? summary.alpha;
  if (!(alpha > 0 && alpha < 1)) throw new Error(`findings: alpha must be in (0, 1), got ${alpha}`);
  return { s: summary, alpha, margin, trials: options.trials };
}

/** Holm within the `against` tests of a `best` finding (a union over the other models); raw p otherwise. */
function withinFinding(rule: FindingRule) {
  return (tests: Omit<FindingTestResult, "pAdjusted">[]): number[] => {
    if (rule.test.kind !== "best") return tests.map((x) => x.p);
    const idx = tests.map((x, k) => (x.role === "against" ? k : -1)).filter((k) => k >= 0);
    const adj = holm(idx.map((k) => tests[k].p));
    const out = tests.map((x) => x.p);
    idx.forEach((k, j) => (out[k] = adj[j]));
    return out;
  };
}

/**
 * Every finding of FINDING_RULES (or `rules`) on one summary, each decided on its own tests at alpha (`verdict`),
 * and the family's control beside it: `pFamilywise` / `pAgainstFamilywise` Holm over the findings evaluated here
 * (Holm 1979: strong control of the family-wise error rate at alpha, any dependence) and `verdictFamilywise`.
 */
export function evaluateFindings(summary: StudySummary, options: FindingOptions = {}, rules: readonly FindingRule[] = FINDING_RULES): Finding[] {
  const ctx = context(summary, options);
  return withFamilywise(rules.map((rule) => build(rule, ctx, withinFinding(rule))));
}

/**
 * `findings` with pFamilywise, pAgainstFamilywise and verdictFamilywise set: Holm over the family of each p
 * (pFor, then pAgainst; a finding without a test keeps NaN and is not counted).
 */
export function withFamilywise(findings: readonly Finding[]): Finding[] {
  const pFor = holm(findings.map((f) => f.pFor));
  const pAgainst = holm(findings.map((f) => (f.tests.some((x) => x.role === "against") ? f.pAgainst : NaN)));
  return findings.map((f, i) => {
    const holds = pFor[i] < f.alpha;
    const contradicted = pAgainst[i] < f.alpha;
    const verdictFamilywise: Verdict = holds && contradicted ? FINDING_KINDS[f.kind].precedence : holds ? "holds" : contradicted ? "contradicted" : "inconclusive";
    return { ...f, pFamilywise: pFor[i], pAgainstFamilywise: pAgainst[i], verdictFamilywise };
  });
}

/**
 * Why a finding is contradicted, by its family-wise verdict (its own with `familywise` false): "equivalence" when the
 * test against it that decides (the smallest adjusted p among those that apply; on a tie the opposite wins) shows the
 * two within the margin (TOST), "opposite" when it shows a significant effect against the claim; undefined when the
 * finding is not contradicted. Views say why from this, not from the estimate's sign (a small estimate against the
 * claim can be contradicted by equivalence).
 */
export function contradictionOf(f: Finding, familywise = true): "opposite" | "equivalence" | undefined {
  if ((familywise ? f.verdictFamilywise : f.verdict) !== "contradicted") return undefined;
  const against = f.tests.filter((x) => x.role === "against" && x.applies && !Number.isNaN(x.pAdjusted));
  const least = Math.min(...against.map((x) => x.pAdjusted));
  return against.some((x) => x.pAdjusted === least && x.shows !== "equivalence") ? "opposite" : "equivalence";
}

/**
 * The findings at each equivalence / non-inferiority margin of `margins` (percent of the baseline's mean): one row
 * per finding, its verdict (and family-wise verdict) at each margin. For the README's margin table (issue 22: the
 * verdicts at 0.25, 0.5 and 1 %).
 */
export function findingsAtMargins(summary: StudySummary, margins: readonly number[], options: Omit<FindingOptions, "margin"> = {}): { id: FindingId; verdicts: { margin: number; verdict: Verdict; verdictFamilywise: Verdict }[] }[] {
  const perMargin = margins.map((margin) => evaluateFindings(summary, { ...options, margin }));
  return FINDING_RULES.map((rule, k) => ({ id: rule.id, verdicts: margins.map((margin, j) => ({ margin, verdict: perMargin[j][k].verdict, verdictFamilywise: perMargin[j][k].verdictFamilywise })) }));
}

/**
 * Re-decides findings with every test of all of them adjusted together (Holm over the whole family):
 * the multiplicity control of a grid of findings (sensitivity levels). Returns new findings; their
 * `tests[].pAdjusted`, verdicts and reasons reflect the adjustment.
 */
export function decideFindings(findings: readonly Finding[]): Finding[] {
  const all = findings.flatMap((f, i) => f.tests.map((x, k) => ({ i, k, p: x.p })));
  const adj = holm(all.map((x) => x.p));
  const out = findings.map((f) => ({ ...f, tests: f.tests.map((x) => ({ ...x })) }));
  all.forEach(({ i, k }, j) => (out[i].tests[k].pAdjusted = adj[j]));
  for (const f of out) {
    if (f.tests.length === 0) continue;
    const kind = FINDING_KINDS[f.kind];
    f.verdict = decideVerdict(f.tests, f.alpha, kind.precedence);
    const against = f.tests.filter((x) => x.role === "against").map((x) => x.pAdjusted);
    f.pAgainst = against.length > 0 ? Math.min(...against.map((p) => (Number.isNaN(p) ? 1 : p))) : NaN;
    f.reason = reasonOf(f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Across the levels of a sensitivity factor (or any set of summaries).

export interface FindingAcrossLevels {
  id: FindingId;
  claim: string;
  levels: string[];
  /** Per level, the finding after the grid's multiplicity adjustment. */
  perLevel: { level: string; finding: Finding }[];
  holdsAt: string[];
  contradictedAt: string[];
  inconclusiveAt: string[];
  /** e.g. "holds at 2000, 20000; contradicted at 500". */
  text: string;
}

function levelEntries(
  summariesByLevel: ReadonlyMap<string | number, StudySummary> | Readonly<Record<string, StudySummary>>,
): [string, StudySummary][] {
  return summariesByLevel instanceof Map
    ? [...summariesByLevel.entries()].map(([k, v]) => [String(k), v])
    : Object.entries(summariesByLevel as Record<string, StudySummary>);
}

/**
 * Per finding, its verdict at every level, with all tests of all findings at all levels adjusted together
 * (Holm over the whole grid: decideFindings). Levels in the Map's order (an object's integer-like keys
 * come first in JavaScript: use a Map to keep another order).
 */
export function findingsAcrossLevels(
  summariesByLevel: ReadonlyMap<string | number, StudySummary> | Readonly<Record<string, StudySummary>>,
  options: FindingOptions = {},
): FindingAcrossLevels[] {
  const entries = levelEntries(summariesByLevel);
  const raw = entries.map(([level, s]) => ({ level, findings: evaluateFindings(s, options) }));
  const decided = decideFindings(raw.flatMap((r) => r.findings));
  const n = FINDING_RULES.length;
  return FINDING_RULES.map((rule, k) => {
    const perLevel = raw.map((r, i) => ({ level: r.level, finding: decided[i * n + k] }));
    return acrossLevels(rule.id, perLevel);
  });
}

/** Groups per-level findings of one id into holds / contradicted / inconclusive lists and a sentence. */
export function acrossLevels(id: FindingId, perLevel: { level: string; finding: Finding }[]): FindingAcrossLevels {
  const at = (v: Verdict) => perLevel.filter((r) => r.finding.verdict === v).map((r) => r.level);
  const holdsAt = at("holds");
  const contradictedAt = at("contradicted");
  const inconclusiveAt = at("inconclusive");
  const text = [
    holdsAt.length > 0 ? `holds at ${holdsAt.join(", ")}` : "",
    contradictedAt.length > 0 ? `contradicted at ${contradictedAt.join(", ")}` : "",
    inconclusiveAt.length > 0 ? `inconclusive at ${inconclusiveAt.join(", ")}` : "",
  ]
    .filter((x) => x !== "")
    .join("; ");
  return { id, claim: perLevel[0]?.finding.claim ?? id, levels: perLevel.map((r) => r.level), perLevel, holdsAt, contradictedAt, inconclusiveAt, text };
}
