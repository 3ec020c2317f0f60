/**
 * Benchmark (not a test): the time to score one run's test day, `scoreTest` of lib/study/run.ts (the metrics of
 * every evaluation space, the CTCVR log loss by fold, the mechanism metrics; the oracle is computed once per split
 * and is timed apart), on a synthetic test day of the default design's size (1.33M rows: 10 x a 133k-row
 * simulated day). No model is trained: predictions are drawn, rounded to float32 as a model's outputs are (so
 * scores tie as real ones do).
 *
 * Usage: node build/bench/scoring.js [--rows 1330000] [--repeat 5] [--seed 1]
 * Prints one JSON line: {rows, repeat, scoreTestSeconds (best of --repeat), scoreTestMedianSeconds,
 * scoreTestCpuSeconds (the least process CPU time of one scoreTest: on a loaded machine, closer to the quiet
 * wall time than the wall time is), evaluateSpacesSeconds, foldScoresSeconds, oracleSeconds (first call), node}.
 */
import { labelOnlySplit, type EncodedSplit } from "../lib/data/encoded";
import { Rng } from "../lib/data/random";
import { evaluateSpaces } from "../lib/metrics";
import { foldScores, oracleOf, scoreTest } from "../lib/study/run";
import type { Predictions } from "../lib/train/evaluate";

/** A test day of `rows` rows with simulator truth and a model's predictions (pCtr, pCvr, pCtcvr), from `seed`. */
export function syntheticTestDay(rows: number, seed: number): { split: EncodedSplit; preds: Predictions } {
  const rng = new Rng(seed);
  const pClick = new Float64Array(rows);
  const pConv = new Float64Array(rows);
  const click = new Float32Array(rows);
  const conversion = new Float32Array(rows);
  const pCtr = new Float64Array(rows);
  const pCvr = new Float64Array(rows);
  const pCtcvr = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    pClick[i] = 0.01 + 0.08 * rng.uniform();
    pConv[i] = 0.02 + 0.2 * rng.uniform();
    click[i] = rng.bernoulli(pClick[i]) ? 1 : 0;
    conversion[i] = click[i] === 1 && rng.bernoulli(pConv[i]) ? 1 : 0;
    pCtr[i] = Math.fround(pClick[i] * (0.8 + 0.4 * rng.uniform()));
    pCvr[i] = Math.fround(pConv[i] * (0.8 + 0.4 * rng.uniform()));
    pCtcvr[i] = Math.fround(pCtr[i] * pCvr[i]);
  }
  const split = labelOnlySplit("test", { click, conversion, day: new Int32Array(rows).fill(14), truth: { pClick, pConversionGivenClick: pConv } });
  return { split, preds: { pCtr, pCvr, pCtcvr } };
}

/** Wall seconds of f; its CPU seconds (user + system) are pushed to `cpu` when given. */
function seconds(f: () => void, cpu?: number[]): number {
  const t = performance.now();
  const c = process.cpuUsage();
  f();
  const used = process.cpuUsage(c);
  cpu?.push((used.user + used.system) / 1e6);
  return (performance.now() - t) / 1000;
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    const v = i < 0 ? fallback : Number(args[i + 1]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`scoring.js: ${name} takes an integer >= 1, got ${args[i + 1]}`);
    return v;
  };
  const rows = option("--rows", 1_330_000);
  const repeat = option("--repeat", 5);
  const { split, preds } = syntheticTestDay(rows, option("--seed", 1));
  const oracleSeconds = seconds(() => oracleOf(split));
  const times: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeat; r++) times.push(seconds(() => scoreTest(split, preds), cpu));
  const spaces = seconds(() => evaluateSpaces({ click: split.click, conversion: split.conversion, weight: split.weight, ...preds }));
  const folds = seconds(() => foldScores(split, preds.pCtcvr));
  const sorted = [...times].sort((a, b) => a - b);
  const round = (s: number) => +s.toFixed(3);
  console.log(JSON.stringify({
    rows,
    repeat,
    scoreTestSeconds: round(sorted[0]),
    scoreTestMedianSeconds: round(sorted[sorted.length >> 1]),
    scoreTestCpuSeconds: round(Math.min(...cpu)),
    evaluateSpacesSeconds: round(spaces),
    foldScoresSeconds: round(folds),
    oracleSeconds: round(oracleSeconds),
    node: process.version,
  }));
}

if (require.main === module) main();
