/**
 * lib/study/findings: the paper's findings as rules over a study summary, on synthetic results whose
 * per-seed CTCVR cross-entropies are chosen (values = mean + sd * z, z a fixed pattern of mean 0 and
 * sd 1, rotated per model): (a) the paper's picture, every finding holds; (b) IP wins everywhere, every
 * "better than IP" finding does not hold and the text says so; (c) too few seeds or too much noise,
 * inconclusive; and the verdicts across the levels of a sensitivity factor.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { StudyResult, summarizeStudy } from "../lib/study/summary";
import {
  FINDING_RULES,
  Finding,
  esmmCloseToIpsp,
  evaluateFindings,
  findingsAcrossLevels,
  findingsAcrossLevelsText,
  findingsText,
  gainsNotAdditive,
  sharingHelps,
} from "../lib/study/findings";

const Z = (() => {
  const z = [-1.5, -0.5, 0, 0.4, 0.6, 1.0];
  const m = z.reduce((a, b) => a + b) / z.length;
  const sd = Math.sqrt(z.reduce((a, b) => a + (b - m) ** 2, 0) / (z.length - 1));
  return z.map((v) => (v - m) / sd);
})();

/** model -> [mean, sd] of the CTCVR log loss over 6 seeds (or `seeds`). */
function study(models: Record<string, [number, number]>, seeds = Z.length): StudyResult[] {
  return Object.entries(models).flatMap(([model, [mean, sd]], k) =>
    Z.slice(0, seeds).map((_, i) => ({
      model,
      seed: i + 1,
      variant: "default",
      test: { conversions: 140, days: [12], metrics: { ctcvr: { logLoss: mean + sd * Z[(i + k) % Z.length], prAuc: 0.01 - mean + sd * Z[(i + k) % Z.length] } } },
      later: [],
      training: { parameters: { total: 1000 } },
    })),
  );
}

// (a) The paper's picture: ESMM ~ IPSP best, ESMM-NS better than IP, ESP worst, ESMM noisier.
const PAPER = study({
  IP: [0.0075, 1e-5],
  ESMM: [0.00741, 2e-5],
  "ESMM-NS": [0.00744, 1e-5],
  "ESSP-Split": [0.00745, 1e-5],
  IPSP: [0.0074, 1e-5],
  ESP: [0.00765, 1e-5],
});
// (b) IP wins everywhere.
const IP_WINS = study({
  IP: [0.0074, 1e-5],
  ESMM: [0.00762, 2e-5],
  "ESMM-NS": [0.0076, 1e-5],
  "ESSP-Split": [0.0076, 1e-5],
  IPSP: [0.0076, 1e-5],
  ESP: [0.0078, 1e-5],
});
// (c) The paper's means, but seed noise 20 times larger.
const NOISY = study({
  IP: [0.0075, 2e-4],
  ESMM: [0.00741, 4e-4],
  "ESMM-NS": [0.00744, 2e-4],
  "ESSP-Split": [0.00745, 2e-4],
  IPSP: [0.0074, 2e-4],
  ESP: [0.00765, 2e-4],
});

const byId = (fs: Finding[]) => Object.fromEntries(fs.map((f) => [f.id, f]));
const verdicts = (fs: Finding[]) => Object.fromEntries(fs.map((f) => [f.id, f.holds]));

test("FINDING_RULES: one rule per finding, in evaluateFindings order", () => {
  const ids = FINDING_RULES.map((r) => r.id);
  assert.deepEqual(ids, ["esp-worse-than-ip", "sharing-helps", "esmm-ns-better-than-ip", "esmm-close-to-ipsp", "gains-not-additive"]);
  assert.deepEqual(evaluateFindings(summarizeStudy(PAPER)).map((f) => f.id), ids);
  for (const r of FINDING_RULES) assert.ok(r.holds && r.doesNotHold && r.inconclusive && r.models.length >= 2, r.id);
});

test("(a) the paper's picture: every finding holds, with its numbers", () => {
  const s = summarizeStudy(PAPER);
  const f = evaluateFindings(s);
  assert.deepEqual(verdicts(f), {
    "esp-worse-than-ip": true,
    "sharing-helps": true,
    "esmm-ns-better-than-ip": true,
    "esmm-close-to-ipsp": true,
    "gains-not-additive": true,
  });
  const g = byId(f);
  assert.ok(Math.abs(g["sharing-helps"].values.percentVsIp - (100 * 0.0001) / 0.0075) < 1e-9);
  assert.ok(g["esp-worse-than-ip"].values.p < 0.01);
  assert.ok(g["esmm-close-to-ipsp"].values.p >= 0.01);
  assert.ok(Math.abs(g["esmm-close-to-ipsp"].values.sdRatio - 2) < 1e-9);
  // I = 1.2 - (0.8 + 1.333) = -0.933 % of IP's mean.
  assert.ok(Math.abs(g["gains-not-additive"].values.interaction - (1.2 - 0.8 - 100 / 75)) < 1e-9);
  assert.match(g["gains-not-additive"].evidence, /I = -0\.93 % ± 0\.14/);

  const text = findingsText(f);
  assert.match(text, /^5 of 5 findings of the paper hold here\.\n/);
  assert.match(text, /- \*\*Hard parameter sharing helps: IPSP is better than IP \(lower CTCVR cross-entropy\)\*\*: holds\. IPSP's mean CTCVR cross-entropy is 1\.33 % better than IP's, Welch p = \S+ < alpha = 0\.01\./);
  assert.match(text, /ESMM's gain over IP, \+1\.20 %, is less than the sum \+2\.13 % of ESMM-NS's \+0\.80 % and IPSP's \+1\.33 % \(I = -0\.93 % ± 0\.14, p = \S+ < alpha = 0\.01\)/);
  assert.match(text, /ESMM's sd is 2 times IPSP's/);
});

test("(b) IP wins everywhere: every 'better than IP' finding does not hold, and the text says why", () => {
  const s = summarizeStudy(IP_WINS);
  const f = evaluateFindings(s);
  assert.deepEqual(verdicts(f), {
    "esp-worse-than-ip": true, // ESP is (still) worse than IP
    "sharing-helps": false,
    "esmm-ns-better-than-ip": false,
    "esmm-close-to-ipsp": true, // ESMM and IPSP are equally bad, ESMM noisier
    "gains-not-additive": false, // I = -2.97 - (-2.70 - 2.70) > 0
  });
  const text = findingsText(f);
  assert.match(text, /^2 of 5 findings of the paper hold here, 3 do not\.\n/);
  assert.match(text, /- \*\*Hard parameter sharing helps: IPSP is better than IP \(lower CTCVR cross-entropy\)\*\*: does not hold\. IPSP's mean CTCVR cross-entropy is 2\.70 % worse than IP's \(Welch p = \S+ < alpha = 0\.01\)\./);
  assert.match(text, /- \*\*ESMM-NS is better than IP \(lower CTCVR cross-entropy\)\*\*: does not hold\. ESMM-NS's mean CTCVR cross-entropy is 2\.70 % worse than IP's/);
  assert.match(text, /ESMM's gain over IP, -2\.97 %, is more than the sum -5\.41 % of ESMM-NS's -2\.70 % and IPSP's -2\.70 % \(I = \+2\.43 %/);
  // Same claims as in (a), different verdicts: nothing in the text is fixed in advance.
  const claimsA = evaluateFindings(summarizeStudy(PAPER)).map((x) => x.claim);
  assert.deepEqual(f.map((x) => x.claim), claimsA);
  assert.notEqual(text, findingsText(evaluateFindings(summarizeStudy(PAPER))));
});

test("(c) inconclusive: one seed per model (no test possible), or the paper's means drowned in seed noise", () => {
  const one = evaluateFindings(summarizeStudy(study({ IP: [0.0075, 0], ESMM: [0.0074, 0], "ESMM-NS": [0.0074, 0], IPSP: [0.0074, 0], ESP: [0.0076, 0] }, 1)));
  assert.ok(one.every((x) => x.holds === "inconclusive"), JSON.stringify(verdicts(one)));
  assert.match(one[0].reason, /ESP has only 1 defined run \(a t test needs at least 2 per model\)/);
  const missing = evaluateFindings(summarizeStudy(study({ IP: [0.0075, 1e-5], ESMM: [0.0074, 1e-5] })));
  assert.match(missing[0].reason, /ESP has no defined runs/);
  assert.match(findingsText(one), /^0 of 5 findings of the paper hold here, 5 are inconclusive\./);

  const noisy = evaluateFindings(summarizeStudy(NOISY));
  assert.deepEqual(verdicts(noisy), {
    "esp-worse-than-ip": "inconclusive", // worse by 2 %, but p >= 0.01
    "sharing-helps": "inconclusive",
    "esmm-ns-better-than-ip": "inconclusive",
    "esmm-close-to-ipsp": true, // no significant difference, larger sd: the rule has no "inconclusive" here
    "gains-not-additive": "inconclusive", // I < 0 but not significant
  });
  const text = findingsText(noisy);
  assert.match(text, /1 of 5 findings of the paper holds here, 4 are inconclusive\./);
  assert.match(text, /: inconclusive\. IPSP's mean CTCVR cross-entropy is 1\.33 % better than IP's, but Welch p = \S+ >= alpha = 0\.01\./);
  assert.match(text, /not significant: p = \S+ >= alpha = 0\.01/);
});

test("esmm-close-to-ipsp does not hold when they differ significantly or ESMM is not noisier", () => {
  const apart = esmmCloseToIpsp(summarizeStudy(study({ IP: [0.0075, 1e-5], ESMM: [0.0073, 2e-5], IPSP: [0.0074, 1e-5] })));
  assert.equal(apart.holds, false);
  assert.match(apart.reason, /^the means differ by 1\.35 % of IPSP's with Welch p = \S+ < alpha/);
  const calm = esmmCloseToIpsp(summarizeStudy(study({ IP: [0.0075, 1e-5], ESMM: [0.00741, 1e-5], IPSP: [0.0074, 2e-5] })));
  assert.equal(calm.holds, false);
  assert.match(calm.reason, /^ESMM's sd is 0\.5 times IPSP's/);
});

test("pValue: 'holm' uses the Holm-adjusted p of the table (raw p 0.006 becomes 0.018); metric direction follows the summary", () => {
  // IP vs IPSP and IP vs ESMM-NS: Welch p about 0.006; three far smaller p's from ESP push Holm's factor to 3.
  const s = summarizeStudy(study({ IP: [1.2, 0.1], IPSP: [1.0, 0.1], "ESMM-NS": [1.0, 0.1], ESP: [3.0, 0.1] }));
  const raw = sharingHelps(s);
  const adjusted = sharingHelps(s, { pValue: "holm" });
  assert.ok(raw.values.p < 0.01 && raw.values.pHolm >= 0.01, JSON.stringify(raw.values));
  assert.equal(raw.holds, true);
  assert.equal(adjusted.holds, "inconclusive");
  assert.match(adjusted.reason, /but Holm-adjusted p = \S+ >= alpha/);

  // On PR-AUC (higher is better; here PR-AUC = 0.01 - cross-entropy + noise): the same verdicts, stated for PR-AUC.
  const pr = evaluateFindings(summarizeStudy(PAPER, { metric: "ctcvr.prAuc" }));
  assert.deepEqual(verdicts(pr), verdicts(evaluateFindings(summarizeStudy(PAPER))));
  assert.match(pr[1].claim, /IPSP is better than IP \(higher CTCVR PR-AUC\)/);
  assert.match(gainsNotAdditive(summarizeStudy(PAPER, { metric: "ctcvr.prAuc" })).claim, /CTCVR PR-AUC/);
});

test("findingsAcrossLevels: holds at every level, at some, at none, with the levels listed", () => {
  const a = summarizeStudy(PAPER);
  const b = summarizeStudy(IP_WINS);
  const c = summarizeStudy(NOISY);
  const rows = findingsAcrossLevels(new Map<string | number, ReturnType<typeof summarizeStudy>>([["own-rows", a], ["batch-weight", b], ["batch-rows", a], ["noisy", c]]));
  const r = Object.fromEntries(rows.map((x) => [x.id, x]));
  assert.deepEqual(rows.map((x) => x.id), FINDING_RULES.map((x) => x.id));
  assert.deepEqual(r["sharing-helps"].levels, ["own-rows", "batch-weight", "batch-rows", "noisy"]);
  assert.equal(r["sharing-helps"].verdict, "some");
  assert.deepEqual([r["sharing-helps"].holdsAt, r["sharing-helps"].failsAt, r["sharing-helps"].inconclusiveAt], [["own-rows", "batch-rows"], ["batch-weight"], ["noisy"]]);
  assert.equal(r["sharing-helps"].text, "holds at some levels: own-rows, batch-rows (does not hold at batch-weight; inconclusive at noisy)");
  assert.equal(r["esmm-close-to-ipsp"].verdict, "every");
  assert.equal(r["esmm-close-to-ipsp"].text, "holds at every level (own-rows, batch-weight, batch-rows, noisy)");
  assert.equal(r["gains-not-additive"].perLevel[1].finding.holds, false);

  const none = findingsAcrossLevels(new Map([[0.1, b], [0.5, b], [1, c]]));
  const n = Object.fromEntries(none.map((x) => [x.id, x]));
  assert.equal(n["sharing-helps"].verdict, "none");
  assert.equal(n["sharing-helps"].text, "holds at no level (does not hold at 0.1, 0.5; inconclusive at 1)");
  assert.equal(n["esp-worse-than-ip"].verdict, "some");
  // A plain object works too (key order = JavaScript's property order).
  const obj = findingsAcrossLevels({ low: a, high: a });
  assert.ok(obj.every((x) => x.verdict === "every"));
  const table = findingsAcrossLevelsText(rows);
  assert.match(table, /\| Hard parameter sharing helps: IPSP is better than IP \(lower CTCVR cross-entropy\) \| holds at some levels \| own-rows, batch-rows \| batch-weight \| noisy \|/);
  assert.equal(findingsAcrossLevels(new Map())[0].verdict, "none");
});
