/**
 * The verdict machinery, calibrated by Monte Carlo (statistics only, no training). Synthetic per-run results
 * are drawn with known true effects: per data replicate c a baseline loss b_c (worlds differ in difficulty),
 * per model m a true gain g_m (% better than IP), a world-by-model effect u_{m,c} ~ N(0, tau^2) and a seed
 * effect e ~ N(0, sigma_m^2); the run's cross-entropy is b_c (1 - (g_m + u_{m,c} + e) / 100). Then
 * summarizeStudy + evaluateFindings give verdicts, and their rates over many studies are checked:
 *
 *  1. No effect (all g = 0, equal spreads). A verdict that is an error when nothing differs must be
 *     issued at no more than alpha: "holds" of every difference, interaction and variance claim;
 *     "contradicted" of the claims that are TRUE under no effect (at least as good, equivalent, best) and of
 *     the variance claim. (Contradicting "A better than B" by equivalence under no effect is right, not an
 *     error, so it is not bounded here.)
 *  2. At the margin (true differences exactly +-margin): the equivalence-based decisions, whose null is the
 *     margin, at no more than alpha.
 *  3. Power: with a true gain of 1 % for IPSP, the rate of "ipsp-better-than-ip holds" matches the power the
 *     library reports for that effect (tTestPower with the design's true standard error and df).
 *  4. Family-wise: under no effect, the rate of studies in which ANY of the claims that are errors there holds by
 *     its family-wise verdict (Holm over the nine) is at most alpha.
 *
 * Four designs are checked: the default study's data replicates at the seed unit (these data sets: no
 * world-by-model effect, the null holding in every world), the same across worlds (the replicate as unit,
 * with a world-by-model effect tau), the paper's (one data set, paired by seed), and the fair protocol's (tuning
 * repeats crossed with worlds, unit "crossed": a repeat-by-model effect rho, the selection's, shared by every
 * world of the repeat, beside the world-by-model effect tau). Tolerances: 3 Monte Carlo standard errors
 * (binomial), seeded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../lib/data/random";
import { crossedPlannedSe, tTestPower } from "../lib/stats";
import { DEFAULT_EQUIVALENCE_MARGIN, FindingId, Verdict, evaluateFindings } from "../lib/study/findings";
import { studyProfile } from "../lib/study";
import { fairProtocol, fairStudy } from "../lib/tune/protocol";
import type { ComparisonUnit } from "../lib/study/compare";
import { StudyResult, summarizeStudy } from "../lib/study/summary";

const MODELS = ["IP", "ESMM", "ESMM-NS", "ESSP-Split", "IPSP", "ESP"];
const ALPHA = 0.01;
const MARGIN = DEFAULT_EQUIVALENCE_MARGIN;

interface Design {
  name: string;
  unit: ComparisonUnit;
  replicates: number;
  seeds: number;
  /** sd of the world-by-model effect, percent (0 with one replicate: the world is then fixed). */
  tau: number;
  /** seed sd, percent. */
  sigma: number;
  /** Tuning repeats crossed with the replicates (unit "crossed"), and the sd of the repeat-by-model effect, percent. */
  repeats?: number;
  rho?: number;
}

const full = studyProfile("full");
const fullReplicates = (full.worlds ?? [0]).length * (full.draws ?? [0]).length;
const DESIGNS: Design[] = [
  { name: "default design, on these data sets", unit: "seed", replicates: fullReplicates, seeds: full.seeds.length, tau: 0, sigma: 1.5 },
  { name: "default design, across worlds", unit: "replicate", replicates: Math.max(2, fullReplicates), seeds: full.seeds.length, tau: 0.5, sigma: 1.5 },
  { name: "one data set, paired by seed", unit: "seed", replicates: 1, seeds: 10, tau: 0, sigma: 0.8 },
  { name: "fair protocol, repeats x worlds", unit: "crossed", replicates: fairStudy("full").worlds!.length, seeds: fairStudy("full").seeds.length, tau: 0.5, sigma: 1.5, repeats: fairProtocol("full").repeats, rho: 0.4 },
];

function normal(rng: Rng): number {
  return rng.normal();
}

function synthStudy(rng: Rng, d: Design, gains: Record<string, number>, sigmaScale: Record<string, number> = {}): StudyResult[] {
  const out: StudyResult[] = [];
  const repeats = d.repeats ?? 1;
  // the selection's effect per (repeat, model): every world of the repeat shares it
  const a = Array.from({ length: repeats }, () => Object.fromEntries(MODELS.map((m) => [m, (d.rho ?? 0) * normal(rng)])));
  for (let c = 0; c < d.replicates; c++) {
    const base = 0.0075 * (1 + 0.05 * normal(rng));
    const u = Object.fromEntries(MODELS.map((m) => [m, d.tau * normal(rng)]));
    for (let r = 0; r < repeats; r++) {
      for (const model of MODELS) {
        for (let s = 1; s <= d.seeds; s++) {
          const v = gains[model] + u[model] + a[r][model] + d.sigma * (sigmaScale[model] ?? 1) * normal(rng);
          out.push({
            model,
            seed: s,
            ...(d.repeats ? { factor: "repeat", level: r } : {}),
            config: { data: { simulatorSeed: 100 + c, prepareSeed: 7 } },
            // as the runner records it: the data set's manifest hash, one per world
            dataManifest: { sha256: `synthetic-world-${c}` },
            test: { conversions: 500, days: [12], metrics: { ctcvr: { logLoss: base * (1 - v / 100) } } },
          });
        }
      }
    }
  }
  return out;
}

/** The claims that are errors when they hold under no effect (the difference, interaction and variance claims). */
const FALSE_UNDER_NO_EFFECT: FindingId[] = ["esp-worse-than-ip", "essp-split-better-than-esp", "ipsp-better-than-ip", "esmm-ns-better-than-ip", "gains-not-additive", "esmm-more-variable-than-ipsp"];

function rates(d: Design, gains: Record<string, number>, studies: number, seed: number, sigmaScale?: Record<string, number>) {
  const rng = new Rng(seed);
  const counts = new Map<string, number>();
  for (let k = 0; k < studies; k++) {
    const summary = summarizeStudy(synthStudy(rng, d, gains, sigmaScale), { alpha: ALPHA, powerAnalysis: false, unit: d.unit });
    const findings = evaluateFindings(summary, { margin: MARGIN });
    for (const f of findings) counts.set(`${f.id}:${f.verdict}`, (counts.get(`${f.id}:${f.verdict}`) ?? 0) + 1);
    if (findings.some((f) => FALSE_UNDER_NO_EFFECT.includes(f.id) && f.verdictFamilywise === "holds")) counts.set("familywise-error", (counts.get("familywise-error") ?? 0) + 1);
  }
  const rate = (id: FindingId | "familywise-error", v?: Verdict) => (counts.get(v === undefined ? id : `${id}:${v}`) ?? 0) / studies;
  return rate;
}

function atMost(rate: number, nominal: number, n: number, what: string): void {
  const bound = nominal + 3 * Math.sqrt((nominal * (1 - nominal)) / n);
  assert.ok(rate <= bound, `${what}: issued at rate ${rate.toFixed(4)} > ${nominal} + 3 MC se (${bound.toFixed(4)}) over ${n} studies`);
}

const N = 2500;
const zero = Object.fromEntries(MODELS.map((m) => [m, 0]));

for (const d of DESIGNS) {
  test(`${d.name}: under no effect, no verdict that would be an error is issued above alpha`, () => {
    const r = rates(d, zero, N, 11);
    for (const id of FALSE_UNDER_NO_EFFECT) atMost(r(id, "holds"), ALPHA, N, `${id} holds`);
    atMost(r("familywise-error"), ALPHA, N, "some claim false under no effect holds family-wise (Holm over the nine)");
    for (const id of ["esmm-ns-vs-essp-split", "esmm-equivalent-to-ipsp", "ipsp-best", "esmm-more-variable-than-ipsp"] as FindingId[]) {
      atMost(r(id, "contradicted"), ALPHA, N, `${id} contradicted`);
    }
    // The tests are not vacuous: the directional "holds" is issued at about alpha / 2 under no effect.
    assert.ok(r("ipsp-better-than-ip", "holds") > 0, "ipsp-better-than-ip never holds under no effect: the test cannot reject");
  });

  test(`${d.name}: at the equivalence margin, the equivalence-based verdicts stay at or below alpha`, () => {
    // IP 0; IPSP +margin; ESMM +2 margin (ESMM - IPSP = margin; IPSP worse than ESMM by exactly the margin);
    // ESMM-NS +2 margin, ESSP-Split +3 margin (ESMM-NS worse than ESSP-Split by exactly the margin);
    // interaction g(ESMM) - g(ESMM-NS) - g(IPSP) = 2m - 2m - m = -m: the claim (I < 0) true by exactly the margin,
    // so TOST's "additive within the margin" must contradict it at most at alpha. ESP far worse.
    const m = MARGIN;
    const gains = { IP: 0, IPSP: m, ESMM: 2 * m, "ESSP-Split": 3 * m, "ESMM-NS": 2 * m, ESP: -5 };
    const r = rates(d, gains, N, 12);
    atMost(r("ipsp-better-than-ip", "contradicted"), ALPHA, N, "ipsp-better-than-ip contradicted (equivalence at a true difference of the margin)");
    atMost(r("esmm-equivalent-to-ipsp", "holds"), ALPHA, N, "esmm-equivalent-to-ipsp holds at a true difference of the margin");
    atMost(r("esmm-ns-vs-essp-split", "holds"), ALPHA, N, "esmm-ns-vs-essp-split holds when ESMM-NS is worse by exactly the margin");
    atMost(r("gains-not-additive", "contradicted"), ALPHA, N, "gains-not-additive contradicted at an interaction of the margin");
    atMost(r("ipsp-best", "holds"), ALPHA, N, "ipsp-best holds when one model beats IPSP by exactly the margin");
  });

  test(`${d.name}: the rate of "IPSP better than IP" at a true 1 % gain matches the reported power`, () => {
    const gains = { ...zero, IPSP: 1 };
    const r = rates(d, gains, N, 13);
    // Across worlds: the difference of two models' replicate means (a world effect each, S seeds each), C - 1 df.
    // On these data sets: the per-seed difference (2 sigma^2) averaged over all C x S seeds, C (S - 1) df.
    const across = d.unit === "replicate" && d.replicates > 1;
    let se = across ? Math.sqrt((2 * d.tau * d.tau + (2 * d.sigma * d.sigma) / d.seeds) / d.replicates) : Math.sqrt((2 * d.sigma * d.sigma) / (d.seeds * d.replicates));
    let df = across ? d.replicates - 1 : d.replicates * (d.seeds - 1);
    if (d.unit === "crossed") {
      // cells: repeat x world, each the mean of S paired seed differences; components of the difference's cells
      ({ se, df } = crossedPlannedSe({ rows: 2 * d.rho! * d.rho!, columns: 2 * d.tau * d.tau, residual: (2 * d.sigma * d.sigma) / d.seeds }, d.repeats!, d.replicates));
    }
    const power = tTestPower({ effect: 1, se, df, alpha: ALPHA });
    const observed = r("ipsp-better-than-ip", "holds");
    const mcSe = Math.sqrt((power * (1 - power)) / N);
    assert.ok(Math.abs(observed - power) <= 3 * mcSe + 0.01, `power: observed ${observed.toFixed(4)}, reported ${power.toFixed(4)} (MC se ${mcSe.toFixed(4)}, tolerance 3 se + 0.01 for the percent scale's curvature)`);
  });
}

test("variance claim: with ESMM's seed sd twice IPSP's, the Brown-Forsythe verdict holds more often than under no effect, never contradicts above alpha", () => {
  const d = DESIGNS[2];
  const r = rates(d, zero, 800, 14, { ESMM: 2 });
  assert.ok(r("esmm-more-variable-than-ipsp", "holds") > 0.05, `holds at ${r("esmm-more-variable-than-ipsp", "holds")} (alpha / 2 = 0.005 under no effect)`);
  atMost(r("esmm-more-variable-than-ipsp", "contradicted"), ALPHA, 800, "esmm-more-variable-than-ipsp contradicted when ESMM is the more variable");
});
