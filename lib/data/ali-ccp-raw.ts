/**
 * Streaming loader for the raw Ali-CCP release (Tianchi dataset 408): `sample_skeleton_{train,test}.csv`
 * joined with `common_features_{train,test}.csv`.
 *
 * Format (checked against the dataset description as reproduced in john-james-ai/DeepCVR's
 * jbook/2_data/1_introduction.ipynb, with real rows, and against the public preprocessors
 * torch-rechub examples/ranking/data/ali-ccp/preprocess_ali_ccp.py and Dongbo Xi's AITM process script):
 * - no header row; fields separated by ",";
 * - skeleton line: `sample_id,click,conversion,common_feature_index,feature_num,feature_list`
 *   e.g. `11515523,0,0,d5f794198192a713,8,207\x028718436\x031.0\x01210\x029112278\x031.0\x01...`;
 * - common-features line: `common_feature_index,feature_num,feature_list`, one line per index
 *   (user-side features shared by many impressions; the index is a 16-hex-digit key, local to the
 *   train or test pair of files);
 * - feature_list: `feature_num` features separated by \x01; a feature is
 *   `field_id\x02feature_id\x03value` (field ids such as `205`, `109_14`; feature ids are global integer
 *   ids; the value is a float, 1.0 for plain ids, e.g. a log count for the `*_14` behaviour fields).
 *
 * Mapping to an ImpressionLog (same column names as the processed CSV layout):
 * - click, conversion from the skeleton; `day` from `options.day` (default 0);
 * - categorical column `<field>` = the raw global feature_id of that field (-1 when the row has none);
 * - numeric column `D<field>` = the value of the same kept feature (0 when the row has none, as upstream);
 * - the configured fields default to torch-rechub's lists (23 sparse fields, 8 dense ones).
 *
 * Multi-valued fields: a row's features are its skeleton features followed by its common features. A
 * field may occur several times (e.g. `210` intention nodes, the `*_14` behaviour histories). One feature
 * is kept per configured field: the first one (default) or the last one (`multiValued: "last"`, which is
 * what the upstream Python preprocessors do through dict overwrites, common features winning). Nothing is
 * dropped silently: the report counts, per field, the rows where a field had several features, the
 * extra features ignored, and the features of fields that are not configured.
 *
 * Memory: the common-features file is held in memory as a Map from index to a compact slot (only the
 * configured fields are kept); the skeleton file's lines are counted in a first pass, then it is streamed line
 * by line into columns allocated once at that size (`ColumnBuffers`, lib/data/csv-fields.ts). The returned log is
 * columnar in memory: with the default fields 130 bytes per row (with the day), i.e. ~5.5 GB for a whole ~42M-row split;
 * `maxRows` loads a prefix instead (the report says when lines were left unread).
 * Every problem raises a DataError naming file, 1-based line and column.
 */
import * as path from "node:path";
import { DataError, DataLocation } from "./errors";
import { ImpressionLog, LogSchema, MISSING_ID } from "./schema";
import { readLines, TextEncoding } from "./line-reader";
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
  parseId,
  parseLabel,
  parseValue,
  show,
} from "./csv-fields";

// ---------------------------------------------------------------------------------------------------
// Public types

/** Field ids to extract: each categorical field becomes column `<field>`, each numeric one `D<field>`. */
export interface AliCcpRawFields {
  categorical: string[];
  numeric: string[];
}

/** torch-rechub's choice (the processed sample's columns). */
export const ALI_CCP_DEFAULT_FIELDS: AliCcpRawFields = {
  categorical: [
    "101", "121", "122", "124", "125", "126", "127", "128", "129",
    "205", "206", "207", "210", "216", "508", "509", "702", "853", "301",
    "109_14", "110_14", "127_14", "150_14",
  ],
  numeric: ["109_14", "110_14", "127_14", "150_14", "508", "509", "702", "853"],
};

export type MultiValuePolicy = "first" | "last";

export interface AliCcpRawOptions {
  /** Day index written to every row (default 0). */
  day?: number;
  /** Fields to extract (default ALI_CCP_DEFAULT_FIELDS). */
  fields?: AliCcpRawFields;
  /** Which feature to keep when a field occurs several times in a row (default "first"). */
  multiValued?: MultiValuePolicy;
  /** Default "error": raise a DataError. "drop": skip the row and count it in the report. */
  onConversionWithoutClick?: ConversionWithoutClickPolicy;
  /** Stop after this many kept rows (the report says whether lines were left unread). */
  maxRows?: number;
  onProgress?: LoadProgress;
  /**
   * How both files' bytes are read (line-reader.ts): "utf8" (default: bytes that are not UTF-8 are a DataError
   * naming the file, line and byte) or "latin1" (ISO-8859-1, every byte one character), as the CSV loaders.
   */
  encoding?: TextEncoding;
}

export interface AliCcpRawReport extends AliCcpLoadReport {
  /** Lines of the common-features file (one per common_feature_index). */
  commonFeatureLines: number;
  /** Per configured field: rows of the log where the field had more than one feature. */
  multiValuedRows: Record<string, number>;
  /** Features not kept because their field already had one (summed over rows of the log). */
  extraFeaturesIgnored: number;
  /** Features of fields that are not configured (summed over rows of the log). */
  unusedFeatures: number;
  /** Names of the fields that are not configured but occur in the files read, sorted. */
  unusedFields: string[];
  /** True when `maxRows` was reached before the end of the skeleton file. */
  stoppedAtMaxRows: boolean;
}

export type AliCcpRawLog = ImpressionLog & { report: AliCcpRawReport };

const SKELETON_COLUMNS = ["sample_id", "click", "conversion", "common_feature_index", "feature_num", "feature_list"];
const COMMON_COLUMNS = ["common_feature_index", "feature_num", "feature_list"];

// ---------------------------------------------------------------------------------------------------
// Loaders

/** Joins a skeleton file with its common-features file (same split) into one log. */
export async function loadAliCcpRaw(
  skeletonFile: string,
  commonFeaturesFile: string,
  options: AliCcpRawOptions = {},
): Promise<AliCcpRawLog> {
  const fields = new FieldSet(options.fields ?? ALI_CCP_DEFAULT_FIELDS);
  const policy = options.multiValued ?? "first";
  const onConversionWithoutClick = options.onConversionWithoutClick ?? "error";
  const maxRows = options.maxRows ?? Infinity;
  const unusedFields = new Set<string>();
  const common = await readCommonFeatures(commonFeaturesFile, fields, policy, unusedFields, options.encoding);

  const report: AliCcpRawReport = {
    ...emptyReport([skeletonFile, commonFeaturesFile]),
    commonFeatureLines: common.size,
    multiValuedRows: {},
    extraFeaturesIgnored: 0,
    unusedFeatures: 0,
    unusedFields: [],
    stoppedAtMaxRows: false,
  };
  const multiValued = new Int32Array(fields.names.length);
  const buffers = new ColumnBuffers(fields.categorical.length, fields.numeric.length, Math.min(maxRows, dataLineCount([skeletonFile], false)));
  const row = new FeatureAccumulator(fields, policy, unusedFields);

  for await (const { text, line } of readLines(skeletonFile, { encoding: options.encoding })) {
    if (buffers.size >= maxRows) {
      report.stoppedAtMaxRows = true;
      break;
    }
    report.lines++;
    if (report.lines % PROGRESS_ROWS === 0) options.onProgress?.(buffers.size, buffers.capacity);
    const at = (column: string): DataLocation => ({ file: skeletonFile, line, column });
    const values = text.split(",");
    checkColumnCount(values, SKELETON_COLUMNS, skeletonFile, line);
    const [sampleId, clickText, conversionText, commonIndex, featureNum, featureList] = values;
    if (sampleId === "") throw new DataError(at("sample_id"), "empty sample_id");
    const click = parseLabel(clickText, at("click"));
    const conversion = parseLabel(conversionText, at("conversion"));
    const slot = common.lookup(commonIndex);
    if (slot === undefined) {
      throw new DataError(at("common_feature_index"), `unknown common_feature_index ${show(commonIndex)}: not in ${commonFeaturesFile}`);
    }
    row.reset();
    parseFeatureList(featureList, featureNum, skeletonFile, line, row);

    if (conversion === 1 && click === 0) {
      if (onConversionWithoutClick === "error") throw conversionWithoutClickError(at("conversion"), "click");
      report.droppedConversionWithoutClick++;
      continue;
    }
    const r = buffers.push({ file: skeletonFile, line });
    buffers.click[r] = click;
    buffers.conversion[r] = conversion;
    const kept = common.merge(slot, row);
    for (let j = 0; j < fields.names.length; j++) {
      if (kept.counts[j] > 1) {
        multiValued[j]++;
        report.extraFeaturesIgnored += kept.counts[j] - 1;
      }
    }
    report.unusedFeatures += kept.unused;
    fields.categorical.forEach((j, c) => (buffers.categorical[c][r] = kept.counts[j] > 0 ? kept.ids[j] : MISSING_ID));
    fields.numeric.forEach((j, c) => (buffers.numeric[c][r] = kept.counts[j] > 0 ? kept.values[j] : 0));
  }
  if (report.lines === 0 && !report.stoppedAtMaxRows) throw new DataError({ file: skeletonFile }, "file is empty (no skeleton lines)");
  options.onProgress?.(buffers.capacity, buffers.capacity);

  fields.names.forEach((name, j) => {
    if (multiValued[j] > 0) report.multiValuedRows[name] = multiValued[j];
  });
  report.unusedFields = [...unusedFields].sort();
  const source = `${skeletonFile} + ${commonFeaturesFile}`;
  return finishLog(buffers, fields.schema, source, options.day ?? 0, report);
}

/**
 * Loads the raw release in `dir` as train = day 0 (`sample_skeleton_train.csv` + `common_features_train.csv`)
 * and test = day 1 (`sample_skeleton_test.csv` + `common_features_test.csv`).
 */
export async function loadAliCcpRawSplits(
  dir: string,
  options: Omit<AliCcpRawOptions, "day"> = {},
): Promise<{ train: AliCcpRawLog; test: AliCcpRawLog }> {
  const load = (split: "train" | "test", day: number) =>
    loadAliCcpRaw(path.join(dir, `sample_skeleton_${split}.csv`), path.join(dir, `common_features_${split}.csv`), { ...options, day });
  return { train: await load("train", 0), test: await load("test", 1) };
}

// ---------------------------------------------------------------------------------------------------
// Fields and per-row feature accumulation

/** The configured fields: one slot per distinct field id, and the columns that read from each slot. */
class FieldSet {
  readonly names: string[] = [];
  readonly slotOf = new Map<string, number>();
  /** Slot of each categorical column, and of each numeric column. */
  readonly categorical: number[];
  readonly numeric: number[];
  readonly schema: LogSchema;

  constructor(config: AliCcpRawFields) {
    const slot = (name: string): number => {
      if (name === "" || /[,\x01\x02\x03]/.test(name)) throw new Error(`Ali-CCP fields: invalid field id ${show(name)}`);
      if (!this.slotOf.has(name)) {
        this.slotOf.set(name, this.names.length);
        this.names.push(name);
      }
      return this.slotOf.get(name)!;
    };
    for (const list of [config.categorical, config.numeric]) {
      if (new Set(list).size !== list.length) throw new Error(`Ali-CCP fields: duplicate field id in ${list.join(",")}`);
    }
    this.categorical = config.categorical.map(slot);
    this.numeric = config.numeric.map(slot);
    this.schema = { categorical: [...config.categorical], numeric: config.numeric.map((f) => `D${f}`) };
  }
}

/** The features of one line, reduced to one kept feature per configured field plus counts. */
class FeatureAccumulator {
  readonly ids: Int32Array;
  readonly values: Float32Array;
  /** Number of features seen per field (0 = missing). */
  readonly counts: Int32Array;
  /** Features of fields that are not configured. */
  unused = 0;

  constructor(
    private readonly fields: FieldSet,
    private readonly policy: MultiValuePolicy,
    private readonly unusedFields: Set<string>,
  ) {
    const n = fields.names.length;
    this.ids = new Int32Array(n);
    this.values = new Float32Array(n);
    this.counts = new Int32Array(n);
  }

  reset(): void {
    this.counts.fill(0);
    this.unused = 0;
  }

  add(field: string, id: number, value: number): void {
    const j = this.fields.slotOf.get(field);
    if (j === undefined) {
      this.unused++;
      this.unusedFields.add(field);
      return;
    }
    if (this.counts[j] === 0 || this.policy === "last") {
      this.ids[j] = id;
      this.values[j] = value;
    }
    this.counts[j]++;
  }
}

/**
 * Parses `feature_list` into `into`, checking `feature_num` and every `field\x02id\x03value` triple.
 * Features of unconfigured fields are validated too, then counted as unused.
 */
function parseFeatureList(list: string, featureNum: string, file: string, line: number, into: FeatureAccumulator): void {
  const declared = parseId(featureNum, { file, line, column: "feature_num" });
  const features = list === "" ? [] : list.split("\x01");
  if (declared !== features.length) {
    throw new DataError(
      { file, line, column: "feature_num" },
      `feature_num is ${featureNum} but feature_list has ${features.length} features (separated by \\x01)`,
    );
  }
  const at: DataLocation = { file, line, column: "feature_list" };
  for (let k = 0; k < features.length; k++) {
    const feature = features[k];
    const a = feature.indexOf("\x02");
    const b = feature.indexOf("\x03", a + 1);
    if (a <= 0 || b === -1 || feature.indexOf("\x02", a + 1) !== -1 || feature.indexOf("\x03", b + 1) !== -1) {
      throw new DataError(at, `${describeFeature(k, features)}malformed, expected field_id\\x02feature_id\\x03value`);
    }
    const idText = feature.slice(a + 1, b);
    const valueText = feature.slice(b + 1);
    // Fast paths for the usual shapes; otherwise the strict parsers accept the value or explain the error.
    const id = isPlainId(idText) ? +idText : parseId(idText, at, `${describeFeature(k, features)}feature_id: `);
    const value = isPlainDecimal(valueText) ? +valueText : parseValue(valueText, at, `${describeFeature(k, features)}value: `);
    into.add(feature.slice(0, a), id, value);
  }
}

function describeFeature(k: number, features: string[]): string {
  return `feature ${k + 1} of ${features.length} (${show(features[k])}): `;
}

// ---------------------------------------------------------------------------------------------------
// Common-features table

/**
 * common_feature_index -> slot; per slot the kept id/value and feature count of every configured field,
 * in flat growable arrays (a few hundred bytes per index instead of one object per feature).
 */
class CommonFeatureTable {
  private readonly slots = new Map<string, number>();
  private readonly width: number;
  private capacity = 1024;
  private ids: Int32Array;
  private values: Float32Array;
  private counts: Int32Array;
  private unused: Int32Array;
  private lines: Int32Array;
  /** Scratch result of `merge`, reused for every row. */
  private readonly merged: { ids: Int32Array; values: Float32Array; counts: Int32Array; unused: number };

  constructor(width: number, private readonly policy: MultiValuePolicy) {
    this.width = width;
    this.ids = new Int32Array(this.capacity * width);
    this.values = new Float32Array(this.capacity * width);
    this.counts = new Int32Array(this.capacity * width);
    this.unused = new Int32Array(this.capacity);
    this.lines = new Int32Array(this.capacity);
    this.merged = { ids: new Int32Array(width), values: new Float32Array(width), counts: new Int32Array(width), unused: 0 };
  }

  get size(): number {
    return this.slots.size;
  }

  lookup(index: string): number | undefined {
    return this.slots.get(index);
  }

  /** Line where `index` was defined, if it was. */
  lineOf(index: string): number | undefined {
    const s = this.slots.get(index);
    return s === undefined ? undefined : this.lines[s];
  }

  add(index: string, features: FeatureAccumulator, line: number): void {
    const s = this.slots.size;
    if (s === this.capacity) this.grow();
    this.slots.set(index, s);
    this.ids.set(features.ids, s * this.width);
    this.values.set(features.values, s * this.width);
    this.counts.set(features.counts, s * this.width);
    this.unused[s] = features.unused;
    this.lines[s] = line;
  }

  /** A row's features: its skeleton features (`row`) followed by the common features of `slot`. */
  merge(slot: number, row: FeatureAccumulator): CommonFeatureTable["merged"] {
    const out = this.merged;
    const base = slot * this.width;
    for (let j = 0; j < this.width; j++) {
      const own = row.counts[j];
      const shared = this.counts[base + j];
      const fromShared = own === 0 || (this.policy === "last" && shared > 0);
      out.ids[j] = fromShared ? this.ids[base + j] : row.ids[j];
      out.values[j] = fromShared ? this.values[base + j] : row.values[j];
      out.counts[j] = own + shared;
    }
    out.unused = row.unused + this.unused[slot];
    return out;
  }

  private grow(): void {
    this.capacity *= 2;
    const resize = <T extends Int32Array | Float32Array>(a: T, n: number): T => {
      const out = new (a.constructor as { new (n: number): T })(n);
      out.set(a);
      return out;
    };
    this.ids = resize(this.ids, this.capacity * this.width);
    this.values = resize(this.values, this.capacity * this.width);
    this.counts = resize(this.counts, this.capacity * this.width);
    this.unused = resize(this.unused, this.capacity);
    this.lines = resize(this.lines, this.capacity);
  }
}

/** Reads a whole common-features file into a table (the file is streamed; only the table stays in memory). */
async function readCommonFeatures(
  file: string,
  fields: FieldSet,
  policy: MultiValuePolicy,
  unusedFields: Set<string>,
  encoding: TextEncoding | undefined,
): Promise<CommonFeatureTable> {
  const table = new CommonFeatureTable(fields.names.length, policy);
  const features = new FeatureAccumulator(fields, policy, unusedFields);
  for await (const { text, line } of readLines(file, { encoding })) {
    const values = text.split(",");
    checkColumnCount(values, COMMON_COLUMNS, file, line);
    const [index, featureNum, featureList] = values;
    if (index === "") throw new DataError({ file, line, column: "common_feature_index" }, "empty common_feature_index");
    const previous = table.lineOf(index);
    if (previous !== undefined) {
      throw new DataError({ file, line, column: "common_feature_index" }, `duplicate common_feature_index ${show(index)} (first at line ${previous})`);
    }
    features.reset();
    parseFeatureList(featureList, featureNum, file, line, features);
    table.add(index, features, line);
  }
  if (table.size === 0) throw new DataError({ file }, "file is empty (no common-features lines)");
  return table;
}
