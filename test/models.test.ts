/**
 * The paper's six models as data (lib/models): the paper's ablation table derived from the built models, the wiring of
 * each model (which variables each output depends on, which rows and labels each loss reads), numerics at
 * extreme logits against a float64 reference, and parameter counts.
 *
 * Wiring checks are parametrised over the paper's six models (cross-entropy terms only): one test body per
 * property. The families beyond the paper and the other loss kinds: test/model-families.test.ts.
 */
import { rng, trainingBackend } from "./helpers";
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../lib/backend";
import {
  DEFAULT_ARCHITECTURE,
  LOSS_NORMALIZATIONS,
  LossNormalization,
  CrossEntropyTerm,
  MODEL_ZOO,
  ModelOutputs,
  PAPER_MODEL_NAMES,
  ModelSpec,
  MultiTaskModel,
  TaskOutput,
  buildModel,
  characteristics,
  dense,
  getModelSpec,
  lossTerms,
  outputsOf,
  totalLoss,
  towerNames,
} from "../lib/models";
import { BatchArrays, gatherRows, inputTensors, labelTensors } from "../lib/train/batches";
import type { EncodedSplit } from "../lib/data/encoded";

/** The paper's six rows of the zoo (every loss term a cross-entropy). */
const PAPER_SPECS = MODEL_ZOO.filter((s) => PAPER_MODEL_NAMES.includes(s.name));
const ceTerms = (spec: ModelSpec) => spec.losses as CrossEntropyTerm[];

before(async () => {
  await trainingBackend();
});

// ------------------------------------------------------------------------------------------------
// helpers


const DIMS = { categoricalFields: ["user", "item", "placement"], vocabularySizes: [5, 6, 7], numericFields: ["price", "age"] };

/** A small random split (clicks ~40 %, conversions ~50 % of clicks, non-clicked rows weight 2). */
function randomSplit(n: number, seed: number): EncodedSplit {
  const r = rng(seed);
  const nf = DIMS.categoricalFields.length;
  const categorical = new Int32Array(n * nf);
  const numeric = new Float32Array(n * 2);
  const click = new Float32Array(n);
  const conversion = new Float32Array(n);
  const weight = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < nf; f++) categorical[i * nf + f] = Math.floor(r() * DIMS.vocabularySizes[f]);
    numeric[i * 2] = r() * 2 - 1;
    numeric[i * 2 + 1] = r() * 2 - 1;
    click[i] = r() < 0.4 ? 1 : 0;
    conversion[i] = click[i] && r() < 0.5 ? 1 : 0;
    weight[i] = click[i] ? 1 : 2;
  }
  return {
    name: `random-${seed}`,
    size: n,
    ...DIMS,
    categorical,
    numeric,
    click,
    conversion,
    weight,
    day: new Int32Array(n),
  };
}

function allRows(split: EncodedSplit): BatchArrays {
  return gatherRows(split, Array.from({ length: split.size }, (_, i) => i));
}

/** Loss and gradient of every trainable variable (by local name), as plain arrays. */
function lossAndGrads(model: MultiTaskModel, batch: BatchArrays, norm: LossNormalization): { loss: number; grads: Map<string, Float32Array> } {
  const t = tf();
  const byTfName = new Map([...model.variables.values()].map((i) => [i.variable.name, i.name]));
  const grads = new Map<string, Float32Array>();
  let loss = NaN;
  t.tidy(() => {
    const inputs = inputTensors(batch);
    const labels = labelTensors(batch);
    const g = t.variableGrads(() => totalLoss(model.spec, model.forward(inputs, true), labels, norm), model.trainableVariables());
    loss = g.value.dataSync()[0];
    for (const [name, grad] of Object.entries(g.grads)) grads.set(byTfName.get(name)!, grad.dataSync() as Float32Array);
  });
  return { loss, grads };
}

function sameArrays(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Names of the trainable variables `f(outputs)` is connected to, found from the gradient graph. */
function connectedVariables(model: MultiTaskModel, batch: BatchArrays, pick: (o: ModelOutputs) => tfjs.Tensor1D | undefined): Set<string> {
  const t = tf();
  const byTfName = new Map([...model.variables.values()].map((i) => [i.variable.name, i.name]));
  const names = new Set<string>();
  t.tidy(() => {
    const inputs = inputTensors(batch);
    const g = t.variableGrads(() => t.sum(pick(model.forward(inputs, true))!), model.trainableVariables());
    for (const name of Object.keys(g.grads)) names.add(byTfName.get(name)!);
  });
  return names;
}

const LOGIT_OF: Record<TaskOutput, keyof ModelOutputs> = {
  ctr: "ctrLogit",
  cvr: "cvrLogit",
  ctcvr: "ctcvrLogit",
  imputation: "imputationLogit",
  cvrCounterfactual: "cvrCounterfactualLogit",
  unCvr: "unCvrLogit",
};

/** Logits the loss of `spec` needs: ctr/cvr for product ctcvr, the head's otherwise. */
function logitsUsedByLoss(spec: ModelSpec): Set<keyof ModelOutputs> {
  const used = new Set<keyof ModelOutputs>();
  for (const term of ceTerms(spec)) {
    if (term.output === "ctcvr" && spec.ctcvr === "product") {
      used.add("ctrLogit");
      used.add("cvrLogit");
    } else {
      used.add(LOGIT_OF[term.output]);
    }
  }
  return used;
}

// float64 reference of the loss ----------------------------------------------------------------

const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const logSig = (x: number) => -softplus(-x);

function refLogProbs(spec: ModelSpec, output: TaskOutput, a: number, b: number, c: number): [number, number] {
  if (output === "ctr") return [logSig(a), logSig(-a)];
  if (output === "cvr") return [logSig(b), logSig(-b)];
  if (spec.ctcvr === "head") return [logSig(c), logSig(-c)];
  const lp = logSig(a) + logSig(b);
  return [lp, lp < -Math.LN2 ? Math.log1p(-Math.exp(lp)) : Math.log(-Math.expm1(lp))];
}

interface Rows {
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  click: Float32Array;
  conversion: Float32Array;
  weight: Float32Array;
}

function refLoss(spec: ModelSpec, rows: Rows, norm: LossNormalization): number {
  const n = rows.a.length;
  let total = 0;
  for (const term of ceTerms(spec)) {
    let num = 0;
    let own = 0;
    let all = 0;
    for (let i = 0; i < n; i++) {
      const y = term.label === "click" ? rows.click[i] : term.label === "conversion" ? rows.conversion[i] : rows.click[i] * rows.conversion[i];
      const w = rows.weight[i] * (term.space === "clicks" ? rows.click[i] : 1);
      const [lp, l1p] = refLogProbs(spec, term.output, rows.a[i], rows.b[i], rows.c[i]);
      num -= w * (y * lp + (1 - y) * l1p);
      own += w;
      all += rows.weight[i];
    }
    const den = norm === "own-rows" ? Math.max(own, 1e-12) : norm === "batch-weight" ? all : n;
    total += term.weight * (num / den);
  }
  return total;
}

function fakeOutputs(spec: ModelSpec, a: tfjs.Tensor1D, b: tfjs.Tensor1D, c: tfjs.Tensor1D): ModelOutputs {
  const t = tf();
  const o: Partial<ModelOutputs> = {};
  if (towerNames(spec).includes("ctr")) {
    o.ctrLogit = a;
    o.pCtr = t.sigmoid(a);
  }
  if (towerNames(spec).includes("cvr")) {
    o.cvrLogit = b;
    o.pCvr = t.sigmoid(b);
  }
  if (spec.ctcvr === "head") {
    o.ctcvrLogit = c;
    o.pCtcvr = t.sigmoid(c);
  } else {
    o.pCtcvr = t.mul(o.pCtr!, o.pCvr!) as tfjs.Tensor1D;
  }
  return o as ModelOutputs;
}

/** Loss and its gradient with respect to the logits the spec's loss uses (a = ctr, b = cvr, c = ctcvr head). */
function logitLossGrads(spec: ModelSpec, rows: Rows, norm: LossNormalization): { loss: number; ga?: Float32Array; gb?: Float32Array; gc?: Float32Array } {
  const t = tf();
  const used = logitsUsedByLoss(spec);
  const keys = (["ctrLogit", "cvrLogit", "ctcvrLogit"] as const).filter((k) => used.has(k));
  const out: { loss: number; ga?: Float32Array; gb?: Float32Array; gc?: Float32Array } = { loss: NaN };
  t.tidy(() => {
    const f32 = (x: Float64Array) => t.tensor1d(Float32Array.from(x));
    const base = { ctrLogit: f32(rows.a), cvrLogit: f32(rows.b), ctcvrLogit: f32(rows.c) };
    const labels = { click: t.tensor1d(rows.click), conversion: t.tensor1d(rows.conversion), weight: t.tensor1d(rows.weight) };
    const f = (...xs: tfjs.Tensor[]) => {
      const m = { ...base };
      keys.forEach((k, i) => (m[k] = xs[i] as tfjs.Tensor1D));
      return totalLoss(spec, fakeOutputs(spec, m.ctrLogit, m.cvrLogit, m.ctcvrLogit), labels, norm);
    };
    const { value, grads } = t.valueAndGrads(f)(keys.map((k) => base[k]));
    out.loss = value.dataSync()[0];
    keys.forEach((k, i) => {
      const g = grads[i].dataSync() as Float32Array;
      if (k === "ctrLogit") out.ga = g;
      if (k === "cvrLogit") out.gb = g;
      if (k === "ctcvrLogit") out.gc = g;
    });
  });
  return out;
}

// ------------------------------------------------------------------------------------------------
// the table

const PAPER_TABLE: Record<string, { sharedParameters: boolean; entireSpace: boolean; weightedCvr: boolean }> = {
  IP: { sharedParameters: false, entireSpace: false, weightedCvr: false },
  ESMM: { sharedParameters: true, entireSpace: true, weightedCvr: true },
  "ESMM-NS": { sharedParameters: false, entireSpace: true, weightedCvr: true },
  "ESSP-Split": { sharedParameters: true, entireSpace: true, weightedCvr: false },
  IPSP: { sharedParameters: true, entireSpace: false, weightedCvr: false },
  ESP: { sharedParameters: false, entireSpace: true, weightedCvr: false },
};

test("the paper's six models, built, reproduce the paper's ablation table (and none has experts, counterfactual correction or transfer)", () => {
  assert.deepEqual(
    PAPER_SPECS.map((s) => s.name),
    Object.keys(PAPER_TABLE),
  );
  for (const spec of PAPER_SPECS) {
    assert.deepEqual(characteristics(spec), { ...PAPER_TABLE[spec.name], experts: false, counterfactualCorrection: false, transfer: false }, spec.name);
  }
  assert.deepEqual(outputsOf(getModelSpec("ESP")), ["ctcvr"]);
  assert.deepEqual(outputsOf(getModelSpec("esmm")), ["ctr", "cvr", "ctcvr"]);
  assert.throws(() => getModelSpec("MMoE-X"), /unknown model "MMoE-X"; known models: IP, ESMM/);
  // ESMM (and ESMM-NS) put no loss term on pCVR itself.
  for (const name of ["ESMM", "ESMM-NS"]) assert.ok(ceTerms(getModelSpec(name)).every((t) => t.output !== "cvr"), name);
});

test("invalid specs are rejected with the spec's name", () => {
  const esmm = getModelSpec("ESMM");
  assert.throws(() => buildModel({ ...esmm, name: "bad", towers: [{ name: "ctr" }] }, DIMS), /model spec "bad": ctcvr "product" needs ctr and cvr towers/);
  assert.throws(
    () => buildModel({ ...esmm, name: "bad2", losses: [{ kind: "ce", output: "cvr", label: "conversion", space: "clicks", weight: 1 }] }, DIMS),
    /model spec "bad2": tower "ctr" receives no loss term/,
  );
});

// ------------------------------------------------------------------------------------------------
// per-model wiring (one body, six models)

for (const spec of PAPER_SPECS) {
  // Built when a test runs (characteristics measure a built model: the backend must be up).
  let cached: ReturnType<typeof characteristics> | undefined;
  const chOf = () => (cached ??= characteristics(spec));

  test(`${spec.name}: outputs, pCTCVR, and which variables each output depends on`, () => {
    const t = tf();
    const before = t.memory().numTensors;
    const model = buildModel(spec, DIMS, { seed: 3 });
    const batch = allRows(randomSplit(64, 11));
    try {
      // Outputs present exactly as the spec says; pCTCVR always.
      t.tidy(() => {
        const o = model.forward(inputTensors(batch), false);
        assert.equal(o.ctrLogit !== undefined, towerNames(spec).includes("ctr"));
        assert.equal(o.cvrLogit !== undefined, towerNames(spec).includes("cvr"));
        assert.equal(o.ctcvrLogit !== undefined, spec.ctcvr === "head");
        assert.equal(o.pCtr !== undefined, towerNames(spec).includes("ctr"));
        assert.equal(o.pCvr !== undefined, towerNames(spec).includes("cvr"));
        assert.deepEqual(o.pCtcvr.shape, [64]);
        const p = o.pCtcvr.dataSync();
        if (spec.ctcvr === "product") {
          const a = o.pCtr!.dataSync();
          const b = o.pCvr!.dataSync();
          for (let i = 0; i < p.length; i++) assert.equal(p[i], Math.fround(a[i] * b[i]), `row ${i}: pCTCVR != pCTR * pCVR`);
        } else {
          const c = t.sigmoid(o.ctcvrLogit!).dataSync();
          assert.deepEqual(p, c);
        }
        if (spec.name === "ESP") assert.deepEqual(Object.keys(o).sort(), ["ctcvrLogit", "pCtcvr"]);
      });

      // Dependencies found from the gradient graph = the declared ones.
      const deps = new Map<TaskOutput, Set<string>>();
      for (const head of towerNames(spec)) {
        const found = connectedVariables(model, batch, (o) => o[LOGIT_OF[head]] as tfjs.Tensor1D);
        assert.deepEqual([...found].sort(), model.taskVariables(head).sort(), `${head} dependencies`);
        deps.set(head, found);
      }
      const pctcvrDeps = connectedVariables(model, batch, (o) => o.pCtcvr);
      assert.deepEqual([...pctcvrDeps].sort(), model.taskVariables("ctcvr").sort());

      const trunk = [...model.variables.values()].filter((i) => i.owner === "trunk").map((i) => i.name).sort();
      if (spec.towers.length === 2) {
        const [h1, h2] = towerNames(spec);
        const shared = [...deps.get(h1)!].filter((n) => deps.get(h2)!.has(n)).sort();
        if (spec.trunk.kind === "sharedBottom") {
          // Exactly the trunk: every embedding table and the shared layers, nothing else.
          assert.deepEqual(shared, trunk);
          const sharedInfos = shared.map((n) => model.variables.get(n)!);
          assert.deepEqual(sharedInfos.filter((i) => i.role === "embedding").map((i) => i.name), ["trunk/emb"], "one stacked table of every field");
          assert.equal(sharedInfos.filter((i) => i.role === "dense").length, 2 * DEFAULT_ARCHITECTURE.sharedLayers.length);
        } else {
          assert.deepEqual(shared, [], `${spec.name} shares variables ${shared.join(", ")}`);
          // Not just different names: different tfjs variables (ids).
          const ids = (h: TaskOutput) => new Set([...deps.get(h)!].map((n) => model.variables.get(n)!.variable.id));
          const id2 = ids(h2);
          assert.ok([...ids(h1)].every((id) => !id2.has(id)));
        }
      }
      assert.equal(chOf().sharedParameters, trunk.length > 0 && spec.towers.length > 1);
    } finally {
      model.dispose();
    }
    assert.equal(t.memory().numTensors, before, "tensors leaked");
  });

  test(`${spec.name}: loss ignores conversion labels of non-clicked rows (identical gradients for every variable)`, () => {
    const model = buildModel(spec, DIMS, { seed: 5 });
    try {
      const split = randomSplit(96, 21);
      const batch = allRows(split);
      const flipped = { ...batch, conversion: batch.conversion.slice() };
      let flips = 0;
      for (let i = 0; i < batch.size; i++) {
        if (!batch.click[i]) {
          flipped.conversion[i] = 1 - flipped.conversion[i];
          flips++;
        }
      }
      assert.ok(flips > 20);
      // And a control: flipping the conversion of one clicked row must change the gradients.
      const control = { ...batch, conversion: batch.conversion.slice() };
      const clicked = batch.click.findIndex((c) => c === 1);
      control.conversion[clicked] = 1 - control.conversion[clicked];
      for (const norm of LOSS_NORMALIZATIONS) {
        const g0 = lossAndGrads(model, batch, norm);
        const g1 = lossAndGrads(model, flipped, norm);
        const g2 = lossAndGrads(model, control, norm);
        assert.equal(g1.loss, g0.loss, norm);
        assert.deepEqual([...g1.grads.keys()].sort(), [...model.variables.keys()].sort());
        for (const [name, g] of g0.grads) assert.ok(sameArrays(g, g1.grads.get(name)!), `${norm}: gradient of ${name} changed`);
        assert.notEqual(g2.loss, g0.loss);
        assert.ok([...g0.grads].some(([name, g]) => !sameArrays(g, g2.grads.get(name)!)));
      }
    } finally {
      model.dispose();
    }
  });

  test(`${spec.name}: the loss reads logits only, and the CVR logit only as the spec says`, () => {
    const t = tf();
    // 1. The loss never reads a probability output (pCVR computed but unused by every loss): record reads.
    const read = new Set<string>();
    t.tidy(() => {
      const n = 8;
      const z = t.zeros([n]) as tfjs.Tensor1D;
      const real = fakeOutputs(spec, z, z, z);
      const spy = new Proxy(real, {
        get(target, key, receiver) {
          if (typeof key === "string") read.add(key);
          return Reflect.get(target, key, receiver);
        },
      });
      const labels = { click: t.ones([n]) as tfjs.Tensor1D, conversion: t.zeros([n]) as tfjs.Tensor1D, weight: t.ones([n]) as tfjs.Tensor1D };
      totalLoss(spec, spy, labels, "batch-weight");
    });
    assert.deepEqual([...read].sort(), [...logitsUsedByLoss(spec)].sort());

    if (spec.ctcvr !== "product") return;
    // 2. For product models: does the CVR logit reach the loss only through pCTCVR = pCTR * pCVR?
    // If so, dL/d(cvrLogit) = dL/d(log pCTCVR) * (1 - pCVR), and log pCTCVR is symmetric in the two logits:
    // swapping (ctrLogit, cvrLogit) -> (cvrLogit, ctrLogit) keeps pCTCVR, so the ratio gCVR / (1 - pCVR)
    // must be unchanged (the CTR term does not involve the CVR logit). A direct CVR term breaks this.
    const r = rng(99);
    const n = 64;
    const rows: Rows = {
      a: Float64Array.from({ length: n }, () => r() * 6 - 4),
      b: Float64Array.from({ length: n }, () => r() * 6 - 3),
      c: new Float64Array(n),
      click: new Float32Array(n),
      conversion: new Float32Array(n),
      weight: new Float32Array(n),
    };
    for (let i = 0; i < n; i++) {
      rows.click[i] = r() < 0.5 ? 1 : 0;
      rows.conversion[i] = rows.click[i] && r() < 0.5 ? 1 : 0;
      rows.weight[i] = rows.click[i] ? 1 : 3;
    }
    const swapped: Rows = { ...rows, a: rows.b, b: rows.a };
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const g = logitLossGrads(spec, rows, "batch-weight").gb!;
    const gs = logitLossGrads(spec, swapped, "batch-weight").gb!;
    let maxDiff = 0;
    let scale = 0;
    let nonClickedGrad = 0;
    for (let i = 0; i < n; i++) {
      const r1 = g[i] / (1 - sig(rows.b[i]));
      const r2 = gs[i] / (1 - sig(rows.a[i]));
      maxDiff = Math.max(maxDiff, Math.abs(r1 - r2));
      scale = Math.max(scale, Math.abs(r1));
      if (!rows.click[i]) nonClickedGrad = Math.max(nonClickedGrad, Math.abs(g[i]));
    }
    if (chOf().weightedCvr) {
      assert.ok(maxDiff <= 1e-4 * scale, `${spec.name}: CVR gradient is not a function of pCTCVR (max diff ${maxDiff}, scale ${scale})`);
      assert.ok(nonClickedGrad > 0, "entire space: non-clicked rows train the CVR tower through pCTCVR");
    } else {
      assert.ok(maxDiff > 1e-2 * scale, `${spec.name}: expected a direct CVR term`);
      assert.equal(nonClickedGrad, 0, "CVR on clicks: non-clicked rows give the CVR logit no gradient");
    }
  });

  test(`${spec.name}: finite loss and gradients for logits from -40 to 120, equal to a float64 reference`, () => {
    const grid = [-40, -15, -3, 0, 2, 10, 40, 120];
    const rows: Rows = { a: new Float64Array(0), b: new Float64Array(0), c: new Float64Array(0), click: new Float32Array(0), conversion: new Float32Array(0), weight: new Float32Array(0) };
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    const click: number[] = [];
    const conv: number[] = [];
    const w: number[] = [];
    let k = 0;
    for (const x of grid)
      for (const y of grid)
        for (const z of grid) {
          const label = k % 3; // 0: no click, 1: click, 2: click + conversion
          a.push(x);
          b.push(y);
          c.push(z);
          click.push(label > 0 ? 1 : 0);
          conv.push(label === 2 ? 1 : 0);
          w.push(label === 0 && k % 2 ? 10 : 1);
          k++;
        }
    Object.assign(rows, {
      a: Float64Array.from(a),
      b: Float64Array.from(b),
      c: Float64Array.from(c),
      click: Float32Array.from(click),
      conversion: Float32Array.from(conv),
      weight: Float32Array.from(w),
    });
    const n = a.length;
    for (const norm of LOSS_NORMALIZATIONS) {
      const got = logitLossGrads(spec, rows, norm);
      const want = refLoss(spec, rows, norm);
      assert.ok(Number.isFinite(got.loss), `${norm}: loss ${got.loss}`);
      assert.ok(Math.abs(got.loss - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${norm}: loss ${got.loss}, float64 reference ${want}`);
      // Gradients: finite, and equal to central differences of the float64 reference, row by row.
      const h = 1e-4;
      for (const [key, g] of [["a", got.ga], ["b", got.gb], ["c", got.gc]] as const) {
        if (!g) continue;
        let maxErr = 0;
        let maxRef = 0;
        for (let i = 0; i < n; i++) {
          assert.ok(Number.isFinite(g[i]), `${norm}: d/d${key}[${i}] = ${g[i]}`);
          const arr = rows[key];
          const x0 = arr[i];
          arr[i] = x0 + h;
          const up = refLoss(spec, rows, norm);
          arr[i] = x0 - h;
          const down = refLoss(spec, rows, norm);
          arr[i] = x0;
          const ref = (up - down) / (2 * h);
          maxErr = Math.max(maxErr, Math.abs(g[i] - ref) - 1e-3 * Math.abs(ref));
          maxRef = Math.max(maxRef, Math.abs(ref));
        }
        assert.ok(maxRef > 0);
        assert.ok(maxErr <= 1e-4 * maxRef, `${norm}: gradient wrt ${key} off by ${maxErr} (scale ${maxRef})`);
      }
    }
  });

  test(`${spec.name}: loss normalisations (own-rows = batch-weight iff every term is over impressions)`, () => {
    const model = buildModel(spec, DIMS, { seed: 8 });
    try {
      const batch = allRows(randomSplit(128, 31));
      const v = Object.fromEntries(LOSS_NORMALIZATIONS.map((nm) => [nm, lossAndGrads(model, batch, nm).loss])) as Record<LossNormalization, number>;
      let totalWeight = 0;
      for (const x of batch.weight) totalWeight += x;
      // batch-rows = batch-weight * totalWeight / rows, for every model.
      assert.ok(Math.abs(v["batch-rows"] - (v["batch-weight"] * totalWeight) / batch.size) <= 1e-5 * v["batch-rows"]);
      if (chOf().entireSpace) assert.equal(v["own-rows"], v["batch-weight"]);
      else assert.ok(v["own-rows"] > v["batch-weight"] * 1.05, "CVR-on-clicks term divided by the clicked rows' weight only");
      // Per-term values are exposed for reports.
      tf().tidy(() => {
        const o = model.forward(inputTensors(batch), false);
        const terms = lossTerms(spec, o, labelTensors(batch), "own-rows");
        assert.deepEqual(terms.map((x) => (x.term as CrossEntropyTerm).output), ceTerms(spec).map((x) => x.output));
        for (const x of terms) assert.ok(x.value.dataSync()[0] > 0);
      });
    } finally {
      model.dispose();
    }
  });
}

// ------------------------------------------------------------------------------------------------
// parameters and initialisation

test("parameter counts: default architecture, 8 fields of vocabulary 1000, 2 numeric fields", () => {
  const dims = { categoricalFields: Array.from({ length: 8 }, (_, i) => `f${i}`), vocabularySizes: Array(8).fill(1000), numericFields: ["n0", "n1"] };
  const input = 8 * 8 + 2;
  const dense = (sizes: number[]) => sizes.slice(1).reduce((s, u, i) => s + sizes[i] * u + u, 0);
  const trunk = dense([input, 128, 64]);
  const head = dense([64, 32, 16, 1]);
  const tower = dense([input, 128, 64, 32, 16, 1]);
  const emb = 8 * 1000 * 8;
  assert.equal(trunk + head, tower);
  const expected: Record<string, { total: number; embeddings: number; shared: number; heads: number }> = {
    IP: { total: 2 * (emb + tower), embeddings: 2 * emb, shared: 0, heads: 2 * tower },
    ESMM: { total: emb + trunk + 2 * head, embeddings: emb, shared: trunk, heads: 2 * head },
    "ESMM-NS": { total: 2 * (emb + tower), embeddings: 2 * emb, shared: 0, heads: 2 * tower },
    "ESSP-Split": { total: emb + trunk + 2 * head, embeddings: emb, shared: trunk, heads: 2 * head },
    IPSP: { total: emb + trunk + 2 * head, embeddings: emb, shared: trunk, heads: 2 * head },
    ESP: { total: emb + tower, embeddings: emb, shared: 0, heads: tower },
  };
  const t = tf();
  const before = t.memory().numTensors;
  for (const spec of PAPER_SPECS) {
    const model = buildModel(spec, dims);
    const p = model.parameterCount();
    model.dispose();
    assert.deepEqual({ total: p.total, embeddings: p.embeddings, shared: p.shared, heads: p.heads }, expected[spec.name], spec.name);
    assert.equal(p.mlp, p.shared + p.heads);
    assert.equal(p.nonTrainable, 0);
    // Comparable by construction: every task's path from inputs to its own logit has the same parameters.
    for (const head of towerNames(spec)) {
      assert.equal(p.perTaskMlp[head], tower, `${spec.name} ${head}`);
      assert.equal(p.perTask[head], emb + tower, `${spec.name} ${head}`);
    }
  }
  assert.equal(expected.ESMM.total, 86082);
  assert.equal(expected.IP.total, 166914);
  assert.equal(expected.ESP.total, 83457);
  assert.equal(t.memory().numTensors, before);
});

test("batch norm adds gamma/beta per hidden layer and moving statistics; counts stay comparable", () => {
  const bn = buildModel(getModelSpec("ESMM"), DIMS, { architecture: { batchNorm: true } });
  const bnSep = buildModel(getModelSpec("ESMM-NS"), DIMS, { architecture: { batchNorm: true } });
  try {
    const p = bn.parameterCount();
    const q = bnSep.parameterCount();
    assert.equal(p.perTaskMlp.ctr, q.perTaskMlp.ctr);
    assert.equal(p.nonTrainable, 2 * (128 + 64) + 2 * 2 * (32 + 16));
    const batch = allRows(randomSplit(32, 4));
    const g = lossAndGrads(bn, batch, "batch-weight");
    assert.ok(Number.isFinite(g.loss));
    assert.ok(g.grads.has("trunk/mlp/0/bn/gamma"));
  } finally {
    bn.dispose();
    bnSep.dispose();
  }
});

test("initialisation: seeded, embeddings uniform in +-0.05, zero biases, towers start from different draws", () => {
  const spec = getModelSpec("IP");
  const m1 = buildModel(spec, DIMS, { seed: 42 });
  const m2 = buildModel(spec, DIMS, { seed: 42 });
  const m3 = buildModel(spec, DIMS, { seed: 43 });
  try {
    const value = (m: MultiTaskModel, name: string) => m.variables.get(name)!.variable.dataSync() as Float32Array;
    // One stacked table per embedding block: field f's rows start at the sum of the earlier vocabularies.
    const field = (m: MultiTaskModel, block: string, f: number) => {
      const start = DIMS.vocabularySizes.slice(0, f).reduce((a, b) => a + b, 0) * 8;
      return value(m, block).slice(start, start + DIMS.vocabularySizes[f] * 8);
    };
    assert.deepEqual([...m1.variables.values()].filter((i) => i.role === "embedding").map((i) => [i.name, i.variable.shape]), [
      ["ctr/emb", [5 + 6 + 7, 8]],
      ["cvr/emb", [5 + 6 + 7, 8]],
    ]);
    for (const name of m1.variables.keys()) assert.ok(sameArrays(value(m1, name), value(m2, name)), name);
    assert.ok(!sameArrays(field(m1, "ctr/emb", 0), field(m3, "ctr/emb", 0)));
    assert.ok(!sameArrays(field(m1, "ctr/emb", 0), field(m1, "cvr/emb", 0)));
    // Every field of a block has its own draw (not one draw cut in pieces that repeat).
    assert.ok(!sameArrays(field(m1, "ctr/emb", 0).slice(0, 40), field(m1, "ctr/emb", 1).slice(0, 40)));
    assert.ok(!sameArrays(value(m1, "ctr/mlp/0/kernel"), value(m1, "cvr/mlp/0/kernel")));
    const emb = field(m1, "ctr/emb", 1);
    assert.ok(emb.every((x) => Math.abs(x) <= 0.05) && emb.some((x) => Math.abs(x) > 0.03));
    assert.ok(value(m1, "ctr/mlp/1/bias").every((x) => x === 0));
    const k = value(m1, "ctr/mlp/0/kernel");
    const limit = Math.sqrt(6 / (3 * 8 + 2 + 128));
    assert.ok(k.every((x) => Math.abs(x) <= limit) && k.some((x) => Math.abs(x) > 0.8 * limit));
  } finally {
    m1.dispose();
    m2.dispose();
    m3.dispose();
  }
});

test("dense layer: hand-written gradient equals tfjs autodiff of matMul + bias + relu", () => {
  const t = tf();
  const r = rng(5);
  const rand = (shape: number[]) => t.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), shape);
  t.tidy(() => {
    const x = rand([33, 7]) as tfjs.Tensor2D;
    const w = rand([7, 5]) as tfjs.Tensor2D;
    const b = rand([5]) as tfjs.Tensor1D;
    const dy = rand([33, 5]) as tfjs.Tensor2D;
    for (const relu of [true, false]) {
      for (const withBias of [true, false]) {
        const ref = (xi: tfjs.Tensor, wi: tfjs.Tensor, bi: tfjs.Tensor) => {
          let z = t.matMul(xi as tfjs.Tensor2D, wi as tfjs.Tensor2D);
          if (withBias) z = t.add(z, bi);
          return t.sum(t.mul(relu ? t.relu(z) : z, dy));
        };
        const mine = (xi: tfjs.Tensor, wi: tfjs.Tensor, bi: tfjs.Tensor) =>
          t.sum(t.mul(dense(t.mul(xi, 1) as tfjs.Tensor2D, wi as tfjs.Tensor2D, withBias ? (bi as tfjs.Tensor1D) : undefined, relu), dy));
        const g1 = t.grads(ref)([x, w, b].slice(0, withBias ? 3 : 2));
        const g2 = t.grads(mine)([x, w, b].slice(0, withBias ? 3 : 2));
        g1.forEach((g, i) => {
          const a = g.dataSync();
          const c = g2[i].dataSync();
          for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - c[k]) <= 1e-5 * (1 + Math.abs(a[k])), `relu=${relu} bias=${withBias} input ${i}`);
        });
      }
    }
  });
});
