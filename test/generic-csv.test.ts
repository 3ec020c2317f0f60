/**
 * Any impression log (issue 15, point 2): `esmm prepare --csv` on a tiny AliExpress-layout pair of files
 * (search_id, categorical_1..3, numerical_1..2, click, conversion; a train and a test file, no day column), and
 * the label-like column check shared with the processed Ali-CCP loader (lib/data/label-like.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR, PROJECT_DIR } from "./paths";
import { rng, tempDir } from "./helpers";
import { readPrepared } from "../lib/data/prepared-files";
import { loadAliCcpSplits } from "../lib/data/ali-ccp";
import { DataError } from "../lib/data/errors";
import { isLabelLikeName, labelEchoes } from "../lib/data/label-like";
import { CsvColumns, loadCsvLog, prepareCsv } from "../lib/data/csv-log";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
const run = (...args: string[]) => spawnSync(process.execPath, [ESMM, ...args], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } });

function assertOneLineExit2(r: ReturnType<typeof run>, ...patterns: RegExp[]): void {
  assert.equal(r.status, 2, `stderr: ${r.stderr}`);
  assert.ok(/^esmm: [^\n]+\n$/.test(r.stderr), `not exactly one line: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr.trimEnd(), p);
}

interface Extra {
  name: string;
  value: (row: { click: number; conversion: number }) => string;
}

/**
 * An AliExpress-layout file: categorical_2 drives the click rate, conversions follow clicks. `unseenFrom`: rows
 * from this index on get categorical_3 ids >= 1000, never in the training file.
 */
function writeLog(file: string, rows: number, seed: number, extra: Extra[] = [], unseenFrom = Infinity): void {
  const u = rng(seed);
  const header = ["search_id", "categorical_1", "categorical_2", "categorical_3", "numerical_1", "numerical_2", "click", "conversion", ...extra.map((e) => e.name)];
  const lines = [header.join(",")];
  for (let i = 0; i < rows; i++) {
    const c2 = Math.floor(u() * 5);
    const click = u() < (c2 === 1 ? 0.4 : 0.08) ? 1 : 0;
    const conversion = click && u() < 0.3 ? 1 : 0;
    const c3 = i >= unseenFrom ? 1000 + i : Math.floor(u() * 40);
    const row = { click, conversion };
    lines.push([`s${i}`, Math.floor(u() * 20), c2, c3, u().toFixed(4), (u() * 10).toFixed(2), click, conversion, ...extra.map((e) => e.value(row))].join(","));
  }
  fs.writeFileSync(file, lines.join("\n") + "\n");
}

/** A train file (1,500 rows) and a test file (500 rows, the last 50 with unseen categorical_3 ids). */
function aliExpressPair(extra: Extra[] = []): { dir: string; train: string; test: string } {
  const dir = tempDir("esmm-csv-");
  const train = path.join(dir, "train.csv");
  const test = path.join(dir, "test.csv");
  writeLog(train, 1500, 1, extra);
  writeLog(test, 500, 2, extra, 450);
  return { dir, train, test };
}

const LAYOUT = ["--categorical", "categorical_*", "--numeric", "numerical_*", "--ignore", "search_id"];
const CTCVR: Extra = { name: "ctcvr_label", value: (r) => String(r.click * r.conversion) };

test("an AliExpress-layout pair prepares (train file -> train + carved validation, test file -> test) and trains one epoch of ESMM", () => {
  const { dir, train, test: testFile } = aliExpressPair();
  const out = path.join(dir, "prepared");
  const r = run("prepare", "--csv", `${train},${testFile}`, ...LAYOUT, "--keep-rate", "0.5", "--seed", "3", "--out", out);
  assert.equal(r.status, 0, r.stderr);
  const data = readPrepared(out);
  assert.deepEqual(data.train.categoricalFields, ["categorical_1", "categorical_2", "categorical_3"]);
  assert.deepEqual(data.train.numericFields, ["numerical_1", "numerical_2"]);
  assert.equal(data.test.size, 500, "the test file is the test split, whole");
  assert.ok(data.validation.size > 100 && data.validation.size < 200, `validation carved out of the training file: ${data.validation.size} of 1,500 rows`);
  assert.equal(data.report.downsampling.before + data.validation.size, 1500);
  assert.equal(data.later.length, 0);
  // negatives downsampled on training rows only, weight 1/keepRate
  for (let i = 0; i < data.train.size; i++) assert.equal(data.train.weight[i], data.train.click[i] ? 1 : 2);
  assert.ok(data.validation.weight.every((w) => w === 1) && data.test.weight.every((w) => w === 1));
  // vocabularies from training rows only: the test file's unseen categorical_3 ids map to 0
  const nCat = 3;
  for (let i = 450; i < 500; i++) assert.equal(data.test.categorical[i * nCat + 2], 0, `test row ${i}`);
  assert.ok(data.vocabularies[2].ids.every((id) => id < 1000));
  assert.equal((data.source as { kind: string }).kind, "csv");

  const result = path.join(dir, "r.json");
  const t = run("train", "--model", "esmm", "--data", out, "--seed", "1", "--epochs", "1", "--out", result);
  assert.equal(t.status, 0, t.stderr);
  const record = JSON.parse(fs.readFileSync(result, "utf8"));
  for (const space of ["ctcvr", "cvr", "ctr"]) {
    const m = record.test.metrics[space];
    assert.ok(Number.isFinite(m.logLoss) && Number.isFinite(m.rocAuc), `${space}: ${JSON.stringify(m)}`);
  }
});

test("the same pair with a ctcvr_label feature column is refused (exit 2, one line, nothing written) and accepted with --not-label", () => {
  const { dir, train, test: testFile } = aliExpressPair([CTCVR]);
  const out = path.join(dir, "prepared");
  const args = ["prepare", "--csv", `${train},${testFile}`, "--categorical", "categorical_*,ctcvr_label", "--numeric", "numerical_*", "--ignore", "search_id", "--out", out];
  const refused = run(...args);
  assertOneLineExit2(refused, /train\.csv:1 column "ctcvr_label": feature column is named like a label/, /--not-label ctcvr_label/);
  assert.ok(!fs.existsSync(out), "nothing written");
  const accepted = run(...args, "--not-label", "ctcvr_label");
  assert.equal(accepted.status, 0, accepted.stderr);
  assert.deepEqual(readPrepared(out).train.categoricalFields, ["categorical_1", "categorical_2", "categorical_3", "ctcvr_label"]);
});

test("a feature column equal to click under an innocent name is refused on its values, with the override named", () => {
  const { dir, train, test: testFile } = aliExpressPair([{ name: "categorical_4", value: (r) => String(r.click) }]);
  const out = path.join(dir, "prepared");
  const r = run("prepare", "--csv", `${train},${testFile}`, ...LAYOUT, "--out", out);
  assertOneLineExit2(r, /train\.csv column "categorical_4": feature column equals a label on all 1500 rows \("categorical_4" = "click"\)/, /--not-label categorical_4/);
  assert.ok(!fs.existsSync(out), "nothing written");
  const ok = run("prepare", "--csv", `${train},${testFile}`, ...LAYOUT, "--not-label", "categorical_4", "--out", out);
  assert.equal(ok.status, 0, ok.stderr);
});

test("a schema file gives the same preparation as the flags; roles by name; an unnamed column is an error listing it", () => {
  const { dir, train, test: testFile } = aliExpressPair();
  const schema = path.join(dir, "schema.json");
  fs.writeFileSync(schema, JSON.stringify({ click: "click", conversion: "conversion", categorical: ["categorical_*"], numeric: ["numerical_*"], ignore: ["search_id"] }));
  const a = run("prepare", "--csv", `train=${train},test=${testFile}`, "--schema", schema, "--out", path.join(dir, "a"));
  const b = run("prepare", "--csv", `${train},${testFile}`, ...LAYOUT, "--out", path.join(dir, "b"));
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  for (const f of ["train.bin", "validation.bin", "test.bin"]) assert.ok(fs.readFileSync(path.join(dir, "a", f)).equals(fs.readFileSync(path.join(dir, "b", f))), f);

  const unnamed = run("prepare", "--csv", `${train},${testFile}`, "--categorical", "categorical_*", "--out", path.join(dir, "c"));
  assertOneLineExit2(unnamed, /column "search_id": columns not named in the schema: search_id,numerical_1,numerical_2/);
  const twice = run("prepare", "--csv", train, "--categorical", "categorical_*,*_2", "--numeric", "numerical_*", "--ignore", "search_id", "--out", path.join(dir, "c"));
  assertOneLineExit2(twice, /column "numerical_2": matched by categorical "\*_2" and numeric "numerical_\*"/);
  assert.ok(!fs.existsSync(path.join(dir, "c")), "nothing written");
});

test("the processed Ali-CCP sample with an added ctcvr_label column is refused by the Ali-CCP loader and accepted when told", async () => {
  const dir = tempDir("esmm-aliccp-ctcvr-");
  for (const f of fs.readdirSync(path.join(FIXTURES_DIR, "ali-ccp")).filter((f) => f.endsWith(".csv"))) {
    const lines = fs.readFileSync(path.join(FIXTURES_DIR, "ali-ccp", f), "utf8").split("\n").filter((l) => l !== "");
    // click,purchase,...: ctcvr_label = click * purchase, appended as the last column
    const out = lines.map((l, i) => (i === 0 ? `${l},ctcvr_label` : `${l},${+l.split(",")[0] * +l.split(",")[1]}`));
    fs.writeFileSync(path.join(dir, f), out.join("\n"));
  }
  const trainFile = path.join(dir, "ali_ccp_train_sample.csv");
  await assert.rejects(loadAliCcpSplits(dir), (e: unknown) => {
    assert.ok(e instanceof DataError, String(e));
    assert.deepEqual([e.location.file, e.location.line, e.location.column], [trainFile, 1, "ctcvr_label"]);
    assert.match(e.message, /named like a label .*notLabel: \["ctcvr_label"\]/);
    return true;
  });
  const { train } = await loadAliCcpSplits(dir, { notLabel: ["ctcvr_label"] });
  assert.equal(train.schema.categorical.at(-1), "ctcvr_label");
  assert.equal(train.size, 100);
});

test("label-like names, and value echoes only of labels that vary", () => {
  for (const name of ["ctcvr_label", "CTCVR", "click_through", "Conversion_rate", "purchase_flag", "is_label", "Y_LABEL"]) assert.ok(isLabelLikeName(name), name);
  for (const name of ["categorical_1", "numerical_7", "search_id", "label_id", "n_clicks", "D508"]) assert.ok(!isLabelLikeName(name), name);
  const click = { name: "click", values: [0, 1, 0, 1] };
  const conversion = { name: "conversion", values: [0, 0, 0, 0] };
  const features = [
    { name: "copy", values: [0, 1, 0, 1] },
    { name: "zeros", values: [0, 0, 0, 0] },
    { name: "near", values: [0, 1, 0, 0] },
  ];
  assert.deepEqual(labelEchoes(features, [click, conversion], 0, 4), [{ column: "copy", label: "click" }]);
  assert.deepEqual(labelEchoes(features, [click, conversion], 0, 4, ["copy"]), []);
  assert.deepEqual(labelEchoes(features, [click, conversion], 2, 4).map((e) => e.column), ["copy"], "row range");
});

test("loader: text categories get ids of their own (empty = missing), digits are ids; a day column splits by day, past to future", async () => {
  const dir = tempDir("esmm-csv-day-");
  const file = path.join(dir, "log.csv");
  const rows = ["day,country,n,click,conversion"];
  const countries = ["US", "FR", "", "7", "US"];
  for (let i = 0; i < 60; i++) rows.push(`${20240101 + Math.floor(i / 10)},${countries[i % 5]},${i / 10},${i % 3 === 0 ? 1 : 0},${i % 6 === 0 ? 1 : 0}`);
  fs.writeFileSync(file, rows.join("\r\n"));
  const columns: CsvColumns = { click: "click", conversion: "conversion", day: "day", categorical: ["country"], numeric: ["n"], ignore: [], notLabel: [] };
  const log = await loadCsvLog([{ file }], columns);
  const ids = [...log.categorical[0].slice(0, 5)];
  assert.equal(ids[0], ids[4], "same text, same id");
  assert.equal(new Set(ids).size, 4);
  assert.deepEqual([ids[2], ids[3]], [-1, 7]);
  assert.ok(ids[0] < -1 && ids[1] < -1);
  assert.equal(log.day[59], 20240106);
  const { prepared } = await prepareCsv([{ file }], columns, { seed: 1, negativeKeepRate: 1, laterDays: 1 });
  assert.deepEqual(prepared.plan, { trainDays: [20240101, 20240102, 20240103], validationDay: 20240104, testDay: 20240105, laterDays: [20240106] });
  assert.equal(prepared.train.size, 30);
  await assert.rejects(prepareCsv([{ file }], columns, { seed: 1, laterDays: 4 }), /6 distinct days .* needs at least 7/);
});
