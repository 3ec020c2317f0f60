/**
 * The predictions files' float32 columns (lib/study/results.ts): the block copies of encodeFloat32LE and
 * decodeFloat32LE against their definitions, Buffer's writeFloatLE and readFloatLE element by element.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { test } from "node:test";
import { Rng } from "../lib/data/random";
import { decodeFloat32LE, encodeFloat32LE, readPredictions, writePredictions } from "../lib/study/results";
import { tempDir } from "./helpers";

// Doubles that float32 rounding treats specially: ties between two floats (to even), subnormals, the smallest
// float32, overflow to Infinity, -0, and the range of predictions.
function awkwardDoubles(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const special = [0, -0, 1, 1 + 2 ** -24, 1 + 3 * 2 ** -24, 2 ** -149, 2 ** -150, 3 * 2 ** -150, 1e-40, 3.4028235677973366e38, 3.5e38, -3.5e38, Infinity, -Infinity, 0.1, 1 / 3, 1e-8, 0.999999999];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = i < special.length ? special[i] : (rng.uniform() - 0.5) * 10 ** (rng.int(30) - 20);
  return out;
}

test("encodeFloat32LE writes writeFloatLE's bytes, from float64 and float32 columns, at any offset", () => {
  for (const values of [awkwardDoubles(5000, 1), Float32Array.from(awkwardDoubles(5000, 2))]) {
    for (const offset of [0, 4, 5, 7]) {
      const reference = Buffer.alloc(offset + values.length * 4 + 3, 0xab);
      for (let i = 0; i < values.length; i++) reference.writeFloatLE(values[i], offset + i * 4);
      const fast = Buffer.alloc(offset + values.length * 4 + 3, 0xab);
      encodeFloat32LE(values, fast, offset);
      assert.ok(fast.equals(reference), `${values.constructor.name} at offset ${offset}`);
    }
  }
});

test("decodeFloat32LE reads readFloatLE's values at aligned and unaligned offsets, NaN and -0 included", () => {
  const rng = new Rng(3);
  const bytes = Buffer.alloc(4 * 4000 + 8);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256); // every bit pattern: NaNs, subnormals, infinities
  bytes.writeFloatLE(-0, 0);
  for (const offset of [0, 1, 2, 3, 4]) {
    // A view that starts at an odd address of its memory too.
    for (const view of [bytes, bytes.subarray(1)]) {
      const rows = 3990;
      const fast = decodeFloat32LE(view, offset, rows);
      assert.equal(fast.length, rows);
      for (let i = 0; i < rows; i++) {
        const expected = view.readFloatLE(offset + i * 4);
        assert.ok(Object.is(fast[i], Math.fround(expected)), `row ${i} at offset ${offset}: ${fast[i]} vs ${expected}`);
      }
    }
  }
});

test("writePredictions then readPredictions gives every column back, float32-rounded", () => {
  const dir = path.join(tempDir("esmm-preds-"), "p");
  const pCtcvr = awkwardDoubles(1001, 4).map((x) => Math.abs(x) % 1);
  const pCtr = Float64Array.from(pCtcvr, (x) => Math.min(1, x * 3));
  writePredictions(dir, { key: "k", split: "test", days: [12], dataKey: "d", manifestSha256: "0".repeat(64) }, { pCtcvr, pCtr });
  const back = readPredictions(dir, "k");
  assert.deepEqual(back.header.columns, ["pCtcvr", "pCtr"]);
  assert.deepEqual([...back.pCtcvr], [...Float32Array.from(pCtcvr)]);
  assert.deepEqual([...back.pCtr!], [...Float32Array.from(pCtr)]);
  assert.equal(back.pCvr, undefined);
});
