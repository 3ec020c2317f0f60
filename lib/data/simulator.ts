/**
 * Impression-log simulator: the embedded default data set (the paper's Twitter data is private).
 *
 * It reproduces the two problems the paper is about, with known ground truth:
 *  - data sparsity: about 1.5 % of impressions are clicked and about 7 % of clicks convert;
 *  - data bias: one placement (the in-game network) draws accidental clicks that rarely convert, and
 *    clicks select users and ads with a high click affinity, so clicked impressions are a biased sample
 *    of the impressions the CVR model is served on.
 *
 * Generative story for one impression on day d:
 *   user ~ Zipf(activity), hour ~ diurnal profile, placement ~ traffic shares, ad ~ popularity among ads
 *   live on day d (new ads launch over time), device OS = the user's;
 *   intent logit  = b_click + s_c <u_c, a_c(d)> + user, advertiser, placement and hour effects;
 *   P(click)      = P(intent) + (1 - P(intent)) * accidental rate of the placement;
 *   conv. logit   = b_conv + s_v (sqrt(rho) <u_c, a_c(d)> + sqrt(1 - rho) <u_v, a_v(d)>)
 *                   + user, app-category and OS effects      (rho = sharedFactorShare);
 *   P(conv|click) = [P(intent) q + (1 - P(intent)) accidental rate * accidentalConversionRate] / P(click).
 * Ad factors take a small random-walk step each day (drift). The intercepts b_click and b_conv are solved
 * on a pilot sample so that CTR and conversions/clicks hit the configured targets.
 *
 * Hidden selection (config.hiddenSelection = h > 0, issue 24; docs/hidden-selection.md): each impression also
 * draws u ~ N(0, 1) from its own stream (deriveSeed(seed, "hidden-selection", day); the pilot's from
 * deriveSeed(seed, "pilot-hidden-selection")), never written to the log, and both logits gain h u. The recorded
 * p_click and p_conversion_given_click are then P(click | x, u) and P(conversion | click, x, u): the truth of that
 * very impression. Given the observed features x, a click makes a high u more likely, so clicked rows convert
 * more than non-clicked rows with the same x (selection on unobservables): `observedTruth` gives both, integrated
 * over u. The intercepts are solved with u in the pilot, so the targets hold at any h. At h = 0 (or absent) no
 * stream is drawn and the log is byte for byte the one without the option.
 *
 * Everything is drawn from streams derived from the seed (world, pilot, one per day), so the same seed and
 * config give the same rows; a day is generated in fixed-size chunks, so memory does not grow with rows.
 * The last `evaluationDays` days (the test and later days) can hold `evaluationMultiplier` times a training
 * day's rows (a bigger evaluation sample): the world, the intercepts, the training days and the validation
 * day do not depend on either option.
 */
import { AliasTable, Rng, deriveSeed, zipfWeights } from "./random";
import { SimulatorConfig, resolveConfig } from "./simulator-config";
import { allocateLog, type ImpressionLog, type LogSchema } from "./schema";

export const SIMULATED_SCHEMA: LogSchema = {
  categorical: ["user", "ad", "advertiser", "app_category", "placement", "device_os", "hour"],
  numeric: ["user_activity", "ad_age_days"],
};

/** One generated impression, as columns of a chunk. */
export interface SimulatedChunk {
  day: number;
  size: number;
  hour: Int32Array;
  user: Int32Array;
  ad: Int32Array;
  advertiser: Int32Array;
  appCategory: Int32Array;
  placement: Int32Array;
  deviceOs: Int32Array;
  userActivity: Float32Array;
  adAgeDays: Float32Array;
  click: Uint8Array;
  conversion: Uint8Array;
  pClick: Float64Array;
  pConversionGivenClick: Float64Array;
}

/** The fixed entities of a simulated world and their latent factors. */
export interface World {
  config: SimulatorConfig;
  seed: number;
  userAlias: AliasTable;
  userOs: Int32Array;
  userActivity: Float32Array;
  userClickFactors: Float64Array[];
  userConversionFactors: Float64Array[];
  userClickBias: Float64Array;
  userConversionBias: Float64Array;
  adLaunchDay: Int32Array;
  adAdvertiser: Int32Array;
  adCategory: Int32Array;
  adPopularity: Float64Array;
  /** adClickFactors[day][ad]: drifted factors on that day. */
  adClickFactors: Float64Array[][];
  adConversionFactors: Float64Array[][];
  advertiserClickBias: Float64Array;
  categoryConversionBias: Float64Array;
  osConversionEffect: Float64Array;
  hourAlias: AliasTable;
  hourClickEffect: Float64Array;
  placementAlias: AliasTable;
  placementClickEffect: Float64Array;
  placementAccidentalRate: Float64Array;
  clickIntercept: number;
  conversionIntercept: number;
  /** Strength of the per-impression latent u in both logits (config.hiddenSelection; 0 when absent). */
  hiddenSelection: number;
}

/** Diurnal traffic: a low at 4 am and a peak in the evening. */
function hourTraffic(): Float64Array {
  return Float64Array.from({ length: 24 }, (_, h) => 1 + 0.6 * Math.sin(((h - 10) / 24) * 2 * Math.PI));
}

function normalVector(rng: Rng, dim: number, sd: number): Float64Array {
  return Float64Array.from({ length: dim }, () => rng.normal() * sd);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Builds users, ads and effects from the seed, then solves the intercepts for the target rates. */
export function createWorld(partialConfig: Partial<SimulatorConfig>, seed: number): World {
  const config = resolveConfig(partialConfig);
  const rng = new Rng(deriveSeed(seed, "world"));
  const dim = config.latentDim;
  const factorSd = Math.pow(dim, -0.25); // so that <u, a> has variance about 1
  const bias = () => rng.normal() * config.entityBiasScale;

  const userAlias = new AliasTable(zipfWeights(config.users, config.userZipfExponent));
  const osAlias = new AliasTable(config.deviceOs.map((o) => o.share));
  const userOs = Int32Array.from({ length: config.users }, () => osAlias.draw(rng));
  const zipf = zipfWeights(config.users, config.userZipfExponent);
  const zipfTotal = zipf.reduce((s, v) => s + v, 0);
  const impressionsPerDay = config.impressions / config.days; // a training day's size, whatever evaluationMultiplier is
  const userActivity = Float32Array.from(zipf, (w) => Math.log1p((w / zipfTotal) * impressionsPerDay));
  const userClickFactors = Array.from({ length: config.users }, () => normalVector(rng, dim, factorSd));
  const userConversionFactors = Array.from({ length: config.users }, () => normalVector(rng, dim, factorSd));
  const userClickBias = Float64Array.from({ length: config.users }, bias);
  const userConversionBias = Float64Array.from({ length: config.users }, bias);

  const liveAtStart = Math.max(1, Math.round(config.ads * config.adsLiveOnDayZero));
  const adLaunchDay = Int32Array.from({ length: config.ads }, (_, a) =>
    a < liveAtStart || config.days === 1 ? 0 : 1 + rng.int(config.days - 1),
  );
  const adAdvertiser = Int32Array.from({ length: config.ads }, () => rng.int(config.advertisers));
  const adCategory = Int32Array.from({ length: config.ads }, () => rng.int(config.appCategories));
  const adRank = rng.shuffle(Int32Array.from({ length: config.ads }, (_, a) => a));
  const adPopularity = Float64Array.from(adRank, (r) => 1 / Math.pow(r + 1, config.adZipfExponent));
  const drift = (start: Float64Array[]) => {
    const days = [start];
    for (let d = 1; d < config.days; d++) {
      days.push(days[d - 1].map((v) => v.map((x) => x + rng.normal() * config.dailyDrift * factorSd)));
    }
    return days;
  };
  const adClickFactors = drift(Array.from({ length: config.ads }, () => normalVector(rng, dim, factorSd)));
  const adConversionFactors = drift(Array.from({ length: config.ads }, () => normalVector(rng, dim, factorSd)));
  const advertiserClickBias = Float64Array.from({ length: config.advertisers }, bias);
  const categoryConversionBias = Float64Array.from({ length: config.appCategories }, bias);
  const osConversionEffect = Float64Array.from(config.deviceOs, (_, i) => (i === 0 ? 0.2 : 0) + rng.normal() * 0.1);
  const hourClickEffect = Float64Array.from({ length: 24 }, (_, h) => 0.15 * Math.cos(((h - 20) / 24) * 2 * Math.PI));

  const world: World = {
    config,
    seed,
    userAlias,
    userOs,
    userActivity,
    userClickFactors,
    userConversionFactors,
    userClickBias,
    userConversionBias,
    adLaunchDay,
    adAdvertiser,
    adCategory,
    adPopularity,
    adClickFactors,
    adConversionFactors,
    advertiserClickBias,
    categoryConversionBias,
    osConversionEffect,
    hourAlias: new AliasTable(hourTraffic()),
    hourClickEffect,
    placementAlias: new AliasTable(config.placements.map((p) => p.share)),
    placementClickEffect: Float64Array.from(config.placements, (p) => p.clickEffect),
    placementAccidentalRate: Float64Array.from(config.placements, (p) => p.accidentalClickRate),
    clickIntercept: 0,
    conversionIntercept: 0,
    hiddenSelection: config.hiddenSelection ?? 0,
  };
  solveIntercepts(world);
  return world;
}

/** Latent parts of the logits of one impression, before the intercepts. */
interface Logits {
  click: number;
  conversion: number;
}

function impressionLogits(w: World, day: number, user: number, ad: number, placement: number, hour: number, out: Logits): void {
  const c = w.config;
  const clickAffinity = dot(w.userClickFactors[user], w.adClickFactors[day][ad]);
  const ownAffinity = dot(w.userConversionFactors[user], w.adConversionFactors[day][ad]);
  out.click =
    c.clickFactorScale * clickAffinity +
    w.userClickBias[user] +
    w.advertiserClickBias[w.adAdvertiser[ad]] +
    w.placementClickEffect[placement] +
    w.hourClickEffect[hour];
  out.conversion =
    c.conversionFactorScale * (Math.sqrt(c.sharedFactorShare) * clickAffinity + Math.sqrt(1 - c.sharedFactorShare) * ownAffinity) +
    w.userConversionBias[user] +
    w.categoryConversionBias[w.adCategory[ad]] +
    w.osConversionEffect[w.userOs[user]];
}

/** Adds h u to both logits, u ~ N(0, 1) drawn from `hidden` (h = w.hiddenSelection > 0; see the header). */
function addHiddenSelection(w: World, hidden: Rng, out: Logits): void {
  const shift = w.hiddenSelection * hidden.normal();
  out.click += shift;
  out.conversion += shift;
}

/** True P(click) and P(conversion | click) from the logits' latent parts and the placement. */
function trueProbabilities(w: World, logits: Logits, placement: number): [number, number] {
  const intent = sigmoid(w.clickIntercept + logits.click);
  const accidental = (1 - intent) * w.placementAccidentalRate[placement];
  const pClick = intent + accidental;
  const q = sigmoid(w.conversionIntercept + logits.conversion);
  const pConv = (intent * q + accidental * w.config.accidentalConversionRate) / pClick;
  return [pClick, pConv];
}

/** Bisection for the intercepts so that the pilot's mean P(click) and P(conv)/P(click) hit the targets. */
function solveIntercepts(w: World): void {
  const c = w.config;
  const rng = new Rng(deriveSeed(w.seed, "pilot"));
  const n = c.calibrationSamples;
  const clickPart = new Float64Array(n);
  const convPart = new Float64Array(n);
  const placements = new Int32Array(n);
  const logits: Logits = { click: 0, conversion: 0 };
  const hidden = w.hiddenSelection > 0 ? new Rng(deriveSeed(w.seed, "pilot-hidden-selection")) : undefined;
  for (let i = 0; i < n; i++) {
    const day = rng.int(c.days); // uniform over days whatever their size, so evaluationMultiplier leaves the intercepts alone
    const ads = liveAds(w, day);
    const ad = ads.ids[ads.alias.draw(rng)];
    placements[i] = w.placementAlias.draw(rng);
    impressionLogits(w, day, w.userAlias.draw(rng), ad, placements[i], w.hourAlias.draw(rng), logits);
    if (hidden) addHiddenSelection(w, hidden, logits);
    clickPart[i] = logits.click;
    convPart[i] = logits.conversion;
  }
  const bisect = (f: (x: number) => number, target: number) => {
    let lo = -30;
    let hi = 30;
    for (let it = 0; it < 50; it++) {
      const mid = (lo + hi) / 2;
      if (f(mid) < target) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  const accidental = w.placementAccidentalRate;
  const accidentalConversion = c.accidentalConversionRate;
  w.clickIntercept = bisect((b) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const intent = sigmoid(b + clickPart[i]);
      s += intent + (1 - intent) * accidental[placements[i]];
    }
    return s / n;
  }, c.targetCtr);
  w.conversionIntercept = bisect((b) => {
    let clicks = 0;
    let conversions = 0;
    for (let i = 0; i < n; i++) {
      const intent = sigmoid(w.clickIntercept + clickPart[i]);
      const acc = (1 - intent) * accidental[placements[i]];
      clicks += intent + acc;
      conversions += intent * sigmoid(b + convPart[i]) + acc * accidentalConversion;
    }
    return conversions / clicks;
  }, c.targetCvr);
  for (const line of calibrationProblems(w, clickPart, convPart, placements)) process.stderr.write(`simulator: world seed ${w.seed}: ${line}\n`);
}

/**
 * Where the solved intercepts miss their targets by more than 5 % (the bisection stops at its bound when a target
 * cannot be reached, e.g. when the accidental clicks alone exceed the target CTR, so every click is accidental and
 * converts at accidentalConversionRate): one line per missed target, naming the target, what the pilot reaches and
 * why. The log is still written (nothing in it is changed); the study shows each world's realized rates.
 */
function calibrationProblems(w: World, clickPart: Float64Array, convPart: Float64Array, placements: Int32Array): string[] {
  const c = w.config;
  const accidental = w.placementAccidentalRate;
  let clicks = 0;
  let accidentalClicks = 0;
  let conversions = 0;
  for (let i = 0; i < clickPart.length; i++) {
    const intent = sigmoid(w.clickIntercept + clickPart[i]);
    const acc = (1 - intent) * accidental[placements[i]];
    clicks += intent + acc;
    accidentalClicks += acc;
    conversions += intent * sigmoid(w.conversionIntercept + convPart[i]) + acc * c.accidentalConversionRate;
  }
  const n = clickPart.length;
  const out: string[] = [];
  const ctr = clicks / n;
  const cvr = conversions / clicks;
  const share = `accidental clicks are ${(100 * accidentalClicks / clicks).toFixed(0)} % of clicks`;
  if (Math.abs(ctr - c.targetCtr) > 0.05 * c.targetCtr) out.push(`CTR ${ctr.toPrecision(3)} misses its target ${c.targetCtr.toPrecision(3)} (${share})`);
  if (Math.abs(cvr - c.targetCvr) > 0.05 * c.targetCvr) out.push(`CVR ${cvr.toPrecision(3)} misses its target ${c.targetCvr.toPrecision(3)} (${share}; they convert at ${c.accidentalConversionRate})`);
  return out;
}

const liveAdsCache = new WeakMap<World, Map<number, { ids: Int32Array; alias: AliasTable }>>();

/** Ads launched on or before `day`, with an alias table over their popularity. */
function liveAds(w: World, day: number): { ids: Int32Array; alias: AliasTable } {
  let perDay = liveAdsCache.get(w);
  if (!perDay) liveAdsCache.set(w, (perDay = new Map()));
  let entry = perDay.get(day);
  if (!entry) {
    const ids = Int32Array.from(
      Array.from(w.adLaunchDay.keys()).filter((a) => w.adLaunchDay[a] <= day),
    );
    entry = { ids, alias: new AliasTable(Array.from(ids, (a) => w.adPopularity[a])) };
    perDay.set(day, entry);
  }
  return entry;
}

/**
 * Rows of each day, length `days`: impressions / days, the remainder spread over the first days; of the
 * last `evaluationDays` days, the first (the test day) then holds Math.round(evaluationMultiplier x its rows)
 * and the others (later days) Math.round(laterDaysMultiplier x its rows). With multipliers 1 the days sum to
 * `impressions`. `config` is a resolved config (see `resolveConfig`).
 */
export function rowsPerDay(config: SimulatorConfig): number[] {
  const base = Math.floor(config.impressions / config.days);
  const extra = config.impressions - base * config.days;
  const firstScaled = config.days - config.evaluationDays;
  return Array.from({ length: config.days }, (_, d) => {
    const rows = base + (d < extra ? 1 : 0);
    if (d < firstScaled) return rows;
    return Math.round(rows * (d === firstScaled ? config.evaluationMultiplier : config.laterDaysMultiplier));
  });
}

/**
 * Generates day `day` in chunks of at most `chunkSize` rows (`rowsPerDay(config)[day]` rows in all). The
 * rows of a day depend only on the seed, the config and the day, not on the chunk size or on other days;
 * they come from the day's stream in order, so a day scaled by `evaluationMultiplier` starts with exactly
 * the rows of the unscaled day.
 */
export function* generateDay(w: World, day: number, chunkSize = 65_536): Generator<SimulatedChunk> {
  const total = rowsPerDay(w.config)[day];
  const rng = new Rng(deriveSeed(w.seed, "day", day));
  const hidden = w.hiddenSelection > 0 ? new Rng(deriveSeed(w.seed, "hidden-selection", day)) : undefined;
  const ads = liveAds(w, day);
  const logits: Logits = { click: 0, conversion: 0 };
  for (let start = 0; start < total; start += chunkSize) {
    const size = Math.min(chunkSize, total - start);
    const chunk: SimulatedChunk = {
      day,
      size,
      hour: new Int32Array(size),
      user: new Int32Array(size),
      ad: new Int32Array(size),
      advertiser: new Int32Array(size),
      appCategory: new Int32Array(size),
      placement: new Int32Array(size),
      deviceOs: new Int32Array(size),
      userActivity: new Float32Array(size),
      adAgeDays: new Float32Array(size),
      click: new Uint8Array(size),
      conversion: new Uint8Array(size),
      pClick: new Float64Array(size),
      pConversionGivenClick: new Float64Array(size),
    };
    for (let i = 0; i < size; i++) {
      const user = w.userAlias.draw(rng);
      const hour = w.hourAlias.draw(rng);
      const placement = w.placementAlias.draw(rng);
      const ad = ads.ids[ads.alias.draw(rng)];
      impressionLogits(w, day, user, ad, placement, hour, logits);
      if (hidden) addHiddenSelection(w, hidden, logits);
      const [pClick, pConv] = trueProbabilities(w, logits, placement);
      const uClick = rng.uniform();
      const uConv = rng.uniform();
      const click = uClick < pClick ? 1 : 0;
      chunk.hour[i] = hour;
      chunk.user[i] = user;
      chunk.ad[i] = ad;
      chunk.advertiser[i] = w.adAdvertiser[ad];
      chunk.appCategory[i] = w.adCategory[ad];
      chunk.placement[i] = placement;
      chunk.deviceOs[i] = w.userOs[user];
      chunk.userActivity[i] = w.userActivity[user];
      chunk.adAgeDays[i] = day - w.adLaunchDay[ad];
      chunk.click[i] = click;
      chunk.conversion[i] = click && uConv < pConv ? 1 : 0;
      chunk.pClick[i] = pClick;
      chunk.pConversionGivenClick[i] = pConv;
    }
    yield chunk;
  }
}

/**
 * Rows `firstRow` to the last of day `day` of world `w` (generateDay's rows, in order) as an impression log of
 * SIMULATED_SCHEMA with truth: the categorical and numeric columns in the schema's order, the day, both labels
 * and the true P(click) and P(conversion | click). Throws if `firstRow` is not an integer in
 * [0, rowsPerDay(w.config)[day]].
 */
export function simulatedDayLog(w: World, day: number, firstRow = 0): ImpressionLog {
  const total = rowsPerDay(w.config)[day];
  if (!Number.isInteger(firstRow) || firstRow < 0 || firstRow > total) throw new Error(`simulatedDayLog: firstRow must be an integer in [0, ${total}], got ${firstRow}`);
  const log = allocateLog(SIMULATED_SCHEMA, total - firstRow, `simulator seed ${w.seed}, day ${day}, rows ${firstRow}..${total - 1}`, true);
  let r = 0;
  let seen = 0;
  for (const c of generateDay(w, day)) {
    const categorical = [c.user, c.ad, c.advertiser, c.appCategory, c.placement, c.deviceOs, c.hour]; // SIMULATED_SCHEMA.categorical order
    for (let i = Math.max(0, firstRow - seen); i < c.size; i++, r++) {
      categorical.forEach((col, f) => (log.categorical[f][r] = col[i]));
      log.numeric[0][r] = c.userActivity[i];
      log.numeric[1][r] = c.adAgeDays[i];
      log.day[r] = day;
      log.click[r] = c.click[i];
      log.conversion[r] = c.conversion[i];
      log.truth!.pClick[r] = c.pClick[i];
      log.truth!.pConversionGivenClick[r] = c.pConversionGivenClick[i];
    }
    seen += c.size;
  }
  return log;
}

/**
 * E[f(u)] for u ~ N(0, 1), by the trapezoid rule on [-10, 10] with step 0.05 (401 nodes): for f bounded and
 * analytic in the strip |Im u| < a the error decays like exp(-2 pi a / step) (Trefethen & Weideman, "The
 * exponentially convergent trapezoidal rule", SIAM Review 56(3), 2014, section 5), below 1e-12 for the logistic
 * integrands of `observedTruth` at hiddenSelection <= 5 (poles at |Im u| = pi / 5); the tails beyond 10 weigh < 1e-22.
 */
export function normalExpectation(f: (u: number) => number): number {
  let s = 0;
  for (let k = -QUADRATURE_HALF_NODES; k <= QUADRATURE_HALF_NODES; k++) {
    const u = k * QUADRATURE_STEP;
    s += Math.exp(-0.5 * u * u) * f(u);
  }
  return (s * QUADRATURE_STEP) / Math.sqrt(2 * Math.PI);
}

const QUADRATURE_STEP = 0.05;
const QUADRATURE_HALF_NODES = 200;

/** The truth an observer of the features x alone can know: the simulator's probabilities integrated over the hidden u. */
export interface ObservedTruth {
  /** P(click | x) = E_u[P(click | x, u)]. */
  pClick: number;
  /** E_u[P(conversion | click, x, u)]: the CVR of x were every impression clicked, whatever its u. */
  cvr: number;
  /** P(conversion | click, x) = E[P(conversion | click, x, u) | x, click = 1]: what a model fit on clicked rows learns. */
  cvrClicked: number;
  /** E[P(conversion | click, x, u) | x, click = 0]: the mean true CVR of the non-clicked impressions with features x. */
  cvrNotClicked: number;
}

/**
 * The truth of an impression with observed features (day, user, ad, placement, hour) given the observed features
 * only, integrated over the hidden u (see the header) by `normalExpectation`'s rule: u given click = 1 has density
 * proportional to phi(u) P(click | x, u), given click = 0 to phi(u) (1 - P(click | x, u)). Without hidden selection
 * (w.hiddenSelection = 0) every CVR field is the recorded P(conversion | click, x) exactly and pClick the recorded
 * P(click | x). Indices as in a SimulatedChunk (day < config.days, ad live on that day); nothing is checked.
 */
export function observedTruth(w: World, day: number, user: number, ad: number, placement: number, hour: number): ObservedTruth {
  const logits: Logits = { click: 0, conversion: 0 };
  impressionLogits(w, day, user, ad, placement, hour, logits);
  const h = w.hiddenSelection;
  if (h === 0) {
    const [pClick, pConv] = trueProbabilities(w, logits, placement);
    return { pClick, cvr: pConv, cvrClicked: pConv, cvrNotClicked: pConv };
  }
  const at: Logits = { click: 0, conversion: 0 };
  let total = 0; // the rule's sum of weights: sqrt(2 pi) / step to 1e-12, so the means below are exact for constants
  let pClick = 0;
  let cvr = 0;
  let clickedConv = 0;
  let notClickedConv = 0;
  for (let k = -QUADRATURE_HALF_NODES; k <= QUADRATURE_HALF_NODES; k++) {
    const u = k * QUADRATURE_STEP;
    const weight = Math.exp(-0.5 * u * u);
    at.click = logits.click + h * u;
    at.conversion = logits.conversion + h * u;
    const [pc, pv] = trueProbabilities(w, at, placement);
    total += weight;
    pClick += weight * pc;
    cvr += weight * pv;
    clickedConv += weight * pc * pv;
    notClickedConv += weight * (1 - pc) * pv;
  }
  return { pClick: pClick / total, cvr: cvr / total, cvrClicked: clickedConv / pClick, cvrNotClicked: notClickedConv / (total - pClick) };
}
