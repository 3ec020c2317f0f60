/**
 * The field's debiasing baselines and newest models (issue 24: Multi-IPW, Multi-DR, DR-JL, MRDR, the ESCM2
 * release's IPW and DR with both released weight sets, NISE, ChorusCVR) and the loss kinds they bring
 * (cappedIps, errorDr, mrdr, nise, chorus): every kind's value and gradient against an independent float64
 * reference with the detachments its source specifies, hand-computed values where the source has a
 * peculiarity (the release's N² in the IPW weight, its cap at 15), every declared term reaching the gradient
 * (the doubling test), the characteristics measured on the built models against a stated table, and each
 * row trained one epoch as a seed group on a tiny simulated log with finite metrics.
 */
import { tempDir, trainingBackend } from "./helpers";
import { LogitRows, ce, checkEveryTermCounts, definedTerm, fourRowsByHand, randomLogitRows, rowMean, sig, termOf } from "./model-checks";
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../lib/backend";
import {
  FIELD_MODEL_NAMES,
  LossNormalization,
  LossTerm,
  MODEL_NAMES,
  ModelOutputs,
  ModelSpec,
  characteristics,
  getModelSpec,
  stopGradient,
} from "../lib/models";
import { defaultSplitPlan, prepare } from "../lib/data/prepare";
import { readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { runSeedGroup } from "../lib/study/run";

before(async () => {
  await trainingBackend();
});

// ------------------------------------------------------------------------------------------------
// float64 reference of each kind, on logits a (ctr), b (cvr), d (imputation), g (unCvr)

/** -[y log p + (1 - y) log(1 - p)] of p = s(a) s(g). */
const ceProduct = (y: number, a: number, g: number) => {
  const p = sig(a) * sig(g);
  return -(y * Math.log(p) + (1 - y) * Math.log1p(-p));
};

const KEYS = ["a", "b", "d", "g"] as const;
type Key = (typeof KEYS)[number];
const TOWER_OF: Record<Key, string> = { a: "ctr", b: "cvr", d: "imputation", g: "unCvr" };

type Rows = LogitRows<Key>;

/**
 * The term's value with every quantity the source detaches read from `at` (the unperturbed rows) and every
 * other from `r`: its central differences in `r` are the gradients with the source's detachments.
 */
function reference(term: LossTerm, r: Rows, at: Rows, norm: LossNormalization): number {
  const mean = rowMean(r, norm);
  const o = r.click;
  const y = r.conversion;
  switch (term.kind) {
    case "cappedIps": {
      const N = o.reduce((s, x) => s + x, 0);
      const inv = (i: number) => Math.min(1 / Math.max(sig(at.a[i]) * N ** term.clickCountPower, term.minPropensity), term.maxInverse);
      return mean((i) => o[i] * ce(y[i], r.b[i]) * inv(i));
    }
    case "errorDr": {
      const joint = term.detach === "jointLearning";
      const src = joint ? at : r;
      const w = (i: number) => o[i] * Math.min(1 / Math.max(sig(src.a[i]), term.minPropensity), term.maxInverse ?? Infinity);
      const eHat = (rows: Rows, i: number) => (term.error === "logit" ? rows.d[i] : sig(rows.d[i]));
      const prediction = mean((i) => eHat(src, i) + w(i) * (ce(y[i], r.b[i]) - eHat(src, i)));
      const imputation = mean((i) => w(i) * (ce(y[i], src.b[i]) - eHat(r, i)) ** 2);
      return prediction + term.imputationWeight * imputation;
    }
    case "mrdr": {
      const p = (i: number) => Math.max(sig(at.a[i]), term.minPropensity);
      const eHat = (i: number) => ce(sig(at.d[i]), r.b[i]);
      const prediction = mean((i) => eHat(i) + (o[i] * (ce(y[i], r.b[i]) - eHat(i))) / p(i));
      const imputation = mean((i) => (o[i] * (1 - p(i)) * ce(y[i], r.d[i])) / p(i) ** 2);
      return prediction + term.imputationWeight * imputation;
    }
    case "nise": {
      const lossCvr = (rows: Rows) => mean((i) => o[i] * ce(y[i], rows.b[i]) + (1 - o[i]) * ce(sig(rows.b[i]), rows.b[i]));
      const factor = term.scale * Math.min(mean((i) => ce(o[i], at.a[i])) / lossCvr(at), term.maxRatio);
      return factor * lossCvr(r);
    }
    case "chorus": {
      const m = term.minPropensity;
      const p = (i: number) => Math.min(Math.max(sig(at.a[i]), m), 1 - m);
      const ctun = mean((i) => ceProduct(o[i] * (1 - y[i]), r.a[i], r.g[i]));
      const factual = mean((i) => (o[i] * (ce(y[i], r.b[i]) + ce(1 - y[i], r.g[i]))) / p(i));
      const alignment = mean((i) => ((1 - o[i]) * (ce(1 - sig(at.g[i]), r.b[i]) + ce(1 - sig(at.b[i]), r.g[i]))) / (1 - p(i)));
      return factual + term.alignmentWeight * alignment + term.ctunCvrWeight * ctun;
    }
    default:
      throw new Error(`no reference for ${term.kind}`);
  }
}

/** Outputs with every tower the spec has, from the given logits (pCTCVR = pCTR * pCVR: every row here is a product model). */
function fakeOutputs(spec: ModelSpec, z: Record<Key, tfjs.Tensor1D>): ModelOutputs {
  const t = tf();
  const names = spec.towers.map((x) => x.name);
  const o: Partial<ModelOutputs> = { ctrLogit: z.a, pCtr: t.sigmoid(z.a), cvrLogit: z.b, pCvr: t.sigmoid(z.b) };
  if (names.includes("imputation")) Object.assign(o, { imputationLogit: z.d, pImputation: t.sigmoid(z.d) });
  if (names.includes("unCvr")) Object.assign(o, { unCvrLogit: z.g, pUnCvr: t.sigmoid(z.g) });
  o.pCtcvr = t.mul(o.pCtr!, o.pCvr!) as tfjs.Tensor1D;
  return o as ModelOutputs;
}

/** Logits over a wide range, pCTR below the floors and above the caps' thresholds included. */
function randomRows(n: number, seed: number): Rows {
  return randomLogitRows(n, seed, { a: [10, -7], b: [8, -5], d: [6, -3], g: [6, -2] });
}

/** Value of the spec's term `k` by its definition (tfjs, float32), and its gradients with respect to every logit. */
function defined(spec: ModelSpec, k: number, rows: Rows, norm: LossNormalization): { value: number; grads: Record<Key, Float32Array> } {
  return definedTerm(spec, k, rows, norm, KEYS, fakeOutputs);
}

/** Each new kind, in the row that uses it, and the towers its source says receive no gradient from it. */
const KIND_MODELS: { kind: LossTerm["kind"]; model: string; noGradient: Key[] }[] = [
  { kind: "cappedIps", model: "ESCM2-IPW-release", noGradient: ["a", "d", "g"] },
  { kind: "errorDr", model: "Multi-DR", noGradient: ["a", "g"] },
  { kind: "errorDr", model: "DR-JL", noGradient: ["a", "g"] },
  { kind: "errorDr", model: "ESCM2-DR-release", noGradient: ["g"] },
  { kind: "mrdr", model: "MRDR", noGradient: ["a", "g"] },
  { kind: "nise", model: "NISE", noGradient: ["a", "d", "g"] },
  { kind: "chorus", model: "ChorusCVR", noGradient: ["d"] },
];

for (const { kind, model, noGradient } of KIND_MODELS) {
  test(`loss kind ${kind} (${model}): value and gradients equal a float64 reference with the source's detachments`, () => {
    const { spec, k, term } = termOf(model, kind);
    const rows = randomRows(200, 17);
    for (const norm of ["batch-weight", "batch-rows"] as const) {
      const got = defined(spec, k, rows, norm);
      const want = reference(term, rows, rows, norm);
      assert.ok(Number.isFinite(want) && want !== 0);
      assert.ok(Math.abs(got.value - want) <= 1e-5 * Math.abs(want), `${norm}: ${got.value} vs float64 ${want}`);
      const h = 1e-5;
      const frozen: Rows = structuredClone(rows);
      for (const key of KEYS) {
        const g = got.grads[key];
        if (noGradient.includes(key)) {
          assert.ok(g.every((x) => x === 0), `${norm}: the ${TOWER_OF[key]} logit must get no gradient from ${kind}`);
          continue;
        }
        let maxErr = 0;
        let scale = 0;
        for (let i = 0; i < rows.a.length; i++) {
          const x0 = rows[key][i];
          rows[key][i] = x0 + h;
          const up = reference(term, rows, frozen, norm);
          rows[key][i] = x0 - h;
          const down = reference(term, rows, frozen, norm);
          rows[key][i] = x0;
          const ref = (up - down) / (2 * h);
          maxErr = Math.max(maxErr, Math.abs(g[i] - ref));
          scale = Math.max(scale, Math.abs(ref));
        }
        assert.ok(scale > 0 && maxErr <= 2e-3 * scale, `${norm}: d/d ${TOWER_OF[key]} logit off by ${maxErr} (scale ${scale})`);
      }
    }
  });
}

test("ESCM2 release's IPW weight: 1 / max(pCTR N², 1e-6) capped at 15, N the batch's clicks, over every impression (by hand)", () => {
  const { spec, k } = termOf("ESCM2-IPW-release", "cappedIps");
  // Four rows, two clicked (N = 2): pCTR 0.2 -> 1 / (0.2 * 4) = 1.25; pCTR 0.001 -> 1 / 0.004 = 250, capped at 15.
  const rows: Rows = fourRowsByHand(["d", "g"] as const);
  const byHand = (1.25 * -Math.log(0.1) + 15 * -Math.log(0.5)) / 10;
  const got = defined(spec, k, rows, "batch-weight").value;
  assert.ok(Math.abs(got - byHand) <= 1e-5 * byHand, `${got} vs ${byHand}`);
  // The paper's weight 1 / pCTR (uncapped) is far from it.
  assert.ok(Math.abs(got - (-Math.log(0.1) / 0.2 + -Math.log(0.5) / 0.001) / 10) > 10 * byHand);
});

test("NISE: the non-clicked rows' pseudo-label is not detached (as released); detached, it would give pCVR no gradient", () => {
  const t = tf();
  const spec = getModelSpec("NISE");
  const k = spec.losses.findIndex((x) => x.kind === "nise");
  const rows = randomRows(64, 8);
  const nonClicked: Rows = { ...rows, click: rows.click.map(() => 0), conversion: rows.conversion.map(() => 0) };
  const g = defined(spec, k, nonClicked, "batch-weight").grads.b;
  // Entropy gradient: d/dz H(s(z)) = -z s(z) (1 - s(z)) per row, times the factor and the row's weight / total weight.
  assert.ok(g.some((x) => Math.abs(x) > 1e-4));
  nonClicked.b.forEach((z, i) => assert.ok(Math.sign(g[i]) === -Math.sign(z) || Math.abs(z) < 1e-6, `row ${i}: the entropy pushes pCVR away from 1/2`));
  t.tidy(() => {
    const z = t.variable(t.tensor1d(rows.b));
    const detached = t.variableGrads(() => {
      const p = t.sigmoid(z);
      return t.mean(t.neg(t.add(t.mul(stopGradient(p), t.log(p)), t.mul(t.sub(1, stopGradient(p)), t.log(t.sub(1, p)))))) as tfjs.Scalar;
    }, [z]);
    const worst = Math.max(...Array.from(detached.grads[z.name].dataSync(), Math.abs));
    assert.ok(worst < 1e-7, `a detached pseudo-label's gradient is ${worst}`);
    z.dispose();
  });
});

test("error-imputation DR with joint learning gives the CVR logit exactly IPS's gradient (ê detached); the release's undetached DR does not", () => {
  const rows = randomRows(120, 21);
  const ipsOf = (spec: ModelSpec, minPropensity: number): ModelSpec => ({
    ...spec,
    losses: [...spec.losses, { kind: "ips", output: "cvr", propensity: "ctr", minPropensity, weight: 1 }],
  });
  const gap = (model: string) => {
    const spec = getModelSpec(model);
    const k = spec.losses.findIndex((x) => x.kind === "errorDr");
    const term = spec.losses[k] as Extract<LossTerm, { kind: "errorDr" }>;
    const withIps = ipsOf(spec, term.minPropensity);
    const dr = defined(withIps, k, rows, "batch-weight").grads.b;
    const ips = defined(withIps, withIps.losses.length - 1, rows, "batch-weight").grads.b;
    const scale = Math.max(...Array.from(ips, Math.abs));
    return { worst: Math.max(...Array.from(dr, (x, i) => Math.abs(x - ips[i]))) / scale, scale };
  };
  for (const model of ["DR-JL", "Multi-DR"]) {
    const { worst, scale } = gap(model);
    assert.ok(scale > 0 && worst <= 1e-5, `${model}: DR's CVR gradient differs from IPS's by ${worst} of the largest`);
  }
  assert.ok(gap("ESCM2-DR-release").worst > 1e-2, "the release's DR (nothing detached) moves the CVR tower differently from IPS");
});

// ------------------------------------------------------------------------------------------------
// built models

const yes = true;
const no = false;
/** The stated table (lib/models/zoo.ts) for the field's rows. */
const FIELD_TABLE: Record<string, ReturnType<typeof characteristics>> = {
  "Multi-IPW": { sharedParameters: yes, entireSpace: yes, weightedCvr: no, experts: no, counterfactualCorrection: yes, transfer: no },
  "Multi-DR": { sharedParameters: yes, entireSpace: yes, weightedCvr: no, experts: no, counterfactualCorrection: yes, transfer: no },
  "DR-JL": { sharedParameters: no, entireSpace: yes, weightedCvr: no, experts: no, counterfactualCorrection: yes, transfer: no },
  MRDR: { sharedParameters: no, entireSpace: yes, weightedCvr: no, experts: no, counterfactualCorrection: yes, transfer: no },
  "ESCM2-IPW-release": { sharedParameters: yes, entireSpace: yes, weightedCvr: yes, experts: yes, counterfactualCorrection: yes, transfer: no },
  "ESCM2-DR-release": { sharedParameters: yes, entireSpace: yes, weightedCvr: yes, experts: yes, counterfactualCorrection: yes, transfer: no },
  "ESCM2-IPW-release-bigdata": { sharedParameters: yes, entireSpace: yes, weightedCvr: yes, experts: yes, counterfactualCorrection: yes, transfer: no },
  "ESCM2-DR-release-bigdata": { sharedParameters: yes, entireSpace: yes, weightedCvr: yes, experts: yes, counterfactualCorrection: yes, transfer: no },
  NISE: { sharedParameters: yes, entireSpace: yes, weightedCvr: no, experts: no, counterfactualCorrection: no, transfer: no },
  ChorusCVR: { sharedParameters: yes, entireSpace: yes, weightedCvr: yes, experts: no, counterfactualCorrection: yes, transfer: no },
};

test("the field's rows are in the zoo, and their characteristics measured on the built models match the stated table", () => {
  assert.deepEqual([...FIELD_MODEL_NAMES].sort(), Object.keys(FIELD_TABLE).sort());
  for (const name of FIELD_MODEL_NAMES) {
    assert.ok(MODEL_NAMES.includes(name), name);
    assert.deepEqual(characteristics(getModelSpec(name)), FIELD_TABLE[name], name);
  }
  // The two release presets differ only by their weights.
  const [a, b] = [getModelSpec("ESCM2-DR-release"), getModelSpec("ESCM2-DR-release-bigdata")];
  assert.deepEqual(a.losses.map((x) => x.weight), [1, 1, 0.01]);
  assert.deepEqual(b.losses.map((x) => x.weight), [1, 0.5, 0.5]);
  assert.deepEqual({ ...a.trunk, towers: a.towers }, { ...b.trunk, towers: b.towers });
});

for (const name of FIELD_MODEL_NAMES) {
  test(`${name}: every declared loss term changes the gradient (none silently dropped), finite loss, fast path = definition`, () => checkEveryTermCounts(name));
}

test("each of the field's rows trains one epoch as a seed group of 2 on a tiny simulated log, with finite metrics", async (t) => {
  const dir = tempDir();
  writeSimulatedLog({ impressions: 5_000, days: 8, users: 100, ads: 30, targetCtr: 0.1, targetCvr: 0.2 }, 5, dir);
  const data = prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(8), negativeKeepRate: 0.5, seed: 5 });
  const lines: string[] = [];
  for (const model of FIELD_MODEL_NAMES) {
    const outcomes = await runSeedGroup(data, { model, seeds: [1, 2], train: { maxEpochs: 1, batchSize: 512, learningRate: 3e-3 } });
    for (const o of outcomes) {
      assert.ok(o.record, `${model} seed ${o.seed}: ${o.error?.message}`);
      const r = o.record!;
      assert.equal(r.training.epochs.length, 1);
      const m = r.test.metrics;
      for (const [space, s] of Object.entries(m)) {
        if (!s) continue;
        for (const key of ["logLoss", "normalizedEntropy", "rocAuc", "calibrationRatio"] as const) {
          assert.ok(Number.isFinite(s[key]), `${model} seed ${o.seed}: ${space} ${key} = ${s[key]}`);
        }
      }
      assert.ok(m.cvr, `${model}: a pCVR is scored`);
      if (o.seed === 1) lines.push(`${model.padEnd(26)} test CTCVR log loss ${m.ctcvr.logLoss.toFixed(5)}, CVR AUC ${m.cvr!.rocAuc.toFixed(3)}`);
    }
  }
  t.diagnostic(`${data.test.size} test rows\n${lines.join("\n")}`);
});
