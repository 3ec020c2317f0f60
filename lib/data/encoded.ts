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
