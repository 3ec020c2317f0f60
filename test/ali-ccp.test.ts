/**
 * Tests of the processed Ali-CCP CSV loader (lib/data/ali-ccp.ts): the sample's counts (test/fixtures/ali-ccp/) and values,
 * the day mapping of the splits, line endings, and one test per kind of bad input (error names file,
 * 1-based line and column). Bad fixtures live in test/fixtures/bad/ali-ccp-*.csv.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadAliCcpCsv, loadAliCcpSplits } from "../lib/data/ali-ccp";
import { DataError } from "../lib/data/errors";
import { FIXTURES_DIR } from "./paths";
import { rejectsAt, tempDir } from "./helpers";

const SAMPLE_DIR = path.join(FIXTURES_DIR, "ali-ccp");
const bad = (name: string) => path.join(FIXTURES_DIR, "bad", name);


function tempFile(name: string, content: string): string {
  const dir = tempDir("ali-ccp-test-"); // removed when the process exits
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

test("sample splits load with the documented counts, days 0/1/2", async () => {
  const { train, val, test: testLog } = await loadAliCcpSplits(SAMPLE_DIR);
  const expected = [
    { log: train, rows: 100, clicks: 7, purchases: 1, day: 0 },
    { log: val, rows: 50, clicks: 3, purchases: 1, day: 1 },
    { log: testLog, rows: 50, clicks: 2, purchases: 1, day: 2 },
  ];
  for (const { log, rows, clicks, purchases, day } of expected) {
    assert.equal(log.size, rows);
    assert.equal(log.click.reduce((s, v) => s + v, 0), clicks);
    assert.equal(log.conversion.reduce((s, v) => s + v, 0), purchases);
    assert.ok(log.day.every((d) => d === day));
    assert.deepEqual(
      { rows: log.report.rows, lines: log.report.lines, clicks: log.report.clicks, conversions: log.report.conversions },
      { rows, lines: rows, clicks, conversions: purchases },
    );
    assert.equal(log.report.droppedConversionWithoutClick, 0);
    for (let i = 0; i < log.size; i++) assert.ok(log.conversion[i] <= log.click[i], "conversion implies click");
  }
});

test("sample schema: sparse columns categorical, D* columns numeric, in header order", async () => {
  const file = path.join(SAMPLE_DIR, "ali_ccp_train_sample.csv");
  const log = await loadAliCcpCsv(file);
  assert.deepEqual(log.schema.categorical, [
    "101", "121", "122", "124", "125", "126", "127", "128", "129",
    "205", "206", "207", "210", "216", "508", "509", "702", "853", "301",
    "109_14", "110_14", "127_14", "150_14",
  ]);
  assert.deepEqual(log.schema.numeric, ["D109_14", "D110_14", "D127_14", "D150_14", "D508", "D509", "D702", "D853"]);
  assert.equal(log.source, file);
  assert.ok(log.day.every((d) => d === 0), "default day is 0");
  assert.equal(log.truth, undefined);

  // Row 3 of the file (data row index 2): 1,1,1,1,1,1,1,0,1,1,1,2,3,3,3,2,2,0,1,1,1,1,1,1,1,0.4734,0.562,0.0856,0.1902,0.5605,0.256,0.4626,0.344
  const col = (name: string) => log.categorical[log.schema.categorical.indexOf(name)];
  const num = (name: string) => log.numeric[log.schema.numeric.indexOf(name)];
  assert.equal(log.click[2], 1);
  assert.equal(log.conversion[2], 1);
  assert.equal(col("126")[2], 0);
  assert.equal(col("205")[2], 2);
  assert.equal(col("206")[2], 3);
  assert.equal(col("509")[2], 0);
  assert.equal(col("853")[2], 1);
  assert.equal(num("D109_14")[2], Math.fround(0.4734));
  assert.equal(num("D509")[2], Math.fround(0.256));
  assert.equal(num("D853")[2], Math.fround(0.344));
});

test("missing trailing newline: the last row of the sample is read (and day option applies)", async () => {
  const file = path.join(SAMPLE_DIR, "ali_ccp_train_sample.csv");
  assert.notEqual(fs.readFileSync(file, "utf8").slice(-1), "\n", "precondition: the sample has no trailing newline");
  const log = await loadAliCcpCsv(file, { day: 5 });
  assert.equal(log.size, 100);
  assert.ok(log.day.every((d) => d === 5));
  const last = log.size - 1;
  // Last line ends with ",0.3508,0.1993,0.0,0.0" = D508, D509, D702, D853.
  assert.equal(log.numeric[log.schema.numeric.indexOf("D508")][last], Math.fround(0.3508));
  assert.equal(log.numeric[log.schema.numeric.indexOf("D509")][last], Math.fround(0.1993));
  assert.equal(log.numeric[log.schema.numeric.indexOf("D853")][last], 0);
});

test("trailing newline, CRLF and no trailing newline give the same log", async () => {
  const rows = ["click,purchase,101,D508", "0,0,7,0.5", "1,1,8,0.25"];
  const variants = [rows.join("\n"), rows.join("\n") + "\n", rows.join("\r\n") + "\r\n", "\ufeff" + rows.join("\n")];
  const logs = await Promise.all(variants.map((content, i) => loadAliCcpCsv(tempFile(`v${i}.csv`, content))));
  for (const log of logs) {
    assert.equal(log.size, 2);
    assert.deepEqual(log.schema, { categorical: ["101"], numeric: ["D508"] });
    assert.deepEqual([...log.categorical[0]], [7, 8]);
    assert.deepEqual([...log.numeric[0]], [0.5, 0.25]);
    assert.deepEqual([...log.click], [0, 1]);
    assert.deepEqual([...log.conversion], [0, 1]);
  }
});

test("bad: header without purchase", async () => {
  const file = bad("ali-ccp-missing-purchase.csv");
  await rejectsAt(loadAliCcpCsv(file), file, 1, "purchase", /missing required column "purchase"/);
});

test("bad: header without click", async () => {
  const file = bad("ali-ccp-missing-click.csv");
  await rejectsAt(loadAliCcpCsv(file), file, 1, "click", /missing required column "click"/);
});

test("bad: non-numeric label", async () => {
  const file = bad("ali-ccp-non-numeric-label.csv");
  await rejectsAt(loadAliCcpCsv(file), file, 3, "purchase", /non-numeric value "yes"/);
});

test("bad: non-numeric dense value", async () => {
  const file = bad("ali-ccp-non-numeric-dense.csv");
  await rejectsAt(loadAliCcpCsv(file), file, 4, "D508", /non-numeric value "n\/a"/);
});

test("bad: non-integer sparse id", async () => {
  const file = bad("ali-ccp-non-numeric-id.csv");
  await rejectsAt(loadAliCcpCsv(file), file, 3, "205", /expected an integer, found non-numeric value "x7"/);
});

test("bad: label that is a number but not 0/1", async () => {
  const file = tempFile("label2.csv", "click,purchase,101\n2,0,1");
  await rejectsAt(loadAliCcpCsv(file), file, 2, "click", /expected 0 or 1, found "2"/);
});

test("bad: too few / too many values on a line", async () => {
  const few = bad("ali-ccp-missing-value.csv");
  await rejectsAt(loadAliCcpCsv(few), few, 3, "D508", /expected 5 comma-separated columns, found 4/);
  const many = bad("ali-ccp-extra-value.csv");
  await rejectsAt(loadAliCcpCsv(many), many, 2, "6", /expected 5 comma-separated columns, found 6/);
});

test("bad: conversion without click is an error by default", async () => {
  const file = bad("ali-ccp-conversion-without-click.csv");
  await rejectsAt(loadAliCcpCsv(file), file, 4, "purchase", /conversion = 1 with click = 0/);
});

test("conversion without click: dropped and counted when the caller opts in", async () => {
  const file = bad("ali-ccp-conversion-without-click.csv");
  const log = await loadAliCcpCsv(file, { onConversionWithoutClick: "drop" });
  assert.equal(log.size, 3);
  assert.deepEqual([...log.categorical[0]], [1, 3, 7], "the row with 101 = 5 was dropped");
  assert.deepEqual([...log.numeric[0]], [0.5, 0.25, 0]);
  assert.deepEqual(log.report, {
    files: [file],
    lines: 4,
    rows: 3,
    clicks: 1,
    conversions: 1,
    droppedConversionWithoutClick: 1,
  });
});

test("bad: empty file names the file", async () => {
  const file = bad("ali-ccp-empty.csv");
  await rejectsAt(loadAliCcpCsv(file), file, undefined, undefined, /empty/);
});

test("bad: header but no data rows", async () => {
  const file = bad("ali-ccp-header-only.csv");
  await rejectsAt(loadAliCcpCsv(file), file, 1, undefined, /no data rows/);
});

test("bad: a file that does not exist names the file", async () => {
  const file = path.join(FIXTURES_DIR, "bad", "no-such-file.csv");
  await rejectsAt(loadAliCcpCsv(file), file, undefined, undefined, /ENOENT/);
});
