/**
 * Seed groups of a study (lib/study/seed-groups.ts): which runs a worker trains together, dealt whole to
 * shards, grown to whole groups when a part of a study is run (notebook 02), retrained whole when a study
 * resumes. On the native backend a seed's last float32 bits depend on its group, so these rules are what
 * makes a study's records the same however it is run; the resume test checks that bit for bit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./helpers";
import { expandGrid, StudySpec } from "../lib/study/spec";
import { seedGroups, seedGroupSize, DEFAULT_SEED_GROUP_SIZE } from "../lib/study/seed-groups";
import { shardOf } from "../lib/study/shard";
import { runStudy, RunStudyOptions } from "../lib/study/runner";
import { readResults } from "../lib/study/results";

process.env.ESMM_WORKER_THREADS = "1";
const DATA_ROOT = tempDir("esmm-groups-data-");
const STUDY: StudySpec = {
  name: "groups",
  models: ["ESMM", "IP"],
  seeds: [1, 2, 3],
  data: { simulator: { impressions: 30_000, days: 6, users: 200, ads: 40 }, simulatorSeed: 3, negativeKeepRate: 0.1, laterDays: 2, prepareSeed: 3 },
  train: { maxEpochs: 1, batchSize: 256 },
};
const quiet = (results: string, extra: Partial<RunStudyOptions> = {}): RunStudyOptions => ({ results, workers: 2, dataRoot: DATA_ROOT, progress: false, log: () => {}, ...extra });
const name = (r: { model: string; seed: number }) => `${r.model}/${r.seed}`;

test("seed groups: each kind of run's seeds in grid order, cut into groups of the size; shards take whole groups", () => {
  const grid = expandGrid({ ...STUDY, seeds: [1, 2, 3, 4, 5], worlds: [3, 4] });
  const { groupOf, seeds } = seedGroups(grid, 2);
  // per world and model: [1, 2], [3, 4], [5]
  assert.deepEqual(seeds, [[1, 2], [1, 2], [3, 4], [3, 4], [5], [5], [1, 2], [1, 2], [3, 4], [3, 4], [5], [5]]);
  grid.forEach((r, j) => {
    const g = groupOf[j];
    assert.ok(seeds[g].includes(r.seed));
    for (const [k, other] of grid.entries()) {
      if (groupOf[k] === g) assert.equal(JSON.stringify({ ...other, seed: 0 }), JSON.stringify({ ...r, seed: 0 }), "a group holds one kind of run");
    }
  });
  assert.deepEqual(seedGroups(grid, 1).seeds, grid.map((r) => [r.seed]));
  // Shards by group: every group in exactly one shard, shards cover the grid.
  const parts = [1, 2, 3].map((i) => shardOf(grid, { index: i, count: 3 }, groupOf).map((x) => x.index));
  assert.deepEqual(parts.flat().sort((a, b) => a - b), grid.map((_, j) => j));
  for (const part of parts) for (const j of part) assert.ok(part.includes(grid.findIndex((_, k) => groupOf[k] === groupOf[j])), "a group split across shards");
  assert.equal(seedGroupSize({}), DEFAULT_SEED_GROUP_SIZE);
  assert.equal(seedGroupSize({ ESMM_SEED_GROUP: "3" }), 3);
  assert.throws(() => seedGroupSize({ ESMM_SEED_GROUP: "0" }), /ESMM_SEED_GROUP must be a positive integer, got "0"/);
});

test("a resumed study retrains a group whole: a lost record comes back bit for bit; a part of a study run with groupsFrom writes its whole groups", async () => {
  const dir = tempDir();
  const file = path.join(dir, "groups.jsonl");
  const first = await runStudy(STUDY, quiet(file));
  assert.equal(first.done, 6);
  const text = fs.readFileSync(file, "utf8");
  const lines = text.split("\n").filter(Boolean);
  // Lose seed 2 of ESMM (as if its worker died before writing it): the resumed study trains ESMM's group again.
  const lost = lines.findIndex((l) => /"model":"ESMM"/.test(l) && /"seed":2,/.test(l));
  assert.ok(lost >= 0);
  fs.writeFileSync(file, lines.filter((_, i) => i !== lost).map((l) => l + "\n").join(""));
  const resumed = await runStudy(STUDY, quiet(file));
  assert.equal(resumed.done, 1);
  assert.equal(resumed.skipped, 5);
  const before = JSON.parse(lines[lost]);
  const after = readResults(file).byKey.get(before.key)!;
  assert.deepEqual(after.test, before.test, "test metrics bit for bit");
  assert.deepEqual(after.training.epochs.map((e) => e.valLoss), before.training.epochs.map((e: { valLoss: number }) => e.valLoss));
  assert.deepEqual(after.training.seedGroup, before.training.seedGroup);

  // Seed 1 alone, as notebook 02 runs it, with the whole study's groups: every seed of the touched groups is run and written.
  const partFile = path.join(dir, "part.jsonl");
  const part = await runStudy({ ...STUDY, seeds: [1] }, quiet(partFile, { groupsFrom: STUDY }));
  const size = seedGroupSize();
  const written = readResults(partFile).records;
  assert.deepEqual(written.map(name).sort(), (size > 1 ? ["ESMM/1", "ESMM/2", "ESMM/3", "IP/1", "IP/2", "IP/3"] : ["ESMM/1", "IP/1"]).sort());
  assert.equal(part.done, written.length);
  const whole = readResults(file).byKey;
  for (const r of written) assert.deepEqual(r.test, whole.get(r.key)!.test, `${name(r)}: as in the whole study`);
  if (size > 1) await assert.rejects(runStudy({ ...STUDY, seeds: [9] }, quiet(path.join(dir, "x.jsonl"), { groupsFrom: STUDY })), /seed 9 .* is not in the study given as groupsFrom/);
});
