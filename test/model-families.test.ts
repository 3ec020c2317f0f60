/**
 * The families beyond the paper (MMoE, PLE, AITM, ESCM2-IPS, ESCM2-DR, DCMT) and the loss kinds they
 * bring: every kind's definition against an independent float64 reference (value and gradients, with the
 * papers' detachments), the mistakes peers made as tests (the propensity receives no gradient; the IPS
 * weight is 1 / clipped pCTR over every impression, not a click count; AITM's calibrator is a mean; experts
 * start from independent draws; no declared term is dropped), and the characteristics derived from the
 * built models against the table stated in lib/models/zoo.ts.
 */
import { DIMS, LogitRows, ce, checkEveryTermCounts, definedTerm, fourRowsByHand, randomLogitRows, randomSplit, rowMean, sig, termOf } from "./model-checks";
import { before, test } from "node:test";
import { trainingBackend } from "./helpers";
import assert from "node:assert/strict";
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../lib/backend";
import {
  BEYOND_MODEL_NAMES,
  LossNormalization,
  MODEL_ZOO,
  LossTerm,
  ModelOutputs,
  ModelSpec,
  buildModel,
  characteristics,
  getModelSpec,
  lossTerms,
  totalLoss,
  definedTotalLoss,
} from "../lib/models";
import { gatherRows, inputTensors, labelTensors } from "../lib/train/batches";

before(async () => {
  await trainingBackend();
});

// ------------------------------------------------------------------------------------------------
// float64 reference of each kind, on logits a (ctr), b (cvr), c (ctcvr tower), d (imputation), f (counterfactual cvr)

type Rows = LogitRows<"a" | "b" | "c" | "d" | "f">;

/** The term's value split into the parts each tower is trained by (the papers' detachments, as separate sums). */
function reference(term: LossTerm, r: Rows, norm: LossNormalization): { value: number; parts: Record<string, number> } {
  const mean = rowMean(r, norm);
  switch (term.kind) {
    case "ips": {
      const v = mean((i) => (r.click[i] * ce(r.conversion[i], r.b[i])) / Math.max(sig(r.a[i]), term.minPropensity));
      return { value: v, parts: { cvr: v } };
    }
    case "dr": {
      const p = (i: number) => Math.max(sig(r.a[i]), term.minPropensity);
      const eHat = (i: number) => ce(sig(r.d[i]), r.b[i]);
      const e = (i: number) => ce(r.conversion[i], r.b[i]);
      const dr = mean((i) => eHat(i) + (r.click[i] * (e(i) - eHat(i))) / p(i));
      const imp = mean((i) => (r.click[i] * (e(i) - eHat(i)) ** 2) / p(i));
      return { value: dr + term.imputationWeight * imp, parts: { cvr: dr, imputation: term.imputationWeight * imp } };
    }
    case "calibrator": {
      const v = mean((i) => Math.max(sig(r.c[i]) - sig(r.a[i]), 0));
      return { value: v, parts: { ctcvr: v, ctr: v } };
    }
    case "counterfactual": {
      const m = term.minPropensity;
      const p = (i: number) => Math.min(Math.max(sig(r.a[i]), m), 1 - m);
      const risk = mean((i) => (r.click[i] * ce(r.conversion[i], r.b[i])) / p(i) + ((1 - r.click[i]) * ce(1 - r.conversion[i], r.f[i])) / (1 - p(i)));
      const constraint = mean((i) => Math.abs(1 - sig(r.b[i]) - sig(r.f[i])));
      const v = risk + term.constraintWeight * constraint;
      return { value: v, parts: { cvr: v, cvrCounterfactual: v } };
    }
    default:
      throw new Error(`no reference for ${term.kind}`);
  }
}

/** Outputs with every tower the spec has, from the given logits (pCTCVR as the spec says). */
function fakeOutputs(spec: ModelSpec, z: Record<"a" | "b" | "c" | "d" | "f", tfjs.Tensor1D>): ModelOutputs {
  const t = tf();
  const names = spec.towers.map((x) => x.name);
  const o: Partial<ModelOutputs> = {};
  if (names.includes("ctr")) Object.assign(o, { ctrLogit: z.a, pCtr: t.sigmoid(z.a) });
  if (names.includes("cvr")) Object.assign(o, { cvrLogit: z.b, pCvr: t.sigmoid(z.b) });
  if (names.includes("ctcvr")) Object.assign(o, { ctcvrLogit: z.c, pCtcvr: t.sigmoid(z.c) });
  if (names.includes("imputation")) Object.assign(o, { imputationLogit: z.d, pImputation: t.sigmoid(z.d) });
  if (names.includes("cvrCounterfactual")) Object.assign(o, { cvrCounterfactualLogit: z.f, pCvrCounterfactual: t.sigmoid(z.f) });
  if (spec.ctcvr === "product") o.pCtcvr = t.mul(o.pCtr!, o.pCvr!) as tfjs.Tensor1D;
  return o as ModelOutputs;
}

/** Logits over a wide range, including pCTR below the propensity floors. */
function randomRows(n: number, seed: number): Rows {
  return randomLogitRows(n, seed, { a: [10, -7], b: [8, -5], c: [8, -6], d: [6, -4], f: [6, -2] });
}

const LOGIT_KEYS = ["a", "b", "c", "d", "f"] as const;
const TOWER_OF: Record<(typeof LOGIT_KEYS)[number], string> = { a: "ctr", b: "cvr", c: "ctcvr", d: "imputation", f: "cvrCounterfactual" };

/** Value of the spec's term `k` by its definition, and its gradients with respect to every logit. */
function defined(spec: ModelSpec, k: number, rows: Rows, norm: LossNormalization): { value: number; grads: Record<string, Float32Array> } {
  return definedTerm(spec, k, rows, norm, LOGIT_KEYS, fakeOutputs);
}

const KIND_MODELS: [LossTerm["kind"], string][] = [
  ["ips", "ESCM2-IPS"],
  ["dr", "ESCM2-DR"],
  ["calibrator", "AITM"],
  ["counterfactual", "DCMT"],
];

for (const [kind, model] of KIND_MODELS) {
  test(`loss kind ${kind} (${model}): value and gradients equal a float64 reference with the paper's detachments`, () => {
    const { spec, k, term } = termOf(model, kind);
    const rows = randomRows(200, 17);
    for (const norm of ["batch-weight", "batch-rows"] as const) {
      const got = defined(spec, k, rows, norm);
      const want = reference(term, rows, norm);
      assert.ok(Math.abs(got.value - want.value) <= 1e-5 * Math.abs(want.value), `${norm}: ${got.value} vs float64 ${want.value}`);
      // Gradient with respect to each logit: central differences of the part of the reference that trains
      // that tower (zero where the paper detaches: the propensity, and for DR each step's other tower).
      const h = 1e-5;
      for (const key of LOGIT_KEYS) {
        const tower = TOWER_OF[key];
        const g = got.grads[key];
        const part = want.parts[tower];
        let maxErr = 0;
        let scale = 0;
        for (let i = 0; i < rows.a.length; i++) {
          let ref = 0;
          if (part !== undefined) {
            const x0 = rows[key][i];
            rows[key][i] = x0 + h;
            const up = reference(term, rows, norm).parts[tower];
            rows[key][i] = x0 - h;
            const down = reference(term, rows, norm).parts[tower];
            rows[key][i] = x0;
            ref = (up - down) / (2 * h);
          }
          maxErr = Math.max(maxErr, Math.abs(g[i] - ref));
          scale = Math.max(scale, Math.abs(ref));
        }
        if (part === undefined) assert.equal(maxErr, 0, `${norm}: ${tower} must get no gradient from ${kind}`);
        else assert.ok(scale > 0 && maxErr <= 2e-3 * scale, `${norm}: d/d ${tower} logit off by ${maxErr} (scale ${scale})`);
      }
    }
  });
}

test("propensity: the IPS, DR and DCMT terms give the CTR logit exactly zero gradient (the CTR cross-entropy alone trains it)", () => {
  const rows = randomRows(100, 3);
  for (const [kind, model] of KIND_MODELS.filter(([k]) => k !== "calibrator")) {
    const spec = getModelSpec(model);
    const k = spec.losses.findIndex((x) => x.kind === kind);
    const g = defined(spec, k, rows, "batch-weight").grads.a;
    assert.ok(g.every((x) => x === 0), `${model}: ${kind} sends a gradient into pCTR`);
  }
});

test("IPS weight: 1 / max(pCTR, floor) over every impression (not divided by the click count or the batch size)", () => {
  const { spec, k, term } = termOf("ESCM2-IPS", "ips");
  // Four rows: two clicked (pCTR 0.2 and 0.001 -> floored), two not; weights 1, 1, 3, 5.
  const rows: Rows = fourRowsByHand(["c", "d", "f"] as const);
  const byHand = (-Math.log(0.1) / 0.2 + -Math.log(0.5) / term.minPropensity) / (1 + 1 + 3 + 5);
  const got = defined(spec, k, rows, "batch-weight").value;
  assert.ok(Math.abs(got - byHand) <= 1e-5 * byHand, `${got} vs ${byHand}`);
  // What two peers compute instead, both far from it: divided by the clicks' weight, or unclipped.
  assert.ok(Math.abs(got - (byHand * 10) / 2) > 0.5 * byHand);
  assert.ok(Math.abs(got - (-Math.log(0.1) / 0.2 + -Math.log(0.5) / 0.001) / 10) > 0.5 * byHand);
});

test("AITM's calibrator is a mean over impressions: duplicating every row leaves it unchanged, and it is 0 when pCTCVR <= pCTR", () => {
  const spec = getModelSpec("AITM");
  const k = spec.losses.findIndex((x) => x.kind === "calibrator");
  const rows = randomRows(64, 5);
  const twice: Rows = Object.fromEntries(Object.entries(rows).map(([key, v]) => [key, [...v, ...v]])) as unknown as Rows;
  const one = defined(spec, k, rows, "batch-weight").value;
  assert.ok(one > 0);
  assert.ok(Math.abs(defined(spec, k, twice, "batch-weight").value - one) <= 1e-6 * one);
  const below: Rows = { ...rows, c: rows.a.map((a) => a - 1) };
  assert.equal(defined(spec, k, below, "batch-weight").value, 0);
});

// ------------------------------------------------------------------------------------------------
// built models

/** The stated table (lib/models/zoo.ts) for the families beyond the paper. */
const BEYOND_TABLE: Record<string, ReturnType<typeof characteristics>> = {
  MMoE: { sharedParameters: true, entireSpace: false, weightedCvr: false, experts: true, counterfactualCorrection: false, transfer: false },
  PLE: { sharedParameters: true, entireSpace: false, weightedCvr: false, experts: true, counterfactualCorrection: false, transfer: false },
  AITM: { sharedParameters: true, entireSpace: true, weightedCvr: false, experts: false, counterfactualCorrection: false, transfer: true },
  "ESCM2-IPS": { sharedParameters: true, entireSpace: true, weightedCvr: true, experts: false, counterfactualCorrection: true, transfer: false },
  "ESCM2-DR": { sharedParameters: true, entireSpace: true, weightedCvr: true, experts: false, counterfactualCorrection: true, transfer: false },
  DCMT: { sharedParameters: true, entireSpace: true, weightedCvr: false, experts: false, counterfactualCorrection: true, transfer: false },
};

test("characteristics derived from the built families match the stated table", () => {
  assert.deepEqual([...BEYOND_MODEL_NAMES], Object.keys(BEYOND_TABLE));
  for (const name of BEYOND_MODEL_NAMES) assert.deepEqual(characteristics(getModelSpec(name)), BEYOND_TABLE[name], name);
  // Derived, not labelled: the same towers and losses as IPSP on an MMoE trunk gain "experts" only.
  const ipspLike = { ...getModelSpec("IPSP"), name: "IPSP-on-MMoE", trunk: { kind: "mmoe" as const, experts: 2 } };
  assert.deepEqual(characteristics(ipspLike), { ...characteristics(getModelSpec("IPSP")), experts: true });
  // AITM without its transfer edge loses "transfer" (and keeps shared embeddings).
  const aitm = getModelSpec("AITM");
  const noTransfer = { ...aitm, name: "AITM-no-transfer", towers: aitm.towers.map((x) => ({ name: x.name, layers: x.layers })) };
  assert.equal(characteristics(noTransfer).transfer, false);
  assert.equal(characteristics(noTransfer).sharedParameters, true);
});

test("experts start from independent draws (MMoE and PLE), and a seed reproduces them", () => {
  for (const name of ["MMoE", "PLE"]) {
    const a = buildModel(getModelSpec(name), DIMS, { seed: 4 });
    const b = buildModel(getModelSpec(name), DIMS, { seed: 4 });
    try {
      const experts = [...a.variables.values()].filter((i) => /expert|shared\d/.test(i.name) && i.name.endsWith("/kernel") && i.name.includes("/0/"));
      assert.ok(experts.length >= (name === "MMoE" ? 4 : 4), `${name}: ${experts.length} experts`);
      const values = experts.map((i) => Array.from(i.variable.dataSync()));
      for (let x = 0; x < values.length; x++) {
        for (let y = x + 1; y < values.length; y++) {
          if (values[x].length !== values[y].length) continue;
          assert.notDeepEqual(values[x], values[y], `${name}: ${experts[x].name} and ${experts[y].name} start equal`);
        }
      }
      for (const i of experts) assert.deepEqual(Array.from(b.variables.get(i.name)!.variable.dataSync()), Array.from(i.variable.dataSync()));
    } finally {
      a.dispose();
      b.dispose();
    }
  }
});

for (const name of BEYOND_MODEL_NAMES) {
  test(`${name}: every declared loss term changes the gradient (none silently dropped), finite loss, fast path = definition`, () => checkEveryTermCounts(name));
}

test("ESCM2-DR: the CVR tower learns on non-clicked impressions (imputed errors) and the imputation tower only from its own loss", () => {
  const t = tf();
  const spec = getModelSpec("ESCM2-DR");
  const model = buildModel(spec, DIMS, { seed: 6 });
  try {
    const split = randomSplit(64, 12);
    // Only non-clicked rows: IPS would give the CVR tower nothing, DR gives it the imputed errors.
    const rows = Array.from({ length: split.size }, (_, i) => i).filter((i) => split.click[i] === 0);
    const batch = gatherRows(split, rows);
    t.tidy(() => {
      const inputs = inputTensors(batch);
      const labels = labelTensors(batch);
      const k = spec.losses.findIndex((x) => x.kind === "dr");
      const cvrOwn = [...model.variables.values()].filter((i) => i.owner === "cvr").map((i) => i.variable);
      const g = t.variableGrads(() => lossTerms(spec, model.forward(inputs, true), labels, "batch-weight")[k].value, cvrOwn);
      const total = Object.values(g.grads).reduce((s, x) => s + t.sum(t.abs(x)).dataSync()[0], 0);
      assert.ok(total > 0, "DR gives the CVR tower a gradient on non-clicked rows");
      const impOwn = [...model.variables.values()].filter((i) => i.owner === "imputation").map((i) => i.variable);
      const gi = t.variableGrads(() => lossTerms(spec, model.forward(inputs, true), labels, "batch-weight")[k].value, impOwn);
      const totalImp = Object.values(gi.grads).reduce((s, x) => s + t.sum(t.abs(x)).dataSync()[0], 0);
      assert.equal(totalImp, 0, "no clicked rows: the imputation loss (clicked rows only) is zero, and the DR part reads the imputation detached");
    });
  } finally {
    model.dispose();
  }
});

test("every model of the zoo: the training objective (closed-form cross-entropy fast path + definitions) equals the sum of the definitions, value and gradient of every variable", () => {
  const t = tf();
  const split = randomSplit(128, 33);
  const batch = gatherRows(split, Array.from({ length: split.size }, (_, i) => i));
  for (const spec of MODEL_ZOO) {
    const model = buildModel(spec, DIMS, { seed: 12 });
    try {
      for (const norm of ["own-rows", "batch-weight", "batch-rows"] as const) {
        t.tidy(() => {
          const inputs = inputTensors(batch);
          const labels = labelTensors(batch);
          const vars = model.trainableVariables();
          const fast = t.variableGrads(() => totalLoss(spec, model.forward(inputs, true), labels, norm), vars);
          const slow = t.variableGrads(() => definedTotalLoss(spec, model.forward(inputs, true), labels, norm), vars);
          const f = fast.value.dataSync()[0];
          const s = slow.value.dataSync()[0];
          assert.ok(Math.abs(f - s) <= 1e-5 * Math.abs(s), `${spec.name} ${norm}: fast ${f} vs definition ${s}`);
          assert.deepEqual(Object.keys(fast.grads).sort(), Object.keys(slow.grads).sort(), `${spec.name}: same variables get gradients`);
          for (const [name, g] of Object.entries(fast.grads)) {
            const a = g.dataSync();
            const b = slow.grads[name].dataSync();
            let scale = 0;
            let err = 0;
            for (let i = 0; i < a.length; i++) {
              scale = Math.max(scale, Math.abs(b[i]));
              err = Math.max(err, Math.abs(a[i] - b[i]));
            }
            assert.ok(err <= 1e-4 * scale + 1e-8, `${spec.name} ${norm} ${name}: gradient differs by ${err} (scale ${scale})`);
          }
        });
      }
    } finally {
      model.dispose();
    }
  }
});
