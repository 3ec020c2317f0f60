/**
 * Checks shared by the tests of the model rows beyond the paper (model-families.test.ts) and of the field's
 * debiasing rows (field-models.test.ts): the float64 cross-entropy the references are written in, a loss term's
 * value and logit gradients by its tfjs definition, a tiny random encoded split, and the doubling test (every
 * declared loss term reaches the gradient, and the fast path equals the definitions).
 */
import assert from "node:assert/strict";
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../lib/backend";
import { LossNormalization, LossTerm, ModelOutputs, ModelSpec, buildModel, definedTotalLoss, getModelSpec, lossTerms, totalLoss, validateSpec } from "../lib/models";
import { gatherRows, inputTensors, labelTensors } from "../lib/train/batches";
import type { EncodedSplit } from "../lib/data/encoded";
import { rng } from "./helpers";

// ------------------------------------------------------------------------------------------------
// float64 references

export const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
export const sig = (x: number) => 1 / (1 + Math.exp(-x));
/** -[y log s(z) + (1 - y) log(1 - s(z))] for any y in [0, 1]. */
export const ce = (y: number, z: number) => y * softplus(-z) + (1 - y) * softplus(z);

/** logit(p) = log(p / (1 - p)), p in (0, 1). */
export const logit = (p: number) => Math.log(p / (1 - p));

/** Per-row logits named by K (one array each, same length) and the labels and sample weights of those rows. */
export type LogitRows<K extends string> = Record<K | "click" | "conversion" | "weight", number[]>;

/**
 * The mean a loss term takes over the rows `r` under `norm`: f -> sum_i weight_i f(i) / den, den the row count
 * for "batch-rows", the total weight otherwise (float64).
 */
export function rowMean(r: { weight: number[] }, norm: LossNormalization): (f: (i: number) => number) => number {
  const n = r.weight.length;
  const den = norm === "batch-rows" ? n : r.weight.reduce((s, w) => s + w, 0);
  return (f) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += r.weight[i] * f(i);
    return s / den;
  };
}

/**
 * n seeded random rows: per row, each logit of `spans` in its order drawn as r() * width + low (spans[key] =
 * [width, low]), then the click (40%), the conversion (40% of clicks) and the weight (1 if clicked, else 1 to 3).
 */
export function randomLogitRows<K extends string>(n: number, seed: number, spans: Record<K, [number, number]>): LogitRows<K> {
  const r = rng(seed);
  const keys = Object.keys(spans) as K[];
  const rows = { click: [], conversion: [], weight: [], ...Object.fromEntries(keys.map((key) => [key, []])) } as unknown as LogitRows<K>;
  for (let i = 0; i < n; i++) {
    for (const key of keys) rows[key].push(r() * spans[key][0] + spans[key][1]);
    const click = r() < 0.4 ? 1 : 0;
    rows.click.push(click);
    rows.conversion.push(click && r() < 0.4 ? 1 : 0);
    rows.weight.push(click ? 1 : 1 + Math.floor(r() * 3));
  }
  return rows;
}

/**
 * The IPS weight tests' four rows, by hand: pCTR 0.2, 0.001, 0.3, 0.4 (logit a), pCVR 0.1, 0.5, 0.9, 0.9
 * (logit b), the first two clicked, the first converting, weights 1, 1, 3, 5, and every logit of `zero` at 0.
 */
export function fourRowsByHand<K extends string>(zero: readonly K[]): LogitRows<"a" | "b" | K> {
  return {
    a: [logit(0.2), logit(0.001), logit(0.3), logit(0.4)],
    b: [logit(0.1), logit(0.5), logit(0.9), logit(0.9)],
    ...Object.fromEntries(zero.map((key) => [key, [0, 0, 0, 0]])),
    click: [1, 1, 0, 0],
    conversion: [1, 0, 0, 0],
    weight: [1, 1, 3, 5],
  } as LogitRows<"a" | "b" | K>;
}

/** The zoo row `model`, its first loss term of kind `kind` and that term's index in spec.losses (asserts it has one). */
export function termOf<T extends LossTerm["kind"]>(model: string, kind: T): { spec: ModelSpec; k: number; term: Extract<LossTerm, { kind: T }> } {
  const spec = getModelSpec(model);
  const k = spec.losses.findIndex((x) => x.kind === kind);
  assert.ok(k >= 0, `${model} has no ${kind} term`);
  return { spec, k, term: spec.losses[k] as Extract<LossTerm, { kind: T }> };
}

/**
 * Value of the spec's loss term `k` by its definition (tfjs, float32) on the logits `rows[key]` for each of
 * `keys`, turned into model outputs by `outputsOf`, and its gradients with respect to every logit ([rows] each;
 * a logit the term is not connected to gets zeros).
 */
export function definedTerm<K extends string>(
  spec: ModelSpec,
  k: number,
  rows: LogitRows<K>,
  norm: LossNormalization,
  keys: readonly K[],
  outputsOf: (spec: ModelSpec, z: Record<K, tfjs.Tensor1D>) => ModelOutputs,
): { value: number; grads: Record<K, Float32Array> } {
  const t = tf();
  const out = { value: NaN, grads: {} as Record<K, Float32Array> };
  t.tidy(() => {
    const xs = keys.map((key) => t.variable(t.tensor1d(rows[key])));
    const labels = { click: t.tensor1d(rows.click), conversion: t.tensor1d(rows.conversion), weight: t.tensor1d(rows.weight) };
    const z = Object.fromEntries(keys.map((key, i) => [key, xs[i]])) as unknown as Record<K, tfjs.Tensor1D>;
    const { value, grads } = t.variableGrads(() => lossTerms(spec, outputsOf(spec, z), labels, norm)[k].value, xs);
    out.value = value.dataSync()[0];
    // A logit the term is not connected to gets no gradient entry: zero.
    keys.forEach((key, i) => (out.grads[key] = grads[xs[i].name] ? (grads[xs[i].name].dataSync() as Float32Array) : new Float32Array(rows.click.length)));
    xs.forEach((x) => x.dispose());
  });
  return out;
}

// ------------------------------------------------------------------------------------------------
// built models

/** The encoded shape of randomSplit's rows: three categorical fields and one numeric. */
export const DIMS = { categoricalFields: ["user", "item", "placement"], vocabularySizes: [5, 6, 7], numericFields: ["price"] };

/** n random encoded rows of shape DIMS (40% clicked, half the clicks converting, non-clicked rows weighing 2), seeded. */
export function randomSplit(n: number, seed: number): EncodedSplit {
  const r = rng(seed);
  const nf = DIMS.categoricalFields.length;
  const categorical = new Int32Array(n * nf);
  const numeric = new Float32Array(n);
  const click = new Float32Array(n);
  const conversion = new Float32Array(n);
  const weight = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < nf; f++) categorical[i * nf + f] = Math.floor(r() * DIMS.vocabularySizes[f]);
    numeric[i] = r() * 2 - 1;
    click[i] = r() < 0.4 ? 1 : 0;
    conversion[i] = click[i] && r() < 0.5 ? 1 : 0;
    weight[i] = click[i] ? 1 : 2;
  }
  return { name: `random-${seed}`, size: n, ...DIMS, categorical, numeric, click, conversion, weight, day: new Int32Array(n) };
}

/**
 * The doubling test of the zoo row `name`, built on DIMS (seed 2) over 96 random rows: its total loss is finite
 * and positive, the fast path (totalLoss) equals the sum of the definitions (definedTotalLoss) to 1e-5 relative,
 * for the row and for each copy with one term's weight doubled, and doubling any declared term changes some
 * variable's gradient (no term silently dropped). Throws an AssertionError naming the row and term otherwise.
 */
export function checkEveryTermCounts(name: string): void {
  const t = tf();
  const spec = getModelSpec(name);
  const model = buildModel(spec, DIMS, { seed: 2 });
  const split = randomSplit(96, 9);
  const batch = gatherRows(split, Array.from({ length: split.size }, (_, i) => i));
  const byTfName = new Map([...model.variables.values()].map((i) => [i.variable.name, i.name]));
  const gradsOf = (s: ModelSpec) => {
    const out = new Map<string, Float32Array>();
    let loss = NaN;
    t.tidy(() => {
      const inputs = inputTensors(batch);
      const labels = labelTensors(batch);
      const g = t.variableGrads(() => totalLoss(s, model.forward(inputs, true), labels, "batch-weight"), model.trainableVariables());
      loss = g.value.dataSync()[0];
      for (const [n, v] of Object.entries(g.grads)) out.set(byTfName.get(n)!, v.dataSync() as Float32Array);
      const byDefinition = definedTotalLoss(s, model.forward(inputs, true), labels, "batch-weight").dataSync()[0];
      assert.ok(Math.abs(byDefinition - loss) <= 1e-5 * Math.abs(loss), `${s.name}: fast ${loss} vs definition ${byDefinition}`);
    });
    return { loss, grads: out };
  };
  try {
    const base = gradsOf(spec);
    assert.ok(Number.isFinite(base.loss) && base.loss > 0);
    spec.losses.forEach((term, k) => {
      const heavier = { ...spec, losses: spec.losses.map((x, j) => (j === k ? { ...x, weight: x.weight * 2 } : x)) } as ModelSpec;
      validateSpec(heavier);
      const g = gradsOf(heavier);
      const changed = [...base.grads].some(([n, v]) => {
        const w = g.grads.get(n)!;
        return v.some((x, i) => Math.abs(x - w[i]) > 1e-7 * (1 + Math.abs(x)));
      });
      assert.ok(changed, `${name}: doubling term ${k} (${term.kind}) changes no gradient`);
    });
  } finally {
    model.dispose();
  }
}
