/**
 * Loss terms: one definition per kind (autodiff through tfjs ops, `tf.stopGradient` where the paper
 * detaches), looked up in `LOSS_KINDS`; `totalLoss` (the training objective) sums them, computing the
 * cross-entropy terms through a closed-form fast path (one op with analytic gradients) that
 * test/models.test.ts checks against the definition and both against a float64 reference.
 *
 * A spec's loss is the weighted sum of its terms. A cross-entropy term is looked up by its fields: `output`
 * selects how log p and log(1-p) are obtained from the model's logits (`outputLogProbs`), `label` selects
 * the label column (`LABELS`), `space` selects the rows (all impressions, or clicked ones only), and the
 * `LossNormalization` decides the denominator (see spec.ts). The other kinds (ips, dr, counterfactual,
 * cappedIps, errorDr, mrdr, nise, chorus, and AITM's calibrator) are averages over every impression of the
 * batch (the papers' 1/|D|).
 *
 * Numerics. For a logit z: log p = -softplus(-z), log(1-p) = -softplus(z). For a product model
 * (pCTCVR = pCTR * pCVR, logits a and b): log pCTCVR = logSigmoid(a) + logSigmoid(b) and
 *   log(1 - pCTCVR) = log1p(-exp(log pCTCVR))                           when pCTCVR < 1/2,
 *                   = logSumExp(-a, -b, -a-b) + log pCTCVR                otherwise,
 * the second form being the exact identity 1 - s(a)s(b) = (e^-a + e^-b + e^-a-b) s(a) s(b). Each branch is fed
 * inputs clamped to its own domain so that the branch not taken has finite values and gradients (no
 * 0 * inf = NaN in the selection). Loss and gradients are finite for logits from -40 to 120 and beyond.
 *
 * Seed groups (lib/models/blocks.ts). Outputs and labels may carry a leading seed axis ([S, batch]): every
 * per-row formula is elementwise, and every reduction is over the last (row) axis only, so each seed's
 * term is exactly its single-model term and a term's value is [S] (a scalar for a single model).
 */
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../backend";
import {
  CalibratorTerm,
  CappedIpsTerm,
  ChorusTerm,
  CounterfactualTerm,
  CrossEntropyTerm,
  DoublyRobustTerm,
  ErrorDoublyRobustTerm,
  IpsTerm,
  LabelName,
  LossKind,
  LossNormalization,
  LossSpace,
  LossTerm,
  ModelSpec,
  MrdrTerm,
  NiseTerm,
  TaskOutput,
} from "./spec";

/** The three cross-entropy terms the six paper models use. */
export const STANDARD_TERMS = {
  /** CTR tower, click label, every impression. */
  ctrOnImpressions: { kind: "ce", output: "ctr", label: "click", space: "impressions", weight: 1 },
  /** CVR tower, conversion label, clicked impressions only (IP, IPSP). */
  cvrOnClicks: { kind: "ce", output: "cvr", label: "conversion", space: "clicks", weight: 1 },
  /** pCTCVR (product or tower), click-and-conversion label, every impression (entire-space models). */
  ctcvrOnImpressions: { kind: "ce", output: "ctcvr", label: "clickAndConversion", space: "impressions", weight: 1 },
} as const satisfies Record<string, CrossEntropyTerm>;

/** Logits and probabilities of a forward pass; each is [batch]. pCtcvr is present for every model. */
export interface ModelOutputs {
  ctrLogit?: tfjs.Tensor1D;
  cvrLogit?: tfjs.Tensor1D;
  /** Only for models with an independent ctcvr tower (ESSP-Split, ESP, AITM). */
  ctcvrLogit?: tfjs.Tensor1D;
  /** The doubly robust families' imputation tower (ESCM2-DR, Multi-DR, DR-JL, MRDR). */
  imputationLogit?: tfjs.Tensor1D;
  /** DCMT's counterfactual CVR tower. */
  cvrCounterfactualLogit?: tfjs.Tensor1D;
  /** ChorusCVR's unCVR tower. */
  unCvrLogit?: tfjs.Tensor1D;
  pCtr?: tfjs.Tensor1D;
  pCvr?: tfjs.Tensor1D;
  pImputation?: tfjs.Tensor1D;
  pCvrCounterfactual?: tfjs.Tensor1D;
  pUnCvr?: tfjs.Tensor1D;
  pCtcvr: tfjs.Tensor1D;
}

/** The ModelOutputs keys of each output's logit and probability (named, never positional). */
export const OUTPUT_KEYS: Record<TaskOutput, { logit: keyof ModelOutputs; probability: keyof ModelOutputs }> = {
  ctr: { logit: "ctrLogit", probability: "pCtr" },
  cvr: { logit: "cvrLogit", probability: "pCvr" },
  ctcvr: { logit: "ctcvrLogit", probability: "pCtcvr" },
  imputation: { logit: "imputationLogit", probability: "pImputation" },
  cvrCounterfactual: { logit: "cvrCounterfactualLogit", probability: "pCvrCounterfactual" },
  unCvr: { logit: "unCvrLogit", probability: "pUnCvr" },
};

/** Label columns of a batch, float32 [batch]. */
export interface LabelTensors {
  click: tfjs.Tensor1D;
  conversion: tfjs.Tensor1D;
  /** Sample weights (1/keepRate for downsampled negatives). */
  weight: tfjs.Tensor1D;
}

export interface LogProbs {
  logP: tfjs.Tensor1D;
  log1mP: tfjs.Tensor1D;
}

const LN2 = Math.LN2;

/**
 * log sigmoid(z) = -softplus(-z). (Not tf.logSigmoid: in tfjs 4.22 its custom gradient fails with
 * "Cannot read properties of undefined (reading 'backend')" when its input is an intermediate tensor,
 * e.g. tf.logSigmoid(tf.neg(z)) under tf.variableGrads; Softplus is a kernel with a registered gradient.)
 */
export function logSigmoid(z: tfjs.Tensor1D): tfjs.Tensor1D {
  const t = tf();
  return t.neg(t.softplus(t.neg(z)));
}

/** log p and log(1-p) of p = sigmoid(z). */
export function logProbsFromLogit(z: tfjs.Tensor1D): LogProbs {
  const t = tf();
  return { logP: logSigmoid(z), log1mP: t.neg(t.softplus(z)) };
}

/** log p and log(1-p) of p = sigmoid(a) * sigmoid(b), stably (see the file comment). */
export function productLogProbs(a: tfjs.Tensor1D, b: tfjs.Tensor1D): LogProbs {
  const t = tf();
  const logP = t.add(logSigmoid(a), logSigmoid(b)) as tfjs.Tensor1D;
  // Branch 1 (p < 1/2): log1p(-exp(logP)), input clamped to <= -ln2 so it is finite everywhere.
  const small = t.log1p(t.neg(t.exp(t.minimum(logP, -LN2))));
  // Branch 2 (p >= 1/2): exact identity; finite for all finite a, b.
  const negA = t.neg(a);
  const negB = t.neg(b);
  const lse = t.logSumExp(t.stack([negA, negB, t.add(negA, negB)], a.rank), a.rank);
  const large = t.add(lse, logP);
  // Select with a 0/1 mask from Step (zero gradient). Not tf.where(tf.less(...)): tf.where sends a
  // gradient to its condition and tfjs 4.22 registers none for Less ("gradient function not found"). Both
  // branches are finite, so the blend mask*small + (1-mask)*large picks one exactly, value and gradient.
  const useSmall = t.step(t.sub(-LN2, logP));
  const log1mP = t.add(t.mul(useSmall, small), t.mul(t.sub(1, useSmall), large)) as tfjs.Tensor1D;
  return { logP, log1mP };
}

function need(x: tfjs.Tensor1D | undefined, what: string, spec: ModelSpec): tfjs.Tensor1D {
  if (!x) throw new Error(`model "${spec.name}": loss needs ${what}, which the forward pass did not produce`);
  return x;
}

/** The logit of a tower output, or a clear error naming the model. */
export function logitOf(spec: ModelSpec, o: ModelOutputs, output: TaskOutput): tfjs.Tensor1D {
  const key = OUTPUT_KEYS[output].logit;
  return need(o[key] as tfjs.Tensor1D | undefined, key, spec);
}

/** The probability of an output (pCTCVR of a product model included), or a clear error naming the model. */
export function probabilityOf(spec: ModelSpec, o: ModelOutputs, output: TaskOutput): tfjs.Tensor1D {
  const key = OUTPUT_KEYS[output].probability;
  return need(o[key] as tfjs.Tensor1D | undefined, key, spec);
}

/** log p and log(1 - p) of an output: from its logit, or for pCTCVR = pCTR * pCVR from both logits. */
export function outputLogProbs(spec: ModelSpec, o: ModelOutputs, output: TaskOutput): LogProbs {
  if (output === "ctcvr" && spec.ctcvr === "product") return productLogProbs(logitOf(spec, o, "ctr"), logitOf(spec, o, "cvr"));
  return logProbsFromLogit(logitOf(spec, o, output));
}

/** Label columns, looked up by label name. */
export const LABELS: Record<LabelName, (l: LabelTensors) => tfjs.Tensor1D> = {
  click: (l) => l.click,
  conversion: (l) => l.conversion,
  clickAndConversion: (l) => tf().mul(l.click, l.conversion) as tfjs.Tensor1D,
};

/** Per-row cross-entropy -[y log p + (1 - y) log(1 - p)] from log-probabilities: [batch]. */
function crossEntropyRows(y: tfjs.Tensor, lp: LogProbs): tfjs.Tensor1D {
  const t = tf();
  return t.neg(t.add(t.mul(y, lp.logP), t.mul(t.sub(1, y), lp.log1mP))) as tfjs.Tensor1D;
}

/** Per-row weight of a term: the sample weight, zeroed outside the term's space. */
function spaceWeights(space: LossSpace, labels: LabelTensors): tfjs.Tensor1D {
  return space === "clicks" ? (tf().mul(labels.weight, labels.click) as tfjs.Tensor1D) : labels.weight;
}

/**
 * Sum over the row axis: [batch] -> scalar, or a seed group's [S, batch] -> [S] (each seed's own sum).
 */
export function rowSum(x: tfjs.Tensor): tfjs.Scalar {
  const t = tf();
  return (x.rank <= 1 ? t.sum(x) : t.sum(x, -1)) as tfjs.Scalar;
}

/** A per-batch value (a scalar, or a seed group's [S]) shaped to broadcast over the rows ([S, 1]). */
function perRow(x: tfjs.Tensor): tfjs.Tensor {
  return x.rank === 0 ? x : tf().expandDims(x, -1);
}

/**
 * The denominator of a loss term with row weights `w` (the term's sample weights, zero outside its space):
 * "own-rows" the term's own total weight, "batch-weight" the batch's total sample weight (computed once per
 * batch), "batch-rows" the batch's row count. A scalar, or one per seed ([S]) in a seed group.
 */
function lossDenominators(normalization: LossNormalization, labels: LabelTensors): (w: tfjs.Tensor1D) => tfjs.Scalar {
  const t = tf();
  switch (normalization) {
    case "own-rows":
      return (w) => t.maximum(rowSum(w), 1e-12) as tfjs.Scalar;
    case "batch-weight": {
      let batchWeight: tfjs.Scalar | undefined;
      return () => (batchWeight ??= t.maximum(rowSum(labels.weight), 1e-12) as tfjs.Scalar);
    }
    case "batch-rows": {
      const rows = Math.max(labels.weight.shape[labels.weight.rank - 1], 1);
      return () => t.scalar(rows);
    }
    default:
      throw new Error(`unknown loss normalization "${String(normalization)}"; use one of own-rows, batch-weight, batch-rows`);
  }
}

/** Weighted mean over every impression of per-row values `v` ([batch]): sum(w v) / denominator. */
type ImpressionMean = (v: tfjs.Tensor) => tfjs.Scalar;

/** What a definition is handed besides its term. */
export interface LossContext {
  spec: ModelSpec;
  outputs: ModelOutputs;
  labels: LabelTensors;
  /** Denominator of a term whose rows carry weights `w` (see LossNormalization). */
  denominatorOf: (w: tfjs.Tensor1D) => tfjs.Scalar;
  /** sum(sampleWeight * v) / denominator of the impressions space. */
  impressionMean: ImpressionMean;
}

/** One kind of loss term: its definition and what the rest of the library needs to know about it. */
export interface LossKindDefinition<T extends LossTerm> {
  /** Outputs the term reads. */
  reads(term: T): TaskOutput[];
  /** Outputs read only through tf.stopGradient (a propensity): no gradient reaches their towers from this term. */
  detached(term: T): TaskOutput[];
  /** Rows the term's risk is taken over: "clicks" only for a clicked-rows cross-entropy (the paper's "entire space" column). */
  space(term: T): LossSpace;
  /** Whether the term corrects the selection bias with a propensity (IPS, DR, DCMT). */
  counterfactual: boolean;
  /** Short name for tables, e.g. `cvr:conversion@clicks`, `ips(cvr|ctr>=0.01)`. */
  name(term: T): string;
  /** Numeric parameters that must be finite and > 0 (weights); and in (0, 1/2] (propensity floors). */
  positive(term: T): Record<string, number>;
  /** The normalised term before its `weight`: a scalar with gradients where the paper has them. */
  define(term: T, ctx: LossContext): tfjs.Scalar;
}

/**
 * x with no gradient (TensorFlow's tf.stop_gradient, PyTorch's detach; tfjs 4.22 has no such op): an
 * identity whose gradient is zero, so nothing upstream of x receives a gradient through this use of it.
 */
export function stopGradient<T extends tfjs.Tensor>(x: T): T {
  const t = tf();
  const op = t.customGrad((input) => ({ value: t.clone(input as tfjs.Tensor), gradFunc: (dy) => t.zerosLike(dy as tfjs.Tensor) }));
  return op(x) as T;
}

const detachedPropensity = (ctx: LossContext, output: TaskOutput, floor: number, ceiling = 1): tfjs.Tensor1D => {
  const t = tf();
  return stopGradient(t.clipByValue(probabilityOf(ctx.spec, ctx.outputs, output), floor, ceiling)) as tfjs.Tensor1D;
};

const fmt = (x: number) => String(x);

/**
 * What `dr` and `mrdr` share: their registry fields (an MrdrTerm has a DoublyRobustTerm's fields: the cvr,
 * imputation and ctr towers, a propensity floor, a weight and an imputation weight), and their prediction step.
 */
const doublyRobustFields = <T extends DoublyRobustTerm | MrdrTerm>(kind: T["kind"]) => ({
  reads: (x: T): TaskOutput[] => [x.output, x.imputation, x.propensity],
  detached: (x: T): TaskOutput[] => [x.propensity],
  space: (): LossSpace => "impressions",
  counterfactual: true,
  name: (x: T) => `${kind}(${x.output}|${x.propensity}>=${fmt(x.minPropensity)}, ${x.imputation}*${fmt(x.imputationWeight)})`,
  positive: (x: T) => ({ weight: x.weight, minPropensity: x.minPropensity, imputationWeight: x.imputationWeight }),
});

/**
 * The doubly robust prediction step of `dr` and `mrdr` (DR-JL, Wang et al. ICML'19; MRDR, Guo et al. SIGIR'21,
 * whose prediction step is DR-JL's): the mean over every impression of ê + o (e - ê) / p̂, with
 * e = CE(conversion, pCVR), ê = CE(r̃, pCVR), r̃ the imputation output's probability detached (the imputed label
 * trains only the CVR tower here; the imputation tower learns in each kind's own imputation step), o the click
 * label and p̂ = max(pCTR, minPropensity) detached. Shapes: `lp` (the CVR output's log-probabilities), `e`,
 * `propensity` are [batch], returned for the imputation step; `prediction` is a scalar normalised by
 * ctx.impressionMean. Throws (via probabilityOf/logitOf) when the model lacks one of the term's outputs.
 */
function drPredictionStep(x: DoublyRobustTerm | MrdrTerm, ctx: LossContext): { prediction: tfjs.Scalar; lp: LogProbs; e: tfjs.Tensor1D; propensity: tfjs.Tensor1D } {
  const t = tf();
  const o = ctx.labels.click;
  const lp = outputLogProbs(ctx.spec, ctx.outputs, x.output);
  const e = crossEntropyRows(ctx.labels.conversion, lp);
  const propensity = detachedPropensity(ctx, x.propensity, x.minPropensity);
  const imputed = probabilityOf(ctx.spec, ctx.outputs, x.imputation);
  const eHat = crossEntropyRows(stopGradient(imputed), lp);
  const prediction = ctx.impressionMean(t.add(eHat, t.div(t.mul(o, t.sub(e, eHat)), propensity)));
  return { prediction, lp, e, propensity };
}

/** THE registry of loss kinds (spec.ts documents each term's fields and the paper it follows). */
export const LOSS_KINDS: { [K in LossKind]: LossKindDefinition<Extract<LossTerm, { kind: K }>> } = {
  ce: {
    reads: (x: CrossEntropyTerm) => [x.output],
    detached: () => [],
    space: (x) => x.space,
    counterfactual: false,
    name: (x) => `${x.output}:${x.label}@${x.space}`,
    positive: (x) => ({ weight: x.weight }),
    define(x, ctx) {
      const t = tf();
      const ce = crossEntropyRows(LABELS[x.label](ctx.labels), outputLogProbs(ctx.spec, ctx.outputs, x.output));
      // Rows outside the space get weight 0, so their label does not matter (value or gradient).
      const w = spaceWeights(x.space, ctx.labels);
      return t.div(rowSum(t.mul(w, ce)), ctx.denominatorOf(w)) as tfjs.Scalar;
    },
  },
  ips: {
    reads: (x: IpsTerm) => [x.output, x.propensity],
    detached: (x) => [x.propensity],
    space: () => "impressions",
    counterfactual: true,
    name: (x) => `ips(${x.output}|${x.propensity}>=${fmt(x.minPropensity)})`,
    positive: (x) => ({ weight: x.weight, minPropensity: x.minPropensity }),
    define(x, ctx) {
      const t = tf();
      const o = ctx.labels.click;
      const e = crossEntropyRows(ctx.labels.conversion, outputLogProbs(ctx.spec, ctx.outputs, x.output));
      const propensity = detachedPropensity(ctx, x.propensity, x.minPropensity);
      return ctx.impressionMean(t.div(t.mul(o, e), propensity));
    },
  },
  dr: {
    ...doublyRobustFields<DoublyRobustTerm>("dr"),
    define(x, ctx) {
      const t = tf();
      const o = ctx.labels.click;
      // Prediction step: imputed label detached, the CVR tower gets the gradient of every row's imputed error.
      const { prediction: dr, lp, e, propensity } = drPredictionStep(x, ctx);
      // Imputation step: the CVR tower detached, the imputation tower fits the clicked rows' errors.
      const imputed = probabilityOf(ctx.spec, ctx.outputs, x.imputation);
      const detachedLp: LogProbs = { logP: stopGradient(lp.logP) as tfjs.Tensor1D, log1mP: stopGradient(lp.log1mP) as tfjs.Tensor1D };
      const eHatImp = crossEntropyRows(imputed, detachedLp);
      const imputation = ctx.impressionMean(t.div(t.mul(o, t.square(t.sub(stopGradient(e), eHatImp))), propensity));
      return t.add(dr, t.mul(x.imputationWeight, imputation)) as tfjs.Scalar;
    },
  },
  calibrator: {
    reads: (x: CalibratorTerm) => [x.lower, x.upper],
    detached: () => [],
    space: () => "impressions",
    counterfactual: false,
    name: (x) => `calibrator(${x.lower}<=${x.upper})`,
    positive: (x) => ({ weight: x.weight }),
    define(x, ctx) {
      const t = tf();
      const gap = t.relu(t.sub(probabilityOf(ctx.spec, ctx.outputs, x.lower), probabilityOf(ctx.spec, ctx.outputs, x.upper)));
      return ctx.impressionMean(gap);
    },
  },
  counterfactual: {
    reads: (x: CounterfactualTerm) => [x.output, x.counterfactual, x.propensity],
    detached: (x) => [x.propensity],
    space: () => "impressions",
    counterfactual: true,
    name: (x) => `counterfactual(${x.output}, ${x.counterfactual}|${x.propensity} in [${fmt(x.minPropensity)}, ${fmt(1 - x.minPropensity)}], |sum-1|*${fmt(x.constraintWeight)})`,
    positive: (x) => ({ weight: x.weight, minPropensity: x.minPropensity, constraintWeight: x.constraintWeight }),
    define(x, ctx) {
      const t = tf();
      const o = ctx.labels.click;
      const r = ctx.labels.conversion;
      const propensity = detachedPropensity(ctx, x.propensity, x.minPropensity, 1 - x.minPropensity);
      const factual = t.div(t.mul(o, crossEntropyRows(r, outputLogProbs(ctx.spec, ctx.outputs, x.output))), propensity);
      const counterfactual = t.div(
        t.mul(t.sub(1, o), crossEntropyRows(t.sub(1, r), outputLogProbs(ctx.spec, ctx.outputs, x.counterfactual))),
        t.sub(1, propensity),
      );
      const sum = t.add(probabilityOf(ctx.spec, ctx.outputs, x.output), probabilityOf(ctx.spec, ctx.outputs, x.counterfactual));
      const constraint = t.abs(t.sub(1, sum));
      return t.add(ctx.impressionMean(t.add(factual, counterfactual)), t.mul(x.constraintWeight, ctx.impressionMean(constraint))) as tfjs.Scalar;
    },
  },
  cappedIps: {
    reads: (x: CappedIpsTerm) => [x.output, x.propensity],
    detached: (x) => [x.propensity],
    space: () => "impressions",
    counterfactual: true,
    name: (x) => `ips(${x.output}|1/max(${x.propensity}${x.clickCountPower ? `*N^${x.clickCountPower}` : ""}, ${fmt(x.minPropensity)})<=${fmt(x.maxInverse)})`,
    positive: (x) => ({ weight: x.weight, minPropensity: x.minPropensity, maxInverse: x.maxInverse }),
    define(x, ctx) {
      const t = tf();
      if (![0, 1, 2].includes(x.clickCountPower)) throw new Error(`model "${ctx.spec.name}": cappedIps clickCountPower must be 0, 1 or 2, got ${x.clickCountPower}`);
      const o = ctx.labels.click;
      const e = crossEntropyRows(ctx.labels.conversion, outputLogProbs(ctx.spec, ctx.outputs, x.output));
      // N: the batch's click count (per seed in a group), a label statistic (no gradient).
      const clicks = perRow(rowSum(o));
      const scaled = t.mul(probabilityOf(ctx.spec, ctx.outputs, x.propensity), x.clickCountPower === 0 ? 1 : x.clickCountPower === 1 ? clicks : t.square(clicks));
      const inverse = stopGradient(t.minimum(t.div(1, t.maximum(scaled, x.minPropensity)), x.maxInverse));
      return ctx.impressionMean(t.mul(t.mul(o, e), inverse));
    },
  },
  errorDr: {
    reads: (x: ErrorDoublyRobustTerm) => [x.output, x.imputation, x.propensity],
    detached: (x) => (x.detach === "jointLearning" ? [x.propensity] : []),
    space: () => "impressions",
    counterfactual: true,
    name: (x) =>
      `errorDr(${x.output}|${x.propensity}>=${fmt(x.minPropensity)}${x.maxInverse !== undefined ? `, 1/p<=${fmt(x.maxInverse)}` : ""}, ${x.imputation} ${x.error}*${fmt(x.imputationWeight)}, ${x.detach === "none" ? "undetached" : "joint"})`,
    positive: (x) => ({ weight: x.weight, minPropensity: x.minPropensity, imputationWeight: x.imputationWeight, ...(x.maxInverse !== undefined ? { maxInverse: x.maxInverse } : {}) }),
    define(x, ctx) {
      const t = tf();
      const joint = x.detach === "jointLearning";
      const keep = <T extends tfjs.Tensor>(v: T): T => (joint ? stopGradient(v) : v);
      const o = ctx.labels.click;
      const e = crossEntropyRows(ctx.labels.conversion, outputLogProbs(ctx.spec, ctx.outputs, x.output));
      const eHat = x.error === "logit" ? logitOf(ctx.spec, ctx.outputs, x.imputation) : probabilityOf(ctx.spec, ctx.outputs, x.imputation);
      let inverse: tfjs.Tensor = t.div(1, t.maximum(probabilityOf(ctx.spec, ctx.outputs, x.propensity), x.minPropensity));
      if (x.maxInverse !== undefined) inverse = t.minimum(inverse, x.maxInverse);
      const w = keep(t.mul(o, inverse));
      // Prediction step: the imputed error detached (joint learning), the CVR tower gets every row's correction.
      const eHatP = keep(eHat);
      const prediction = ctx.impressionMean(t.add(eHatP, t.mul(w, t.sub(e, eHatP))));
      // Imputation step: the CVR error detached (joint learning), the imputation tower fits it on clicked rows.
      const imputation = ctx.impressionMean(t.mul(w, t.square(t.sub(keep(e), eHat))));
      return t.add(prediction, t.mul(x.imputationWeight, imputation)) as tfjs.Scalar;
    },
  },
  mrdr: {
    ...doublyRobustFields<MrdrTerm>("mrdr"),
    define(x, ctx) {
      const t = tf();
      const o = ctx.labels.click;
      // Prediction step (as `dr`): imputed label detached, every row's imputed error plus the clicked rows' correction.
      const { prediction, propensity: p } = drPredictionStep(x, ctx);
      // Imputation step: the imputation tower fits the clicked rows' labels, weighted (1 - p) / p^2.
      const imputedCe = crossEntropyRows(ctx.labels.conversion, outputLogProbs(ctx.spec, ctx.outputs, x.imputation));
      const imputation = ctx.impressionMean(t.div(t.mul(t.mul(o, t.sub(1, p)), imputedCe), t.square(p)));
      return t.add(prediction, t.mul(x.imputationWeight, imputation)) as tfjs.Scalar;
    },
  },
  nise: {
    reads: (x: NiseTerm) => [x.output, x.ctr],
    detached: (x) => [x.ctr],
    space: () => "impressions",
    counterfactual: false,
    name: (x) => `nise(${x.output}, pseudo-labels on non-clicks, ${fmt(x.scale)}*min(L_${x.ctr}/L_${x.output}, ${fmt(x.maxRatio)}))`,
    positive: (x) => ({ weight: x.weight, maxRatio: x.maxRatio, scale: x.scale }),
    define(x, ctx) {
      const t = tf();
      const o = ctx.labels.click;
      const lp = outputLogProbs(ctx.spec, ctx.outputs, x.output);
      const clicked = t.mul(o, crossEntropyRows(ctx.labels.conversion, lp));
      // The model's own pCVR as the non-clicked rows' label, not detached (as the release).
      const unclicked = t.mul(t.sub(1, o), crossEntropyRows(probabilityOf(ctx.spec, ctx.outputs, x.output), lp));
      const cvr = ctx.impressionMean(t.add(clicked, unclicked));
      const ctr = ctx.impressionMean(crossEntropyRows(o, outputLogProbs(ctx.spec, ctx.outputs, x.ctr)));
      const factor = stopGradient(t.mul(x.scale, t.minimum(t.div(ctr, t.maximum(cvr, 1e-12)), x.maxRatio)));
      return t.mul(factor, cvr) as tfjs.Scalar;
    },
  },
  chorus: {
    reads: (x: ChorusTerm) => [x.output, x.unconverted, x.propensity],
    detached: () => [],
    space: () => "impressions",
    counterfactual: true,
    name: (x) =>
      `chorus(${x.output}, ${x.unconverted}|${x.propensity} in [${fmt(x.minPropensity)}, ${fmt(1 - x.minPropensity)}], ctuncvr*${fmt(x.ctunCvrWeight)}, alignment*${fmt(x.alignmentWeight)})`,
    positive: (x) => ({ weight: x.weight, minPropensity: x.minPropensity, ctunCvrWeight: x.ctunCvrWeight, alignmentWeight: x.alignmentWeight }),
    define(x, ctx) {
      const t = tf();
      const o = ctx.labels.click;
      const r = ctx.labels.conversion;
      const cvrLp = outputLogProbs(ctx.spec, ctx.outputs, x.output);
      const unLp = outputLogProbs(ctx.spec, ctx.outputs, x.unconverted);
      const p = detachedPropensity(ctx, x.propensity, x.minPropensity, 1 - x.minPropensity);
      // CTunCVR: pCTR * pUnCVR against click AND not conversion, over impressions (trains CTR and unCVR).
      const ctun = productLogProbs(logitOf(ctx.spec, ctx.outputs, x.propensity), logitOf(ctx.spec, ctx.outputs, x.unconverted));
      const ctunCvr = ctx.impressionMean(crossEntropyRows(t.mul(o, t.sub(1, r)), ctun));
      // Factual: clicked rows' CVR and unCVR labels, inverse propensity weighted.
      const factual = t.div(t.mul(o, t.add(crossEntropyRows(r, cvrLp), crossEntropyRows(t.sub(1, r), unLp))), p);
      // Soft alignment: non-clicked rows, each tower against the other's detached complement.
      const pCvr = probabilityOf(ctx.spec, ctx.outputs, x.output);
      const pUn = probabilityOf(ctx.spec, ctx.outputs, x.unconverted);
      const aligned = t.add(crossEntropyRows(stopGradient(t.sub(1, pUn)), cvrLp), crossEntropyRows(stopGradient(t.sub(1, pCvr)), unLp));
      const alignment = t.div(t.mul(t.sub(1, o), aligned), t.sub(1, p));
      return t.add(t.add(ctx.impressionMean(factual), t.mul(x.alignmentWeight, ctx.impressionMean(alignment))), t.mul(x.ctunCvrWeight, ctunCvr)) as tfjs.Scalar;
    },
  },
};

/** The registry entry of a term's kind (throws naming the kind when unknown). */
export function lossKind<T extends LossTerm>(term: T): LossKindDefinition<T> {
  const def = LOSS_KINDS[term.kind] as unknown as LossKindDefinition<T> | undefined;
  if (!def) throw new Error(`unknown loss kind "${String(term.kind)}"; known kinds: ${Object.keys(LOSS_KINDS).join(", ")}`);
  return def;
}

/** A short name for a loss term, e.g. `cvr:conversion@clicks` or `ips(cvr|ctr>=0.01)*0.5`. */
export function lossTermName(term: LossTerm): string {
  return `${lossKind(term).name(term)}${term.weight !== 1 ? `*${term.weight}` : ""}`;
}

export interface TermValue {
  term: LossTerm;
  name: string;
  /** The normalised term (before its `weight`). */
  value: tfjs.Scalar;
}

function contextOf(spec: ModelSpec, outputs: ModelOutputs, labels: LabelTensors, normalization: LossNormalization): LossContext {
  const t = tf();
  const denominatorOf = lossDenominators(normalization, labels);
  return {
    spec,
    outputs,
    labels,
    denominatorOf,
    impressionMean: (v) => t.div(rowSum(t.mul(labels.weight, v)), denominatorOf(labels.weight)) as tfjs.Scalar,
  };
}

/** Every loss term of `spec`, each by its kind's definition, normalised per `normalization` (before its weight). */
export function lossTerms(spec: ModelSpec, outputs: ModelOutputs, labels: LabelTensors, normalization: LossNormalization): TermValue[] {
  const ctx = contextOf(spec, outputs, labels, normalization);
  return spec.losses.map((term) => ({ term, name: lossTermName(term), value: lossKind(term).define(term, ctx) }));
}

/** The training objective by definition: sum over terms of weight * term (what `totalLoss` computes faster). */
export function definedTotalLoss(spec: ModelSpec, outputs: ModelOutputs, labels: LabelTensors, normalization: LossNormalization): tfjs.Scalar {
  const t = tf();
  const terms = lossTerms(spec, outputs, labels, normalization);
  return terms.reduce<tfjs.Scalar>((acc, x) => t.add(acc, t.mul(x.term.weight, x.value)) as tfjs.Scalar, t.scalar(0));
}

/**
 * The training objective: sum over terms of weight * term, as one op whose gradient with respect to the
 * logits is computed analytically in the forward pass (per row, from the same softplus values), so that
 * a training step runs ~50 small kernels for the loss instead of ~150 (the forward of `lossTerms` plus
 * tfjs' generic gradients of every op). Same value as the sum of `lossTerms` up to float32 rounding.
 *
 * Per row, with sp(z) = softplus(z) = -log(1 - sigmoid(z)) and spn(z) = softplus(-z) = -log sigmoid(z):
 * - one logit z, label y: ce = sp(z) - y z (the form of TF's and PyTorch's sigmoid cross-entropy with
 *   logits, exact for any y in [0, 1]); dce/dz = sigmoid(z) - y.
 * - pCTCVR = sigmoid(a) sigmoid(b): -log p = A = spn(a) + spn(b), and -log(1 - p) = B = -logaddexp(-sp(a),
 *   -(spn(a) + sp(b))) from the exact identity 1 - s(a)s(b) = s(-a) + s(a)s(-b), a sum of two positive
 *   terms (no cancellation, finite for all finite logits); ce = y A + (1 - y) B and
 *   dce/da = (1 - y) exp(B - A - sp(a)) - y exp(-sp(a)) (the exponent is log(s(-a) p / (1 - p)) <= 0, so
 *   nothing overflows), likewise for b.
 * Rows are weighted by their sample weight (0 outside the term's space) times term weight / denominator.
 * The other kinds are added by their definitions (autodiff). Throws when an output a term needs is absent.
 * Returns a scalar, or for a seed group's [S, batch] outputs each seed's objective ([S]; train on its sum).
 */
export function totalLoss(spec: ModelSpec, outputs: ModelOutputs, labels: LabelTensors, normalization: LossNormalization): tfjs.Scalar {
  const t = tf();
  const ceTerms = spec.losses.filter((x): x is CrossEntropyTerm => x.kind === "ce");
  const others = spec.losses.filter((x) => x.kind !== "ce");
  let total = ceTerms.length > 0 ? crossEntropyFastPath(spec, ceTerms, outputs, labels, normalization) : undefined;
  if (others.length > 0) {
    const ctx = contextOf(spec, outputs, labels, normalization);
    for (const term of others) {
      const v = t.mul(term.weight, lossKind(term).define(term, ctx)) as tfjs.Scalar;
      total = total ? (t.add(total, v) as tfjs.Scalar) : v;
    }
  }
  return total!;
}

/** The cross-entropy terms' share of `totalLoss`, as one op with analytic gradients (see there). */
function crossEntropyFastPath(spec: ModelSpec, terms: CrossEntropyTerm[], outputs: ModelOutputs, labels: LabelTensors, normalization: LossNormalization): tfjs.Scalar {
  const t = tf();

  // Label side (no gradient): labels, 1 - label, per-term row weights scaled by weight / denominator.
  const ys = new Map<LabelName, tfjs.Tensor1D>();
  const label = (name: LabelName) => {
    let y = ys.get(name);
    if (!y) ys.set(name, (y = LABELS[name](labels)));
    return y;
  };
  const oneMinusYs = new Map<LabelName, tfjs.Tensor1D>();
  const oneMinus = (name: LabelName) => {
    let y = oneMinusYs.get(name);
    if (!y) oneMinusYs.set(name, (y = t.sub(1, label(name)) as tfjs.Tensor1D));
    return y;
  };
  const spaceWeightCache = new Map<string, tfjs.Tensor1D>();
  const weightsOf = (term: CrossEntropyTerm) => {
    let w = spaceWeightCache.get(term.space);
    if (!w) spaceWeightCache.set(term.space, (w = spaceWeights(term.space, labels)));
    return w;
  };
  const denominatorOf = lossDenominators(normalization, labels);
  const scaledWeights = new Map<string, tfjs.Tensor1D>();
  const scaled = (term: CrossEntropyTerm) => {
    const key = `${term.space}|${term.weight}`;
    let W = scaledWeights.get(key);
    if (W) return W;
    const w = weightsOf(term);
    const denominator = denominatorOf(w);
    W = t.mul(w, t.div(term.weight, perRow(denominator))) as tfjs.Tensor1D;
    scaledWeights.set(key, W);
    return W;
  };

  // Logits the terms read (only those: never a probability output).
  const keys: TaskOutput[] = [];
  const logitsOf = terms.map((term) => {
    const wanted: TaskOutput[] = term.output === "ctcvr" && spec.ctcvr === "product" ? ["ctr", "cvr"] : [term.output];
    return wanted.map((k) => {
      let i = keys.indexOf(k);
      if (i < 0) i = keys.push(k) - 1;
      return i;
    });
  });
  const logits = keys.map((k) => logitOf(spec, outputs, k));
  const termWeights = terms.map(scaled);

  const op = t.customGrad((...args: unknown[]) => {
    const save = args.pop() as tfjs.GradSaveFunc;
    const zs = args as tfjs.Tensor1D[];
    const sp = new Map<number, tfjs.Tensor1D>();
    const spn = new Map<number, tfjs.Tensor1D>();
    const softplusOf = (i: number) => {
      let v = sp.get(i);
      if (!v) sp.set(i, (v = t.softplus(zs[i]) as tfjs.Tensor1D));
      return v;
    };
    const softplusNegOf = (i: number) => {
      let v = spn.get(i);
      if (!v) spn.set(i, (v = t.softplus(t.neg(zs[i])) as tfjs.Tensor1D));
      return v;
    };
    // Per distinct row-weight tensor: sum of the terms' ce and of their logit gradients (weighted once).
    const groups = new Map<tfjs.Tensor1D, { ce?: tfjs.Tensor1D; grads: (tfjs.Tensor1D | undefined)[] }>();
    const plus = (a: tfjs.Tensor1D | undefined, b: tfjs.Tensor1D) => (a ? (t.add(a, b) as tfjs.Tensor1D) : b);
    terms.forEach((term, k) => {
      const W = termWeights[k];
      let g = groups.get(W);
      if (!g) groups.set(W, (g = { grads: zs.map(() => undefined) }));
      const y = label(term.label);
      const idx = logitsOf[k];
      if (idx.length === 2) {
        const [ia, ib] = idx;
        const spA = softplusOf(ia);
        const spB = softplusOf(ib);
        const spnA = softplusNegOf(ia);
        const A = t.add(spnA, softplusNegOf(ib)) as tfjs.Tensor1D;
        const v = t.add(spnA, spB);
        const B = t.sub(t.minimum(spA, v), t.log1p(t.exp(t.neg(t.abs(t.sub(spA, v)))))) as tfjs.Tensor1D;
        const omy = oneMinus(term.label);
        g.ce = plus(g.ce, t.add(t.mul(y, A), t.mul(omy, B)) as tfjs.Tensor1D);
        const D = t.sub(B, A);
        const grad = (s: tfjs.Tensor1D) => t.sub(t.mul(omy, t.exp(t.sub(D, s))), t.mul(y, t.exp(t.neg(s)))) as tfjs.Tensor1D;
        g.grads[ia] = plus(g.grads[ia], grad(spA));
        g.grads[ib] = plus(g.grads[ib], grad(spB));
      } else {
        const [i] = idx;
        g.ce = plus(g.ce, t.sub(softplusOf(i), t.mul(y, zs[i])) as tfjs.Tensor1D);
        g.grads[i] = plus(g.grads[i], t.sub(t.sigmoid(zs[i]), y) as tfjs.Tensor1D);
      }
    });
    let rowLoss: tfjs.Tensor1D | undefined;
    const grads: (tfjs.Tensor1D | undefined)[] = zs.map(() => undefined);
    for (const [W, g] of groups) {
      rowLoss = plus(rowLoss, t.mul(W, g.ce!) as tfjs.Tensor1D);
      g.grads.forEach((x, i) => {
        if (x) grads[i] = plus(grads[i], t.mul(W, x) as tfjs.Tensor1D);
      });
    }
    const perLogit = grads.map((x) => x!);
    save(perLogit);
    return {
      value: rowSum(rowLoss!),
      gradFunc: (dy: tfjs.Tensor | tfjs.Tensor[], saved: tfjs.Tensor[]) => saved.map((x) => t.mul(perRow(dy as tfjs.Tensor), x)),
    };
  });
  return op(...logits) as tfjs.Scalar;
}
