/**
 * Inputs that can't be trusted are refused or made explicit (issue 25, point 2): bytes that are not UTF-8
 * (unless --encoding latin1), a gzip file, CR-only line ends, one file in two roles (by path or by link),
 * integer ids written differently across files, numbers beyond float32, a feature that recodes a label,
 * degenerate splits, a prepared folder whose input changed since. Each refusal is one line naming the file, line and column (or option), exit 2, nothing
 * written.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { PROJECT_DIR } from "./paths";
import { rng, tempDir } from "./helpers";
import { CsvColumns, loadCsvLog } from "../lib/data/csv-log";
import { readLines } from "../lib/data/line-reader";
import { DataError } from "../lib/data/errors";
import { degenerateSplitLines, PrepareReport } from "../lib/data/prepare";
import { PREPARED_FILE, PreparedInput, readPrepared } from "../lib/data/prepared-files";
import { createHash } from "node:crypto";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
const run = (...args: string[]) => spawnSync(process.execPath, [ESMM, ...args], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } });

function oneLineExit2(r: ReturnType<typeof run>, ...patterns: RegExp[]): void {
  assert.equal(r.status, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.ok(/^esmm: [^\n]+\n$/.test(r.stderr), `not exactly one line: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr.trimEnd(), p);
}

const COLUMNS: CsvColumns = { click: "click", conversion: "conversion", categorical: ["user", "ad"], numeric: ["x"], ignore: [], notLabel: [] };
const LAYOUT = ["--categorical", "user,ad", "--numeric", "x"];

/** A log of `rows` rows: user (text or digits from `user`), ad (digits), x, click, conversion; extra columns appended. */
function csvText(rows: number, seed: number, o: { user?: (i: number) => string; x?: (i: number) => string; extra?: { name: string; value: (click: number, conversion: number, i: number) => string }[] } = {}): string {
  const u = rng(seed);
  const lines = [["user", "ad", "x", "click", "conversion", ...(o.extra ?? []).map((e) => e.name)].join(",")];
  for (let i = 0; i < rows; i++) {
    const click = u() < 0.3 ? 1 : 0;
    const conversion = click && u() < 0.4 ? 1 : 0;
    lines.push([o.user ? o.user(i) : String(i % 7), String(Math.floor(u() * 9)), o.x ? o.x(i) : u().toFixed(3), click, conversion, ...(o.extra ?? []).map((e) => e.value(click, conversion, i))].join(","));
  }
  return lines.join("\n") + "\n";
}

function write(dir: string, name: string, content: string | Buffer): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, content);
  return f;
}

test("bytes that are not UTF-8 are refused with file, line and byte; --encoding latin1 reads them, distinct values stay distinct", async () => {
  const dir = tempDir("esmm-enc-");
  const names = ["Müller", "Möller", "Mäller"];
  const text = csvText(300, 1, { user: (i) => names[i % 3] });
  const latin1 = write(dir, "latin1.csv", Buffer.from(text, "latin1"));
  const out = path.join(dir, "prepared");
  // line 2 is the first data row: "Müller" with ü as the single byte 0xfc, the 2nd byte of the line
  oneLineExit2(run("prepare", "--csv", latin1, ...LAYOUT, "--out", out), /latin1\.csv:2: byte 2 of the line \(0xfc/, /--encoding latin1/);
  assert.ok(!fs.existsSync(out), "nothing written");
  const ok = run("prepare", "--csv", latin1, ...LAYOUT, "--encoding", "latin1", "--out", out);
  assert.equal(ok.status, 0, ok.stderr);
  const log = await loadCsvLog([{ file: latin1, role: "train" }], COLUMNS, { encoding: "latin1" });
  assert.equal(new Set(log.categorical[0]).size, 3, "three names, three ids");
  oneLineExit2(run("prepare", "--csv", latin1, ...LAYOUT, "--encoding", "cp1252", "--out", out), /--encoding must be utf8 or latin1, got "cp1252"/);
  oneLineExit2(run("prepare", "--data", dir, "--encoding", "latin1", "--out", out), /--encoding applies to --csv only/);
  // UTF-8 text (two-byte ü, a four-byte emoji split across 3-byte chunks) reads as written
  const utf8 = write(dir, "utf8.csv", "a,b\nMüller,😀\n");
  const lines: string[] = [];
  for await (const { text: l } of readLines(utf8, { chunkBytes: 3 })) lines.push(l);
  assert.deepEqual(lines, ["a,b", "Müller,😀"]);
  // overlong and surrogate encodings are not UTF-8 either
  for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
    const f = write(dir, "bad.csv", Buffer.concat([Buffer.from("a\nx"), Buffer.from(bad), Buffer.from("\n")]));
    await assert.rejects(async () => {
      for await (const _ of readLines(f)) void _;
    }, (e: unknown) => e instanceof DataError && /bad\.csv:2: byte 2 of the line/.test(e.message));
  }
});

test("a gzip file and CR-only line ends are refused on their first line", () => {
  const dir = tempDir("esmm-gz-");
  const text = csvText(50, 2);
  const gz = write(dir, "log.csv.gz", zlib.gzipSync(text));
  const out = path.join(dir, "prepared");
  oneLineExit2(run("prepare", "--csv", gz, ...LAYOUT, "--out", out), /log\.csv\.gz: is gzip-compressed: decompress it first/);
  const cr = write(dir, "cr.csv", text.replace(/\n/g, "\r"));
  oneLineExit2(run("prepare", "--csv", cr, ...LAYOUT, "--out", out), /cr\.csv:1: a carriage return at character 27: the file's lines end in CR alone/);
  assert.ok(!fs.existsSync(out));
});

test("one file in two roles, by path or by link, is refused; two files of one role are read", () => {
  const dir = tempDir("esmm-same-");
  const a = write(dir, "a.csv", csvText(400, 3));
  const b = write(dir, "b.csv", csvText(400, 4));
  const link = path.join(dir, "link.csv");
  fs.linkSync(a, link);
  const out = path.join(dir, "prepared");
  oneLineExit2(run("prepare", "--csv", `${a},${a}`, ...LAYOUT, "--out", out), /a\.csv: is given twice \(as train and as test\): each file may be read once/);
  oneLineExit2(run("prepare", "--csv", `train=${a},train=${a}`, ...LAYOUT, "--out", out), /a\.csv: is given twice \(as train and as train\)/);
  oneLineExit2(run("prepare", "--csv", `train=${a},test=${link}`, ...LAYOUT, "--out", out), /link\.csv: is the same file as .*a\.csv \(as train and as test\)/);
  assert.ok(!fs.existsSync(out));
  const ok = run("prepare", "--csv", `train=${a},train=${b}`, ...LAYOUT, "--out", out);
  assert.equal(ok.status, 0, ok.stderr);
});

test("integer ids are one id however written (3, 3.0, \"3\", +3) across files; other text keeps its own id", async () => {
  const dir = tempDir("esmm-ids-");
  const forms = [(n: number) => `${n}.0`, (n: number) => `"${n}"`, (n: number) => `+${n}`, (n: number) => `"${n}.00"`];
  const plain = write(dir, "plain.csv", csvText(200, 5, { user: (i) => String(i % 7) }));
  const other = write(dir, "other.csv", csvText(200, 5, { user: (i) => forms[i % 4](i % 7) }));
  const log = await loadCsvLog([{ file: plain, role: "train" }, { file: other, role: "test" }], COLUMNS);
  const ids = log.categorical[0];
  assert.deepEqual([...ids.subarray(0, 200)], [...ids.subarray(200, 400)], "the same ids in both files");
  const text = write(dir, "text.csv", csvText(20, 6, { user: (i) => ["US", '"US"', "3.5", ""][i % 4] }));
  const t = await loadCsvLog([{ file: text, role: "train" }], COLUMNS);
  assert.deepEqual([...t.categorical[0].subarray(0, 4)], [-2, -2, -3, -1], "US and \"US\" one id, 3.5 text, empty missing");
});

test("a numeric value beyond float32 is refused with file, line and column (1e39, and a 40-digit plain number)", () => {
  const dir = tempDir("esmm-f32-");
  const out = path.join(dir, "prepared");
  for (const big of ["1e39", "-4e38", "1" + "0".repeat(39)]) {
    const f = write(dir, "big.csv", csvText(100, 7, { x: (i) => (i === 41 ? big : "0.5") }));
    oneLineExit2(run("prepare", "--csv", f, ...LAYOUT, "--out", out), /big\.csv:43 column "x": number ".*" does not fit a 32-bit float/);
  }
  const f = write(dir, "ok.csv", csvText(300, 7, { x: (i) => (i === 41 ? "3e38" : "0.5") }));
  assert.equal(run("prepare", "--csv", f, ...LAYOUT, "--out", out).status, 0);
  assert.ok(fs.existsSync(path.join(out, "prepared.json")));
});

test("a feature that is any one-to-one recoding of a label is refused (noclick = 1 - click, yes/no text); --not-label lifts it", () => {
  const dir = tempDir("esmm-recode-");
  const out = path.join(dir, "prepared");
  const noclick = write(dir, "noclick.csv", csvText(400, 8, { extra: [{ name: "noclick", value: (c) => String(1 - c) }] }));
  oneLineExit2(
    run("prepare", "--csv", noclick, "--categorical", "user,ad", "--numeric", "x,noclick", "--out", out),
    /noclick\.csv column "noclick": feature column is a one-to-one mapping of a label on all 400 rows \("noclick" is 1 where "click" is 0 and 0 where it is 1\)/,
    /--not-label noclick/,
  );
  const bought = write(dir, "bought.csv", csvText(400, 9, { extra: [{ name: "bought", value: (_c, v) => (v ? "yes" : "no") }] }));
  oneLineExit2(run("prepare", "--csv", bought, "--categorical", "user,ad,bought", "--numeric", "x", "--out", out), /"bought" is text id -\d+ where "conversion" is 0/);
  assert.ok(!fs.existsSync(out));
  const ok = run("prepare", "--csv", noclick, "--categorical", "user,ad", "--numeric", "x,noclick", "--not-label", "noclick", "--out", out);
  assert.equal(ok.status, 0, ok.stderr);
  // a column that merely correlates (one value off) is not a recoding
  const near = write(dir, "near.csv", csvText(400, 8, { extra: [{ name: "near", value: (c, _v, i) => String(i === 7 ? c : 1 - c) }] }));
  assert.equal(run("prepare", "--csv", near, "--categorical", "user,ad", "--numeric", "x,near", "--out", path.join(dir, "near")).status, 0);
});

test("degenerate splits get a warning line: no conversion in training or validation, no non-clicked training row, no conversion on a scored day", () => {
  const split = (name: string, rows: number, clicks: number, conversions: number) => ({ name, days: [0], rows, clicks, conversions, weightedRows: rows, oovRate: {} });
  const report = (splits: PrepareReport["splits"], keptNonClicked = 10): PrepareReport => ({
    negativeKeepRate: 0.1,
    seed: 1,
    splits,
    downsampling: { before: 200, kept: 20 + keptNonClicked, keptClicked: 20, keptNonClicked },
  });
  assert.deepEqual(degenerateSplitLines(report([split("train", 30, 20, 5), split("validation", 50, 10, 2), split("test", 50, 10, 1)])), []);
  const lines = degenerateSplitLines(report([split("train", 20, 20, 0), split("validation", 50, 10, 0), split("test", 50, 10, 0)], 0));
  assert.equal(lines.length, 4);
  assert.match(lines[0], /training split "train" .* has no conversion/);
  assert.match(lines[1], /keep rate 0\.1 left no non-clicked training row \(of 180\).*raise --keep-rate/);
  assert.match(lines[2], /validation split "validation" .* has no conversion: early stopping reads a CTCVR loss with no positive/);
  assert.match(lines[3], /split "test" .* has no conversion: its CTCVR and CVR AUCs are undefined/);

  // and esmm prepare prints them: a validation file without a conversion
  const dir = tempDir("esmm-degenerate-");
  const train = write(dir, "train.csv", csvText(400, 10));
  const validation = write(dir, "validation.csv", csvText(200, 11).replace(/,1\n/g, ",0\n"));
  const testFile = write(dir, "test.csv", csvText(200, 12));
  const r = run("prepare", "--csv", `train=${train},validation=${validation},test=${testFile}`, ...LAYOUT, "--out", path.join(dir, "prepared"));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^warning: validation split "validation" \(day 1, 200 rows\) has no conversion/m);
});

test("a prepared folder records its inputs: a changed input is refused naming the folder and the file, an equal one (touched) is served, an old folder warns once", () => {
  const dir = tempDir("esmm-prepared-inputs-");
  const log = path.join(dir, "log");
  const sim = (seed: string) => assert.equal(run("simulate", "--impressions", "20000", "--days", "6", "--users", "200", "--ads", "40", "--seed", seed, "--out", log).status, 0);
  sim("3");
  // prepared into the simulated log's own folder, as a user may
  assert.equal(run("prepare", "--data", log, "--out", log).status, 0);
  const header = JSON.parse(fs.readFileSync(path.join(log, PREPARED_FILE), "utf8"));
  const inputs = header.source.inputs as PreparedInput[];
  assert.deepEqual(inputs.map((i) => path.basename(i.file)), ["manifest.json", ...Array.from({ length: 6 }, (_, d) => `day-0${d}.csv`)]);
  for (const i of inputs) assert.equal(i.sha256, createHash("sha256").update(fs.readFileSync(i.file)).digest("hex"));
  const served = readPrepared(log);
  // the same log simulated again: new modification times, equal bytes: served
  sim("3");
  assert.equal(readPrepared(log).train.size, served.train.size);
  // another log simulated into the folder: refused, by the library and by train (before any training)
  sim("4");
  assert.throws(() => readPrepared(log), (e: unknown) => e instanceof DataError && e.message.startsWith(`${log}: was prepared from ${path.join(log, "manifest.json")}, which has changed since`));
  const train = run("train", "--model", "IP", "--data", log, "--seed", "1", "--epochs", "1", "--out", path.join(dir, "run.json"));
  oneLineExit2(train, new RegExp(`^esmm: ${log}: was prepared from .*manifest\\.json, which has changed since .*prepare it again`));
  assert.ok(!fs.existsSync(path.join(dir, "run.json")));
  // same size, other bytes (a day file edited in place): refused by its hash
  sim("3");
  const day = inputs[3].file;
  const bytes = fs.readFileSync(day);
  bytes[bytes.length - 2] = bytes[bytes.length - 2] === 0x30 ? 0x31 : 0x30;
  fs.writeFileSync(day, bytes);
  assert.throws(() => readPrepared(log), new RegExp(`was prepared from ${day.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}, which has changed since \\(same size, other bytes`));
  // an input that is gone is not a changed one: the folder holds its data
  fs.rmSync(day);
  assert.equal(readPrepared(log).train.size, served.train.size);
  // a folder prepared before inputs were recorded: served with one warning line, once per process
  delete header.source.inputs;
  fs.writeFileSync(path.join(log, PREPARED_FILE), JSON.stringify(header));
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    readPrepared(log);
    readPrepared(log);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(lines.length, 1, lines.join(""));
  assert.match(lines[0], /^esmm: warning: .*: prepared before inputs were recorded: whether .* changed since cannot be checked \(prepare it again to record them\)\n$/);
});
