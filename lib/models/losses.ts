/**
 * Loss terms, computed from logits in log space.
 *
 * A spec's loss is the weighted sum of its `LossTerm`s. Each term is looked up by its fields: `output`
 * selects how log p and log(1-p) are obtained from the model's logits (`OUTPUT_LOG_PROBS`), `label` selects
 * the label column (`LABELS`), `space` selects the rows (all impressions, or clicked ones only), and the
 * `LossNormalization` decides the denominator (see spec.ts).
 *
 * Numerics. For a logit z: log p = -softplus(-z), log(1-p) = -softplus(z). For a product model
 * (pCTCVR = pCTR * pCVR, logits a and b): log pCTCVR = logSigmoid(a) + logSigmoid(b) and
 *   log(1 - pCTCVR) = log1p(-exp(log pCTCVR))                           when pCTCVR < 1/2,
 *                   = logSumExp(-a, -b, -a-b) + log pCTCVR                otherwise,
 * the second form being the exact identity 1 - s(a)s(b) = (e^-a + e^-b + e^-a-b) s(a) s(b). Each branch is fed
 * inputs clamped to its own domain so that the branch not taken has finite values and gradients (no
 * 0 * inf = NaN in the selection). Loss and gradients are finite for logits from -40 to 120 and beyond.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../backend";
import { LabelName, LossNormalization, LossTerm, ModelSpec, TaskOutput, lossTermName } from "./spec";

/** The three terms the six models use. */
export const STANDARD_TERMS = {
  /** CTR head, click label, every impression. */
  ctrOnImpressions: { output: "ctr", label: "click", space: "impressions", weight: 1 },
  /** CVR head, conversion label, clicked impressions only (IP, IPSP). */
  cvrOnClicks: { output: "cvr", label: "conversion", space: "clicks", weight: 1 },
  /** pCTCVR (product or head), click-and-conversion label, every impression (entire-space models). */
  ctcvrOnImpressions: { output: "ctcvr", label: "clickAndConversion", space: "impressions", weight: 1 },
} as const satisfies Record<string, LossTerm>;

/** Logits and probabilities of a forward pass; each is [batch]. pCtcvr is present for every model. */
export interface ModelOutputs {
  ctrLogit?: tfjs.Tensor1D;
  cvrLogit?: tfjs.Tensor1D;
  /** Only for models with an independent ctcvr head (ESSP-Split, ESP). */
  ctcvrLogit?: tfjs.Tensor1D;
  pCtr?: tfjs.Tensor1D;
  pCvr?: tfjs.Tensor1D;
  pCtcvr: tfjs.Tensor1D;
}

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
  const lse = t.logSumExp(t.stack([negA, negB, t.add(negA, negB)], 1), 1);
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

/** How each output's log-probabilities are obtained, looked up by output name. */
export const OUTPUT_LOG_PROBS: Record<TaskOutput, (spec: ModelSpec, o: ModelOutputs) => LogProbs> = {
  ctr: (spec, o) => logProbsFromLogit(need(o.ctrLogit, "ctrLogit", spec)),
  cvr: (spec, o) => logProbsFromLogit(need(o.cvrLogit, "cvrLogit", spec)),
  ctcvr: (spec, o) =>
    spec.ctcvr === "product"
      ? productLogProbs(need(o.ctrLogit, "ctrLogit", spec), need(o.cvrLogit, "cvrLogit", spec))
      : logProbsFromLogit(need(o.ctcvrLogit, "ctcvrLogit", spec)),
};

/** Label columns, looked up by label name. */
export const LABELS: Record<LabelName, (l: LabelTensors) => tfjs.Tensor1D> = {
  click: (l) => l.click,
  conversion: (l) => l.conversion,
  clickAndConversion: (l) => tf().mul(l.click, l.conversion) as tfjs.Tensor1D,
};

export interface TermValue {
  term: LossTerm;
  name: string;
  /** The normalised term (before its `weight`). */
  value: tfjs.Scalar;
}

/** Per-row weight of a term: the sample weight, zeroed outside the term's space. */
function rowWeights(term: LossTerm, labels: LabelTensors): tfjs.Tensor1D {
  return term.space === "clicks" ? (tf().mul(labels.weight, labels.click) as tfjs.Tensor1D) : labels.weight;
}

/** Every loss term of `spec`, normalised per `normalization`. */
export function lossTerms(spec: ModelSpec, outputs: ModelOutputs, labels: LabelTensors, normalization: LossNormalization): TermValue[] {
  const t = tf();
  const cache = new Map<TaskOutput, LogProbs>();
  const batchRows = labels.weight.shape[0];
  let batchWeight: tfjs.Scalar | undefined;
  return spec.losses.map((term) => {
    let lp = cache.get(term.output);
    if (!lp) {
      lp = OUTPUT_LOG_PROBS[term.output](spec, outputs);
      cache.set(term.output, lp);
    }
    const y = LABELS[term.label](labels);
    // Cross-entropy per row; masked rows get weight 0, so their label does not matter (value or gradient).
    const ce = t.neg(t.add(t.mul(y, lp.logP), t.mul(t.sub(1, y), lp.log1mP)));
    const w = rowWeights(term, labels);
    const numerator = t.sum(t.mul(w, ce));
    let denominator: tfjs.Scalar;
    switch (normalization) {
      case "own-rows":
        denominator = t.maximum(t.sum(w), 1e-12) as tfjs.Scalar;
        break;
      case "batch-weight":
        batchWeight ??= t.maximum(t.sum(labels.weight), 1e-12) as tfjs.Scalar;
        denominator = batchWeight;
        break;
      case "batch-rows":
        denominator = t.scalar(Math.max(batchRows, 1));
        break;
      default:
        throw new Error(`unknown loss normalization "${String(normalization)}"; use one of own-rows, batch-weight, batch-rows`);
    }
    return { term, name: lossTermName(term), value: t.div(numerator, denominator) as tfjs.Scalar };
  });
}

/** The training objective: sum over terms of weight * term. */
export function totalLoss(spec: ModelSpec, outputs: ModelOutputs, labels: LabelTensors, normalization: LossNormalization): tfjs.Scalar {
  const t = tf();
  const terms = lossTerms(spec, outputs, labels, normalization);
  let total: tfjs.Scalar = t.mul(terms[0].value, terms[0].term.weight);
  for (let i = 1; i < terms.length; i++) total = t.add(total, t.mul(terms[i].value, terms[i].term.weight));
  return total;
}
