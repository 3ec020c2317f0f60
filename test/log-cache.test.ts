/**
 * The binary cache log.bin of a simulated log: the same arrays as the CSV parse, and never used when it is
 * stale (another manifest, an edited day file) or bad (truncated, damaged, not a cache): then the CSV files
 * are parsed, stderr says so once, and the cache is rewritten.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { LOG_CACHE_FILE } from "../lib/data/log-cache";
import { ImpressionLog } from "../lib/data/schema";
import { dayFileName, loadSimulatedLog, readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { tempDir } from "./helpers";

const CONFIG = { impressions: 6_000, days: 4, users: 120, ads: 40 };

function simulated(): string {
  const dir = tempDir();
  writeSimulatedLog(CONFIG, 11, dir);
  return dir;
}

/** Runs `fn` with process.stderr.write captured; returns its result and what it wrote. */
function withStderr<T>(fn: () => T): { value: T; stderr: string } {
  const original = process.stderr.write;
  let stderr = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { value: fn(), stderr };
  } finally {
    process.stderr.write = original;
  }
}

/** Every column, element by element, with its typed-array type, plus size, schema and source. */
function assertSameLog(actual: ImpressionLog, expected: ImpressionLog): void {
  assert.equal(actual.size, expected.size);
  assert.deepEqual(actual.schema, expected.schema);
  assert.equal(actual.source, expected.source);
  const columns = (l: ImpressionLog) => ({
    day: l.day,
    click: l.click,
    conversion: l.conversion,
    ...Object.fromEntries(l.categorical.map((c, f) => [`categorical:${l.schema.categorical[f]}`, c])),
    ...Object.fromEntries(l.numeric.map((c, f) => [`numeric:${l.schema.numeric[f]}`, c])),
    pClick: l.truth?.pClick,
    pConversionGivenClick: l.truth?.pConversionGivenClick,
  });
  const a = columns(actual);
  const e = columns(expected);
  assert.deepEqual(Object.keys(a), Object.keys(e));
  assert.equal(Object.keys(a).length, 3 + 7 + 2 + 2);
  for (const name of Object.keys(e) as (keyof typeof e)[]) {
    const [x, y] = [a[name]!, e[name]!];
    assert.equal(x.constructor, y.constructor, `${name}: type`);
    assert.equal(x.length, y.length, `${name}: length`);
    for (let i = 0; i < y.length; i++) if (!Object.is(x[i], y[i])) assert.fail(`${name}[${i}]: ${x[i]} from the cache, ${y[i]} from the CSV`);
  }
}

/** Replaces `from` by `to` (same length) in log.bin's JSON header, leaving the data and its checksum alone. */
function editHeader(dir: string, from: string, to: string): void {
  assert.equal(from.length, to.length);
  const file = path.join(dir, LOG_CACHE_FILE);
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(from, 0, "latin1");
  assert.ok(at > 0, `${from} not in the header`);
  bytes.write(to, at, "latin1");
  fs.writeFileSync(file, bytes);
}

test("the cache gives exactly the CSV parse's arrays, whole log and any days in any order", () => {
  const dir = simulated();
  const csv = readSimulatedLog(dir, { cache: false });
  assert.ok(!fs.existsSync(path.join(dir, LOG_CACHE_FILE)), "cache: false writes no cache");

  const first = loadSimulatedLog(dir);
  assert.deepEqual([first.from, first.cacheWritten, first.cacheMiss], ["csv", true, "no cache file"]);
  assertSameLog(first.log, csv);

  const second = loadSimulatedLog(dir);
  assert.deepEqual([second.from, second.cacheWritten, second.cacheMiss], ["cache", false, undefined]);
  assertSameLog(second.log, csv);
  assert.equal(second.log.size, CONFIG.impressions);

  for (const days of [[2], [3, 0], [0, 1, 2, 3]]) {
    const fromCache = loadSimulatedLog(dir, { days });
    assert.equal(fromCache.from, "cache");
    assertSameLog(fromCache.log, readSimulatedLog(dir, { days, cache: false }));
  }
  // a subset read from the CSV files does not write a cache
  const other = simulated();
  assert.equal(loadSimulatedLog(other, { days: [1] }).cacheWritten, false);
  assert.ok(!fs.existsSync(path.join(other, LOG_CACHE_FILE)));
  assert.throws(() => readSimulatedLog(dir, { days: [9] }), /no day 9/);
});

test("a cache with a wrong manifest hash is ignored, said on stderr once, and rewritten", () => {
  const dir = simulated();
  loadSimulatedLog(dir);
  const header = fs.readFileSync(path.join(dir, LOG_CACHE_FILE)).toString("latin1", 0, 4000);
  const hash = /"manifestSha256":"([0-9a-f]{64})"/.exec(header)![1];
  editHeader(dir, hash, hash.replace(/^./, hash[0] === "0" ? "1" : "0"));

  const { value, stderr } = withStderr(() => loadSimulatedLog(dir));
  assert.deepEqual([value.from, value.cacheWritten], ["csv", true]);
  assert.match(value.cacheMiss!, /another manifest\.json/);
  assert.equal(stderr.trim().split("\n").length, 1, stderr);
  assert.match(stderr, /log\.bin: made from another manifest\.json .*not used, reading the CSV files instead/);
  assert.doesNotMatch(stderr, /Error/, "the notebook check treats 'Error' on stderr as a failure");
  assertSameLog(value.log, readSimulatedLog(dir, { cache: false }));
  assert.ok(fs.readFileSync(path.join(dir, LOG_CACHE_FILE)).toString("latin1", 0, 4000).includes(hash), "rewritten with the right hash");
  assert.equal(withStderr(() => loadSimulatedLog(dir)).value.from, "cache");

  // a regenerated log with another seed: a new manifest, the old cache is not used
  writeSimulatedLog(CONFIG, 12, dir);
  const regenerated = withStderr(() => loadSimulatedLog(dir));
  assert.equal(regenerated.value.from, "csv");
  assertSameLog(regenerated.value.log, readSimulatedLog(dir, { cache: false }));
});

test("a truncated, damaged or foreign log.bin is never used: CSV parse, one stderr line, rewritten", () => {
  const dir = simulated();
  const csv = readSimulatedLog(dir, { cache: false });
  loadSimulatedLog(dir);
  const file = path.join(dir, LOG_CACHE_FILE);
  const good = fs.readFileSync(file);
  const damaged = Buffer.from(good);
  damaged[good.length - 5000] ^= 0x40; // inside the p_conversion_given_click column
  const cases: [string, Buffer, RegExp][] = [
    ["truncated", good.subarray(0, good.length - 1), /truncated: \d+ bytes, expected \d+/],
    ["cut inside the header", good.subarray(0, 100), /truncated: 100 bytes, shorter than its own header/],
    ["too long", Buffer.concat([good, Buffer.alloc(8)]), /too long/],
    ["damaged", damaged, /damaged: the data's sha256 differs/],
    ["empty", Buffer.alloc(0), /empty file \(0 bytes\)/],
    ["foreign", Buffer.from("day,user\n1,2\n"), /not a log cache/],
  ];
  for (const [name, bytes, pattern] of cases) {
    fs.writeFileSync(file, bytes);
    const { value, stderr } = withStderr(() => loadSimulatedLog(dir));
    assert.equal(value.from, "csv", name);
    assert.match(value.cacheMiss!, pattern, name);
    assert.equal(stderr.trim().split("\n").length, 1, `${name}: ${stderr}`);
    assert.ok(stderr.includes(file) && pattern.test(stderr), `${name}: ${stderr}`);
    assertSameLog(value.log, csv);
    assert.ok(fs.readFileSync(file).equals(good), `${name}: rewritten byte for byte`);
  }
  // the same problem twice in one process: said once
  fs.writeFileSync(file, Buffer.alloc(0));
  assert.equal(withStderr(() => loadSimulatedLog(dir)).stderr, "");
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes(".tmp-")), [], "no temporary files left");
});

test("an edited day file makes the cache stale: the CSV is parsed (and checked) again", () => {
  const dir = simulated();
  loadSimulatedLog(dir);
  const file = path.join(dir, dayFileName(2));
  const text = fs.readFileSync(file, "utf8");
  const lines = text.split("\n");
  const cells = lines[1].split(",");
  cells[12] = "0.5"; // p_click of the first row, same row count
  lines[1] = cells.join(",");
  fs.writeFileSync(file, lines.join("\n"));
  const edited = withStderr(() => loadSimulatedLog(dir));
  assert.equal(edited.value.from, "csv");
  assert.match(edited.stderr, /day-02\.csv changed since the cache was made/);
  const offset = 2 * (CONFIG.impressions / CONFIG.days);
  assert.equal(edited.value.log.truth!.pClick[offset], 0.5);
  assert.equal(loadSimulatedLog(dir).log.truth!.pClick[offset], 0.5, "the rewritten cache has the edit");

  // an edit that breaks the CSV fails the read, however good the cache was
  cells[12] = "1.5";
  lines[1] = cells.join(",");
  fs.writeFileSync(file, lines.join("\n"));
  assert.throws(() => withStderr(() => loadSimulatedLog(dir)), /day-02\.csv:2 column "p_click": probability outside \[0, 1\]/);
});
