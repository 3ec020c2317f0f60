/**
 * The loss-normalisation option (lib/models/spec.ts LossNormalization) only matters where losses of different
 * spaces meet in shared parameters. Models without a shared trunk (IP, ESMM-NS, ESP) give the same test
 * cross-entropy under "own-rows" and "batch-weight" within their seed-to-seed standard errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend";
import { defaultSplitPlan, prepare } from "../lib/data/prepare";
import { readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { summarize } from "../lib/stats";
import { runModel } from "../lib/study/run";
import { tempDir } from "./helpers";

test("models without a shared trunk are unchanged by the loss normalisation, within their standard errors", async (t) => {
  await initBackend();
  const dir = tempDir();
  writeSimulatedLog({ impressions: 80_000, days: 8, users: 300, ads: 80, targetCtr: 0.05, targetCvr: 0.15 }, 5, dir);
  const data = prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(8), negativeKeepRate: 0.3, seed: 5 });
  for (const model of ["IP", "ESMM-NS", "ESP"]) {
    // the entire-space models must match exactly, so two seeds suffice; IP needs seeds for its standard error
    const seeds = model === "IP" ? [1, 2, 3, 4] : [1, 2];
    const scores: Record<string, number[]> = {};
    for (const lossNormalization of ["own-rows", "batch-weight"] as const) {
      scores[lossNormalization] = [];
      for (const seed of seeds) {
        const r = await runModel(data, { model, seed, train: { maxEpochs: 2, batchSize: 256, learningRate: 3e-3, lossNormalization } });
        scores[lossNormalization].push(r.test.metrics.ctcvr.logLoss);
      }
    }
    const a = summarize(scores["own-rows"]);
    const b = summarize(scores["batch-weight"]);
    const se = Math.sqrt(a.se ** 2 + b.se ** 2);
    t.diagnostic(`${model}: own-rows ${a.mean.toFixed(5)} ± ${a.se.toFixed(5)}, batch-weight ${b.mean.toFixed(5)} ± ${b.se.toFixed(5)}`);
    if (model !== "IP") assert.deepEqual(scores["own-rows"], scores["batch-weight"], `${model}: every loss term is over impressions, so the two normalisations are the same loss`);
    assert.ok(Math.abs(a.mean - b.mean) <= 3 * se, `${model}: ${a.mean} vs ${b.mean} differ by more than 3 standard errors (${se})`);
  }
});
