/**
 * What the CSV loaders share (the processed Ali-CCP files, ali-ccp.ts; the raw release, ali-ccp-raw.ts; any CSV
 * log, csv-log.ts): the conversion-without-click policy, progress, the load report, header names, strict value
 * parsers (ids, labels, float32 values, each refusal a DataError naming file, line and column), the growable
 * column buffers and the log they finish into.
 */
import { DataError, DataLocation } from "./errors";
import { ImpressionLog, LogSchema } from "./schema";
import { countLines } from "./line-reader";

// ---------------------------------------------------------------------------------------------------
// Types

/** What to do with a row that has conversion = 1 but click = 0 (impossible in the funnel). */
export type ConversionWithoutClickPolicy = "error" | "drop";

/**
 * A loader's progress: rows read so far out of the data lines counted before reading (`dataLineCount`).
 * Called every `PROGRESS_ROWS` rows and once at the end with rowsRead = totalRows.
 */
export type LoadProgress = (rowsRead: number, totalRows: number) => void;
/** Rows between two `LoadProgress` calls. */
export const PROGRESS_ROWS = 1 << 16;

/** Counts of what a loader read, kept, and dropped. Nothing is dropped without being counted here. */
export interface AliCcpLoadReport {
  /** Files read, in order. */
  files: string[];
  /** Data lines read from the main file (header excluded). */
  lines: number;
  /** Rows in the returned log. */
  rows: number;
  clicks: number;
  conversions: number;
  /** Rows with conversion = 1 and click = 0 that were dropped (only with `onConversionWithoutClick: "drop"`). */
  droppedConversionWithoutClick: number;
}

// ---------------------------------------------------------------------------------------------------
// Header names, strict value parsers, row buffers, reports

/** The column names of a header row (trimmed); an empty header, an empty or a duplicate name is a DataError. */
export function parseHeaderNames(text: string, file: string): string[] {
  if (text.trim() === "") throw new DataError({ file, line: 1 }, "empty header row");
  const names = text.split(",").map((n) => n.trim());
  const seen = new Set<string>();
  names.forEach((name, c) => {
    if (name === "") throw new DataError({ file, line: 1, column: String(c + 1) }, "empty column name in header");
    if (seen.has(name)) throw new DataError({ file, line: 1, column: name }, "duplicate column name in header");
    seen.add(name);
  });
  return names;
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const PLAIN_ID_RE = /^\d{1,9}$/;
// at most 38 integer digits: below 10^38, so every fast-path value fits a 32-bit float (max 3.4e38)
const PLAIN_DECIMAL_RE = /^\d{1,38}(\.\d+)?$/;
/** The largest finite 32-bit float: the numeric columns are stored as Float32Array. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Fast path for hot loops: a non-negative integer below 10^9 (valid without further checks). */
export function isPlainId(text: string): boolean {
  return PLAIN_ID_RE.test(text);
}

/** Fast path for hot loops: digits with an optional fraction (valid without further checks). */
export function isPlainDecimal(text: string): boolean {
  return PLAIN_DECIMAL_RE.test(text);
}

/** Quoted, control characters escaped, shortened: for error messages. */
export function show(text: string): string {
  const quoted = JSON.stringify(text);
  return quoted.length > 80 ? `${quoted.slice(0, 77)}..."` : quoted;
}

/** A 0/1 label ("0", "1", also "0.0"/"1.0"). */
export function parseLabel(text: string, at: DataLocation): 0 | 1 {
  if (text === "0") return 0;
  if (text === "1") return 1;
  if (!FLOAT_RE.test(text)) throw new DataError(at, `expected 0 or 1, found ${describe(text)}`);
  const v = Number(text);
  if (v === 0) return 0;
  if (v === 1) return 1;
  throw new DataError(at, `expected 0 or 1, found ${show(text)}`);
}

/** An integer id in the 32-bit range. */
export function parseId(text: string, at: DataLocation, what = ""): number {
  if (!INT_RE.test(text)) throw new DataError(at, `${what}expected an integer, found ${describe(text)}`);
  const v = Number(text);
  if (v < INT32_MIN || v > INT32_MAX) throw new DataError(at, `${what}integer ${text} is outside the 32-bit range`);
  return v;
}

/**
 * A finite decimal number that fits a 32-bit float, as the numeric columns store it ("NaN", "inf", empty
 * values and magnitudes beyond FLOAT32_MAX, e.g. 1e39, are rejected: stored, they would be Infinity).
 */
export function parseValue(text: string, at: DataLocation, what = ""): number {
  if (!FLOAT_RE.test(text)) throw new DataError(at, `${what}expected a number, found ${describe(text)}`);
  const v = Number(text);
  if (!Number.isFinite(v)) throw new DataError(at, `${what}number ${show(text)} is out of range`);
  if (Math.abs(v) > FLOAT32_MAX) throw new DataError(at, `${what}number ${show(text)} does not fit a 32-bit float (largest ${FLOAT32_MAX.toPrecision(3)}): rescale the column`);
  return v;
}

function describe(text: string): string {
  return text === "" ? "an empty value" : `non-numeric value ${show(text)}`;
}

/** Checks that a split line has as many values as `names` (errors name the first missing or extra column). */
export function checkColumnCount(values: string[], names: string[], file: string, line: number): void {
  if (values.length === names.length) return;
  if (values.length === 1 && values[0] === "") {
    throw new DataError({ file, line }, `empty line (expected ${names.length} comma-separated values)`);
  }
  if (values.length < names.length) {
    throw new DataError(
      { file, line, column: names[values.length] },
      `missing value: expected ${names.length} comma-separated columns, found ${values.length}`,
    );
  }
  throw new DataError(
    { file, line, column: String(names.length + 1) },
    `too many values: expected ${names.length} comma-separated columns, found ${values.length}`,
  );
}

export function conversionWithoutClickError(
  at: DataLocation,
  clickColumn: string,
  howToDrop = `pass { onConversionWithoutClick: "drop" }`,
): DataError {
  return new DataError(
    at,
    `conversion = 1 with ${clickColumn} = 0 (a conversion must follow a click); ${howToDrop} to drop such rows and count them in the report`,
  );
}

export function emptyReport(files: string[]): AliCcpLoadReport {
  return { files, lines: 0, rows: 0, clicks: 0, conversions: 0, droppedConversionWithoutClick: 0 };
}

/**
 * The data lines of `files` (header lines excluded when `header`): the most rows a loader can read from them,
 * for `ColumnBuffers`' capacity. A file that cannot be read counts 0 here: reading it raises the error in its
 * turn, after the files before it, as without this first pass.
 */
export function dataLineCount(files: string[], header: boolean): number {
  let n = 0;
  for (const file of files) {
    try {
      n += Math.max(0, countLines(file) - (header ? 1 : 0));
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
    }
  }
  return n;
}

/**
 * The columns of a streamed log, allocated once at `capacity` rows (the files' data lines, `dataLineCount`), so
 * memory is the log's own size from the start (126 bytes a row for the 23 + 8 Ali-CCP columns and the labels,
 * 4 more with `perRowDay`): no growth by copying, no copy at the end (`finishLog` hands out views of the first
 * `size` rows).
 * `push()` appends a row (all zeros) and returns its index; `pop()` removes the last row.
 */
export class ColumnBuffers {
  size = 0;
  readonly click: Uint8Array;
  readonly conversion: Uint8Array;
  /** Per-row day with `perRowDay` (for `finishLog(..., "rows", ...)`), else empty. */
  readonly day: Int32Array;
  readonly categorical: Int32Array[];
  readonly numeric: Float32Array[];

  constructor(
    categoricalCount: number,
    numericCount: number,
    readonly capacity: number,
    readonly perRowDay = false,
  ) {
    this.click = new Uint8Array(capacity);
    this.conversion = new Uint8Array(capacity);
    this.day = new Int32Array(perRowDay ? capacity : 0);
    this.categorical = Array.from({ length: categoricalCount }, () => new Int32Array(capacity));
    this.numeric = Array.from({ length: numericCount }, () => new Float32Array(capacity));
  }

  /**
   * Appends a row (all zeros) and returns its index. Throws a DataError at `at` (the line being read) when full:
   * the files had more data lines than were counted before reading, so one grew while it was read.
   */
  push(at: DataLocation): number {
    if (this.size === this.capacity) {
      throw new DataError(at, `more data lines than the ${this.capacity.toLocaleString("en-US")} counted before reading: the file grew while it was read; read it once it is complete`);
    }
    return this.size++;
  }

  /** Removes the last row (a row that turned out to be dropped). */
  pop(): void {
    this.size--;
    const row = this.size;
    this.click[row] = 0;
    this.conversion[row] = 0;
    if (this.perRowDay) this.day[row] = 0;
    for (const c of this.categorical) c[row] = 0;
    for (const c of this.numeric) c[row] = 0;
  }
}

/**
 * The log of the buffers' `size` rows: views of the buffers' arrays (no copy; a view's buffer is longer when
 * rows were dropped), `day` filled with one day for every row or, with "rows", the buffers' per-row days.
 * Completes the report's counts.
 */
export function finishLog<R extends AliCcpLoadReport>(
  buffers: ColumnBuffers,
  schema: LogSchema,
  source: string,
  day: number | "rows",
  report: R,
): ImpressionLog & { report: R } {
  const n = buffers.size;
  if (day === "rows" && !buffers.perRowDay) throw new Error("finishLog: per-row days need ColumnBuffers with perRowDay");
  const log: ImpressionLog = {
    schema,
    size: n,
    day: day === "rows" ? buffers.day.subarray(0, n) : new Int32Array(n).fill(day),
    click: buffers.click.subarray(0, n),
    conversion: buffers.conversion.subarray(0, n),
    categorical: buffers.categorical.map((c) => c.subarray(0, n)),
    numeric: buffers.numeric.map((c) => c.subarray(0, n)),
    truth: undefined,
    source,
  };
  return Object.assign(log, { report: countReport(report, log.click, log.conversion) });
}

/** Completes `report`'s row, click and conversion counts from the rows' labels; returns it. */
export function countReport<R extends AliCcpLoadReport>(report: R, click: Uint8Array, conversion: Uint8Array): R {
  report.rows = click.length;
  report.clicks = count(click);
  report.conversions = count(conversion);
  return report;
}

function count(labels: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += labels[i];
  return s;
}
