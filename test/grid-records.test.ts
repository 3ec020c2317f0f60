/**
 * gridRecords (lib/study/results.ts): the notebooks' reading of their study, readResults then matchRecords, on a
 * hand-written results file: records out of grid order, a stale record beside the current one, a record of a run
 * outside the grid, a garbage line and a run without a record. recordsByDataSet (lib/study/replicate-scores.ts):
 * the grouping of a study's records by data replicate that the bootstrap's loaders and notebook 04 use.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./helpers";
import { expandGrid, StudySpec } from "../lib/study/spec";
import { gridRecords, numericsVersion } from "../lib/study/results";
import { recordsByDataSet } from "../lib/study/replicate-scores";

const SPEC: StudySpec = {
  name: "grid-records",
  models: ["ESMM", "IP"],
  seeds: [1, 2],
  data: { simulator: { impressions: 30_000, days: 6 }, simulatorSeed: 3, negativeKeepRate: 0.1, laterDays: 2, prepareSeed: 3 },
};

test("gridRecords: the grid's records in grid order, the current numerics version's over a stale one, runs without a record left out", () => {
  const grid = expandGrid(SPEC); // ESMM 1, ESMM 2, IP 1, IP 2
  const [esmm1, esmm2, ip1] = grid;
  const outside = expandGrid({ ...SPEC, seeds: [9] })[0];
  const line = (run: typeof esmm1, key: string, numerics: string, finishedAt: string) =>
    JSON.stringify({ key, model: run.model, seed: run.seed, config: run, numericsVersion: numerics, finishedAt, test: {} });
  const file = path.join(tempDir(), "results.jsonl");
  fs.writeFileSync(
    file,
    [
      line(ip1, "k-ip1", numericsVersion(), "2026-01-01"),
      line(esmm2, "k-esmm2-current", numericsVersion(), "2026-01-01"),
      "not json",
      line(esmm2, "k-esmm2-stale", "older", "2026-01-05"),
      line(outside, "k-outside", numericsVersion(), "2026-01-01"),
      line(esmm1, "k-esmm1", numericsVersion(), "2026-01-02"),
    ].join("\n") + "\n",
  );
  assert.deepEqual(gridRecords(grid, file).map((r) => r.key), ["k-esmm1", "k-esmm2-current", "k-ip1"]);
  assert.deepEqual(gridRecords(grid, path.join(path.dirname(file), "missing.jsonl")), []);
});

test("recordsByDataSet: one group per data set (world, draw and the rest of the data spec), in order of first appearance", () => {
  const [esmm1, esmm2, ip1, ip2] = expandGrid({ ...SPEC, worlds: [7, 8] }).filter((r) => r.data.simulatorSeed === 7);
  const world8 = expandGrid({ ...SPEC, worlds: [7, 8] }).filter((r) => r.data.simulatorSeed === 8);
  const bigger = expandGrid({ ...SPEC, worlds: [7], data: { ...SPEC.data, simulator: { impressions: 60_000, days: 6 } } })[0];
  const tag = (run: typeof esmm1, name: string) => ({ config: run, name });
  const records = [tag(world8[0], "a"), tag(esmm1, "b"), tag(bigger, "c"), tag(ip2, "d"), tag(world8[3], "e"), tag(esmm2, "f"), tag(ip1, "g")];
  assert.deepEqual(recordsByDataSet(records).map((g) => g.map((r) => r.name)), [["a", "e"], ["b", "d", "f", "g"], ["c"]]);
  assert.deepEqual(recordsByDataSet([]), []);
});
