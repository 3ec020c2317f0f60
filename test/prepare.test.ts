/** Preparation: unbiased downsampling weights, past-vs-future splits, vocabularies fitted on training days only, the files. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { allocateLog, ImpressionLog } from "../lib/data/schema";
import { checkSplitPlan, defaultSplitPlan, downsampleNegatives, prepare, untrainedOovLines } from "../lib/data/prepare";
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
  // k = 1 and no masking: every training id gets a row of its own (the OOV rules are tested below)
  const prepared = prepare(log, { plan: { trainDays: [0, 1], validationDay: 2, testDay: 3, laterDays: [4] }, negativeKeepRate: 1, seed: 0, oovMinCount: 1, oovMaskRate: 0 });
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

// The out-of-vocabulary rules (issue 15): ids seen fewer than k times share index 0 with unseen ids; a field whose
// rare ids reach fewer than a share m of training rows gets a seeded share m of its training ids set to 0.
function oovLog(): ImpressionLog {
  // field "ad": on training days 0-1 id 5 x 6, id 6 x 1 (a singleton), id 8 x 2; id 7 only on the test day.
  // field "os": 2 ids, each many times: no rare id, so only masking can reach its index 0.
  const schema = { categorical: ["ad", "os"], numeric: [] };
  const rows: [number, number, number][] = [
    [0, 5, 1], [0, 5, 2], [0, 5, 1], [0, 6, 2], [0, 8, 1], [1, 5, 2], [1, 5, 1], [1, 5, 2], [1, 8, 1],
    [2, 5, 1], [2, 6, 2], [3, 7, 1], [3, 6, 2], [3, 5, 1], [3, 8, 2], [4, 7, 1],
  ];
  const log = allocateLog(schema, rows.length, "oov", false);
  rows.forEach(([day, ad, os], i) => {
    log.day[i] = day;
    log.categorical[0][i] = ad;
    log.categorical[1][i] = os;
    log.click[i] = i % 2;
  });
  return log;
}
const OOV_PLAN = { trainDays: [0, 1], validationDay: 2, testDay: 3, laterDays: [4] };

test("OOV min count: ids seen fewer than k times on the training rows share index 0 with unseen ids; per-split shares", () => {
  const p = prepare(oovLog(), { plan: OOV_PLAN, negativeKeepRate: 1, seed: 0, oovMinCount: 2, oovMaskRate: 0 });
  assert.deepEqual(p.vocabularies[0].ids, [5, 8]); // 6 seen once: pooled
  assert.deepEqual(Array.from(p.train.categorical.filter((_, j) => j % 2 === 0)), [1, 1, 1, 0, 2, 1, 1, 1, 2]);
  assert.deepEqual(Array.from(p.test.categorical.filter((_, j) => j % 2 === 0)), [0, 0, 1, 2]); // 7 unseen, 6 pooled
  const [train, validation, test, later] = p.report.splits;
  assert.equal(train.oovRate.ad, 1 / 9);
  assert.equal(validation.oovRate.ad, 1 / 2);
  assert.equal(test.oovRate.ad, 2 / 4);
  assert.equal(later.oovRate.ad, 1);
  assert.equal(test.oovRate.os, 0);
  assert.equal(test.oovRows, 2 / 4);
  assert.equal(p.report.oovMinCount, 2);
  assert.deepEqual(p.report.vocabularies![0], { field: "ad", trainingIds: 3, indexed: 2, pooled: 1, masked: 0, oovTrained: true });
  assert.deepEqual(p.report.vocabularies![1], { field: "os", trainingIds: 2, indexed: 2, pooled: 0, masked: 0, oovTrained: false });
  // k = 1 leaves the singleton its own row, and no training row reaches index 0: said in one line per field
  const k1 = prepare(oovLog(), { plan: OOV_PLAN, negativeKeepRate: 1, seed: 0, oovMinCount: 1, oovMaskRate: 0 });
  assert.deepEqual(k1.vocabularies[0].ids, [5, 6, 8]);
  assert.equal(k1.report.vocabularies![0].oovTrained, false);
  const lines = untrainedOovLines(k1.report);
  assert.equal(lines.length, 1); // "os" has no OOV rows anywhere, so only "ad" is named
  assert.match(lines[0], /^field "ad": .*25\.00 % of test, 100\.00 % of day 4 rows use it/);
  assert.throws(() => prepare(oovLog(), { plan: OOV_PLAN, seed: 0, oovMinCount: 0 }), /OOV min count must be an integer >= 1, got 0/);
  assert.throws(() => prepare(oovLog(), { plan: OOV_PLAN, seed: 0, oovMaskRate: 1 }), /OOV mask rate must be in \[0, 1\), got 1/);
});

test("OOV masking: only fields whose rare ids reach fewer than m of the training rows, a seeded share m of rows, evaluation splits untouched", () => {
  const log = simulated(3);
  const plan = defaultSplitPlan(8);
  const off = prepare(log, { plan, seed: 4, negativeKeepRate: 0.3, oovMinCount: 1, oovMaskRate: 0 });
  const on = prepare(log, { plan, seed: 4, negativeKeepRate: 0.3, oovMinCount: 1, oovMaskRate: 0.05 });
  const again = prepare(log, { plan, seed: 4, negativeKeepRate: 0.3, oovMinCount: 1, oovMaskRate: 0.05 });
  assert.deepEqual(Array.from(on.train.categorical), Array.from(again.train.categorical)); // seeded
  assert.deepEqual(on.vocabularies, off.vocabularies); // masking never changes a vocabulary
  for (const s of ["validation", "test"] as const) assert.deepEqual(Array.from(on[s].categorical), Array.from(off[s].categorical));
  const nCat = off.train.categoricalFields.length;
  const n = off.train.size;
  on.train.categoricalFields.forEach((field, f) => {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const a = off.train.categorical[i * nCat + f];
      const b = on.train.categorical[i * nCat + f];
      if (a !== b) {
        assert.equal(b, 0, `${field}: a masked id becomes 0`);
        changed++;
      }
    }
    const v = on.report.vocabularies![f];
    assert.equal(v.masked, changed);
    assert.equal(v.oovTrained, true);
    // Binomial(n, 0.05): within 5 standard deviations of n m
    const sd = Math.sqrt(n * 0.05 * 0.95);
    assert.ok(Math.abs(changed - n * 0.05) < 5 * sd, `${field}: ${changed} masked of ${n}`);
    assert.equal(on.report.splits[0].oovRate[field], changed / n);
  });
  // a field whose pooled ids already reach a share >= m is left alone: "ad" of oovLog has 1/9 pooled at k = 2
  const p = prepare(oovLog(), { plan: OOV_PLAN, negativeKeepRate: 1, seed: 0, oovMinCount: 2, oovMaskRate: 0.1 });
  assert.equal(p.report.vocabularies![0].masked, 0);
  assert.equal(p.report.splits[0].oovRate.ad, 1 / 9);
});
