/**
 * Mini-batches of an EncodedSplit: row selection in plain typed arrays, then tensors.
 *
 * Training has one batch builder, for a model of S >= 1 seeds: `gatherSeedRows` (each seed's rows of its own
 * permutation) and `seedBatchTensors` (with a seed axis for a seed group, without one for a single model, the
 * S = 1 layout of its variables). `gatherRows` / `sliceRows` / `inputTensors` / `labelTensors` cut rows for one
 * forward pass shared by every seed (predictions, tests).
 */
import type { Rank } from "@tensorflow/tfjs";
import type { EncodedSplit } from "../data/encoded";
import { tf } from "../backend";
import type { LabelTensors, ModelInputs } from "../models";

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

/**
 * An epoch's batches of a seed group, gathered `chunkBatches` batches at a time: batch(from, to) returns the
 * arrays gatherSeedRows(split, orders, from, to) returns (the same values in the same order; one seed: views
 * into the chunk). Why: each row is a random place in the split, and between two steps the step's tensors push
 * the split out of the cache, so gathering one batch per step missed the cache on nearly every row (about 1 ms
 * a batch of 6 seeds x 1,024 rows inside a study worker, 0.2 ms in a loop alone); a chunk is gathered while the
 * split is still in the cache. `orders` must not change while the reader is used (one reader per epoch).
 */
export class SeedBatchReader {
  private chunk?: { start: number; end: number; arrays: SeedBatchArrays };

  constructor(
    private readonly split: EncodedSplit,
    private readonly orders: Int32Array[],
    private readonly batchSize: number,
    private readonly chunkBatches = 32,
  ) {}

  /** Rows [from, to) of each seed's order (to - from <= batchSize). Throws on a range outside [0, split.size]. */
  batch(from: number, to: number): SeedBatchArrays {
    const size = this.split.size;
    if (!(from >= 0 && from <= to && to <= size && to - from <= this.batchSize)) {
      throw new Error(`SeedBatchReader: rows [${from}, ${to}) of ${size} with batches of ${this.batchSize}`);
    }
    let chunk = this.chunk;
    if (!chunk || from < chunk.start || to > chunk.end) {
      const end = Math.min(from + this.chunkBatches * this.batchSize, size);
      chunk = this.chunk = { start: from, end, arrays: gatherSeedRows(this.split, this.orders, from, end) };
    }
    const c = chunk.arrays;
    const m = chunk.end - chunk.start;
    const a = from - chunk.start;
    const n = to - from;
    const { seeds: S, fields: nf, numericCount: nn } = c;
    if (S === 1) {
      const view = <A extends Int32Array | Float32Array>(x: A, width: number) => x.subarray(a * width, (a + n) * width) as A;
      return { seeds: 1, size: n, fields: nf, numericCount: nn, categoricalRows: view(c.categoricalRows, nf), numeric: view(c.numeric, nn), click: view(c.click, 1), conversion: view(c.conversion, 1), weight: view(c.weight, 1) };
    }
    const copy = <A extends Int32Array | Float32Array>(x: A, out: A, width: number): A => {
      for (let s = 0; s < S; s++) out.set(x.subarray((s * m + a) * width, (s * m + a + n) * width), s * n * width);
      return out;
    };
    return {
      seeds: S,
      size: n,
      fields: nf,
      numericCount: nn,
      categoricalRows: copy(c.categoricalRows, new Int32Array(S * n * nf), nf),
      numeric: copy(c.numeric, new Float32Array(S * n * nn), nn),
      click: copy(c.click, new Float32Array(S * n), 1),
      conversion: copy(c.conversion, new Float32Array(S * n), 1),
      weight: copy(c.weight, new Float32Array(S * n), 1),
    };
  }
}

/**
 * A training batch as tensors (call inside tf.tidy). `seedAxis` (default true, a seed group's layout): inputs
 * [S, size, fields] (+ [S, size, numeric]), labels [S, size]. Without it (a single model, whose variables have
 * no seed axis; `b.seeds` must be 1): inputs [size, fields] (+ [size, numeric]), labels [size], the same values.
 * Throws when `seedAxis` is false and `b.seeds` is not 1.
 */
export function seedBatchTensors(b: SeedBatchArrays, seedAxis = true): { inputs: ModelInputs; labels: LabelTensors } {
  const t = tf();
  if (!seedAxis && b.seeds !== 1) throw new Error(`seedBatchTensors: a batch of ${b.seeds} seeds needs a seed axis`);
  const lead: number[] = seedAxis ? [b.seeds] : [];
  const labels = (values: Float32Array) => t.tensor<Rank>(values, [...lead, b.size], "float32") as LabelTensors["click"];
  return {
    inputs: {
      categoricalMatrix: t.tensor<Rank>(b.categoricalRows, [...lead, b.size, b.fields], "int32") as ModelInputs["categoricalMatrix"],
      numeric: b.numericCount > 0 ? (t.tensor<Rank>(b.numeric, [...lead, b.size, b.numericCount], "float32") as ModelInputs["numeric"]) : undefined,
    },
    labels: { click: labels(b.click), conversion: labels(b.conversion), weight: labels(b.weight) },
  };
}
