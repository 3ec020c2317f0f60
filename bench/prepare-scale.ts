/**
 * Benchmark (not a test): `esmm prepare` on synthetic processed Ali-CCP files of growing size, and optionally one
 * epoch of ESMM on the largest prepared folder. `make bench-scale`, or
 *   node build/bench/prepare-scale.js [--rows 4000000,16000000,40000000] [--dir /tmp/esmm-scale] [--seed 1] [--train]
 *
 * Per size: writes the file (lib/data/ali-ccp-synthetic.ts) under `--dir` (outside the repository; created, and
 * removed at the end with everything in it), runs `esmm prepare --csv FILE` (the train file only: validation and
 * test carved out, 10 % each) in a child process, then deletes the file and the prepared folder before the next
 * size (disk: about 142 bytes a row for the file, 45 for the prepared folder). With `--train`, the largest
 * size's prepared folder is kept for `esmm train --model esmm --epochs 1` in another child, then deleted.
 *
 * Measured per child: wall seconds, and its peak resident set size, the kernel's high-water mark as the child
 * reads it from `process.resourceUsage().maxRSS` just before it exits (so no sampling can miss a peak). Printed
 * per size: rows, seconds, rows/s, peak RSS, bytes per row (peak RSS / rows), and the 1-minute load average at
 * the start and the highest sampled during the run (the machine is shared). The results go to stdout as a
 * Markdown table and as JSON lines (also to `--results FILE` when given).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { syntheticAliCcpCategorical, writeSyntheticAliCcp } from "../lib/data/ali-ccp-synthetic";

const REPO = path.resolve(__dirname, "..", "..");
const CLI = path.join(__dirname, "..", "lib", "cli", "main.js");
const CHILD_FLAG = "--child-report";

// ---------------------------------------------------------------------------------------------------
// Child mode: run the CLI with the given arguments and write {exitCode, maxRssBytes} to the report file.

async function child(reportFile: string, args: string[]): Promise<void> {
  const { main } = require(CLI) as { main: (argv: string[]) => Promise<number> };
  const code = await main(args);
  const maxRssBytes = process.resourceUsage().maxRSS * 1024; // maxRSS is in kilobytes
  fs.writeFileSync(reportFile, JSON.stringify({ exitCode: code, maxRssBytes }));
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------------
// Parent mode

interface ChildResult {
  exitCode: number;
  seconds: number;
  maxRssBytes: number;
  /** 1-minute load average when the child started, and the highest sampled (every 5 s) while it ran. */
  loadStart: number;
  loadMax: number;
}

/** Runs `esmm <args>` in a child node (inheriting stdout/stderr, so its progress shows) and measures it. */
function runCli(args: string[], reportDir: string): Promise<ChildResult> {
  const report = path.join(reportDir, `child-${process.pid}-${Date.now()}.json`);
  const loadStart = os.loadavg()[0];
  let loadMax = loadStart;
  const sampler = setInterval(() => (loadMax = Math.max(loadMax, os.loadavg()[0])), 5000);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, CHILD_FLAG, report, ...args], { stdio: "inherit" });
    p.on("error", reject);
    p.on("exit", (code) => {
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (!fs.existsSync(report)) return reject(new Error(`esmm ${args[0]} exited with code ${code} and no report (killed, or out of memory?)`));
      const r = JSON.parse(fs.readFileSync(report, "utf8")) as { exitCode: number; maxRssBytes: number };
      fs.rmSync(report);
      resolve({ exitCode: r.exitCode, seconds, maxRssBytes: r.maxRssBytes, loadStart, loadMax });
    });
  });
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

async function parent(): Promise<void> {
  const sizes = option("rows", "4000000,16000000,40000000").split(",").map(Number);
  if (!sizes.every((n) => Number.isInteger(n) && n > 0)) throw new Error(`--rows: positive integers, comma-separated`);
  const dir = path.resolve(option("dir", path.join(os.tmpdir(), "esmm-scale")));
  if (dir === REPO || dir.startsWith(REPO + path.sep)) throw new Error(`--dir ${dir} is inside the repository; use a temporary folder`);
  const seed = Number(option("seed", "1"));
  const train = process.argv.includes("--train");
  const resultsFile = option("results", "");
  fs.mkdirSync(dir, { recursive: true });
  const rows: Record<string, number | string>[] = [];
  const emit = (r: Record<string, number | string>) => {
    rows.push(r);
    console.log(JSON.stringify(r));
    if (resultsFile) fs.appendFileSync(resultsFile, JSON.stringify(r) + "\n");
  };
  try {
    for (const n of sizes) {
      const free = fs.statfsSync(dir).bavail * fs.statfsSync(dir).bsize;
      if (free < n * 200) throw new Error(`${dir}: ${mib(free)} MiB free, about ${mib(n * 200)} MiB needed for ${n} rows (the file and the prepared folder)`);
      const csv = path.join(dir, `ali-ccp-${n}.csv`);
      const out = path.join(dir, `prepared-${n}`);
      const g0 = process.hrtime.bigint();
      const bytes = writeSyntheticAliCcp(csv, n, seed, { onProgress: (k) => process.stderr.write(`\rgenerating ${csv}: ${k.toLocaleString("en-US")} rows`) });
      process.stderr.write(`\rgenerated ${csv}: ${mib(bytes)} MiB in ${(Number(process.hrtime.bigint() - g0) / 1e9).toFixed(1)} s\n`);
      const r = await runCli(
        ["prepare", "--csv", csv, "--conversion", "purchase", "--categorical", syntheticAliCcpCategorical().join(","), "--numeric", "D*", "--out", out],
        dir,
      );
      fs.rmSync(csv);
      if (r.exitCode !== 0) throw new Error(`esmm prepare exited with ${r.exitCode} at ${n} rows`);
      emit({
        step: "prepare",
        rows: n,
        fileMiB: mib(bytes),
        seconds: +r.seconds.toFixed(1),
        rowsPerSecond: Math.round(n / r.seconds),
        peakRssMiB: mib(r.maxRssBytes),
        bytesPerRow: Math.round(r.maxRssBytes / n),
        loadStart: +r.loadStart.toFixed(2),
        loadMax: +r.loadMax.toFixed(2),
      });
      if (train && n === Math.max(...sizes)) {
        const record = path.join(dir, "train-record.json");
        const t = await runCli(["train", "--model", "esmm", "--data", out, "--seed", "1", "--epochs", "1", "--out", record], dir);
        if (t.exitCode !== 0) throw new Error(`esmm train exited with ${t.exitCode} on the ${n}-row prepared folder`);
        const rec = JSON.parse(fs.readFileSync(record, "utf8"));
        emit({
          step: "train esmm, 1 epoch",
          rows: n,
          trainingRows: JSON.parse(fs.readFileSync(path.join(out, "prepared.json"), "utf8")).splits.train.size,
          trainSeconds: +rec.training.timings.trainSeconds.toFixed(1),
          examplesPerSecond: Math.round(rec.training.timings.examplesPerSecond),
          seconds: +t.seconds.toFixed(1),
          peakRssMiB: mib(t.maxRssBytes),
          backend: rec.backend,
          loadStart: +t.loadStart.toFixed(2),
          loadMax: +t.loadMax.toFixed(2),
        });
      }
      fs.rmSync(out, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nmachine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`);
  console.log("| rows | seconds | rows/s | peak RSS (MiB) | bytes/row | load (start / max) |\n|---|---|---|---|---|---|");
  for (const r of rows.filter((x) => x.step === "prepare")) {
    console.log(`| ${r.rows.toLocaleString("en-US")} | ${r.seconds} | ${r.rowsPerSecond.toLocaleString("en-US")} | ${r.peakRssMiB.toLocaleString("en-US")} | ${r.bytesPerRow} | ${r.loadStart} / ${r.loadMax} |`);
  }
}

if (process.argv[2] === CHILD_FLAG) void child(process.argv[3], process.argv.slice(4));
else
  parent().catch((e) => {
    console.error(`bench-scale: ${(e as Error).message}`);
    process.exit(1);
  });
