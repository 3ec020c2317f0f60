/**
 * Mini-batches of an EncodedSplit: row selection in plain typed arrays, then tensors.
 */
import type { EncodedSplit } from "../data/encoded";
import { tf } from "../backend";
import type { LabelTensors, ModelInputs } from "../models";
import { RandomGenerator, shuffledIndices } from "./random";

/** The rows of one batch, field-major for the categorical columns (one array per field). */
export interface BatchArrays {
  size: number;
  categorical: Int32Array[];
  /** The same indices row-major (size x fields), when the batch was cut from a split (one upload). */
  categoricalRows?: Int32Array;
  /** size x numericFields, row-major. */
  numeric: Float32Array;
  numericCount: number;
  click: Float32Array;
  conversion: Float32Array;
  weight: Float32Array;
}

/** Rows `rows` of `split` (any order). */
export function gatherRows(split: EncodedSplit, rows: ArrayLike<number>): BatchArrays {
  const n = rows.length;
  const nf = split.categoricalFields.length;
  const nn = split.numericFields.length;
  const categorical = Array.from({ length: nf }, () => new Int32Array(n));
  const categoricalRows = new Int32Array(n * nf);
  const numeric = new Float32Array(n * nn);
  const click = new Float32Array(n);
  const conversion = new Float32Array(n);
  const weight = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const cBase = r * nf;
    for (let f = 0; f < nf; f++) {
      const v = split.categorical[cBase + f];
      categorical[f][i] = v;
      categoricalRows[i * nf + f] = v;
    }
    const nBase = r * nn;
    for (let f = 0; f < nn; f++) numeric[i * nn + f] = split.numeric[nBase + f];
    click[i] = split.click[r];
    conversion[i] = split.conversion[r];
    weight[i] = split.weight[r];
  }
  return { size: n, categorical, categoricalRows, numeric, numericCount: nn, click, conversion, weight };
}

/** Contiguous rows [start, end) of `split`. */
export function sliceRows(split: EncodedSplit, start: number, end: number): BatchArrays {
  const n = end - start;
  const nf = split.categoricalFields.length;
  const nn = split.numericFields.length;
  const categorical = Array.from({ length: nf }, () => new Int32Array(n));
  for (let i = 0; i < n; i++) {
    const cBase = (start + i) * nf;
    for (let f = 0; f < nf; f++) categorical[f][i] = split.categorical[cBase + f];
  }
  return {
    size: n,
    categorical,
    categoricalRows: split.categorical.subarray(start * nf, end * nf),
    numeric: split.numeric.slice(start * nn, end * nn),
    numericCount: nn,
    click: split.click.slice(start, end),
    conversion: split.conversion.slice(start, end),
    weight: split.weight.slice(start, end),
  };
}

/** Model inputs of a batch (call inside tf.tidy). */
export function inputTensors(b: BatchArrays): ModelInputs {
  const t = tf();
  const nf = b.categorical.length;
  let rows = b.categoricalRows;
  if (!rows || rows.length !== b.size * nf) {
    rows = new Int32Array(b.size * nf);
    for (let f = 0; f < nf; f++) for (let i = 0; i < b.size; i++) rows[i * nf + f] = b.categorical[f][i];
  }
  return {
    categoricalMatrix: t.tensor2d(rows, [b.size, nf], "int32"),
    numeric: b.numericCount > 0 ? t.tensor2d(b.numeric, [b.size, b.numericCount], "float32") : undefined,
  };
}

/** Label tensors of a batch (call inside tf.tidy). */
export function labelTensors(b: BatchArrays): LabelTensors {
  const t = tf();
  return {
    click: t.tensor1d(b.click, "float32"),
    conversion: t.tensor1d(b.conversion, "float32"),
    weight: t.tensor1d(b.weight, "float32"),
  };
}

/** Number of batches of `batchSize` rows over `n` rows (the last one may be smaller). */
export function batchCount(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

/** One epoch's batches: a seeded permutation of the rows cut into consecutive slices. */
export function* shuffledBatches(split: EncodedSplit, batchSize: number, rng: RandomGenerator): Generator<BatchArrays> {
  const order = shuffledIndices(split.size, rng);
  for (let start = 0; start < split.size; start += batchSize) {
    yield gatherRows(split, order.subarray(start, Math.min(start + batchSize, split.size)));
  }
}

/** Throws naming the split when it does not fit `dims`-shaped models. */
export function checkSplit(split: EncodedSplit, expected: { categoricalFields: string[]; vocabularySizes: number[]; numericFields: string[] }, modelName: string): void {
  const same = (a: unknown[], b: unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(split.categoricalFields, expected.categoricalFields) || !same(split.numericFields, expected.numericFields)) {
    throw new Error(
      `split "${split.name}" has fields [${split.categoricalFields.join(", ")}] + [${split.numericFields.join(", ")}], ` +
        `model "${modelName}" expects [${expected.categoricalFields.join(", ")}] + [${expected.numericFields.join(", ")}]`,
    );
  }
  split.vocabularySizes.forEach((v, f) => {
    if (v > expected.vocabularySizes[f]) {
      throw new Error(`split "${split.name}": field "${split.categoricalFields[f]}" has vocabulary ${v}, model "${modelName}" has ${expected.vocabularySizes[f]} rows`);
    }
  });
  const nf = split.categoricalFields.length;
  const nn = split.numericFields.length;
  const lengths: [string, number, number][] = [
    ["categorical", split.categorical.length, split.size * nf],
    ["numeric", split.numeric.length, split.size * nn],
    ["click", split.click.length, split.size],
    ["conversion", split.conversion.length, split.size],
    ["weight", split.weight.length, split.size],
  ];
  for (const [name, got, want] of lengths) {
    if (got !== want) throw new Error(`split "${split.name}": ${name} has ${got} values, expected ${want} (size ${split.size})`);
  }
  for (let i = 0; i < split.categorical.length; i++) {
    const v = split.categorical[i];
    const f = i % nf;
    if (v < 0 || v >= expected.vocabularySizes[f]) {
      throw new Error(
        `split "${split.name}" row ${Math.floor(i / nf)}: field "${split.categoricalFields[f]}" has index ${v}, ` +
          `outside [0, ${expected.vocabularySizes[f]}) of model "${modelName}"`,
      );
    }
  }
}

/**
 * One batch of a seed group: seed s's rows `orders[s][start, end)` (each seed its own permutation), seed-major.
 * Categorical indices [S * size * fields] (row-major within a seed), numeric [S * size * numericFields],
 * labels and weights [S * size]. Same rows and order per seed as `gatherRows` of that seed's slice.
 */
export interface SeedBatchArrays {
  seeds: number;
  /** Rows per seed. */
  size: number;
  fields: number;
  numericCount: number;
  categoricalRows: Int32Array;
  numeric: Float32Array;
  click: Float32Array;
  conversion: Float32Array;
  weight: Float32Array;
}

/** Rows [start, end) of each seed's permutation `orders[s]` of `split` (see SeedBatchArrays). */
export function gatherSeedRows(split: EncodedSplit, orders: Int32Array[], start: number, end: number): SeedBatchArrays {
  const S = orders.length;
  const n = end - start;
  const nf = split.categoricalFields.length;
  const nn = split.numericFields.length;
  const categoricalRows = new Int32Array(S * n * nf);
  const numeric = new Float32Array(S * n * nn);
  const click = new Float32Array(S * n);
  const conversion = new Float32Array(S * n);
  const weight = new Float32Array(S * n);
  for (let s = 0; s < S; s++) {
    const order = orders[s];
    for (let i = 0; i < n; i++) {
      const r = order[start + i];
      const out = s * n + i;
      for (let f = 0; f < nf; f++) categoricalRows[out * nf + f] = split.categorical[r * nf + f];
      for (let f = 0; f < nn; f++) numeric[out * nn + f] = split.numeric[r * nn + f];
      click[out] = split.click[r];
      conversion[out] = split.conversion[r];
      weight[out] = split.weight[r];
    }
  }
  return { seeds: S, size: n, fields: nf, numericCount: nn, categoricalRows, numeric, click, conversion, weight };
}

/** A seed group's batch as tensors: inputs [S, size, fields] (+ [S, size, numeric]), labels [S, size] (call inside tf.tidy). */
export function seedBatchTensors(b: SeedBatchArrays): { inputs: ModelInputs; labels: LabelTensors } {
  const t = tf();
  const shape: [number, number] = [b.seeds, b.size];
  return {
    inputs: {
      categoricalMatrix: t.tensor3d(b.categoricalRows, [b.seeds, b.size, b.fields], "int32"),
      numeric: b.numericCount > 0 ? t.tensor3d(b.numeric, [b.seeds, b.size, b.numericCount], "float32") : undefined,
    },
    labels: {
      click: t.tensor2d(b.click, shape, "float32") as unknown as LabelTensors["click"],
      conversion: t.tensor2d(b.conversion, shape, "float32") as unknown as LabelTensors["conversion"],
      weight: t.tensor2d(b.weight, shape, "float32") as unknown as LabelTensors["weight"],
    },
  };
}
