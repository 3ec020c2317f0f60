/**
 * The tuning protocol's search space, as data (issue 14, point 1).
 *
 * A trial is one point u in [0, 1)^D of a design (./design.ts), the same point for every model: the first
 * columns are the space's common dimensions (learning rate, embedding size, widths, weight decay,
 * dropout, batch size), the last MAX_FAMILY_DIMENSIONS columns are read by each model's own family
 * dimensions (FAMILY_DIMENSIONS: its loss-term weights), in order. Each dimension maps its coordinate to a
 * value by its kind (DIMENSION_KINDS, one function each), and the value is written to the option it names
 * (`architecture.*` or `train.*`), so a trial is an ordinary variant of the study (lib/study/spec.ts).
 *
 * Ranges: centred on the defaults every model trains with untuned (Adam 1e-3, embedding 8, 128-64 /
 * 32-16, batch 1024, no weight decay or dropout), about one order of magnitude either side for the
 * learning rate (as the BARS/FuxiCTR open benchmarks search), a quarter of the trials without weight decay
 * and a quarter without dropout (so the untuned configuration's neighbourhood stays in the design).
 *
 * Family weights are multipliers of the spec's loss-term weights (TrainConfig.lossWeights), log-uniform
 * around 1. A model whose terms share no variable (IP: two separate towers) or that has one term (ESP) has
 * none: under Adam, scaling a term whose gradient reaches only its own variables changes nothing but the
 * role of epsilon.
 */
import type { Architecture } from "../models/spec";
import { getModelSpec } from "../models/zoo";
import type { TrainConfig } from "../train/trainer";

/** How a coordinate u in [0, 1) becomes a value (DIMENSION_KINDS has one mapping per kind). */
export type Dimension =
  | { kind: "logUniform"; low: number; high: number }
  | { kind: "uniform"; low: number; high: number }
  | { kind: "choice"; values: readonly (number | readonly number[])[] }
  | { kind: "orZero"; zeroShare: number; otherwise: Dimension };
export type DimensionKind = Dimension["kind"];

type DimensionValue = number | number[];

/** The mapping of each kind: value(u) for u in [0, 1), and a short description for tables. */
export const DIMENSION_KINDS: { [K in DimensionKind]: { value(d: Extract<Dimension, { kind: K }>, u: number): DimensionValue; describe(d: Extract<Dimension, { kind: K }>): string } } = {
  logUniform: {
    value: (d, u) => Math.exp(Math.log(d.low) + u * (Math.log(d.high) - Math.log(d.low))),
    describe: (d) => `log-uniform [${d.low}, ${d.high}]`,
  },
  uniform: {
    value: (d, u) => d.low + u * (d.high - d.low),
    describe: (d) => `uniform [${d.low}, ${d.high}]`,
  },
  choice: {
    value: (d, u) => {
      const v = d.values[Math.min(d.values.length - 1, Math.floor(u * d.values.length))];
      return typeof v === "number" ? v : [...v];
    },
    describe: (d) => `one of ${d.values.map((v) => (typeof v === "number" ? String(v) : v.join("-"))).join(", ")}`,
  },
  orZero: {
    value: (d, u) => (u < d.zeroShare ? 0 : dimensionValue(d.otherwise, (u - d.zeroShare) / (1 - d.zeroShare))),
    describe: (d) => `0 in ${Math.round(d.zeroShare * 100)} % of trials, else ${describeDimension(d.otherwise)}`,
  },
};

/** The value of dimension `d` at coordinate `u` in [0, 1). Throws on u outside [0, 1). */
export function dimensionValue(d: Dimension, u: number): DimensionValue {
  if (!(u >= 0 && u < 1)) throw new Error(`search space: coordinate must be in [0, 1), got ${u}`);
  return (DIMENSION_KINDS[d.kind].value as (d: Dimension, u: number) => DimensionValue)(d, u);
}

export function describeDimension(d: Dimension): string {
  return (DIMENSION_KINDS[d.kind].describe as (d: Dimension) => string)(d);
}

/** Options a common dimension can set: `architecture.<key>` or `train.<key>`. */
export type TunedOption = `architecture.${keyof Architecture}` | `train.${Exclude<keyof TrainConfig, "seed" | "lossWeights">}`;

export interface SearchDimension {
  /** Short name for tables, e.g. "learningRate". */
  name: string;
  option: TunedOption;
  dimension: Dimension;
}

export interface SearchSpace {
  /** The common dimensions, in design-column order. */
  dimensions: readonly SearchDimension[];
}

/** The paper models' and the families' search space (see the header for the ranges' reasons). */
export const DEFAULT_SEARCH_SPACE: SearchSpace = {
  dimensions: [
    { name: "learningRate", option: "train.learningRate", dimension: { kind: "logUniform", low: 1e-4, high: 1e-2 } },
    { name: "embeddingDim", option: "architecture.embeddingDim", dimension: { kind: "choice", values: [4, 8, 16] } },
    { name: "sharedLayers", option: "architecture.sharedLayers", dimension: { kind: "choice", values: [[64, 32], [128, 64], [256, 128]] } },
    { name: "headLayers", option: "architecture.headLayers", dimension: { kind: "choice", values: [[16, 8], [32, 16], [64, 32]] } },
    { name: "weightDecay", option: "train.weightDecay", dimension: { kind: "orZero", zeroShare: 0.25, otherwise: { kind: "logUniform", low: 1e-7, high: 1e-4 } } },
    { name: "dropout", option: "architecture.dropout", dimension: { kind: "orZero", zeroShare: 0.25, otherwise: { kind: "uniform", low: 0.05, high: 0.5 } } },
    { name: "batchSize", option: "train.batchSize", dimension: { kind: "choice", values: [512, 1024, 2048] } },
  ],
};

/** Design columns reserved for family dimensions (the most any model in FAMILY_DIMENSIONS has). */
export const MAX_FAMILY_DIMENSIONS = 2;

/** A family's own dimension: a multiplier of one loss term's weight, the term found by kind (and output). */
export interface FamilyDimension {
  name: string;
  term: { kind: string; output?: string };
  dimension: Dimension;
}

const termWeight = (name: string, kind: string, output: string | undefined, low: number, high: number): FamilyDimension => ({
  name,
  term: output === undefined ? { kind } : { kind, output },
  dimension: { kind: "logUniform", low, high },
});
const CTCVR_WEIGHT = termWeight("ctcvrWeight", "ce", "ctcvr", 0.25, 4);
const CVR_WEIGHT = termWeight("cvrWeight", "ce", "cvr", 0.25, 4);

/**
 * Each model's own dimensions (the per-model hook), by zoo name; a model not listed has none. The weight
 * of the term besides the CTR term where both reach shared variables (a shared trunk, or ESMM-NS's
 * pCTR x pCVR), and the debiasing or calibration term of each family (multiplier 0.1-10 of its default).
 */
export const FAMILY_DIMENSIONS: Readonly<Record<string, readonly FamilyDimension[]>> = {
  ESMM: [CTCVR_WEIGHT],
  "ESMM-NS": [CTCVR_WEIGHT],
  "ESSP-Split": [CTCVR_WEIGHT],
  IPSP: [CVR_WEIGHT],
  MMoE: [CVR_WEIGHT],
  PLE: [CVR_WEIGHT],
  AITM: [CTCVR_WEIGHT, termWeight("calibratorWeight", "calibrator", undefined, 0.1, 10)],
  "ESCM2-IPS": [CTCVR_WEIGHT, termWeight("ipsWeight", "ips", undefined, 0.1, 10)],
  "ESCM2-DR": [CTCVR_WEIGHT, termWeight("drWeight", "dr", undefined, 0.1, 10)],
  DCMT: [termWeight("counterfactualWeight", "counterfactual", undefined, 0.1, 10)],
};

/** The dimensions of `model` (canonical zoo name): the common ones, then its family's. */
export function familyDimensions(model: string): readonly FamilyDimension[] {
  const own = FAMILY_DIMENSIONS[getModelSpec(model).name] ?? [];
  if (own.length > MAX_FAMILY_DIMENSIONS) throw new Error(`search space: ${model} has ${own.length} family dimensions, at most ${MAX_FAMILY_DIMENSIONS}`);
  return own;
}

/** Columns of a design for `space`: its common dimensions plus the family columns. */
export function designDimensions(space: SearchSpace = DEFAULT_SEARCH_SPACE): number {
  return space.dimensions.length + MAX_FAMILY_DIMENSIONS;
}

/** What a trial sets for one model: architecture and training options (a VariantSpec's per-model settings). */
export interface TrialSettings {
  architecture: Partial<Architecture>;
  train: Partial<Omit<TrainConfig, "seed">>;
}

/**
 * The settings of `model` at design point `u` (length designDimensions(space), each in [0, 1)): each common
 * dimension's value written to its option, and, when the family has dimensions, `train.lossWeights` with
 * 1 for every term but the family's (its multipliers). Throws on a point of the wrong length, or a family
 * dimension whose term the model's spec does not have.
 */
export function trialSettings(model: string, u: readonly number[], space: SearchSpace = DEFAULT_SEARCH_SPACE): TrialSettings {
  if (u.length !== designDimensions(space)) throw new Error(`search space: a design point needs ${designDimensions(space)} coordinates, got ${u.length}`);
  const settings: TrialSettings = { architecture: {}, train: {} };
  space.dimensions.forEach((d, j) => {
    const [group, key] = d.option.split(".") as ["architecture" | "train", string];
    (settings[group] as Record<string, unknown>)[key] = dimensionValue(d.dimension, u[j]);
  });
  const spec = getModelSpec(model);
  const family = familyDimensions(model);
  if (family.length > 0) {
    const weights = spec.losses.map(() => 1);
    family.forEach((f, k) => {
      const i = spec.losses.findIndex((t) => t.kind === f.term.kind && (f.term.output === undefined || (t as { output?: string }).output === f.term.output));
      if (i < 0) throw new Error(`search space: ${spec.name} has no ${f.term.kind}${f.term.output ? ` ${f.term.output}` : ""} loss term for its dimension ${f.name}`);
      weights[i] = dimensionValue(f.dimension, u[space.dimensions.length + k]) as number;
    });
    settings.train.lossWeights = weights;
  }
  return settings;
}

/** One row per dimension (common, then each listed model's own): name, option, range. For notebooks and --help. */
export function searchSpaceRows(models: readonly string[], space: SearchSpace = DEFAULT_SEARCH_SPACE): { dimension: string; option: string; models: string; values: string }[] {
  const rows: { dimension: string; option: string; models: string; values: string }[] = space.dimensions.map((d) => ({ dimension: d.name, option: d.option, models: "all", values: describeDimension(d.dimension) }));
  for (const m of models) {
    for (const f of familyDimensions(m)) {
      rows.push({ dimension: f.name, option: `train.lossWeights (${f.term.kind}${f.term.output ? ` ${f.term.output}` : ""} term)`, models: getModelSpec(m).name, values: `multiplier, ${describeDimension(f.dimension)}` });
    }
  }
  return rows;
}
