/**
 * Rows of a columnar log as plain objects, for looking at a few of them (notebook tables, danfojs frames):
 * a uniform sample of row indices, and the records of given rows.
 */
import { Rng, deriveSeed } from "./random";
import type { ImpressionLog } from "./schema";

/**
 * `k` distinct row indices drawn uniformly without replacement from 0 .. size - 1 (every index when
 * k >= size), in increasing order; the same (size, k, seed) give the same indices. Floyd's algorithm:
 * O(k) time and memory, whatever `size`. Throws on a negative or non-integer size or k.
 */
export function sampleIndices(size: number, k: number, seed: number): Int32Array {
  if (!Number.isInteger(size) || size < 0) throw new Error(`sampleIndices: size must be a non-negative integer, got ${size}`);
  if (!Number.isInteger(k) || k < 0) throw new Error(`sampleIndices: k must be a non-negative integer, got ${k}`);
  if (k >= size) return Int32Array.from({ length: size }, (_, i) => i);
  const rng = new Rng(deriveSeed(seed, "sample-rows"));
  const chosen = new Set<number>();
  for (let j = size - k; j < size; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from(chosen).sort();
}

/**
 * The shortest decimal that rounds to the float32 `x`: for a value written with at most 7 significant
 * digits (the simulator's numeric fields have at most 6), the number as written in the CSV file.
 */
function float32Decimal(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p <= 9; p++) {
    const v = Number(x.toPrecision(p));
    if (Math.fround(v) === x) return v;
  }
  return x;
}

/**
 * Rows `indices` of `log` as objects, one per row, keys in CSV column order: `day`, the categorical fields
 * (raw ids), the numeric fields (float32 values as the shortest decimal that rounds to them, see above),
 * `click`, `conversion` and, for simulated logs, `p_click` and `p_conversion_given_click`. Throws a
 * RangeError for an index outside 0 .. size - 1.
 */
export function logRecords(log: ImpressionLog, indices: ArrayLike<number>): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= log.size) throw new RangeError(`logRecords: row ${i} outside 0..${log.size - 1}`);
    const r: Record<string, number> = { day: log.day[i] };
    log.schema.categorical.forEach((f, c) => (r[f] = log.categorical[c][i]));
    log.schema.numeric.forEach((f, c) => (r[f] = float32Decimal(log.numeric[c][i])));
    r.click = log.click[i];
    r.conversion = log.conversion[i];
    if (log.truth) {
      r.p_click = log.truth.pClick[i];
      r.p_conversion_given_click = log.truth.pConversionGivenClick[i];
    }
    out.push(r);
  }
  return out;
}
