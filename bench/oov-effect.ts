/**
 * What the out-of-vocabulary rules change (issue 15; lib/data/prepare.ts DEFAULT_OOV_MIN_COUNT and
 * DEFAULT_OOV_MASK_RATE): a simulated log prepared twice with the study's preparation seed, once as before
 * (k = 1, no masking: index 0 is never trained) and once with the defaults; each model trained over the same
 * model seeds on both (seed groups, the study's protocol); the test day's weighted CTCVR cross-entropy on all
 * rows, on the rows whose ad is unseen in training (they use index 0 in both preparations, evaluation splits are
 * never masked) and on the other rows. Differences (defaults - before) are paired by model seed (same initial
 * weights and batch order), with a two-sided paired t test; the unit replicated is the model seed, on one data
 * set. Also the seed-to-seed sd of the mean pCTCVR on the unseen-ad rows: the noise a random row 0 adds.
 *
 * Usage: node build/bench/oov-effect.js SIM_DIR [MODELS=IP,ESMM] [SEEDS=1,2,3,4,5] [PREPARE_SEED=7]
 * Prints a table and one JSON line per (model, subset).
 */
import { initBackend } from "../lib/backend";
import { defaultSplitPlan, prepare, PreparedData } from "../lib/data/prepare";
import { readManifest, readSimulatedLog } from "../lib/data/simulated-files";
import { EVALUATION_SPACES, logLoss, spaceLabels } from "../lib/metrics";
import { mean, sampleVariance } from "../lib/stats/simple-statistics";
import { formatNumber, formatP, formatPercent } from "../lib/format";
import { pairedTTest } from "../lib/stats/inference";
import { runSeedGroup } from "../lib/study/run";
import type { Predictions } from "../lib/train";

const ARMS = { before: { oovMinCount: 1, oovMaskRate: 0 }, defaults: {} } as const;
type Arm = keyof typeof ARMS;

/** Weighted CTCVR log loss (the ctcvr evaluation space's label) of `preds` on the test rows where keep[i] (all when undefined). */
function ctcvrLoss(data: PreparedData, preds: Predictions, keep?: Uint8Array): number {
  const t = data.test;
  const y = spaceLabels(EVALUATION_SPACES.ctcvr, t.click, t.conversion);
  if (!keep) return logLoss(y, preds.pCtcvr, t.weight);
  const rows = keep.reduce<number[]>((acc, k, i) => (k ? (acc.push(i), acc) : acc), []);
  return logLoss(rows.map((i) => y[i]), rows.map((i) => preds.pCtcvr[i]), rows.map((i) => t.weight[i]));
}

const sd = (a: number[]) => Math.sqrt(sampleVariance(a));

async function main() {
  const [dir, modelsArg = "IP,ESMM", seedsArg = "1,2,3,4,5", prepareSeedArg = "7"] = process.argv.slice(2);
  if (!dir) throw new Error("usage: oov-effect.js SIM_DIR [MODELS] [SEEDS] [PREPARE_SEED]");
  const models = modelsArg.split(",");
  const seeds = seedsArg.split(",").map(Number);
  const info = await initBackend();
  const manifest = readManifest(dir);
  const log = readSimulatedLog(dir);
  const plan = defaultSplitPlan(manifest.days.length);
  const data = Object.fromEntries(
    (Object.keys(ARMS) as Arm[]).map((arm) => [arm, prepare(log, { plan, negativeKeepRate: 0.1, seed: Number(prepareSeedArg), simulator: manifest.config, ...ARMS[arm] })]),
  ) as Record<Arm, PreparedData>;
  const ad = data.before.test.categoricalFields.indexOf("ad");
  const nCat = data.before.test.categoricalFields.length;
  const unseen = new Uint8Array(data.before.test.size);
  for (let i = 0; i < unseen.length; i++) unseen[i] = data.before.test.categorical[i * nCat + ad] === 0 ? 1 : 0;
  const known = unseen.map((u) => 1 - u);
  const share = unseen.reduce((s, u) => s + u, 0) / unseen.length;
  console.log(`backend ${info.name}; test day ${unseen.length} rows, unseen ad on ${(100 * share).toFixed(2)} %; seeds ${seeds.join(",")}`);
  console.log("model | rows | before (k=1, m=0) | defaults | defaults - before (% of before) | p | sd over seeds of mean pCTCVR on unseen-ad rows, before / defaults");
  for (const model of models) {
    const losses: Record<Arm, Record<string, number[]>> = { before: { all: [], unseen: [], known: [] }, defaults: { all: [], unseen: [], known: [] } };
    const meanUnseen: Record<Arm, number[]> = { before: [], defaults: [] };
    for (const arm of Object.keys(ARMS) as Arm[]) {
      const preds = new Map<number, Predictions>();
      const outcomes = await runSeedGroup(data[arm], { model, seeds, onTestPredictions: (s, p) => preds.set(s, p) });
      const failed = outcomes.filter((o) => o.error);
      if (failed.length) throw new Error(`${model} ${arm}: seeds ${failed.map((o) => o.seed).join(",")} failed`);
      for (const s of seeds) {
        const p = preds.get(s)!;
        losses[arm].all.push(ctcvrLoss(data[arm], p));
        losses[arm].unseen.push(ctcvrLoss(data[arm], p, unseen));
        losses[arm].known.push(ctcvrLoss(data[arm], p, known));
        let m = 0;
        for (let i = 0; i < unseen.length; i++) if (unseen[i]) m += p.pCtcvr[i];
        meanUnseen[arm].push(m / unseen.reduce((a, u) => a + u, 0));
      }
    }
    for (const subset of ["all", "unseen", "known"]) {
      const b = losses.before[subset];
      const d = losses.defaults[subset];
      const t = pairedTTest(d, b);
      const pct = (100 * t.meanDifference) / mean(b);
      const pctSe = (100 * t.se) / mean(b);
      console.log(
        `${model} | ${subset} | ${formatNumber(mean(b))} | ${formatNumber(mean(d))} | ${formatPercent(pct, pctSe)} | ${formatP(t.p)} | ` +
          (subset === "unseen" ? `${formatNumber(sd(meanUnseen.before))} / ${formatNumber(sd(meanUnseen.defaults))}` : ""),
      );
      console.error(JSON.stringify({ model, subset, before: b, defaults: d, percent: pct, percentSe: pctSe, p: t.p, meanPctcvrUnseen: subset === "unseen" ? meanUnseen : undefined }));
    }
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
