/** `esmm prepare`: split by day, downsample negatives, fit vocabularies, write the encoded splits. */
import * as path from "node:path";
import { Command, UsageError, numberValue, requireString } from "./args";
import { RATE_RANGE, SEED_RANGE, intRange } from "../ranges";
import { readManifest, readSimulatedLog } from "../data/simulated-files";
import { checkEvaluationScaling, defaultSplitPlan, prepare } from "../data/prepare";
import { writePrepared } from "../data/prepared-files";

export const prepareCommand: Command = {
  name: "prepare",
  summary: "split by day, downsample negatives, fit vocabularies and encode",
  usage: `esmm prepare --data DIR --out DIR [--keep-rate R] [--seed S] [--later-days K]

Reads the simulated log in DIR (from \`esmm simulate\`) and writes OUT/prepared.json plus one binary file
per split: train days (negatives kept at rate R, weight 1/R; default 0.1), a validation day, a test day and
K later days (default 2). Vocabularies are fitted on the kept training rows only (index 0 = unseen id).
A log simulated with --evaluation-multiplier other than 1 must have its scaled days (--evaluation-days,
default 3) be exactly the test and later days, never the validation day: K = evaluation days - 1; else exit 2.`,
  options: {
    data: { type: "string" },
    out: { type: "string" },
    "keep-rate": { type: "string", number: RATE_RANGE },
    seed: { type: "string", number: SEED_RANGE },
    "later-days": { type: "string", number: intRange(0) },
  },
  async run(v) {
    const cmd = "prepare";
    const data = requireString(v, "data", cmd);
    const out = requireString(v, "out", cmd);
    const keepRate = numberValue(v, "keep-rate", 0.1);
    const seed = numberValue(v, "seed", 1);
    const laterDays = numberValue(v, "later-days", 2);
    const manifest = readManifest(data);
    let plan;
    try {
      plan = defaultSplitPlan(manifest.days.length, laterDays);
      checkEvaluationScaling(plan, manifest.config);
    } catch (e) {
      throw new UsageError(`${cmd}: ${(e as Error).message}`);
    }
    const log = readSimulatedLog(data);
    const prepared = prepare(log, { plan, negativeKeepRate: keepRate, seed, simulator: manifest.config });
    writePrepared(out, prepared, { kind: "simulated", dir: path.resolve(data), seed: manifest.seed, totals: manifest.totals, oracle: manifest.oracle });
    for (const s of prepared.report.splits) {
      console.log(`${s.name.padEnd(10)} days ${s.days.join(",").padEnd(22)} rows ${String(s.rows).padStart(9)}  clicks ${String(s.clicks).padStart(6)}  conversions ${String(s.conversions).padStart(5)}`);
    }
    console.log(`wrote ${out}`);
  },
};
