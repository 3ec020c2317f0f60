/**
 * Does coupled L2 on embedding rows explain IP's gain? (issue 22.) One simulated world of the default design
 * (lib/study studyProfile("full"): simulator seed 7, 15 days, test day x 10, the study's preparation), smaller
 * (IMPRESSIONS), each model trained as a seed group (the study's protocol) with weight decay as the only
 * change: none; coupled L2 (PyTorch Adam's weight_decay) at each λ of DECAYS; decoupled (AdamW) at the
 * "matched" λ' = K λ, where K is measured on IP's no-decay run (the same λ' for every model): K = 1 / median over the trainable
 * elements with v > 0 of sqrt(v^) (v^ = Adam's bias-corrected second moment at the end of training), i.e. a
 * parameter with the median gradient scale gets the same pull toward 0 per step, lr λ p / sqrt(v^) (coupled)
 * = lr λ' p (decoupled). K is read from the optimizer's private state (this bench's one hack: Adam.prototype
 * .dispose wrapped to read it before it is freed).
 *
 * Reported per (model, setting): the test day's weighted CTCVR cross-entropy (nats, mean over seeds), its %
 * difference from IP at the same setting, paired by model seed (mean ± se, two-sided paired t p), its %
 * change from the model's own no-decay run (paired by seed), the best epoch, and the share of embedding rows
 * (over all seeds' tables) whose largest |value| is below NEAR_ZERO = 0.01 (initialised uniform in ±0.05: at dim 8 a row starts below it with probability 0.2^8 ≈ 3e-6; coupled decay leaves a row oscillating around 0 at about lr, so a smaller threshold would miss it). Then, the
 * answer to the question: the change of each model's gap to IP between no decay and each setting (paired by
 * seed; a gap that appears only with coupled decay would be the decay's doing).
 *
 * Usage: node build/bench/weight-decay.js [--impressions N] [--models IP,ESMM] [--seeds 1,2,3]
 *          [--decays 1e-5,1e-4] [--world 7] [--doc docs/weight-decay.md] [--out runs/weight-decay.jsonl] [--marker weight-decay]
 * Writes one JSON line per (model, setting) to --out as it goes and, after each model, the tables so far
 * in the generated block MARKER of --doc (lib/report/generated-blocks.ts; --marker, default weight-decay), whose markers
 * are checked before anything trains.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type * as tfjs from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { defaultSplitPlan, prepare, DEFAULT_NEGATIVE_KEEP_RATE, DEFAULT_OOV_MASK_RATE, DEFAULT_OOV_MIN_COUNT, DEFAULT_PREPARE_SEED } from "../lib/data/prepare";
import { readManifest, readSimulatedLog, writeSimulatedLog } from "../lib/data/simulated-files";
import { EVALUATION_SPACES, logLoss, spaceLabels } from "../lib/metrics";
import { getModelSpec } from "../lib/models";
import { mean } from "../lib/stats/simple-statistics";
import { pairedTTest } from "../lib/stats/inference";
import { formatP } from "../lib/format";
import { DEFAULT_DESIGN } from "../lib/study";
import { fitSeedGroup, predictSeeds, WeightDecayForm } from "../lib/train";
import { Adam } from "../lib/train/adam";
import { embeddingLayout } from "../lib/train/rowwise";
import { checkGeneratedBlock, GeneratedBlockError, writeGeneratedBlock } from "../lib/report/generated-blocks";

const NEAR_ZERO = 1e-2;

interface Setting {
  name: string;
  weightDecay: number;
  weightDecayForm?: WeightDecayForm;
}

interface Row {
  model: string;
  setting: string;
  weightDecay: number;
  weightDecayForm: string;
  seeds: number[];
  /** Per seed: the test day's weighted CTCVR cross-entropy (nats). */
  ctcvr: number[];
  bestEpoch: number[];
  /** Per seed: share of its embedding rows with max |value| < NEAR_ZERO. */
  nearZeroRows: number[];
  /** K = 1 / median sqrt(v^) over elements with v > 0 at the end of training. */
  gradientScaleInverse?: number;
  trainSeconds: number;
}

/** The median of sqrt(v / (1 - b2^t)) over the elements with v > 0 of the last Adam disposed (see the header). */
let lastMedianSqrtV: number | undefined;
const dispose = Adam.prototype.dispose;
Adam.prototype.dispose = function (this: Adam) {
  const self = this as unknown as { groups: { v: tfjs.Variable }[]; acc: { beta2: number } };
  // acc holds b2^(t+1) after t steps (adamStepConstants advances it past the step it computed)
  const correction = 1 - self.acc.beta2 / Math.fround(this.config.beta2);
  const values: number[] = [];
  for (const g of self.groups) for (const x of g.v.dataSync() as Float32Array) if (x > 0) values.push(Math.sqrt(x / correction));
  values.sort((a, b) => a - b);
  lastMedianSqrtV = values.length ? values[Math.floor(values.length / 2)] : undefined;
  dispose.call(this);
};

function ctcvrLoss(split: { click: ArrayLike<number>; conversion: ArrayLike<number>; weight: ArrayLike<number> }, p: ArrayLike<number>): number {
  return logLoss(spaceLabels(EVALUATION_SPACES.ctcvr, split.click, split.conversion), p, split.weight);
}

const pct = (a: number[], b: number[]) => a.map((x, i) => (100 * (x - b[i])) / b[i]);
function meanSe(d: number[]): string {
  if (d.length < 2) return `${mean(d).toFixed(2)} %`;
  const t = pairedTTest(d, d.map(() => 0));
  return `${t.meanDifference >= 0 ? "+" : ""}${t.meanDifference.toFixed(2)} ± ${t.se.toFixed(2)} % (p ${formatP(t.p)})`;
}


async function main() {
  const { values: a } = parseArgs({
    options: {
      impressions: { type: "string", default: "300000" },
      models: { type: "string", default: "IP,ESMM" },
      seeds: { type: "string", default: "1,2,3" },
      decays: { type: "string", default: "1e-5,1e-4" },
      world: { type: "string", default: String(DEFAULT_DESIGN.worlds[0]) },
      doc: { type: "string", default: "docs/weight-decay.md" },
      out: { type: "string", default: "runs/weight-decay.jsonl" },
      marker: { type: "string", default: "weight-decay" },
    },
  });
  const models = a.models!.split(",");
  const seeds = a.seeds!.split(",").map(Number);
  const decays = a.decays!.split(",").map(Number);
  const impressions = Number(a.impressions);
  const world = Number(a.world);
  if (models[0] !== "IP") throw new Error("--models: IP first (the reference of every difference)");
  checkGeneratedBlock(a.doc!, a.marker!);
  const info = await initBackend();
  const dir = path.join(os.tmpdir(), `esmm-weight-decay-${world}-${impressions}`);
  if (!fs.existsSync(path.join(dir, "manifest.json"))) {
    writeSimulatedLog({ impressions, days: 15, evaluationMultiplier: DEFAULT_DESIGN.evaluationMultiplier, laterDaysMultiplier: DEFAULT_DESIGN.laterDaysMultiplier }, world, dir);
  }
  const manifest = readManifest(dir);
  const data = prepare(readSimulatedLog(dir), {
    plan: defaultSplitPlan(manifest.days.length),
    negativeKeepRate: DEFAULT_NEGATIVE_KEEP_RATE,
    oovMinCount: DEFAULT_OOV_MIN_COUNT,
    oovMaskRate: DEFAULT_OOV_MASK_RATE,
    seed: DEFAULT_PREPARE_SEED,
    simulator: manifest.config,
  });
  const conversions = Array.from(data.test.conversion).reduce((s, c) => s + c, 0);
  const header =
    `World ${world} (default design: 15 days, test day x ${DEFAULT_DESIGN.evaluationMultiplier}), ${impressions.toLocaleString("en-US")} impressions; ` +
    `${data.train.size.toLocaleString("en-US")} training rows, test day ${data.test.size.toLocaleString("en-US")} rows with ${conversions} conversions; ` +
    `model seeds ${seeds.join(", ")}; backend ${info.name}; load average at start ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores.`;
  console.log(header);
  fs.mkdirSync(path.dirname(a.out!), { recursive: true });
  const rows: Row[] = [];
  // K, measured on IP's no-decay run: one decoupled λ' per λ for every model (decay the only change)
  let k: number | undefined;
  const started = Date.now();
  for (const model of models) {
    const settings: Setting[] = [{ name: "none", weightDecay: 0 }, ...decays.map((d): Setting => ({ name: `coupled ${d}`, weightDecay: d, weightDecayForm: "coupled" }))];
    for (let i = 0; i < settings.length + decays.length; i++) {
      let s: Setting;
      if (i < settings.length) s = settings[i];
      else {
        const d = decays[i - settings.length];
        const lambda = Number((k! * d).toPrecision(2));
        s = { name: `decoupled ${lambda} (matched to ${d})`, weightDecay: lambda, weightDecayForm: "decoupled" };
      }
      const t0 = Date.now();
      const { model: trained, outcomes } = await fitSeedGroup(getModelSpec(model), data, { seeds, weightDecay: s.weightDecay, weightDecayForm: s.weightDecayForm });
      const trainSeconds = (Date.now() - t0) / 1000;
      if (i === 0 && k === undefined) k = 1 / lastMedianSqrtV!;
      try {
        const failed = outcomes.filter((o) => o.error);
        if (failed.length) throw new Error(`${model} ${s.name}: seeds ${failed.map((o) => o.seed).join(",")} failed: ${failed[0].error!.message}`);
        const preds = predictSeeds(trained, data.test);
        const layout = embeddingLayout(trained);
        const nearZero = seeds.map(() => 0);
        let rowsPerSeed = 0;
        for (const table of layout.tables) {
          const dim = table.shape[1] as number;
          const values = table.dataSync() as Float32Array;
          rowsPerSeed += layout.tableRows;
          for (let r = 0; r < layout.seeds * layout.tableRows; r++) {
            let m = 0;
            for (let j = 0; j < dim; j++) m = Math.max(m, Math.abs(values[r * dim + j]));
            if (m < NEAR_ZERO) nearZero[Math.floor(r / layout.tableRows)]++;
          }
        }
        const row: Row = {
          model,
          setting: s.name,
          weightDecay: s.weightDecay,
          weightDecayForm: s.weightDecayForm ?? "none",
          seeds,
          ctcvr: preds.map((p) => ctcvrLoss(data.test, p.pCtcvr)),
          bestEpoch: outcomes.map((o) => o.result!.bestEpoch),
          nearZeroRows: nearZero.map((n) => n / rowsPerSeed),
          gradientScaleInverse: i === 0 ? 1 / lastMedianSqrtV! : undefined,
          trainSeconds,
        };
        rows.push(row);
        if (i === settings.length + decays.length - 1) writeGeneratedBlock(a.doc!, a.marker!, report(rows, [...new Set(rows.map((r) => r.model))], header, started));
        fs.appendFileSync(a.out!, JSON.stringify(row) + "\n");
        console.log(`${model} | ${s.name} | ${mean(row.ctcvr).toFixed(5)} | epochs ${row.bestEpoch.join(",")} | near-zero rows ${(100 * mean(row.nearZeroRows)).toFixed(1)} % | ${trainSeconds.toFixed(0)} s` + (i === 0 ? ` | 1 / median sqrt(v^) = ${row.gradientScaleInverse!.toPrecision(3)}` : ""));
      } finally {
        trained.dispose();
      }
    }
  }
}

/** The tables of the header: `rows` of `models` (IP first), settings matched by position. */
function report(rows: Row[], models: string[], header: string, started: number): string {
  const minutes = (Date.now() - started) / 60000;
  const byModel = new Map(models.map((m) => [m, rows.filter((r) => r.model === m)]));
  const ipRows = byModel.get("IP")!;
  const lines: string[] = [];
  lines.push(header, "");
  lines.push(`Wall time ${minutes.toFixed(0)} min. K = 1 / median sqrt(v^) of the no-decay run (IP's sets the decoupled λ' = K λ of every model): ${models.map((m) => `${m} ${byModel.get(m)![0].gradientScaleInverse!.toPrecision(3)}`).join(", ")}.`, "");
  lines.push("| model | weight decay | CTCVR CE (nats) | vs IP, same decay (paired by seed) | vs own no-decay run | best epochs | embedding rows near 0 |");
  lines.push("|---|---|---|---|---|---|---|");
  for (const m of models) {
    const own = byModel.get(m)!;
    own.forEach((r, j) => {
      const vsIp = m === "IP" ? "-" : meanSe(pct(r.ctcvr, ipRows[j].ctcvr));
      const vsNone = j === 0 ? "-" : meanSe(pct(r.ctcvr, own[0].ctcvr));
      lines.push(`| ${m} | ${r.setting} | ${mean(r.ctcvr).toFixed(5)} | ${vsIp} | ${vsNone} | ${r.bestEpoch.join(", ")} | ${(100 * mean(r.nearZeroRows)).toFixed(1)} % |`);
    });
  }
  lines.push("", "Change of each model's gap to IP (in % of IP's CE) from no decay to each setting, paired by seed (the gap's share that the decay makes):", "");
  lines.push("| model | setting | gap without decay | gap with it | change |");
  lines.push("|---|---|---|---|---|");
  for (const m of models.slice(1)) {
    const own = byModel.get(m)!;
    const gap0 = pct(own[0].ctcvr, ipRows[0].ctcvr);
    own.slice(1).forEach((r, j) => {
      const gap = pct(r.ctcvr, ipRows[j + 1].ctcvr);
      lines.push(`| ${m} | ${r.setting} | ${meanSe(gap0)} | ${meanSe(gap)} | ${meanSe(gap.map((g, i) => g - gap0[i]))} |`);
    });
  }
  return lines.join("\n");
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(e instanceof GeneratedBlockError ? 2 : 1);
});
