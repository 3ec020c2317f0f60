/**
 * Prepared data on disk: `prepared.json` (plan, vocabularies, scalers, report, source) and one binary file
 * per split holding its typed arrays back to back, so that workers and later commands load a prepared
 * data set in milliseconds instead of re-parsing CSV.
 *
 * Writing never leaves a half-written folder that reads as prepared, and never loses a good one to a failed
 * write: every file (the splits, then `prepared.json`) is first written in full under a temporary name
 * (`<file>.tmp-<pid>`); only when all are written (a full disk fails here, with the previous prepared data
 * intact and the temporary files removed) is the old `prepared.json` removed, the splits renamed into place
 * and `prepared.json` renamed last. A writer that dies leaves its temporary files, removed by the next writer.
 * The folder is made one level at a time (output-paths.ts makeDirs: no unbounded mkdir loop).
 *
 * The input it was made from: `writePrepared(dir, data, source, { inputs })` records each input file (e.g. a
 * simulated log's manifest and day files, or the CSV files) in `source.inputs` as its absolute path, size,
 * modification time and sha256. `readPrepared` (through `checkPreparedInputs`) refuses a folder whose input has
 * changed since (a DataError naming the folder and the file: e.g. a log simulated again into the folder it was
 * prepared in), so a changed input is never served as if it were the old one. Size and modification time are
 * the fast check: only a file whose stamp moved is hashed again (a touched but equal file is served). An input
 * that is gone is not a changed one: the folder holds its data. A folder written before inputs were recorded
 * but naming where it was read from (`source.dir` or `source.files`) is served with one warning line on stderr.
 * `source` is not part of the folder's content hash (real-data.ts), so recording inputs changes no data key.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError } from "./errors";
import { removeDeadProcessTemps } from "./temp-files";
import { makeDirs } from "./output-paths";
import type { EncodedSplit } from "./encoded";
import type { NumericScaler, PrepareReport, PreparedData, SplitPlan, Vocabulary } from "./prepare";

export const PREPARED_FILE = "prepared.json";
const FORMAT = "esmm-lab/prepared@1";

type ArrayName = "categorical" | "numeric" | "click" | "conversion" | "weight" | "day" | "pClick" | "pConversionGivenClick";
const CTORS = { Int32Array, Float32Array, Float64Array } as const;

interface SplitHeader {
  name: string;
  file: string;
  size: number;
  categoricalFields: string[];
  vocabularySizes: number[];
  numericFields: string[];
  arrays: { name: ArrayName; type: keyof typeof CTORS; length: number }[];
}

interface PreparedHeader {
  format: string;
  source: Record<string, unknown>;
  plan: SplitPlan;
  vocabularies: Vocabulary[];
  scalers: NumericScaler[];
  report: PrepareReport;
  splits: { train: SplitHeader; validation: SplitHeader; test: SplitHeader; later: SplitHeader[] };
}

function arraysOf(s: EncodedSplit): [ArrayName, Int32Array | Float32Array | Float64Array][] {
  const list: [ArrayName, Int32Array | Float32Array | Float64Array][] = [
    ["categorical", s.categorical],
    ["numeric", s.numeric],
    ["click", s.click],
    ["conversion", s.conversion],
    ["weight", s.weight],
    ["day", s.day],
  ];
  if (s.truth) list.push(["pClick", s.truth.pClick], ["pConversionGivenClick", s.truth.pConversionGivenClick]);
  return list;
}

/** `<file>.tmp-<pid>`: where this process writes `file` before renaming it into place. */
const tempName = (file: string) => `${file}.tmp-${process.pid}`;
const TEMP_RE = /\.tmp-(\d+)$/;

/**
 * Writes `file` in `dir` through `write(fd)` under its temporary name (fsynced) and records it in `pending`
 * (temporary path, final path); the caller renames every pending file into place once all are written.
 */
function writeTemp(dir: string, file: string, pending: [string, string][], write: (fd: number) => void): void {
  const tmp = path.join(dir, tempName(file));
  pending.push([tmp, path.join(dir, file)]);
  const fd = fs.openSync(tmp, "w");
  try {
    write(fd);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeSplit(dir: string, s: EncodedSplit, file: string, pending: [string, string][]): SplitHeader {
  const arrays = arraysOf(s);
  writeTemp(dir, file, pending, (fd) => {
    for (const [, a] of arrays) fs.writeFileSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength)); // in place, no concatenated copy
  });
  return {
    name: s.name,
    file,
    size: s.size,
    categoricalFields: s.categoricalFields,
    vocabularySizes: s.vocabularySizes,
    numericFields: s.numericFields,
    arrays: arrays.map(([name, a]) => ({ name, type: a.constructor.name as keyof typeof CTORS, length: a.length })),
  };
}

function readSplit(dir: string, h: SplitHeader): EncodedSplit {
  const file = path.join(dir, h.file);
  if (!fs.existsSync(file)) throw new DataError({ file }, "missing split file (prepare the data again)");
  const bytes = fs.readFileSync(file);
  const expected = h.arrays.reduce((s, a) => s + a.length * CTORS[a.type].BYTES_PER_ELEMENT, 0);
  if (bytes.length !== expected) throw new DataError({ file }, `has ${bytes.length} bytes, ${PREPARED_FILE} says ${expected}`);
  const out: Partial<Record<ArrayName, Int32Array | Float32Array | Float64Array>> = {};
  let offset = 0;
  for (const a of h.arrays) {
    const Ctor = CTORS[a.type];
    const copy = new Ctor(a.length);
    new Uint8Array(copy.buffer).set(bytes.subarray(offset, offset + copy.byteLength));
    out[a.name] = copy;
    offset += copy.byteLength;
  }
  return {
    name: h.name,
    size: h.size,
    categoricalFields: h.categoricalFields,
    vocabularySizes: h.vocabularySizes,
    numericFields: h.numericFields,
    categorical: out.categorical as Int32Array,
    numeric: out.numeric as Float32Array,
    click: out.click as Float32Array,
    conversion: out.conversion as Float32Array,
    weight: out.weight as Float32Array,
    day: out.day as Int32Array,
    truth: out.pClick ? { pClick: out.pClick as Float64Array, pConversionGivenClick: out.pConversionGivenClick as Float64Array } : undefined,
  };
}

/** One input file of a prepared folder, as recorded in `source.inputs`. */
export interface PreparedInput {
  /** Absolute path. */
  file: string;
  /** Bytes. */
  size: number;
  /** Modification time, ms since the epoch (fs.Stats.mtimeMs). */
  mtimeMs: number;
  /** sha256 of the file's bytes, 64 hex digits. */
  sha256: string;
}

/** Feeds a file's bytes to `h`, read in 4 MiB chunks (memory stays flat whatever the size). Throws as fs.openSync. */
export function hashFileInto(h: crypto.Hash, file: string): crypto.Hash {
  const fd = fs.openSync(file, "r");
  try {
    const chunk = Buffer.alloc(1 << 22);
    let n: number;
    while ((n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0) h.update(chunk.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h;
}

/** sha256 (64 hex digits) of a file's bytes. */
export function fileSha256(file: string): string {
  return hashFileInto(crypto.createHash("sha256"), file).digest("hex");
}

/** The record of each of `files` (stat, then hash: a file changed in between shows as changed later, never the reverse). */
export function describeInputs(files: string[]): PreparedInput[] {
  return [...new Set(files.map((f) => path.resolve(f)))].map((file) => {
    const st = fs.statSync(file);
    return { file, size: st.size, mtimeMs: st.mtimeMs, sha256: fileSha256(file) };
  });
}

export interface WritePreparedOptions {
  /** The files the data was read from, recorded in `source.inputs` (see the file comment). Default: none. */
  inputs?: string[];
}

/**
 * Writes `data` into `dir`; `source` describes where it came from (e.g. the simulator manifest's seed and totals),
 * and `options.inputs` names the files it was read from (hashed into `source.inputs`, checked by `readPrepared`).
 */
export function writePrepared(dir: string, data: PreparedData, source: Record<string, unknown>, options: WritePreparedOptions = {}): void {
  source = { ...source, inputs: describeInputs(options.inputs ?? []) };
  makeDirs(dir);
  removeDeadProcessTemps(dir, (name) => {
    const m = TEMP_RE.exec(name);
    return m ? Number(m[1]) : undefined;
  });
  const pending: [string, string][] = [];
  try {
    const header: PreparedHeader = {
      format: FORMAT,
      source,
      plan: data.plan,
      vocabularies: data.vocabularies,
      scalers: data.scalers,
      report: data.report,
      splits: {
        train: writeSplit(dir, data.train, "train.bin", pending),
        validation: writeSplit(dir, data.validation, "validation.bin", pending),
        test: writeSplit(dir, data.test, "test.bin", pending),
        later: data.later.map((s, i) => writeSplit(dir, s, `later-${i}.bin`, pending)),
      },
    };
    writeTemp(dir, PREPARED_FILE, pending, (fd) => fs.writeFileSync(fd, JSON.stringify(header, null, 1) + "\n"));
  } catch (e) {
    for (const [tmp] of pending) fs.rmSync(tmp, { force: true });
    throw e;
  }
  // Everything is written: the old prepared.json goes first (the folder never reads as prepared with a mix of
  // old and new splits), prepared.json comes last.
  fs.rmSync(path.join(dir, PREPARED_FILE), { force: true });
  for (const [tmp, file] of pending) fs.renameSync(tmp, file);
}

export function isPreparedDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, PREPARED_FILE));
}

function readHeader(dir: string): PreparedHeader {
  const file = path.join(dir, PREPARED_FILE);
  if (!fs.existsSync(file)) throw new DataError({ file }, "not a prepared data folder (run `esmm prepare` first)");
  let h: PreparedHeader;
  try {
    h = JSON.parse(fs.readFileSync(file, "utf8")) as PreparedHeader;
  } catch (e) {
    throw new DataError({ file }, `not valid JSON (${(e as Error).message}): prepare the data again`);
  }
  if (h?.format !== FORMAT) throw new DataError({ file }, `format is ${JSON.stringify(h?.format)}, expected ${FORMAT}`);
  return h;
}

/** Folders already warned about in this process (one warning line each). */
const warnedUnrecorded = new Set<string>();
/** Inputs whose moved stamp was hashed equal in this process: `file\0size\0mtimeMs`. */
const equalAfterHash = new Set<string>();

/**
 * Throws a DataError (naming the folder and the file) when an input `dir` records (`source.inputs`) has changed
 * since it was prepared: another size, or another modification time and another sha256. Writes one warning line
 * to stderr (once per folder and process) when the folder names where it was read from but predates recorded
 * inputs. Reads nothing but prepared.json and stats, unless an input's stamp moved (then hashes it).
 */
export function checkPreparedInputs(dir: string, header: { source?: Record<string, unknown> } = readHeader(dir)): void {
  const source = header.source ?? {};
  const inputs = source.inputs as PreparedInput[] | undefined;
  const abs = path.resolve(dir);
  if (!Array.isArray(inputs)) {
    if ((source.dir !== undefined || source.files !== undefined) && !warnedUnrecorded.has(abs)) {
      warnedUnrecorded.add(abs);
      process.stderr.write(
        `esmm: warning: ${dir}: prepared before inputs were recorded: whether ${typeof source.dir === "string" ? source.dir : "its input files"} changed since cannot be checked (prepare it again to record them)\n`,
      );
    }
    return;
  }
  for (const input of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(input.file);
    } catch {
      continue; // gone: the folder holds its data
    }
    if (st.size === input.size && st.mtimeMs === input.mtimeMs) continue;
    const stamp = `${input.file}\0${st.size}\0${st.mtimeMs}`;
    if (st.size === input.size && (equalAfterHash.has(stamp) || fileSha256(input.file) === input.sha256)) {
      equalAfterHash.add(stamp);
      continue;
    }
    const what = st.size !== input.size ? `${input.size} bytes then, ${st.size} now` : "same size, other bytes";
    throw new DataError(
      { file: dir },
      `was prepared from ${input.file}, which has changed since (${what}; modified ${new Date(st.mtimeMs).toISOString()}): ` +
        `its data is not this input's; prepare it again (esmm prepare ... --out ${dir}) or prepare into another folder`,
    );
  }
}

export interface ReadPreparedOptions {
  /** "check" (default): refuse a changed input (checkPreparedInputs); "trust": the caller has checked it. */
  inputs?: "check" | "trust";
}

export function readPrepared(dir: string, options: ReadPreparedOptions = {}): PreparedData & { source: Record<string, unknown> } {
  const h = readHeader(dir);
  if (options.inputs !== "trust") checkPreparedInputs(dir, h);
  return {
    train: readSplit(dir, h.splits.train),
    validation: readSplit(dir, h.splits.validation),
    test: readSplit(dir, h.splits.test),
    later: h.splits.later.map((s) => readSplit(dir, s)),
    vocabularies: h.vocabularies,
    scalers: h.scalers,
    plan: h.plan,
    report: h.report,
    source: h.source,
  };
}
