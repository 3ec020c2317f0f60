/**
 * lib/views/models-report.ts, notebook 02's views, on hand-made records with the rows, captions and traces written
 * out: gaps to the oracle subtracted by hand (0.0125 - 0.0120 = 0.0005), % vs IP by percentBetter's definition
 * (lower is better: 100 (0.0125 - 0.0100) / 0.0125 = 20 % better, 0.0150 is 20 % worse).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { comparisonCaption, comparisonRows, learningCurveFigure, ModelRecordLike, spaceCaption, spaceRows } from "../lib/views/models-report";

const scores = (logLoss: number) => ({ logLoss, prAuc: 0.03, rocAuc: 0.7, calibrationRatio: 1.1 });
function record(model: string, ctcvr: number, options: { cvr?: number; ctr?: number; oracle?: boolean } = {}): ModelRecordLike {
  return {
    model,
    test: {
      days: [13],
      conversions: 35,
      metrics: { ctcvr: scores(ctcvr), ...(options.cvr === undefined ? {} : { cvr: scores(options.cvr) }), ...(options.ctr === undefined ? {} : { ctr: scores(options.ctr) }) },
      ...(options.oracle === false ? {} : { oracle: { ctcvr: 0.012, cvr: 0.3, ctr: 0.2 } }),
    },
    training: { bestEpoch: 2, parameters: { total: 1000 }, epochs: [{ epoch: 1, trainLoss: 0.5, valLoss: 0.02 }, { epoch: 2, trainLoss: 0.4, valLoss: 0.015 }] },
    timings: { trainSeconds: 12.34 },
  };
}

test("learningCurveFigure: training objective and validation cross-entropy by epoch, the best epoch in the title", () => {
  const fig = learningCurveFigure("ESMM", record("ESMM", 0.0125));
  const data = fig.data as { name: string; x: number[]; y: number[] }[];
  assert.deepEqual(data.map((t) => [t.name, t.x, t.y]), [["training objective", [1, 2], [0.5, 0.4]], ["validation CTCVR cross-entropy", [1, 2], [0.02, 0.015]]]);
  assert.equal((fig.layout as { title: { text: string } }).title.text, "ESMM: learning curve (best epoch 2)");
});

test("spaceRows: one row per space the model predicts, each beside its oracle; NaN gap without an oracle", () => {
  assert.deepEqual(spaceRows(record("ESMM", 0.0125, { cvr: 0.35, ctr: 0.25 })), [
    { space: "CTCVR, all test impressions", log_loss: 0.0125, oracle: 0.012, gap_to_oracle: 0.0125 - 0.012, pr_auc: 0.03, roc_auc: 0.7, calibration: 1.1 },
    { space: "CVR, clicked test impressions", log_loss: 0.35, oracle: 0.3, gap_to_oracle: 0.35 - 0.3, pr_auc: 0.03, roc_auc: 0.7, calibration: 1.1 },
    { space: "CTR, all test impressions", log_loss: 0.25, oracle: 0.2, gap_to_oracle: 0.25 - 0.2, pr_auc: 0.03, roc_auc: 0.7, calibration: 1.1 },
  ]);
  assert.deepEqual(spaceRows(record("ESP", 0.0125, { oracle: false })), [
    { space: "CTCVR, all test impressions", log_loss: 0.0125, oracle: undefined, gap_to_oracle: NaN, pr_auc: 0.03, roc_auc: 0.7, calibration: 1.1 },
  ]);
});

test("spaceCaption: test day, conversions, training seconds to one decimal, and whether the run was read from the file", () => {
  assert.equal(spaceCaption("IP", record("IP", 0.0125), false), "IP: test day 13 (35 conversions), 12.3 s training");
  assert.equal(spaceCaption("IP", record("IP", 0.0125), true), "IP: test day 13 (35 conversions), 12.3 s training (read from the results file)");
});

test("comparisonRows and comparisonCaption: every model beside IP, % vs IP positive = better", () => {
  const ip = record("IP", 0.0125, { cvr: 0.35, ctr: 0.25 });
  const rows = comparisonRows([ip, record("ESMM", 0.01, { cvr: 0.3 }), record("ESP", 0.015, { oracle: false })], ip);
  assert.deepEqual(rows.map((r) => [r.model, r.ctcvr_log_loss, r.cvr_log_loss_clicked, r.ctr_log_loss, r.parameters, r.best_epoch, r.train_seconds]), [
    ["IP", 0.0125, 0.35, 0.25, 1000, 2, 12.34],
    ["ESMM", 0.01, 0.3, undefined, 1000, 2, 12.34],
    ["ESP", 0.015, undefined, undefined, 1000, 2, 12.34],
  ]);
  assert.deepEqual(rows.map((r) => Number(r.vs_IP_percent.toFixed(10))), [0, 20, -20]);
  assert.ok(Math.abs(rows[1].gap_to_oracle - -0.002) < 1e-15);
  assert.ok(Number.isNaN(rows[2].gap_to_oracle));
  assert.equal(comparisonCaption(ip), "Test day: CTCVR over all impressions (oracle 0.01200); % vs IP positive = better");
});
