/**
 * A seed group trained twice, every seed stepped to the end (today) and with compactStopped (a seed leaves once it
 * stopped, lib/train/compaction.ts): prints each seed's epochs, best epoch, whether its final weights and records are
 * the same bit for bit, the compactions, and the seed-epochs (seed-steps) each run computed.
 * Usage: node build/bench/seed-compaction-train.js [MODEL=ESMM] [SEEDS=1,2,3,4] [PATIENCE=1] [EPOCHS=8] [BATCH=256] [PREPARED_DIR]
 * Without PREPARED_DIR: a small simulated log (the one of test/seed-group.test.ts), learning rate 3e-3. With it: that
 * prepared data set (e.g. a study's data/study/<key>), read only, and the default training config (PATIENCE, EPOCHS
 * and BATCH then ignored).
 */
import { initBackend, tf } from "../lib/backend";
import { defaultSplitPlan, prepare } from "../lib/data/prepare";
import { readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { buildModel, getModelSpec, inputDimsOf } from "../lib/models";
import { trainSeeds, TrainSeedsOptions } from "../lib/train";
import { readPrepared } from "../lib/data/prepared-files";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

async function main() {
  const [name = "ESMM", seedList = "1,2,3,4", patience = "1", epochs = "8", batch = "256", prepared] = process.argv.slice(2);
  const seeds = seedList.split(",").map(Number);
  const backend = (await initBackend()).name;
  let data;
  let options: TrainSeedsOptions = {};
  if (prepared) data = readPrepared(prepared, { inputs: "trust" });
  else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "esmm-compaction-"));
    writeSimulatedLog({ impressions: 40_000, days: 8, users: 300, ads: 80, targetCtr: 0.05, targetCvr: 0.15 }, 3, dir);
    data = prepare(readSimulatedLog(dir), { plan: defaultSplitPlan(8), negativeKeepRate: 0.3, seed: 3 });
    fs.rmSync(dir, { recursive: true, force: true });
    options = { maxEpochs: Number(epochs), patience: Number(patience), learningRate: 3e-3, batchSize: Number(batch) };
  }
  const spec = getModelSpec(name);
  const runs = [];
  for (const compactStopped of [false, true]) {
    const model = buildModel(spec, inputDimsOf(data.train), { seeds });
    const compactions: string[] = [];
    const slotsFrom: [number, number][] = [[1, seeds.length]];
    const started = performance.now();
    const outcomes = await trainSeeds(model, data, { ...options, compactStopped, onCompact: (r, e) => {
      compactions.push(`after epoch ${e}: [${r.join(",")}]`);
      slotsFrom.push([e + 1, r.length]);
    } });
    const epochsRun = Math.max(...outcomes.map((o) => o.result?.epochs.length ?? 0));
    let seedEpochs = 0;
    for (let e = 1; e <= epochsRun; e++) seedEpochs += slotsFrom.filter(([from]) => from <= e).at(-1)![1];
    const seconds = (performance.now() - started) / 1000;
    const weights = model.trainableVariables().map((v) => new Uint32Array((v.dataSync() as Float32Array).slice().buffer));
    runs.push({ compactStopped, outcomes, compactions, seconds, weights, seedEpochs });
    model.dispose();
  }
  const [a, b] = runs;
  const S = seeds.length;
  const sameSlice = (s: number) => a.weights.every((w, i) => {
    const n = w.length / S;
    for (let k = s * n; k < (s + 1) * n; k++) if (w[k] !== b.weights[i][k]) return false;
    return true;
  });
  console.log(JSON.stringify({ backend, model: name, train: data.train.size, validation: data.validation.size, test: data.test.size, ...options }));
  seeds.forEach((seed, s) => {
    const ra = a.outcomes[s].result!;
    const rb = b.outcomes[s].result!;
    const sameRecords = JSON.stringify(ra.epochs.map((e) => [e.trainLoss, e.valLoss, e.val])) === JSON.stringify(rb.epochs.map((e) => [e.trainLoss, e.valLoss, e.val]));
    console.log(JSON.stringify({ seed, epochs: ra.epochs.length, bestEpoch: ra.bestEpoch, sameWeights: sameSlice(s), sameRecords, sameBest: ra.bestValLoss === rb.bestValLoss }));
  });
  console.log(JSON.stringify({ compactions: b.compactions, seedEpochsUncompacted: a.seedEpochs, seedEpochsCompacted: b.seedEpochs, secondsUncompacted: a.seconds.toFixed(2), secondsCompacted: b.seconds.toFixed(2), load: os.loadavg().map((x) => x.toFixed(2)) }));
  void tf;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : String(e));
  process.exit(1);
});
