/**
 * Preparation of an impression log for training, as in the paper:
 *  1. past-vs-future split by day: training days, a validation day (early stopping), a test day, and
 *     later days for the temporal-shift evaluation; no day is in two splits; when the simulator enlarged
 *     its last days (evaluationMultiplier), those days must be exactly the test and later days (the days
 *     scored after training), so the training and validation days, hence the trained model, are unchanged;
 *  2. negative downsampling of the training days: every clicked impression kept, non-clicked ones kept
 *     with probability r and weighted 1/r, so weighted sums stay unbiased estimates of full-data sums;
 *     evaluation days are kept whole by default (weight 1);
 *  3. categorical vocabularies fitted on the kept training rows only, index 0 = out-of-vocabulary, so
 *     ids first seen after training (new ads, new users) map to 0;
 *  4. numeric fields standardised with the training rows' weighted mean and standard deviation;
 *  5. encoding into the flat arrays of `EncodedSplit`, which training slices into batches.
 * Every random draw takes the seed.
 */
import { EncodedSplit } from "./encoded";
import { ImpressionLog, gatherColumn, selectRows } from "./schema";
import { Rng, deriveSeed } from "./random";

export interface SplitPlan {
  trainDays: number[];
  validationDay: number;
  testDay: number;
  /** Days after the test day, scored without retraining (temporal shift). */
  laterDays: number[];
}

/**
 * The default plan for `days` days: the last two days are "later" days, the one before them the test
 * day, the one before that the validation day, and every earlier day trains. With 15 days: train 0-10,
 * validation 11, test 12, later 13-14.
 */
export function defaultSplitPlan(days: number, laterDays = 2): SplitPlan {
  if (days < laterDays + 3) throw new Error(`need at least ${laterDays + 3} days for a split with ${laterDays} later days, got ${days}`);
  const test = days - 1 - laterDays;
  return {
    trainDays: Array.from({ length: test - 1 }, (_, d) => d),
    validationDay: test - 1,
    testDay: test,
    laterDays: Array.from({ length: laterDays }, (_, i) => test + 1 + i),
  };
}

export function checkSplitPlan(plan: SplitPlan): void {
  const all = [...plan.trainDays, plan.validationDay, plan.testDay, ...plan.laterDays];
  if (new Set(all).size !== all.length) throw new Error(`split plan uses a day twice: ${JSON.stringify(plan)}`);
  const lastTrain = Math.max(...plan.trainDays);
  if (!(lastTrain < plan.validationDay && plan.validationDay < plan.testDay && plan.laterDays.every((d) => d > plan.testDay))) {
    throw new Error(`split plan must run past to future (train < validation < test < later): ${JSON.stringify(plan)}`);
  }
}

/** The part of a simulated log's config (its manifest's `config`) that says which days were scaled. */
export interface EvaluationScaling {
  days: number;
  /** Missing in manifests written before the option existed: read as multiplier 1. */
  evaluationDays?: number;
  evaluationMultiplier?: number;
  laterDaysMultiplier?: number;
}

/**
 * Throws (one line naming both day counts) when a simulated log's scaled days, the last `evaluationDays`
 * days at `evaluationMultiplier` or `laterDaysMultiplier` != 1, are not exactly the plan's test and later days, the days scored after
 * training. A scaled training day or a scaled validation day would change the trained model (the validation
 * day drives early stopping), and an unscaled test or later day would not get the bigger sample.
 * With multiplier 1 (or missing) every plan passes.
 */
export function checkEvaluationScaling(plan: SplitPlan, sim: EvaluationScaling): void {
  const multiplier = sim.evaluationMultiplier ?? 1;
  if (multiplier === 1 && (sim.laterDaysMultiplier ?? 1) === 1) return;
  const scaledCount = sim.evaluationDays ?? 0;
  const scaled = Array.from({ length: scaledCount }, (_, i) => sim.days - scaledCount + i);
  const scored = [plan.testDay, ...plan.laterDays].sort((a, b) => a - b);
  if (scaled.length === scored.length && scaled.every((d, i) => d === scored[i])) return;
  const validationScaled = scaled.includes(plan.validationDay) ? `, including the validation day ${plan.validationDay}` : "";
  throw new Error(
    `the simulated log scales ${scaledCount} days (evaluationDays = ${scaledCount}, days ${scaled.join(",") || "none"}, ` +
      `evaluationMultiplier = ${multiplier}${validationScaled}) but the split plan scores ${scored.length} days after training ` +
      `(test and ${plan.laterDays.length} later: days ${scored.join(",")}); they must be the same days and the validation day ` +
      `must not be scaled (simulate with --evaluation-days ${scored.length}, i.e. later days + 1` +
      `${scaledCount >= 1 ? `, or use ${scaledCount - 1} later days` : ""})`,
  );
}

export interface DownsampleResult {
  log: ImpressionLog;
  weight: Float32Array;
  keepRate: number;
  /** Rows before / after, and how many clicked and non-clicked rows were kept. */
  before: number;
  kept: number;
  keptClicked: number;
  keptNonClicked: number;
}

/** The rows `downsampleRows` keeps, as indices into the log, with their weights and the counts. */
export interface DownsampledRows extends Omit<DownsampleResult, "log"> {
  /** Kept row indices of the log, ascending as `rows` was. */
  rows: Int32Array;
}

/**
 * Keeps every clicked row and each non-clicked row with probability `keepRate`, weighting it 1/keepRate, among
 * `rows` (row indices of `log`, in order; default every row): one uniform draw per row of `rows`, from a stream
 * seeded by `seed`. Returns the kept indices, so that a split is encoded without copying its rows into a log of
 * their own. Throws unless 0 < keepRate <= 1.
 */
export function downsampleRows(log: ImpressionLog, keepRate: number, seed: number, rows?: Int32Array): DownsampledRows {
  if (!(keepRate > 0 && keepRate <= 1)) throw new Error(`negative keep rate must be in (0, 1], got ${keepRate}`);
  const rng = new Rng(deriveSeed(seed, "downsample"));
  const n = rows ? rows.length : log.size;
  const keep = new Int32Array(n);
  let k = 0;
  let keptClicked = 0;
  for (let j = 0; j < n; j++) {
    const i = rows ? rows[j] : j;
    const u = rng.uniform(); // drawn for every row, so a row's fate does not depend on earlier labels
    if (log.click[i]) {
      keep[k++] = i;
      keptClicked++;
    } else if (u < keepRate) keep[k++] = i;
  }
  const kept = keep.slice(0, k);
  const weight = new Float32Array(k);
  for (let j = 0; j < k; j++) weight[j] = log.click[kept[j]] ? 1 : 1 / keepRate;
  return { rows: kept, weight, keepRate, before: n, kept: k, keptClicked, keptNonClicked: k - keptClicked };
}

/** `downsampleRows` with the kept rows copied into a log of their own. */
export function downsampleNegatives(log: ImpressionLog, keepRate: number, seed: number, rows?: Int32Array): DownsampleResult {
  const { rows: kept, ...rest } = downsampleRows(log, keepRate, seed, rows);
  return { log: selectRows(log, kept), ...rest };
}

/** Maps raw ids of one categorical field to indices 1..n; 0 is the out-of-vocabulary bucket. */
export interface Vocabulary {
  field: string;
  /** Raw ids in index order: ids[k - 1] has index k. */
  ids: number[];
  size: number;
}

export function fitVocabulary(field: string, values: Int32Array, minCount = 1): Vocabulary {
  const counts = new Map<number, number>();
  for (let i = 0; i < values.length; i++) counts.set(values[i], (counts.get(values[i]) ?? 0) + 1);
  const ids = [...counts].filter(([, n]) => n >= minCount).map(([id]) => id).sort((a, b) => a - b);
  return { field, ids, size: ids.length + 1 };
}

export function encodeWithVocabulary(vocab: Vocabulary, values: Int32Array, out: Int32Array, stride: number, offset: number): number {
  const index = new Map(vocab.ids.map((id, k) => [id, k + 1]));
  let oov = 0;
  for (let i = 0; i < values.length; i++) {
    const k = index.get(values[i]) ?? 0;
    if (k === 0) oov++;
    out[i * stride + offset] = k;
  }
  return oov;
}

export interface NumericScaler {
  field: string;
  mean: number;
  sd: number;
}

function fitScaler(field: string, values: Float32Array, weight: Float32Array): NumericScaler {
  let sw = 0;
  let sx = 0;
  let sxx = 0;
  for (let i = 0; i < values.length; i++) {
    sw += weight[i];
    sx += weight[i] * values[i];
    sxx += weight[i] * values[i] * values[i];
  }
  const mean = sx / sw;
  const variance = Math.max(0, sxx / sw - mean * mean);
  return { field, mean, sd: Math.sqrt(variance) || 1 };
}

export interface PrepareOptions {
  plan: SplitPlan;
  /** Keep rate r of non-clicked training impressions (weight 1/r). Default 0.1, as in docs/protocol-facts.md. */
  negativeKeepRate?: number;
  /** Downsample the validation day too (default false: evaluation days are kept whole). */
  downsampleValidation?: boolean;
  /** Ids seen fewer times than this on the kept training rows go to the OOV bucket. Default 1. */
  minCount?: number;
  seed: number;
  /**
   * The simulated log's config (manifest `config`), when the log is simulated: `prepare` throws unless its
   * scaled days are the plan's test and later days (see `checkEvaluationScaling`).
   */
  simulator?: EvaluationScaling;
}

export interface PreparedData {
  train: EncodedSplit;
  validation: EncodedSplit;
  test: EncodedSplit;
  later: EncodedSplit[];
  vocabularies: Vocabulary[];
  scalers: NumericScaler[];
  plan: SplitPlan;
  report: PrepareReport;
}

export interface PrepareReport {
  negativeKeepRate: number;
  seed: number;
  splits: { name: string; days: number[]; rows: number; clicks: number; conversions: number; weightedRows: number; oovRate: Record<string, number> }[];
  downsampling: { before: number; kept: number; keptClicked: number; keptNonClicked: number };
}

/** Indices (ascending) of the rows of `log` whose day is one of `days`. */
function rowsOfDays(log: ImpressionLog, days: number[]): Int32Array {
  const wanted = new Set(days);
  let n = 0;
  for (let i = 0; i < log.size; i++) if (wanted.has(log.day[i])) n++;
  const rows = new Int32Array(n);
  for (let i = 0, k = 0; i < log.size; i++) if (wanted.has(log.day[i])) rows[k++] = i;
  return rows;
}

/** Encodes rows `rows` of `log` (indices, in order) with the training vocabularies and scalers. */
function encodeSplit(name: string, log: ImpressionLog, rows: Int32Array, weight: Float32Array, vocabs: Vocabulary[], scalers: NumericScaler[]) {
  const n = rows.length;
  const nCat = vocabs.length;
  const nNum = scalers.length;
  const categorical = new Int32Array(n * nCat);
  const oovRate: Record<string, number> = {};
  vocabs.forEach((v, f) => {
    const oov = encodeWithVocabulary(v, gatherColumn(log.categorical[f], rows), categorical, nCat, f);
    oovRate[v.field] = n ? oov / n : 0;
  });
  const numeric = new Float32Array(n * nNum);
  scalers.forEach((s, f) => {
    const col = log.numeric[f];
    for (let i = 0; i < n; i++) numeric[i * nNum + f] = (col[rows[i]] - s.mean) / s.sd;
  });
  const labels = (col: Uint8Array) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = col[rows[i]];
    return out;
  };
  const split: EncodedSplit = {
    name,
    size: n,
    categoricalFields: log.schema.categorical,
    vocabularySizes: vocabs.map((v) => v.size),
    numericFields: log.schema.numeric,
    categorical,
    numeric,
    click: labels(log.click),
    conversion: labels(log.conversion),
    weight,
    day: gatherColumn(log.day, rows),
    truth: log.truth && { pClick: gatherColumn(log.truth.pClick, rows), pConversionGivenClick: gatherColumn(log.truth.pConversionGivenClick, rows) },
  };
  return { split, oovRate };
}

/**
 * Splits, downsamples, fits vocabularies and scalers on training rows, and encodes every split. Throws when
 * the plan uses a day twice, runs backwards, names a day the log lacks, or (with `options.simulator`) its
 * test and later days are not exactly the simulator's scaled days.
 */
export function prepare(log: ImpressionLog, options: PrepareOptions): PreparedData {
  const { plan, seed } = options;
  checkSplitPlan(plan);
  if (options.simulator) checkEvaluationScaling(plan, options.simulator);
  const keepRate = options.negativeKeepRate ?? 0.1;
  const present = new Set(log.day);
  for (const d of [...plan.trainDays, plan.validationDay, plan.testDay, ...plan.laterDays]) {
    if (!present.has(d)) throw new Error(`split plan names day ${d}, which ${log.source} does not contain`);
  }
  const down = downsampleRows(log, keepRate, seed, rowsOfDays(log, plan.trainDays));
  const vocabularies = log.schema.categorical.map((f, k) => fitVocabulary(f, gatherColumn(log.categorical[k], down.rows), options.minCount ?? 1));
  const scalers = log.schema.numeric.map((f, k) => fitScaler(f, gatherColumn(log.numeric[k], down.rows), down.weight));

  const evalSplit = (name: string, days: number[], downsample: boolean) => {
    if (downsample) {
      const d = downsampleRows(log, keepRate, deriveSeed(seed, name), rowsOfDays(log, days));
      return encodeSplit(name, log, d.rows, d.weight, vocabularies, scalers);
    }
    const rows = rowsOfDays(log, days);
    return encodeSplit(name, log, rows, new Float32Array(rows.length).fill(1), vocabularies, scalers);
  };
  const encodedTrain = encodeSplit("train", log, down.rows, down.weight, vocabularies, scalers);
  const validation = evalSplit("validation", [plan.validationDay], options.downsampleValidation ?? false);
  const test = evalSplit("test", [plan.testDay], false);
  const later = plan.laterDays.map((d) => evalSplit(`day ${d}`, [d], false));

  const describe = (s: { split: EncodedSplit; oovRate: Record<string, number> }, days: number[]) => ({
    name: s.split.name,
    days,
    rows: s.split.size,
    clicks: sum(s.split.click),
    conversions: sum(s.split.conversion),
    weightedRows: sum(s.split.weight),
    oovRate: s.oovRate,
  });
  return {
    train: encodedTrain.split,
    validation: validation.split,
    test: test.split,
    later: later.map((l) => l.split),
    vocabularies,
    scalers,
    plan,
    report: {
      negativeKeepRate: keepRate,
      seed,
      splits: [
        describe(encodedTrain, plan.trainDays),
        describe(validation, [plan.validationDay]),
        describe(test, [plan.testDay]),
        ...later.map((l, i) => describe(l, [plan.laterDays[i]])),
      ],
      downsampling: { before: down.before, kept: down.kept, keptClicked: down.keptClicked, keptNonClicked: down.keptNonClicked },
    },
  };
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
