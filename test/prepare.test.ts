/** Preparation: unbiased downsampling weights, past-vs-future splits, vocabularies fitted on training days only, the files. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { allocateLog, ImpressionLog } from "../lib/data/schema";
import { checkSplitPlan, defaultSplitPlan, downsampleNegatives, prepare } from "../lib/data/prepare";
import { readPrepared, writePrepared } from "../lib/data/prepared-files";
import { readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { logLoss } from "../lib/metrics";
import { tempDir } from "./helpers";

function simulated(seed = 1): ImpressionLog {
  const dir = tempDir();
  writeSimulatedLog({ impressions: 60_000, days: 8, users: 300, ads: 80 }, seed, dir);
  return readSimulatedLog(dir);
}

test("downsampled, reweighted log loss is an unbiased estimate of the full-data log loss", () => {
  const log = simulated();
  const p = Array.from(log.truth!.pClick);
  const full = logLoss(log.click, p);
  const estimates: number[] = [];
  for (let seed = 0; seed < 60; seed++) {
    const d = downsampleNegatives(log, 0.1, seed);
    const pKept = Array.from(d.log.truth!.pClick);
    estimates.push(logLoss(d.log.click, pKept, d.weight));
  }
  const mean = estimates.reduce((s, v) => s + v, 0) / estimates.length;
  const sd = Math.sqrt(estimates.reduce((s, v) => s + (v - mean) ** 2, 0) / (estimates.length - 1));
  const se = sd / Math.sqrt(estimates.length);
  assert.ok(Math.abs(mean - full) < 4 * se, `mean estimate ${mean} vs full ${full} (se ${se})`);
  // and the unweighted loss on the downsampled rows is clearly biased, so the weights matter
  const d = downsampleNegatives(log, 0.1, 0);
  assert.ok(logLoss(d.log.click, Array.from(d.log.truth!.pClick)) > 2 * full);
});

test("downsampling keeps every click, keeps negatives at the rate, weights them 1/r, and is seeded", () => {
  const log = simulated();
  const clicks = log.click.reduce((s, v) => s + v, 0);
  const d = downsampleNegatives(log, 0.2, 3);
  assert.equal(d.keptClicked, clicks);
  const negatives = log.size - clicks;
  const sd = Math.sqrt(negatives * 0.2 * 0.8);
  assert.ok(Math.abs(d.keptNonClicked - 0.2 * negatives) < 4 * sd);
  for (let i = 0; i < d.log.size; i++) assert.equal(d.weight[i], d.log.click[i] ? 1 : Math.fround(1 / 0.2));
  assert.deepEqual(downsampleNegatives(log, 0.2, 3).log.day, d.log.day);
  assert.notDeepEqual(downsampleNegatives(log, 0.2, 4).log.categorical[0], d.log.categorical[0]);
  assert.throws(() => downsampleNegatives(log, 0, 1), /keep rate/);
});

test("splits never share a day and run past to future", () => {
  const plan = defaultSplitPlan(15);
  assert.deepEqual(plan, { trainDays: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], validationDay: 11, testDay: 12, laterDays: [13, 14] });
  assert.throws(() => checkSplitPlan({ trainDays: [0, 1, 5], validationDay: 5, testDay: 6, laterDays: [] }), /twice/);
  assert.throws(() => checkSplitPlan({ trainDays: [0, 3], validationDay: 2, testDay: 4, laterDays: [] }), /past to future/);
  const prepared = prepare(simulated(), { plan: defaultSplitPlan(8), seed: 1 });
  const daysOf = (s: { day: Int32Array }) => new Set(s.day);
  const sets = [prepared.train, prepared.validation, prepared.test, ...prepared.later].map(daysOf);
  for (let a = 0; a < sets.length; a++) {
    for (let b = a + 1; b < sets.length; b++) for (const d of sets[a]) assert.ok(!sets[b].has(d), `day ${d} in two splits`);
  }
  assert.deepEqual([...sets[2]], [5]);
  assert.ok(Math.max(...sets[0]) < Math.min(...sets[1]));
});

test("vocabularies see no validation or test ids: ids first seen later map to the out-of-vocabulary index 0", () => {
  // a hand-made log: field 'ad' has id 7 only on the test day, id 5 on training days
  const schema = { categorical: ["ad"], numeric: ["x"] };
  const log = allocateLog(schema, 8, "hand-made", false);
  const rows: [number, number, number][] = [
    [0, 5, 1], [0, 5, 0], [1, 6, 1], [1, 5, 0], [2, 5, 0], [3, 7, 1], [3, 5, 0], [4, 9, 0],
  ];
  rows.forEach(([day, ad, click], i) => {
    log.day[i] = day;
    log.categorical[0][i] = ad;
    log.click[i] = click;
    log.numeric[0][i] = i;
  });
  const prepared = prepare(log, { plan: { trainDays: [0, 1], validationDay: 2, testDay: 3, laterDays: [4] }, negativeKeepRate: 1, seed: 0 });
  assert.deepEqual(prepared.vocabularies[0].ids, [5, 6]);
  assert.deepEqual(Array.from(prepared.train.categorical), [1, 1, 2, 1]);
  assert.deepEqual(Array.from(prepared.test.categorical), [0, 1]); // id 7 unseen in training -> 0
  assert.deepEqual(Array.from(prepared.later[0].categorical), [0]);
  assert.equal(prepared.report.splits[2].oovRate.ad, 0.5);
  // numeric standardised with the training rows' statistics: train x = 0..3, mean 1.5
  assert.ok(Math.abs(prepared.train.numeric[0] - (0 - 1.5) / Math.sqrt(1.25)) < 1e-6);
});

test("vocabularies of simulated data are fitted on kept training rows only", () => {
  const log = simulated(2);
  const prepared = prepare(log, { plan: defaultSplitPlan(8), seed: 1, negativeKeepRate: 0.3 });
  const adField = log.schema.categorical.indexOf("ad");
  const trainIds = new Set(Array.from(prepared.vocabularies[adField].ids));
  const trainDayAds = new Set<number>();
  for (let i = 0; i < log.size; i++) if (log.day[i] <= 4) trainDayAds.add(log.categorical[adField][i]);
  for (const id of trainIds) assert.ok(trainDayAds.has(id), `vocabulary holds ad ${id}, never seen on a training day`);
});

test("prepared data round-trips through its files", () => {
  const prepared = prepare(simulated(3), { plan: defaultSplitPlan(8), seed: 5 });
  const dir = tempDir();
  writePrepared(dir, prepared, { kind: "test" });
  const back = readPrepared(dir);
  assert.deepEqual(back.train.categorical, prepared.train.categorical);
  assert.deepEqual(back.test.weight, prepared.test.weight);
  assert.deepEqual(back.later[1].truth!.pClick, prepared.later[1].truth!.pClick);
  assert.deepEqual(back.vocabularies, prepared.vocabularies);
});

test("writing a prepared folder: files renamed into place, prepared.json last; a dead writer's leftovers removed; rewriting works", () => {
  const prepared = prepare(simulated(4), { plan: defaultSplitPlan(8), seed: 6 });
  const dir = tempDir();
  const dead = spawnSync(process.execPath, ["-e", ""]).pid!; // a process id that has exited
  fs.writeFileSync(path.join(dir, `train.bin.tmp-${dead}`), "half");
  fs.writeFileSync(path.join(dir, "notes.txt"), "the user's");
  writePrepared(dir, prepared, { kind: "test" });
  const files = fs.readdirSync(dir).sort();
  assert.deepEqual(files, ["later-0.bin", "later-1.bin", "notes.txt", "prepared.json", "test.bin", "train.bin", "validation.bin"]);
  const first = files.map((f) => fs.readFileSync(path.join(dir, f)));
  writePrepared(dir, prepared, { kind: "test" });
  assert.deepEqual(fs.readdirSync(dir).sort(), files);
  files.forEach((f, i) => assert.ok(fs.readFileSync(path.join(dir, f)).equals(first[i]), `${f} rewritten differently`));
  assert.deepEqual(readPrepared(dir).test.weight, prepared.test.weight);
});
