/**
 * lib/metrics/argsort: the radix argsort against the definition it replaces, a comparison sort of the row
 * indices by value (ties by index, i.e. a stable sort; -0 equals +0 as in JavaScript), on seeded values with
 * ties, negatives, zeros of both signs and extremes; a subset of rows; NaN refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../lib/data/random";
import { argsortAscending } from "../lib/metrics/argsort";

function reference(values: ArrayLike<number>, rows: number[]): number[] {
  return [...rows].sort((a, b) => values[a] - values[b] || a - b);
}

test("argsortAscending equals a stable comparison sort of the indices", () => {
  const rng = new Rng(17);
  const pool = [0, -0, 1, -1, 1e-300, -1e-300, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity, 0.5, 0.25];
  for (const n of [0, 1, 2, 7, 1000, 50_000]) {
    const values = Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? pool[rng.int(pool.length)] : i % 3 === 0 ? Math.fround(rng.uniform() * 0.01) : rng.normal()));
    const all = Array.from({ length: n }, (_, i) => i);
    assert.deepEqual(Array.from(argsortAscending(values)), reference(values, all), `n = ${n}`);
    const subset = all.filter(() => rng.uniform() < 0.3);
    assert.deepEqual(Array.from(argsortAscending(values, Uint32Array.from(subset))), reference(values, subset), `subset of ${n}`);
  }
  // Plain arrays work too.
  assert.deepEqual(Array.from(argsortAscending([0.3, 0.1, 0.2])), [1, 2, 0]);
  assert.throws(() => argsortAscending([0.1, NaN]), /value 1 is NaN/);
});
