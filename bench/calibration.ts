/**
 * The test-day pCTCVR under-prediction decomposed against the simulator's truth (issue 22; docs/calibration.md).
 *
 * Part 1, retrained: each model trained once as a study run (lib/study/calibration-decomposition.ts) on one
 * prepared data set, its test-day calibration ratio split into the chain fit x generalisation x day change x OOV
 * rows x ad age x labels, the views beside the chain, and the ratio per epoch.
 * Part 2, stored (with --results): the runs of a results file whose data folder is under --results-data, from their
 * stored test-day predictions (nothing retrained): per model, the median and range over runs of the ratio, of
 * truth / labels, and of model / truth on the in-vocabulary and the OOV rows.
 *
 * Usage: node build/bench/calibration.js [--data DIR | --data-root data/study] [--models IP,ESMM,...] [--seed 1]
 *          [--max-epochs N] [--results runs/fair.jsonl --results-data data/study [--study fair-evaluation]]
 *          [--write docs/calibration.md]
 * Default data: the default design's data set (lib/study/spec.ts DEFAULT_DATA_SPEC), made in --data-root when
 * missing. --write replaces the generated block calibration of that page (lib/report/generated-blocks.ts).
 * Bad options or a file without the markers: one line on stderr, exit 2, nothing written.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readPrepared } from "../lib/data/prepared-files";
import { DataError } from "../lib/data/errors";
import { resolveConfig } from "../lib/data/simulator-config";
import { PAPER_MODEL_NAMES } from "../lib/models";
import { CalibrationDecomposition, ctcvrTerms, decomposeTestCalibration, vocabularyMask } from "../lib/study/calibration-decomposition";
import { DATA_SPEC_FILE, ensurePreparedData } from "../lib/study/data-cache";
import { readPredictions, readResults } from "../lib/study/results";
import { DEFAULT_DATA_SPEC } from "../lib/study/spec";
import { checkGeneratedBlock, GeneratedBlockError, writeGeneratedBlock } from "../lib/report/generated-blocks";


class UsageError extends Error {}

function parseArgs(argv: string[]): Record<string, string> {
  const known = ["data", "data-root", "models", "seed", "max-epochs", "results", "results-data", "study", "write"];
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (!argv[i].startsWith("--") || !known.includes(k)) throw new UsageError(`unknown option ${argv[i]} (known: ${known.map((x) => `--${x}`).join(" ")})`);
    if (argv[i + 1] === undefined) throw new UsageError(`option --${k} needs a value`);
    out[k] = argv[i + 1];
  }
  return out;
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a");
const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(3) : "n/a");

function retrainedTables(results: CalibrationDecomposition[]): string[] {
  const out: string[] = [];
  const stepNames = results[0].chain.steps.map((s) => s.name.split(":")[0]);
  out.push("Chain (each factor = the step's model/truth ratio over the previous step's; the product is the test-day ratio):", "");
  out.push(`| model | best epoch | ${stepNames.join(" | ")} | product | test-day ratio |`);
  out.push(`|---|---|${stepNames.map(() => "---|").join("")}---|---|`);
  for (const r of results) {
    const product = r.chain.steps.reduce((s, x) => s * x.factor, 1);
    out.push(`| ${r.model} | ${r.bestEpoch} | ${r.chain.steps.map((s) => f3(s.factor)).join(" | ")} | ${f3(product)} | ${f3(r.chain.total)} |`);
  }
  out.push("", "Views (weighted means of pCTCVR p, truth t = P(click) P(conv | click), label y; ratios of their sums):", "");
  out.push("| model | view | rows | weight | mean t | mean y | mean p | p/y | p/t | t/y |", "|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    for (const v of r.views) {
      const t = v.terms;
      out.push(`| ${r.model} | ${v.name}${v.inChain ? "" : " (beside the chain)"} | ${t.rows} | ${t.weight.toFixed(0)} | ${sci(t.meanTruth)} | ${sci(t.meanObserved)} | ${sci(t.meanPredicted)} | ${f3(t.predictedOverObserved)} | ${f3(t.predictedOverTruth)} | ${f3(t.truthOverObserved)} |`);
    }
  }
  out.push("", "Per epoch, model/truth ratio p/t (* = the epoch early stopping kept):", "");
  out.push("| model | epoch | validation CTCVR loss | fresh training-day rows | validation day | test day (first unscaled day) |", "|---|---|---|---|---|---|");
  for (const r of results) {
    for (const e of r.epochs) out.push(`| ${r.model} | ${e.epoch}${e.epoch === r.bestEpoch ? "*" : ""} | ${e.valLoss.toFixed(6)} | ${f3(e.heldOut)} | ${f3(e.validation)} | ${f3(e.test)} |`);
  }
  return out;
}

/** Part 2: per model, over the stored runs whose data is under `dataRoot`. */
function storedTable(resultsFile: string, dataRoot: string, study: string | undefined): string[] {
  const records = readResults(resultsFile).records.filter((r) => !study || r.study === study);
  const predictionsDir = resultsFile.replace(/\.jsonl$/i, "") + ".predictions";
  const byData = new Map<string, typeof records>();
  for (const r of records) {
    const key = r.dataManifest?.dataKey;
    if (key && fs.existsSync(path.join(dataRoot, key, "prepared.json"))) byData.set(key, [...(byData.get(key) ?? []), r]);
  }
  const perModel = new Map<string, { po: number[]; to: number[]; inv: number[]; oov: number[] }>();
  let worlds = 0;
  for (const [key, group] of byData) {
    const test = readPrepared(path.join(dataRoot, key)).test;
    if (!test.truth) continue;
    worlds++;
    const inVocab = vocabularyMask(test, true);
    const oov = vocabularyMask(test, false);
    for (const r of group) {
      const stored = readPredictions(predictionsDir, r.key);
      if (stored.header.rows !== test.size) throw new Error(`${r.key}: ${stored.header.rows} predictions for ${test.size} test rows`);
      const all = ctcvrTerms(test, stored.pCtcvr);
      const m = perModel.get(r.model) ?? { po: [], to: [], inv: [], oov: [] };
      m.po.push(all.predictedOverObserved);
      m.to.push(all.truthOverObserved);
      m.inv.push(ctcvrTerms(test, stored.pCtcvr, { keep: inVocab }).predictedOverTruth);
      m.oov.push(ctcvrTerms(test, stored.pCtcvr, { keep: oov }).predictedOverTruth);
      perModel.set(r.model, m);
    }
  }
  const q = (a: number[]) => {
    const s = [...a].sort((x, y) => x - y);
    return `${f3(s[Math.floor((s.length - 1) / 2)])} (${f3(s[0])}-${f3(s[s.length - 1])})`;
  };
  const out = [`Stored test-day predictions: ${path.basename(resultsFile)}${study ? `, study ${study}` : ""}, ${worlds} worlds; median (min-max) over runs:`, ""];
  out.push("| model | runs | ratio p/y | truth/labels t/y | p/t in-vocabulary rows | p/t OOV rows |", "|---|---|---|---|---|---|");
  for (const [model, m] of [...perModel].sort()) out.push(`| ${model} | ${m.po.length} | ${q(m.po)} | ${q(m.to)} | ${q(m.inv)} | ${q(m.oov)} |`);
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const load = os.loadavg();
  const models = (args.models ?? PAPER_MODEL_NAMES.join(",")).split(",");
  for (const m of models) if (!PAPER_MODEL_NAMES.includes(m)) throw new UsageError(`--models: unknown model "${m}" (paper models: ${PAPER_MODEL_NAMES.join(",")})`);
  const seed = Number(args.seed ?? 1);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got ${args.seed}`);
  const maxEpochs = args["max-epochs"] === undefined ? undefined : Number(args["max-epochs"]);
  if (maxEpochs !== undefined && !(Number.isInteger(maxEpochs) && maxEpochs > 0)) throw new UsageError(`--max-epochs must be a positive integer, got ${args["max-epochs"]}`);
  if (args.write) checkGeneratedBlock(args.write, "calibration");
  if (args.results && !args["results-data"]) throw new UsageError("--results needs --results-data (the data folder of its runs, read only)");

  const dir = args.data ?? ensurePreparedData(DEFAULT_DATA_SPEC, args["data-root"] ?? "data/study", { onStatus: (m) => process.stderr.write(`${m}\n`) });
  const spec = JSON.parse(fs.readFileSync(path.join(dir, DATA_SPEC_FILE), "utf8"));
  const data = readPrepared(dir);
  const world = { config: resolveConfig(spec.spec.simulator), seed: spec.spec.simulatorSeed as number };
  const results: CalibrationDecomposition[] = [];
  for (const model of models) {
    process.stderr.write(`training ${model} seed ${seed}\n`);
    results.push(await decomposeTestCalibration(data, world, { model, seed, train: maxEpochs ? { maxEpochs } : {} }));
  }
  const lines = [
    `Data ${path.basename(dir)} (simulator seed ${world.seed}, ${world.config.impressions} impressions over ${world.config.days} days, ` +
      `evaluation multiplier ${world.config.evaluationMultiplier}; train days ${data.plan.trainDays[0]}-${data.plan.trainDays[data.plan.trainDays.length - 1]}, ` +
      `validation ${data.plan.validationDay}, test ${data.plan.testDay}); model seed ${seed}; default training config${maxEpochs ? `, maxEpochs ${maxEpochs}` : ""}.`,
    "",
    ...retrainedTables(results),
  ];
  if (args.results) lines.push("", ...storedTable(args.results, args["results-data"], args.study));
  const minutes = (Date.now() - started) / 60000;
  lines.push("", `Generated by \`node build/bench/calibration.js ${process.argv.slice(2).join(" ")}\` in ${minutes.toFixed(1)} min; load average at start ${load.map((x) => x.toFixed(2)).join(" / ")} (1/5/15 min) on ${os.cpus().length} cores.`);
  const text = lines.join("\n");
  console.log(text);
  if (args.write) writeGeneratedBlock(args.write, "calibration", text);
}

main().catch((e) => {
  const usage = e instanceof UsageError || e instanceof DataError || e instanceof GeneratedBlockError;
  process.stderr.write(`calibration: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(usage ? 2 : 1);
});
