/**
 * The sensitivity study's closing table is computed, not typed in: synthetic results with known verdicts go in,
 * the table's three-way verdicts come out (holds / contradicted / inconclusive, with Holm over every test of the
 * grid). A run shared by two variants (the default level of every factor) is stored once and counts in both.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, deriveSeed } from "../lib/data/random";
import { computation, canonicalJson } from "../lib/study/results";
import { expandGrid, RunSpec } from "../lib/study/spec";
import { sensitivityResults, sensitivityStudy, recordsByVariant } from "../lib/study/sensitivity";
import { sensitivityTable } from "../lib/views/sensitivity";

/** Mean CTCVR cross-entropy per model: IPSP beats IP only with batch-weight normalisation; ESP always loses. */
function meanLoss(run: RunSpec): number {
  const ownRows = run.train.lossNormalization === "own-rows";
  const base: Record<string, number> = { IP: 0.01, ESMM: 0.0098, "ESMM-NS": 0.0099, "ESSP-Split": 0.0099, IPSP: ownRows ? 0.0103 : 0.0098, ESP: 0.0102 };
  return base[run.model];
}

function syntheticRecords(runs: RunSpec[]) {
  const seen = new Set<string>();
  const records = [];
  for (const run of runs) {
    const k = canonicalJson(computation(run));
    if (seen.has(k)) continue; // one record per computation, as the runner writes them
    seen.add(k);
    const noise = new Rng(deriveSeed(run.seed, run.model, run.variant)).normal(); // seeded, independent per run
    const logLoss = meanLoss(run) * (1 + 0.001 * noise);
    records.push({
      key: k,
      model: run.model,
      seed: run.seed,
      variant: run.variant,
      factor: run.factor,
      level: run.level,
      config: run,
      test: { split: "test", days: [12], rows: 1000, conversions: 150, metrics: { ctcvr: { logLoss, prAuc: 0.1, rocAuc: 0.8 } }, oracle: { ctcvr: 0.009, ctr: 0.06, cvr: 0.2 } },
      later: [],
      training: { parameters: { total: 1000 } },
    });
  }
  return records;
}

test("the closing table's verdicts follow the results, and shared default runs count in every factor", () => {
  const study = { ...sensitivityStudy("quick"), seeds: [1, 2, 3, 4, 5, 6] };
  const grid = expandGrid(study);
  const records = syntheticRecords(grid);
  // the default level of both factors is one computation: fewer records than grid cells
  assert.equal(records.length, grid.length - study.models.length * study.seeds.length);
  assert.equal(recordsByVariant(study, records as never).length, grid.length);
  const results = sensitivityResults(study, records as never, { alpha: 0.01 });
  assert.deepEqual(results.map((r) => r.factor.name), ["lossNormalization", "negativeKeepRate"]);
  const table = sensitivityTable(results);
  const row = (id: string) => table[results[0].findings.findIndex((f) => f.id === id)];
  // Cells group the levels by verdict, each with its estimate (percent of IP's mean ± se).
  assert.match(row("ipsp-better-than-ip").lossNormalization, /^holds: batch-weight \+\d\.\d\d % ± 0\.\d\d; contradicted: own-rows -\d\.\d\d % ± 0\.\d\d$/);
  assert.match(row("ipsp-better-than-ip").negativeKeepRate, /^holds: 0\.05 \+\d\.\d\d % ± 0\.\d\d, 0\.1 \+\d\.\d\d % ± 0\.\d\d$/);
  assert.match(row("esp-worse-than-ip").lossNormalization, /^holds: own-rows -\d\.\d\d % ± 0\.\d\d, batch-weight -\d\.\d\d % ± 0\.\d\d$/);
  assert.match(row("esmm-ns-better-than-ip").negativeKeepRate, /^holds: 0\.05 \+\d\.\d\d % ± 0\.\d\d, 0\.1 \+\d\.\d\d % ± 0\.\d\d$/);
  // The same test decided alone and inside the grid: Holm over every test of the table makes it stricter.
  const cell = results[1].findings.find((f) => f.id === "esmm-ns-vs-essp-split")!.perLevel[0].finding;
  assert.ok(cell.tests.every((x) => x.pAdjusted >= x.p) && cell.tests.some((x) => x.pAdjusted > x.p));
});

test("when IP wins at every level, every 'better than IP' finding is contradicted everywhere", () => {
  const study = { ...sensitivityStudy("quick"), seeds: [1, 2, 3, 4, 5, 6] };
  const records = syntheticRecords(expandGrid(study)).map((r) => ({
    ...r,
    test: { ...r.test, metrics: { ctcvr: { ...r.test.metrics.ctcvr, logLoss: r.model === "IP" ? 0.008 : r.test.metrics.ctcvr.logLoss } } },
  }));
  const results = sensitivityResults(study, records as never);
  const table = sensitivityTable(results);
  for (const id of ["ipsp-better-than-ip", "esmm-ns-better-than-ip"]) {
    const r = table[results[0].findings.findIndex((f) => f.id === id)];
    assert.match(r.lossNormalization, /^contradicted: own-rows -\d+\.\d\d % ± \d\.\d\d, batch-weight -\d+\.\d\d % ± \d\.\d\d$/);
    assert.match(r.negativeKeepRate, /^contradicted: 0\.05 -\d+\.\d\d % ± \d\.\d\d, 0\.1 -\d+\.\d\d % ± \d\.\d\d$/);
  }
});
