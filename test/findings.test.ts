/**
 * lib/study/findings: the paper's findings as rules with three-way verdicts.
 *
 * - The acceptance case: the default study's results written before this change (six models x 10 seeds on
 *   one simulated world, test day with 131 conversions; test/fixtures/study/) give, through `esmm stats
 *   --json`, ipsp-better-than-ip inconclusive (IPSP 0.51 % worse, p = 0.24), esp-worse-than-ip holds and
 *   esmm-ns-better-than-ip contradicted (ESMM-NS significantly worse). Their p-values are checked against an
 *   independent computation: pairedTTest (scipy's ttest_rel, tested against its reference values) on the
 *   per-seed values.
 * - Synthetic studies with known truth: per model a mean and a seed sd, seeded normal noise (the project's
 *   Rng); (a) the paper's picture, (b) IP wins everywhere, (c) too little data.
 * - Rules are data: the claim text comes from the rule; a grid adjusts every test together (Holm).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { FIXTURES_DIR, PROJECT_DIR } from "./paths";
import { Rng } from "../lib/data/random";
import { equivalenceTest, pairedTTest } from "../lib/stats";
import { readResultsJsonl } from "../lib/cli/stats";
import { StudyResult, summarizeStudy } from "../lib/study/summary";
import {
  FINDING_KINDS,
  FINDING_RULES,
  Finding,
  Verdict,
  decideFindings,
  evaluateFindings,
  findingsAcrossLevels,
} from "../lib/study/findings";
import { findingsAcrossLevelsText, findingsRows, findingsText } from "../lib/views/findings";
import { formatP } from "../lib/format";

const OLD_DEFAULT_STUDY = path.join(FIXTURES_DIR, "study", "default-study-1cf9ca8.jsonl");

const verdicts = (fs: Finding[]): Record<string, Verdict> => Object.fromEntries(fs.map((f) => [f.id, f.verdict]));
const byId = (fs: Finding[]) => Object.fromEntries(fs.map((f) => [f.id, f]));

test("FINDING_RULES: the nine claims of the paper, by id, each of a registered kind", () => {
  assert.deepEqual(
    FINDING_RULES.map((r) => r.id),
    [
      "esp-worse-than-ip",
      "essp-split-better-than-esp",
      "ipsp-better-than-ip",
      "ipsp-best",
      "esmm-ns-better-than-ip",
      "esmm-ns-vs-essp-split",
      "esmm-equivalent-to-ipsp",
      "esmm-more-variable-than-ipsp",
      "gains-not-additive",
    ],
  );
  for (const r of FINDING_RULES) assert.ok(FINDING_KINDS[r.test.kind], `${r.id}: kind ${r.test.kind} is not registered`);
});

test("acceptance: the default study's results from before this change, through `esmm stats --json`", () => {
  const r = spawnSync(process.execPath, [path.join(PROJECT_DIR, "bin", "esmm.js"), "stats", "--results", OLD_DEFAULT_STUDY, "--json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { findings: { id: string; claim: string; verdict: string; p: number }[]; runs: number };
  assert.equal(out.runs, 60);
  const f = Object.fromEntries(out.findings.map((x) => [x.id, x]));
  assert.deepEqual(out.findings.map((x) => x.id), FINDING_RULES.map((x) => x.id));
  for (const x of out.findings) assert.ok(["holds", "contradicted", "inconclusive"].includes(x.verdict), `${x.id}: ${x.verdict}`);
  assert.equal(f["ipsp-better-than-ip"].verdict, "inconclusive");
  assert.equal(f["esp-worse-than-ip"].verdict, "holds");
  assert.equal(f["esmm-ns-better-than-ip"].verdict, "contradicted");

  // The p-values are paired t tests by seed: recompute them independently from the records.
  const { results } = readResultsJsonl(OLD_DEFAULT_STUDY);
  const values = (model: string) => results.filter((x) => x.model === model).sort((a, b) => a.seed - b.seed).map((x) => x.test.metrics.ctcvr.logLoss);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1e-12, Math.abs(b)), `${a} vs ${b}`);
  close(f["esp-worse-than-ip"].p, pairedTTest(values("ESP"), values("IP")).p);
  close(f["ipsp-better-than-ip"].p, pairedTTest(values("IPSP"), values("IP")).p);
  close(f["esmm-ns-better-than-ip"].p, pairedTTest(values("ESMM-NS"), values("IP")).p);
  assert.ok(f["ipsp-better-than-ip"].p > 0.2 && f["esmm-ns-better-than-ip"].p < 0.01, JSON.stringify([f["ipsp-better-than-ip"].p, f["esmm-ns-better-than-ip"].p]));
  // The equivalence test of ESMM vs IPSP is TOST at 0.5 % of IP's mean, paired (statsmodels ttost_paired).
  const ipMean = values("IP").reduce((a, b) => a + b, 0) / 10;
  const eq = equivalenceTest(values("ESMM"), values("IPSP"), (0.5 * ipMean) / 100, { paired: true });
  close(f["esmm-equivalent-to-ipsp"].p, eq.p);
});

/** Per-seed values mean (1 + sd_rel z), z standard normal from a seeded stream, `seeds` seeds per model. */
function study(models: Record<string, [number, number]>, seeds = 10, seed = 1): StudyResult[] {
  const rng = new Rng(seed);
  return Object.entries(models).flatMap(([model, [mean, sd]]) =>
    Array.from({ length: seeds }, (_, i) => ({
      model,
      seed: i + 1,
      test: { conversions: 140, days: [12], metrics: { ctcvr: { logLoss: mean + sd * rng.normal(), prAuc: 0.01 - mean + sd * rng.normal() } } },
    })),
  );
}

// (a) The paper's picture: IPSP best (ESMM within the margin, noisier), ESMM-NS and ESSP-Split better than IP, ESP worst.
const PAPER = study(
  {
    IP: [0.0075, 1e-5],
    ESMM: [0.007405, 3e-5],
    "ESMM-NS": [0.00744, 1e-5],
    "ESSP-Split": [0.00745, 1e-5],
    IPSP: [0.0074, 1e-5],
    ESP: [0.00765, 1e-5],
  },
  20,
);
// (b) IP wins everywhere.
const IP_WINS = study({
  IP: [0.0074, 1e-5],
  ESMM: [0.00762, 2e-5],
  "ESMM-NS": [0.0076, 1e-5],
  "ESSP-Split": [0.0076, 1e-5],
  IPSP: [0.0076, 1e-5],
  ESP: [0.0078, 1e-5],
});

test("(a) the paper's picture: every finding holds, with its numbers", () => {
  const f = evaluateFindings(summarizeStudy(PAPER));
  assert.deepEqual(verdicts(f), {
    "esp-worse-than-ip": "holds",
    "essp-split-better-than-esp": "holds",
    "ipsp-better-than-ip": "holds",
    "ipsp-best": "holds",
    "esmm-ns-better-than-ip": "holds",
    "esmm-ns-vs-essp-split": "holds",
    "esmm-equivalent-to-ipsp": "holds",
    "esmm-more-variable-than-ipsp": "holds",
    "gains-not-additive": "holds",
  });
  const g = byId(f);
  // The interaction is the 2x2 contrast in percent of IP's mean: g(ESMM) - g(ESMM-NS) - g(IPSP), about 1.27 - 0.8 - 1.33 = -0.87.
  const mean = (m: string) => PAPER.filter((r) => r.model === m).reduce((a, r) => a + r.test.metrics.ctcvr.logLoss, 0) / 20;
  const gain = (m: string) => (100 * (mean("IP") - mean(m))) / mean("IP");
  assert.ok(Math.abs(g["gains-not-additive"].estimate - (gain("ESMM") - gain("ESMM-NS") - gain("IPSP"))) < 1e-9);
  assert.ok(Math.abs(g["ipsp-better-than-ip"].estimate - gain("IPSP")) < 1e-9);
  assert.ok(g["esmm-more-variable-than-ipsp"].estimate > 2, `sd ratio ${g["esmm-more-variable-than-ipsp"].estimate}`);
  const text = findingsText(f);
  assert.match(text, /^Of the paper's 9 findings tested here: 9 hold, 0 contradicted, 0 inconclusive\.\n/);
  assert.match(text, /- \*\*IPSP is better than IP \(lower CTCVR cross-entropy\)\*\*: holds\. The test for the claim rejects at alpha = 0\.01 \(IPSP better than IP \(two-sided t\): p = \S+\)/);
  assert.match(text, /\*\*ESMM is equivalent to IPSP \(CTCVR cross-entropy within ±0\.5 % of IP's mean\)\*\*: holds/);
});

test("(b) IP wins everywhere: every 'better than IP' claim is contradicted, and the text says why", () => {
  const f = evaluateFindings(summarizeStudy(IP_WINS));
  const v = verdicts(f);
  assert.equal(v["esp-worse-than-ip"], "holds");
  assert.equal(v["ipsp-better-than-ip"], "contradicted");
  assert.equal(v["esmm-ns-better-than-ip"], "contradicted");
  assert.equal(v["ipsp-best"], "contradicted"); // IP is significantly better than IPSP
  assert.equal(v["essp-split-better-than-esp"], "holds");
  const text = findingsText(f);
  assert.match(text, /\*\*IPSP is better than IP \(lower CTCVR cross-entropy\)\*\*: contradicted\. Evidence against the claim at alpha = 0\.01 \(IPSP worse than IP \(two-sided t\): p = \S+\)/);
  assert.match(text, /\*\*IPSP is the best model.*\*\*: contradicted\. Evidence against the claim .*IP better than IPSP \(two-sided t\): p = \S+, Holm-adjusted/);
  // Same claims as in (a), different verdicts: nothing in the text is fixed in advance.
  assert.deepEqual(f.map((x) => x.claim), evaluateFindings(summarizeStudy(PAPER)).map((x) => x.claim));
  // The table shows the p that decided a family-wise contradiction (against the claim), not only the claim's own
  const row = findingsRows(f).find((r) => r.id === "esmm-ns-better-than-ip")!;
  const ns = byId(f)["esmm-ns-better-than-ip"];
  assert.equal(row["verdict (family-wise)"], "contradicted");
  assert.ok(ns.pAgainstFamilywise < 0.01 && ns.pFamilywise > 0.01, "decided against the claim, with the claim's own p large");
  assert.ok(Number(row["p family-wise against"]) < 0.01, `shown: ${row["p family-wise against"]}`);
  // ... and so does the text (esmm stats, notebooks): the p against the claim, not the claim's own p
  const line = text.split("\n").find((l) => l.startsWith("- **ESMM-NS is better than IP"))!;
  assert.match(line, new RegExp(`Family-wise \\(Holm over ${f.length}\\): contradicted, p against = ${formatP(ns.pAgainstFamilywise).replace(/[.+-]/g, "\\$&")}\\.`));
  assert.doesNotMatch(line, /contradicted, p = /);
});

test("(c) inconclusive is never 'does not hold': too few runs, or a small difference drowned in noise", () => {
  const one = evaluateFindings(summarizeStudy(study({ IP: [0.0075, 1e-5], ESMM: [0.0074, 1e-5], "ESMM-NS": [0.0074, 1e-5], IPSP: [0.0074, 1e-5], ESP: [0.0076, 1e-5] }, 1)));
  assert.ok(one.every((x) => x.verdict === "inconclusive"), JSON.stringify(verdicts(one)));
  const missing = evaluateFindings(summarizeStudy(study({ IP: [0.0075, 1e-5], ESMM: [0.0074, 1e-5] })));
  assert.match(missing[0].reason, /no runs of ESP/);
  // IPSP 0.3 % worse than IP with seed noise of 1 %: neither significant nor equivalent within 0.5 %.
  const noisy = evaluateFindings(summarizeStudy(study({ IP: [0.0075, 7.5e-5], IPSP: [0.0075 * 1.003, 7.5e-5] }, 10, 3)));
  const ipsp = byId(noisy)["ipsp-better-than-ip"];
  assert.equal(ipsp.verdict, "inconclusive");
  assert.ok(ipsp.mde > 1, `MDE ${ipsp.mde}`);
});

test("equivalence shown contradicts a claimed difference; a significant difference inside the margin still holds", () => {
  // IPSP = IP within 0.05 % and very precise: TOST at 0.5 % rejects -> "IPSP better than IP" contradicted.
  const same = evaluateFindings(summarizeStudy(study({ IP: [0.0075, 1e-7], IPSP: [0.0075 * 0.99995, 1e-7] }, 10, 4)));
  const s = byId(same)["ipsp-better-than-ip"];
  assert.equal(s.verdict, "holds"); // 0.005 % better, highly significant: holds, and the reason says it is inside the margin
  assert.match(s.reason, /inside the ±0\.5 % margin/);
  const equal = evaluateFindings(summarizeStudy(study({ IP: [0.0075, 2e-6], IPSP: [0.0075, 2e-6] }, 10, 5)));
  const e = byId(equal)["ipsp-better-than-ip"];
  assert.equal(e.verdict, "contradicted");
  assert.match(e.reason, /IPSP equivalent to IP within ±0\.5 % \(TOST\): p = /);
});

test("margin and alpha are options; the claims and methods name them", () => {
  const s = summarizeStudy(PAPER);
  const f = byId(evaluateFindings(s, { margin: 0.05 }));
  assert.match(f["esmm-equivalent-to-ipsp"].claim, /within ±0\.05 % of IP's mean/);
  assert.match(f["esmm-equivalent-to-ipsp"].method, /TOST.*±0\.05 %/);
  assert.throws(() => evaluateFindings(s, { margin: 0 }), /margin must be > 0/);
  assert.throws(() => evaluateFindings(s, { alpha: 2 }), /alpha must be in \(0, 1\)/);
  // On PR-AUC (higher is better) the same rules speak of PR-AUC.
  assert.match(evaluateFindings(summarizeStudy(PAPER, { metric: "ctcvr.prAuc" }))[2].claim, /IPSP is better than IP \(higher CTCVR PR-AUC\)/);
});

test("a grid adjusts every test together (Holm): a verdict at raw p can become inconclusive", () => {
  // IPSP better than IP with p = 0.0053: holds alone; with the tests of 8 more levels, Holm multiplies it.
  const s = summarizeStudy(study({ IP: [0.0075, 6e-5], IPSP: [0.0074, 6e-5] }, 10, 5));
  const alone = byId(evaluateFindings(s))["ipsp-better-than-ip"];
  assert.ok(alone.p < 0.01 && alone.p > 1e-4, `p ${alone.p}`);
  assert.equal(alone.verdict, "holds");
  const grid = decideFindings(Array.from({ length: 9 }, () => evaluateFindings(s)).flat());
  const adjusted = grid.find((x) => x.id === "ipsp-better-than-ip")!;
  assert.equal(adjusted.verdict, "inconclusive");
  assert.ok(adjusted.tests[0].pAdjusted > adjusted.tests[0].p);
  assert.match(adjusted.reason, /Holm-adjusted/);
});

test("findingsAcrossLevels: the verdict at every level, three-way, with Holm over the grid", () => {
  const a = summarizeStudy(PAPER);
  const b = summarizeStudy(IP_WINS);
  const rows = findingsAcrossLevels(new Map<string | number, ReturnType<typeof summarizeStudy>>([["own-rows", a], ["batch-weight", b], ["batch-rows", a]]));
  const r = Object.fromEntries(rows.map((x) => [x.id, x]));
  assert.deepEqual(rows.map((x) => x.id), FINDING_RULES.map((x) => x.id));
  assert.deepEqual([r["ipsp-better-than-ip"].holdsAt, r["ipsp-better-than-ip"].contradictedAt], [["own-rows", "batch-rows"], ["batch-weight"]]);
  assert.equal(r["ipsp-better-than-ip"].text, "holds at own-rows, batch-rows; contradicted at batch-weight");
  assert.match(findingsAcrossLevelsText(rows), /\| IPSP is better than IP \(lower CTCVR cross-entropy\) \| own-rows, batch-rows \| batch-weight \| - \|/);
});
