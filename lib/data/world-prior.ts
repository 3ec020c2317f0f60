/**
 * Worlds as a population (issue 22, point 3): a declared prior over plausible ad logs, from which each
 * simulated world's parameters are drawn by its seed, so a study's worlds are a sample of a population
 * rather than one world picked because the paper's mechanisms show on it (docs/protocol-facts.md: the default
 * world's user density was chosen that way).
 *
 * A prior is data: one entry per simulator parameter it draws, each with its distribution and its reason.
 * WORLD_PRIORS is the registry (a new prior is one more entry); `drawWorld(prior, seed)` gives the parameters
 * of world `seed` (deterministic: one seeded stream per world, the parameters drawn in the prior's order, so a
 * parameter added at the end of a prior never moves the others' draws). The draw is written into the world's
 * `DataSpec.simulator` (lib/study/spec.ts expandGrid), so it is part of the data's key and of each record.
 *
 * Draws (fixed 2026-12-06). Each world has one stream, parameterStream(seed, "world-prior", prior name) (lib/data/random.ts),
 * and its parameters are drawn from it in the prior's order. The first version drew each parameter from its own
 * stream deriveSeed(seed, "world-prior", prior, parameter): the first uniforms of streams whose labels differ in their
 * last character were nearly equal (targetCvr and targetCtr correlated 0.96 over seeds 1-2,000), and the accidental
 * clicks were a rate of their own, which could exceed a world's target CTR (the simulator then cannot meet its
 * targets: world 24 of the first fair run had 131 conversions). Now the accidental clicks are a share of the target
 * CTR, and every pair of parameters is uncorrelated over seeds (test/fair-analysis.test.ts). Results made with the
 * first version carry other worlds: their data keys differ (the drawn simulator settings are in each key).
 *
 * The "ad-logs" prior (the default of the fair protocol, lib/tune/protocol.ts):
 *   impressionsPerUser       log-uniform [200, 2,000], written as users = impressions / it (entities per row, so
 *                            the quick profile's small logs have the full profile's density). The default world
 *                            has 1,000 per user (2,000 users for 2 million impressions); at 100 per user the
 *                            per-user embeddings overfit in the first epoch (protocol-facts). The range spans
 *                            dense logs to sparse ones.
 *   sharedFactorShare        uniform [0.2, 0.8]: how much of the conversion affinity is the click affinity (the
 *                            default 0.5). It sets how much a CVR task can learn from the CTR task.
 *   targetCvr                log-uniform [0.04, 0.12] conversions per click (default 0.07).
 *   targetCtr                log-uniform [0.01, 0.025] (default 0.015).
 *   accidentalClickShare     uniform [0.2, 0.6]: the share of the target CTR's clicks that are accidental, clicks that
 *                            carry no intent, the selection the paper's weighted CVR is meant to discount. Written as
 *                            the in-game placement's accidental-click rate = share x target CTR / the placement's
 *                            traffic share (the default world: 0.03 x 25 % / 1.5 % = a share of 0.5). Below 1, so
 *                            the intentional clicks can always make up the rest of the target.
 * Ranges are centred on the simulator's defaults (lib/data/simulator-config.ts), a factor of about 2-3 either side
 * for the rates and the density; they are a declared choice, not a measured population: the meta-regression of
 * each finding's effect on these parameters (lib/study/meta-regression.ts) shows what a conclusion depends on.
 */
import { parameterStream } from "./random";
import type { SimulatorConfig } from "./simulator-config";
import { DEFAULT_SIMULATOR_CONFIG } from "./simulator-config";

/** One parameter of a prior: its distribution (log-uniform or uniform on [low, high]) and how it is written. */
export interface PriorParameter {
  /** Name in tables and the meta-regression, e.g. "users". */
  name: string;
  kind: "logUniform" | "uniform";
  low: number;
  high: number;
  /** Round to an integer (counts). */
  integer?: boolean;
  /** Writes the drawn value into `config` (a partial one, over the study's own settings `base`). */
  apply(config: Partial<SimulatorConfig>, value: number, base: Partial<SimulatorConfig>): void;
}

export interface WorldPrior {
  name: string;
  description: string;
  parameters: readonly PriorParameter[];
}

const setField =
  <K extends keyof SimulatorConfig>(field: K) =>
  (config: Partial<SimulatorConfig>, value: number) => {
    (config as Record<string, unknown>)[field] = value;
  };

/**
 * The in-game placement's accidental click rate for accidental clicks that are `share` of the target CTR's clicks
 * (the target CTR drawn before it, else the study's, else the default), the other placements as in the default config.
 */
function setAccidentalClickShare(config: Partial<SimulatorConfig>, share: number, base: Partial<SimulatorConfig>): void {
  const placements = (config.placements ?? base.placements ?? DEFAULT_SIMULATOR_CONFIG.placements).map((p) => ({ ...p }));
  const inGame = placements.find((p) => p.accidentalClickRate > 0) ?? placements[placements.length - 1];
  const totalShare = placements.reduce((a, p) => a + p.share, 0);
  const targetCtr = config.targetCtr ?? base.targetCtr ?? DEFAULT_SIMULATOR_CONFIG.targetCtr;
  inGame.accidentalClickRate = (share * targetCtr) / (inGame.share / totalShare);
  config.placements = placements;
}

/** The registry of priors, by name. */
export const WORLD_PRIORS: Readonly<Record<string, WorldPrior>> = {
  "ad-logs": {
    name: "ad-logs",
    description: "plausible ad logs around the simulator's defaults: users, shared-factor share, accidental-click rate, CVR and CTR drawn per world",
    parameters: [
      {
        name: "impressionsPerUser",
        kind: "logUniform",
        low: 200,
        high: 2_000,
        apply: (config, value, base) => {
          config.users = Math.max(1, Math.round((base.impressions ?? DEFAULT_SIMULATOR_CONFIG.impressions) / value));
        },
      },
      { name: "sharedFactorShare", kind: "uniform", low: 0.2, high: 0.8, apply: setField("sharedFactorShare") },
      { name: "targetCvr", kind: "logUniform", low: 0.04, high: 0.12, apply: setField("targetCvr") },
      { name: "targetCtr", kind: "logUniform", low: 0.01, high: 0.025, apply: setField("targetCtr") },
      // after targetCtr: it is a share of it
      { name: "accidentalClickShare", kind: "uniform", low: 0.2, high: 0.6, apply: setAccidentalClickShare },
    ],
  },
};

export const WORLD_PRIOR_NAMES = Object.keys(WORLD_PRIORS);

/** The prior named `name`. Throws, listing the names, on an unknown one. */
export function getWorldPrior(name: string): WorldPrior {
  const p = WORLD_PRIORS[name];
  if (!p) throw new Error(`unknown world prior ${JSON.stringify(name)} (${WORLD_PRIOR_NAMES.join(", ")})`);
  return p;
}

/**
 * The parameters of world `seed` under prior `name`: { values: name -> drawn value, simulator: the partial
 * simulator config they make over `base` (the study's own simulator settings, e.g. its impressions) }.
 * Deterministic in (name, seed, base). Throws on an unknown prior or a non-integer seed.
 */
export function drawWorld(name: string, seed: number, base: Partial<SimulatorConfig> = {}): { values: Record<string, number>; simulator: Partial<SimulatorConfig> } {
  if (!Number.isInteger(seed)) throw new Error(`world prior: seed must be an integer, got ${seed}`);
  const prior = getWorldPrior(name);
  const values: Record<string, number> = {};
  const simulator: Partial<SimulatorConfig> = {};
  const rng = parameterStream(seed, "world-prior", prior.name);
  for (const p of prior.parameters) {
    const u = rng.uniform();
    let v = p.kind === "logUniform" ? Math.exp(Math.log(p.low) + u * (Math.log(p.high) - Math.log(p.low))) : p.low + u * (p.high - p.low);
    if (p.integer) v = Math.round(v);
    values[p.name] = v;
    p.apply(simulator, v, base);
  }
  return { values, simulator };
}
