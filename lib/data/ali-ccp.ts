/**
 * Loader for the processed Ali-CCP CSV layout (torch-rechub's `preprocess_ali_ccp.py` output, as in
 * test/fixtures/ali-ccp/): a header row, label columns `click` and `purchase`, sparse integer id
 * columns (e.g. `101`, `205`, `109_14`) and dense float columns whose names start with `D` (e.g. `D508`).
 *
 * Mapping to an ImpressionLog:
 * - click <- `click`, conversion <- `purchase` (both must be 0 or 1);
 * - categorical fields = every other column whose name does not start with `D` (raw integer ids, in
 *   header order); numeric fields = the `D*` columns (float32, in header order);
 * - `day` comes from the caller (`options.day`, default 0): these files have no day column. The sample's
 *   train/val/test files are mapped to days 0/1/2 by `loadAliCcpSplits`.
 *
 * Memory: the file's lines are counted in a first pass over its raw bytes, then it is streamed line by line
 * into columns allocated once at that size (`ColumnBuffers`): the memory is the log's, 130 bytes a row with
 * the 23 + 8 columns of the layout, never the CSV text. Every problem raises a DataError naming file, 1-based
 * line and column.
 * A feature column named like a label (e.g. `ctcvr_label`, which some processed files carry) or equal to
 * `click` or `purchase` on every row is refused (lib/data/label-like.ts) unless listed in `options.notLabel`.
 * A conversion without a click is an error unless the caller opts in to dropping such rows; dropped rows
 * are counted in the report attached to the returned log (`log.report`).
 *
 * Also exports the small pieces shared with the raw-release loader (`ali-ccp-raw.ts`): strict value
 * parsers, the growable column buffers and the report type.
 */
import * as path from "node:path";
import { DataError, DataLocation } from "./errors";
import { ImpressionLog, LogSchema, schemaMismatchError } from "./schema";
import { TextEncoding, countLines, readLines } from "./line-reader";
import { NOT_LABEL_OPTION_HINT, OverrideHint, refuseLabelEchoes, refuseLabelLikeNames } from "./label-like";

// ---------------------------------------------------------------------------------------------------
// Public types

/** What to do with a row that has conversion = 1 but click = 0 (impossible in the funnel). */
export type ConversionWithoutClickPolicy = "error" | "drop";

/**
 * A loader's progress: rows read so far out of the data lines counted before reading (`dataLineCount`).
 * Called every `PROGRESS_ROWS` rows and once at the end with rowsRead = totalRows.
 */
export type LoadProgress = (rowsRead: number, totalRows: number) => void;
/** Rows between two `LoadProgress` calls. */
export const PROGRESS_ROWS = 1 << 16;

export interface AliCcpCsvOptions {
  /** Day index written to every row (default 0). */
  day?: number;
  /** Default "error": raise a DataError. "drop": skip the row and count it in the report. */
  onConversionWithoutClick?: ConversionWithoutClickPolicy;
  /** Feature columns that are not labels although named like one or equal to a label (see label-like.ts). */
  notLabel?: string[];
  /** How a refused label-like column's message says to override (default: the `notLabel` option). */
  overrideHint?: OverrideHint;
  /** How the files' bytes are read (line-reader.ts): "utf8" (default, bytes that are not UTF-8 are an error) or "latin1". */
  encoding?: TextEncoding;
  onProgress?: LoadProgress;
}

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

/** An ImpressionLog with the loader's report attached. */
export type AliCcpLog = ImpressionLog & { report: AliCcpLoadReport };

// ---------------------------------------------------------------------------------------------------
// Processed CSV loader

const CLICK_COLUMN = "click";
const CONVERSION_COLUMN = "purchase";

/** Loads one processed Ali-CCP CSV file (streamed). */
export async function loadAliCcpCsv(file: string, options: AliCcpCsvOptions = {}): Promise<AliCcpLog> {
  const read = await readAliCcpFile(file, options, { capacity: dataLineCount([file], true) });
  options.onProgress?.(read.buffers.capacity, read.buffers.capacity);
  return finishLog(read.buffers, read.schema, file, options.day ?? 0, read.report);
}

/** Where `readAliCcpFile` puts the rows: new buffers of `capacity` rows, or after the rows of earlier files. */
type AliCcpTarget = { capacity: number; perRowDay?: boolean } | { buffers: ColumnBuffers; schema: LogSchema; firstFile: string };

/**
 * Streams one processed file's rows into `target` and checks them (label-like names and echoes on this file's
 * rows). Returns the buffers, the file's schema, the first row's index and the file's report (`lines` and
 * dropped rows; the caller completes the counts). Appending to another file's buffers needs the same columns
 * in the same order (else the error `concatLogs` gives).
 */
async function readAliCcpFile(
  file: string,
  options: AliCcpCsvOptions,
  target: AliCcpTarget,
): Promise<{ buffers: ColumnBuffers; schema: LogSchema; start: number; report: AliCcpLoadReport }> {
  const policy = options.onConversionWithoutClick ?? "error";
  const notLabel = options.notLabel ?? [];
  const hint = options.overrideHint ?? NOT_LABEL_OPTION_HINT;
  const report = emptyReport([file]);
  const start = "buffers" in target ? target.buffers.size : 0;

  let header: CsvHeader | undefined;
  let buffers: ColumnBuffers | undefined;
  for await (const { text, line } of readLines(file, { encoding: options.encoding })) {
    if (header === undefined) {
      header = parseHeader(text, file);
      refuseLabelLikeNames(file, [...header.schema.categorical, ...header.schema.numeric], notLabel, hint);
      if ("buffers" in target) {
        if (!sameSchema(header.schema, target.schema)) throw schemaMismatchError(file, target.firstFile);
        buffers = target.buffers;
      } else buffers = new ColumnBuffers(header.schema.categorical.length, header.schema.numeric.length, target.capacity, target.perRowDay);
      continue;
    }
    report.lines++;
    if (report.lines % PROGRESS_ROWS === 0) options.onProgress?.(buffers!.size, buffers!.capacity);
    const values = text.split(",");
    checkColumnCount(values, header.names, file, line);
    const row = buffers!.push({ file, line });
    const at = (c: number): DataLocation => ({ file, line, column: header!.names[c] });
    const click = parseLabel(values[header.click], at(header.click));
    const conversion = parseLabel(values[header.conversion], at(header.conversion));
    buffers!.click[row] = click;
    buffers!.conversion[row] = conversion;
    header.categoricalColumns.forEach((c, f) => {
      const v = values[c];
      buffers!.categorical[f][row] = isPlainId(v) ? +v : parseId(v, at(c));
    });
    header.numericColumns.forEach((c, f) => {
      const v = values[c];
      buffers!.numeric[f][row] = isPlainDecimal(v) ? +v : parseValue(v, at(c));
    });
    if (conversion === 1 && click === 0) {
      if (policy === "error") throw conversionWithoutClickError(at(header.conversion), CLICK_COLUMN);
      buffers!.pop();
      report.droppedConversionWithoutClick++;
    }
  }
  if (header === undefined) throw new DataError({ file }, "file is empty (expected a header row)");
  if (report.lines === 0) throw new DataError({ file, line: 1 }, "file has a header row but no data rows");
  const b = buffers!;
  refuseLabelEchoes(
    file,
    [...header.schema.categorical.map((name, f) => ({ name, values: b.categorical[f] })), ...header.schema.numeric.map((name, f) => ({ name, values: b.numeric[f] }))],
    [{ name: CLICK_COLUMN, values: b.click }, { name: CONVERSION_COLUMN, values: b.conversion }],
    start,
    b.size,
    notLabel,
    hint,
  );
  return { buffers: b, schema: header.schema, start, report };
}

/** The sample file names of test/fixtures/ali-ccp/ and the day each split is mapped to. */
export const ALI_CCP_SAMPLE_FILES = {
  train: { file: "ali_ccp_train_sample.csv", day: 0 },
  val: { file: "ali_ccp_val_sample.csv", day: 1 },
  test: { file: "ali_ccp_test_sample.csv", day: 2 },
} as const;

/**
 * Loads the three processed sample files of `dir` as train = day 0, val = day 1, test = day 2, so that
 * past-vs-future splits by day reproduce the files' split. `fileNames` overrides the names (e.g. the full
 * `ali_ccp_{train,val,test}.csv` files).
 */
export async function loadAliCcpSplits(
  dir: string,
  options: Omit<AliCcpCsvOptions, "day"> & { fileNames?: { train: string; val: string; test: string } } = {},
): Promise<{ train: AliCcpLog; val: AliCcpLog; test: AliCcpLog }> {
  const name = (split: keyof typeof ALI_CCP_SAMPLE_FILES) => options.fileNames?.[split] ?? ALI_CCP_SAMPLE_FILES[split].file;
  const load = (split: keyof typeof ALI_CCP_SAMPLE_FILES) =>
    loadAliCcpCsv(path.join(dir, name(split)), { ...options, day: ALI_CCP_SAMPLE_FILES[split].day });
  return { train: await load("train"), val: await load("val"), test: await load("test") };
}

/**
 * The files of `loadAliCcpSplits` streamed into one log, train = day 0, val = day 1, test = day 2, with each
 * file's report: what `prepare` takes, at the memory of that one log (`concatLogs` of the three logs would
 * hold them and their concatenation at once, twice the log). The same rows, checks and errors as
 * `loadAliCcpSplits` then `concatLogs`, except that files with different columns are refused at the later
 * file's header instead of after its rows.
 */
export async function loadAliCcpSplitsLog(
  dir: string,
  options: Omit<AliCcpCsvOptions, "day"> & { fileNames?: { train: string; val: string; test: string } } = {},
): Promise<{ log: ImpressionLog; reports: { train: AliCcpLoadReport; val: AliCcpLoadReport; test: AliCcpLoadReport } }> {
  const splits = ["train", "val", "test"] as const;
  const files = splits.map((split) => path.join(dir, options.fileNames?.[split] ?? ALI_CCP_SAMPLE_FILES[split].file));
  let target: AliCcpTarget = { capacity: dataLineCount(files, true), perRowDay: true };
  const reports: Partial<Record<(typeof splits)[number], AliCcpLoadReport>> = {};
  for (const [k, split] of splits.entries()) {
    const read = await readAliCcpFile(files[k], options, target);
    const b = read.buffers;
    b.day.fill(ALI_CCP_SAMPLE_FILES[split].day, read.start, b.size);
    reports[split] = countReport(read.report, b.click.subarray(read.start, b.size), b.conversion.subarray(read.start, b.size));
    target = { buffers: b, schema: read.schema, firstFile: files[0] };
  }
  const { buffers, schema } = target as { buffers: ColumnBuffers; schema: LogSchema };
  options.onProgress?.(buffers.capacity, buffers.capacity);
  const { report: _all, ...log } = finishLog(buffers, schema, files.join(", "), "rows", emptyReport(files));
  void _all;
  return { log, reports: reports as Required<typeof reports> };
}

function sameSchema(a: LogSchema, b: LogSchema): boolean {
  return a.categorical.join() === b.categorical.join() && a.numeric.join() === b.numeric.join();
}

interface CsvHeader {
  names: string[];
  click: number;
  conversion: number;
  categoricalColumns: number[];
  numericColumns: number[];
  schema: LogSchema;
}

function parseHeader(text: string, file: string): CsvHeader {
  const names = parseHeaderNames(text, file);
  const seen = new Set(names);
  for (const required of [CLICK_COLUMN, CONVERSION_COLUMN]) {
    if (!seen.has(required)) {
      throw new DataError({ file, line: 1, column: required }, `missing required column "${required}" in header (found: ${names.join(",")})`);
    }
  }
  const categoricalColumns: number[] = [];
  const numericColumns: number[] = [];
  names.forEach((name, c) => {
    if (name === CLICK_COLUMN || name === CONVERSION_COLUMN) return;
    (isDenseColumn(name) ? numericColumns : categoricalColumns).push(c);
  });
  return {
    names,
    click: names.indexOf(CLICK_COLUMN),
    conversion: names.indexOf(CONVERSION_COLUMN),
    categoricalColumns,
    numericColumns,
    schema: { categorical: categoricalColumns.map((c) => names[c]), numeric: numericColumns.map((c) => names[c]) },
  };
}

/** Dense value columns are named `D<field>` (e.g. `D508`, `D109_14`). */
function isDenseColumn(name: string): boolean {
  return name.length > 1 && name[0] === "D";
}

// ---------------------------------------------------------------------------------------------------
// Shared with the raw and generic loaders: header names, strict value parsers, row buffers, reports

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
function countReport<R extends AliCcpLoadReport>(report: R, click: Uint8Array, conversion: Uint8Array): R {
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
