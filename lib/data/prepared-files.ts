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
 */
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

/** Writes `data` into `dir`; `source` describes where it came from (e.g. the simulator manifest's seed and totals). */
export function writePrepared(dir: string, data: PreparedData, source: Record<string, unknown>): void {
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

export function readPrepared(dir: string): PreparedData & { source: Record<string, unknown> } {
  const file = path.join(dir, PREPARED_FILE);
  if (!fs.existsSync(file)) throw new DataError({ file }, "not a prepared data folder (run `esmm prepare` first)");
  const h = JSON.parse(fs.readFileSync(file, "utf8")) as PreparedHeader;
  if (h.format !== FORMAT) throw new DataError({ file }, `format is ${JSON.stringify(h.format)}, expected ${FORMAT}`);
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
