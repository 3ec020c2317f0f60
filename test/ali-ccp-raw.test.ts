/**
 * Tests of the raw Ali-CCP loader (lib/data/ali-ccp-raw.ts) on the hand-written fixture
 * test/fixtures/ali-ccp-raw/ (5 skeleton lines, no trailing newline; 3 common-features lines; see its
 * README.md), with expected values computed by hand, plus one test per kind of bad input, written as
 * temporary files (the format needs \x01/\x02/\x03 separators, clearer as escapes here).
 */
import { test, after } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ALI_CCP_DEFAULT_FIELDS, AliCcpRawFields, loadAliCcpRaw, loadAliCcpRawSplits } from "../lib/data/ali-ccp-raw";
import { DataError } from "../lib/data/errors";
import { MISSING_ID } from "../lib/data/schema";
import { FIXTURES_DIR } from "./paths";
import { rejectsAt } from "./helpers";

const RAW_DIR = path.join(FIXTURES_DIR, "ali-ccp-raw");
const SKELETON = path.join(RAW_DIR, "sample_skeleton_train.csv");
const COMMON = path.join(RAW_DIR, "common_features_train.csv");
const _ = MISSING_ID;

/** A small field selection that exercises every case of the fixture. */
const FIELDS: AliCcpRawFields = {
  categorical: ["101", "121", "124", "205", "206", "210", "508", "301", "109_14"],
  numeric: ["508", "109_14"],
};

/** Column `name` of a log as a plain array. */
function column(log: { schema: { categorical: string[]; numeric: string[] }; categorical: Int32Array[]; numeric: Float32Array[] }, name: string): number[] {
  const c = log.schema.categorical.indexOf(name);
  if (c >= 0) return [...log.categorical[c]];
  const n = log.schema.numeric.indexOf(name);
  assert.ok(n >= 0, `no column ${name}`);
  return [...log.numeric[n]];
}

// --- temp files for bad input -------------------------------------------------------------------------

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "ali-ccp-raw-test-"));
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));
let tmpCount = 0;
function tempFile(content: string): string {
  const file = path.join(tmpDir, `f${tmpCount++}.csv`);
  fs.writeFileSync(file, content);
  return file;
}
/** Features as `field\x02id\x03value`, joined by \x01. */
const feats = (...triples: [string, number | string, string][]) => triples.map(([f, i, v]) => `${f}\x02${i}\x03${v}`).join("\x01");
const GOOD_COMMON = `aaaa000000000001,2,${feats(["101", 1, "1.0"], ["121", 2, "1.0"])}\n`;
const goodSkeletonLine = (id: number, click: number, conversion: number) =>
  `${id},${click},${conversion},aaaa000000000001,1,${feats(["205", 10 + id, "1.0"])}`;


// --- the fixture ---------------------------------------------------------------------------------------

test("fixture: join of skeleton and common features, first feature kept per field", async () => {
  const log = await loadAliCcpRaw(SKELETON, COMMON, { fields: FIELDS, day: 3 });
  assert.equal(log.size, 5);
  assert.deepEqual(log.schema, { categorical: FIELDS.categorical, numeric: ["D508", "D109_14"] });
  assert.equal(log.source, `${SKELETON} + ${COMMON}`);
  assert.deepEqual([...log.day], [3, 3, 3, 3, 3]);
  assert.deepEqual([...log.click], [0, 1, 1, 0, 0]);
  assert.deepEqual([...log.conversion], [0, 0, 1, 0, 0]);
  // rows:                           1     2     3     4     5      (common index 1, 1, 2, 3, 1)
  assert.deepEqual(column(log, "101"), [100, 100, 101, 102, 100]);
  assert.deepEqual(column(log, "121"), [201, 201, _, _, 201]);
  assert.deepEqual(column(log, "124"), [_, _, 300, _, _]);
  assert.deepEqual(column(log, "205"), [5001, 5002, 5003, 5004, _]);
  assert.deepEqual(column(log, "206"), [6001, _, _, _, 6002]);
  assert.deepEqual(column(log, "210"), [_, 8001, _, _, _]);
  assert.deepEqual(column(log, "508"), [7001, 7002, _, _, _]);
  assert.deepEqual(column(log, "301"), [_, _, 9001, _, _]);
  assert.deepEqual(column(log, "109_14"), [501, 501, _, _, 501]);
  assert.deepEqual(column(log, "D508"), [Math.fround(0.693147), Math.fround(1.386294), 0, 0, 0]);
  assert.deepEqual(column(log, "D109_14"), [2.5, 2.5, 0, 0, 2.5]);
  assert.deepEqual(log.report, {
    files: [SKELETON, COMMON],
    lines: 5,
    rows: 5,
    clicks: 2,
    conversions: 1,
    droppedConversionWithoutClick: 0,
    commonFeatureLines: 3,
    // 109_14 has two features in common index 1 (rows 1, 2, 5); 210 has two in skeleton row 2.
    multiValuedRows: { "210": 1, "109_14": 3 },
    extraFeaturesIgnored: 4,
    // 999 (common index 2, row 3) and 853 (row 5) are not configured.
    unusedFeatures: 2,
    unusedFields: ["853", "999"],
    stoppedAtMaxRows: false,
  });
});

test("fixture: multiValued 'last' keeps the last feature (as the upstream preprocessors do)", async () => {
  const log = await loadAliCcpRaw(SKELETON, COMMON, { fields: FIELDS, multiValued: "last" });
  assert.deepEqual(column(log, "210"), [_, 8002, _, _, _]);
  assert.deepEqual(column(log, "109_14"), [502, 502, _, _, 502]);
  assert.deepEqual(column(log, "D109_14"), [1.5, 1.5, 0, 0, 1.5]);
  assert.deepEqual(column(log, "101"), [100, 100, 101, 102, 100]);
  assert.deepEqual(log.report.multiValuedRows, { "210": 1, "109_14": 3 });
  assert.equal(log.report.extraFeaturesIgnored, 4);
});

test("fixture with the default fields: same columns as the processed sample files", async () => {
  const log = await loadAliCcpRaw(SKELETON, COMMON);
  const header = fs.readFileSync(path.join(FIXTURES_DIR, "ali-ccp", "ali_ccp_train_sample.csv"), "utf8").split("\n")[0].split(",");
  assert.deepEqual([...log.schema.categorical, ...log.schema.numeric], header.slice(2));
  assert.deepEqual(log.schema.categorical, ALI_CCP_DEFAULT_FIELDS.categorical);
  assert.deepEqual(log.day.every((d) => d === 0), true);
  assert.deepEqual(column(log, "853"), [_, _, _, _, 9501]);
  assert.deepEqual(column(log, "D853"), [0, 0, 0, 0, 0.5]);
  assert.deepEqual(column(log, "122"), [_, _, _, _, _]);
  assert.deepEqual(log.report.unusedFields, ["999"]);
  assert.equal(log.report.unusedFeatures, 1);
});

test("fixture: the skeleton has no trailing newline and its last line is read", async () => {
  assert.notEqual(fs.readFileSync(SKELETON, "utf8").slice(-1), "\n", "precondition");
  const log = await loadAliCcpRaw(SKELETON, COMMON, { fields: FIELDS });
  assert.equal(log.size, 5);
  assert.equal(column(log, "206")[4], 6002);
});

test("fixture: CRLF line endings parse the same", async () => {
  const crlf = (file: string) => tempFile(fs.readFileSync(file, "utf8").split("\n").join("\r\n"));
  const log = await loadAliCcpRaw(crlf(SKELETON), crlf(COMMON), { fields: FIELDS });
  assert.deepEqual(column(log, "206"), [6001, _, _, _, 6002]);
  assert.deepEqual(column(log, "D109_14"), [2.5, 2.5, 0, 0, 2.5]);
});

test("fixture: maxRows stops early and says so", async () => {
  const log = await loadAliCcpRaw(SKELETON, COMMON, { fields: FIELDS, maxRows: 2 });
  assert.equal(log.size, 2);
  assert.equal(log.report.lines, 2);
  assert.equal(log.report.stoppedAtMaxRows, true);
  assert.deepEqual(log.report.multiValuedRows, { "210": 1, "109_14": 2 });
  const all = await loadAliCcpRaw(SKELETON, COMMON, { fields: FIELDS, maxRows: 5 });
  assert.equal(all.report.stoppedAtMaxRows, false);
});

test("loadAliCcpRawSplits: train = day 0, test = day 1", async () => {
  const dir = fs.mkdtempSync(path.join(tmpDir, "release-"));
  for (const split of ["train", "test"]) {
    fs.copyFileSync(SKELETON, path.join(dir, `sample_skeleton_${split}.csv`));
    fs.copyFileSync(COMMON, path.join(dir, `common_features_${split}.csv`));
  }
  const { train, test: testLog } = await loadAliCcpRawSplits(dir, { fields: FIELDS });
  assert.deepEqual([...train.day], [0, 0, 0, 0, 0]);
  assert.deepEqual([...testLog.day], [1, 1, 1, 1, 1]);
});

// --- bad input -----------------------------------------------------------------------------------------

test("bad: skeleton line with a missing column", async () => {
  const common = tempFile(GOOD_COMMON);
  const skeleton = tempFile(`${goodSkeletonLine(1, 0, 0)}\n2,0,0,aaaa000000000001,1\n`);
  await rejectsAt(loadAliCcpRaw(skeleton, common), skeleton, 2, "feature_list", /expected 6 comma-separated columns, found 5/);
});

test("bad: skeleton line with an extra column", async () => {
  const common = tempFile(GOOD_COMMON);
  const skeleton = tempFile(`${goodSkeletonLine(1, 0, 0)},extra`);
  await rejectsAt(loadAliCcpRaw(skeleton, common), skeleton, 1, "7", /found 7/);
});

test("bad: non-numeric click / conversion", async () => {
  const common = tempFile(GOOD_COMMON);
  const s1 = tempFile(`${goodSkeletonLine(1, 0, 0)}\n2,x,0,aaaa000000000001,1,${feats(["205", 1, "1.0"])}`);
  await rejectsAt(loadAliCcpRaw(s1, common), s1, 2, "click", /non-numeric value "x"/);
  const s2 = tempFile(`1,1,,aaaa000000000001,1,${feats(["205", 1, "1.0"])}`);
  await rejectsAt(loadAliCcpRaw(s2, common), s2, 1, "conversion", /empty value/);
});

test("bad: non-numeric feature value and feature id", async () => {
  const common = tempFile(GOOD_COMMON);
  const s1 = tempFile(`1,0,0,aaaa000000000001,2,${feats(["205", 1, "1.0"], ["206", 2, "abc"])}`);
  await rejectsAt(loadAliCcpRaw(s1, common), s1, 1, "feature_list", /feature 2 of 2 .*value: expected a number, found non-numeric value "abc"/);
  const s2 = tempFile(`1,0,0,aaaa000000000001,1,${feats(["205", "12a", "1.0"])}`);
  await rejectsAt(loadAliCcpRaw(s2, common), s2, 1, "feature_list", /feature_id: expected an integer/);
});

test("bad: malformed feature triple", async () => {
  const common = tempFile(GOOD_COMMON);
  const s1 = tempFile(`1,0,0,aaaa000000000001,2,205\x0211\x031.0\x01206\x02121.0`);
  await rejectsAt(loadAliCcpRaw(s1, common), s1, 1, "feature_list", /feature 2 of 2 .*malformed, expected field_id\\x02feature_id\\x03value/);
  const s2 = tempFile(`1,0,0,aaaa000000000001,1,\x0211\x031.0`);
  await rejectsAt(loadAliCcpRaw(s2, common), s2, 1, "feature_list", /malformed/);
});

test("bad: feature_num does not match the list", async () => {
  const common = tempFile(GOOD_COMMON);
  const s1 = tempFile(`1,0,0,aaaa000000000001,3,${feats(["205", 1, "1.0"], ["206", 2, "1.0"])}`);
  await rejectsAt(loadAliCcpRaw(s1, common), s1, 1, "feature_num", /feature_num is 3 but feature_list has 2 features/);
  const s2 = tempFile(`1,0,0,aaaa000000000001,two,${feats(["205", 1, "1.0"])}`);
  await rejectsAt(loadAliCcpRaw(s2, common), s2, 1, "feature_num", /expected an integer/);
});

test("bad: unknown common_feature_index", async () => {
  const common = tempFile(GOOD_COMMON);
  const skeleton = tempFile(`${goodSkeletonLine(1, 0, 0)}\n${goodSkeletonLine(2, 0, 0)}\n3,0,0,ffff000000000009,1,${feats(["205", 1, "1.0"])}\n`);
  await rejectsAt(loadAliCcpRaw(skeleton, common), skeleton, 3, "common_feature_index", /unknown common_feature_index "ffff000000000009"/);
});

test("bad: common-features file errors (column count, feature_num, duplicate index, value)", async () => {
  const skeleton = tempFile(goodSkeletonLine(1, 0, 0));
  const c1 = tempFile(`${GOOD_COMMON}bbbb000000000002,${feats(["101", 3, "1.0"])}\n`);
  await rejectsAt(loadAliCcpRaw(skeleton, c1), c1, 2, "feature_list", /expected 3 comma-separated columns, found 2/);
  const c2 = tempFile(`${GOOD_COMMON}bbbb000000000002,2,${feats(["101", 3, "1.0"])}\n`);
  await rejectsAt(loadAliCcpRaw(skeleton, c2), c2, 2, "feature_num", /feature_num is 2 but feature_list has 1/);
  const c3 = tempFile(`${GOOD_COMMON}${GOOD_COMMON}`);
  await rejectsAt(loadAliCcpRaw(skeleton, c3), c3, 2, "common_feature_index", /duplicate common_feature_index "aaaa000000000001" \(first at line 1\)/);
  const c4 = tempFile(`aaaa000000000001,1,${feats(["109_14", 3, "NaN"])}`);
  await rejectsAt(loadAliCcpRaw(skeleton, c4), c4, 1, "feature_list", /value: expected a number, found non-numeric value "NaN"/);
});

test("bad: conversion without click is an error by default", async () => {
  const common = tempFile(GOOD_COMMON);
  const skeleton = tempFile([goodSkeletonLine(1, 0, 0), goodSkeletonLine(2, 0, 1), goodSkeletonLine(3, 1, 1)].join("\n"));
  await rejectsAt(loadAliCcpRaw(skeleton, common), skeleton, 2, "conversion", /conversion = 1 with click = 0/);
});

test("conversion without click: dropped and counted when the caller opts in", async () => {
  const common = tempFile(GOOD_COMMON);
  const skeleton = tempFile([goodSkeletonLine(1, 0, 0), goodSkeletonLine(2, 0, 1), goodSkeletonLine(3, 1, 1)].join("\n"));
  const log = await loadAliCcpRaw(skeleton, common, { onConversionWithoutClick: "drop", fields: { categorical: ["205"], numeric: [] } });
  assert.equal(log.size, 2);
  assert.deepEqual(column(log, "205"), [11, 13]);
  assert.deepEqual([...log.click], [0, 1]);
  assert.deepEqual([...log.conversion], [0, 1]);
  assert.equal(log.report.lines, 3);
  assert.equal(log.report.rows, 2);
  assert.equal(log.report.droppedConversionWithoutClick, 1);
  assert.equal(log.report.clicks, 1);
  assert.equal(log.report.conversions, 1);
  // the dropped row's features are not counted; the kept rows' common features 101/121 are unused here
  assert.equal(log.report.unusedFeatures, 4);
  assert.deepEqual(log.report.unusedFields, ["101", "121"]);
});

test("bad: empty files name the file", async () => {
  const common = tempFile(GOOD_COMMON);
  const emptySkeleton = tempFile("");
  await rejectsAt(loadAliCcpRaw(emptySkeleton, common), emptySkeleton, undefined, undefined, /empty/);
  const emptyCommon = tempFile("");
  await rejectsAt(loadAliCcpRaw(tempFile(goodSkeletonLine(1, 0, 0)), emptyCommon), emptyCommon, undefined, undefined, /empty/);
});

test("bad: a missing file names the file", async () => {
  const missing = path.join(tmpDir, "sample_skeleton_nope.csv");
  await rejectsAt(loadAliCcpRaw(missing, tempFile(GOOD_COMMON)), missing, undefined, undefined, /ENOENT/);
});

test("bytes that are not UTF-8 are refused naming the file, line and byte; encoding latin1 reads both files so (the index joins)", async () => {
  // a Latin-1 é (the single byte 0xe9) in a common_feature_index, used by the skeleton's second line
  const index = Buffer.from("aaaa00000000000\xe9", "latin1");
  const common = path.join(tmpDir, `latin1-common-${tmpCount++}.csv`);
  fs.writeFileSync(common, Buffer.concat([Buffer.from(GOOD_COMMON), index, Buffer.from(`,1,${feats(["101", 7, "1.0"])}\n`)]));
  const skeleton = path.join(tmpDir, `latin1-skeleton-${tmpCount++}.csv`);
  fs.writeFileSync(skeleton, Buffer.concat([Buffer.from(goodSkeletonLine(1, 1, 0) + "\n2,0,0,"), index, Buffer.from(`,1,${feats(["205", 12, "1.0"])}\n`)]));
  await rejectsAt(loadAliCcpRaw(skeleton, common, { fields: FIELDS }), common, 2, undefined, /byte 16 of the line \(0xe9.*is not UTF-8.*--encoding latin1/);
  const utf8Common = tempFile(GOOD_COMMON); // the skeleton alone, after a common file that is UTF-8
  await rejectsAt(loadAliCcpRaw(skeleton, utf8Common, { fields: FIELDS }), skeleton, 2, undefined, /byte 22 of the line \(0xe9/);
  const log = await loadAliCcpRaw(skeleton, common, { fields: FIELDS, encoding: "latin1" });
  assert.equal(log.size, 2);
  assert.deepEqual(column(log, "101"), [1, 7], "the second row joined the Latin-1 index's features");
});
