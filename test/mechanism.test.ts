/**
 * lib/metrics/mechanism.ts (a pCVR against the true P(conversion | click, x) on clicked and non-clicked
 * rows) on known answers computed by hand, and its place in the study's split scores (scoreSplit) and
 * results files.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { rng, tempDir } from "./helpers";
import type { EncodedSplit } from "../lib/data/encoded";
import { CvrTruthScore, MetricInputError, cvrMechanism, logLoss } from "../lib/metrics";
import { readResults } from "../lib/study/results";
import { scoreSplit } from "../lib/study/run";

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

/** Four rows: two clicked, two not, weights 1 and 2 in each subset. */
const CLICK = [1, 1, 0, 0];
const WEIGHT = [1, 2, 1, 2];
const TRUTH = [0.2, 0.5, 0.1, 0.3];
const PCVR = [0.4, 0.5, 0.05, 0.6];

/** H(q, p) and KL(q || p) of Bernoulli distributions, written out (nats). */
const crossEntropy = (q: number, p: number) => -(q * Math.log(p) + (1 - q) * Math.log(1 - p));
const kl = (q: number, p: number) => q * Math.log(q / p) + (1 - q) * Math.log((1 - q) / (1 - p));

/** The expected score of the 4-row example on the two rows a (weight 1) and b (weight 2). */
function expected(a: number, b: number): CvrTruthScore {
  const [qa, pa, qb, pb] = [TRUTH[a], PCVR[a], TRUTH[b], PCVR[b]];
  return {
    rows: 2,
    weight: 3,
    crossEntropy: (crossEntropy(qa, pa) + 2 * crossEntropy(qb, pb)) / 3,
    entropy: (crossEntropy(qa, qa) + 2 * crossEntropy(qb, qb)) / 3,
    kl: (kl(qa, pa) + 2 * kl(qb, pb)) / 3,
    calibration: (pa + 2 * pb) / (qa + 2 * qb),
  };
}

function assertScore(actual: CvrTruthScore, want: CvrTruthScore, what: string): void {
  assert.equal(actual.rows, want.rows, `${what}: rows`);
  assert.equal(actual.weight, want.weight, `${what}: weight`);
  for (const k of ["crossEntropy", "entropy", "kl", "calibration"] as const) close(actual[k], want[k], 1e-12, `${what}: ${k}`);
}

test("p = q: kl 0 and calibration 1 on both subsets, crossEntropy = entropy", () => {
  const u = rng(13);
  const n = 500;
  const click = Array.from({ length: n }, () => (u() < 0.3 ? 1 : 0));
  const weight = Array.from({ length: n }, () => 1 + 9 * u());
  const q = Array.from({ length: n }, () => 0.001 + 0.998 * u());
  const m = cvrMechanism({ click, weight, pCvr: q, pConversionGivenClick: q });
  for (const [name, s] of Object.entries(m)) {
    assert.ok(s.rows > 0, name);
    close(s.kl, 0, 1e-12, `${name}: kl`);
    close(s.calibration, 1, 1e-12, `${name}: calibration`);
    assert.ok(s.entropy > 0, `${name}: entropy ${s.entropy}`);
  }
  // and a pCVR off the truth on the non-clicked rows only shows there, not in the fit
  const off = q.map((v, i) => (click[i] === 0 ? v / 2 : v));
  const m2 = cvrMechanism({ click, weight, pCvr: off, pConversionGivenClick: q });
  close(m2.clicked.kl, 0, 1e-12, "clicked kl with a biased non-clicked pCVR");
  close(m2.clicked.calibration, 1, 1e-12, "clicked calibration with a biased non-clicked pCVR");
  assert.ok(m2.nonClicked.kl > 0.01, `non-clicked kl ${m2.nonClicked.kl}`);
  close(m2.nonClicked.calibration, 0.5, 1e-12, "non-clicked calibration of half the truth");
});

test("a 4-row example by hand: weighted cross-entropy, entropy, KL and calibration per subset", () => {
  const m = cvrMechanism({ click: CLICK, weight: WEIGHT, pCvr: PCVR, pConversionGivenClick: TRUTH });
  assertScore(m.clicked, expected(0, 1), "clicked");
  assertScore(m.nonClicked, expected(2, 3), "nonClicked");
  // the numbers themselves, so a wrong formula in both places cannot pass
  close(m.clicked.calibration, 1.4 / 1.2, 1e-12, "clicked calibration");
  close(m.nonClicked.calibration, 1.25 / 0.7, 1e-12, "nonClicked calibration");
  close(m.clicked.kl, (0.2 * Math.log(0.5) + 0.8 * Math.log(0.8 / 0.6)) / 3, 1e-12, "clicked kl (row b has p = q)");
  // without weights: plain means
  const u = cvrMechanism({ click: CLICK, pCvr: PCVR, pConversionGivenClick: TRUTH });
  assert.equal(u.clicked.weight, 2);
  close(u.clicked.kl, (kl(0.2, 0.4) + kl(0.5, 0.5)) / 2, 1e-12, "unweighted clicked kl");
});

test("predictions of 0 or 1 are clipped as logLoss clips them (finite, same value)", () => {
  const m = cvrMechanism({ click: [1, 0], pCvr: [0, 1], pConversionGivenClick: [1, 0] });
  assert.ok(Number.isFinite(m.clicked.crossEntropy));
  close(m.clicked.crossEntropy, logLoss([1], [0]), 1e-12, "q = 1, p = 0");
  close(m.nonClicked.crossEntropy, logLoss([0], [1]), 1e-12, "q = 0, p = 1");
});

test("an empty subset gives NaN values with rows 0 and weight 0; so does a subset of weight 0", () => {
  const m = cvrMechanism({ click: [1, 1], weight: [1, 2], pCvr: [0.3, 0.4], pConversionGivenClick: [0.2, 0.5] });
  assert.equal(m.nonClicked.rows, 0);
  assert.equal(m.nonClicked.weight, 0);
  for (const k of ["crossEntropy", "entropy", "kl", "calibration"] as const) assert.ok(Number.isNaN(m.nonClicked[k]), k);
  assert.ok(Number.isFinite(m.clicked.kl));
  const zero = cvrMechanism({ click: [0], weight: [0], pCvr: [0.3], pConversionGivenClick: [0.2] });
  assert.equal(zero.nonClicked.rows, 1);
  assert.ok(Number.isNaN(zero.nonClicked.kl));
  const none = cvrMechanism({ click: [], pCvr: [], pConversionGivenClick: [] });
  assert.ok(Number.isNaN(none.clicked.crossEntropy) && Number.isNaN(none.nonClicked.calibration));
});

test("a length mismatch throws one error naming the array; invalid values throw", () => {
  const base = { click: [1, 0, 1], weight: [1, 1, 1], pCvr: [0.1, 0.2, 0.3], pConversionGivenClick: [0.1, 0.2, 0.3] };
  for (const name of ["weight", "pCvr", "pConversionGivenClick"] as const) {
    assert.throws(
      () => cvrMechanism({ ...base, [name]: [0.1, 0.2] }),
      (e: unknown) => e instanceof MetricInputError && e.message === `cvrMechanism: length mismatch: click has 3 rows, ${name} has 2`,
      name,
    );
  }
  assert.throws(() => cvrMechanism({ ...base, click: [1, 0, 2] }), /click\[2\] = 2 is not a 0\/1 label/);
  assert.throws(() => cvrMechanism({ ...base, pCvr: [0.1, NaN, 0.3] }), /pCvr\[1\] = NaN is outside \[0, 1\]/);
  assert.throws(() => cvrMechanism({ ...base, pConversionGivenClick: [0.1, 0.2, 1.5] }), /pConversionGivenClick\[2\]/);
  assert.throws(() => cvrMechanism({ ...base, weight: [1, -1, 1] }), /w\[1\] = -1/);
});

/** The 4-row example as an encoded split (no features), with or without the simulator's truth. */
function tinySplit(withTruth: boolean): EncodedSplit {
  return {
    name: "test",
    size: 4,
    categoricalFields: [],
    vocabularySizes: [],
    numericFields: [],
    categorical: new Int32Array(0),
    numeric: new Float32Array(0),
    click: Float32Array.from(CLICK),
    conversion: Float32Array.from([1, 0, 0, 0]),
    weight: Float32Array.from(WEIGHT),
    day: Int32Array.from([12, 12, 12, 12]),
    truth: withTruth ? { pClick: Float64Array.from([0.5, 0.5, 0.1, 0.1]), pConversionGivenClick: Float64Array.from(TRUTH) } : undefined,
  };
}

test("scoreSplit: mechanism metrics for a pCVR on simulated data; none without a pCVR or without truth", () => {
  const pCvr = Float64Array.from(PCVR);
  const pCtr = Float64Array.from([0.6, 0.5, 0.2, 0.1]);
  const pCtcvr = pCvr.map((v, i) => v * pCtr[i]);
  const withCvr = scoreSplit(tinySplit(true), { pCtr, pCvr, pCtcvr });
  assert.ok(withCvr.mechanism, "a model with a pCVR on simulated data has mechanism metrics");
  assertScore(withCvr.mechanism.cvr.clicked, expected(0, 1), "scoreSplit clicked");
  assertScore(withCvr.mechanism.cvr.nonClicked, expected(2, 3), "scoreSplit nonClicked");
  assert.equal(scoreSplit(tinySplit(true), { pCtr, pCtcvr }).mechanism, undefined, "no pCVR (ESSP-Split, ESP): none");
  assert.equal(scoreSplit(tinySplit(true), { pCtcvr }).mechanism, undefined, "no pCVR, no pCTR: none");
  assert.equal(scoreSplit(tinySplit(false), { pCtr, pCvr, pCtcvr }).mechanism, undefined, "no truth: none");
});

test("results files: records with and without mechanism metrics load", () => {
  const pCvr = Float64Array.from(PCVR);
  const pCtcvr = pCvr.map((v) => v / 10);
  const current = scoreSplit(tinySplit(true), { pCvr, pCtcvr });
  const old = scoreSplit(tinySplit(true), { pCtcvr });
  const file = path.join(tempDir("esmm-mechanism-"), "results.jsonl");
  fs.writeFileSync(file, [{ key: "a", model: "ESMM", test: current }, { key: "b", model: "ESP", test: old }].map((r) => JSON.stringify(r) + "\n").join(""));
  const read = readResults(file);
  assert.deepEqual(read.problems, []);
  assert.equal(read.records.length, 2);
  close(read.byKey.get("a")!.test.mechanism!.cvr.nonClicked.kl, expected(2, 3).kl, 1e-12, "kl after a JSON round trip");
  assert.equal(read.byKey.get("b")!.test.mechanism, undefined);
});
