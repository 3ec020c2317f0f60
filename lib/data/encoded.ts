/**
 * A prepared (encoded) split: what models and training consume.
 *
 * Produced by `prepare` from an ImpressionLog: categorical raw ids mapped through vocabularies fitted on
 * training days (index 0 = out-of-vocabulary), numeric fields standardised, negatives downsampled with
 * their weights. Row-major flat arrays so that a batch is a contiguous slice.
 */
export interface EncodedSplit {
  name: string;
  size: number;
  /** Names of the categorical fields, in order; `vocabularySizes[f]` includes the OOV index 0. */
  categoricalFields: string[];
  vocabularySizes: number[];
  numericFields: string[];
  /** size x categoricalFields.length, row-major, each value in [0, vocabularySizes[f]). */
  categorical: Int32Array;
  /** size x numericFields.length, row-major. */
  numeric: Float32Array;
  click: Float32Array;
  conversion: Float32Array;
  /** Sample weight: 1/keepRate for kept non-clicked rows, 1 otherwise. */
  weight: Float32Array;
  day: Int32Array;
  /** Simulator ground truth, when known. */
  truth?: { pClick: Float64Array; pConversionGivenClick: Float64Array };
}

/**
 * A split of labels only (no features): for scoring, metrics and evaluation spaces, where predictions
 * come from elsewhere. `weight` defaults to 1 per row and `day` to 0; every column has `click.length` rows.
 * Throws when a given column's length differs from click's.
 */
export function labelOnlySplit(
  name: string,
  labels: Pick<EncodedSplit, "click" | "conversion"> & Partial<Pick<EncodedSplit, "weight" | "day" | "truth">>,
): EncodedSplit {
  const size = labels.click.length;
  const columns: Record<string, { length: number } | undefined> = {
    conversion: labels.conversion, weight: labels.weight, day: labels.day,
    "truth.pClick": labels.truth?.pClick, "truth.pConversionGivenClick": labels.truth?.pConversionGivenClick,
  };
  for (const [column, values] of Object.entries(columns)) {
    if (values && values.length !== size) throw new Error(`labelOnlySplit: ${column} has ${values.length} rows, click has ${size}`);
  }
  return {
    name,
    size,
    categoricalFields: [],
    vocabularySizes: [],
    numericFields: [],
    categorical: new Int32Array(0),
    numeric: new Float32Array(0),
    click: labels.click,
    conversion: labels.conversion,
    weight: labels.weight ?? new Float32Array(size).fill(1),
    day: labels.day ?? new Int32Array(size),
    ...(labels.truth ? { truth: labels.truth } : {}),
  };
}
