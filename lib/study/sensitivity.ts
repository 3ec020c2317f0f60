/**
 * The protocol-sensitivity study (notebook 05): for each protocol choice the paper does not report, a few
 * levels, each a variant of the default study. docs/protocol-facts.md records the measurement that these choices
 * decide the outcome; here every one is a named option with its default stated.
 *
 * | factor              | option                                   | default        | levels (full)            |
 * |---------------------|------------------------------------------|----------------|--------------------------|
 * | lossNormalization   | train.lossNormalization                  | batch-weight   | own-rows, batch-weight, batch-rows |
 * | negativeKeepRate    | data.negativeKeepRate                    | 0.1            | 0.05, 0.1, 0.3           |
 * | embeddingDim        | architecture.embeddingDim                | 8              | 4, 8, 16                 |
 * | patience            | train.patience                           | 2              | 1, 2, 4                  |
 * | users               | data.simulator.users (entity density)    | 2,000          | 500, 2,000, 20,000       |
 * | conversionRate      | data.simulator.targetCvr                 | 0.07           | 0.03, 0.07, 0.12         |
 * | testDaySize         | data.simulator.evaluationMultiplier      | 1              | 1, 4, 10 (test day only) |
 *
 * The level equal to the default is the same run in every factor (runs are keyed by what they compute, not
 * by the variant's name), so it is trained once.
 */
import { DEFAULT_DATA_SPEC, expandGrid, RunSpec, StudySpec, VariantSpec } from "./spec";
import { matchRecords } from "./results";
import { StudyResult, StudySummary, summarizeStudy } from "./summary";
import { FINDING_RULES, Finding, FindingAcrossLevels, acrossLevels, decideFindings, evaluateFindings } from "./findings";
import { DEFAULT_LOSS_NORMALIZATION } from "../models";

export interface Factor {
  name: string;
  option: string;
  defaultLevel: string | number;
  levels: (string | number)[];
  variant(level: string | number): Omit<VariantSpec, "name" | "factor" | "level">;
}

export const SENSITIVITY_FACTORS: Factor[] = [
  {
    name: "lossNormalization",
    option: "train.lossNormalization",
    defaultLevel: DEFAULT_LOSS_NORMALIZATION,
    levels: ["own-rows", "batch-weight", "batch-rows"],
    variant: (l) => ({ train: { lossNormalization: l as "own-rows" } }),
  },
  { name: "negativeKeepRate", option: "data.negativeKeepRate", defaultLevel: 0.1, levels: [0.05, 0.1, 0.3], variant: (l) => ({ data: { negativeKeepRate: Number(l) } }) },
  { name: "embeddingDim", option: "architecture.embeddingDim", defaultLevel: 8, levels: [4, 8, 16], variant: (l) => ({ architecture: { embeddingDim: Number(l) } }) },
  { name: "patience", option: "train.patience", defaultLevel: 2, levels: [1, 2, 4], variant: (l) => ({ train: { patience: Number(l) } }) },
  { name: "users", option: "data.simulator.users", defaultLevel: 2000, levels: [500, 2000, 20000], variant: (l) => ({ data: { simulator: { users: Number(l) } } }) },
  { name: "conversionRate", option: "data.simulator.targetCvr", defaultLevel: 0.07, levels: [0.03, 0.07, 0.12], variant: (l) => ({ data: { simulator: { targetCvr: Number(l) } } }) },
  {
    name: "testDaySize",
    option: "data.simulator.evaluationMultiplier",
    defaultLevel: 1,
    levels: [1, 4, 10],
    // The test day alone grows; the later days stay 1x (laterDaysMultiplier 1), so level 1 is the default run.
    variant: (l) => ({ data: { simulator: { evaluationMultiplier: Number(l), laterDaysMultiplier: 1 } } }),
  },
];

export const SIX_MODELS = ["IP", "ESMM", "ESMM-NS", "ESSP-Split", "IPSP", "ESP"];

/** The sensitivity grid: every factor at every level, six models, `seeds` seeds. */
export function sensitivityStudy(profile: "quick" | "full"): StudySpec {
  const quick = profile === "quick";
  const factors = quick ? SENSITIVITY_FACTORS.filter((f) => f.name === "lossNormalization" || f.name === "negativeKeepRate") : SENSITIVITY_FACTORS;
  const variants: VariantSpec[] = factors.flatMap((f) =>
    (quick ? f.levels.slice(0, 2) : f.levels).map((level) => ({ name: `${f.name}=${level}`, factor: f.name, level, ...scaleForQuick(f.variant(level), quick) })),
  );
  return {
    name: "protocol-sensitivity",
    models: SIX_MODELS,
    seeds: quick ? [1, 2] : [1, 2, 3, 4, 5],
    data: quick ? { ...DEFAULT_DATA_SPEC, simulator: { impressions: 200_000, days: 15 } } : DEFAULT_DATA_SPEC,
    train: quick ? { maxEpochs: 2 } : {},
    variants,
  };
}

/** In the quick profile the data stay small whatever the level says about impressions. */
function scaleForQuick(v: Omit<VariantSpec, "name" | "factor" | "level">, quick: boolean): Omit<VariantSpec, "name" | "factor" | "level"> {
  if (!quick || !v.data?.simulator?.impressions) return v;
  return { ...v, data: { ...v.data, simulator: { ...v.data.simulator, impressions: v.data.simulator.impressions / 10 } } };
}

/** Records relabelled with the grid's variants: a run shared by several variants counts in each. */
export function recordsByVariant<R extends StudyResult & { config: RunSpec }>(study: StudySpec, records: R[]): R[] {
  return matchRecords(expandGrid(study), records)
    .filter((m): m is { run: RunSpec; record: R } => m.record !== undefined)
    .map(({ run, record }) => ({ ...record, variant: run.variant, factor: run.factor, level: run.level }));
}

export interface FactorResult {
  factor: Factor;
  /** Per level (in the factor's order), the summary of the chosen metric. */
  summaries: Map<string, StudySummary>;
  /** Per finding, its verdict at every level, after the whole grid's multiplicity adjustment. */
  findings: FindingAcrossLevels[];
}

/**
 * For each factor of the study: summaries per level and each of the paper's findings at every level,
 * three-way (holds / contradicted / inconclusive). Multiplicity is controlled across the whole grid: every
 * test behind every verdict (all findings x all distinct levels of all factors; the default level, shared
 * by every factor, counted once) is Holm-adjusted together before deciding (findings.ts decideFindings),
 * so the chance that any "holds" or "contradicted" cell of the table is wrong stays below alpha.
 */
export function sensitivityResults<R extends StudyResult & { config: RunSpec }>(
  study: StudySpec,
  records: R[],
  options: { metric?: string; alpha?: number; margin?: number } = {},
): FactorResult[] {
  const labelled = recordsByVariant(study, records);
  const factorNames = [...new Set((study.variants ?? []).map((v) => v.factor).filter((f): f is string => f !== undefined))];
  const perFactor = factorNames.map((name) => {
    const factor = SENSITIVITY_FACTORS.find((f) => f.name === name) ?? { name, option: name, defaultLevel: "", levels: [], variant: () => ({}) };
    const summaries = new Map<string, StudySummary>();
    for (const v of (study.variants ?? []).filter((x) => x.factor === name)) {
      const rows = labelled.filter((r) => r.variant === v.name);
      if (rows.length === 0) continue;
      summaries.set(String(v.level), summarizeStudy(rows, { variant: v.name, metric: options.metric ?? "ctcvr.logLoss", alpha: options.alpha ?? 0.01 }));
    }
    return { factor, summaries };
  });
  // Evaluate every distinct cell once (the default level is the same runs in every factor), then Holm over all tests.
  const cells = new Map<string, Finding[]>();
  const cellKey = (factor: Factor, level: string) => (String(factor.defaultLevel) === level ? "default" : `${factor.name}=${level}`);
  for (const { factor, summaries } of perFactor) {
    for (const [level, s] of summaries) {
      const key = cellKey(factor, level);
      if (!cells.has(key)) cells.set(key, evaluateFindings(s, { margin: options.margin }));
    }
  }
  const keys = [...cells.keys()];
  const decided = decideFindings(keys.flatMap((k) => cells.get(k)!));
  const n = FINDING_RULES.length;
  const decidedCells = new Map(keys.map((k, i) => [k, decided.slice(i * n, (i + 1) * n)]));
  return perFactor.map(({ factor, summaries }) => ({
    factor,
    summaries,
    findings: FINDING_RULES.map((rule, k) =>
      acrossLevels(
        rule.id,
        [...summaries.keys()].map((level) => ({ level, finding: decidedCells.get(cellKey(factor, level))![k] })),
      ),
    ),
  }));
}
