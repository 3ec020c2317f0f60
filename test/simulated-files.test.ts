/** Bad simulated-log input yields a clear error naming the file, line and column. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureSimulatedLog, readSimulatedDay, readSimulatedLog, SIMULATED_COLUMNS, writeSimulatedLog } from "../lib/data/simulated-files";
import { DataError } from "../lib/data/errors";
import { tempDir } from "./helpers";

const HEADER = SIMULATED_COLUMNS.join(",");
const GOOD = "3,10,4,2,1,0,1,13,2.5,1,1,1,0.02,0.1";

function write(text: string): string {
  const file = path.join(tempDir(), "day-03.csv");
  fs.writeFileSync(file, text);
  return file;
}

function expectDataError(fn: () => unknown, pattern: RegExp, line?: number, column?: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataError, `not a DataError: ${e}`);
    assert.match(e.message, pattern);
    assert.match(e.message, /day-03\.csv/);
    if (line !== undefined) assert.equal(e.location.line, line);
    if (column !== undefined) assert.equal(e.location.column, column);
    return true;
  });
}

test("a good file without a trailing newline parses", () => {
  const log = readSimulatedDay(write(`${HEADER}\n${GOOD}\n${GOOD}`));
  assert.equal(log.size, 2);
  assert.equal(log.categorical[0][1], 10);
  assert.equal(log.truth!.pConversionGivenClick[0], 0.1);
});

test("missing column", () => {
  expectDataError(() => readSimulatedDay(write(HEADER.replace(",click,", ",") + "\n")), /missing column/, 1, "click");
});

test("non-numeric value names line and column", () => {
  expectDataError(() => readSimulatedDay(write(`${HEADER}\n${GOOD}\n${GOOD.replace("2.5", "abc")}\n`)), /not a number: "abc"/, 3, "user_activity");
});

test("conversion without a click", () => {
  expectDataError(() => readSimulatedDay(write(`${HEADER}\n${GOOD.replace(",1,1,1,0.02", ",1,0,1,0.02")}\n`)), /conversion without a click/, 2, "conversion");
});

test("a label that is not 0/1, a probability outside [0,1], a short row", () => {
  expectDataError(() => readSimulatedDay(write(`${HEADER}\n${GOOD.replace(",1,1,1,0.02", ",1,2,1,0.02")}\n`)), /0 or 1/, 2, "click");
  expectDataError(() => readSimulatedDay(write(`${HEADER}\n${GOOD.replace("0.02", "1.5")}\n`)), /outside \[0, 1\]/, 2, "p_click");
  expectDataError(() => readSimulatedDay(write(`${HEADER}\n1,2,3\n`)), /has 3 values, expected 14/, 2);
});

test("empty file", () => {
  expectDataError(() => readSimulatedDay(write("")), /empty/);
});

test("a truncated day file is caught against the manifest", () => {
  const dir = tempDir();
  writeSimulatedLog({ impressions: 3000, days: 3, users: 50, ads: 10 }, 1, dir);
  const file = path.join(dir, "day-01.csv");
  const lines = fs.readFileSync(file, "utf8").split("\n");
  fs.writeFileSync(file, lines.slice(0, 500).join("\n"));
  assert.throws(() => readSimulatedLog(dir), /day-01\.csv: has 499 rows, the manifest says 1000/);
  assert.throws(() => readSimulatedLog(dir, { days: [9] }), /no day 9/);
});

test("ensureSimulatedLog: onStart once with the day count before the days, onDay after each; a reused log calls neither", () => {
  const dir = tempDir();
  const calls: string[] = [];
  const options = { onStart: (days: number) => calls.push(`start ${days}`), onDay: (day: number, days: number) => calls.push(`day ${day}/${days}`) };
  const config = { impressions: 3000, days: 3, users: 50, ads: 10 };
  const first = ensureSimulatedLog(config, 1, dir, options);
  assert.equal(first.reused, false);
  assert.deepEqual(calls, ["start 3", "day 0/3", "day 1/3", "day 2/3"]);
  const again = ensureSimulatedLog(config, 1, dir, options);
  assert.equal(again.reused, true);
  assert.deepEqual(again.manifest, first.manifest);
  assert.equal(calls.length, 4, "a reused log simulates nothing");
  ensureSimulatedLog(config, 2, dir, options);
  assert.deepEqual(calls.slice(4), ["start 3", "day 0/3", "day 1/3", "day 2/3"], "another seed simulates again");
});
