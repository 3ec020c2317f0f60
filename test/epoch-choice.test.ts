/**
 * epochChoiceInflation (lib/study/epoch-choice.ts) on hand-made records with known answers: per seed the best
 * test value over epochs minus the reported one (direction "better"), the mean over seeds, its standard error and
 * 95 % t interval (numpy / scipy: mean, std(ddof=1) / sqrt(n), t.ppf(0.975, n - 1)), NaN (null) epochs skipped,
 * runs without per-epoch scores left out, a one-epoch run at 0, a mixed-epoch reported value below every epoch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EpochChoiceRecord, epochChoiceInflation, EPOCH_CHOICE_METRICS } from "../lib/study/epoch-choice";
import { epochChoiceMarkdown, epochChoiceRows } from "../lib/views/epoch-choice";

type Scores = [number | null | undefined, number | null, number]; // cvr.rocAuc (undefined: no CVR space), ctcvr.rocAuc, ctcvr.logLoss
const scores = ([cvr, ctcvr, ll]: Scores) => ({ ctcvr: { rocAuc: ctcvr, logLoss: ll }, ...(cvr === undefined ? {} : { cvr: { rocAuc: cvr, logLoss: 0.5 } }) });
const record = (model: string, seed: number, reported: Scores, epochs?: Scores[]): EpochChoiceRecord => ({
  model,
  seed,
  test: { metrics: scores(reported) },
  training: { epochs: (epochs ?? [reported]).map((e, i) => ({ epoch: i + 1, ...(epochs ? { test: scores(e) } : {}) })) },
});

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);

test("known answers: mean over seeds of (test-chosen - validation-chosen), in the better direction, ± sd/sqrt(n), 95 % t interval", () => {
  const records = [
    // seed 1: the validation split chose epoch 1; the test split would have chosen 2 (AUCs) or 2 (cross-entropy)
    record("ESMM", 1, [0.6, 0.55, 0.1], [[0.6, 0.55, 0.1], [0.65, 0.56, 0.09], [0.62, 0.58, 0.095]]),
    // seed 2: the validation choice is the test-best for the CVR AUC and the cross-entropy
    record("ESMM", 2, [0.7, 0.5, 0.2], [[0.7, 0.5, 0.2], [0.68, 0.52, 0.21]]),
    // seed 3: an undefined AUC (null) at epoch 3 is skipped
    record("ESMM", 3, [0.61, 0.6, 0.28], [[0.61, 0.6, 0.3], [0.64, 0.6, 0.28], [null, 0.61, 0.29]]),
  ];
  const t = epochChoiceInflation(records);
  assert.deepEqual(t.metrics.map((m) => m.metric), ["cvr.rocAuc", "ctcvr.rocAuc", "ctcvr.logLoss"]);
  assert.equal(t.rows.length, 1);
  const [row] = t.rows;
  assert.deepEqual(row.seeds, [1, 2, 3]);
  assert.deepEqual(row.epochsRun, [3, 2, 3]);
  assert.equal(row.runsWithoutEpochScores, 0);
  // per-seed differences [0.05, 0, 0.03], [0.03, 0.02, 0.01], [0.01, 0, 0] (numpy / scipy values)
  const expected = [
    { mean: 0.02666666666666667, se: 0.014529663145135579, ci: [-0.035849428127091076, 0.08918276146042442], reported: (0.6 + 0.7 + 0.61) / 3, best: (0.65 + 0.7 + 0.64) / 3 },
    { mean: 0.02, se: 0.005773502691896258, ci: [-0.0048413771175033, 0.0448413771175033], reported: (0.55 + 0.5 + 0.6) / 3, best: (0.58 + 0.52 + 0.61) / 3 },
    { mean: 0.0033333333333333335, se: 0.0033333333333333335, ci: [-0.011008842432498207, 0.017675509099164873], reported: (0.1 + 0.2 + 0.28) / 3, best: (0.09 + 0.2 + 0.28) / 3 },
  ];
  expected.forEach((e, j) => {
    const c = row.cells[j];
    const m = EPOCH_CHOICE_METRICS[j].metric;
    assert.equal(c.n, 3, m);
    assert.equal(c.undefinedRuns, 0, m);
    close(c.inflation, e.mean, `${m} mean`);
    close(c.inflationSe, e.se, `${m} se`);
    close(c.ci95[0], e.ci[0], `${m} ci low`);
    close(c.ci95[1], e.ci[1], `${m} ci high`);
    close(c.validationChosen, e.reported, `${m} reported`);
    close(c.testChosen, e.best, `${m} test-chosen`);
  });
});

test("one epoch: inflation 0 with se 0; one seed: no se; no pCVR: undefined; runs without per-epoch scores left out; a mixed-epoch value can be negative; duplicates throw", () => {
  const t = epochChoiceInflation([
    record("IP", 1, [0.7, 0.6, 0.1], [[0.65, 0.58, 0.11], [0.68, 0.59, 0.12]]), // reported weights of two epochs: better than any one
    record("ESMM", 1, [0.6, 0.55, 0.1], [[0.6, 0.55, 0.1]]),
    record("ESMM", 2, [0.62, 0.56, 0.11], [[0.62, 0.56, 0.11]]),
    record("ESMM", 3, [0.62, 0.56, 0.11]), // trained without testEveryEpoch
    record("ESP", 1, [undefined, 0.56, 0.11], [[undefined, 0.56, 0.11], [undefined, 0.57, 0.1]]), // no pCVR: no CVR space
    record("ESMM-NS", 1, [null, 0.56, 0.11], [[null, 0.56, 0.11], [null, 0.57, 0.1]]), // a CVR AUC on clicked rows of one class
  ]);
  assert.deepEqual(t.rows.map((r) => r.model), ["IP", "ESMM", "ESP", "ESMM-NS"]);
  const [ip, esmm, esp, ns] = t.rows;
  close(ip.cells[0].inflation, 0.68 - 0.7, "IP CVR AUC");
  close(ip.cells[2].inflation, 0.1 - 0.11, "IP cross-entropy");
  assert.ok(Number.isNaN(ip.cells[0].inflationSe), "one seed has no standard error");
  assert.deepEqual(esmm.seeds, [1, 2]);
  assert.equal(esmm.runsWithoutEpochScores, 1);
  for (const c of esmm.cells) assert.deepEqual([c.n, c.inflation, c.inflationSe, ...c.ci95], [2, 0, 0, 0, 0]);
  assert.deepEqual([esp.cells[0].n, esp.cells[0].undefinedRuns, esp.cells[0].absentRuns], [0, 0, 1]);
  assert.deepEqual([ns.cells[0].n, ns.cells[0].undefinedRuns, ns.cells[0].absentRuns], [0, 1, 0]);
  assert.ok(Number.isNaN(esp.cells[0].inflation));
  close(esp.cells[1].inflation, 0.01, "ESP CTCVR AUC");
  const rows = epochChoiceRows(t);
  assert.equal(rows[1].note, "1 run(s) without per-epoch test scores left out");
  assert.equal(rows[1]["CVR ROC-AUC (clicked rows): inflation ± se [95 % t]"], "0 ± 0 [0, 0]");
  assert.equal(rows[2]["CVR ROC-AUC (clicked rows): inflation ± se [95 % t]"], "- (1 without pCvr)");
  assert.equal(rows[3]["CVR ROC-AUC (clicked rows): inflation ± se [95 % t]"], "- (1 undefined)");
  assert.match(epochChoiceMarkdown(t), /^\| model \| seeds \| epochs_run \| CVR ROC-AUC \(clicked rows\): validation-chosen \|/);
  assert.throws(() => epochChoiceInflation([record("ESMM", 1, [0.6, 0.5, 0.1]), record("ESMM", 1, [0.6, 0.5, 0.1])]), /^Error: epochChoiceInflation: model ESMM, seed 1 appears twice/);
});
