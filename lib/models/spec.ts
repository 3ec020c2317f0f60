/**
 * Models as data.
 *
 * Every model is a `ModelSpec`: a trunk (how the towers' inputs are computed from the embeddings), its
 * towers (one logit each, optionally receiving information from another tower), how pCTCVR is obtained,
 * and its loss terms. `buildModel` (build.ts) turns a spec into trainable variables; the new kinds enter
 * through small registries (trunk builders in build.ts, loss kinds in losses.ts), and the characteristics
 * of the paper's ablation table (and the new ones: experts, counterfactual correction, transfer) are
 * derived from the built model's reachability (`characteristics`, characteristics.ts), not from labels.
 */

/** Towers a model can have; each produces one logit and its probability. */
export type TowerName = "ctr" | "cvr" | "ctcvr" | "imputation" | "cvrCounterfactual";
export const TOWER_NAMES: readonly TowerName[] = ["ctr", "cvr", "ctcvr", "imputation", "cvrCounterfactual"];

/**
 * Outputs a model can have: its towers', plus pCTCVR derived as pCTR * pCVR for product models.
 * - ctr: P(click | impression). cvr: P(conversion | click, impression). ctcvr: P(click, conversion | impression).
 * - imputation: the imputed conversion probability of ESCM2-DR's imputation tower (Wang et al. SIGIR'22,
 *   after DR-JL, Wang et al. ICML'19), used to impute the CVR error on every impression.
 * - cvrCounterfactual: DCMT's counterfactual CVR tower (Zhu et al. ICDE'23), trained on non-clicked rows.
 */
export type TaskOutput = TowerName;
export const TASK_OUTPUTS: readonly TaskOutput[] = TOWER_NAMES;

/** Labels a cross-entropy term can be trained on. `clickAndConversion` = click AND conversion (the CTCVR label). */
export type LabelName = "click" | "conversion" | "clickAndConversion";
export const LABEL_NAMES: readonly LabelName[] = ["click", "conversion", "clickAndConversion"];

/** Rows a cross-entropy term is computed over: every impression, or only clicked impressions. */
export type LossSpace = "impressions" | "clicks";

/**
 * How the towers' inputs are computed (one builder per kind in build.ts; sizes default to the
 * `Architecture`'s, resolved by `resolveTrunk`):
 * - `separate`: every tower has its own embeddings and an MLP of sharedLayers + its own layers.
 * - `sharedBottom`: one set of embeddings and one MLP (`layers`, default sharedLayers; [] = shared
 *   embeddings only) feed every tower.
 * - `mmoe`: shared embeddings; `experts` MLPs (`expertLayers`); one softmax gate per tower mixes them
 *   (Ma et al. KDD'18).
 * - `ple`: progressive layered extraction (Tang et al. RecSys'20): one level per entry of `expertLayers`,
 *   each with `sharedExperts` shared and `taskExperts` task-specific one-layer experts; each task's gate
 *   mixes its own and the shared experts, the shared gate (all levels but the last) mixes every expert.
 */
export type TrunkSpec =
  | { kind: "separate" }
  | { kind: "sharedBottom"; layers?: number[] }
  | { kind: "mmoe"; experts?: number; expertLayers?: number[] }
  | { kind: "ple"; sharedExperts?: number; taskExperts?: number; expertLayers?: number[] };
export type TrunkKind = TrunkSpec["kind"];

/**
 * One tower: hidden layers (default: the Architecture's headLayers; for `separate` trunks sharedLayers
 * come first) and a 1-unit logit layer. `transferFrom`: AITM's adaptive information transfer (Xi et al.
 * KDD'21): the source tower's last hidden representation, projected by a dense ReLU layer, and this
 * tower's own are combined by attention over the two (query, key and value projections, softmax of
 * q.k / sqrt(d)) before the logit layer.
 */
export interface TowerSpec {
  name: TowerName;
  layers?: number[];
  transferFrom?: TowerName;
}

/** Cross-entropy of an output on a label over a row space (the six paper models use only these). */
export interface CrossEntropyTerm {
  kind: "ce";
  output: TaskOutput;
  label: LabelName;
  space: LossSpace;
  /** Multiplier of the term in the total loss. */
  weight: number;
}

/**
 * ESCM2-IPS's counterfactual risk (Wang et al. SIGIR'22, Eq. 8): the CVR cross-entropy on clicked rows,
 * weighted by 1 / max(pCTR, minPropensity) with the propensity detached (no gradient into the CTR tower),
 * averaged over every impression of the batch (1/|D|, not over clicks).
 */
export interface IpsTerm {
  kind: "ips";
  output: "cvr";
  propensity: "ctr";
  minPropensity: number;
  weight: number;
}

/**
 * ESCM2-DR's doubly robust risk, as in DR-JL (Wang et al. ICML'19): per impression, the imputed error
 * ê = CE(r̃, pCVR) with r̃ the imputation tower's detached probability, plus on clicked rows the
 * propensity-weighted correction (e - ê) / p̂CTR with e = CE(conversion, pCVR) and the propensity detached;
 * averaged over every impression. Plus `imputationWeight` times the imputation tower's own loss: clicked
 * rows' squared error (e - ê)² / p̂CTR with the CVR tower detached.
 */
export interface DoublyRobustTerm {
  kind: "dr";
  output: "cvr";
  imputation: "imputation";
  propensity: "ctr";
  minPropensity: number;
  weight: number;
  imputationWeight: number;
}

/**
 * AITM's behavioural expectation calibrator (Xi et al. KDD'21, Eq. 7): the mean over impressions of
 * max(p_lower - p_upper, 0), e.g. lower = pCTCVR (impression -> conversion), upper = pCTR: the later step
 * of a funnel cannot be more likely than the earlier one. A mean, not a sum.
 */
export interface CalibratorTerm {
  kind: "calibrator";
  lower: TaskOutput;
  upper: TaskOutput;
  weight: number;
}

/**
 * DCMT's counterfactual CVR risk (Zhu et al. ICDE'23), averaged over every impression: the factual CVR
 * cross-entropy on clicked rows weighted by 1 / p̂CTR, the counterfactual tower's cross-entropy on
 * non-clicked rows against the counterfactual label 1 - conversion (= 1 there) weighted by 1 / (1 - p̂CTR),
 * the propensity detached and clipped to [minPropensity, 1 - minPropensity]; plus `constraintWeight` times
 * the mean over impressions of |1 - (pCVR + pCVR*)| (the two towers' predictions should sum to one).
 */
export interface CounterfactualTerm {
  kind: "counterfactual";
  output: "cvr";
  counterfactual: "cvrCounterfactual";
  propensity: "ctr";
  minPropensity: number;
  weight: number;
  constraintWeight: number;
}

export type LossTerm = CrossEntropyTerm | IpsTerm | DoublyRobustTerm | CalibratorTerm | CounterfactualTerm;
export type LossKind = LossTerm["kind"];

/**
 * How each term's weighted sum of per-row losses is turned into a mean (docs/protocol-facts.md, loss normalisation of IPSP):
 *
 * - `"own-rows"`: divided by the total sample weight of the term's own rows (CTR: all rows; CVR on
 *   clicks: the clicked rows). Each term is a proper weighted mean, but a clicked row then pulls much harder
 *   on a shared trunk through a clicks-space term than through an impressions-space term.
 * - `"batch-weight"`: divided by the batch's total sample weight (all rows), for every term.
 * - `"batch-rows"`: divided by the batch's row count, for every term.
 *
 * Default: `"batch-weight"`, the choice with which the measured PyTorch implementation reproduces the
 * paper's ranking (IPSP joint best with ESMM). The choice only matters for models that mix spaces (IP and
 * IPSP); for entire-space terms (every kind but a clicks-space cross-entropy) `own-rows` and
 * `batch-weight` coincide.
 */
export type LossNormalization = "own-rows" | "batch-weight" | "batch-rows";
export const LOSS_NORMALIZATIONS: readonly LossNormalization[] = ["own-rows", "batch-weight", "batch-rows"];
export const DEFAULT_LOSS_NORMALIZATION: LossNormalization = "batch-weight";

export interface ModelSpec {
  /** Name as in the papers: IP, ESMM, ESMM-NS, ESSP-Split, IPSP, ESP, MMoE, PLE, AITM, ESCM2-IPS, ESCM2-DR, DCMT. */
  name: string;
  /** One-line description for tables and notebooks. */
  description: string;
  /** Where the model comes from, and the defaults it uses (said once, for the README's table). */
  source: string;
  trunk: TrunkSpec;
  towers: TowerSpec[];
  /**
   * `"product"`: pCTCVR = pCTR * pCVR (no parameters; requires ctr and cvr towers, forbids a ctcvr tower).
   * `"head"`: pCTCVR is the output of an independent `ctcvr` tower.
   */
  ctcvr: "product" | "head";
  losses: LossTerm[];
}

/** Names of the spec's towers, in spec order. */
export function towerNames(spec: ModelSpec): TowerName[] {
  return spec.towers.map((t) => t.name);
}

/** Outputs the model produces (towers, plus ctcvr for product models), in TASK_OUTPUTS order. */
export function outputsOf(spec: ModelSpec): TaskOutput[] {
  const out = new Set<TaskOutput>(towerNames(spec));
  if (spec.ctcvr === "product") out.add("ctcvr");
  return TASK_OUTPUTS.filter((t) => out.has(t));
}

/** Architecture hyper-parameters: the defaults every model's sizes are taken from. */
export interface Architecture {
  /** Embedding size per categorical field. Default 8. */
  embeddingDim: number;
  /** Layers of the shared trunk (after the embeddings); the first layers of separate towers. Default [128, 64]. */
  sharedLayers: number[];
  /** Hidden layers of each tower, followed by a 1-unit logit layer. Default [32, 16]. */
  headLayers: number[];
  /** Batch normalisation after each hidden dense layer of the MLPs (before ReLU). Default false. */
  batchNorm: boolean;
  /** Half-width of the uniform embedding initialiser. Default 0.05. */
  embeddingInitScale: number;
  /**
   * Dropout rate in [0, 1) after each hidden ReLU of every MLP (trunk, experts, towers), in training mode
   * only (inverted dropout: kept units scaled by 1 / (1 - rate), so evaluation needs no rescaling); masks
   * are seeded from the model seed (blocks.ts). Default 0 (none: the forward pass is exactly the one without it).
   */
  dropout: number;
}

export const DEFAULT_ARCHITECTURE: Readonly<Architecture> = Object.freeze({
  embeddingDim: 8,
  sharedLayers: [128, 64],
  headLayers: [32, 16],
  batchNorm: false,
  embeddingInitScale: 0.05,
  dropout: 0,
});

/** Trunk sizes used when the spec leaves them out (MMoE: 4 experts of the shared layers; PLE: one level per shared layer, 2 shared + 1 task expert). */
export const DEFAULT_TRUNK_SIZES = Object.freeze({ mmoeExperts: 4, pleSharedExperts: 2, pleTaskExperts: 1 });

export function resolveArchitecture(partial: Partial<Architecture> = {}): Architecture {
  const a: Architecture = {
    embeddingDim: partial.embeddingDim ?? DEFAULT_ARCHITECTURE.embeddingDim,
    sharedLayers: [...(partial.sharedLayers ?? DEFAULT_ARCHITECTURE.sharedLayers)],
    headLayers: [...(partial.headLayers ?? DEFAULT_ARCHITECTURE.headLayers)],
    batchNorm: partial.batchNorm ?? DEFAULT_ARCHITECTURE.batchNorm,
    embeddingInitScale: partial.embeddingInitScale ?? DEFAULT_ARCHITECTURE.embeddingInitScale,
    dropout: partial.dropout ?? DEFAULT_ARCHITECTURE.dropout,
  };
  if (!(Number.isFinite(a.dropout) && a.dropout >= 0 && a.dropout < 1)) throw new Error(`architecture: dropout must be a number in [0, 1), got ${a.dropout}`);
  if (!positiveInt(a.embeddingDim)) throw new Error(`architecture: embeddingDim must be a positive integer, got ${a.embeddingDim}`);
  for (const n of [...a.sharedLayers, ...a.headLayers]) {
    if (!positiveInt(n)) throw new Error(`architecture: layer sizes must be positive integers, got ${n}`);
  }
  return a;
}

const positiveInt = (n: number) => Number.isInteger(n) && n > 0;

/** The trunk with every size filled in from `architecture` and DEFAULT_TRUNK_SIZES. */
export function resolveTrunk(trunk: TrunkSpec, architecture: Architecture): Required<TrunkSpec> {
  switch (trunk.kind) {
    case "separate":
      return { kind: "separate" };
    case "sharedBottom":
      return { kind: "sharedBottom", layers: [...(trunk.layers ?? architecture.sharedLayers)] };
    case "mmoe":
      return { kind: "mmoe", experts: trunk.experts ?? DEFAULT_TRUNK_SIZES.mmoeExperts, expertLayers: [...(trunk.expertLayers ?? architecture.sharedLayers)] };
    case "ple":
      return {
        kind: "ple",
        sharedExperts: trunk.sharedExperts ?? DEFAULT_TRUNK_SIZES.pleSharedExperts,
        taskExperts: trunk.taskExperts ?? DEFAULT_TRUNK_SIZES.pleTaskExperts,
        expertLayers: [...(trunk.expertLayers ?? architecture.sharedLayers)],
      };
    default:
      throw new Error(`unknown trunk kind "${String((trunk as { kind: unknown }).kind)}"; use one of separate, sharedBottom, mmoe, ple`);
  }
}

/** What the model needs to know about its inputs (taken from an EncodedSplit). */
export interface InputDims {
  categoricalFields: string[];
  /** Including the OOV index 0. */
  vocabularySizes: number[];
  numericFields: string[];
}
