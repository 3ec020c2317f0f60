/**
 * Benchmark (not a test): the steps of notebook 01, timed one by one with the same library calls, on a
 * simulated log folder (default data/sim-default; simulated there first, 2,000,000 impressions, 15 days,
 * seed 7, when it has no manifest). `make bench-notebook01` or
 * `node build/bench/notebook01-steps.js [DIR] [--old]`; `--old` adds what the notebook did before the log
 * cache (danfojs readCSV of day 0 and its describe(), minutes). Prints one JSON line: milliseconds per step.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as dfd from "danfojs-node";
import { defaultSplitPlan, prepare } from "../lib/data/prepare";
import { LOG_CACHE_FILE } from "../lib/data/log-cache";
import { logRecords, sampleIndices } from "../lib/data/rows";
import { loadSimulatedLog, readManifest, writeSimulatedLog } from "../lib/data/simulated-files";
import { closeFigureExporter, funnelChart, projectDir, saveFigure } from "../lib/plots";

const args = process.argv.slice(2);
const dir = path.resolve(args.find((a) => !a.startsWith("--")) ?? path.join(projectDir(), "data", "sim-default"));
const old = args.includes("--old");
const DESCRIBED = ["user_activity", "ad_age_days", "click", "conversion", "p_click", "p_conversion_given_click"];
const ms: Record<string, number> = {};

async function step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  const out = await fn();
  ms[name] = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
  return out;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(dir, "manifest.json"))) {
    await step("simulate", () => writeSimulatedLog({ impressions: 2_000_000, days: 15 }, 7, dir));
  }
  const manifest = readManifest(dir);
  fs.rmSync(path.join(dir, LOG_CACHE_FILE), { force: true });
  await step("parseCsv", () => loadSimulatedLog(dir, { cache: false }));
  await step("parseCsvAndWriteCache", () => loadSimulatedLog(dir));
  const loaded = await step("readCache", () => loadSimulatedLog(dir));
  if (loaded.from !== "cache") throw new Error(`expected a cache read, got ${loaded.from} (${loaded.cacheMiss})`);
  const log = loaded.log;
  await step("describeSample10k", () => new dfd.DataFrame(logRecords(log, sampleIndices(log.size, 10_000, 7))).loc({ columns: DESCRIBED }).describe());
  await step("prepare", () => prepare(log, { plan: defaultSplitPlan(manifest.days.length), negativeKeepRate: 0.1, seed: 7 }));
  const fig = funnelChart([{ name: "impressions", value: 100 }, { name: "clicks", value: 10 }], { title: "bench" });
  const figDir = fs.mkdtempSync(path.join(dir, ".bench-figures-"));
  await step("firstFigureExport", () => saveFigure(fig, "a", { dir: figDir }));
  await step("nextFigureExport", () => saveFigure(fig, "b", { dir: figDir }));
  await step("cachedFigureExport", () => saveFigure(fig, "a", { dir: figDir })); // unchanged: html only, no render
  await closeFigureExporter();
  fs.rmSync(figDir, { recursive: true, force: true });
  if (old) {
    const day0 = await step("oldDanfoReadCsvDay0", () => dfd.readCSV(path.join(dir, manifest.days[0].file)));
    await step("oldDescribeDay0", () => day0.loc({ columns: DESCRIBED }).describe());
  }
  console.log(JSON.stringify({ dir, rows: log.size, ms }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
