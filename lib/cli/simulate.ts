/** `esmm simulate`: writes a simulated impression log (one CSV per day + manifest.json). */
import * as fs from "node:fs";
import { Command, UsageError, checkOutputOption, numberValue, requireString } from "./args";
import { writeSimulatedLog } from "../data/simulated-files";
import { SIMULATOR_RANGES, SimulatorConfig } from "../data/simulator-config";
import { SEED_RANGE } from "../ranges";

/** The options that set a field of the simulator's config, with the field they set. */
const CONFIG_OPTIONS = {
  impressions: "impressions",
  days: "days",
  users: "users",
  ads: "ads",
  "target-ctr": "targetCtr",
  "target-cvr": "targetCvr",
  "shared-factor-share": "sharedFactorShare",
  "evaluation-days": "evaluationDays",
  "evaluation-multiplier": "evaluationMultiplier",
  "later-days-multiplier": "laterDaysMultiplier",
  "hidden-selection": "hiddenSelection",
} as const satisfies Record<string, keyof SimulatorConfig>;

export const simulateCommand: Command = {
  name: "simulate",
  summary: "generate the simulated impression log (the default data set)",
  usage: `esmm simulate --out DIR [--impressions N] [--days D] [--seed S] [--users N] [--ads N]
               [--target-ctr R] [--target-cvr R] [--shared-factor-share S]
               [--evaluation-days K] [--evaluation-multiplier M] [--later-days-multiplier L]
               [--hidden-selection RHO] [--config FILE.json]

Writes DIR/day-00.csv ... and DIR/manifest.json (config, seed, counts, rates, oracle cross-entropies).
Same seed and config give byte-identical files. Defaults: 2,000,000 impressions, 15 days, seed 7.
--evaluation-multiplier M (a number >= 1, default 1) gives each of the last K days (--evaluation-days,
default 3: the test day and 2 later days, the days scored after training) round(M x N/D) rows. Training days
and the validation day keep N/D rows, byte-identical to M = 1, so the trained model does not change; a scaled
day starts with the unscaled day's rows (N counts impressions at M = 1). --later-days-multiplier L (default M)
sizes the later days (all but the first of the K days) separately, e.g. a big test day and cheap later days.
--hidden-selection RHO (a number in [0, 5], default 0 = off) adds selection on unobservables: each impression
draws a latent u ~ N(0, 1) that is never written to the log and adds RHO u to both its click and its conversion
logit, so clicked rows convert more than non-clicked rows with the same features, a bias no feature reveals.
p_click and p_conversion_given_click are then the truth given u (the impression's own); the intercepts still
hit the target rates. 0 writes exactly the log without the option (docs/hidden-selection.md).
--config takes a JSON object of simulator options (see lib/data/simulator-config.ts); flags override it.`,
  options: {
    out: { type: "string" },
    seed: { type: "string", number: SEED_RANGE },
    config: { type: "string" },
    ...Object.fromEntries(Object.entries(CONFIG_OPTIONS).map(([option, field]) => [option, { type: "string" as const, number: SIMULATOR_RANGES[field] }])),
  },
  async run(v) {
    const cmd = "simulate";
    const out = requireString(v, "out", cmd);
    checkOutputOption(cmd, "out", out, "dir");
    let config: Partial<SimulatorConfig> = {};
    if (typeof v.config === "string") {
      try {
        config = JSON.parse(fs.readFileSync(v.config, "utf8"));
      } catch (e) {
        throw new UsageError(`${cmd}: --config ${v.config}: ${(e as Error).message}`);
      }
    }
    for (const [option, field] of Object.entries(CONFIG_OPTIONS)) {
      const value = numberValue(v, option);
      if (value !== undefined) config[field] = value;
    }
    const seed = numberValue(v, "seed", 7);
    const started = Date.now();
    let manifest;
    try {
      manifest = writeSimulatedLog(config, seed, out, {
        onDay: (day, days, rows) => process.stderr.write(`simulate: day ${day + 1}/${days} written (${rows.toLocaleString("en-US")} rows)\n`),
      });
    } catch (e) {
      if ((e as Error).message.startsWith("simulator option") || (e as Error).message.startsWith("unknown simulator option")) throw new UsageError(`${cmd}: ${(e as Error).message}`);
      throw e;
    }
    const t = manifest.totals;
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `wrote ${out}: ${t.impressions.toLocaleString("en-US")} impressions over ${manifest.days.length} days, ` +
        `CTR ${(100 * t.ctr).toFixed(2)} %, conversions/clicks ${(100 * t.cvr).toFixed(2)} %, ` +
        `oracle CTCVR cross-entropy ${manifest.oracle.ctcvr.toFixed(5)} (${seconds.toFixed(1)} s)`,
    );
  },
};
