/**
 * Mechanism metrics: how far a model's pCVR is from the true P(conversion | click, x), which only a
 * simulator knows. Observed labels can score pCVR on clicked impressions only (conversions are seen after a
 * click); the truth scores it on every impression, so these metrics split the error in two:
 *
 *   clicked      rows with click = 1: the fit, on the rows a CVR model is trained on;
 *   nonClicked   rows with click = 0: the rows a conventional CVR model never sees in training but is
 *                applied to at inference, i.e. the sample selection bias (the "data bias") that ESMM
 *                (Ma et al., SIGIR'18) and ESCM2 (Wang et al., SIGIR'22) address. What those papers can
 *                only argue from observed labels, this measures directly.
 *
 * On each subset, with q = the true P(conversion | click, x), p = the predicted pCVR and w the sample
 * weights (the same weights as every metric in lib/metrics, see result.ts):
 *
 *   crossEntropy = sum(w H(q, p)) / sum(w),  H(q, p) = -[q ln p + (1 - q) ln(1 - p)]   (nats per row)
 *   entropy      = sum(w H(q, q)) / sum(w)   the floor: the cross-entropy of the truth itself
 *   kl           = crossEntropy - entropy     the mean KL divergence KL(Bernoulli(q) || Bernoulli(p)) >= 0
 *                                             (up to rounding), the excess over the floor: the number to
 *                                             compare models on
 *   calibration  = sum(w p) / sum(w q)        1 = calibrated, > 1 = over-predicts, < 1 = under-predicts
 *
 * The entropy, cross-entropy and KL divergence (relative entropy) are those of Cover & Thomas, Elements of
 * Information Theory (2nd ed., 2006, ch. 2), in nats: H(q, p) = H(q) + KL(q || p). H(q, p) is binaryCrossEntropy
 * (classification.ts), with the clipping of logLoss (p, and q in the floor, clipped to [eps, 1 - eps],
 * eps = LOG_LOSS_EPS), so p = q gives kl = 0 exactly. The calibration ratio uses p and q unclipped.
 *
 * With hidden selection (simulator option hiddenSelection, docs/hidden-selection.md) the truth q is the impression's
 * own P(conversion | click, x, u), u unobserved: the non-clicked calibration then measures the selection bias directly
 * (sum q over non-clicked rows is their expected conversions had they been clicked), and kl has a floor above 0 that
 * no model of the features reaches (KL of q against E[q | x, click = 0]).
 *
 * An empty subset (or one of total weight 0) gives NaN values with its rows and weight; calibration is
 * NaN also when sum(w q) = 0. Invalid input throws MetricInputError (result.ts).
 */
import { binaryCrossEntropy } from "./classification";
import { MetricInputError, checkWeights, weightAt } from "./result";

export interface CvrTruthInputs {
  /** Observed clicks, 0/1, length n: picks the subset of each row. */
  click: ArrayLike<number>;
  /** Sample weights, length n, finite and >= 0 (e.g. 1/keepRate for downsampled non-clicked rows); all 1 when omitted. */
  weight?: ArrayLike<number>;
  /** Predicted P(conversion | click, x), in [0, 1], length n. */
  pCvr: ArrayLike<number>;
  /** True P(conversion | click, x) from the simulator, in [0, 1], length n. */
  pConversionGivenClick: ArrayLike<number>;
}

/** A pCVR scored against the true conversion probability on one subset of rows. */
export interface CvrTruthScore {
  /** Rows in the subset (raw count) and their total weight. */
  rows: number;
  weight: number;
  /** Weighted mean cross-entropy H(q, p) of the truth q against the prediction p (nats per row). */
  crossEntropy: number;
  /** Weighted mean entropy H(q) of the truth (nats per row): the floor of crossEntropy. */
  entropy: number;
  /** crossEntropy - entropy: mean KL(q || p) (nats per row, >= 0 up to rounding). */
  kl: number;
  /** sum(w p) / sum(w q): predicted over true conversion probability (1 = calibrated). */
  calibration: number;
}

export interface CvrMechanism {
  /** Rows with click = 1 (the fit). */
  clicked: CvrTruthScore;
  /** Rows with click = 0 (the sample selection bias). */
  nonClicked: CvrTruthScore;
}

function checkInputs(inputs: CvrTruthInputs): void {
  const { click, weight, pCvr, pConversionGivenClick } = inputs;
  const n = click.length;
  const lengths: [string, ArrayLike<number> | undefined][] = [
    ["weight", weight],
    ["pCvr", pCvr],
    ["pConversionGivenClick", pConversionGivenClick],
  ];
  for (const [name, a] of lengths) {
    if (a !== undefined && a.length !== n) {
      throw new MetricInputError("cvrMechanism", `length mismatch: click has ${n} rows, ${name} has ${a.length}`);
    }
  }
  for (let i = 0; i < n; i++) {
    if (click[i] !== 0 && click[i] !== 1) throw new MetricInputError("cvrMechanism", `click[${i}] = ${click[i]} is not a 0/1 label`);
    if (!(pCvr[i] >= 0 && pCvr[i] <= 1)) throw new MetricInputError("cvrMechanism", `pCvr[${i}] = ${pCvr[i]} is outside [0, 1]`);
    const q = pConversionGivenClick[i];
    if (!(q >= 0 && q <= 1)) throw new MetricInputError("cvrMechanism", `pConversionGivenClick[${i}] = ${q} is outside [0, 1]`);
  }
  if (weight !== undefined) checkWeights("cvrMechanism", weight);
}

/** Weighted sums over one subset, turned into a CvrTruthScore by `score`. */
interface Sums {
  rows: number;
  weight: number;
  crossEntropy: number;
  entropy: number;
  predicted: number;
  truth: number;
}

function score(s: Sums): CvrTruthScore {
  if (s.rows === 0 || s.weight <= 0) {
    return { rows: s.rows, weight: s.weight, crossEntropy: NaN, entropy: NaN, kl: NaN, calibration: NaN };
  }
  const crossEntropy = s.crossEntropy / s.weight;
  const entropy = s.entropy / s.weight;
  return {
    rows: s.rows,
    weight: s.weight,
    crossEntropy,
    entropy,
    kl: crossEntropy - entropy,
    calibration: s.truth > 0 ? s.predicted / s.truth : NaN,
  };
}

/**
 * The pCVR `pCvr` against the truth `pConversionGivenClick` on clicked and on non-clicked rows (see the
 * header). All arrays of one length n (weight optional); O(n), nothing copied.
 */
export function cvrMechanism(inputs: CvrTruthInputs): CvrMechanism {
  checkInputs(inputs);
  const { click, weight, pCvr, pConversionGivenClick } = inputs;
  const empty = (): Sums => ({ rows: 0, weight: 0, crossEntropy: 0, entropy: 0, predicted: 0, truth: 0 });
  const clicked = empty();
  const nonClicked = empty();
  for (let i = 0; i < click.length; i++) {
    const s = click[i] === 1 ? clicked : nonClicked;
    const wi = weightAt(weight, i);
    const q = pConversionGivenClick[i];
    const p = pCvr[i];
    s.rows++;
    s.weight += wi;
    s.crossEntropy += wi * binaryCrossEntropy(q, p);
    s.entropy += wi * binaryCrossEntropy(q, q);
    s.predicted += wi * p;
    s.truth += wi * q;
  }
  return { clicked: score(clicked), nonClicked: score(nonClicked) };
}
