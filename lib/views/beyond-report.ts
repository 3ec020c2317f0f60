/**
 * Views of notebook 06's analysis under the fair protocol (lib/tune/beyond.ts): the design with its run count and
 * projected wall time, the results table (per model and hidden-selection strength: CTCVR cross-entropy % vs IP and
 * the CVR bias on non-clicked impressions), the debiasing verdicts, and the closing answer in words. Domain code
 * returns data; these functions only format it (numbers through lib/format.ts).
 */
import type { BeyondDesign, BeyondStrength } from "../tune/beyond";
import { beyondRunCount } from "../tune/beyond";
import { Finding, contradictionOf } from "../study/findings";
import { formatNumber, formatP, formatPercent, markdownTable as table } from "../format";

/**
 * The design in words: models, strengths, tuning and evaluation, the runs it trains, and, given `secondsPerRun`
 * (worker seconds of one run, measured) and `workers`, the projected wall time (runs x seconds / workers), plus,
 * given `secondsPerWorld`, the time to make each data set (strengths x (evaluation + tuning worlds)) as a bound.
 */
export function beyondDesignMarkdown(d: BeyondDesign, timing?: { secondsPerRun: number; workers: number; source: string; secondsPerWorld?: number }): string {
  const n = beyondRunCount(d);
  const p = d.protocol;
  const worlds = d.base.worlds ?? [d.base.data.simulatorSeed];
  const rungs = p.rungs.map((r, j) => (j === 0 ? `all ${r.keep} trials on ${r.seeds} seed${r.seeds > 1 ? "s" : ""}` : `the best ${r.keep} on ${r.seeds} seeds`)).join(", then ");
  const rows: (string | number)[][] = [
    ["models", `${d.models.length}: ${d.models.join(", ")}`],
    ["worlds", `hidden selection rho = ${d.strengths.join(" and ")}; at each, ${worlds.length} evaluation worlds (simulator seeds ${worlds.join(", ")}, "${d.base.worldPrior}" prior) and ${p.repeats} tuning worlds (${p.tuningWorlds.join(", ")}), ${formatNumber(d.base.data.simulator.impressions ?? NaN)} impressions over ${d.base.data.simulator.days ?? 15} days, test day x${d.base.data.simulator.evaluationMultiplier ?? 1}`],
    ["tuning", `${p.repeats} repeats x ${p.trials} trials per model (trial 0 untuned), the same points for every model; successive halving: ${rungs}; per-task early stopping, at most ${d.base.train?.maxEpochs ?? 10} epochs`],
    ["evaluation", `every repeat's choices on every world x ${d.base.seeds.length} seed${d.base.seeds.length > 1 ? "s" : ""}; repeats x worlds crossed random effects`],
    ["runs", `at most ${formatNumber(n.tuning)} tuning + ${formatNumber(n.evaluation)} evaluation = ${formatNumber(n.perStrength)} per strength, ${formatNumber(n.total)} in all (a run two repeats share is trained once)`],
  ];
  if (timing) {
    const training = (n.total * timing.secondsPerRun) / timing.workers / 60;
    const dataSets = d.strengths.length * (worlds.length + p.tuningWorlds.length);
    const making = ((timing.secondsPerWorld ?? 0) * dataSets) / 60;
    const dataText = timing.secondsPerWorld ? ` + ${dataSets} data sets x ${formatNumber(timing.secondsPerWorld, 2)} s = ${formatNumber(training + making, 3)} min at most (data are made while other runs train)` : "";
    rows.push(["projected wall time", `${formatNumber(n.total)} runs x ${formatNumber(timing.secondsPerRun, 3)} s / ${timing.workers} workers = ${formatNumber(training, 3)} min${dataText} (${timing.source})`]);
  }
  return table(["step", "design"], rows);
}

/**
 * The results table: one row per model; per strength, its tuned CTCVR cross-entropy % better than IP ± se
 * (repeats x worlds crossed) with p, the CVR bias on non-clicked test impressions (KL to the truth, nats per
 * impression, mean over runs) and the non-clicked calibration ratio (Σ pCVR / Σ truth; 1 = calibrated).
 */
export function beyondTableMarkdown(strengths: readonly BeyondStrength[]): string {
  const models = strengths[0]?.fair.tuned.models.map((m) => m.model) ?? [];
  const header = ["model", ...strengths.flatMap((s) => [`rho ${s.strength}: CTCVR % better than IP`, "p", `rho ${s.strength}: non-clicked CVR KL`, "calibration"])];
  return table(
    header,
    models.map((model) => [
      model,
      ...strengths.flatMap((s) => {
        const m = s.fair.tuned.models.find((x) => x.model === model);
        const base = model === s.fair.tuned.baseline;
        const k = s.mechanism.find((x) => x.model === model);
        return [
          m ? (base ? `0 (CE ${formatNumber(m.mean, 4)})` : formatPercent(m.percentVsBaseline, m.percentVsBaselineSe)) : "",
          m && !base ? formatP(m.vsBaseline?.p ?? NaN) : "",
          k ? `${formatNumber(k.nonClickedKl.mean, 3)} ± ${formatNumber(k.nonClickedKl.se, 2)}` : "no pCVR",
          k ? formatNumber(k.nonClickedCalibration.mean, 3) : "",
        ];
      }),
    ]),
  );
}

/** The debiasing verdicts: one row per claim and strength, raw and family-wise, with the estimate and its MDE. */
export function debiasingMarkdown(verdicts: readonly (Finding & { strength: number })[]): string {
  return table(
    ["rho", "claim", "estimate (% of the reference / of IP)", "verdict", "p", "family-wise verdict", `p (Holm over ${verdicts.length})`, "MDE (80 %)"],
    verdicts.map((f) => [
      f.strength,
      f.claim,
      formatPercent(f.estimate, f.se),
      f.verdict,
      formatP(f.verdict === "contradicted" ? f.pAgainst : f.pFor),
      f.verdictFamilywise,
      formatP(f.verdictFamilywise === "contradicted" ? f.pAgainstFamilywise : f.pFamilywise),
      Number.isFinite(f.mde) ? `${f.mde.toFixed(2)} %` : "",
    ]),
  );
}

/** A family-wise verdict in words; why a contradiction is one is the findings registry's (contradictionOf). */
function verdictWords(f: Finding, what: string): string {
  if (f.verdictFamilywise === "holds") return `${what}: yes`;
  if (f.verdictFamilywise === "inconclusive") return `${what}: not shown either way (inconclusive)`;
  return contradictionOf(f) === "equivalence" ? `${what}: no, the two are equivalent within ±${f.margin} %` : `${what}: no, the evidence is against it (significantly the other way)`;
}

/**
 * The closing answer, one bullet per debiasing family and strength, from the family-wise verdicts: whether its
 * term lowers the CVR bias on non-clicked impressions, and whether it gives a lower CTCVR cross-entropy ("yes" when
 * it holds; "no" when contradicted, saying whether by a significant change the other way or by equivalence within
 * the margin; "not shown either way" when inconclusive). A claim without a test, or not tested, says so.
 */
export function debiasingAnswer(verdicts: readonly (Finding & { strength: number })[]): string {
  const groups = new Map<string, { bias?: Finding; ctcvr?: Finding; strength: number; pair: string }>();
  for (const f of verdicts) {
    const m = /^(.*)-(lowers-cvr-bias-vs|better-ctcvr-than)-(.*)$/.exec(f.id);
    if (!m) continue;
    const key = `${f.strength}\u0000${m[1]}\u0000${m[3]}`;
    const g = groups.get(key) ?? { strength: f.strength, pair: f.claim.replace(/ is better than (\S+).*$/, " vs $1") };
    if (m[2] === "lowers-cvr-bias-vs") g.bias = f;
    else g.ctcvr = f;
    groups.set(key, g);
  }
  const say = (f: Finding | undefined, what: string) =>
    !f ? `${what}: not tested` : f.tests.length === 0 ? `${what}: no test possible (${f.evidence})` : `${verdictWords(f, what)} (${formatPercent(f.estimate, f.se)}, p = ${formatP(f.verdictFamilywise === "contradicted" ? f.pAgainstFamilywise : f.pFamilywise)} family-wise)`;
  return [...groups.values()]
    .map((g) => `- **${g.pair}, hidden selection rho ${g.strength}**: ${say(g.bias, "lowers the CVR bias on non-clicked impressions")}; ${say(g.ctcvr, "reaches CTCVR (lower cross-entropy)")}.`)
    .join("\n");
}

/**
 * One line for the README: how many debiasing claims (bias and CTCVR, every family and strength) hold, are
 * contradicted and are inconclusive, family-wise (Holm over all of them), and where each claim is.
 */
export function debiasingSummary(verdicts: readonly (Finding & { strength: number })[]): string {
  const count = (v: string) => verdicts.filter((f) => f.verdictFamilywise === v).length;
  const strengths = [...new Set(verdicts.map((f) => f.strength))].join(" and ");
  return `Debiasing claims (does the term lower the CVR bias on non-clicked impressions; does that reach CTCVR), ${verdicts.length} in all at hidden-selection strengths ${strengths}, family-wise (Holm over all): ${count("holds")} hold, ${count("contradicted")} contradicted, ${count("inconclusive")} inconclusive. Each claim, its estimate and its power: [docs/beyond-the-paper.md](docs/beyond-the-paper.md).`;
}
