/** The simulator's known answers: target rates, calibrated true probabilities, determinism, bias, drift. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createWorld, generateDay, rowsPerDay, simulatedDayLog } from "../lib/data/simulator";
import { readManifest, readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { DEFAULT_SIMULATOR_CONFIG, resolveConfig } from "../lib/data/simulator-config";
import { tempDir } from "./helpers";

const SMALL = { impressions: 150_000, days: 6, users: 800, ads: 200 };

test("rates land on the configured targets (CTR and conversions/clicks)", () => {
  for (const [targetCtr, targetCvr] of [
    [0.015, 0.07],
    [0.03, 0.05],
  ]) {
    const m = writeSimulatedLog({ ...SMALL, targetCtr, targetCvr }, 11, tempDir());
    // binomial standard errors at these counts are ~1.5 % (CTR) and ~4 % (CVR) relative; allow 4 SE
    assert.ok(Math.abs(m.totals.ctr / targetCtr - 1) < 0.06, `CTR ${m.totals.ctr} vs target ${targetCtr}`);
    assert.ok(Math.abs(m.totals.cvr / targetCvr - 1) < 0.2, `CVR ${m.totals.cvr} vs target ${targetCvr}`);
  }
});

test("true probabilities are calibrated: empirical frequencies match them per decile", () => {
  const world = createWorld({ ...SMALL, impressions: 400_000, days: 4 }, 5);
  const pClick: number[] = [];
  const click: number[] = [];
  const pConv: number[] = [];
  const conv: number[] = [];
  for (let day = 0; day < 4; day++) {
    for (const c of generateDay(world, day)) {
      for (let i = 0; i < c.size; i++) {
        pClick.push(c.pClick[i]);
        click.push(c.click[i]);
        if (c.click[i]) {
          pConv.push(c.pConversionGivenClick[i]);
          conv.push(c.conversion[i]);
        }
      }
    }
  }
  // Bin by predicted probability; in each bin the observed count is Binomial with mean sum(p): z-test.
  const check = (p: number[], y: number[], bins: number, what: string) => {
    const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
    for (let b = 0; b < bins; b++) {
      const idx = order.slice(Math.floor((b * order.length) / bins), Math.floor(((b + 1) * order.length) / bins));
      const expected = idx.reduce((s, i) => s + p[i], 0);
      const variance = idx.reduce((s, i) => s + p[i] * (1 - p[i]), 0);
      const observed = idx.reduce((s, i) => s + y[i], 0);
      const z = (observed - expected) / Math.sqrt(variance);
      assert.ok(Math.abs(z) < 4.5, `${what} bin ${b}: observed ${observed}, expected ${expected.toFixed(1)} (z = ${z.toFixed(2)})`);
    }
  };
  check(pClick, click, 10, "click");
  check(pConv, conv, 5, "conversion given click");
});

test("same seed and config give byte-identical files; another seed does not", () => {
  const [a, b, c] = [tempDir(), tempDir(), tempDir()];
  const config = { impressions: 30_000, days: 4, users: 300, ads: 50 };
  writeSimulatedLog(config, 3, a);
  writeSimulatedLog(config, 3, b);
  writeSimulatedLog(config, 4, c);
  const files = fs.readdirSync(a).sort();
  assert.deepEqual(files, ["day-00.csv", "day-01.csv", "day-02.csv", "day-03.csv", "manifest.json"]);
  for (const f of files) assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} differs between two runs`);
  assert.ok(!fs.readFileSync(path.join(a, "day-00.csv")).equals(fs.readFileSync(path.join(c, "day-00.csv"))));
});

test("a day's rows do not depend on the chunk size", () => {
  const world = createWorld({ impressions: 20_000, days: 2, users: 100, ads: 30 }, 9);
  const collect = (chunkSize: number) => {
    const users: number[] = [];
    const p: number[] = [];
    for (const c of generateDay(world, 1, chunkSize)) {
      users.push(...c.user);
      p.push(...c.pClick);
    }
    return { users, p };
  };
  assert.deepEqual(collect(997), collect(65_536));
});

test("the manifest's counts match the files, and the oracle loss is the true probabilities' cross-entropy", () => {
  const dir = tempDir();
  const m = writeSimulatedLog({ impressions: 40_000, days: 5, users: 300, ads: 60 }, 21, dir);
  const log = readSimulatedLog(dir);
  assert.equal(log.size, 40_000);
  assert.deepEqual(rowsPerDay(resolveConfig({ impressions: 40_000, days: 5 })), [8000, 8000, 8000, 8000, 8000]);
  const clicks = log.click.reduce((s, v) => s + v, 0);
  const conversions = log.conversion.reduce((s, v) => s + v, 0);
  assert.equal(m.totals.clicks, clicks);
  assert.equal(m.totals.conversions, conversions);
  assert.deepEqual(readManifest(dir), m);
  let loss = 0;
  for (let i = 0; i < log.size; i++) {
    const p = log.truth!.pClick[i] * log.truth!.pConversionGivenClick[i];
    loss -= log.conversion[i] ? Math.log(p) : Math.log(1 - p);
  }
  // the files hold 9 significant digits of each probability
  assert.ok(Math.abs(loss / log.size - m.oracle.ctcvr) < 1e-7, `${loss / log.size} vs ${m.oracle.ctcvr}`);
});

test("clicked impressions are a biased sample: the accidental-click placement converts far less per click", () => {
  const m = writeSimulatedLog(SMALL, 13, tempDir());
  const network = m.placements.find((p) => p.name === "in-game-network")!;
  const feed = m.placements.find((p) => p.name === "home-feed")!;
  assert.ok(network.ctr > 2 * feed.ctr, `network CTR ${network.ctr} vs feed ${feed.ctr}`);
  assert.ok(network.meanTrueCvrOnClicks < feed.meanTrueCvrOnClicks / 2);
  // over all impressions vs over clicks: selection by click changes the CVR a model is trained on
  for (const p of m.placements) assert.notEqual(p.meanTrueCvrOnClicks.toFixed(3), p.meanTrueCvrOnImpressions.toFixed(3));
});

test("new ads appear over time and ad factors drift", () => {
  const world = createWorld({ impressions: 30_000, days: 6, users: 200, ads: 100, adsLiveOnDayZero: 0.5 }, 17);
  const adsOn = (day: number) => new Set([...generateDay(world, day)].flatMap((c) => [...c.ad]));
  const first = adsOn(0);
  const last = adsOn(5);
  assert.ok([...first].every((a) => world.adLaunchDay[a] === 0));
  assert.ok([...last].some((a) => !first.has(a)), "no new ad on the last day");
  const moved = world.adClickFactors[5][0].some((v, k) => v !== world.adClickFactors[0][0][k]);
  assert.ok(moved, "ad factors did not drift");
  const still = createWorld({ impressions: 30_000, days: 6, users: 200, ads: 100, dailyDrift: 0 }, 17);
  assert.deepEqual(still.adClickFactors[5][0], still.adClickFactors[0][0]);
});

test("bad simulator options are refused with the option's name", () => {
  assert.throws(() => resolveConfig({ targetCtr: 2 }), /targetCtr/);
  assert.throws(() => resolveConfig({ days: 0 }), /days/);
  assert.throws(() => resolveConfig({ nonsense: 1 } as never), /unknown simulator option "nonsense"/);
});

test("an unreachable target is said, not hidden: accidental clicks above the target CTR give one stderr line per missed target", () => {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => (lines.push(String(s)), true);
  try {
    const placements = DEFAULT_SIMULATOR_CONFIG.placements.map((p) => ({ ...p, accidentalClickRate: 0.08 }));
    createWorld({ impressions: 20_000, days: 15, users: 200, ads: 60, calibrationSamples: 20_000, targetCtr: 0.02, placements }, 5);
    createWorld({ impressions: 20_000, days: 15, users: 200, ads: 60, calibrationSamples: 20_000 }, 5);
  } finally {
    (process.stderr as unknown as { write: typeof write }).write = write;
  }
  // the first world: 8 % accidental clicks everywhere exceed the 2 % target CTR; the default world meets both
  assert.equal(lines.length, 2, lines.join(""));
  assert.match(lines[0], /^simulator: world seed 5: CTR 0\.0\d+ misses its target 0\.0200 \(accidental clicks are 100 % of clicks\)\n$/);
  assert.match(lines[1], /^simulator: world seed 5: CVR 0\.00\d+ misses its target 0\.0700 \(accidental clicks are 100 % of clicks; they convert at 0\.002\)\n$/);
});

test("simulatedDayLog: the day's rows as the CSV files hold them, and a tail from firstRow on; a bad firstRow throws", () => {
  const config = { impressions: 6_000, days: 3, users: 100, ads: 40 };
  const dir = tempDir();
  writeSimulatedLog(config, 3, dir);
  const world = createWorld(config, 3);
  const day = 1;
  const log = simulatedDayLog(world, day);
  const file = readSimulatedLog(dir, { days: [day] });
  assert.equal(log.size, rowsPerDay(world.config)[day]);
  assert.equal(log.size, file.size);
  assert.deepEqual(log.schema, file.schema);
  log.categorical.forEach((col, f) => assert.deepEqual(col, file.categorical[f], `categorical ${f}`));
  for (const key of ["day", "click", "conversion"] as const) assert.deepEqual(log[key], file[key], key);
  // the files write user_activity to 4 decimals, probabilities to 9 significant digits
  const near = (a: ArrayLike<number>, b: ArrayLike<number>, tol: (x: number) => number, what: string) => {
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol(b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  };
  near(log.numeric[0], file.numeric[0], () => 5e-5 + 1e-7, "user_activity");
  near(log.numeric[1], file.numeric[1], () => 0, "ad_age_days");
  near(log.truth!.pClick, file.truth!.pClick, (x) => 5e-9 * x, "pClick");
  near(log.truth!.pConversionGivenClick, file.truth!.pConversionGivenClick, (x) => 5e-9 * x, "pConversionGivenClick");
  // a tail starting inside generateDay's second chunk (65,536 rows a chunk) is the day's log from that row on
  const big = createWorld({ impressions: 140_000, days: 2, users: 100, ads: 40 }, 3);
  const whole = simulatedDayLog(big, 0);
  const tail = simulatedDayLog(big, 0, 66_000);
  assert.equal(tail.size, whole.size - 66_000);
  tail.categorical.forEach((col, f) => assert.deepEqual(col, whole.categorical[f].subarray(66_000), `tail categorical ${f}`));
  assert.deepEqual(tail.numeric[0], whole.numeric[0].subarray(66_000));
  assert.deepEqual(tail.truth!.pConversionGivenClick, whole.truth!.pConversionGivenClick.subarray(66_000));
  assert.equal(simulatedDayLog(world, day, log.size).size, 0);
  assert.throws(() => simulatedDayLog(world, day, log.size + 1), /^Error: simulatedDayLog: firstRow must be an integer in \[0, \d+\], got \d+$/);
  assert.throws(() => simulatedDayLog(world, day, -1), /firstRow must be an integer/);
});
