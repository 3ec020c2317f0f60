/**
 * The CVR bias on non-clicked impressions at several strengths of hidden selection (issue 24, point 2;
 * docs/hidden-selection.md): IP (click-space CVR) and ESMM trained on small simulated worlds whose clicks and
 * conversions share a latent u (simulator option hiddenSelection = rho), scored against the simulator's truth
 * by the study's mechanism metrics (lib/metrics/mechanism.ts) on the test day, next to two references computed
 * from the simulator alone on the same test day (no training):
 *   click-space truth   P(conversion | click, x) = E[q | x, click = 1] (lib/data/simulator.ts observedTruth): what
 *                       IP and ESMM estimate with unlimited data (ESMM's pCTCVR / pCTR has the same limit);
 *   best given x        E[q | x, click = 0]: the best any model of the observed features can do on non-clicked rows.
 * q is the recorded per-impression truth P(conversion | click, x, u), the truth the mechanism metrics compare to.
 *
 * The runs are an ordinary study (lib/study: one variant per strength, seed groups, resumable): results in
 * runs/hidden-selection.jsonl, data in the data cache (data/study/), both under this checkout. With --write-doc the
 * table replaces the generated block hidden-selection of docs/hidden-selection.md (lib/report/generated-blocks.ts).
 *
 * Usage: nice -n 19 node build/bench/hidden-selection.js [--write-doc] [--workers N] [--strengths 0,0.5,1]
 */
import * as os from "node:os";
import * as path from "node:path";
import { projectRoot } from "../lib/backend";
import { createWorld, generateDay, observedTruth } from "../lib/data/simulator";
import { defaultSplitPlan } from "../lib/data/prepare";
import { cvrMechanism, CvrTruthScore } from "../lib/metrics/mechanism";
import { formatNumber } from "../lib/format";
import { checkGeneratedBlock, GeneratedBlockError, writeGeneratedBlock } from "../lib/report/generated-blocks";
import { canonicalJson, readResults, runStudy, StudyRecord, StudySpec, DEFAULT_DATA_SPEC } from "../lib/study";

/** Default strengths; --strengths 0,1 runs fewer (the study resumes, so more can be added later). */
const DEFAULT_STRENGTHS = [0, 0.5, 1];
const WORLDS = [7, 8];
const SEEDS = [1, 2];
/** IP (click-space CVR) and ESMM. */
const MODELS = ["IP", "ESMM"];
/** A small world at the default density (1,000 impressions per user), the test day twice a training day; training defaults (up to 10 epochs). */
const SIMULATOR = { impressions: 1_000_000, days: 10, users: 1_000, ads: 300, evaluationMultiplier: 2, laterDaysMultiplier: 1 };

const strengthsAt = process.argv.indexOf("--strengths");
const STRENGTHS = strengthsAt >= 0 ? process.argv[strengthsAt + 1].split(",").map(Number) : DEFAULT_STRENGTHS;

const SPEC: StudySpec = {
  name: "hidden-selection",
  models: MODELS,
  seeds: SEEDS,
  worlds: WORLDS,
  data: { ...structuredClone(DEFAULT_DATA_SPEC), simulator: SIMULATOR },
  variants: STRENGTHS.map((rho) => ({ name: `rho=${rho}`, factor: "hiddenSelection", level: rho, data: { simulator: { hiddenSelection: rho } } })),
};

interface Cell {
  calibration: number[];
  kl: number[];
  clickedCalibration: number[];
}

const meanSe = (v: number[]) => {
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1)) : NaN;
  return { m, se: sd / Math.sqrt(v.length) };
};
const show = (v: number[], digits = 3) => {
  const { m, se } = meanSe(v);
  return Number.isFinite(se) ? `${formatNumber(m, digits)} ± ${formatNumber(se, 1)}` : formatNumber(m, digits);
};

/** The two references on world `seed`'s test day at strength `rho`: each a pCVR scored as the models are (cvrMechanism). */
function references(rho: number, seed: number): { clickSpace: { clicked: CvrTruthScore; nonClicked: CvrTruthScore }; bestGivenX: { nonClicked: CvrTruthScore } } {
  const w = createWorld({ ...SIMULATOR, hiddenSelection: rho }, seed);
  const testDay = defaultSplitPlan(w.config.days, SPEC.data.laterDays).testDay;
  const click: number[] = [];
  const q: number[] = [];
  const clickSpace: number[] = [];
  const bestGivenX: number[] = [];
  for (const c of generateDay(w, testDay)) {
    for (let i = 0; i < c.size; i++) {
      const t = observedTruth(w, testDay, c.user[i], c.ad[i], c.placement[i], c.hour[i]);
      click.push(c.click[i]);
      q.push(c.pConversionGivenClick[i]);
      clickSpace.push(t.cvrClicked);
      bestGivenX.push(c.click[i] ? t.cvrClicked : t.cvrNotClicked);
    }
  }
  return {
    clickSpace: cvrMechanism({ click, pCvr: clickSpace, pConversionGivenClick: q }),
    bestGivenX: cvrMechanism({ click, pCvr: bestGivenX, pConversionGivenClick: q }),
  };
}

async function main() {
  const args = process.argv.slice(2);
  const workersAt = args.indexOf("--workers");
  const workers = workersAt >= 0 ? Number(args[workersAt + 1]) : 1;
  const root = projectRoot();
  const doc = path.join(root, "docs", "hidden-selection.md");
  if (args.includes("--write-doc")) checkGeneratedBlock(doc, "hidden-selection");
  const results = path.join(root, "runs", "hidden-selection.jsonl");
  const started = Date.now();
  const loadAtStart = os.loadavg()[0];
  await runStudy(SPEC, { results, workers, dataRoot: path.join(root, "data", "study"), progress: false, log: (l) => process.stderr.write(`${l}\n`) });
  const trainMinutes = (Date.now() - started) / 60_000;
  const records = readResults(results).records as StudyRecord[];
  // the file may hold runs of an earlier version of this grid: only this one's data and seeds count
  const ofThisGrid = (r: StudyRecord, rho: number) =>
    canonicalJson(r.config.data.simulator) === canonicalJson({ ...SIMULATOR, hiddenSelection: rho }) &&
    WORLDS.includes(r.config.data.simulatorSeed) &&
    SEEDS.includes(r.seed) &&
    Object.keys(r.config.train).length === 0;

  const rows: string[] = [
    "| strength rho | pCVR of | runs | non-clicked: calibration (sum pCVR / sum truth) | non-clicked: KL (nats) | clicked: calibration |",
    "|---:|---|---:|---:|---:|---:|",
  ];
  for (const rho of STRENGTHS) {
    const refs = WORLDS.map((seed) => references(rho, seed));
    const ref = (f: (r: (typeof refs)[number]) => number) => refs.map(f);
    rows.push(
      `| ${rho} | click-space truth P(conv \\| click, x) | ${WORLDS.length} worlds | ${show(ref((r) => r.clickSpace.nonClicked.calibration))} | ${show(ref((r) => r.clickSpace.nonClicked.kl), 2)} | ${show(ref((r) => r.clickSpace.clicked.calibration))} |`,
      `| ${rho} | best given x, E[q \\| x, click = 0] | ${WORLDS.length} worlds | ${show(ref((r) => r.bestGivenX.nonClicked.calibration))} | ${show(ref((r) => r.bestGivenX.nonClicked.kl), 2)} | (as above) |`,
    );
    for (const model of MODELS) {
      const runs = records.filter((r) => r.variant === `rho=${rho}` && r.model === model && r.test.mechanism && ofThisGrid(r, rho));
      const cell: Cell = { calibration: [], kl: [], clickedCalibration: [] };
      for (const r of runs) {
        cell.calibration.push(r.test.mechanism!.cvr.nonClicked.calibration);
        cell.kl.push(r.test.mechanism!.cvr.nonClicked.kl);
        cell.clickedCalibration.push(r.test.mechanism!.cvr.clicked.calibration);
      }
      rows.push(`| ${rho} | ${model} | ${runs.length} | ${show(cell.calibration)} | ${show(cell.kl, 2)} | ${show(cell.clickedCalibration)} |`);
    }
  }
  const minutes = (Date.now() - started) / 60_000;
  const mine = records.filter((r) => STRENGTHS.some((rho) => r.variant === `rho=${rho}` && ofThisGrid(r, rho)));
  const counted = mine.length;
  const first = mine[0];
  const table = [
    "",
    `Generated by \`nice -n 19 node build/bench/hidden-selection.js --write-doc --strengths ${STRENGTHS.join(",")}\` (${new Date().toISOString().slice(0, 10)}): ` +
      `${MODELS.join(" and ")} x model seeds ${SEEDS.join(",")} x worlds (simulator seeds) ${WORLDS.join(",")} x strengths ${STRENGTHS.join(", ")}; ` +
      `each world ${SIMULATOR.impressions.toLocaleString("en-US")} impressions over ${SIMULATOR.days} days, ${SIMULATOR.users} users, ${SIMULATOR.ads} ads, ` +
      `the test day ${SIMULATOR.evaluationMultiplier} x a training day, negatives kept at ${SPEC.data.negativeKeepRate}, training defaults (up to 10 epochs, patience 2); ` +
      `${counted} runs (runs/hidden-selection.jsonl), ${workers} worker(s), backend ${first?.backend ?? "?"}, ` +
      `${trainMinutes.toFixed(1)} min for the study (0 when resumed), ${minutes.toFixed(1)} min in all, on a shared ${os.cpus().length}-core machine, 1-minute load average ${loadAtStart.toFixed(0)} at the start and ${os.loadavg()[0].toFixed(0)} at the end. ` +
      "Mean ± se over runs (models: worlds x seeds) or over worlds (references); calibration 1 = unbiased, > 1 = over-predicts.",
    "",
    ...rows,
    "",
  ].join("\n");
  process.stdout.write(table + "\n");
  if (args.includes("--write-doc")) writeGeneratedBlock(doc, "hidden-selection", table);
}

main().catch((e) => {
  process.stderr.write(`hidden-selection: ${(e as Error).message}\n`);
  process.exit(e instanceof GeneratedBlockError ? 2 : 1);
});
