/**
 * A bigger evaluation sample that changes nothing else: `evaluationMultiplier` enlarges the last
 * `evaluationDays` days of the simulated log, while the training days, the world and the prepared training
 * split stay identical to multiplier 1; preparation refuses a split plan whose held-out days are not the
 * scaled days.
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

/** 60,000 impressions over 15 days: 4,000 rows a day at multiplier 1; days 11-14 are held out. */
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
  assert.deepEqual(rowsPerDay(resolveConfig({ ...WORLD, evaluationMultiplier: 3 })), [...Array(11).fill(BASE), ...Array(4).fill(3 * BASE)]);
  // 60,007 / 15: days 0-6 have 4,001 rows; 9 scaled days from day 6, x 2.5: round(10,002.5) = 10,003, then 10,000
  assert.deepEqual(rowsPerDay(resolveConfig({ ...WORLD, impressions: 60_007, evaluationDays: 9, evaluationMultiplier: 2.5 })), [
    ...Array(6).fill(4_001), 10_003, ...Array(8).fill(10_000),
  ]);
  assert.deepEqual(rowsPerDay(resolveConfig({ ...WORLD, evaluationDays: 0, evaluationMultiplier: 10 })), Array(15).fill(BASE));
  // the default 2M log: 133,334 rows on days 0-4, 133,333 after; x 10 on days 11-14
  const full = rowsPerDay(resolveConfig({ evaluationMultiplier: 10 }));
  assert.deepEqual(full.slice(10), [133_333, 1_333_330, 1_333_330, 1_333_330, 1_333_330]);
  assert.equal(full.slice(0, 11).reduce((s, v) => s + v, 0), 11 * 133_333 + 5);
});

test("the options are range-checked by name, and a log shorter than 4 days holds out all its days by default", () => {
  assert.throws(() => resolveConfig({ days: 15, evaluationDays: 16 }), /^Error: simulator option evaluationDays = 16: must be an integer in \[0, days = 15\]$/);
  assert.throws(() => resolveConfig({ evaluationDays: 1.5 }), /evaluationDays = 1\.5/);
  assert.throws(() => resolveConfig({ evaluationMultiplier: 0.5 }), /^Error: simulator option evaluationMultiplier = 0\.5: must be a finite number >= 1$/);
  assert.throws(() => resolveConfig({ evaluationMultiplier: "3" as never }), /evaluationMultiplier = "3"/);
  assert.equal(resolveConfig({ days: 2 }).evaluationDays, 2);
  assert.equal(resolveConfig({}).evaluationDays, 4);
  assert.equal(resolveConfig({}).evaluationMultiplier, 1);
});

test("multiplier 3: training days identical in every column, evaluation days 3x as long and starting with the unscaled day", () => {
  const plain = createWorld(WORLD, SEED);
  const scaled = createWorld({ ...WORLD, evaluationMultiplier: 3 }, SEED);
  assert.equal(scaled.clickIntercept, plain.clickIntercept);
  assert.equal(scaled.conversionIntercept, plain.conversionIntercept);
  assert.deepEqual(scaled.userActivity, plain.userActivity); // from impressions / days, not from the multiplier
  for (let day = 0; day < 15; day++) {
    const a = dayColumns(plain, day);
    const b = dayColumns(scaled, day);
    assert.equal(a.user.length, BASE);
    if (day < 11) {
      assert.deepEqual(b, a, `training day ${day} differs`);
    } else {
      assert.equal(b.user.length, 3 * BASE, `day ${day}`);
      assert.deepEqual(prefix(b, BASE), a, `day ${day}: the first ${BASE} rows differ from the unscaled day`);
      assert.notDeepEqual(b.user.slice(BASE, 2 * BASE), a.user, `day ${day}: the added rows repeat the first ones`);
    }
  }
});

test("multiplier 3 on files: training day CSVs byte-identical, evaluation day CSVs extend the unscaled ones; prepare keeps the train split", () => {
  const [dirA, dirB] = [tempDir(), tempDir()];
  const mA = writeSimulatedLog(WORLD, SEED, dirA);
  const mB = writeSimulatedLog({ ...WORLD, evaluationMultiplier: 3 }, SEED, dirB);
  assert.equal(mA.totals.impressions, 60_000);
  assert.equal(mB.totals.impressions, 11 * BASE + 4 * 3 * BASE);
  assert.deepEqual(mB.days.slice(0, 11), mA.days.slice(0, 11));
  for (let day = 0; day < 15; day++) {
    const a = fs.readFileSync(path.join(dirA, dayFileName(day)), "utf8");
    const b = fs.readFileSync(path.join(dirB, dayFileName(day)), "utf8");
    if (day < 11) assert.equal(b, a, `day ${day} file differs`);
    else {
      assert.ok(b.startsWith(a), `day ${day}: file does not start with the unscaled day's file`);
      assert.equal(b.split("\n").length - 2, 3 * BASE); // header and final newline
    }
  }

  const plan = defaultSplitPlan(15);
  const pA = prepare(readSimulatedLog(dirA), { plan, seed: 3, simulator: mA.config });
  const pB = prepare(readSimulatedLog(dirB), { plan, seed: 3, simulator: mB.config });
  assert.deepEqual(pB.train, pA.train); // encoded arrays, labels, weights, days, true probabilities
  assert.deepEqual(pB.vocabularies, pA.vocabularies);
  assert.deepEqual(pB.scalers, pA.scalers);
  assert.deepEqual(pB.report.downsampling, pA.report.downsampling);
  for (const [a, b] of [[pA.validation, pB.validation], [pA.test, pB.test], ...pA.later.map((l, i) => [l, pB.later[i]])]) {
    assert.equal(a.size, BASE);
    assert.equal(b.size, 3 * BASE, b.name);
    const nCat = a.categoricalFields.length;
    const nNum = a.numericFields.length;
    assert.deepEqual(b.categorical.subarray(0, BASE * nCat), a.categorical, `${b.name}: first rows' ids`);
    assert.deepEqual(b.numeric.subarray(0, BASE * nNum), a.numeric, `${b.name}: first rows' numeric fields`);
    assert.deepEqual(b.conversion.subarray(0, BASE), a.conversion, `${b.name}: first rows' conversions`);
  }
});

test("a plan whose held-out days are not the scaled days is refused, naming both counts", () => {
  const sim = resolveConfig({ ...WORLD, evaluationMultiplier: 3 }); // days 11-14 scaled
  assert.doesNotThrow(() => checkEvaluationScaling(defaultSplitPlan(15, 2), sim));
  assert.throws(
    () => checkEvaluationScaling(defaultSplitPlan(15, 3), sim),
    /^Error: the simulated log scales 4 days \(evaluationDays = 4, days 11,12,13,14, evaluationMultiplier = 3\) but the split plan holds out 5 days \(validation, test and 3 later: days 10,11,12,13,14\); they must be the same days \(simulate with evaluationDays = 5, or use 2 later days\)$/,
  );
  assert.throws(() => checkEvaluationScaling(defaultSplitPlan(15, 1), sim), /scales 4 days .* holds out 3 days/);
  // same count, other days: a plan with a gap before the later days
  assert.throws(() => checkEvaluationScaling({ trainDays: [0, 1, 2], validationDay: 10, testDay: 11, laterDays: [12, 14] }, sim), /scales 4 days .* holds out 4 days/);
  // multiplier 1, or a manifest written before the option existed: any plan
  assert.doesNotThrow(() => checkEvaluationScaling(defaultSplitPlan(15, 3), resolveConfig(WORLD)));
  assert.doesNotThrow(() => checkEvaluationScaling(defaultSplitPlan(15, 3), { days: 15 }));

  const dir = tempDir();
  const m = writeSimulatedLog({ ...WORLD, impressions: 15_000, evaluationMultiplier: 2 }, SEED, dir);
  assert.throws(() => prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(15, 3), seed: 1, simulator: m.config }), /scales 4 days .* holds out 5 days/);

  const root = tempDir();
  const spec = { ...DEFAULT_DATA_SPEC, simulator: { ...WORLD, evaluationMultiplier: 3 }, laterDays: 1 };
  const status: string[] = [];
  assert.throws(() => ensurePreparedData(spec, root, { onStatus: (s) => status.push(s) }), /scales 4 days .* holds out 3 days/);
  assert.deepEqual(status, [], "refused after simulating, not before");
  assert.deepEqual(fs.readdirSync(root), []);
});

test("sensitivity factor testDaySize: evaluationMultiplier 1, 4, 10 on the default data; level 1 is the default run", () => {
  const factor = SENSITIVITY_FACTORS.find((f) => f.name === "testDaySize")!;
  assert.deepEqual([factor.option, factor.defaultLevel, factor.levels], ["data.simulator.evaluationMultiplier", 1, [1, 4, 10]]);
  const study = sensitivityStudy("full");
  const runs = expandGrid(study).filter((r) => r.factor === "testDaySize" && r.model === "IP" && r.seed === 1);
  assert.deepEqual(runs.map((r) => r.data.simulator), [1, 4, 10].map((m) => ({ impressions: 2_000_000, days: 15, evaluationMultiplier: m })));
  const defaultRun = expandGrid(study).find((r) => r.factor === "users" && r.level === 2000 && r.model === "IP" && r.seed === 1)!;
  assert.equal(canonicalJson(computation(runs[0])), canonicalJson(computation(defaultRun)));
  for (const r of runs) assert.doesNotThrow(() => checkEvaluationScaling(defaultSplitPlan(15, r.data.laterDays), resolveConfig(r.data.simulator)));
});
