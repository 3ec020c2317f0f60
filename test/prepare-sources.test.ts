/**
 * `esmm prepare` through the data-source registry (issue 23 point 3): its --csv files are the "csv-log" kind and
 * its --data folder the "simulated-log" kind, written into --out by `materializeInto`. The folders it writes are
 * the bytes it wrote before it went through the registry (hashes pinned below), and the library's `materialize`
 * of the same source writes the same splits into its cache.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR, PROJECT_DIR } from "./paths";
import { tempDir } from "./helpers";
import { materialize, materializeInto, sourceKind } from "../lib/sources";
import type { CsvLogSource } from "../lib/sources";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
const run = (...args: string[]) => spawnSync(process.execPath, [ESMM, ...args], { encoding: "utf8" });
const sha = (bytes: string | Buffer) => crypto.createHash("sha256").update(bytes).digest("hex");

/** prepared.json's values with absolute paths cut to their base names and modification times dropped (they name this checkout, not the data). */
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "mtimeMs").map(([k, x]) => [k, normalise(x)]));
  return typeof v === "string" && path.isAbsolute(v) ? path.basename(v) : v;
}

/** sha256 of each split file's bytes and of prepared.json (normalised, in its written key order), by file name. */
function folderHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).sort()) {
    if (f === "prepared.json") out[f] = sha(JSON.stringify(normalise(JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")))));
    else if (f.endsWith(".bin")) out[f] = sha(fs.readFileSync(path.join(dir, f)));
  }
  return out;
}

/** A CSV log of 600 rows over 6 days (day, user, item, x, click, conversion only after a click), the same bytes every time. */
function writeDayLog(file: string): void {
  const lines = ["day,user,item,x,click,conversion"];
  for (let i = 0; i < 600; i++) {
    const h = (i * 2654435761) % 1000;
    const click = h < 180 ? 1 : 0;
    lines.push(`${Math.floor(i / 100)},u${(i * 7) % 23},${(i * 13) % 17},${((i * 31) % 100) / 10},${click},${click && h < 60 ? 1 : 0}`);
  }
  fs.writeFileSync(file, lines.join("\n") + "\n");
}

const ALI = path.join(FIXTURES_DIR, "ali-ccp");
const ALI_COLUMNS = ["--click", "click", "--conversion", "purchase", "--categorical", "1*,2*,3*,5*,7*,8*", "--numeric", "D*"];

/**
 * The hashes of the folders `esmm prepare` wrote at main f96b64e, before it went through lib/sources: obtained
 * by running that commit's bin/esmm.js (built) on these same arguments and inputs and hashing its folders with
 * folderHashes above (2026-12-06); its stdout and stderr were those of today's code, byte for byte.
 */
const BEFORE: Record<string, Record<string, string>> = {
  "ali-ccp-roles": {
    "prepared.json": "2be85f8031fe39245418d153a9ffb03d2e7fd6b294434ce129207f7fe40bb2b1",
    "test.bin": "82af53b8133d353858ada9403a70d54e67af7be3d790c0feb8f7dc3c6f1a852e",
    "train.bin": "6c85480854dac53428c161b7bdf35d4e55e775552c438b9b6ad50ad398574d60",
    "validation.bin": "ab35a2b9485202657dfa43d051dfc7becd6745c00997e4c540f93109b4b3eb1c",
  },
  "ali-ccp-carved": {
    "prepared.json": "ea9e556552e12243bc883522698c5923a67b09d55294fd36720f5eba2fa17053",
    "test.bin": "59bf7c2f3496fd1879bc26316d40dbed97938ab56e8c7c604fa5b23009630de5",
    "train.bin": "a80985664b0351d61cf50ccc4ba6bb4e4f307c149b885d1ef07786e2d57f1f8b",
    "validation.bin": "444dd956d44e2fb5c183799556072f963cec96aa8d4add27cb9cb396abe0059c",
  },
  "day-log": {
    "later-0.bin": "ffebd78d3ae118af9d8bf44ed1407fb23109923619f18b7d39b204ffefe51a28",
    "prepared.json": "745df389a9ed0ac4db60c234fcb0e8ad6f6e21ff0b34f16daa444815380ae07d",
    "test.bin": "408d6bcde659da164bb66b4d121cc6428cdd00a959be510088c063cd30dc8c37",
    "train.bin": "f2d1cacc5dffe7decbc2cda92a6abf877ca62d691e288954065138c593fdfeba",
    "validation.bin": "1b268ecfd0b2113c05962b9f6175b8a4129a3714c760c55f6ea5b5f4c23128dd",
  },
  "simulated-log": {
    "later-0.bin": "aa48325d35bc51e71cb3063d396b3214e7b9e620684b6652f933f00e1ad0e16b",
    "prepared.json": "3d7c9bfdd1405bb574954685ca0f504d6d8ff682ef3e9199f89c5f730afc0d9a",
    "test.bin": "dc5885103ec4167a6bab3f09be7f09ec89141179d372c01d7304cfff9e4c6585",
    "train.bin": "1c3a794ab70e3da0b56a1dcdc6f5a0eabbde24e9430dcac66cf2a3952dabbf1a",
    "validation.bin": "c1d64e5e4dea3f0b71253f8ffd3f5c9b6a902f17b7201a0e1bc2a66c6bf14a7c",
  },
};

test("esmm prepare through the source registry writes the bytes it wrote before (Ali-CCP sample by roles and carved, a CSV log by day, a simulated log)", () => {
  const dir = tempDir();
  const logFile = path.join(dir, "days.csv");
  writeDayLog(logFile);
  const sim = path.join(dir, "sim");
  const s = run("simulate", "--impressions", "3000", "--days", "8", "--users", "100", "--ads", "30", "--seed", "5", "--out", sim);
  assert.equal(s.status, 0, s.stderr);
  const cases: Record<string, string[]> = {
    "ali-ccp-roles": ["--csv", `train=${ALI}/ali_ccp_train_sample.csv,validation=${ALI}/ali_ccp_val_sample.csv,test=${ALI}/ali_ccp_test_sample.csv`, ...ALI_COLUMNS, "--keep-rate", "0.5", "--seed", "3"],
    "ali-ccp-carved": ["--csv", `${ALI}/ali_ccp_train_sample.csv`, ...ALI_COLUMNS, "--validation-fraction", "0.2", "--min-count", "1", "--oov-mask-rate", "0"],
    "day-log": ["--csv", logFile, "--day", "day", "--categorical", "user,item", "--numeric", "x", "--later-days", "1", "--keep-rate", "0.3"],
    "simulated-log": ["--data", sim, "--later-days", "1", "--seed", "2"],
  };
  for (const [name, args] of Object.entries(cases)) {
    const out = path.join(dir, name);
    const r = run("prepare", ...args, "--out", out);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.deepEqual(folderHashes(out), BEFORE[name], name);
  }
  // what it prints stays too: the carved sample's split lines and its warnings
  const r = run("prepare", ...cases["ali-ccp-carved"], "--out", path.join(dir, "again"));
  assert.match(r.stdout, /^validation days 1 {22}rows {8}13 {2}clicks {6}0 {2}conversions {5}0 {2}OOV rows 100\.00 %$/m);
  assert.match(r.stderr, /^warning: split "test" \(day 2, 11 rows\) has no conversion/m);
  assert.equal(r.stderr.trim().split("\n").length, 11);
});

test("the library's materialize of the CLI's csv-log source writes the same splits into its cache; materializeInto refuses a prepared folder", async () => {
  const dir = tempDir();
  const logFile = path.join(dir, "days.csv");
  writeDayLog(logFile);
  const source: CsvLogSource = {
    kind: "csv-log",
    inputs: [{ file: logFile }],
    columns: { click: "click", conversion: "conversion", day: "day", categorical: ["user", "item"], numeric: ["x"], ignore: [], notLabel: [] },
    laterDays: 1,
    onConversionWithoutClick: "error",
    encoding: "utf8",
  };
  const cached = await materialize(source, { negativeKeepRate: 0.3 }, { root: path.join(dir, "cache") });
  assert.equal(path.basename(cached), `csv-${sourceKind(source).key(source, { negativeKeepRate: 0.3 })}`);
  assert.deepEqual(folderHashes(cached), BEFORE["day-log"], "the cache holds the folder esmm prepare writes");
  const named = await materializeInto(source, { negativeKeepRate: 0.3 }, path.join(dir, "named"));
  assert.deepEqual(folderHashes(named), BEFORE["day-log"]);
  await assert.rejects(materializeInto({ kind: "prepared", dir: cached }, {}, path.join(dir, "x")), /kind "prepared" is used in place/);
  assert.ok(!fs.existsSync(path.join(dir, "x")), "nothing written");
});

test("esmm prepare --data: the simulated-log kind's checks come first, as one line, exit 2 (a plan with too many later days; no manifest)", () => {
  const dir = tempDir();
  const sim = path.join(dir, "sim");
  assert.equal(run("simulate", "--impressions", "2000", "--days", "4", "--users", "50", "--ads", "20", "--seed", "1", "--out", sim).status, 0);
  const tooMany = run("prepare", "--data", sim, "--later-days", "3", "--out", path.join(dir, "out"));
  assert.equal(tooMany.status, 2);
  assert.match(tooMany.stderr, /^esmm: prepare: need at least 6 days for a split with 3 later days, got 4$/m);
  assert.equal(tooMany.stderr.trim().split("\n").length, 1, tooMany.stderr);
  assert.ok(!fs.existsSync(path.join(dir, "out", "prepared.json")), "nothing written");
  const none = run("prepare", "--data", dir, "--out", path.join(dir, "out"));
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^esmm: .*manifest\.json: no manifest\.json: not a simulated log folder/);
});
