/**
 * Models as data.
 *
 * Every model of the study is a `ModelSpec`: which towers exist, whether they share a trunk, how pCTCVR is
 * obtained, and which loss terms are optimised. `buildModel` (build.ts) turns a spec into trainable
 * variables; `characteristics` derives the columns of the paper's ablation table from the spec alone, so
 * the table is a consequence of the data in zoo.ts, not a label attached to it.
 */

/** Trainable outputs a model can have. */
export type TaskOutput = "ctr" | "cvr" | "ctcvr";
export const TASK_OUTPUTS: readonly TaskOutput[] = ["ctr", "cvr", "ctcvr"];

/** Labels a loss term can be trained on. `clickAndConversion` = click AND conversion (the CTCVR label). */
export type LabelName = "click" | "conversion" | "clickAndConversion";

/** Rows a loss term is computed over: every impression, or only clicked impressions. */
export type LossSpace = "impressions" | "clicks";

export interface LossTerm {
  output: TaskOutput;
  label: LabelName;
  space: LossSpace;
  /** Multiplier of the term in the total loss. */
  weight: number;
}

/**
 * How each loss term's weighted sum of per-row cross-entropies is turned into a mean (docs/protocol-facts.md, loss normalisation of IPSP):
 *
 * - `"own-rows"`: divided by the total sample weight of the term's own rows (CTR: all rows; CVR on
 *   clicks: the clicked rows). Each term is a proper weighted mean, but a clicked row then pulls much harder
 *   on a shared trunk through a clicks-space term than through an impressions-space term.
 * - `"batch-weight"`: divided by the batch's total sample weight (all rows), for every term.
 * - `"batch-rows"`: divided by the batch's row count, for every term.
 *
 * Default: `"batch-weight"`, the choice with which the measured PyTorch implementation reproduces the
 * paper's ranking (IPSP joint best with ESMM). The choice only matters for models that mix spaces (IP and
 * IPSP); for entire-space models `own-rows` and `batch-weight` coincide.
 */
export type LossNormalization = "own-rows" | "batch-weight" | "batch-rows";
export const LOSS_NORMALIZATIONS: readonly LossNormalization[] = ["own-rows", "batch-weight", "batch-rows"];
export const DEFAULT_LOSS_NORMALIZATION: LossNormalization = "batch-weight";

export interface ModelSpec {
  /** Name as in the paper: IP, ESMM, ESMM-NS, ESSP-Split, IPSP, ESP. */
  name: string;
  /** One-line description for tables and notebooks. */
  description: string;
  /**
   * `"shared"`: one set of embeddings + shared MLP layers feeding every head.
   * `"separate"`: each task has its own embeddings and a full tower (shared layers + head layers).
   */
  trunk: "shared" | "separate";
  /** Trainable heads (towers for separate models). */
  heads: TaskOutput[];
  /**
   * `"product"`: pCTCVR = pCTR * pCVR (no parameters; requires ctr and cvr heads, forbids a ctcvr head).
   * `"head"`: pCTCVR is the output of an independent `ctcvr` head.
   */
  ctcvr: "product" | "head";
  losses: LossTerm[];
}

/** The ablation table's columns, derived from a spec (see `characteristics`). */
export interface ModelCharacteristics {
  /** Some parameters serve more than one task: a shared trunk with at least two heads. */
  sharedParameters: boolean;
  /** Every loss term is computed over all impressions (no term is restricted to clicked rows). */
  entireSpace: boolean;
  /**
   * The CVR estimate is trained weighted by pCTR: pCTCVR is the product pCTR * pCVR and a loss term is
   * put on that product. (IP multiplies at evaluation time only, so it is not weighted.)
   */
  weightedCvr: boolean;
}

export function characteristics(spec: ModelSpec): ModelCharacteristics {
  return {
    sharedParameters: spec.trunk === "shared" && spec.heads.length > 1,
    entireSpace: spec.losses.length > 0 && spec.losses.every((t) => t.space === "impressions"),
    weightedCvr: spec.ctcvr === "product" && spec.losses.some((t) => t.output === "ctcvr"),
  };
}

/** Outputs the model produces (heads, plus ctcvr for product models). */
export function outputsOf(spec: ModelSpec): TaskOutput[] {
  const out = new Set<TaskOutput>(spec.heads);
  if (spec.ctcvr === "product") out.add("ctcvr");
  return TASK_OUTPUTS.filter((t) => out.has(t));
}

/** A short name for a loss term, e.g. `cvr:conversion@clicks`. */
export function lossTermName(t: LossTerm): string {
  return `${t.output}:${t.label}@${t.space}${t.weight !== 1 ? `*${t.weight}` : ""}`;
}

/** Throws with a message naming the spec when it is inconsistent. */
export function validateSpec(spec: ModelSpec): void {
  const fail = (why: string): never => {
    throw new Error(`model spec "${spec.name}": ${why}`);
  };
  if (spec.heads.length === 0) fail("no heads");
  if (new Set(spec.heads).size !== spec.heads.length) fail(`duplicate heads ${spec.heads.join(", ")}`);
  for (const h of spec.heads) if (!TASK_OUTPUTS.includes(h)) fail(`unknown head "${h}"`);
  if (spec.ctcvr === "product") {
    if (!spec.heads.includes("ctr") || !spec.heads.includes("cvr")) fail(`ctcvr "product" needs ctr and cvr heads`);
    if (spec.heads.includes("ctcvr")) fail(`ctcvr "product" and a ctcvr head are exclusive`);
  } else if (spec.ctcvr === "head") {
    if (!spec.heads.includes("ctcvr")) fail(`ctcvr "head" needs a ctcvr head`);
  } else {
    fail(`unknown ctcvr mode "${String(spec.ctcvr)}"`);
  }
  if (spec.trunk !== "shared" && spec.trunk !== "separate") fail(`unknown trunk "${String(spec.trunk)}"`);
  if (spec.losses.length === 0) fail("no loss terms");
  const outputs = outputsOf(spec);
  for (const t of spec.losses) {
    if (!outputs.includes(t.output)) fail(`loss term ${lossTermName(t)} uses output "${t.output}" the model does not have`);
    if (!(t.weight > 0) || !Number.isFinite(t.weight)) fail(`loss term ${lossTermName(t)} has weight ${t.weight}`);
  }
  const trained = new Set(spec.losses.map((t) => t.output));
  for (const h of spec.heads) {
    const reachable = trained.has(h) || (spec.ctcvr === "product" && (h === "ctr" || h === "cvr") && trained.has("ctcvr"));
    if (!reachable) fail(`head "${h}" receives no loss term`);
  }
}

/** Architecture hyper-parameters shared by all six models. */
export interface Architecture {
  /** Embedding size per categorical field. Default 8. */
  embeddingDim: number;
  /** Layers of the shared trunk (after the embeddings). Default [128, 64]. */
  sharedLayers: number[];
  /** Hidden layers of each head, followed by a 1-unit logit layer. Default [32, 16]. */
  headLayers: number[];
  /** Batch normalisation after each hidden dense layer (before ReLU). Default false. */
  batchNorm: boolean;
  /** Half-width of the uniform embedding initialiser. Default 0.05. */
  embeddingInitScale: number;
}

export const DEFAULT_ARCHITECTURE: Readonly<Architecture> = Object.freeze({
  embeddingDim: 8,
  sharedLayers: [128, 64],
  headLayers: [32, 16],
  batchNorm: false,
  embeddingInitScale: 0.05,
});

export function resolveArchitecture(partial: Partial<Architecture> = {}): Architecture {
  const a: Architecture = {
    embeddingDim: partial.embeddingDim ?? DEFAULT_ARCHITECTURE.embeddingDim,
    sharedLayers: [...(partial.sharedLayers ?? DEFAULT_ARCHITECTURE.sharedLayers)],
    headLayers: [...(partial.headLayers ?? DEFAULT_ARCHITECTURE.headLayers)],
    batchNorm: partial.batchNorm ?? DEFAULT_ARCHITECTURE.batchNorm,
    embeddingInitScale: partial.embeddingInitScale ?? DEFAULT_ARCHITECTURE.embeddingInitScale,
  };
  const positiveInt = (n: number) => Number.isInteger(n) && n > 0;
  if (!positiveInt(a.embeddingDim)) throw new Error(`architecture: embeddingDim must be a positive integer, got ${a.embeddingDim}`);
  for (const n of [...a.sharedLayers, ...a.headLayers]) {
    if (!positiveInt(n)) throw new Error(`architecture: layer sizes must be positive integers, got ${n}`);
  }
  return a;
}

/** What the model needs to know about its inputs (taken from an EncodedSplit). */
export interface InputDims {
  categoricalFields: string[];
  /** Including the OOV index 0. */
  vocabularySizes: number[];
  numericFields: string[];
}
