/**
 * Scoring in one pass (lib/metrics/spaces.ts evaluateSpace: one sort of a space's predictions shared by the ROC /
 * PR curve and the ECE's equal-mass bins, the log loss computed once for itself and the normalized entropy)
 * gives EXACTLY the values of the metrics' definitions: (1) each metric's own function, sorting on its own, and
 * (2) an independent float64 implementation of the definitions written here with a comparison sort (sklearn's
 * _binary_clf_curve on the rows of non-zero weight, ROC with drop_intermediate, average precision, weighted log
 * loss, equal-mass bins with ties kept together), on random inputs with many ties, -0, zero and fractional weights.
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { Rng } from "../lib/data/random";
import {
  binaryClfCurve,
  calibrationRatio,
  ECE_BINNING,
  evaluateSpace,
  expectedCalibrationError,
  LOG_LOSS_EPS,
  logLoss,
  normalizedEntropy,
  prAuc,
  reliabilityCurve,
  rocAuc,
} from "../lib/metrics";

interface Case {
  y: Uint8Array;
  p: Float64Array;
  w: Float64Array | undefined;
}

/** A random case: scores from a few distinct values (ties), sometimes -0, weights 0 / integer / fractional or none. */
function randomCase(rng: Rng): Case {
  const n = 1 + rng.int(2500);
  const distinct = 1 + rng.int(rng.bernoulli(0.5) ? 12 : 400);
  const levels = Float64Array.from({ length: distinct }, (_, k) => (k === 0 && rng.bernoulli(0.3) ? 0 : rng.uniform()));
  const rate = [0, 0.01, 0.1, 0.5, 1][rng.int(5)];
  const y = new Uint8Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.bernoulli(rate) ? 1 : 0;
    const v = levels[rng.int(distinct)];
    p[i] = v === 0 && rng.bernoulli(0.5) ? -0 : v;
  }
  const kind = rng.int(3);
  const w = kind === 0 ? undefined : Float64Array.from({ length: n }, () => (rng.bernoulli(0.2) ? 0 : kind === 1 ? 1 + rng.int(10) : 0.1 + 3 * rng.uniform()));
  return { y, p, w };
}

const wt = (w: Float64Array | undefined, i: number) => (w === undefined ? 1 : w[i]);

/** Rows of non-zero weight by decreasing score; ties in the reverse of row order (a stable ascending sort read backwards). */
function referenceDescending(c: Case): number[] {
  const kept: number[] = [];
  for (let i = 0; i < c.y.length; i++) if (wt(c.w, i) !== 0) kept.push(i);
  return kept.sort((a, b) => c.p[a] - c.p[b]).reverse(); // Array.prototype.sort is stable
}

function referenceCurve(c: Case): { tps: number[]; fps: number[] } {
  const idx = referenceDescending(c);
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  let fp = 0;
  idx.forEach((i, k) => {
    if (c.y[i] === 1) tp += wt(c.w, i);
    else fp += wt(c.w, i);
    if (k === idx.length - 1 || c.p[idx[k + 1]] !== c.p[i]) {
      tps.push(tp);
      fps.push(fp);
    }
  });
  return { tps, fps };
}

function referenceRocAuc(c: Case): number {
  let { tps, fps } = referenceCurve(c);
  const n = tps.length;
  if (n === 0 || tps[n - 1] <= 0 || fps[n - 1] <= 0) return NaN;
  if (n > 2) {
    const keep = [0];
    for (let k = 1; k < n - 1; k++) {
      if (fps[k + 1] - fps[k] - (fps[k] - fps[k - 1]) !== 0 || tps[k + 1] - tps[k] - (tps[k] - tps[k - 1]) !== 0) keep.push(k);
    }
    keep.push(n - 1);
    tps = keep.map((k) => tps[k]);
    fps = keep.map((k) => fps[k]);
  }
  let area = 0;
  let x0 = 0;
  let y0 = 0;
  for (let k = 0; k < tps.length; k++) {
    const x = fps[k] / fps[fps.length - 1];
    const yv = tps[k] / tps[tps.length - 1];
    area += ((x - x0) * (yv + y0)) / 2;
    x0 = x;
    y0 = yv;
  }
  return area;
}

function referencePrAuc(c: Case): number {
  const { tps, fps } = referenceCurve(c);
  const n = tps.length;
  if (n === 0 || tps[n - 1] <= 0) return NaN;
  let ap = 0;
  let r0 = 0;
  for (let k = 0; k < n; k++) {
    const precision = tps[k] + fps[k] !== 0 ? tps[k] / (tps[k] + fps[k]) : 0;
    ap += (tps[k] / tps[n - 1] - r0) * precision;
    r0 = tps[k] / tps[n - 1];
  }
  return ap;
}

function referenceLogLoss(c: Case): number {
  const clip = (x: number) => Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, x));
  let s = 0;
  let total = 0;
  for (let i = 0; i < c.y.length; i++) {
    s += wt(c.w, i) * -Math.log(clip(c.y[i] === 1 ? c.p[i] : 1 - c.p[i]));
    total += wt(c.w, i);
  }
  return c.y.length === 0 || total <= 0 ? NaN : s / total;
}

/** ECE over B equal-mass bins: rows by increasing score, a run of ties to bin floor(B * weight before / total). */
function referenceEce(c: Case, bins: number): number {
  const n = c.y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => c.p[a] - c.p[b]);
  let total = 0;
  for (let i = 0; i < n; i++) total += wt(c.w, i);
  const bin = new Int32Array(n);
  let before = 0;
  for (let k = 0; k < n; ) {
    const v = c.p[order[k]];
    const b = total > 0 ? Math.min(bins - 1, Math.floor((bins * before) / total)) : 0;
    for (; k < n && c.p[order[k]] === v; k++) {
      bin[order[k]] = b;
      before += wt(c.w, order[k]);
    }
  }
  const weight = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    weight[bin[i]] += wt(c.w, i);
    sumP[bin[i]] += wt(c.w, i) * c.p[i];
    sumY[bin[i]] += wt(c.w, i) * c.y[i];
  }
  let binTotal = 0;
  for (let b = 0; b < bins; b++) binTotal += weight[b];
  if (n === 0 || binTotal <= 0) return NaN;
  let ece = 0;
  for (let b = 0; b < bins; b++) if (weight[b] > 0) ece += (weight[b] / binTotal) * Math.abs(sumP[b] / weight[b] - sumY[b] / weight[b]);
  return ece;
}

test("one-pass scoring equals each metric's own function and an independent implementation, exactly (random cases with ties and weights)", () => {
  const rng = new Rng(20240521);
  for (let trial = 0; trial < 200; trial++) {
    const c = randomCase(rng);
    const fast = evaluateSpace("ctcvr", c.y, c.p, c.w);
    const what = `trial ${trial} (n ${c.y.length}, ${c.w ? "weighted" : "unweighted"})`;
    // (1) The metrics' own functions, each with its own sort.
    assert.ok(Object.is(fast.logLoss, logLoss(c.y, c.p, c.w)), `${what}: logLoss`);
    assert.ok(Object.is(fast.normalizedEntropy, normalizedEntropy(c.y, c.p, c.w)), `${what}: normalizedEntropy`);
    assert.ok(Object.is(fast.rocAuc, rocAuc(c.y, c.p, c.w)), `${what}: rocAuc`);
    assert.ok(Object.is(fast.prAuc, prAuc(c.y, c.p, c.w)), `${what}: prAuc`);
    assert.ok(Object.is(fast.calibrationRatio, calibrationRatio(c.y, c.p, c.w)), `${what}: calibrationRatio`);
    assert.ok(Object.is(fast.ece, expectedCalibrationError(c.y, c.p, c.w)), `${what}: ece`);
    // (2) The definitions written independently (same float64 operations in the same order: equal bit for bit).
    assert.ok(Object.is(fast.logLoss, referenceLogLoss(c)), `${what}: logLoss vs reference ${referenceLogLoss(c)}`);
    assert.ok(Object.is(fast.rocAuc, referenceRocAuc(c)), `${what}: rocAuc ${fast.rocAuc} vs reference ${referenceRocAuc(c)}`);
    assert.ok(Object.is(fast.prAuc, referencePrAuc(c)), `${what}: prAuc ${fast.prAuc} vs reference ${referencePrAuc(c)}`);
    assert.ok(Object.is(fast.ece, referenceEce(c, ECE_BINNING.bins)), `${what}: ece ${fast.ece} vs reference ${referenceEce(c, ECE_BINNING.bins)}`);
    const curve = binaryClfCurve(c.y, c.p, c.w);
    assert.deepEqual(Array.from(curve.tps), referenceCurve(c).tps, `${what}: curve`);
  }
});

test("a shared order must be the predictions' own: one of the wrong length is refused", () => {
  const y = [0, 1, 0];
  const p = [0.2, 0.7, 0.1];
  assert.throws(() => binaryClfCurve(y, p, undefined, new Uint32Array(2)), /binaryClfCurve: the order has 2 rows, p has 3/);
  assert.throws(() => reliabilityCurve(y, p, undefined, ECE_BINNING, new Uint32Array(4)), /reliabilityCurve: the order has 4 rows, p has 3/);
});
