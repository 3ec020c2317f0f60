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
 * The pieces every CSV loader shares (strict value parsers, column buffers, the report type) are csv-fields.ts;
 * this file re-exports the ones it always exported.
 */
import * as path from "node:path";
import { DataError, DataLocation } from "./errors";
import { ImpressionLog, LogSchema, schemaMismatchError } from "./schema";
import { TextEncoding, countLines, readLines } from "./line-reader";
import { NOT_LABEL_OPTION_HINT, OverrideHint, refuseLabelEchoes, refuseLabelLikeNames } from "./label-like";
import {
  AliCcpLoadReport,
  checkColumnCount,
  ColumnBuffers,
  ConversionWithoutClickPolicy,
  conversionWithoutClickError,
  countReport,
  dataLineCount,
  emptyReport,
  finishLog,
  isPlainDecimal,
  isPlainId,
  LoadProgress,
  parseHeaderNames,
  parseLabel,
  parseValue,
  parseId,
  PROGRESS_ROWS,
} from "./csv-fields";

export type { AliCcpLoadReport, ConversionWithoutClickPolicy, LoadProgress } from "./csv-fields";
export { PROGRESS_ROWS } from "./csv-fields";

// ---------------------------------------------------------------------------------------------------
// Public types (the shared ones are csv-fields.ts's)

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
