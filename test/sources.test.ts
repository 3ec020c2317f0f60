/**
 * Data sources as a registry (lib/sources, issue 23 point 3): a new loader is one kind plus one registry row,
 * `materialize` writes a source's prepared folder once and reuses it, a changed input or preparation is
 * another folder, a failed write leaves nothing behind, the simulated kind keys as the study always keyed
 * its DataSpecs, and the preparation defaults are one value in the CLI, the study and the real-data route.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import { tempDir } from "./helpers";
import { allocateLog } from "../lib/data/schema";
import { DEFAULT_PREPARATION, prepare, SplitPlan } from "../lib/data/prepare";
import { readPrepared, writePrepared } from "../lib/data/prepared-files";
import { resolveConfig } from "../lib/data/simulator-config";
import { findMaterialized, materialize, materializeSync, registerSource, SourceKind, sourceFromFolder, sourceKey, sourceKind } from "../lib/sources";
import { dataSpecKey } from "../lib/study/data-cache";
import { ensureRealData } from "../lib/study/real-data";
import { canonicalJson, sha256Hex } from "../lib/study/results";
import { dataNumericsVersion } from "../lib/numerics";
import { DEFAULT_DATA_SPEC, DataSpec } from "../lib/study/spec";

// ---------------------------------------------------------------------------------------------------
// A loader of the test's own: one kind (the object below) and one registry row (registerSource)

/** A whitespace-separated log "day click conversion user" in one file; days 0/1/2 = train/validation/test. */
interface TinySource {
  kind: "tiny-test";
  file: string;
}

let tinyWrites = 0;

const tinySource: SourceKind<TinySource> = {
  kind: "tiny-test",
  describe: "a whitespace-separated log of the tests",
  embeddingUpdates: "rowwise",
  sync: true,
  key(source, preparation) {
    return sourceKey({ kind: "tiny-test", text: fs.readFileSync(source.file, "utf8"), preparation: { ...DEFAULT_PREPARATION, ...preparation } });
  },
  folder: (key) => `tiny-${key}`,
  isComplete: (dir) => fs.existsSync(path.join(dir, "prepared.json")),
  write(source, preparation, tmp) {
    tinyWrites++;
    const rows = fs.readFileSync(source.file, "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
    if (rows.some((r) => r.length !== 4 || r.some((x) => !Number.isInteger(x)))) throw new Error(`${source.file}: every line needs 4 integers`);
    const log = allocateLog({ categorical: ["user"], numeric: [] }, rows.length, source.file, false);
    rows.forEach(([day, click, conversion, user], i) => {
      log.day[i] = day;
      log.click[i] = click;
      log.conversion[i] = conversion;
      log.categorical[0][i] = user;
    });
    const plan: SplitPlan = { trainDays: [0], validationDay: 1, testDay: 2, laterDays: [] };
    writePrepared(tmp, prepare(log, { plan, ...DEFAULT_PREPARATION, ...preparation }), { kind: "tiny-test", file: source.file });
  },
};
registerSource(tinySource);

/** 60 rows: 20 per day, users 0..4, every 4th row clicked and every 8th converted. */
function tinyLog(dir: string, name = "log.txt"): string {
  const file = path.join(dir, name);
  const lines = Array.from({ length: 60 }, (_, i) => `${Math.floor(i / 20)} ${i % 4 === 0 ? 1 : 0} ${i % 8 === 0 ? 1 : 0} ${i % 5}`);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

test("a new loader is one kind and one registry row: materialize prepares it, reads back its rows", async () => {
  const dir = tempDir("esmm-sources-");
  const root = path.join(dir, "cache");
  const file = tinyLog(dir);
  tinyWrites = 0;
  const out = await materialize({ kind: "tiny-test", file }, { negativeKeepRate: 1 }, { root });
  assert.match(path.basename(out), /^tiny-[0-9a-f]{16}$/);
  const data = readPrepared(out);
  // keep rate 1: every training row kept with weight 1; 20 rows a day, 5 clicks and 3 conversions on the training day
  assert.deepEqual([data.train.size, data.validation.size, data.test.size], [20, 20, 20]);
  assert.deepEqual(data.report.splits.map((s) => [s.name, s.clicks, s.conversions]), [["train", 5, 3], ["validation", 5, 2], ["test", 5, 3]]);
  assert.equal(data.report.seed, DEFAULT_PREPARATION.seed, "the preparation's missing seed is the default one");
  assert.equal(tinyWrites, 1);
  assert.equal(sourceKind({ kind: "tiny-test" }), tinySource as unknown);
  assert.throws(() => registerSource(tinySource), /kind "tiny-test" is registered already/);
  assert.throws(() => sourceKind({ kind: "nope" }), /unknown kind "nope" \(kinds: prepared, ali-ccp, ali-ccp-raw, csv-log, simulated, simulated-log, tiny-test\)/);
});

test("materialize: a second call reuses the folder, a changed input or preparation makes another one", async () => {
  const dir = tempDir("esmm-sources-");
  const root = path.join(dir, "cache");
  const file = tinyLog(dir);
  tinyWrites = 0;
  const first = await materialize({ kind: "tiny-test", file }, { negativeKeepRate: 1 }, { root });
  const stamp = fs.statSync(path.join(first, "prepared.json")).mtimeMs;
  assert.equal(await materialize({ kind: "tiny-test", file }, { negativeKeepRate: 1 }, { root }), first);
  assert.equal(tinyWrites, 1, "reused: not written again");
  assert.equal(fs.statSync(path.join(first, "prepared.json")).mtimeMs, stamp);
  assert.equal(findMaterialized({ kind: "tiny-test", file }, { negativeKeepRate: 1 }, root), first);

  const halved = await materialize({ kind: "tiny-test", file }, { negativeKeepRate: 0.5 }, { root });
  assert.notEqual(halved, first, "another preparation is another folder");
  assert.equal(readPrepared(halved).report.negativeKeepRate, 0.5);
  assert.equal(tinyWrites, 2);

  fs.appendFileSync(file, "0 1 1 4\n"); // one more training row, clicked and converted
  assert.equal(findMaterialized({ kind: "tiny-test", file }, { negativeKeepRate: 1 }, root), undefined, "the changed file is not served from the old folder");
  const changed = await materialize({ kind: "tiny-test", file }, { negativeKeepRate: 1 }, { root });
  assert.notEqual(changed, first);
  const train = readPrepared(changed).report.splits[0];
  assert.deepEqual([train.rows, train.clicks, train.conversions], [21, 6, 4]);
  assert.equal(tinyWrites, 3);
  assert.ok(fs.existsSync(first), "the old folder stays until deleted");
  assert.deepEqual(fs.readdirSync(root).filter((n) => n.startsWith(".tmp-")), [], "no temporary folder left");
});

test("materialize: a failed write leaves nothing behind; materializeSync refuses a kind that writes asynchronously", async () => {
  const dir = tempDir("esmm-sources-");
  const root = path.join(dir, "cache");
  const bad = path.join(dir, "bad.txt");
  fs.writeFileSync(bad, "0 1 0 3\n0 1 x 3\n");
  assert.throws(() => materializeSync({ kind: "tiny-test", file: bad }, {}, { root }), /bad\.txt: every line needs 4 integers/);
  assert.deepEqual(fs.readdirSync(root), [], "neither a folder nor a temporary one");
  const sample = { kind: "ali-ccp", dir: path.join(FIXTURES_DIR, "ali-ccp") };
  assert.throws(() => materializeSync(sample, {}, { root }), /kind "ali-ccp" writes asynchronously: use materialize/);
  assert.deepEqual(fs.readdirSync(root), [], "refused before anything is written");
});

test("folders are recognised by kind; a prepared folder is its own source and is used in place", async () => {
  const dir = tempDir("esmm-sources-");
  const root = path.join(dir, "cache");
  const sample = path.join(FIXTURES_DIR, "ali-ccp");
  assert.deepEqual(sourceFromFolder(sample), { kind: "ali-ccp", dir: sample });
  assert.equal(sourceFromFolder(FIXTURES_DIR), undefined);
  const prepared = await materialize({ kind: "ali-ccp", dir: sample }, { negativeKeepRate: 1 }, { root });
  assert.match(path.basename(prepared), /^ali-ccp-[0-9a-f]{16}$/);
  assert.deepEqual(sourceFromFolder(prepared), { kind: "prepared", dir: prepared });
  assert.equal(await materialize({ kind: "prepared", dir: prepared }, {}, { root: path.join(dir, "unused") }), prepared);
  assert.equal(fs.existsSync(path.join(dir, "unused")), false, "nothing written for a prepared folder");
  await assert.rejects(materialize({ kind: "prepared", dir: prepared, sha256: "0".repeat(64) }, {}, { root }), /holds other data/);
});

test("the simulated kind keys a DataSpec as the study always did (resolved spec, data numerics version)", () => {
  const specs: DataSpec[] = [
    DEFAULT_DATA_SPEC,
    { ...DEFAULT_DATA_SPEC, simulator: { impressions: 200_000, days: 15 }, simulatorSeed: 8, prepareSeed: 3 },
    { simulator: { impressions: 20_000 }, simulatorSeed: 7, negativeKeepRate: 0.3, laterDays: 2, prepareSeed: 7 }, // no OOV fields: keyed without them
    { ...DEFAULT_DATA_SPEC, worldPrior: "broad" }, // a label, not keyed
  ];
  for (const spec of specs) {
    const { worldPrior: _label, ...data } = spec;
    void _label;
    const before = sha256Hex(`${canonicalJson({ ...data, simulator: resolveConfig(spec.simulator) })}\n${dataNumericsVersion()}`).slice(0, 16);
    assert.equal(dataSpecKey(spec), before, canonicalJson(spec));
  }
  assert.notEqual(dataSpecKey(specs[2]), dataSpecKey({ ...specs[2], oovMinCount: 2 }));
});

test("one preparation default: the study's DataSpec, the real-data route and DEFAULT_PREPARATION agree", async () => {
  assert.deepEqual(
    { negativeKeepRate: DEFAULT_DATA_SPEC.negativeKeepRate, seed: DEFAULT_DATA_SPEC.prepareSeed, oovMinCount: DEFAULT_DATA_SPEC.oovMinCount, oovMaskRate: DEFAULT_DATA_SPEC.oovMaskRate },
    { ...DEFAULT_PREPARATION },
  );
  const root = path.join(tempDir("esmm-sources-"), "cache");
  const dir = await ensureRealData(path.join(FIXTURES_DIR, "ali-ccp"), { root });
  const { report } = readPrepared(dir);
  assert.deepEqual([report.negativeKeepRate, report.seed, report.oovMinCount, report.oovMaskRate], [0.1, 7, 2, 0.01]);
  assert.equal(await ensureRealData(path.join(FIXTURES_DIR, "ali-ccp"), { root, ...DEFAULT_PREPARATION }), dir, "the defaults spelled out are the same folder");
});

/** A raw Ali-CCP release of `train` and `test` skeleton rows (fields 205 and 101 only), every 5th row clicked, every 10th converted. */
function rawRelease(dir: string, rows: { train: number; test: number }): void {
  for (const split of ["train", "test"] as const) {
    const skeleton = Array.from({ length: rows[split] }, (_, i) => {
      const click = i % 5 === 0 ? 1 : 0;
      return `${i + 1},${click},${i % 10 === 0 ? 1 : 0},cf${i % 3},1,205\x02${5000 + (i % 7)}\x031.0`;
    });
    const common = [0, 1, 2].map((k) => `cf${k},1,101\x02${100 + k}\x031.0`);
    fs.writeFileSync(path.join(dir, `sample_skeleton_${split}.csv`), skeleton.join("\n") + "\n");
    fs.writeFileSync(path.join(dir, `common_features_${split}.csv`), common.join("\n") + "\n");
  }
}

test("the raw Ali-CCP release: recognised, validation carved from training by the preparation's seed, keyed by its files", async () => {
  const dir = tempDir("esmm-sources-");
  const release = path.join(dir, "raw");
  fs.mkdirSync(release);
  rawRelease(release, { train: 400, test: 100 });
  const root = path.join(dir, "cache");
  assert.deepEqual(sourceFromFolder(release), { kind: "ali-ccp-raw", dir: release });
  const fields = { categorical: ["101", "205"], numeric: [] };
  const out = await materialize({ kind: "ali-ccp-raw", dir: release, fields, validationFraction: 0.25 }, { negativeKeepRate: 1 }, { root });
  assert.match(path.basename(out), /^ali-ccp-raw-[0-9a-f]{16}$/);
  const { report, source } = readPrepared(out);
  const [train, validation, test] = report.splits;
  assert.equal(train.rows + validation.rows, 400, "every training row is in training or validation");
  assert.ok(validation.rows > 60 && validation.rows < 140, `about a quarter carved out: ${validation.rows}`);
  assert.deepEqual([test.rows, test.clicks, test.conversions], [100, 20, 10]);
  assert.deepEqual((source as { validation: unknown }).validation, { fraction: 0.25, rows: validation.rows });
  assert.equal(await materialize({ kind: "ali-ccp-raw", dir: release, fields, validationFraction: 0.25 }, { negativeKeepRate: 1 }, { root }), out);
  const otherDraw = await materialize({ kind: "ali-ccp-raw", dir: release, fields, validationFraction: 0.25 }, { negativeKeepRate: 1, seed: 8 }, { root });
  assert.notEqual(otherDraw, out);
  assert.notEqual(readPrepared(otherDraw).report.splits[1].rows, validation.rows, "another seed carves another validation split");
});
