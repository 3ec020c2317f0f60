/**
 * Peak memory (and time) of one seed group on a prepared data set: S seeds of a model trained together with
 * the study's protocol (lib/study/run.ts runSeedGroup: training, then scoring the test and later days), in
 * this process. Prints one JSON line: {model, seeds, trainRows, peakRssBytes, peakRssMiB, seconds, backend}.
 * peakRss is the process' maximum resident set size (getrusage ru_maxrss): the data set, the S stacked
 * models, Adam's state, the best-epoch and last-epoch snapshots and the predictions.
 *
 * Usage: node build/bench/seed-group-memory.js PREPARED_DIR [MODEL=ESMM] [SEEDS=10]
 */
import { initBackend } from "../lib/backend";
import { readPrepared } from "../lib/data/prepared-files";
import { runSeedGroup } from "../lib/study/run";

async function main() {
  const [dir, model = "ESMM", seedsArg = "10"] = process.argv.slice(2);
  const S = Number(seedsArg);
  if (!dir || !Number.isInteger(S) || S < 1) throw new Error("usage: seed-group-memory.js PREPARED_DIR [MODEL] [SEEDS>=1]");
  const info = await initBackend();
  const data = readPrepared(dir);
  const started = performance.now();
  const outcomes = await runSeedGroup(data, { model, seeds: Array.from({ length: S }, (_, s) => s + 1) });
  const failed = outcomes.filter((o) => o.error);
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      model,
      seeds: S,
      trainRows: data.train.size,
      peakRssBytes: peak,
      peakRssMiB: Math.round(peak / 2 ** 20),
      seconds: Math.round((performance.now() - started) / 100) / 10,
      failed: failed.length,
      backend: info.name,
    }),
  );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
