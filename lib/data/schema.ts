/**
 * One schema for every impression log the workspace reads: simulator output, Ali-CCP (processed and raw).
 *
 * A log is columnar: one typed array per field, all of length `size`. Labels are `click` and
 * `conversion` (conversion implies click: the funnel impression -> click -> conversion). Categorical
 * fields hold raw integer ids (-1 = missing); vocabularies map them to dense indices later, in
 * preparation. Numeric fields are float32. `day` is the day index used for past-vs-future splits.
 */
export interface LogSchema {
  /** Names of categorical fields, in column order. */
  categorical: string[];
  /** Names of numeric fields, in column order. */
  numeric: string[];
}

/** Ground-truth probabilities, known only for simulated logs. */
export interface TruthColumns {
  /** True P(click | x). */
  pClick: Float64Array;
  /** True P(conversion | click, x). */
  pConversionGivenClick: Float64Array;
}

export interface ImpressionLog {
  schema: LogSchema;
  size: number;
  day: Int32Array;
  click: Uint8Array;
  conversion: Uint8Array;
  /** categorical[f][i]: raw id of field f at row i; -1 when missing. */
  categorical: Int32Array[];
  /** numeric[f][i]: value of numeric field f at row i. */
  numeric: Float32Array[];
  /** Present for simulated data only. */
  truth?: TruthColumns;
  /** Where the rows came from (file names, data set name), for reports and errors. */
  source: string;
}

export const MISSING_ID = -1;

/** An empty log with room for `size` rows, to be filled by a loader. */
export function allocateLog(schema: LogSchema, size: number, source: string, withTruth: boolean): ImpressionLog {
  return {
    schema,
    size,
    day: new Int32Array(size),
    click: new Uint8Array(size),
    conversion: new Uint8Array(size),
    categorical: schema.categorical.map(() => new Int32Array(size)),
    numeric: schema.numeric.map(() => new Float32Array(size)),
    truth: withTruth ? { pClick: new Float64Array(size), pConversionGivenClick: new Float64Array(size) } : undefined,
    source,
  };
}

/** `column[indices[i]]` for each i, as a new array of the column's type. */
export function gatherColumn<T extends Int32Array | Uint8Array | Float32Array | Float64Array>(column: T, indices: ArrayLike<number>): T {
  const n = indices.length;
  const out = new (column.constructor as { new (n: number): T })(n);
  for (let i = 0; i < n; i++) out[i] = column[indices[i]];
  return out;
}

/** Rows `indices` of `log`, as a new log (used by splits and downsampling). */
export function selectRows(log: ImpressionLog, indices: ArrayLike<number>): ImpressionLog {
  const pick = <T extends Int32Array | Uint8Array | Float32Array | Float64Array>(src: T): T => gatherColumn(src, indices);
  return {
    schema: log.schema,
    size: indices.length,
    day: pick(log.day),
    click: pick(log.click),
    conversion: pick(log.conversion),
    categorical: log.categorical.map(pick),
    numeric: log.numeric.map(pick),
    truth: log.truth && { pClick: pick(log.truth.pClick), pConversionGivenClick: pick(log.truth.pConversionGivenClick) },
    source: log.source,
  };
}

/** The error for logs (or files) whose columns differ, where one log is made of several. */
export function schemaMismatchError(source: string, firstSource: string): Error {
  return new Error(`concatLogs: schema of ${source} differs from ${firstSource}`);
}

/** Concatenate logs that share one schema (e.g. one file per day). */
export function concatLogs(logs: ImpressionLog[]): ImpressionLog {
  if (logs.length === 0) throw new Error("concatLogs: no logs given");
  const schema = logs[0].schema;
  for (const l of logs) {
    if (l.schema.categorical.join() !== schema.categorical.join() || l.schema.numeric.join() !== schema.numeric.join()) {
      throw schemaMismatchError(l.source, logs[0].source);
    }
  }
  const size = logs.reduce((s, l) => s + l.size, 0);
  const withTruth = logs.every((l) => l.truth !== undefined);
  const out = allocateLog(schema, size, logs.map((l) => l.source).join(", "), withTruth);
  let offset = 0;
  for (const l of logs) {
    out.day.set(l.day, offset);
    out.click.set(l.click, offset);
    out.conversion.set(l.conversion, offset);
    l.categorical.forEach((c, f) => out.categorical[f].set(c, offset));
    l.numeric.forEach((c, f) => out.numeric[f].set(c, offset));
    if (withTruth) {
      out.truth!.pClick.set(l.truth!.pClick, offset);
      out.truth!.pConversionGivenClick.set(l.truth!.pConversionGivenClick, offset);
    }
    offset += l.size;
  }
  return out;
}
