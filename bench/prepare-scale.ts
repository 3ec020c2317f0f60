/**
 * Benchmark (not a test): `esmm prepare` on synthetic processed Ali-CCP files of growing size, and optionally one
 * epoch of each paper model on the largest prepared folder through notebook 08's path. `make bench-scale`, or
 *   node build/bench/prepare-scale.js [--rows 4000000,16000000,40000000] [--dir /tmp/esmm-scale] [--seed 1] [--train]
 *        [--models IP,ESMM,...] [--embedding-updates rowwise|dense] [--epochs-per-run 4] [--results FILE]
 *
 * Per size: writes the file (lib/data/ali-ccp-synthetic.ts) under `--dir` (outside the repository; created, and
 * removed at the end with everything in it), runs `esmm prepare --csv FILE` (the train file only: validation and
 * test carved out, 10 % each) in a child process, then deletes the file and the prepared folder before the next
 * size (disk: about 142 bytes a row for the file, 45 for the prepared folder). With `--train`, the largest
 * size's prepared folder is kept for `esmm study --spec` (the study runner notebook 08 uses, one worker) training
 * each of --models (default the paper's six) for one epoch, seed 1, with --embedding-updates (default rowwise),
 * then deleted; from those runs, the wall time of a 6-model x 10-seed study on the whole processed release is
 * projected (`projectRelease`: --epochs-per-run epochs a run, default 4 = the fair protocol's median best epoch 2
 * + patience 2), alone and sharded over 3, 6 and 10 machines, with the worker's peak memory scaled to the release.
 *
 * Measured per child: wall seconds, and its peak resident set size, the kernel's high-water mark as the child
 * reads it from `process.resourceUsage().maxRSS` just before it exits (so no sampling can miss a peak); for the
 * study, also its workers' high-water mark (VmHWM, sampled every 2 s while they live). Printed
 * per size: rows, seconds, rows/s, peak RSS, bytes per row (peak RSS / rows), and the 1-minute load average at
 * the start and the highest sampled during the run (the machine is shared). The results go to stdout as
 * Markdown tables and as JSON lines (also to `--results FILE` when given). `--render FILE [--note TEXT]` instead writes
 * the `scale-training` block of docs/real-data.md from such a results file (and copies it to docs/data/).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { syntheticAliCcpCategorical, writeSyntheticAliCcp } from "../lib/data/ali-ccp-synthetic";
import { PAPER_MODEL_NAMES } from "../lib/models/zoo";
import { cpuDescription } from "../lib/backend/parallelism";
import { formatNumber, markdownTable } from "../lib/format";
import { writeGeneratedBlock } from "../lib/report/generated-blocks";

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
  /** The largest high-water mark (VmHWM) of any process below the child (study workers), sampled every 2 s; 0 if none. */
  treePeakBytes: number;
}

/** Pids of every process below `root` (from /proc/<pid>/stat's ppid field). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // the process ended between the listing and the read
    }
  }
  const below: number[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        below.push(pid);
        break;
      }
    }
  }
  return below;
}

/** A process's resident high-water mark in bytes (VmHWM), 0 when it is gone. */
function highWaterMark(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs `esmm <args>` in a child node (inheriting stdout/stderr, so its progress shows) and measures it. */
function runCli(args: string[], reportDir: string): Promise<ChildResult> {
  const report = path.join(reportDir, `child-${process.pid}-${Date.now()}.json`);
  const loadStart = os.loadavg()[0];
  let loadMax = loadStart;
  let treePeakBytes = 0;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, CHILD_FLAG, report, ...args], { stdio: "inherit" });
    const sampler = setInterval(() => {
      loadMax = Math.max(loadMax, os.loadavg()[0]);
      if (p.pid !== undefined) for (const pid of descendants(p.pid)) treePeakBytes = Math.max(treePeakBytes, highWaterMark(pid));
    }, 2000);
    p.on("error", reject);
    p.on("exit", (code) => {
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (!fs.existsSync(report)) return reject(new Error(`esmm ${args[0]} exited with code ${code} and no report (killed, or out of memory?)`));
      const r = JSON.parse(fs.readFileSync(report, "utf8")) as { exitCode: number; maxRssBytes: number };
      fs.rmSync(report);
      resolve({ exitCode: r.exitCode, seconds, maxRssBytes: r.maxRssBytes, loadStart, loadMax, treePeakBytes });
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
  const models = option("models", PAPER_MODEL_NAMES.join(",")).split(",");
  const embeddingUpdates = option("embedding-updates", "rowwise");
  const epochsPerRun = Number(option("epochs-per-run", "4"));
  if (!(epochsPerRun > 0)) throw new Error(`--epochs-per-run: a positive number`);
  const projections: Record<string, number | string>[] = [];
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
        // Notebook 08's path: the study runner on the prepared folder (one worker, so one process holds the data).
        const { preparedDataSpec } = require(path.join(__dirname, "..", "lib", "study", "real-data.js")) as { preparedDataSpec: (dir: string) => unknown };
        const specFile = path.join(dir, "scale-study.json");
        const results = path.join(dir, "scale-study.jsonl");
        fs.writeFileSync(specFile, JSON.stringify({ name: "scale", models, seeds: [1], data: preparedDataSpec(out), train: { maxEpochs: 1, embeddingUpdates } }));
        const t = await runCli(["study", "--spec", specFile, "--results", results, "--workers", "1"], dir);
        if (t.exitCode !== 0) throw new Error(`esmm study exited with ${t.exitCode} on the ${n}-row prepared folder`);
        const records = fs.readFileSync(results, "utf8").trim().split("\n").map((l) => JSON.parse(l));
        for (const rec of records) {
          const e = rec.training.epochs[0];
          emit({
            step: `train ${rec.model}, 1 epoch (${embeddingUpdates})`,
            rows: n,
            model: rec.model,
            trainingRows: rec.training.trainRows,
            validationRows: rec.training.validationRows,
            testRows: rec.test.rows,
            stepSeconds: +e.trainSeconds.toFixed(1),
            examplesPerSecond: Math.round(e.examplesPerSecond),
            validationSeconds: +e.evalSeconds.toFixed(1),
            testSeconds: +rec.timings.evaluateSeconds.toFixed(1),
            runSeconds: +rec.timings.totalSeconds.toFixed(1),
            backend: rec.backend?.name ?? rec.backend,
          });
        }
        emit({ step: "study (all models)", rows: n, seconds: +t.seconds.toFixed(1), peakRssMiB: mib(t.maxRssBytes), workerPeakRssMiB: mib(t.treePeakBytes), loadStart: +t.loadStart.toFixed(2), loadMax: +t.loadMax.toFixed(2) });
        projections.push(...projectRelease(rows.filter((x) => x.model !== undefined) as unknown as TrainedLine[], t.treePeakBytes, epochsPerRun));
        for (const p of projections) emit(p);
      }
      fs.rmSync(out, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nmachine: ${cpuDescription()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`);
  console.log("| rows | seconds | rows/s | peak RSS (MiB) | bytes/row | load (start / max) |\n|---|---|---|---|---|---|");
  for (const r of rows.filter((x) => x.step === "prepare")) {
    console.log(`| ${r.rows.toLocaleString("en-US")} | ${r.seconds} | ${r.rowsPerSecond.toLocaleString("en-US")} | ${r.peakRssMiB.toLocaleString("en-US")} | ${r.bytesPerRow} | ${r.loadStart} / ${r.loadMax} |`);
  }
  const trained = rows.filter((x) => x.model !== undefined);
  if (trained.length > 0) {
    console.log("\n| model | training rows | examples/s | validation s | test s (rows) | run s |\n|---|---|---|---|---|---|");
    for (const r of trained) console.log(`| ${r.model} | ${r.trainingRows.toLocaleString("en-US")} | ${r.examplesPerSecond.toLocaleString("en-US")} | ${r.validationSeconds} | ${r.testSeconds} (${r.testRows.toLocaleString("en-US")}) | ${r.runSeconds} |`);
    console.log(`\nProjected ${RELEASE.models}-model x ${RELEASE.seeds}-seed study on the processed release (${RELEASE.trainFileRows.toLocaleString("en-US")} training-file rows, ${RELEASE.testRows.toLocaleString("en-US")} test rows), ${epochsPerRun} epochs a run:`);
    console.log("| machines | workers | wall hours | worker peak RSS (GiB, estimated) |\n|---|---|---|---|");
    for (const p of projections) console.log(`| ${p.machines} | ${p.workers} | ${p.wallHours} | ${p.workerPeakGiB} |`);
  }
}

/**
 * The processed Ali-CCP release (field-anchors note: train 42.3M rows, test 43M): what a study on it trains and
 * scores. Validation: 10 % of the training file carved out, as `esmm prepare --csv` does.
 */
const RELEASE = { trainFileRows: 42_300_000, testRows: 43_000_000, models: 6, seeds: 10 };

/** One trained model's measurements, as this script emits them (a "train MODEL, 1 epoch" line). */
interface TrainedLine {
  trainingRows: number;
  validationRows: number;
  testRows: number;
  stepSeconds: number;
  validationSeconds: number;
  testSeconds: number;
}

/**
 * Wall time of the release's 6-model x 10-seed study, projected from one epoch per model measured on the 40M-row
 * folder: per run, epochsPerRun x (training rows / the epoch's examples/s + validation rows / the validation
 * pass's rows/s) + test rows / the test pass's rows/s, the release's rows scaled from the measured folder's kept
 * fraction; runs trained alone (no seed groups), dealt longest first to the least loaded worker (a shard takes
 * whole runs). Memory: the worker's measured peak scaled by the rows it holds (training + validation + test rows),
 * an estimate; a machine runs as many workers as its cores and 90 % of its memory allow (at least one).
 */
function projectRelease(trained: readonly TrainedLine[], workerPeakBytes: number, epochsPerRun: number): Record<string, number | string>[] {
  const r0 = trained[0];
  const heldMeasured = r0.trainingRows + r0.validationRows + r0.testRows;
  // The measured folder: 80 % of its file is training (10 % validation, 10 % test), of which trainingRows were kept.
  const keptShare = r0.trainingRows / (0.8 * (r0.validationRows / 0.1));
  const release = { train: Math.round(0.9 * RELEASE.trainFileRows * keptShare), validation: Math.round(0.1 * RELEASE.trainFileRows), test: RELEASE.testRows };
  const perRun = trained.map((r) =>
    epochsPerRun * (release.train / (r.trainingRows / r.stepSeconds) + release.validation / (r.validationRows / r.validationSeconds)) + release.test / (r.testRows / r.testSeconds),
  );
  const runs = Array.from({ length: RELEASE.seeds }, () => perRun).flat().sort((a, b) => b - a);
  const peakBytes = (workerPeakBytes * (release.train + release.validation + release.test)) / heldMeasured;
  const perMachine = Math.max(1, Math.min(os.cpus().length, Math.floor((0.9 * os.totalmem()) / peakBytes)));
  return [1, 3, 6, 10].map((machines) => {
    const load = new Array(perMachine * machines).fill(0);
    for (const sec of runs) load[load.indexOf(Math.min(...load))] += sec;
    return { step: "projection", machines, workers: perMachine * machines, wallHours: +(Math.max(...load) / 3600).toFixed(1), workerPeakGiB: +(peakBytes / 2 ** 30).toFixed(1), machineGiB: Math.round(os.totalmem() / 2 ** 30), trainingRows: release.train, epochsPerRun };
  });
}

/**
 * The `scale-training` block of docs/real-data.md from a results file of this script (its JSON lines: the 40M-row
 * prepare step, one line per trained model, the study's wall time and memory, the projections), and a copy of
 * those lines as docs/data/scale-training.jsonl. The page's text outside the block is left alone.
 */
function writeScaleDoc(resultsFile: string, note: string): void {
  const lines = fs.readFileSync(resultsFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number | string>);
  const prepared = lines.find((r) => r.step === "prepare");
  const trained = lines.filter((r) => r.model !== undefined);
  const study = lines.find((r) => r.step === "study (all models)");
  if (!prepared || trained.length === 0 || !study) throw new Error(`${resultsFile}: not the results of a --train run (a prepare line, trained models and the study line)`);
  // Recomputed from the measurements (this machine's cores and memory), so a changed projection rule needs no rerun.
  const epochsPerRun = Number(lines.find((r) => r.step === "projection")?.epochsPerRun ?? 4);
  const projections = projectRelease(trained as unknown as TrainedLine[], Number(study.workerPeakRssMiB) * 2 ** 20, epochsPerRun);
  lines.splice(0, lines.length, ...lines.filter((r) => r.step !== "projection"), ...projections);
  const n = (x: number | string) => formatNumber(Number(x));
  // The study runs one single-threaded worker (a 1-minute load of about 1.0-1.3 by itself): above 1.5, other work shared the cores.
  const loadMax = Math.max(Number(study.loadMax), Number(prepared.loadMax));
  const loadClause = loadMax > 1.5 ? `rates measured while other work shared the cores (1-minute load up to ${loadMax}), so the hours are an upper bound` : `rates measured on a quiet machine (1-minute load up to ${loadMax})`;
  const text = [
    markdownTable(
      ["model", "training rows", "examples/s (1 epoch)", "validation pass (s)", "test pass (s, rows)", "run (s)"],
      trained.map((r) => [String(r.model), n(r.trainingRows), n(r.examplesPerSecond), n(r.validationSeconds), `${n(r.testSeconds)} (${n(r.testRows)})`, n(r.runSeconds)]),
    ),
    "",
    `One study of ${trained.length} runs (\`esmm study --spec\`, the study runner of notebook 08, 1 worker x 1 thread, native backend, ` +
      `${trained[0].step.toString().replace(/^train \S+, /, "")}): ${n(study.seconds)} s; peak RSS ${n(study.workerPeakRssMiB)} MiB in the worker, ` +
      `${n(study.peakRssMiB)} MiB in the runner. esmm prepare on the ${n(prepared.rows)}-row file: ${n(prepared.seconds)} s, peak RSS ${n(prepared.peakRssMiB)} MiB.`,
    "",
    `Projected ${RELEASE.models}-model x ${RELEASE.seeds}-seed study on the processed release (${n(RELEASE.trainFileRows)} training-file rows, ` +
      `${n(Number(projections[0].trainingRows))} training rows after downsampling, ${n(RELEASE.testRows)} test rows; ${projections[0].epochsPerRun} epochs a run; ` +
      `runs trained alone, dealt longest first to single-thread workers, as many per machine as its cores and 90 % of its ${projections[0].machineGiB} GiB allow ` +
      `(memory: the worker's measured peak scaled by the rows it holds, an estimate); ${loadClause}):`,
    "",
    markdownTable(["machines", "workers", "wall time (hours)", "worker peak RSS (GiB, estimated)"], projections.map((p) => [n(p.machines), n(p.workers), String(p.wallHours), String(p.workerPeakGiB)])),
    "",
    `*Measured: \`node build/bench/prepare-scale.js --rows ${prepared.rows} --train\`, ${note}; 1-minute load ${study.loadStart} at the start of the study, up to ${study.loadMax}. Raw results: \`docs/data/scale-training.jsonl\`.*`,
  ].join("\n");
  const out = path.join(REPO, "docs", "data", "scale-training.jsonl");
  fs.writeFileSync(`${out}.tmp-${process.pid}`, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  fs.renameSync(`${out}.tmp-${process.pid}`, out);
  writeGeneratedBlock(path.join(REPO, "docs", "real-data.md"), "scale-training", text);
  console.log("docs/real-data.md (scale-training) and docs/data/scale-training.jsonl written");
}

if (process.argv[2] === CHILD_FLAG) void child(process.argv[3], process.argv.slice(4));
else if (process.argv.includes("--render")) {
  // --render FILE [--note TEXT]: the docs block from a saved results file, nothing trained.
  try {
    writeScaleDoc(option("render", ""), option("note", "date not recorded"));
  } catch (e) {
    console.error(`bench-scale: ${(e as Error).message}`);
    process.exit(2);
  }
} else
  parent().catch((e) => {
    console.error(`bench-scale: ${(e as Error).message}`);
    process.exit(1);
  });
