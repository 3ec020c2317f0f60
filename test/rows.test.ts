/** sampleIndices (uniform, distinct, sorted, seeded) and logRecords (rows as objects in CSV column order). */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { logRecords, sampleIndices } from "../lib/data/rows";
import { SIMULATED_COLUMNS, readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { tempDir } from "./helpers";

test("sampleIndices: k distinct sorted indices, seeded, every index when k >= size, uniform", () => {
  const a = sampleIndices(1000, 100, 7);
  assert.equal(a.length, 100);
  assert.equal(new Set(a).size, 100);
  for (let i = 1; i < a.length; i++) assert.ok(a[i - 1] < a[i]);
  assert.ok(a[0] >= 0 && a[a.length - 1] < 1000);
  assert.deepEqual(sampleIndices(1000, 100, 7), a);
  assert.notDeepEqual(sampleIndices(1000, 100, 8), a);
  assert.deepEqual(Array.from(sampleIndices(5, 9, 1)), [0, 1, 2, 3, 4]);
  assert.equal(sampleIndices(0, 3, 1).length, 0);
  assert.throws(() => sampleIndices(10, -1, 1), /k must be/);
  // each of 10 indices drawn 3 at a time: about 3/10 of 20,000 draws each (s.d. 65)
  const counts = new Array(10).fill(0);
  for (let s = 0; s < 20_000; s++) for (const i of sampleIndices(10, 3, s)) counts[i]++;
  for (const c of counts) assert.ok(Math.abs(c - 6000) < 350, `counts ${counts}`);
});

test("logRecords: the rows as written in the CSV file, keys in column order", () => {
  const dir = tempDir();
  writeSimulatedLog({ impressions: 2000, days: 3, users: 60, ads: 20 }, 4, dir);
  const log = readSimulatedLog(dir, { cache: false });
  const lines = fs.readFileSync(path.join(dir, "day-00.csv"), "utf8").trim().split("\n");
  const rows = logRecords(log, [0, 1, 2, 3, 4, 5, 6, 7]);
  for (let r = 0; r < rows.length; r++) {
    assert.deepEqual(Object.keys(rows[r]), [...SIMULATED_COLUMNS]);
    assert.deepEqual(Object.values(rows[r]), lines[r + 1].split(",").map(Number), `row ${r}`);
  }
  assert.throws(() => logRecords(log, [log.size]), RangeError);
});
