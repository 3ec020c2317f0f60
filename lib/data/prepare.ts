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
 *     ids first seen after training (new ads, new users) map to 0; so do ids seen fewer than k times in
 *     training (`oovMinCount`, default 2); and in a field whose rare ids reach fewer than a share m of the
 *     training rows (`oovMaskRate`, default 0.01), a seeded share m of training rows has its id set to 0, so
 *     index 0's embedding row learns what an unknown id looks like instead of keeping its random initial value;
 *  4. numeric fields standardised with the training rows' weighted mean and standard deviation;
 *  5. encoding into the flat arrays of `EncodedSplit`, which training slices into batches.
 * Every random draw takes the seed.
 */
import { EncodedSplit } from "./encoded";
import { ImpressionLog, gatherColumn, selectRows } from "./schema";
import { Rng, deriveSeed } from "./random";
import { formatShare } from "../format";

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

/**
 * Default k of the out-of-vocabulary rule: ids seen fewer than k times on the kept training rows share index 0
 * with ids never seen in training. With k = 1 no training row reaches index 0, so its embedding row keeps its
 * random initial value, different per model seed, and every test-day row with a new ad or user is scored
 * through that noise (4.4 % of the default data's test-day rows have an unseen ad; issue 15). With k = 2 the
 * training rows of ids seen once teach row 0: on long-tailed real logs that is enough. On the simulator it is
 * not: every ad of the training days has hundreds of rows, so no k below 5 pools any ad (measured), hence the
 * masking rule below.
 */
export const DEFAULT_OOV_MIN_COUNT = 2;

/** Keep rate r of non-clicked training impressions (weight 1/r), the default everywhere: docs/protocol-facts.md. */
export const DEFAULT_NEGATIVE_KEEP_RATE = 0.1;

/**
 * Seed of the downsampling draw (and of the seeded splits of a CSV log), the default everywhere: `esmm prepare`,
 * `esmm train` and the study (DEFAULT_DATA_SPEC.prepareSeed) prepare the same log with the same draw.
 */
export const DEFAULT_PREPARE_SEED = 7;

/**
 * Default m of the OOV masking rule: in each categorical field whose pooled rare ids reach fewer than a share m
 * of the kept training rows, each training row's id is set to 0 with probability m (one seeded uniform draw
 * per row and field, from `deriveSeed(seed, "oov-mask", field)`), so that row 0 is trained on about a share m
 * of the rows in every field ("feature dropout" of the id, done once at preparation, the same for every model
 * seed). 0 turns masking off. The rows masked per field are in `report.vocabularies[].masked`.
 */
export const DEFAULT_OOV_MASK_RATE = 0.01;

/**
 * How a log is prepared, apart from its split plan: the keep rate r of non-clicked training rows (weight 1/r),
 * the seed of the downsampling draw (and of the seeded splits of a CSV log), and the OOV rules' k and m.
 */
export interface Preparation {
  negativeKeepRate: number;
  seed: number;
  oovMinCount: number;
  oovMaskRate: number;
}

/**
 * The preparation defaults, the one place `esmm prepare`, `esmm train`, the study (DEFAULT_DATA_SPEC), the data
 * sources (lib/sources) and the notebooks take them from: r 0.1, seed 7, k 2, m 0.01 (the constants above).
 */
export const DEFAULT_PREPARATION: Readonly<Preparation> = Object.freeze({
  negativeKeepRate: DEFAULT_NEGATIVE_KEEP_RATE,
  seed: DEFAULT_PREPARE_SEED,
  oovMinCount: DEFAULT_OOV_MIN_COUNT,
  oovMaskRate: DEFAULT_OOV_MASK_RATE,
});

/** Maps raw ids of one categorical field to indices 1..n; 0 is the out-of-vocabulary bucket. */
export interface Vocabulary {
  field: string;
  /** Raw ids in index order: ids[k - 1] has index k. */
  ids: number[];
  size: number;
}

/**
 * The vocabulary of one field from its training values: ids seen at least `minCount` times, ascending, get
 * indices 1..n; everything else (rarer ids, and ids never seen) will encode to 0. Throws a RangeError unless
 * minCount is an integer >= 1.
 */
export function fitVocabulary(field: string, values: Int32Array, minCount = DEFAULT_OOV_MIN_COUNT): Vocabulary {
  checkOovMinCount(minCount);
  const counts = new Map<number, number>();
  for (let i = 0; i < values.length; i++) counts.set(values[i], (counts.get(values[i]) ?? 0) + 1);
  const ids = [...counts].filter(([, n]) => n >= minCount).map(([id]) => id).sort((a, b) => a - b);
  return { field, ids, size: ids.length + 1 };
}

/** Throws a RangeError unless k is an integer >= 1 (the OOV rule's min count). */
export function checkOovMinCount(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`OOV min count must be an integer >= 1, got ${k}`);
}

/** Throws a RangeError unless 0 <= m < 1 (the OOV masking rate). */
export function checkOovMaskRate(m: number): void {
  if (!(m >= 0 && m < 1)) throw new RangeError(`OOV mask rate must be in [0, 1), got ${m}`);
}

/**
 * The masking rule (DEFAULT_OOV_MASK_RATE) on an encoded training split, in place: for each field f whose share
 * of rows at index 0 is below `rate`, sets categorical[i * nCat + f] = 0 for each row i with a uniform draw
 * below `rate`. Returns the rows newly set to 0, per field (0 for fields left alone).
 */
export function maskOovRows(split: EncodedSplit, rate: number, seed: number): number[] {
  checkOovMaskRate(rate);
  const nCat = split.categoricalFields.length;
  const n = split.size;
  return split.categoricalFields.map((field, f) => {
    if (rate === 0 || n === 0) return 0;
    let atZero = 0;
    for (let i = 0; i < n; i++) if (split.categorical[i * nCat + f] === 0) atZero++;
    if (atZero / n >= rate) return 0;
    const rng = new Rng(deriveSeed(seed, "oov-mask", field));
    let masked = 0;
    for (let i = 0; i < n; i++) {
      if (rng.uniform() < rate && split.categorical[i * nCat + f] !== 0) {
        split.categorical[i * nCat + f] = 0;
        masked++;
      }
    }
    return masked;
  });
}

/** Writes the indices of `values` into out[i * stride + offset] (0 for ids not in `vocab`); returns how many were 0. */
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
  /** k: ids seen fewer than k times on the kept training rows go to the OOV index 0. Default DEFAULT_OOV_MIN_COUNT (2). */
  oovMinCount?: number;
  /** m of the OOV masking rule (DEFAULT_OOV_MASK_RATE, 0.01); 0 turns it off. */
  oovMaskRate?: number;
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
  /** The OOV rules' k and m (absent in folders prepared before they existed, which used k = 1, m = 0). */
  oovMinCount?: number;
  oovMaskRate?: number;
  /**
   * Per split: `oovRate` the share of its rows whose id in that field encodes to 0 (per field), `oovRows` the
   * share of its rows with at least one such field (absent in older folders).
   */
  splits: { name: string; days: number[]; rows: number; clicks: number; conversions: number; weightedRows: number; oovRate: Record<string, number>; oovRows?: number }[];
  /**
   * Per field: distinct ids on the kept training rows, how many got an index of their own, how many were pooled
   * into index 0 (seen fewer than k times), the training rows masked to 0 by the masking rule, and
   * `oovTrained` whether any training row reaches index 0, i.e. whether its embedding row learns (absent in
   * older folders).
   */
  vocabularies?: { field: string; trainingIds: number; indexed: number; pooled: number; masked: number; oovTrained: boolean }[];
  downsampling: { before: number; kept: number; keptClicked: number; keptNonClicked: number };
}

/**
 * One line per categorical field whose OOV row 0 no training row reaches although some evaluation rows are
 * scored through it (its embedding row then keeps its random initial value): what `esmm prepare` prints on
 * stderr and notebook 01 shows. Empty for reports of folders prepared before `vocabularies` existed.
 */
export function untrainedOovLines(report: PrepareReport): string[] {
  return (report.vocabularies ?? [])
    .filter((v) => !v.oovTrained)
    .map((v) => ({ v, evaluated: report.splits.slice(1).filter((s) => (s.oovRate[v.field] ?? 0) > 0) }))
    .filter(({ evaluated }) => evaluated.length > 0)
    .map(
      ({ v, evaluated }) =>
        `field "${v.field}": no training row reaches its out-of-vocabulary row 0 (no id seen fewer than ${report.oovMinCount ?? 1} times, ` +
        `masking rate ${report.oovMaskRate ?? 0}), so it is never trained, yet ${evaluated.map((s) => `${formatShare(s.oovRate[v.field])} of ${s.name}`).join(", ")} ` +
        `rows use it (set --oov-mask-rate above 0, or raise --min-count)`,
    );
}

/**
 * Warning lines for splits that train or score a degenerate problem, what `esmm prepare` prints on stderr
 * (and `esmm train` for the folder it reads): a training split without a conversion (the CVR and CTCVR
 * towers see no positive) or without a click; a keep rate that left no non-clicked training row (the CTR
 * tower sees no negative); a validation split without a conversion or click (early stopping then reads a
 * CTCVR loss with no positive: it stops on noise); a test or later split without a conversion (its CTCVR
 * AUCs are undefined).
 */
export function degenerateSplitLines(report: PrepareReport): string[] {
  const out: string[] = [];
  for (const [i, s] of report.splits.entries()) {
    const where = `split "${s.name}" (day${s.days.length === 1 ? "" : "s"} ${s.days.join(",")}, ${s.rows} rows)`;
    if (i === 0) {
      if (s.clicks === 0) out.push(`warning: training ${where} has no click: no model can learn CTR, CVR or CTCVR from it`);
      else if (s.conversions === 0) out.push(`warning: training ${where} has no conversion: the CVR and CTCVR towers see no positive`);
      if (report.downsampling.kept > 0 && report.downsampling.keptNonClicked === 0) {
        out.push(`warning: the keep rate ${report.negativeKeepRate} left no non-clicked training row (of ${report.downsampling.before - report.downsampling.keptClicked}): the CTR tower sees no negative; raise --keep-rate`);
      }
    } else if (s.rows > 0 && s.conversions === 0) {
      out.push(
        i === 1
          ? `warning: validation ${where} has no conversion: early stopping reads a CTCVR loss with no positive`
          : `warning: ${where} has no conversion: its CTCVR and CVR AUCs are undefined`,
      );
    }
  }
  return out;
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

/**
 * Encodes rows `rows` of `log` (indices, in order) with the training vocabularies and scalers, with weights
 * `weight` (one per row of `rows`): the split and its OOV shares (per field, and of rows with any field at 0).
 * Exported for rows a preparation did not encode (lib/study/calibration-decomposition.ts: fresh rows of a
 * training day, encoded as the test day is).
 */
export function encodeSplit(name: string, log: ImpressionLog, rows: Int32Array, weight: Float32Array, vocabs: Vocabulary[], scalers: NumericScaler[]) {
  const n = rows.length;
  const nCat = vocabs.length;
  const nNum = scalers.length;
  const categorical = new Int32Array(n * nCat);
  vocabs.forEach((v, f) => encodeWithVocabulary(v, gatherColumn(log.categorical[f], rows), categorical, nCat, f));
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
  return { split, ...oovShares(split) };
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
  const keepRate = options.negativeKeepRate ?? DEFAULT_NEGATIVE_KEEP_RATE;
  const present = new Set(log.day);
  for (const d of [...plan.trainDays, plan.validationDay, plan.testDay, ...plan.laterDays]) {
    if (!present.has(d)) throw new Error(`split plan names day ${d}, which ${log.source} does not contain`);
  }
  const down = downsampleRows(log, keepRate, seed, rowsOfDays(log, plan.trainDays));
  const oovMinCount = options.oovMinCount ?? DEFAULT_OOV_MIN_COUNT;
  const oovMaskRate = options.oovMaskRate ?? DEFAULT_OOV_MASK_RATE;
  checkOovMinCount(oovMinCount);
  checkOovMaskRate(oovMaskRate);
  // one field's training column at a time (a full-size log's columns together would add hundreds of MB)
  const fitted = log.schema.categorical.map((f, k) => {
    const column = gatherColumn(log.categorical[k], down.rows);
    return { vocabulary: fitVocabulary(f, column, oovMinCount), trainingIds: new Set(column).size };
  });
  const vocabularies = fitted.map((x) => x.vocabulary);
  const trainingIds = fitted.map((x) => x.trainingIds);
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
  const masked = maskOovRows(encodedTrain.split, oovMaskRate, seed);
  if (masked.some((m) => m > 0)) Object.assign(encodedTrain, oovShares(encodedTrain.split));
  const validation = evalSplit("validation", [plan.validationDay], options.downsampleValidation ?? false);
  const test = evalSplit("test", [plan.testDay], false);
  const later = plan.laterDays.map((d) => evalSplit(`day ${d}`, [d], false));

  const describe = (s: { split: EncodedSplit; oovRate: Record<string, number>; oovRows: number }, days: number[]) => ({
    name: s.split.name,
    days,
    rows: s.split.size,
    clicks: sum(s.split.click),
    conversions: sum(s.split.conversion),
    weightedRows: sum(s.split.weight),
    oovRate: s.oovRate,
    oovRows: s.oovRows,
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
      oovMinCount,
      oovMaskRate,
      splits: [
        describe(encodedTrain, plan.trainDays),
        describe(validation, [plan.validationDay]),
        describe(test, [plan.testDay]),
        ...later.map((l, i) => describe(l, [plan.laterDays[i]])),
      ],
      vocabularies: vocabularies.map((v, k) => ({
        field: v.field,
        trainingIds: trainingIds[k],
        indexed: v.size - 1,
        pooled: trainingIds[k] - (v.size - 1),
        masked: masked[k],
        oovTrained: encodedTrain.oovRate[v.field] > 0,
      })),
      downsampling: { before: down.before, kept: down.kept, keptClicked: down.keptClicked, keptNonClicked: down.keptNonClicked },
    },
  };
}

/** Per field, the share of a split's rows at index 0, and the share of rows with any field at 0. */
function oovShares(split: EncodedSplit): { oovRate: Record<string, number>; oovRows: number } {
  const nCat = split.categoricalFields.length;
  const n = split.size;
  const atZero = new Array<number>(nCat).fill(0);
  let rows = 0;
  for (let i = 0; i < n; i++) {
    let any = false;
    for (let f = 0; f < nCat; f++) {
      if (split.categorical[i * nCat + f] === 0) {
        atZero[f]++;
        any = true;
      }
    }
    if (any) rows++;
  }
  return { oovRate: Object.fromEntries(split.categoricalFields.map((field, f) => [field, n ? atZero[f] / n : 0])), oovRows: n ? rows / n : 0 };
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
