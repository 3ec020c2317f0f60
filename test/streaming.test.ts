/**
 * Ali-CCP at full size (issue 15, point 3): the loaders stream, so memory grows with the log's columns, not with
 * the CSV text. On synthetic files in the processed Ali-CCP layout (lib/data/ali-ccp-synthetic.ts):
 * - the streamed loaders and `prepareCsv` give exactly what an in-memory parse of the whole text gives;
 * - the three processed files streamed into one log equal the concatenation of their three logs;
 * - `countLines` counts the lines `readLines` yields, for every ending;
 * - loading a 170 MB file fits a V8 heap capped at 32 MB (a whole-file string cannot), and the process's peak
 *   RSS grows by under 230 bytes a row (the log takes 130; the former doubling buffers took ~280).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR, PROJECT_DIR } from "./paths";
import { tempDir } from "./helpers";
import { syntheticAliCcpCategorical, syntheticAliCcpColumns, writeSyntheticAliCcp } from "../lib/data/ali-ccp-synthetic";
import { loadAliCcpCsv, loadAliCcpSplits, loadAliCcpSplitsLog } from "../lib/data/ali-ccp";
import { carveSplits, prepareCsv } from "../lib/data/csv-log";
import { DataError } from "../lib/data/errors";
import { countLines, readLines, splitLines } from "../lib/data/line-reader";
import { prepare, PreparedData } from "../lib/data/prepare";
import { EncodedSplit } from "../lib/data/encoded";
import { ImpressionLog, allocateLog, concatLogs } from "../lib/data/schema";

/** The reference: the whole text in memory, split into lines and values, `Number` for every value. */
function parseInMemory(file: string, day: number): ImpressionLog {
  const lines = splitLines(fs.readFileSync(file, "utf8"));
  const names = lines[0].split(",");
  const categorical = names.filter((n) => n !== "click" && n !== "purchase" && !n.startsWith("D"));
  const numeric = names.filter((n) => n.startsWith("D"));
  const log = allocateLog({ categorical, numeric }, lines.length - 1, file, false);
  for (let r = 0; r < log.size; r++) {
    const values = lines[r + 1].split(",").map(Number);
    const at = (name: string) => values[names.indexOf(name)];
    log.day[r] = day;
    log.click[r] = at("click");
    log.conversion[r] = at("purchase");
    categorical.forEach((n, f) => (log.categorical[f][r] = at(n)));
    numeric.forEach((n, f) => (log.numeric[f][r] = at(n)));
  }
  return log;
}

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function assertSameLog(got: ImpressionLog, want: ImpressionLog): void {
  assert.equal(got.size, want.size);
  assert.deepEqual(got.schema, want.schema);
  for (const [name, a, b] of [
    ["day", got.day, want.day],
    ["click", got.click, want.click],
    ["conversion", got.conversion, want.conversion],
    ...got.categorical.map((c, f) => [got.schema.categorical[f], c, want.categorical[f]] as const),
    ...got.numeric.map((c, f) => [got.schema.numeric[f], c, want.numeric[f]] as const),
  ] as const) {
    assert.ok(bytes(a).equals(bytes(b)), `column ${name} differs`);
  }
}

function assertSameSplit(got: EncodedSplit, want: EncodedSplit): void {
  assert.equal(got.size, want.size, got.name);
  for (const key of ["categorical", "numeric", "click", "conversion", "weight", "day"] as const) {
    assert.ok(bytes(got[key]).equals(bytes(want[key])), `${got.name}: ${key} differs`);
  }
}

function assertSamePrepared(got: PreparedData, want: PreparedData): void {
  assertSameSplit(got.train, want.train);
  assertSameSplit(got.validation, want.validation);
  assertSameSplit(got.test, want.test);
  assert.deepEqual(got.vocabularies, want.vocabularies);
  assert.deepEqual(got.scalers, want.scalers);
  assert.deepEqual(got.report, want.report);
}

test("streamed loading and prepareCsv equal an in-memory parse of the whole text (150,000 synthetic rows)", async () => {
  const file = path.join(tempDir(), "ali_ccp_train.csv");
  writeSyntheticAliCcp(file, 150_000, 3);
  const reference = parseInMemory(file, 0);
  assert.ok(reference.click.includes(1) && reference.conversion.includes(1), "the sample has clicks and conversions");

  const progress: [number, number][] = [];
  const streamed = await loadAliCcpCsv(file, { onProgress: (rows, total) => progress.push([rows, total]) });
  assertSameLog(streamed, reference);
  assert.equal(streamed.report.rows, 150_000);
  assert.deepEqual(progress, [[65_535, 150_000], [131_071, 150_000], [150_000, 150_000]], "progress every 65,536 lines, then done");

  const columns = {
    click: "click",
    conversion: "purchase",
    categorical: syntheticAliCcpCategorical(),
    numeric: ["D*"],
    ignore: [],
    notLabel: [],
  };
  const { prepared } = await prepareCsv([{ file, role: "train" }], columns, { seed: 5 });
  carveSplits(reference, { validation: true, test: true }, { seed: 5 });
  const plan = { trainDays: [0], validationDay: 1, testDay: 2, laterDays: [] };
  assertSamePrepared(prepared, prepare(reference, { plan, seed: 5 }));
});

test("a file that grows while it is read: a DataError naming the file and the first line beyond the count, in both loaders", async () => {
  const file = path.join(tempDir(), "ali_ccp_train.csv");
  writeSyntheticAliCcp(file, 70_000, 4);
  const lastLine = fs.readFileSync(file, "utf8").trimEnd().split("\n").pop()!;
  // the first progress call comes at line 65,536 of 70,000: the reader has not reached the end, so it reads what is appended
  const growOnce = () => {
    let grown = false;
    return () => {
      if (!grown) fs.appendFileSync(file, `${lastLine}\n`.repeat(3));
      grown = true;
    };
  };
  const message = `${file}:70002: more data lines than the 70,000 counted before reading: the file grew while it was read; read it once it is complete`;
  await assert.rejects(loadAliCcpCsv(file, { onProgress: growOnce() }), (e: unknown) => e instanceof DataError && e.message === message);
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").split("\n").slice(0, 70_001).join("\n") + "\n"); // back to 70,000 rows
  const columns = { click: "click", conversion: "purchase", categorical: syntheticAliCcpCategorical(), numeric: ["D*"], ignore: [], notLabel: [] };
  await assert.rejects(prepareCsv([{ file, role: "train" }], columns, { seed: 5, onProgress: growOnce() }), (e: unknown) => e instanceof DataError && e.message === message);
});

test("the three Ali-CCP files streamed into one log equal the concatenation of their logs, reports included", async () => {
  const dir = path.join(FIXTURES_DIR, "ali-ccp");
  const { log, reports } = await loadAliCcpSplitsLog(dir);
  const { train, val, test: testLog } = await loadAliCcpSplits(dir);
  assertSameLog(log, concatLogs([train, val, testLog]));
  assert.equal(log.source, concatLogs([train, val, testLog]).source);
  assert.deepEqual(reports, { train: train.report, val: val.report, test: testLog.report });

  const other = tempDir();
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".csv"))) fs.copyFileSync(path.join(dir, f), path.join(other, f));
  const val2 = path.join(other, "ali_ccp_val_sample.csv");
  fs.writeFileSync(val2, fs.readFileSync(val2, "utf8").replace(/^click,purchase,101,121,/, "click,purchase,121,101,"));
  await assert.rejects(loadAliCcpSplitsLog(other), { message: `concatLogs: schema of ${val2} differs from ${path.join(other, "ali_ccp_train_sample.csv")}` });
});

test("countLines counts the lines readLines yields: \\n or \\r\\n, with or without a last newline, across chunks", async () => {
  const dir = tempDir();
  const texts = ["", "a", "a\n", "a\nb", "\n", "\n\n", "\ufeffh\r\n1\r\n2", "h\n1\n\n2\n", "x".repeat(10) + "\n" + "y".repeat(7)];
  for (const [i, text] of texts.entries()) {
    const file = path.join(dir, `t${i}.txt`);
    fs.writeFileSync(file, text);
    let yielded = 0;
    for await (const _ of readLines(file, { chunkBytes: 3 })) yielded++;
    assert.equal(countLines(file, { chunkBytes: 4 }), yielded, JSON.stringify(text));
    assert.equal(countLines(file), yielded, JSON.stringify(text));
  }
  assert.throws(() => countLines(path.join(dir, "missing.csv")), /missing\.csv: cannot read file \(ENOENT\)/);
});

test("a 170 MB file loads in a 32 MB V8 heap, and peak RSS grows by under 230 bytes a row (the log takes 130)", () => {
  const rows = 1_200_000;
  const file = path.join(tempDir(), "big.csv");
  const size = writeSyntheticAliCcp(file, rows, 4);
  assert.ok(size > 160e6, `file of ${size} bytes`);
  const script = `
    const { loadAliCcpCsv } = require(${JSON.stringify(path.join(PROJECT_DIR, "build", "lib", "data", "ali-ccp.js"))});
    const before = process.memoryUsage().rss;
    loadAliCcpCsv(process.argv[1]).then((log) => {
      const peak = process.resourceUsage().maxRSS * 1024;
      console.log(JSON.stringify({ rows: log.size, columns: log.schema.categorical.length + log.schema.numeric.length, before, peak }));
    });`;
  const r = spawnSync(process.execPath, ["--max-old-space-size=32", "-e", script, file], { encoding: "utf8" });
  assert.equal(r.status, 0, `the loader needs more than a 32 MB heap for a ${size}-byte file: ${r.stderr.slice(0, 500)}`);
  const m = JSON.parse(r.stdout) as { rows: number; columns: number; before: number; peak: number };
  assert.equal(m.rows, rows);
  assert.equal(m.columns, syntheticAliCcpColumns().length - 2);
  const perRow = (m.peak - m.before) / rows;
  assert.ok(perRow < 230, `peak RSS grew by ${perRow.toFixed(0)} bytes a row (${((m.peak - m.before) / 2 ** 20).toFixed(0)} MiB for ${rows} rows)`);
  assert.ok(perRow >= 100, `peak RSS grew by ${perRow.toFixed(0)} bytes a row: less than the log itself (130)?`);
});
