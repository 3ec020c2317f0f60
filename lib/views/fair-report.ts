/**
 * Views of the fair protocol's analysis (lib/tune/protocol.ts analyseFair): markdown tables for notebook 07, the
 * README's headline block and docs/fair-protocol.md (written between markers by lib/report/generated-blocks.ts). Domain
 * code returns data; these functions only format it (numbers through lib/format.ts, defined once).
 */
import type { FairAnalysis, FairProtocol, TuningRepeat } from "../tune/protocol";
import type { StudySpec } from "../study/spec";
import { drawWorld, getWorldPrior } from "../data/world-prior";
import { formatNumber, formatP, formatPercent, markdownTable } from "../format";

const table = markdownTable;

/** The protocol as a table: tuning (repeats, worlds, trials, rungs) and evaluation (worlds, seeds, epochs). */
export function fairProtocolMarkdown(p: FairProtocol, evaluation: StudySpec): string {
  const worlds = evaluation.worlds ?? [evaluation.data.simulatorSeed];
  const rungs = p.rungs.map((r, j) => (j === 0 ? `all ${r.keep} trials on ${r.seeds} seed${r.seeds > 1 ? "s" : ""}` : `the best ${r.keep} on ${r.seeds} seeds`)).join(", then ");
  return table(
    ["step", "design"],
    [
      ["tuning", `${p.repeats} independent repeats; repeat r on tuning world ${p.tuningWorlds.join(" / ")}, design seed ${p.designSeed} + r, model seeds ${p.seedBase}(r + 1) + 1, 2, ...`],
      ["trials", `${p.trials} per model and repeat, the same points for every model: trial 0 the untuned configuration, trials 1-${p.trials - 1} a scrambled-Halton design over the search space`],
      ["selection", `successive halving over seeds: ${rungs}; chosen: the lowest mean CTCVR cross-entropy on the tuning world's held-out test day (x${evaluation.data.simulator.evaluationMultiplier ?? 1})`],
      ["evaluation", `every repeat's choices and the untuned configuration on ${worlds.length} worlds (simulator seeds ${worlds.join(", ")}, drawn from the "${evaluation.worldPrior}" prior) x ${evaluation.seeds.length} model seeds; at most ${evaluation.train?.maxEpochs ?? 10} epochs, patience ${evaluation.train?.patience ?? 2}`],
      ["analysis", "test-day CTCVR cross-entropy, % better than IP; repeats x worlds crossed random effects (Satterthwaite df); alpha 0.01; Holm over the nine findings beside each raw p"],
    ],
  );
}

/** The world prior as a table: each parameter, its distribution and range (lib/data/world-prior.ts). */
export function priorMarkdown(name: string): string {
  const prior = getWorldPrior(name);
  return table(
    ["parameter", "distribution", "range"],
    prior.parameters.map((p) => [p.name, p.kind === "logUniform" ? "log-uniform" : "uniform", `[${formatNumber(p.low, 3)}, ${formatNumber(p.high, 3)}]`]),
  );
}

/**
 * The worlds' drawn parameters, one row per world (`worlds`, default the evaluation's), and, when `records` are
 * given, what each world's log realized (its manifest's totals: CTR, conversions per click, conversions): a world
 * whose targets the simulator could not reach shows it here.
 */
export function worldsMarkdown(evaluation: StudySpec, records: readonly { config: { data: { simulatorSeed: number } }; dataManifest?: { totals?: { ctr: number; cvr: number; conversions: number } } }[] = [], worlds: readonly number[] = evaluation.worlds ?? [evaluation.data.simulatorSeed]): string {
  if (!evaluation.worldPrior) return "";
  const prior = getWorldPrior(evaluation.worldPrior);
  const realized = (w: number) => records.find((r) => r.config.data.simulatorSeed === w && r.dataManifest?.totals)?.dataManifest?.totals;
  const withTotals = records.length > 0;
  return table(
    ["world", ...prior.parameters.map((p) => p.name), ...(withTotals ? ["realized CTR", "realized CVR", "conversions"] : [])],
    worlds.map((w) => {
      const v = drawWorld(prior.name, w, evaluation.data.simulator).values;
      const t = realized(w);
      return [w, ...prior.parameters.map((p) => formatNumber(v[p.name], 3)), ...(withTotals ? (t ? [formatNumber(t.ctr, 3), formatNumber(t.cvr, 3), formatNumber(t.conversions, 6)] : ["", "", ""]) : [])];
    }),
  );
}

/** Each repeat's choice per model: trial (0 = untuned), mean score over the seeds read. */
export function choicesMarkdown(repeats: readonly TuningRepeat[]): string {
  const models = repeats[0]?.chosen.map((c) => c.model) ?? [];
  return table(
    ["model", ...repeats.map((t) => `repeat ${t.repeat} (world ${t.world})`)],
    models.map((m) => [m, ...repeats.map((t) => {
      const c = t.chosen.find((x) => x.model === m)!;
      return `trial ${c.trial}${c.trial === 0 ? " (untuned)" : ""}, ${formatNumber(c.mean, 4)} over ${c.seedsRead} seeds`;
    })]),
  );
}

/** The headline: per model, tuned (crossed) and untuned estimates vs IP, with p and the design's df. */
export function headlineMarkdown(a: FairAnalysis): string {
  return table(
    ["model", "tuned: cross-entropy", "tuned: % better than IP", "df", "p", "better than (p < 0.01)", "untuned: % better than IP", "p"],
    a.tuned.models.map((m) => {
      const u = a.untuned?.models.find((x) => x.model === m.model);
      const base = m.model === a.tuned.baseline;
      return [
        m.model,
        formatNumber(m.mean, 4),
        base ? "0" : formatPercent(m.percentVsBaseline, m.percentVsBaselineSe),
        base ? "" : formatNumber(m.vsBaseline?.df ?? NaN, 3),
        base ? "" : formatP(m.vsBaseline?.p ?? NaN),
        m.betterThan.join(", ") || "-",
        u ? (base ? "0" : formatPercent(u.percentVsBaseline, u.percentVsBaselineSe)) : "",
        u && !base ? formatP(u.vsBaseline?.p ?? NaN) : "",
      ];
    }),
  );
}

const estimateText = (f: FairAnalysis["findings"][number]) => (f.kind === "more-variable" ? `sd ratio ${formatNumber(f.estimate, 3)}` : formatPercent(f.estimate, f.se));

/** The findings: alternative, verdict with its raw p, the family-wise verdict and p (Holm over the nine), the untuned verdict. */
export function findingsMarkdown(a: FairAnalysis): string {
  return table(
    ["finding", "alternative", "estimate", "verdict", "p", "family-wise verdict", "p (Holm over 9)", "untuned verdict"],
    a.findings.map((f, i) => [
      `\`${f.id}\``,
      f.alternative,
      estimateText(f),
      f.verdict,
      formatP(f.verdict === "contradicted" ? f.pAgainst : f.pFor),
      f.verdictFamilywise,
      formatP(f.verdictFamilywise === "contradicted" ? f.pAgainstFamilywise : f.pFamilywise),
      a.untunedFindings?.[i].verdict ?? "",
    ]),
  );
}

/** The verdicts at each margin (raw / family-wise). */
export function marginsMarkdown(a: FairAnalysis): string {
  const margins = a.margins[0]?.verdicts.map((v) => v.margin) ?? [];
  return table(
    ["finding", ...margins.map((m) => `margin ${m} %`)],
    a.margins.map((row) => [`\`${row.id}\``, ...row.verdicts.map((v) => (v.verdict === v.verdictFamilywise ? v.verdict : `${v.verdict} (family-wise: ${v.verdictFamilywise})`))]),
  );
}

/** Variance components of each comparison with IP, its power at a 1 % difference, and the design that reaches 0.8. */
export function powerMarkdown(a: FairAnalysis): string {
  return table(
    ["vs IP", "repeat (selection) variance", "world variance", "residual", "se", "df", "power at 1 %", "design for power 0.8 at 1 %"],
    a.power.map((p) => [
      p.model,
      formatNumber(p.components.rows, 3),
      formatNumber(p.components.columns, 3),
      formatNumber(p.components.residual, 3),
      formatNumber(p.se, 3),
      formatNumber(p.df, 3),
      formatNumber(p.powerAtOnePercent, 2),
      p.needed ? `${p.needed.repeats} repeats x ${p.needed.worlds} worlds` : "beyond 10 repeats x 200 worlds",
    ]),
  );
}

/** Per finding, the slope of its per-world effect on each world parameter (points per sd of the parameter, p). */
export function dependenceMarkdown(a: FairAnalysis): string {
  const params = a.dependence[0]?.regression.slopes.map((s) => s.parameter) ?? [];
  return table(
    ["finding (per-world effect, %)", ...params],
    a.dependence.map((d) => [`\`${d.id}\``, ...d.regression.slopes.map((s) => (Number.isFinite(s.slope) ? `${s.slope >= 0 ? "+" : ""}${formatNumber(s.slope, 2)} ± ${formatNumber(s.se, 2)} (p ${formatP(s.p)})` : "-"))]),
  );
}

/**
 * How often each model's best epoch was the cap, its median best epoch (each tower's, where the towers stop apart:
 * IP), and how often tuning chose its untuned configuration.
 */
export function trainingRulesMarkdown(a: FairAnalysis): string {
  return table(
    ["model", "tuned runs", "best epoch = cap", "median best epoch", "untuned configuration chosen"],
    a.epochCap.map((e) => {
      const u = a.untunedChosen.find((x) => x.model === e.model);
      const best = e.units ? e.units.map((t) => `${t.criterion.toUpperCase()} tower ${formatNumber(t.medianBestEpoch, 2)}`).join(", ") : formatNumber(e.medianBestEpoch, 2);
      return [e.model, e.runs, `${e.atCap} (${formatNumber(100 * e.share, 2)} %, cap ${e.maxEpochs})`, best, u ? `${u.repeats} of ${u.of} repeats` : ""];
    }),
  );
}

/** The writer of generated blocks, defined once in lib/report/generated-blocks.ts (re-exported for notebook 07). */
export { writeGeneratedBlock } from "../report/generated-blocks";
