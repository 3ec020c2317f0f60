/**
 * A binary cache of a simulated log's CSV files: `<dir>/log.bin`, the typed arrays of `readSimulatedLog(dir)`
 * back to back, so that the 2,000,000-row default log loads in a fraction of a second instead of seconds of
 * CSV parsing. The CSV files stay the format users see and the source of truth: the cache is made from their
 * parse and is used only while it provably still matches them.
 *
 * Layout of `log.bin` (little-endian):
 *   bytes 0-7        the magic `ESMMLOG1`
 *   bytes 8-11       uint32: length H of the JSON header in bytes
 *   bytes 12-12+H    the header (UTF-8 JSON, readable with `head -c 4000 log.bin`): format, key, layout, checksum
 *   zero padding to a multiple of 8, then the data: one column per typed array, in `cacheLayout` order, each
 *   starting at a multiple of 8 bytes from the data start.
 * One file (header and data together) so that a single rename replaces both: a reader never pairs a new
 * header with old data.
 *
 * The cache is valid only when all of these hold (checked in this order, cheapest first): the magic, the
 * header parses and has this format; its key equals the current one, i.e. the sha256 of `manifest.json`'s bytes
 * (a regenerated or different log) and, per day file, its name, day, row count, size in bytes and mtime (an
 * edited CSV file); the column layout is the one `cacheLayout` gives for the schema and row count; the file has
 * exactly the bytes the layout needs (a truncated file); the sha256 of the data section equals the header's
 * (a damaged file). Writes go to a temporary file in the same folder, renamed over `log.bin` when complete.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ImpressionLog, LogSchema } from "./schema";
import { removeDeadProcessTemps } from "./temp-files";

export const LOG_CACHE_FILE = "log.bin";
export const LOG_CACHE_FORMAT = "esmm-lab/simulated-log-cache@1";
const MAGIC = Buffer.from("ESMMLOG1", "latin1");
const PREFIX_BYTES = MAGIC.length + 4;
const TEMP_PREFIX = `${LOG_CACHE_FILE}.tmp-`;

type ColumnType = "Int32Array" | "Uint8Array" | "Float32Array" | "Float64Array";
type Column = Int32Array | Uint8Array | Float32Array | Float64Array;
const CTORS = { Int32Array, Uint8Array, Float32Array, Float64Array } as const;

/** One CSV day file as the cache saw it when it was made. `bytes` and `mtimeMs` come from `fs.statSync`. */
export interface CachedDayFile {
  day: number;
  /** File name in the log folder, e.g. `day-00.csv`. */
  file: string;
  rows: number;
  bytes: number;
  mtimeMs: number;
}

/** What the cache was made from: it is valid only while this equals the folder's current key. */
export interface LogCacheKey {
  /** sha256 (hex) of `manifest.json`'s bytes. */
  manifestSha256: string;
  /** Every day of the manifest, in manifest order. */
  files: CachedDayFile[];
}

/** One column of the data section: `length` elements of `type` at byte `offset` from the data start. */
export interface CacheColumn {
  name: string;
  type: ColumnType;
  offset: number;
  length: number;
}

export interface LogCacheHeader {
  format: string;
  note: string;
  key: LogCacheKey;
  schema: LogSchema;
  /** Rows, all days together. */
  size: number;
  columns: CacheColumn[];
  /** Length of the data section in bytes (the file is `dataStart + dataBytes` bytes long). */
  dataBytes: number;
  /** sha256 (hex) of the data section. */
  dataSha256: string;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/**
 * The columns of a log with `schema`, `size` rows and truth columns, in file order: day, click, conversion,
 * `categorical:<field>` (Int32, raw ids), `numeric:<field>` (Float32), `truth:pClick` and
 * `truth:pConversionGivenClick` (Float64); returns them with their offsets and the data section's length.
 */
export function cacheLayout(schema: LogSchema, size: number): { columns: CacheColumn[]; dataBytes: number } {
  const spec: [string, ColumnType][] = [
    ["day", "Int32Array"],
    ["click", "Uint8Array"],
    ["conversion", "Uint8Array"],
    ...schema.categorical.map((f): [string, ColumnType] => [`categorical:${f}`, "Int32Array"]),
    ...schema.numeric.map((f): [string, ColumnType] => [`numeric:${f}`, "Float32Array"]),
    ["truth:pClick", "Float64Array"],
    ["truth:pConversionGivenClick", "Float64Array"],
  ];
  let offset = 0;
  const columns = spec.map(([name, type]) => {
    const c = { name, type, offset, length: size };
    offset = align8(offset + size * CTORS[type].BYTES_PER_ELEMENT);
    return c;
  });
  return { columns, dataBytes: offset };
}

function arraysOf(log: ImpressionLog): Column[] {
  if (!log.truth) throw new Error("log cache: the log has no truth columns (only simulated logs are cached)");
  return [log.day, log.click, log.conversion, ...log.categorical, ...log.numeric, log.truth.pClick, log.truth.pConversionGivenClick];
}

/** The current key of a log folder: `manifestSha256` and a stat of every day file. Throws if a file is missing. */
export function currentCacheKey(dir: string, manifestSha256: string, days: { day: number; file: string; impressions: number }[]): LogCacheKey {
  return {
    manifestSha256,
    files: days.map((d) => {
      const st = fs.statSync(path.join(dir, d.file));
      return { day: d.day, file: d.file, rows: d.impressions, bytes: st.size, mtimeMs: st.mtimeMs };
    }),
  };
}

export type LogCacheRead =
  | { ok: true; log: ImpressionLog }
  /**
   * missing: no log.bin (nothing to say); stale: a valid cache of another version of the log (the manifest or
   * a day file changed since it was made); bad: not a usable cache file (truncated, damaged, another format).
   */
  | { ok: false; reason: "missing" | "stale" | "bad"; detail: string };

/**
 * Reads `<dir>/log.bin` with one `fs.readFileSync` and returns the whole log (every day, manifest order) as
 * typed arrays that view the file's bytes (copied once when the buffer is not 8-byte aligned), or says why
 * it cannot be used. Never throws for a bad cache file; `key` is the folder's current key (`currentCacheKey`),
 * `source` the log's `source` string (the day file names).
 */
export function readLogCache(dir: string, key: LogCacheKey, schema: LogSchema, source: string): LogCacheRead {
  const file = path.join(dir, LOG_CACHE_FILE);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { ok: false, reason: "missing", detail: "no cache file" };
    return { ok: false, reason: "bad", detail: `cannot be read (${(e as Error).message})` };
  }
  const bad = (detail: string): LogCacheRead => ({ ok: false, reason: "bad", detail });
  if (bytes.length === 0) return bad("empty file (0 bytes)");
  if (bytes.length < PREFIX_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return bad(`not a log cache (no ${MAGIC.toString("latin1")} magic)`);
  const headerBytes = bytes.readUInt32LE(MAGIC.length);
  if (PREFIX_BYTES + headerBytes > bytes.length) return bad(`truncated: ${bytes.length} bytes, shorter than its own header`);
  let header: LogCacheHeader;
  try {
    header = JSON.parse(bytes.toString("utf8", PREFIX_BYTES, PREFIX_BYTES + headerBytes));
  } catch {
    return bad("header is not valid JSON");
  }
  if (header === null || typeof header !== "object" || header.format !== LOG_CACHE_FORMAT) {
    return bad(`format is ${JSON.stringify((header as { format?: unknown } | null)?.format)}, expected ${LOG_CACHE_FORMAT}`);
  }
  if (header.key?.manifestSha256 !== key.manifestSha256) return { ok: false, reason: "stale", detail: "made from another manifest.json (the log was regenerated or replaced)" };
  if (JSON.stringify(header.key.files) !== JSON.stringify(key.files)) {
    const changed = key.files.find((f, i) => JSON.stringify(f) !== JSON.stringify(header.key.files?.[i]));
    return { ok: false, reason: "stale", detail: `${changed ? changed.file : "a day file"} changed since the cache was made (size or modification time)` };
  }
  const size = key.files.reduce((s, f) => s + f.rows, 0);
  const layout = cacheLayout(schema, size);
  if (
    header.size !== size ||
    JSON.stringify(header.schema) !== JSON.stringify(schema) ||
    JSON.stringify(header.columns) !== JSON.stringify(layout.columns) ||
    header.dataBytes !== layout.dataBytes
  ) {
    return bad(`layout does not match a log of ${size} rows with this schema`);
  }
  const dataStart = align8(PREFIX_BYTES + headerBytes);
  if (bytes.length !== dataStart + layout.dataBytes) {
    return bad(`${bytes.length < dataStart + layout.dataBytes ? "truncated" : "too long"}: ${bytes.length} bytes, expected ${dataStart + layout.dataBytes}`);
  }
  let data = bytes.subarray(dataStart);
  if (crypto.createHash("sha256").update(data).digest("hex") !== header.dataSha256) return bad("damaged: the data's sha256 differs from the header's");
  if (data.byteOffset % 8 !== 0) data = Buffer.from(new Uint8Array(data)); // views need aligned offsets
  const columns = layout.columns.map((c) => new CTORS[c.type](data.buffer as ArrayBuffer, data.byteOffset + c.offset, c.length) as Column);
  const nCat = schema.categorical.length;
  const nNum = schema.numeric.length;
  return {
    ok: true,
    log: {
      schema,
      size,
      day: columns[0] as Int32Array,
      click: columns[1] as Uint8Array,
      conversion: columns[2] as Uint8Array,
      categorical: columns.slice(3, 3 + nCat) as Int32Array[],
      numeric: columns.slice(3 + nCat, 3 + nCat + nNum) as Float32Array[],
      truth: { pClick: columns[3 + nCat + nNum] as Float64Array, pConversionGivenClick: columns[4 + nCat + nNum] as Float64Array },
      source,
    },
  };
}

/**
 * Writes `log` (every day of the folder, manifest order, with truth columns) as `<dir>/log.bin` for `key`:
 * into `log.bin.tmp-<pid>-<random>`, then renamed over `log.bin`, so readers see the old file or the complete
 * new one. Removes temporary files left by dead processes. Throws on I/O errors (the temporary file removed)
 * and when the log's rows differ from the key's day files.
 */
export function writeLogCache(dir: string, log: ImpressionLog, key: LogCacheKey): void {
  const size = key.files.reduce((s, f) => s + f.rows, 0);
  if (log.size !== size) throw new Error(`log cache: the log has ${log.size} rows, its day files ${size}`);
  const { columns, dataBytes } = cacheLayout(log.schema, log.size);
  const arrays = arraysOf(log);
  const chunks: Buffer[] = [];
  arrays.forEach((a, i) => {
    chunks.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    const pad = (i + 1 < columns.length ? columns[i + 1].offset : dataBytes) - (columns[i].offset + a.byteLength);
    if (pad > 0) chunks.push(Buffer.alloc(pad));
  });
  const hash = crypto.createHash("sha256");
  for (const c of chunks) hash.update(c);
  const header: LogCacheHeader = {
    format: LOG_CACHE_FORMAT,
    note: "binary cache of the day CSV files beside it, made by readSimulatedLog; safe to delete",
    key,
    schema: log.schema,
    size: log.size,
    columns,
    dataBytes,
    dataSha256: hash.digest("hex"),
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(align8(PREFIX_BYTES + json.length));
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(json.length, MAGIC.length);
  json.copy(prefix, PREFIX_BYTES);

  removeDeadProcessTemps(dir, (name) => {
    const m = name.startsWith(TEMP_PREFIX) ? /^(\d+)-/.exec(name.slice(TEMP_PREFIX.length)) : null;
    return m ? Number(m[1]) : undefined;
  });
  const tmp = path.join(dir, `${TEMP_PREFIX}${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
  try {
    const fd = fs.openSync(tmp, "w");
    try {
      for (const c of [prefix, ...chunks]) {
        for (let done = 0; done < c.length; ) done += fs.writeSync(fd, c, done, c.length - done);
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(dir, LOG_CACHE_FILE));
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
