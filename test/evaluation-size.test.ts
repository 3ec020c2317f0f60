/**
 * A bigger evaluation sample that changes nothing else: `evaluationMultiplier` enlarges the last
 * `evaluationDays` days of the simulated log, the test and later days scored after training, while the
 * world, the training days and the validation day (early stopping), hence the prepared training and
 * validation splits, stay identical to multiplier 1, so the trained model does not change; preparation
 * refuses a split plan whose test and later days are not exactly the scaled days.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createWorld, generateDay, rowsPerDay, SimulatedChunk } from "../lib/data/simulator";
import { dayFileName, readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { resolveConfig } from "../lib/data/simulator-config";
import { checkEvaluationScaling, defaultSplitPlan, prepare } from "../lib/data/prepare";
import { ensurePreparedData } from "../lib/study/data-cache";
import { DEFAULT_DATA_SPEC, expandGrid } from "../lib/study/spec";
import { SENSITIVITY_FACTORS, sensitivityStudy } from "../lib/study/sensitivity";
import { computation, canonicalJson } from "../lib/study/results";
import { tempDir } from "./helpers";

/** 60,000 impressions over 15 days: 4,000 rows a day at multiplier 1; train 0-10, validation 11, test 12, later 13-14. */
const WORLD = { impressions: 60_000, days: 15, users: 300, ads: 80 };
const BASE = 4_000;
const SEED = 5;

const COLUMNS = [
  "hour", "user", "ad", "advertiser", "appCategory", "placement", "deviceOs", "userActivity", "adAgeDays",
  "click", "conversion", "pClick", "pConversionGivenClick",
] as const satisfies readonly (keyof SimulatedChunk)[];

/** Every column of one generated day, concatenated over chunks, as plain numbers (full precision). */
function dayColumns(world: ReturnType<typeof createWorld>, day: number): Record<string, number[]> {
  const out: Record<string, number[]> = Object.fromEntries(COLUMNS.map((c) => [c, []]));
  for (const chunk of generateDay(world, day, 1_500)) for (const c of COLUMNS) out[c].push(...chunk[c]);
  return out;
}

const prefix = (cols: Record<string, number[]>, n: number) => Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v.slice(0, n)]));

test("rowsPerDay: the last evaluationDays days hold round(multiplier x base) rows, the others are unchanged", () => {
  assert.deepEqual(rowsPerDay(resolveConfig(WORLD)), Array(15).fill(BASE));
  // default: the test day 12 and the later days 13-14; the validation day 11 keeps its rows
  assert.deepEqual(rowsPerDay(resolveConfig({ ...WORLD, evaluationMultiplier: 3 })), [...Array(12).fill(BASE), ...Array(3).fill(3 * BASE)]);
  // 60,007 / 15: days 0-6 have 4,001 rows; 9 scaled days from day 6, x 2.5: round(10,002.5) = 10,003, then 10,000
  assert.deepEqual(rowsPerDay(resolveConfig({ ...WORLD, impressions: 60_007, evaluationDays: 9, evaluationMultiplier: 2.5 })), [
    ...Array(6).fill(4_001), 10_003, ...Array(8).fill(10_000),
  ]);
  assert.deepEqual(rowsPerDay(resolveConfig({ ...WORLD, evaluationDays: 0, evaluationMultiplier: 10 })), Array(15).fill(BASE));
  // the default 2M log: 133,334 rows on days 0-4, 133,333 after; x 10 on days 12-14 only
  const full = rowsPerDay(resolveConfig({ evaluationMultiplier: 10 }));
  assert.deepEqual(full.slice(10), [133_333, 133_333, 1_333_330, 1_333_330, 1_333_330]);
  assert.equal(full.slice(0, 12).reduce((s, v) => s + v, 0), 12 * 133_333 + 5);
  // laterDaysMultiplier sizes the later days apart from the test day (default: the same as evaluationMultiplier)
  assert.deepEqual(rowsPerDay(resolveConfig({ evaluationMultiplier: 5, laterDaysMultiplier: 1 })).slice(10), [133_333, 133_333, 666_665, 133_333, 133_333]);
  assert.equal(resolveConfig({ evaluationMultiplier: 4 }).laterDaysMultiplier, 4);
  assert.throws(() => resolveConfig({ laterDaysMultiplier: 0 }), /laterDaysMultiplier = 0: must be a number >= 1/);
  // a log whose later days alone are scaled still has to scale exactly the test and later days
  assert.doesNotThrow(() => checkEvaluationScaling(defaultSplitPlan(15, 2), { days: 15, evaluationDays: 3, evaluationMultiplier: 1, laterDaysMultiplier: 2 }));
  assert.throws(() => checkEvaluationScaling(defaultSplitPlan(15, 1), { days: 15, evaluationDays: 3, evaluationMultiplier: 1, laterDaysMultiplier: 2 }), /scales 3 days/);
});

test("the options are range-checked by name; evaluationDays defaults to 3, or to days for a log shorter than 3 days", () => {
  assert.throws(() => resolveConfig({ days: 15, evaluationDays: 16 }), /^Error: simulator option evaluationDays = 16: must be an integer in \[0, days = 15\]$/);
  assert.throws(() => resolveConfig({ evaluationDays: 1.5 }), /evaluationDays = 1\.5/);
  assert.throws(() => resolveConfig({ evaluationMultiplier: 0.5 }), /^Error: simulator option evaluationMultiplier = 0\.5: must be a number >= 1$/);
  assert.throws(() => resolveConfig({ evaluationMultiplier: "3" as never }), /evaluationMultiplier = "3"/);
  assert.equal(resolveConfig({ days: 2 }).evaluationDays, 2);
  assert.equal(resolveConfig({ days: 3 }).evaluationDays, 3);
  assert.equal(resolveConfig({ days: 4 }).evaluationDays, 3);
  assert.equal(resolveConfig({}).evaluationDays, 3);
  assert.equal(resolveConfig({}).evaluationMultiplier, 1);
});

test("multiplier 3: training days and the validation day identical in every column, test and later days 3x as long and starting with the unscaled day", () => {
  const plain = createWorld(WORLD, SEED);
  const scaled = createWorld({ ...WORLD, evaluationMultiplier: 3 }, SEED);
  assert.equal(scaled.clickIntercept, plain.clickIntercept);
  assert.equal(scaled.conversionIntercept, plain.conversionIntercept);
  assert.deepEqual(scaled.userActivity, plain.userActivity); // from impressions / days, not from the multiplier
  for (let day = 0; day < 15; day++) {
    const a = dayColumns(plain, day);
    const b = dayColumns(scaled, day);
    assert.equal(a.user.length, BASE);
    if (day < 12) {
      assert.deepEqual(b, a, `${day === 11 ? "validation" : "training"} day ${day} differs`);
    } else {
      assert.equal(b.user.length, 3 * BASE, `day ${day}`);
      assert.deepEqual(prefix(b, BASE), a, `day ${day}: the first ${BASE} rows differ from the unscaled day`);
      assert.notDeepEqual(b.user.slice(BASE, 2 * BASE), a.user, `day ${day}: the added rows repeat the first ones`);
    }
  }
});

test("multiplier 3 on files: training and validation day CSVs byte-identical, test and later day CSVs extend the unscaled ones; prepare keeps the train and validation splits", () => {
  const [dirA, dirB] = [tempDir(), tempDir()];
  const mA = writeSimulatedLog(WORLD, SEED, dirA);
  const mB = writeSimulatedLog({ ...WORLD, evaluationMultiplier: 3 }, SEED, dirB);
  assert.equal(mA.totals.impressions, 60_000);
  assert.equal(mB.totals.impressions, 12 * BASE + 3 * 3 * BASE);
  assert.deepEqual(mB.days.slice(0, 12), mA.days.slice(0, 12));
  for (let day = 0; day < 15; day++) {
    const a = fs.readFileSync(path.join(dirA, dayFileName(day)), "utf8");
    const b = fs.readFileSync(path.join(dirB, dayFileName(day)), "utf8");
    if (day < 12) assert.equal(b, a, `day ${day} file differs`);
    else {
      assert.ok(b.startsWith(a), `day ${day}: file does not start with the unscaled day's file`);
      assert.equal(b.split("\n").length - 2, 3 * BASE); // header and final newline
    }
  }

  const plan = defaultSplitPlan(15);
  const pA = prepare(readSimulatedLog(dirA), { plan, seed: 3, simulator: mA.config });
  const pB = prepare(readSimulatedLog(dirB), { plan, seed: 3, simulator: mB.config });
  assert.deepEqual(pB.train, pA.train); // encoded arrays, labels, weights, days, true probabilities
  assert.deepEqual(pB.validation, pA.validation); // early stopping sees the same day, so the same epoch is kept
  assert.equal(pA.validation.size, BASE);
  assert.deepEqual(pB.vocabularies, pA.vocabularies);
  assert.deepEqual(pB.scalers, pA.scalers);
  assert.deepEqual(pB.report.downsampling, pA.report.downsampling);
  for (const [a, b] of [[pA.test, pB.test], ...pA.later.map((l, i) => [l, pB.later[i]])]) {
    assert.equal(a.size, BASE);
    assert.equal(b.size, 3 * BASE, b.name);
    const nCat = a.categoricalFields.length;
    const nNum = a.numericFields.length;
    assert.deepEqual(b.categorical.subarray(0, BASE * nCat), a.categorical, `${b.name}: first rows' ids`);
    assert.deepEqual(b.numeric.subarray(0, BASE * nNum), a.numeric, `${b.name}: first rows' numeric fields`);
    assert.deepEqual(b.conversion.subarray(0, BASE), a.conversion, `${b.name}: first rows' conversions`);
  }
});

test("a plan whose test and later days are not the scaled days, or a scaled validation day, is refused, naming both counts", () => {
  const sim = resolveConfig({ ...WORLD, evaluationMultiplier: 3 }); // days 12-14 scaled
  assert.doesNotThrow(() => checkEvaluationScaling(defaultSplitPlan(15, 2), sim));
  assert.throws(
    () => checkEvaluationScaling(defaultSplitPlan(15, 3), sim),
    /^Error: the simulated log scales 3 days \(evaluationDays = 3, days 12,13,14, evaluationMultiplier = 3\) but the split plan scores 4 days after training \(test and 3 later: days 11,12,13,14\); they must be the same days and the validation day must not be scaled \(simulate with --evaluation-days 4, i\.e\. later days \+ 1, or use 2 later days\)$/,
  );
  assert.throws(() => checkEvaluationScaling(defaultSplitPlan(15, 1), sim), /scales 3 days .* scores 2 days after training .*--evaluation-days 2/);
  // the old meaning (validation, test and later days scaled): the validation day is named
  const withValidation = resolveConfig({ ...WORLD, evaluationDays: 4, evaluationMultiplier: 3 });
  assert.throws(
    () => checkEvaluationScaling(defaultSplitPlan(15, 2), withValidation),
    /^Error: the simulated log scales 4 days \(evaluationDays = 4, days 11,12,13,14, evaluationMultiplier = 3, including the validation day 11\) but the split plan scores 3 days after training .*--evaluation-days 3, i\.e\. later days \+ 1, or use 3 later days\)$/,
  );
  // same count, other days: a plan with a gap before the later days
  assert.throws(() => checkEvaluationScaling({ trainDays: [0, 1, 2], validationDay: 10, testDay: 11, laterDays: [12, 14] }, sim), /scales 3 days .* scores 3 days/);
  // multiplier 1, or a manifest written before the option existed: any plan
  assert.doesNotThrow(() => checkEvaluationScaling(defaultSplitPlan(15, 3), resolveConfig(WORLD)));
  assert.doesNotThrow(() => checkEvaluationScaling(defaultSplitPlan(15, 3), { days: 15 }));

  const dir = tempDir();
  const m = writeSimulatedLog({ ...WORLD, impressions: 15_000, evaluationMultiplier: 2 }, SEED, dir);
  assert.throws(() => prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(15, 3), seed: 1, simulator: m.config }), /scales 3 days .* scores 4 days/);

  const root = tempDir();
  const spec = { ...DEFAULT_DATA_SPEC, simulator: { ...WORLD, evaluationMultiplier: 3 }, laterDays: 1 };
  const status: string[] = [];
  assert.throws(() => ensurePreparedData(spec, root, { onStatus: (s) => status.push(s) }), /scales 3 days .* scores 2 days/);
  assert.deepEqual(status, [], "refused before simulating");
  assert.deepEqual(fs.readdirSync(root), []);
});

test("sensitivity factor testDaySize: the test day x 1, 4, 10 on the default data (later days 1x); level 1 is the default run", () => {
  const factor = SENSITIVITY_FACTORS.find((f) => f.name === "testDaySize")!;
  assert.deepEqual([factor.option, factor.defaultLevel, factor.levels], ["data.simulator.evaluationMultiplier", 1, [1, 4, 10]]);
  const study = sensitivityStudy("full");
  const runs = expandGrid(study).filter((r) => r.factor === "testDaySize" && r.model === "IP" && r.seed === 1);
  assert.deepEqual(runs.map((r) => r.data.simulator), [1, 4, 10].map((m) => ({ impressions: 2_000_000, days: 15, evaluationMultiplier: m, laterDaysMultiplier: 1 })));
  const defaultRun = expandGrid(study).find((r) => r.factor === "users" && r.level === 2000 && r.model === "IP" && r.seed === 1)!;
  assert.equal(canonicalJson(computation(runs[0])), canonicalJson(computation(defaultRun)));
  for (const r of runs) assert.doesNotThrow(() => checkEvaluationScaling(defaultSplitPlan(15, r.data.laterDays), resolveConfig(r.data.simulator)));
});
