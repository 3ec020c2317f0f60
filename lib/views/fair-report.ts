/**
 * Views of the fair protocol's analysis (lib/tune/protocol.ts analyseFair): markdown tables and figures for notebook
 * 07, its time lines, and the README's headline and design blocks and docs/fair-protocol.md's details block (written
 * between markers by lib/report/generated-blocks.ts). Domain code returns data; these functions only format it
 * (numbers through lib/format.ts, defined once).
 */
import type { FairAnalysis, FairProtocol, TuningRepeat } from "../tune/protocol";
import type { StudySpec } from "../study/spec";
import { drawWorld, getWorldPrior } from "../data/world-prior";
import type { StudyRunSummary } from "../study/runner-report";
import type { RecordFields, StudyRecord } from "../analysis/record";
import { expectedBestCurve } from "../tune/analysis";
import type { Figure } from "../plots/figure";
import { PALETTE, withTemplate } from "../plots/charts";
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

/** The evaluation worlds under a bold heading naming the prior (worldsMarkdown of `evaluation`'s worlds, without realized totals). */
export function evaluationWorldsMarkdown(evaluation: StudySpec): string {
  return `**The evaluation worlds** (drawn from the "${evaluation.worldPrior}" prior by their simulator seeds):\n\n` + worldsMarkdown(evaluation);
}

/** The tuning in one line: runs trained and already done, summed over its rung studies, and `seconds` it took (in minutes, 3 digits). */
export function tuningLine(summaries: readonly Pick<StudyRunSummary, "done" | "skipped">[], seconds: number): string {
  return `tuning: ${summaries.reduce((a, s) => a + s.done, 0)} runs trained, ${summaries.reduce((a, s) => a + s.skipped, 0)} already done, ${formatNumber(seconds / 60, 3)} min`;
}

/**
 * Per model (in `models`' order), the expected best rung-0 score of n trials (expectedBestCurve, lib/tune/analysis.ts:
 * the unbiased estimator) averaged over the repeats, for n = 1 .. the fewest trials any repeat scored; one line per
 * model in PALETTE's colours. A trial counts with its first seed's score; trials without a score are left out.
 * Throws as expectedBestCurve when a repeat has no score for a model.
 */
export function expectedBestFigure(models: readonly string[], repeats: readonly Pick<TuningRepeat, "rungs">[]): Figure {
  const curves = models.map((model) => {
    const perRepeat = repeats.map((t) => expectedBestCurve(t.rungs[0].scores.filter((s) => s.model === model && s.scores.length > 0).map((s) => s.scores[0])));
    const n = Math.min(...perRepeat.map((c) => c.length));
    return { model, expected: Array.from({ length: n }, (_, k) => perRepeat.reduce((a, c) => a + c[k], 0) / perRepeat.length) };
  });
  return withTemplate({
    data: curves.map(({ model, expected }, i) => ({ type: "scatter", mode: "lines+markers", name: model, x: expected.map((_, k) => k + 1), y: expected, line: { color: PALETTE[i % PALETTE.length] } })),
    layout: { title: { text: "Expected best selection score vs trials (unbiased estimator, mean over repeats)" }, xaxis: { title: { text: "trials n" }, dtick: 1 }, yaxis: { title: { text: "E[best of n] (nats per impression)" } } },
  });
}

/** A run's record, as far as fairStudyTime reads it: the fields of lib/analysis/record.ts StudyRecord it reads, with its types. */
export type TimedRecordLike = RecordFields<StudyRecord, { study: true; backend: true; finishedAt: true; timings: { totalSeconds: true } }>;

/** The fair study's own time, from its records (so a rerun with every run cached does not change it). */
export interface FairStudyTime {
  /** Records of the study (its name a prefix of theirs: tuning rungs and evaluation). */
  runs: number;
  /** From the first run's start (its finish minus its total seconds) to the last run's finish, minutes. */
  wallMinutes: number;
  /** Training and scoring summed over the runs, hours. */
  workerHours: number;
  /** The first run's backend ("?" without runs). */
  backend: string;
}

/** The time of the study named `name` (every record whose study starts with it) from `records`. */
export function fairStudyTime(records: readonly TimedRecordLike[], name: string): FairStudyTime {
  const own = records.filter((r) => r.study.startsWith(name));
  const startMs = Math.min(...own.map((r) => Date.parse(r.finishedAt) - 1000 * r.timings.totalSeconds));
  return {
    runs: own.length,
    wallMinutes: (Math.max(...own.map((r) => Date.parse(r.finishedAt))) - startMs) / 60000,
    workerHours: own.reduce((a, r) => a + r.timings.totalSeconds, 0) / 3600,
    backend: own[0]?.backend ?? "?",
  };
}

/** The study's time in one line, with this execution's minutes and the tuning's (3 digits each). */
export function studyTimeLine(t: FairStudyTime, execution: { minutes: number; tuningMinutes: number }): string {
  return `${t.runs} runs; wall time from the first run's start to the last run's end: ${formatNumber(t.wallMinutes, 3)} min; worker time ${formatNumber(t.workerHours, 3)} h (this execution: ${formatNumber(execution.minutes, 3)} min, tuning ${formatNumber(execution.tuningMinutes, 3)} min)`;
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

/**
 * The headline figure: per model (the tuned summary's), its % better than the baseline, tuned and untuned (when
 * analysed) side by side, ± 1 se of the difference (0 for the baseline); a model missing from a summary drawn NaN.
 */
export function tunedUntunedFigure(a: Pick<FairAnalysis, "tuned" | "untuned">): Figure {
  const models = a.tuned.models.map((m) => m.model);
  const pick = (s: FairAnalysis["untuned"]) => models.map((m) => s?.models.find((x) => x.model === m));
  return withTemplate({
    data: ([["tuned (fair protocol)", a.tuned], ["untuned", a.untuned]] as const).filter(([, s]) => s).map(([name, s], i) => ({
      type: "bar", name, x: models,
      y: pick(s).map((m) => m?.percentVsBaseline ?? NaN),
      error_y: { type: "data", array: pick(s).map((m) => (m && m.model !== s!.baseline ? m.percentVsBaselineSe : 0)), visible: true },
      marker: { color: PALETTE[i] },
    })),
    layout: { barmode: "group", title: { text: "CTCVR cross-entropy, % better than IP (± 1 s.e.; tuned: repeats x worlds random)" }, yaxis: { title: { text: "% improvement over IP" } } },
  });
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

/**
 * ESP's gap against the paper's "about 2 % worse" (the finding "esp-worse-than-ip" with its stated magnitude): the
 * estimate ± se, the tolerance band and whether TOST shows it. Undefined without that finding or its magnitude.
 */
export function espMagnitudeMarkdown(a: Pick<FairAnalysis, "findings">): string | undefined {
  const esp = a.findings.find((f) => f.id === "esp-worse-than-ip");
  if (!esp?.magnitude) return undefined;
  return `**ESP's gap against the paper's "about 2 % worse"** (${esp.magnitude.source}): estimate ${formatPercent(esp.estimate, esp.se)}; within ${esp.magnitude.value} ± ${esp.magnitude.tolerance} %: ${esp.magnitude.shown ? "shown" : "not shown"} (TOST p = ${formatP(esp.magnitude.p)}).`;
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

// ---------------------------------------------------------------------------------------------------
// The generated blocks of README.md and docs/fair-protocol.md (full profile).

/**
 * The line that closes each block: runs, the date (YYYY-MM-DD), wall time on this machine (`cores`), the backend,
 * the worker time and the wall time it would take on 4 such machines with the evaluation sharded (worker hours x 60 / 8).
 */
export function fairStamp(t: FairStudyTime, machine: { date: string; cores: number }): string {
  return `(${t.runs} runs, generated by notebooks/07-fair-protocol.ipynb on ${machine.date}: wall time ${formatNumber(t.wallMinutes, 3)} min on this ${machine.cores}-core machine, ${t.backend} backend, 2 workers x 1 thread; worker time ${formatNumber(t.workerHours, 3)} h, so about ${formatNumber((t.workerHours * 60) / 8, 3)} min on 4 such machines if the evaluation is sharded (the tuning's rungs run one after another))`;
}

/** The findings' verdicts counted: "5 hold, 1 contradicted, 3 inconclusive", raw (`verdict`) or family-wise. */
export function verdictTally(findings: readonly Pick<FairAnalysis["findings"][number], "verdict" | "verdictFamilywise">[], key: "verdict" | "verdictFamilywise"): string {
  const count = (v: string) => findings.filter((f) => f[key] === v).length;
  return `${count("holds")} hold, ${count("contradicted")} contradicted, ${count("inconclusive")} inconclusive`;
}

/** README.md's "fair-headline" block: the verdicts counted, the figure (docs/fair-figure3.png), headline, findings and power tables, the stamp. */
export function readmeHeadlineBlock(a: FairAnalysis, alpha: number, stamp: string): string {
  return [
    `**Of the paper's ${a.findings.length} findings: ${verdictTally(a.findings, "verdict")} at α = ${alpha} each; ${verdictTally(a.findings, "verdictFamilywise")} with the family-wise control (Holm over the ${a.findings.length}).**`,
    "",
    "![CTCVR cross-entropy, % better than IP, fair protocol](docs/fair-figure3.png)",
    "",
    headlineMarkdown(a),
    "",
    findingsMarkdown(a),
    "",
    "Power of each comparison with IP at a true 1 % difference (two-sided, α = 0.01), and the design that would reach 0.8:",
    "",
    powerMarkdown(a),
    "",
    stamp,
  ].join("\n");
}

/** README.md's "fair-design" block: the protocol and the world prior (`evaluation.worldPrior`, which must be set). */
export function readmeDesignBlock(p: FairProtocol, evaluation: StudySpec): string {
  return [
    fairProtocolMarkdown(p, evaluation),
    "",
    `The "${evaluation.worldPrior}" world prior (each evaluation and tuning world's parameters drawn by its simulator seed):`,
    "",
    priorMarkdown(evaluation.worldPrior!),
  ].join("\n");
}

/**
 * docs/fair-protocol.md's "fair-details" block: the protocol, the evaluation then tuning worlds with what each log
 * realized (from `records`), each repeat's choices, the verdicts at three margins, power, training rules and what
 * each conclusion depends on, then the stamp.
 */
export function fairDetailsBlock(
  p: FairProtocol,
  evaluation: StudySpec,
  records: Parameters<typeof worldsMarkdown>[1],
  repeats: readonly TuningRepeat[],
  a: FairAnalysis,
  stamp: string,
): string {
  return [
    "## The protocol", "", fairProtocolMarkdown(p, evaluation), "",
    "## The worlds", "", "Evaluation worlds, then the tuning worlds: each world's parameters as drawn, and what its simulated log realized. The accidental clicks are drawn as a share of the world's target CTR (accidentalClickShare, below 1), so every world can meet its targets; where a simulated log still misses one, the simulator says so on stderr, and the world is in the analysis as drawn.", "", worldsMarkdown(evaluation, records, [...(evaluation.worlds ?? []), ...p.tuningWorlds]), "",
    "## Each repeat's choices", "", choicesMarkdown(repeats), "",
    "## Verdicts at three margins", "", marginsMarkdown(a), "",
    "## Power and variance components", "", powerMarkdown(a), "",
    "## Training rules", "", trainingRulesMarkdown(a), "",
    "## What each conclusion depends on", "", dependenceMarkdown(a), "",
    stamp,
  ].join("\n");
}

/** The writer of generated blocks, defined once in lib/report/generated-blocks.ts (re-exported for notebook 07). */
export { writeGeneratedBlock } from "../report/generated-blocks";
