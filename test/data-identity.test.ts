/**
 * Results know their data (issue 25, point 1): an analysis groups records by what they were computed on
 * (lib/study/data-identity.ts), never by labels alone. Runs of another study appended to a results file,
 * or a comparison cell whose runs read different data sets, are refused with one line naming them, unless
 * --data picks one or --per-data asks for each; superseded records are reported with what differs; the
 * options of `esmm stats` that select nothing are one line and exit 2.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { PROJECT_DIR } from "./paths";
import { tempDir } from "./helpers";
import { StudyResult, summarizeStudy } from "../lib/study/summary";
import { differenceEstimate } from "../lib/study/compare";
import { MixedDataError, dataDesignId, dataDesignOf, groupByData, selectData } from "../lib/study/data-identity";

const ESMM = path.join(PROJECT_DIR, "bin", "esmm.js");
const esmm = (...args: string[]) => spawnSync(process.execPath, [ESMM, ...args], { encoding: "utf8" });

/** Exit 2 and exactly one line on stderr, without stack frames, matching every pattern. */
function oneLineExit2(r: ReturnType<typeof esmm>, ...patterns: RegExp[]): void {
  assert.equal(r.status, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.ok(/^esmm: [^\n]+\n$/.test(r.stderr), `not exactly one line: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr, p);
}

const Z = [-1.2, -0.4, 0.1, 0.5, 1.0];

/** Runs of one model on one data set: 5 seeds, log loss mean + sd * z (rotated per model). */
function runs(model: string, mean: number, o: { impressions?: number; manifest?: string; code?: string; finishedAt?: string; rotation?: number; world?: number } = {}): StudyResult[] {
  const world = o.world ?? 3;
  const impressions = o.impressions ?? 20_000;
  return Z.map((_, k) => {
    const z = Z[(k + (o.rotation ?? 0)) % Z.length];
    return {
      model,
      seed: k + 1,
      variant: "default",
      test: { split: "test", days: [12], conversions: 140, metrics: { ctcvr: { logLoss: mean + 1e-5 * z } } },
      later: [{ split: "later-0", days: [13], metrics: { ctcvr: { logLoss: mean } } }],
      config: { data: { simulator: { impressions }, simulatorSeed: world, prepareSeed: world, negativeKeepRate: 0.1, laterDays: 1 } },
      dataManifest: { dataKey: o.manifest ?? `key-${impressions}-${world}`, sha256: (o.manifest ?? `sha${impressions}w${world}`).padEnd(64, "0") },
      codeVersion: o.code ?? "c0de1",
      finishedAt: o.finishedAt ?? "2026-01-01T00:00:00.000Z",
    } as StudyResult;
  });
}

// The study: IP at 0.0075, ESMM 1.3 % better. Another study (--impressions 100000) where ESMM is worse.
const STUDY = [...runs("IP", 0.0075), ...runs("ESMM", 0.0074, { rotation: 1 })];
const OTHER = [...runs("IP", 0.0070, { impressions: 100_000, finishedAt: "2026-02-01T00:00:00.000Z" }), ...runs("ESMM", 0.0072, { impressions: 100_000, rotation: 2, finishedAt: "2026-02-01T00:00:00.000Z" })];

test("data design: config.data without its seeds, defaults filled in; a prepared folder by its content hash", () => {
  const [a] = runs("IP", 1);
  const b = { ...a, config: { data: { ...a.config!.data, simulatorSeed: 9, prepareSeed: 9 } } };
  assert.equal(dataDesignId(a), dataDesignId(b), "the replicate's seeds are not the design");
  const c = { ...a, config: { data: { ...a.config!.data, simulator: { impressions: 100_000 } } } };
  assert.notEqual(dataDesignId(a), dataDesignId(c));
  // an option set to its default names the same design as one left unset
  const d = { ...a, config: { data: { ...a.config!.data, oovMinCount: 2 } } };
  assert.equal(dataDesignId(a), dataDesignId(d));
  const real = (dir: string) => ({ config: { data: { prepared: { dir, sha256: "ab".repeat(32) }, simulatorSeed: 0, prepareSeed: 5, negativeKeepRate: 0.1, laterDays: 0 } } });
  assert.equal(dataDesignId(real("/a")), dataDesignId(real("/elsewhere/b")));
  assert.deepEqual((dataDesignOf(real("/a")).prepared as object), { sha256: "ab".repeat(32) });
  assert.deepEqual(groupByData([...STUDY, ...OTHER]).map((g) => g.records.length), [10, 10]);
});

test("summarizeStudy: another study's runs in the file are refused naming both designs and what differs; data picks one", () => {
  const mixed = [...STUDY, ...OTHER];
  assert.throws(
    () => summarizeStudy(mixed),
    (e: unknown) => e instanceof MixedDataError && /2 data designs: \w{8} \(10 record\(s\)\), \w{8} \(10 record\(s\): simulator\.impressions 20000 vs 100000\)/.test(e.message),
  );
  const pure = summarizeStudy(STUDY);
  const picked = summarizeStudy(mixed, { data: dataDesignId(STUDY[0]) });
  assert.equal(picked.models[1].percentVsBaseline, pure.models[1].percentVsBaseline);
  assert.ok(picked.models[1].percentVsBaseline > 1, "ESMM better on the study's own data");
  // a data cache key or a manifest sha256 prefix picks the same
  assert.equal(selectData(mixed, "key-20000").length, 10);
  assert.throws(() => selectData(mixed, "zzzz"), /no record was computed on data "zzzz" \(data designs: \w{8}, \w{8}\)/);
});

test("summarizeStudy: a comparison cell whose kept runs read two data sets is refused; a full rerun supersedes, reported with what differs", () => {
  // Same design, data regenerated (new lib/data): only IP was rerun, so ESMM's runs are on the old data.
  const rerunIp = runs("IP", 0.0071, { manifest: "newdata", code: "c0de2", finishedAt: "2026-03-01T00:00:00.000Z" });
  assert.throws(
    () => summarizeStudy([...STUDY, ...rerunIp]),
    (e: unknown) => e instanceof MixedDataError && /world 3, draw 3: the kept runs read 2 different data sets, newdata \(5 run\(s\): IP\) and key-20000-3 \(5 run\(s\): ESMM\)/.test(e.message),
  );
  // Both rerun: the old records are superseded, and the note says they were on other data and other code.
  const rerunEsmm = runs("ESMM", 0.0070, { manifest: "newdata", code: "c0de2", rotation: 1, finishedAt: "2026-03-01T00:00:00.000Z" });
  const s = summarizeStudy([...STUDY, ...rerunIp, ...rerunEsmm]);
  assert.equal(s.duplicatesDropped, 10);
  assert.equal(s.runCount, 10);
  const note = s.notes.find((n) => /superseded/.test(n)) ?? "";
  assert.match(note, /10 older record\(s\) .* superseded \(the last to finish kept\): 10 on other data \(key-20000-3 -> newdata\), 10 on other code \(c0de1 -> c0de2\)/);
});

test("compare: runs of one world and draw on different data sets are different replicates, never paired", () => {
  const design = [
    ...Z.map((z, k) => ({ model: "IP", seed: k + 1, world: 1, draw: 1, value: 1 + 0.01 * z, data: "A" })),
    ...Z.map((z, k) => ({ model: "ESMM", seed: k + 1, world: 1, draw: 1, value: 0.9 + 0.01 * z, data: "B" })),
  ];
  const c = differenceEstimate(design, "ESMM", "IP", { higherIsBetter: false });
  assert.equal(c.replicates, 0);
  assert.ok(Number.isNaN(c.estimate));
  assert.match(c.notes.join(" "), /no data replicate holds runs of ESMM, IP/);
});

function file(records: StudyResult[]): string {
  const f = path.join(tempDir("esmm-data-id-"), "results.jsonl");
  fs.writeFileSync(f, records.map((r) => JSON.stringify(r) + "\n").join(""));
  return f;
}

test("esmm stats: a mixed file is one line and exit 2; --data picks one, --per-data summarises each; the verdict is the study's own", () => {
  const mixed = file([...STUDY, ...OTHER]);
  oneLineExit2(esmm("stats", "--results", mixed), /stats: .*results\.jsonl: the runs of variant "default" were computed on 2 data designs/, /simulator\.impressions 20000 vs 100000/, /with --data KEY \(\w{8}, \w{8}\) or --per-data$/m);
  const id = dataDesignId(STUDY[0]);
  const own = esmm("stats", "--results", file(STUDY), "--json");
  const picked = esmm("stats", "--results", mixed, "--data", id, "--json");
  assert.equal(picked.status, 0, picked.stderr);
  const [a, b] = [JSON.parse(own.stdout), JSON.parse(picked.stdout)];
  assert.deepEqual(b.findings.map((f: { verdict: string }) => f.verdict), a.findings.map((f: { verdict: string }) => f.verdict));
  assert.equal(b.summary.models[1].percentVsBaseline, a.summary.models[1].percentVsBaseline);

  const each = esmm("stats", "--results", mixed, "--per-data");
  assert.equal(each.status, 0, each.stderr);
  assert.match(each.stdout, new RegExp(`=== data ${id}: 10 record\\(s\\), 10 run\\(s\\) summarised\\n`));
  assert.match(each.stdout, /=== data \w{8}: 10 record\(s\), 10 run\(s\) summarised \(vs \w{8}: simulator\.impressions 20000 vs 100000\)/);
  const eachJson = JSON.parse(esmm("stats", "--results", mixed, "--per-data", "--json").stdout);
  assert.deepEqual(eachJson.data.map((d: { records: number }) => d.records), [10, 10]);

  oneLineExit2(esmm("stats", "--results", mixed, "--data", "zzzz"), /--data: no record was computed on data "zzzz"/);
  oneLineExit2(esmm("stats", "--results", mixed, "--data", id, "--per-data"), /--data and --per-data exclude each other/);
});

test("esmm stats: options that select nothing are one line and exit 2 (--split later:9, --baseline FOO, a metric no run has)", () => {
  const f = file(STUDY);
  oneLineExit2(esmm("stats", "--results", f, "--split", "later:9"), /--split later:9: no run has a defined ctcvr\.logLoss on that day \(the runs of .* scored 1 later day\(s\): later:0 to later:0\)/);
  oneLineExit2(esmm("stats", "--results", f, "--baseline", "FOO"), /--baseline FOO has no runs in .* \(models: IP, ESMM\)/);
  oneLineExit2(esmm("stats", "--results", f, "--metric", "ctcvr.rocAuc"), /--metric ctcvr\.rocAuc: no run of .* has a defined value on test/);
  const noIp = file(runs("ESMM", 0.0074));
  oneLineExit2(esmm("stats", "--results", noIp), /the baseline IP has no runs .*: choose one with --baseline/);
  assert.equal(esmm("stats", "--results", f, "--split", "later:0").status, 0);
});

/** A results record as the runner writes it, enough for esmm merge (lib/study/results.ts recordProblem). */
function record(model: string, seed: number, o: { study?: string; impressions?: number; manifest?: string } = {}): StudyResult & { key: string; study: string } {
  const impressions = o.impressions ?? 30_000;
  const data = { simulator: { impressions }, simulatorSeed: 3, prepareSeed: 3, negativeKeepRate: 0.1, laterDays: 1 };
  const manifest = o.manifest ?? `m${impressions}`;
  const key = createHash("sha256").update(`${model}/${seed}/${impressions}/${manifest}/${o.study}`).digest("hex");
  return {
    key,
    study: o.study ?? "default",
    variant: "default",
    model,
    seed,
    config: { data, model, seed } as StudyResult["config"],
    dataManifest: { dataKey: `key-${manifest}`, sha256: manifest.padEnd(64, "0") },
    codeVersion: "c0de1",
    test: { split: "test", metrics: { ctcvr: { logLoss: 0.0075 + seed * 1e-6 } } },
    finishedAt: "2026-01-01T00:00:00.000Z",
  };
}

test("esmm merge: shards of different studies, data designs or data sets are refused naming them and their files (nothing written); --allow-mixed merges", () => {
  const dir = tempDir("esmm-merge-mixed-");
  const write = (name: string, records: StudyResult[]) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, records.map((r) => JSON.stringify(r) + "\n").join(""));
    return f;
  };
  const quick = write("quick.jsonl", [record("IP", 1), record("ESMM", 1)]);
  const full = write("full.jsonl", [record("IP", 2, { impressions: 100_000 }), record("ESMM", 2, { impressions: 100_000 })]);
  const otherStudy = write("other.jsonl", [record("IP", 2, { study: "sensitivity" })]);
  const regenerated = write("regen.jsonl", [record("IP", 2, { manifest: "regenerated" })]);
  const out = path.join(dir, "merged.jsonl");
  oneLineExit2(esmm("merge", "--out", out, quick, full), /merge: variant "default" was computed on 2 data designs: \w{8} \(.*quick\.jsonl: 2\), \w{8} \(.*full\.jsonl: 2; simulator\.impressions 30000 vs 100000\); merge them anyway with --allow-mixed/);
  oneLineExit2(esmm("merge", "--out", out, quick, otherStudy), /merge: the records come from 2 studies: "default" \(.*quick\.jsonl: 2\), "sensitivity" \(.*other\.jsonl: 1\)/);
  oneLineExit2(esmm("merge", "--out", out, quick, regenerated), /merge: variant "default", world 3, draw 3: the records read 2 different data sets, key-m30000 \(.*quick\.jsonl: 2\) and key-regenerated \(.*regen\.jsonl: 1\)/);
  assert.ok(!fs.existsSync(out), "nothing written");
  const r = esmm("merge", "--out", out, quick, full, "--allow-mixed");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.readFileSync(out, "utf8").trim().split("\n").length, 4);
  // the merged file is then refused by stats unless told which data
  oneLineExit2(esmm("stats", "--results", out), /2 data designs/);
  assert.equal(esmm("stats", "--results", out, "--per-data").status, 0);
});
