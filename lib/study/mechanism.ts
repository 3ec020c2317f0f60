/**
 * Mechanism metrics over a study (notebook 06): how far each model's pCVR is from the simulator's true
 * P(conversion | click, x) on clicked test impressions (the fit) and on non-clicked ones (the sample
 * selection bias ESMM and ESCM2 are about), from each run's `test.mechanism` (lib/metrics/mechanism.ts),
 * and the check the notebook closes with: does a debiasing term reduce that bias against the model it
 * extends, and does the reduction carry over to CTCVR cross-entropy?
 *
 * Unit: runs are paired by (world, downsampling draw, seed), as in notebook 04 (same data, same batch
 * order); the test is a two-sided paired t test over those pairs (df = pairs - 1). Verdicts are three-way
 * at `alpha`: "holds" (a significant reduction), "contradicted" (a significant increase), "inconclusive".
 */
import { pairedTTest } from "../stats";
import { formatNumber, formatP, formatPercent } from "../notebook/format";
import type { CvrTruthScore } from "../metrics/mechanism";
import { comparison, StudySummary } from "./summary";
import type { StudyRecord } from "./results";
import type { Verdict } from "./findings";

type Subset = "clicked" | "nonClicked";
type Quantity = "kl" | "calibration";

/** Mean and standard error over runs (se = sd / sqrt(runs), descriptive: the runs share worlds). */
export interface MeanSe {
  mean: number;
  se: number;
}

export interface MechanismRow {
  model: string;
  runs: number;
  /** Excess cross-entropy over the truth's entropy (mean KL, nats per impression), clicked and non-clicked test rows. */
  clickedKl: MeanSe;
  nonClickedKl: MeanSe;
  /** Sum of pCVR over sum of the true P(conversion | click, x) (1 = calibrated). */
  clickedCalibration: MeanSe;
  nonClickedCalibration: MeanSe;
}

function meanSe(values: number[]): MeanSe {
  const v = values.filter(Number.isFinite);
  const n = v.length;
  if (n === 0) return { mean: NaN, se: NaN };
  const mean = v.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, se: NaN };
  const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

const valueOf = (r: StudyRecord, subset: Subset, q: Quantity): number => {
  const score = r.test.mechanism?.cvr[subset] as CvrTruthScore | undefined;
  const v = score?.[q];
  return typeof v === "number" ? v : NaN;
};

/** One row per model whose runs carry mechanism metrics (models with a pCVR, on simulated data), in first-seen order. */
export function mechanismSummary(records: readonly StudyRecord[]): MechanismRow[] {
  const models = [...new Set(records.filter((r) => r.test.mechanism).map((r) => r.model))];
  return models.map((model) => {
    const runs = records.filter((r) => r.model === model && r.test.mechanism);
    const col = (subset: Subset, q: Quantity) => meanSe(runs.map((r) => valueOf(r, subset, q)));
    return {
      model,
      runs: runs.length,
      clickedKl: col("clicked", "kl"),
      nonClickedKl: col("nonClicked", "kl"),
      clickedCalibration: col("clicked", "calibration"),
      nonClickedCalibration: col("nonClicked", "calibration"),
    };
  });
}

export interface DebiasingCheck {
  model: string;
  reference: string;
  /** model - reference in the non-clicked CVR KL (nats per impression), over `pairs` (world, draw, seed) pairs. */
  nonClickedKl: { difference: number; se: number; df: number; p: number; pairs: number; verdict: Verdict };
  /** % by which the model's CTCVR cross-entropy is lower than the reference's (positive = better), at notebook 04's unit. */
  ctcvr: { percent: number; se: number; p: number; verdict: Verdict };
}

const keyOf = (r: StudyRecord) => `${r.config.data.simulatorSeed}:${r.config.data.prepareSeed}:${r.seed}`;

/**
 * For each [model, reference] pair: the paired difference of their non-clicked CVR KL (a debiasing term
 * "holds" when it lowers the bias significantly) and the CTCVR comparison from `ctcvr` (summarizeStudy of
 * "ctcvr.logLoss", the pair's raw p at the summary's design). Pairs with fewer than 2 matched runs are
 * inconclusive with NaN numbers.
 */
export function debiasingChecks(records: readonly StudyRecord[], ctcvr: StudySummary, pairs: readonly [string, string][], alpha = 0.01): DebiasingCheck[] {
  return pairs.map(([model, reference]) => {
    const byKey = (m: string) => new Map(records.filter((r) => r.model === m && r.test.mechanism).map((r) => [keyOf(r), valueOf(r, "nonClicked", "kl")] as const));
    const a = byKey(model);
    const b = byKey(reference);
    const keys = [...a.keys()].filter((k) => b.has(k) && Number.isFinite(a.get(k)!) && Number.isFinite(b.get(k)!));
    let kl: DebiasingCheck["nonClickedKl"] = { difference: NaN, se: NaN, df: NaN, p: NaN, pairs: keys.length, verdict: "inconclusive" };
    if (keys.length >= 2) {
      const t = pairedTTest(keys.map((k) => a.get(k)!), keys.map((k) => b.get(k)!));
      const verdict: Verdict = t.p < alpha ? (t.meanDifference < 0 ? "holds" : "contradicted") : "inconclusive";
      kl = { difference: t.meanDifference, se: t.se, df: t.df, p: t.p, pairs: keys.length, verdict };
    }
    const c = comparison(ctcvr, model, reference);
    const ct: DebiasingCheck["ctcvr"] = c
      ? { percent: c.estimate, se: c.se, p: c.p, verdict: c.p < alpha ? (c.estimate > 0 ? "holds" : "contradicted") : "inconclusive" }
      : { percent: NaN, se: NaN, p: NaN, verdict: "inconclusive" };
    return { model, reference, nonClickedKl: kl, ctcvr: ct };
  });
}

/**
 * The families with a debiasing term, each against ESMM: ESCM2-IPS and ESCM2-DR are ESMM plus their term
 * (same trunk and CTR/CVR towers); DCMT is the entire-space alternative they were proposed against.
 */
export const DEBIASING_PAIRS: readonly [string, string][] = [
  ["ESCM2-IPS", "ESMM"],
  ["ESCM2-DR", "ESMM"],
  ["DCMT", "ESMM"],
];

/**
 * The closing sentences of notebook 06, computed from the checks: one bullet per debiasing family, joining
 * the bias and the CTCVR results with "and" when they point the same way, "but" when they disagree, "while"
 * when either is inconclusive.
 */
export function debiasingText(checks: readonly DebiasingCheck[], alpha = 0.01): string {
  const lines = checks.map((c) => {
    const k = c.nonClickedKl;
    const bias =
      k.verdict === "holds"
        ? `lowers the CVR bias on non-clicked impressions (KL ${formatNumber(k.difference)} ± ${formatNumber(k.se)} nats, p = ${formatP(k.p)})`
        : k.verdict === "contradicted"
          ? `raises the CVR bias on non-clicked impressions (KL +${formatNumber(k.difference)} ± ${formatNumber(k.se)} nats, p = ${formatP(k.p)})`
          : Number.isFinite(k.p)
            ? `changes the CVR bias on non-clicked impressions by ${formatNumber(k.difference)} ± ${formatNumber(k.se)} nats, not significantly (p = ${formatP(k.p)}: inconclusive)`
            : "cannot be compared on the CVR bias (too few paired runs)";
    const ct = c.ctcvr;
    const ctcvr =
      ct.verdict === "holds"
        ? `its CTCVR cross-entropy is lower (${formatPercent(ct.percent, ct.se)} better, p = ${formatP(ct.p)})`
        : ct.verdict === "contradicted"
          ? `its CTCVR cross-entropy is higher (${formatPercent(ct.percent, ct.se)} better, p = ${formatP(ct.p)})`
          : Number.isFinite(ct.p)
            ? `its CTCVR cross-entropy does not differ significantly (${formatPercent(ct.percent, ct.se)}, p = ${formatP(ct.p)}: inconclusive)`
            : "there is no CTCVR comparison";
    const join = k.verdict === "inconclusive" || ct.verdict === "inconclusive" ? "while" : k.verdict === ct.verdict ? "and" : "but";
    return `- **${c.model}** vs ${c.reference}: ${bias}, ${join} ${ctcvr}.`;
  });
  return [`Against ${checks[0]?.reference ?? "the reference"}, at α = ${alpha} (bias: paired t test by world, draw and seed; CTCVR: notebook 04's unit):`, "", ...lines].join("\n");
}
