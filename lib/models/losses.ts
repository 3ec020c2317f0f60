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
 * `lossTerms` (per-term values, for reports) is built from these ops; `totalLoss` (the training objective)
 * computes the same function as one op with analytic gradients (see there).
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

/**
 * The denominator of a loss term with row weights `w` (the term's sample weights, zero outside its space):
 * "own-rows" the term's own total weight, "batch-weight" the batch's total sample weight (computed once per
 * batch), "batch-rows" the batch's row count.
 */
function lossDenominators(normalization: LossNormalization, labels: LabelTensors): (w: tfjs.Tensor1D) => tfjs.Scalar {
  const t = tf();
  switch (normalization) {
    case "own-rows":
      return (w) => t.maximum(t.sum(w), 1e-12) as tfjs.Scalar;
    case "batch-weight": {
      let batchWeight: tfjs.Scalar | undefined;
      return () => (batchWeight ??= t.maximum(t.sum(labels.weight), 1e-12) as tfjs.Scalar);
    }
    case "batch-rows": {
      const rows = Math.max(labels.weight.shape[0], 1);
      return () => t.scalar(rows);
    }
    default:
      throw new Error(`unknown loss normalization "${String(normalization)}"; use one of own-rows, batch-weight, batch-rows`);
  }
}

/** Every loss term of `spec`, normalised per `normalization`. */
export function lossTerms(spec: ModelSpec, outputs: ModelOutputs, labels: LabelTensors, normalization: LossNormalization): TermValue[] {
  const t = tf();
  const cache = new Map<TaskOutput, LogProbs>();
  const denominatorOf = lossDenominators(normalization, labels);
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
    const denominator = denominatorOf(w);
    return { term, name: lossTermName(term), value: t.div(numerator, denominator) as tfjs.Scalar };
  });
}

const LOGIT_KEY: Record<TaskOutput, "ctrLogit" | "cvrLogit" | "ctcvrLogit"> = { ctr: "ctrLogit", cvr: "cvrLogit", ctcvr: "ctcvrLogit" };

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
 */
export function totalLoss(spec: ModelSpec, outputs: ModelOutputs, labels: LabelTensors, normalization: LossNormalization): tfjs.Scalar {
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
  const spaceWeights = new Map<string, tfjs.Tensor1D>();
  const weightsOf = (term: LossTerm) => {
    let w = spaceWeights.get(term.space);
    if (!w) spaceWeights.set(term.space, (w = rowWeights(term, labels)));
    return w;
  };
  const denominatorOf = lossDenominators(normalization, labels);
  const scaledWeights = new Map<string, tfjs.Tensor1D>();
  const scaled = (term: LossTerm) => {
    const key = `${term.space}|${term.weight}`;
    let W = scaledWeights.get(key);
    if (W) return W;
    const w = weightsOf(term);
    const denominator = denominatorOf(w);
    W = t.mul(w, t.div(term.weight, denominator)) as tfjs.Tensor1D;
    scaledWeights.set(key, W);
    return W;
  };

  // Logits the terms read (only those: never a probability output).
  const keys: ("ctrLogit" | "cvrLogit" | "ctcvrLogit")[] = [];
  const logitsOf = spec.losses.map((term) => {
    const wanted = term.output === "ctcvr" && spec.ctcvr === "product" ? (["ctrLogit", "cvrLogit"] as const) : ([LOGIT_KEY[term.output]] as const);
    return wanted.map((k) => {
      let i = keys.indexOf(k);
      if (i < 0) {
        need(outputs[k], k, spec);
        i = keys.push(k) - 1;
      }
      return i;
    });
  });
  const logits = keys.map((k) => outputs[k]!);
  const termWeights = spec.losses.map(scaled);

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
    spec.losses.forEach((term, k) => {
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
      value: t.sum(rowLoss!) as tfjs.Scalar,
      gradFunc: (dy: tfjs.Tensor | tfjs.Tensor[], saved: tfjs.Tensor[]) => saved.map((x) => t.mul(dy as tfjs.Tensor, x)),
    };
  });
  return op(...logits) as tfjs.Scalar;
}
