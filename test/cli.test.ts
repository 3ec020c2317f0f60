/** The `esmm` command line: the acceptance run of `esmm simulate`, help, and one-line errors on bad arguments. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "./paths";
import { tempDir } from "./helpers";
import { DEFAULT_DATA_SPEC } from "../lib/study/spec";
import { readPrepared } from "../lib/data/prepared-files";
import { defaultSplitPlan, prepare } from "../lib/data/prepare";
import { readSimulatedLog } from "../lib/data/simulated-files";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
const run = (...args: string[]) => spawnSync(process.execPath, [ESMM, ...args], { encoding: "utf8" });

function folderHash(dir: string): string {
  const h = crypto.createHash("sha256");
  for (const f of fs.readdirSync(dir).sort()) h.update(f).update(fs.readFileSync(path.join(dir, f)));
  return h.digest("hex");
}

test("esmm simulate --impressions 2000000 --days 15 --seed 7: rates in range, identical bytes twice", () => {
  const [a, b] = [tempDir(), tempDir()];
  for (const out of [a, b]) {
    const r = run("simulate", "--impressions", "2000000", "--days", "15", "--seed", "7", "--out", out);
    assert.equal(r.status, 0, r.stderr);
  }
  const m = JSON.parse(fs.readFileSync(path.join(a, "manifest.json"), "utf8"));
  assert.equal(m.totals.impressions, 2_000_000);
  assert.ok(m.totals.ctr >= 0.01 && m.totals.ctr <= 0.025, `CTR ${m.totals.ctr}`);
  assert.ok(m.totals.cvr >= 0.04 && m.totals.cvr <= 0.12, `conversions/clicks ${m.totals.cvr}`);
  assert.equal(m.days.length, 15);
  assert.equal(folderHash(a), folderHash(b));
  const r = run("prepare", "--data", a, "--out", path.join(a, "prepared"));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /test\s+days 12/);
});

test("--help on every command, exit 0", () => {
  for (const cmd of ["simulate", "prepare"]) {
    const r = run(cmd, "--help");
    assert.equal(r.status, 0);
    assert.match(r.stdout, new RegExp(`usage: esmm ${cmd}`));
  }
  assert.equal(run("--help").status, 0);
  assert.match(run("simulate", "--help").stdout, /\[--evaluation-days K\] \[--evaluation-multiplier M\]/);
});

test("esmm simulate --evaluation-multiplier 3 then esmm prepare: a 3x test day, an unscaled validation day, and a plan scoring other days exits 2", () => {
  const dir = tempDir();
  const sim = run("simulate", "--impressions", "15000", "--days", "15", "--users", "300", "--ads", "80", "--evaluation-multiplier", "3", "--out", dir);
  assert.equal(sim.status, 0, sim.stderr);
  const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  assert.deepEqual(m.days.map((d: { impressions: number }) => d.impressions), [...Array(12).fill(1000), 3000, 3000, 3000]);
  const ok = run("prepare", "--data", dir, "--out", path.join(dir, "prepared"));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /validation\s+days 11\s+rows\s+1000 /);
  assert.match(ok.stdout, /test\s+days 12\s+rows\s+3000 /);
  const bad = run("prepare", "--data", dir, "--out", path.join(dir, "prepared-3"), "--later-days", "3");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^esmm: prepare: the simulated log scales 3 days \(evaluationDays = 3.* scores 4 days after training.*--evaluation-days 4, i\.e\. later days \+ 1/);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  // --evaluation-days 4 would scale the validation day too: refused by prepare and by train on the raw log
  const dir4 = tempDir();
  const sim4 = run("simulate", "--impressions", "15000", "--days", "15", "--users", "300", "--ads", "80", "--evaluation-multiplier", "3", "--evaluation-days", "4", "--out", dir4);
  assert.equal(sim4.status, 0, sim4.stderr);
  for (const args of [["prepare", "--data", dir4, "--out", path.join(dir4, "prepared")], ["train", "--model", "IP", "--seed", "1", "--data", dir4, "--out", path.join(dir4, "r.json")]]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^esmm: ${args[0]}: the simulated log scales 4 days .*including the validation day 11\\).*--evaluation-days 3`));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

test("bad arguments: exit 2 and a one-line reason", () => {
  const cases: [string[], RegExp][] = [
    [["simulate", "--impressions", "abc", "--out", "x"], /--impressions must be an integer/],
    [["simulate", "--days", "3"], /--out is required/],
    [["simulate", "--out", tempDir(), "--target-ctr", "7"], /--target-ctr must be a number in \(0, 0\.5\), got "7"/],
    [["simulate", "--out", tempDir(), "--evaluation-multiplier", "0.5"], /--evaluation-multiplier must be a number >= 1, got "0\.5"/],
    [["simulate", "--out", tempDir(), "--evaluation-multiplier", "many"], /--evaluation-multiplier must be a number/],
    [["simulate", "--out", tempDir(), "--days", "3", "--evaluation-days", "4"], /evaluationDays = 4: must be an integer in \[0, days = 3\]/],
    [["simulate", "--frobnicate"], /Unknown option '--frobnicate'/],
    [["prepare", "--data", tempDir(), "--out", "x"], /no manifest\.json/],
    [["nonsense"], /unknown command "nonsense"/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(" "));
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, `more than one line: ${r.stderr}`);
  }
});

test("esmm prepare and esmm train draw the study's downsampling by default: the same kept training rows as the study's data cache", () => {
  const dir = tempDir();
  const sim = run("simulate", "--impressions", "15000", "--days", "15", "--users", "300", "--ads", "80", "--out", dir);
  assert.equal(sim.status, 0, sim.stderr);
  const out = path.join(dir, "prepared");
  const r = run("prepare", "--data", dir, "--out", out);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(fs.readFileSync(path.join(out, "prepared.json"), "utf8"));
  assert.equal(json.report.seed, DEFAULT_DATA_SPEC.prepareSeed, "prepare's default seed is the study's downsampling seed");
  // the same draw as the study prepares (lib/study/data-cache.ts calls prepare with the spec's prepareSeed)
  const mine = readPrepared(out);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  const study = prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(15, DEFAULT_DATA_SPEC.laterDays), negativeKeepRate: DEFAULT_DATA_SPEC.negativeKeepRate, seed: DEFAULT_DATA_SPEC.prepareSeed, simulator: manifest.config });
  assert.equal(mine.train.size, study.train.size);
  assert.deepEqual(Array.from(mine.train.weight.subarray(0, 50)), Array.from(study.train.weight.subarray(0, 50)));
  assert.deepEqual(Array.from(mine.train.click), Array.from(study.train.click));
});

test("esmm models: a narrow table by default (loss terms by output or kind, the characteristics that hold); --wide every column", () => {
  const narrow = run("models");
  assert.equal(narrow.status, 0, narrow.stderr);
  const line = (out: string, model: string) => out.split("\n").find((l) => l.trim().startsWith(`${model} `))!.trim().split(/\s{2,}/);
  assert.deepEqual(line(narrow.stdout, "ESMM"), ["ESMM", "shared bottom", "ctr, cvr", "pCTR × pCVR", "ctr, ctcvr", "shared, entire space, weighted CVR"]);
  assert.deepEqual(line(narrow.stdout, "ESCM2-DR-release-bigdata").slice(4), ["ctr, ctcvr*0.5, errorDr*0.5", "shared, entire space, weighted CVR, experts, counterfactual"]);
  assert.deepEqual(line(narrow.stdout, "IP"), ["IP", "separate", "ctr, cvr", "pCTR × pCVR", "ctr, cvr"]);
  const wide = run("models", "--wide");
  assert.equal(wide.status, 0, wide.stderr);
  assert.match(wide.stdout, /ctr:click@impressions; ctcvr:clickAndConversion@impressions/);
  const width = (out: string) => Math.max(...out.split("\n").map((l) => l.length));
  assert.ok(width(narrow.stdout) <= 180 && width(wide.stdout) > 300, `widths ${width(narrow.stdout)} and ${width(wide.stdout)}`);
});
