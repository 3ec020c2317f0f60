/**
 * Configuration of the impression-log simulator, with defaults in the paper's regime.
 *
 * Every size and rate is a field here; `resolveConfig` fills in defaults and checks ranges, naming the
 * field at fault. The defaults follow docs/protocol-facts.md (data per entity): about 2,000 users for 2 million
 * impressions (sparser entities turn the study into one about overfitting), CTR about 1.5 %,
 * conversions about 7 % of clicks, and one placement (the in-game network) with many accidental clicks.
 */
import { NumericRange, describeRange, inRange, intRange } from "../ranges";

export interface PlacementConfig {
  name: string;
  /** Share of traffic (normalised over placements). */
  share: number;
  /** Additive effect on the intentional-click logit. */
  clickEffect: number;
  /** Probability of an accidental click on top of intentional ones (fat-finger taps in games). */
  accidentalClickRate: number;
}

export interface SimulatorConfig {
  /**
   * Impressions of the log at evaluationMultiplier 1: each day has impressions / days rows (the remainder
   * spread over the first days). Training days and the validation day always have this many rows, and user
   * activity is computed from it; only the last `evaluationDays` days grow with `evaluationMultiplier`.
   */
  impressions: number;
  days: number;
  /**
   * How many days at the end of the log are scored after training: the test day and the later days of
   * `defaultSplitPlan(days, evaluationDays - 1)` in ./prepare.ts (not the validation day, which drives early
   * stopping): integer in [0, days]. Default 3 (test + 2 later days), or `days` when the log has fewer
   * than 3 days.
   */
  evaluationDays: number;
  /**
   * The first of the last `evaluationDays` days (the test day) holds Math.round(multiplier x its rows at
   * multiplier 1); a number >= 1, default 1 (every day the same size). A scaled day's first rows are exactly
   * the unscaled day's rows, and the training days and the validation day do not change, so a run trains the
   * same model as at multiplier 1 and is only scored on more rows.
   */
  evaluationMultiplier: number;
  /**
   * The same for the other scored days (the later days of the temporal-shift check); a number >= 1, by
   * default equal to evaluationMultiplier. A smaller one keeps scoring cheap where the test day needs the rows.
   */
  laterDaysMultiplier: number;
  users: number;
  /** Zipf exponent of user activity: user k draws impressions in proportion to 1/k^s. */
  userZipfExponent: number;
  /** Ads live at the end; a share of them exists on day 0, the rest launch on later days. */
  ads: number;
  adsLiveOnDayZero: number;
  adZipfExponent: number;
  advertisers: number;
  appCategories: number;
  placements: PlacementConfig[];
  deviceOs: { name: string; share: number }[];
  /** Dimension of the latent factors of users and ads. */
  latentDim: number;
  /** Scale of the latent click affinity <u, a> in the click logit. */
  clickFactorScale: number;
  /** Scale of the latent conversion affinity in the conversion logit. */
  conversionFactorScale: number;
  /**
   * How much of the conversion affinity is the click affinity: 0 = independent factors, 1 = the same.
   * The conversion affinity is sqrt(s) * click affinity + sqrt(1 - s) * its own factors.
   */
  sharedFactorShare: number;
  /** Standard deviation of per-entity biases (users, advertisers, app categories). */
  entityBiasScale: number;
  /** Target overall click-through rate; the click intercept is solved for it. */
  targetCtr: number;
  /** Target conversions / clicks; the conversion intercept is solved for it. */
  targetCvr: number;
  /** P(conversion) of an accidental click. */
  accidentalConversionRate: number;
  /** Standard deviation of the daily random-walk step of ad factors (slow drift). */
  dailyDrift: number;
  /** Pilot draws used to solve the intercepts. */
  calibrationSamples: number;
  /**
   * Selection on unobservables (issue 24): the strength rho of a latent u ~ N(0, 1), one per impression, drawn from
   * its own seeded stream and never written to the log, that adds rho u to the intent-click logit and rho u to the
   * conversion logit (same sign: impressions a user is keener on are both clicked and converted more), so that
   * clicked rows convert more than non-clicked rows with the same features, a bias no feature reveals
   * (docs/hidden-selection.md). A number in [0, 5]. Optional: absent or 0 is the simulator without it, byte for
   * byte (resolveConfig removes a 0, so the resolved config, the manifest and the data keys are unchanged).
   */
  hiddenSelection?: number;
}

export const DEFAULT_SIMULATOR_CONFIG: SimulatorConfig = {
  impressions: 2_000_000,
  days: 15,
  evaluationDays: 3,
  evaluationMultiplier: 1,
  laterDaysMultiplier: 1,
  users: 2_000,
  userZipfExponent: 1.0,
  ads: 600,
  adsLiveOnDayZero: 0.6,
  adZipfExponent: 0.8,
  advertisers: 80,
  appCategories: 12,
  placements: [
    { name: "home-feed", share: 0.45, clickEffect: 0.0, accidentalClickRate: 0 },
    { name: "search", share: 0.15, clickEffect: 0.4, accidentalClickRate: 0 },
    { name: "profile", share: 0.15, clickEffect: -0.3, accidentalClickRate: 0 },
    { name: "in-game-network", share: 0.25, clickEffect: -0.2, accidentalClickRate: 0.03 },
  ],
  deviceOs: [
    { name: "ios", share: 0.45 },
    { name: "android", share: 0.5 },
    { name: "other", share: 0.05 },
  ],
  latentDim: 8,
  clickFactorScale: 1.0,
  conversionFactorScale: 1.3,
  sharedFactorShare: 0.5,
  entityBiasScale: 0.5,
  targetCtr: 0.015,
  targetCvr: 0.07,
  accidentalConversionRate: 0.002,
  dailyDrift: 0.05,
  calibrationSamples: 200_000,
};

/**
 * The allowed values of the numeric fields, checked by `resolveConfig`; the command line's `esmm simulate`
 * declares its options with the same ranges. Two more rules involve two fields: evaluationDays <= days, and
 * impressions >= days (a day without rows cannot be split, trained or scored).
 */
export const SIMULATOR_RANGES: Readonly<Partial<Record<keyof SimulatorConfig, NumericRange>>> = Object.freeze({
  impressions: intRange(1),
  days: intRange(1),
  evaluationDays: intRange(0),
  evaluationMultiplier: { ge: 1 },
  laterDaysMultiplier: { ge: 1 },
  users: intRange(1),
  userZipfExponent: { ge: 0 },
  ads: intRange(1),
  adsLiveOnDayZero: { gt: 0, le: 1 },
  adZipfExponent: { ge: 0 },
  advertisers: intRange(1),
  appCategories: intRange(1),
  latentDim: intRange(1),
  clickFactorScale: {},
  conversionFactorScale: {},
  sharedFactorShare: { ge: 0, le: 1 },
  entityBiasScale: {},
  targetCtr: { gt: 0, lt: 0.5 },
  targetCvr: { gt: 0, lt: 1 },
  accidentalConversionRate: { ge: 0, lt: 1 },
  dailyDrift: { ge: 0 },
  calibrationSamples: intRange(1000),
  hiddenSelection: { ge: 0, le: 5 },
});

/**
 * Optional fields (absent from DEFAULT_SIMULATOR_CONFIG) with the value that means "off": `resolveConfig` removes
 * them at that value, so a config that sets one to it resolves to the config without it (same data keys).
 */
const OPTIONAL_FIELDS: Readonly<Partial<Record<keyof SimulatorConfig, number>>> = Object.freeze({ hiddenSelection: 0 });

/** Fields of `SimulatorConfig` a user may set from the command line (numbers only). */
export const NUMERIC_CONFIG_FIELDS = [
  ...(Object.keys(DEFAULT_SIMULATOR_CONFIG) as (keyof SimulatorConfig)[]).filter((k) => typeof DEFAULT_SIMULATOR_CONFIG[k] === "number"),
  ...(Object.keys(OPTIONAL_FIELDS) as (keyof SimulatorConfig)[]),
];

/**
 * The full config: `partial` over the defaults, an optional field at its "off" value removed (OPTIONAL_FIELDS), every
 * range checked. Throws an Error naming the option ("unknown simulator option ..." or "simulator option F = v: must be ...").
 */
export function resolveConfig(partial: Partial<SimulatorConfig> = {}): SimulatorConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_SIMULATOR_CONFIG) && !(key in OPTIONAL_FIELDS)) throw new Error(`unknown simulator option "${key}"`);
  }
  const c: SimulatorConfig = { ...DEFAULT_SIMULATOR_CONFIG, ...partial };
  for (const [field, off] of Object.entries(OPTIONAL_FIELDS) as [keyof SimulatorConfig, number][]) {
    if (c[field] === undefined || c[field] === off) delete c[field];
  }
  // a log shorter than the default's scored days scores all of them unless told otherwise
  if (partial.evaluationDays === undefined) c.evaluationDays = Math.min(DEFAULT_SIMULATOR_CONFIG.evaluationDays, c.days);
  if (partial.laterDaysMultiplier === undefined) c.laterDaysMultiplier = c.evaluationMultiplier;
  const check = (ok: boolean, field: keyof SimulatorConfig, rule: string) => {
    if (!ok) throw new Error(`simulator option ${field} = ${JSON.stringify(c[field])}: must be ${rule}`);
  };
  for (const [field, range] of Object.entries(SIMULATOR_RANGES) as [keyof SimulatorConfig, NumericRange][]) {
    if (c[field] === undefined && field in OPTIONAL_FIELDS) continue;
    check(inRange(c[field] as number, range), field, describeRange(range));
  }
  check(c.evaluationDays <= c.days, "evaluationDays", `an integer in [0, days = ${c.days}]`);
  check(c.impressions >= c.days, "impressions", `an integer >= days = ${c.days} (every day needs at least one row)`);
  check(c.placements.length >= 1, "placements", "a non-empty list");
  for (const p of c.placements) {
    check(p.share > 0 && p.accidentalClickRate >= 0 && p.accidentalClickRate < 1, "placements", "shares > 0 and accidental click rates in [0, 1)");
  }
  check(c.deviceOs.length >= 1 && c.deviceOs.every((o) => o.share > 0), "deviceOs", "a non-empty list with shares > 0");
  return c;
}
