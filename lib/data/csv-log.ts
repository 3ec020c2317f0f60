/**
 * Any impression log in CSV files with a header row (issue 15, point 2), e.g. AliExpress's layout: `search_id`,
 * `categorical_1..16`, `numerical_1..63`, `click`, `conversion`, a train file and a test file, no day column.
 *
 * The columns are named by a schema (`CsvColumns`: command-line flags or a small JSON file, `readCsvSchemaFile`):
 * the click and conversion labels (0/1), an optional day column, and lists of categorical, numeric and ignored
 * columns, each entry a column name or a glob with `*` (`categorical_*`). Every header column must get exactly
 * one role: a column matched by no entry, or by globs of two lists, is an error listing it (nothing is dropped
 * or guessed silently); an exact name beats a glob. Each file's header is resolved on its own; all files must
 * give the same feature columns (in any order).
 *
 * Values: categorical values that are decimal digits (< 10^9) are read as integer ids, also when written with a
 * zero fraction or in double quotes ("3.0", "\"3\"" = 3, in every file alike), any other text is an id of its
 * own per column (interned to negative ids; "" is the missing id -1; quotes dropped); numeric values must be
 * finite decimal numbers that fit a 32-bit float; labels 0 or 1. A file is read once: the same file (or a link
 * to it) in two roles is refused. Bytes that are not UTF-8 are refused unless `encoding` says "latin1". Lines are read by `readLines` (BOM, CRLF) and split on commas: no quoting.
 * Memory: the files' lines are counted first (`dataLineCount`), then the rows are streamed into columns
 * allocated once at that size: the log's own size (4 bytes a value, 1 a label, 4 the day), not the CSV text.
 * A feature column named like a label or equal to one on every row of a file is refused (label-like.ts)
 * unless listed in `notLabel`. Every problem raises a DataError naming file, line and column.
 *
 * Splits, as the processed Ali-CCP loader maps its train/val/test files: without a day column each file has a
 * role, train, validation or test, mapped to days 0, 1, 2; a missing validation or test split is carved out of
 * the training rows by a seeded draw per row (`carveSplits`). With a day column the files are one log split by
 * its days, past to future: training days, a validation day, a test day, and `laterDays` later days.
 * `prepareCsv` then runs the usual preparation (lib/data/prepare.ts): negatives downsampled on training rows
 * with weight 1/keepRate, vocabularies fitted on training rows only (index 0 = unseen id), numeric columns
 * standardised on training rows.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError, DataLocation } from "./errors";
import { ImpressionLog, LogSchema, MISSING_ID } from "./schema";
import { TextEncoding, readLines } from "./line-reader";
import { OverrideHint, NOT_LABEL_OPTION_HINT, refuseLabelEchoes, refuseLabelLikeNames } from "./label-like";
import {
  AliCcpLoadReport,
  ColumnBuffers,
  LoadProgress,
  PROGRESS_ROWS,
  ConversionWithoutClickPolicy,
  checkColumnCount,
  conversionWithoutClickError,
  dataLineCount,
  emptyReport,
  finishLog,
  isPlainDecimal,
  isPlainId,
  parseHeaderNames,
  parseId,
  parseLabel,
  parseValue,
} from "./csv-fields";
import { PreparedData, SplitPlan, prepare } from "./prepare";
import { Rng, deriveSeed } from "./random";

// ---------------------------------------------------------------------------------------------------
// Schema

/** Which column is what. List entries are column names or globs with `*`. */
export interface CsvColumns {
  click: string;
  conversion: string;
  /** An integer day column; without it, splits come from the files' roles. */
  day?: string;
  categorical: string[];
  numeric: string[];
  /** Columns read past (e.g. `search_id`). */
  ignore: string[];
  /** Feature columns that are not labels although named like one or equal to one (see label-like.ts). */
  notLabel: string[];
}

/** The keys of a schema file: `CsvColumns`' (lists as JSON arrays or comma-separated strings). */
export const CSV_SCHEMA_KEYS = ["click", "conversion", "day", "categorical", "numeric", "ignore", "notLabel"] as const;
const LIST_KEYS = ["categorical", "numeric", "ignore", "notLabel"] as const;

/**
 * Reads a JSON schema file such as
 * `{ "click": "click", "conversion": "conversion", "categorical": ["categorical_*"], "numeric": ["numerical_*"], "ignore": ["search_id"] }`.
 * Unknown keys and values of the wrong type are DataErrors naming the file and the key.
 */
export function readCsvSchemaFile(file: string): Partial<CsvColumns> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DataError({ file }, err.code ? `cannot read schema file (${err.code})` : `not valid JSON: ${err.message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new DataError({ file }, "a schema file holds one JSON object");
  const out: Partial<CsvColumns> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const at = { file, column: key };
    if (!(CSV_SCHEMA_KEYS as readonly string[]).includes(key)) throw new DataError(at, `unknown schema key (keys: ${CSV_SCHEMA_KEYS.join(", ")})`);
    if ((LIST_KEYS as readonly string[]).includes(key)) {
      const list = typeof value === "string" ? splitList(value) : value;
      if (!Array.isArray(list) || !list.every((x) => typeof x === "string" && x !== "")) throw new DataError(at, "expected a list of column names or globs");
      out[key as (typeof LIST_KEYS)[number]] = list;
    } else {
      if (typeof value !== "string" || value === "") throw new DataError(at, "expected a column name");
      out[key as "click" | "conversion" | "day"] = value;
    }
  }
  return out;
}

/** "a, b,,c" -> ["a", "b", "c"]. */
export function splitList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

type FeatureRole = "categorical" | "numeric" | "ignore";
const FEATURE_ROLES: FeatureRole[] = ["categorical", "numeric", "ignore"];

interface ResolvedHeader {
  names: string[];
  click: number;
  conversion: number;
  day: number | undefined;
  categorical: number[];
  numeric: number[];
  ignored: number[];
}

const isGlob = (pattern: string) => pattern.includes("*");
function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

/** Gives every header column its role, or throws a DataError (line 1 of `file`). */
function resolveHeader(names: string[], columns: CsvColumns, file: string): ResolvedHeader {
  const at = (column?: string): DataLocation => ({ file, line: 1, column });
  const labels: [string, string | undefined][] = [["click", columns.click], ["conversion", columns.conversion], ["day", columns.day]];
  for (const [what, name] of labels) {
    if (name !== undefined && !names.includes(name)) throw new DataError(at(name), `missing ${what} column "${name}" (found: ${names.join(",")})`);
  }
  if (columns.click === columns.conversion || (columns.day !== undefined && [columns.click, columns.conversion].includes(columns.day))) {
    throw new DataError(at(columns.day ?? columns.click), "click, conversion and day must be three different columns");
  }
  const globs = FEATURE_ROLES.map((role) => columns[role].filter(isGlob).map((g) => ({ role, g, re: globRegExp(g) })));
  for (const role of FEATURE_ROLES) {
    for (const pattern of columns[role]) {
      if (isGlob(pattern)) {
        const re = globRegExp(pattern);
        if (!names.some((n) => re.test(n))) throw new DataError(at(), `${role} glob "${pattern}" matches no column (found: ${names.join(",")})`);
      } else if (!names.includes(pattern)) {
        throw new DataError(at(pattern), `missing ${role} column "${pattern}" (found: ${names.join(",")})`);
      }
    }
  }
  const out: ResolvedHeader = {
    names,
    click: names.indexOf(columns.click),
    conversion: names.indexOf(columns.conversion),
    day: columns.day === undefined ? undefined : names.indexOf(columns.day),
    categorical: [],
    numeric: [],
    ignored: [],
  };
  const unnamed: string[] = [];
  names.forEach((name, c) => {
    const exact = FEATURE_ROLES.filter((role) => columns[role].includes(name));
    if (c === out.click || c === out.conversion || c === out.day) {
      const what = c === out.click ? "click label" : c === out.conversion ? "conversion label" : "day column";
      if (exact.length > 0) throw new DataError(at(name), `the ${what} is also listed under ${exact.join(" and ")}`);
      return;
    }
    if (exact.length > 1) throw new DataError(at(name), `listed under both ${exact.join(" and ")}`);
    let role: FeatureRole | undefined = exact[0];
    if (role === undefined) {
      const hits = globs.flat().filter((x) => x.re.test(name));
      const roles = [...new Set(hits.map((h) => h.role))];
      if (roles.length > 1) {
        throw new DataError(at(name), `matched by ${hits.map((h) => `${h.role} "${h.g}"`).join(" and ")} (list it by name under one of them)`);
      }
      role = roles[0];
    }
    if (role === undefined) unnamed.push(name);
    else (role === "ignore" ? out.ignored : out[role]).push(c);
  });
  if (unnamed.length > 0) {
    throw new DataError(
      at(unnamed[0]),
      `column${unnamed.length > 1 ? "s" : ""} not named in the schema: ${unnamed.join(",")} ` +
        `(name every column as click, conversion, day, categorical, numeric or ignore; globs like categorical_* allowed)`,
    );
  }
  if (out.categorical.length + out.numeric.length === 0) throw new DataError(at(), "no feature columns (name some under categorical or numeric)");
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Loading

export type CsvRole = "train" | "validation" | "test";
export const CSV_ROLES: readonly CsvRole[] = ["train", "validation", "test"];
/** The day a role's rows get without a day column (as the processed Ali-CCP train/val/test files). */
export const CSV_ROLE_DAYS: Record<CsvRole, number> = { train: 0, validation: 1, test: 2 };

export interface CsvInput {
  file: string;
  /** Required without a day column; not allowed with one. */
  role?: CsvRole;
}

export interface CsvLoadOptions {
  /** Default "error". */
  onConversionWithoutClick?: ConversionWithoutClickPolicy;
  /** How refusals say to override the label-like check (default: the `notLabel` schema entry). */
  overrideHint?: OverrideHint;
  /** How the conversion-without-click error says to drop such rows (default: the option). */
  howToDrop?: string;
  /** How the files' bytes are read (line-reader.ts): "utf8" (default, bytes that are not UTF-8 are an error) or "latin1". */
  encoding?: TextEncoding;
  onProgress?: LoadProgress;
}

export interface CsvLoadReport extends AliCcpLoadReport {
  /** Rows read from each file, in order. */
  rowsPerFile: number[];
}

export type CsvLog = ImpressionLog & { report: CsvLoadReport };

/** Reads `inputs` in order into one log: day = the role's day (`CSV_ROLE_DAYS`), or the day column's value. */
export async function loadCsvLog(inputs: CsvInput[], columns: CsvColumns, options: CsvLoadOptions = {}): Promise<CsvLog> {
  if (inputs.length === 0) throw new Error("loadCsvLog: no files");
  for (const input of inputs) {
    if ((columns.day === undefined) !== (input.role !== undefined)) {
      throw new Error(`loadCsvLog: ${input.file}: ${columns.day === undefined ? "a role is required without" : "no role is allowed with"} a day column`);
    }
  }
  refuseSameFile(inputs);
  const policy = options.onConversionWithoutClick ?? "error";
  const hint = options.overrideHint ?? NOT_LABEL_OPTION_HINT;
  const report: CsvLoadReport = { ...emptyReport(inputs.map((i) => i.file)), rowsPerFile: [] };
  const capacity = dataLineCount(inputs.map((i) => i.file), true);
  let schema: LogSchema | undefined;
  let buffers: ColumnBuffers | undefined;
  let interned: Map<string, number>[] = [];

  for (const { file, role } of inputs) {
    let header: ResolvedHeader | undefined;
    /** Column index in this file of each of the log's categorical and numeric fields. */
    let catColumns: number[] = [];
    let numColumns: number[] = [];
    let lines = 0;
    const start = buffers?.size ?? 0;
    for await (const { text, line } of readLines(file, { encoding: options.encoding })) {
      if (header === undefined) {
        header = resolveHeader(parseHeaderNames(text, file), columns, file);
        const h = header;
        const features = [...h.categorical, ...h.numeric].map((c) => h.names[c]);
        refuseLabelLikeNames(file, features, columns.notLabel, hint);
        if (schema === undefined) {
          schema = { categorical: h.categorical.map((c) => h.names[c]), numeric: h.numeric.map((c) => h.names[c]) };
          buffers = new ColumnBuffers(schema.categorical.length, schema.numeric.length, capacity, true);
          interned = schema.categorical.map(() => new Map());
        }
        catColumns = sameFeatures(schema.categorical, h.categorical.map((c) => h.names[c]), "categorical", file, inputs[0].file).map((name) => h.names.indexOf(name));
        numColumns = sameFeatures(schema.numeric, h.numeric.map((c) => h.names[c]), "numeric", file, inputs[0].file).map((name) => h.names.indexOf(name));
        continue;
      }
      lines++;
      const h = header;
      const b = buffers!;
      if (lines % PROGRESS_ROWS === 0) options.onProgress?.(b.size, b.capacity);
      const values = text.split(",");
      checkColumnCount(values, h.names, file, line);
      const at = (c: number): DataLocation => ({ file, line, column: h.names[c] });
      const row = b.push({ file, line });
      const click = parseLabel(values[h.click], at(h.click));
      const conversion = parseLabel(values[h.conversion], at(h.conversion));
      b.click[row] = click;
      b.conversion[row] = conversion;
      b.day[row] = h.day === undefined ? CSV_ROLE_DAYS[role!] : parseId(values[h.day], at(h.day));
      for (let f = 0; f < catColumns.length; f++) {
        const v = values[catColumns[f]];
        b.categorical[f][row] = isPlainId(v) ? +v : categoryId(interned[f], v);
      }
      for (let f = 0; f < numColumns.length; f++) {
        const v = values[numColumns[f]];
        b.numeric[f][row] = isPlainDecimal(v) ? +v : parseValue(v, at(numColumns[f]));
      }
      if (conversion === 1 && click === 0) {
        if (policy === "error") throw conversionWithoutClickError(at(h.conversion), columns.click, options.howToDrop);
        b.pop();
        report.droppedConversionWithoutClick++;
      }
    }
    if (header === undefined) throw new DataError({ file }, "file is empty (expected a header row)");
    if (lines === 0) throw new DataError({ file, line: 1 }, "file has a header row but no data rows");
    report.lines += lines;
    const b = buffers!;
    const s = schema!;
    refuseLabelEchoes(
      file,
      [...s.categorical.map((name, f) => ({ name, values: b.categorical[f] })), ...s.numeric.map((name, f) => ({ name, values: b.numeric[f] }))],
      [{ name: columns.click, values: b.click }, { name: columns.conversion, values: b.conversion }],
      start,
      b.size,
      columns.notLabel,
      hint,
    );
    report.rowsPerFile.push(b.size - start);
  }
  options.onProgress?.(buffers!.capacity, buffers!.capacity);
  return finishLog(buffers!, schema!, inputs.map((i) => i.file).join(", "), "rows", report);
}

/**
 * Refuses (DataError naming both) one file given twice, by path or through another name of the same file
 * (a link: same device and inode): it would be read as two roles (the training rows as the test split) or
 * its rows twice. Files that cannot be stat'ed are left to the reader's own error.
 */
export function refuseSameFile(inputs: readonly CsvInput[]): void {
  const seen = new Map<string, CsvInput>();
  for (const input of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(input.file);
    } catch {
      continue;
    }
    const id = `${st.dev}:${st.ino}`;
    const held = seen.get(id);
    if (held) {
      const same = path.resolve(held.file) === path.resolve(input.file) ? "is given twice" : `is the same file as ${held.file}`;
      const roles = held.role && input.role ? ` (as ${held.role} and as ${input.role})` : "";
      throw new DataError({ file: input.file }, `${same}${roles}: each file may be read once (else a training file is read as the test split, or its rows twice)`);
    }
    seen.set(id, input);
  }
}

/** An integer written with a zero fraction or in quotes ("3.0", "+3", "\"3\"", "03.00"): its digits, else undefined. */
const INTEGER_TEXT_RE = /^\+?0*(\d{1,9})(\.0*)?$/;

/**
 * The id of a categorical value that is not plain digits: surrounding double quotes are dropped (the files
 * have no quoting, so `"2"` and `2` are one value), an integer written another way ("3.0", "+3") is that
 * integer (so "3.0" in one file and "3" in another are one id), and any other text gets its own id per column
 * (`intern`).
 */
function categoryId(ids: Map<string, number>, text: string): number {
  let t = text;
  if (t.length >= 2 && t.charCodeAt(0) === 34 && t.charCodeAt(t.length - 1) === 34) t = t.slice(1, -1);
  if (isPlainId(t)) return +t;
  const m = INTEGER_TEXT_RE.exec(t);
  if (m) return +m[1];
  return intern(ids, t);
}

/** Non-digit categorical text: its own id per column, -2, -3, ...; "" is the missing id. */
function intern(ids: Map<string, number>, text: string): number {
  if (text === "") return MISSING_ID;
  let id = ids.get(text);
  if (id === undefined) {
    id = -2 - ids.size;
    ids.set(text, id);
  }
  return id;
}

/** `got` in the order of `want`, or a DataError naming the first column missing from or extra in `file`. */
function sameFeatures(want: string[], got: string[], role: string, file: string, firstFile: string): string[] {
  const missing = want.find((n) => !got.includes(n));
  if (missing !== undefined) throw new DataError({ file, line: 1, column: missing }, `missing ${role} column "${missing}" of ${firstFile}`);
  const extra = got.find((n) => !want.includes(n));
  if (extra !== undefined) throw new DataError({ file, line: 1, column: extra }, `${role} column "${extra}" is not in ${firstFile}`);
  return want;
}

// ---------------------------------------------------------------------------------------------------
// Splits and preparation

export interface CarveOptions {
  /** Share of training rows moved to validation when no file has that role (default 0.1). */
  validationFraction?: number;
  /** Share of training rows moved to test when no file has that role (default 0.1). */
  testFraction?: number;
  seed: number;
}

/**
 * Moves training rows (day 0) to the validation (day 1) and test (day 2) splits that no file supplied: one
 * uniform draw per training row, in file order, from a stream seeded by `seed` (so the same files and seed
 * give the same split): u < testFraction -> test, then u < testFraction + validationFraction -> validation.
 * Returns how many rows went where.
 */
export function carveSplits(log: ImpressionLog, carve: { validation: boolean; test: boolean }, options: CarveOptions): { validation: number; test: number } {
  const v = carve.validation ? options.validationFraction ?? 0.1 : 0;
  const t = carve.test ? options.testFraction ?? 0.1 : 0;
  if (!(v >= 0 && t >= 0 && v + t < 1)) throw new Error(`carveSplits: fractions ${v} + ${t} must be >= 0 with a sum below 1`);
  const rng = new Rng(deriveSeed(options.seed, "csv-carve"));
  const moved = { validation: 0, test: 0 };
  for (let i = 0; i < log.size; i++) {
    if (log.day[i] !== CSV_ROLE_DAYS.train) continue;
    const u = rng.uniform();
    if (u < t) {
      log.day[i] = CSV_ROLE_DAYS.test;
      moved.test++;
    } else if (u < t + v) {
      log.day[i] = CSV_ROLE_DAYS.validation;
      moved.validation++;
    }
  }
  return moved;
}

export interface CsvPrepareOptions extends CsvLoadOptions, CarveOptions {
  /** Keep rate of non-clicked training rows (default 0.1), weight 1/rate. */
  negativeKeepRate?: number;
  /** With a day column: days after the test day (default 2). */
  laterDays?: number;
  /** The OOV rules' k and m (prepare.ts DEFAULT_OOV_MIN_COUNT and DEFAULT_OOV_MASK_RATE when absent). */
  oovMinCount?: number;
  oovMaskRate?: number;
}

/** Loads, splits and prepares; `source` describes the files, the columns and the split for prepared.json. */
export async function prepareCsv(inputs: CsvInput[], columns: CsvColumns, options: CsvPrepareOptions): Promise<{ prepared: PreparedData; source: Record<string, unknown> }> {
  const log = await loadCsvLog(inputs, columns, options);
  const files = inputs.map((i) => i.file);
  let plan: SplitPlan;
  let split: Record<string, unknown>;
  if (columns.day !== undefined) {
    const laterDays = options.laterDays ?? 2;
    const days = [...new Set(log.day)].sort((a, b) => a - b);
    if (days.length < laterDays + 3) {
      throw new DataError(
        { file: files.join(", "), column: columns.day },
        `${days.length} distinct day${days.length === 1 ? "" : "s"} (${days.join(",")}); a split by day with ${laterDays} later days needs at least ${laterDays + 3} ` +
          `(training days, a validation day, a test day, later days)`,
      );
    }
    const test = days.length - 1 - laterDays;
    plan = { trainDays: days.slice(0, test - 1), validationDay: days[test - 1], testDay: days[test], laterDays: days.slice(test + 1) };
    split = { by: "day", column: columns.day };
  } else {
    const has = (role: CsvRole) => inputs.some((i) => i.role === role);
    if (!has("train")) throw new Error("prepareCsv: no training file");
    const carved = carveSplits(log, { validation: !has("validation"), test: !has("test") }, options);
    const trainFiles = inputs.filter((i) => i.role === "train").map((i) => i.file).join(", ");
    for (const role of CSV_ROLES) {
      if (log.day.includes(CSV_ROLE_DAYS[role])) continue;
      if (role !== "train" && !has(role)) {
        throw new DataError({ file: trainFiles }, `the ${role} split carved out of the training rows is empty (${role} fraction ${options[`${role}Fraction`] ?? 0.1}): give a larger fraction or a ${role} file`);
      }
      const roleFiles = inputs.filter((i) => i.role === role).map((i) => i.file).join(", ");
      throw new DataError({ file: roleFiles }, `no rows left for the ${role} split`);
    }
    plan = { trainDays: [CSV_ROLE_DAYS.train], validationDay: CSV_ROLE_DAYS.validation, testDay: CSV_ROLE_DAYS.test, laterDays: [] };
    split = {
      by: "files",
      days: CSV_ROLE_DAYS,
      carvedFromTraining: Object.fromEntries(
        (["validation", "test"] as const).filter((r) => !has(r)).map((r) => [r, { fraction: options[`${r}Fraction`] ?? 0.1, rows: carved[r] }]),
      ),
    };
  }
  const prepared = prepare(log, { plan, negativeKeepRate: options.negativeKeepRate, seed: options.seed, oovMinCount: options.oovMinCount, oovMaskRate: options.oovMaskRate });
  const source = {
    kind: "csv",
    files: inputs.map((i) => ({ file: path.resolve(i.file), ...(i.role ? { role: i.role } : {}) })),
    columns: { click: columns.click, conversion: columns.conversion, day: columns.day, categorical: log.schema.categorical, numeric: log.schema.numeric, ignore: columns.ignore, notLabel: columns.notLabel },
    split,
    load: log.report,
  };
  return { prepared, source };
}
