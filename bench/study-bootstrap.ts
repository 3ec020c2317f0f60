/**
 * Benchmark (not a test): notebook 04's bootstrap, `studyBootstrap` of lib/study/components.ts, on synthetic
 * replicates of the default design's size (6 worlds x 6 paper models x 6 seeds, a 1.33M-row test day each,
 * 100 resamples), without reading any study: the predictions are drawn (a base rate of 0.3 % conversions).
 * The time is the bootstrap's (loss tables and resampling), not the loading of predictions and data, which the
 * notebook does through lib/study/replicate-scores.ts.
 *
 * Usage: node build/bench/study-bootstrap.js [--rows 1330000] [--replicates 6] [--models 6] [--seeds 6] [--resamples 100]
 *        [--row-groups G]   (resample G groups of rows from stored sums, notebook 04's path; default: row by row)
 * Prints one JSON line: {rows, replicates, runsPerReplicate, resamples, rowGroups, seconds, cpuSeconds, perReplicateSeconds}.
 */
import { Rng, deriveSeed } from "../lib/data/random";
import { ReplicateScores, studyBootstrap } from "../lib/study/components";

/** A replicate of `rows` test rows and models x seeds runs with random predictions (model "IP" first: the baseline). */
export function syntheticReplicate(c: number, rows: number, models: number, seeds: number): ReplicateScores {
  const rng = new Rng(deriveSeed(1, "bench-replicate", c));
  const label = Float64Array.from({ length: rows }, () => (rng.bernoulli(0.003) ? 1 : 0));
  const names = ["IP", ...Array.from({ length: models - 1 }, (_, m) => `M${m + 1}`)];
  const runs = names.flatMap((model) =>
    Array.from({ length: seeds }, (_, s) => ({ model, seed: s + 1, p: Float32Array.from(label, (y) => Math.min(0.999, (y ? 0.006 : 0.002) * (0.5 + rng.uniform()))) })),
  );
  return { world: c, draw: 7, label, weight: new Float32Array(rows).fill(1), runs };
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    const v = i < 0 ? fallback : Number(args[i + 1]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`study-bootstrap.js: ${name} takes an integer >= 1, got ${args[i + 1]}`);
    return v;
  };
  const rows = option("--rows", 1_330_000);
  const replicates = option("--replicates", 6);
  const models = option("--models", 6);
  const seeds = option("--seeds", 6);
  const resamples = option("--resamples", 100);
  const rowGroups = args.includes("--row-groups") ? option("--row-groups", 0) : undefined;
  let seconds = 0;
  let cpuSeconds = 0;
  const loaders = Array.from({ length: replicates }, (_, c) => () => {
    // Drawing the synthetic predictions is not the bootstrap's time: it is taken out.
    const t = performance.now();
    const u = process.cpuUsage();
    const r = syntheticReplicate(c, rows, models, seeds);
    const used = process.cpuUsage(u);
    seconds -= (performance.now() - t) / 1000;
    cpuSeconds -= (used.user + used.system) / 1e6;
    return r;
  });
  const t = performance.now();
  const u = process.cpuUsage();
  studyBootstrap(loaders, { resamples, seed: 1, rowGroups });
  const used = process.cpuUsage(u);
  seconds += (performance.now() - t) / 1000;
  cpuSeconds += (used.user + used.system) / 1e6;
  const round = (s: number) => +s.toFixed(2);
  console.log(JSON.stringify({ rows, replicates, runsPerReplicate: models * seeds, resamples, rowGroups: rowGroups ?? null, seconds: round(seconds), cpuSeconds: round(cpuSeconds), perReplicateSeconds: round(seconds / replicates) }));
}

if (require.main === module) main();
