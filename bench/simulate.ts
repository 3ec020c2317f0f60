/**
 * Benchmark (not a test): simulator throughput and peak memory for the default data set shape.
 * `make bench-simulate` or `node build/bench/simulate.js [impressions]`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeSimulatedLog } from "../lib/data/simulated-files";

const impressions = Number(process.argv[2] ?? 2_000_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "esmm-bench-"));
let peakRss = 0;
const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const started = process.hrtime.bigint();
const m = writeSimulatedLog({ impressions, days: 15 }, 7, dir, { onDay: () => (peakRss = Math.max(peakRss, process.memoryUsage().rss)) });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(timer);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const bytes = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
fs.rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({ impressions: m.totals.impressions, seconds: +seconds.toFixed(2), rowsPerSec: Math.round(m.totals.impressions / seconds), peakRssMB: Math.round(peakRss / 2 ** 20), megabytesWritten: Math.round(bytes / 2 ** 20) }),
);
