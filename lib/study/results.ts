/**
 * The study's results: one JSON line per finished run, and one binary sidecar per run with the test day's
 * per-row predictions.
 *
 * Results file (JSONL). Only the runner's parent process writes it: each finished run is ONE `fs.writeSync`
 * of the whole line (with its trailing "\n") on a descriptor opened with "a", then `fsync`. A process
 * killed at any moment therefore leaves complete lines plus, at worst, one partial last line without "\n".
 * `readResults` ignores (and reports) such a tail and any line that does not parse, and keeps the first
 * record of each key; `openResultsWriter` cuts a partial tail off before appending, so a resumed study
 * never glues a new line onto a broken one. Concatenating the files of several shards gives a valid file.
 *
 * Keys. `key` = sha256 of (what the run computes: `computation(run)`, the RunSpec without its labels, defaults
 * filled in, as JSON with sorted keys; the sha256 of the data's manifest.json, real data: its content hash in
 * place of the folder's path and of the manifest's sha256; the numerics version; a model row changed since rows
 * entered the keys is in the RunSpec as its fingerprint, lib/models/row-version.ts), so a run is skipped exactly
 * when the same computation ran on the same data with the same numbers. The numerics version
 * (numerics.ts) is the sha256 of the committed golden-output fixtures the tests check the code against
 * (test/fixtures/paper-models-compat.json, speed-reference.json, data-reference.json) and of NUMERICS_EPOCH:
 * a change of what the code computes fails those tests until the fixtures are recorded again, which gives
 * new keys; comments, renames and refactors the tests prove exact keep every key. The metrics are not in
 * the key: a record's test score and reliability are recomputed from its stored predictions by `esmm
 * rescore` (rescore.ts). Without the fixtures (an installation without test/) the numerics version falls
 * back to the source hash. Each record still holds `codeVersion`, the sha256 of the compiled sources of
 * lib/models, train, data, metrics and study/run (comments included), for audit only. The backend is not
 * part of the key: the record's `backend` field says which one ran.
 *
 * Predictions sidecar `<dir>/<key>.bin`: the 8 bytes "ESMMPRED", a little-endian uint32 header length H,
 * H bytes of JSON header (space-padded so the columns start at a multiple of 4), then each column as
 * little-endian Float32 values, back to back in header order (`pCtcvr`, then `pCtr` and `pCvr` when the
 * model has them). Written to a temporary file, fsynced and renamed, before the run's JSONL line. The values
 * are float32 tensor outputs, so the file holds them exactly and `esmm rescore` reproduces a record's test score.
 */
import { runKeyData } from "./data-source";
import { resolveArchitecture } from "../models/spec";
import { DEFAULT_TRAIN_CONFIG } from "../train/trainer";
import { canonicalJson, numericsVersion, sha256Hex } from "../numerics";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { StudyRecord } from "../analysis/record";
import type { DataSpec, RunSpec } from "./spec";
import { makeDirs } from "../data/output-paths";
import { LITTLE_ENDIAN } from "../metrics/argsort";

// ---------------------------------------------------------------------------------------------
// hashing

export { canonicalJson, sha256Hex } from "../numerics"; // the hashing of keys, defined with the numerics versions

export { codeVersion, dataCodeVersion, hashSources, numericsVersion, dataNumericsVersion, NUMERICS_EPOCH } from "../numerics";

/**
 * The key of one run (64 hex): sha256 of what it computes (`computation(run)` as sorted-key JSON), the data
 * manifest's sha256 and the numerics version (numerics.ts: the golden fixtures' hash, not the source text).
 */
export function runKey(run: RunSpec, manifestSha256: string, numerics: string = numericsVersion()): string {
  return sha256Hex(`${canonicalJson(computation(run))}\n${manifestSha256}\n${numerics}`);
}

/**
 * What a run computes: its labels (study, variant, factor, level) left out, so that the same run in two
 * variants (e.g. the default level of every sensitivity factor) has one key and is trained once.
 */
export function computation(run: RunSpec): Omit<RunSpec, "study" | "variant" | "factor" | "level" | "data"> & { data: Omit<DataSpec, "prepared"> & { prepared?: { sha256: string } } } {
  // defaults filled in, so that an option set to its default value names the same run as one left unset
  return {
    model: run.model,
    seed: run.seed,
    // real data: named by its content hash, not by where the folder is (no simulator to resolve): data-source.ts
    data: runKeyData(run.data),
    architecture: resolveArchitecture(run.architecture),
    // "dense" embedding updates are what a run without the option computes: one key for both; so is
    // "coupled" weight decay, and either form with no decay
    // and testEveryEpoch false is a run without it (true: its own key, its records hold per-epoch test scores)
    train: withoutFalseTestEveryEpoch(withoutDefaultWeightDecayForm(withoutDefaultEmbeddingUpdates({ ...DEFAULT_TRAIN_CONFIG, ...run.train }))),
    // the row's fingerprint when it changed since rows entered the keys (lib/models/row-version.ts); as the run
    // or the record carries it, never recomputed from today's zoo (a record keeps the row it was trained with)
    ...(run.modelRow !== undefined ? { modelRow: run.modelRow } : {}),
  };
}

/** `train` without `embeddingUpdates: "dense"` (the trainer's behaviour when the option is absent). */
function withoutDefaultEmbeddingUpdates<T extends { embeddingUpdates?: string }>(train: T): T {
  if (train.embeddingUpdates !== "dense") return train;
  const { embeddingUpdates: _dense, ...rest } = train;
  void _dense;
  return rest as T;
}

/** `train` without `weightDecayForm` when it is "coupled" (the default) or the decay is 0 (no form computes anything). */
function withoutDefaultWeightDecayForm<T extends { weightDecayForm?: string; weightDecay?: number }>(train: T): T {
  if (train.weightDecayForm === undefined || (train.weightDecayForm !== "coupled" && (train.weightDecay ?? 0) !== 0)) return train;
  const { weightDecayForm: _form, ...rest } = train;
  void _form;
  return rest as T;
}

/** `train` without `testEveryEpoch: false` (the trainer's behaviour when the option is absent). */
function withoutFalseTestEveryEpoch<T extends { testEveryEpoch?: boolean }>(train: T): T {
  if (train.testEveryEpoch !== false) return train;
  const { testEveryEpoch: _off, ...rest } = train;
  void _off;
  return rest as T;
}

/**
 * For each run of a grid, the record that computed it (matched on `computation`), if any. When a results
 * file holds several records of one computation (written under older numerics, or on data regenerated
 * since), the record of the current numerics version wins (`numerics`, default numericsVersion(): the
 * one the runner would skip on), else the one that finished last; so a study rerun after a change of its
 * numbers is never mixed with stale runs. Records written before keys held the numerics version have none.
 */
export function matchRecords<R extends { config: RunSpec; numericsVersion?: string; finishedAt?: string }>(
  grid: RunSpec[],
  records: R[],
  numerics: string = numericsVersion(),
): { run: RunSpec; record: R | undefined }[] {
  const byComputation = new Map<string, R>();
  const rank = (r: R) => [r.numericsVersion === numerics ? 1 : 0, r.finishedAt ?? ""] as const;
  for (const r of records) {
    const k = canonicalJson(computation(r.config));
    const held = byComputation.get(k);
    if (!held) {
      byComputation.set(k, r);
      continue;
    }
    const [a, b] = [rank(r), rank(held)];
    if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) byComputation.set(k, r);
  }
  return grid.map((run) => ({ run, record: byComputation.get(canonicalJson(computation(run))) }));
}

// ---------------------------------------------------------------------------------------------
// records

// One line of the results file: StudyRecord (with DataManifestSummary), defined once in lib/analysis/record.ts.
export type { DataManifestSummary, StudyRecord } from "../analysis/record";

/**
 * Why `value` (one parsed line of a results file) is not a run record, or undefined when it is one: a
 * record has a 64-hex `key`, a `model`, an integer `seed`, a `config` whose data is an object (and whose
 * model and seed, when present, are the record's), and a `test` score with its `metrics`. `esmm merge`
 * refuses a file with any line that fails this; `readResults` (more lenient) only needs key, model and test.
 */
export function recordProblem(value: unknown): string | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "not a JSON object";
  const r = value as Partial<StudyRecord>;
  const isObject = (x: unknown) => !!x && typeof x === "object" && !Array.isArray(x);
  if (typeof r.key !== "string" || !/^[0-9a-f]{64}$/.test(r.key)) return "no run key (64 hex digits)";
  if (typeof r.model !== "string" || r.model === "") return "no model";
  if (!Number.isInteger(r.seed)) return "no integer seed";
  if (!isObject(r.config) || !isObject(r.config!.data)) return "no config with its data";
  if (r.config!.model !== undefined && r.config!.model !== r.model) return `config.model ${JSON.stringify(r.config!.model)} is not the record's model ${JSON.stringify(r.model)}`;
  if (r.config!.seed !== undefined && r.config!.seed !== r.seed) return `config.seed ${r.config!.seed} is not the record's seed ${r.seed}`;
  if (!isObject(r.test) || !isObject(r.test!.metrics)) return "no test metrics";
  return undefined;
}

export interface ResultsProblem {
  /** 1-based line number. */
  line: number;
  reason: string;
}

export interface ResultsRead {
  /** First record of each key, in file order. */
  records: StudyRecord[];
  byKey: Map<string, StudyRecord>;
  /** Lines that were ignored: unparsable, not a record, or a partial last line. */
  problems: ResultsProblem[];
  /** Bytes of a final line without "\n" (0 when the file ends cleanly). */
  partialTailBytes: number;
  /** Lines whose key was already seen (ignored). */
  duplicates: number;
}

/** Reads a results file; never throws on its content (a missing file reads as empty). */
export function readResults(file: string): ResultsRead {
  const out: ResultsRead = { records: [], byKey: new Map(), problems: [], partialTailBytes: 0, duplicates: 0 };
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return out;
    out.problems.push({ line: 0, reason: `cannot read: ${(e as Error).message}` });
    return out;
  }
  const lines = text.split("\n");
  const tail = lines.pop() ?? "";
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      out.problems.push({ line: i + 1, reason: `not JSON (${(e as Error).message})` });
      return;
    }
    const r = rec as Partial<StudyRecord>;
    if (!r || typeof r !== "object" || typeof r.key !== "string" || typeof r.model !== "string" || typeof r.test !== "object") {
      out.problems.push({ line: i + 1, reason: "not a study record (no key, model or test)" });
      return;
    }
    if (out.byKey.has(r.key)) {
      out.duplicates++;
      return;
    }
    out.byKey.set(r.key, r as StudyRecord);
    out.records.push(r as StudyRecord);
  });
  if (tail !== "") {
    out.partialTailBytes = Buffer.byteLength(tail);
    out.problems.push({ line: lines.length + 1, reason: `partial last line without newline (${out.partialTailBytes} bytes)` });
  }
  return out;
}

/**
 * The records of a grid's runs in a results file, in grid order: readResults, then matchRecords (a computation's
 * record of the current numerics version, else the latest); runs without a record are left out, so the length says
 * how many ran. The notebooks' reading of their study. Never throws on the file's content (a missing file: []).
 */
export function gridRecords(grid: RunSpec[], file: string): StudyRecord[] {
  return matchRecords(grid, readResults(file).records)
    .map((m) => m.record)
    .filter((r): r is StudyRecord => r !== undefined);
}

export interface ResultsWriter {
  readonly file: string;
  /** Bytes of a partial last line cut off when the file was opened. */
  readonly repairedBytes: number;
  /** Appends one record as one line (one write, then fsync). */
  append(record: StudyRecord): void;
  close(): void;
}

/**
 * Opens `file` for appending (creating it and its folder). A final line without "\n" (left by a process
 * killed mid-write) is cut off first, so the next line starts on a line of its own.
 */
export function openResultsWriter(file: string): ResultsWriter {
  makeDirs(path.dirname(path.resolve(file)));
  const repairedBytes = cutPartialTail(file);
  const fd = fs.openSync(file, "a");
  let open = true;
  return {
    file,
    repairedBytes,
    append(record) {
      if (!open) throw new Error(`results file ${file} is closed`);
      const bytes = Buffer.from(JSON.stringify(record) + "\n", "utf8");
      let written = fs.writeSync(fd, bytes, 0, bytes.length);
      // A regular file takes the whole buffer in one write; a short write means a full disk: finish the
      // line (or fail) rather than leave a partial one behind.
      while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
      fs.fsyncSync(fd);
    },
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/** Truncates `file` after its last "\n" when it does not end with one; returns the bytes removed. */
function cutPartialTail(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, "r+");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw e;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return 0;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    // Scan backwards for the last newline.
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = fs.readSync(fd, chunk, 0, end - start, start);
      const idx = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (idx >= 0) {
        const keep = start + idx + 1;
        if (keep < size) {
          fs.ftruncateSync(fd, keep);
          fs.fsyncSync(fd);
        }
        return size - keep;
      }
      end = start;
    }
    fs.ftruncateSync(fd, 0);
    fs.fsyncSync(fd);
    return size;
  } finally {
    fs.closeSync(fd);
  }
}

/** Default predictions folder of a results file: `runs/x.jsonl` -> `runs/x.predictions`. */
export function defaultPredictionsDir(resultsFile: string): string {
  return resultsFile.replace(/\.jsonl$/i, "") + ".predictions";
}

// ---------------------------------------------------------------------------------------------
// predictions sidecar

const MAGIC = "ESMMPRED";
export const PREDICTIONS_FORMAT = "esmm-lab/predictions@1";

export interface PredictionsHeader {
  format: string;
  key: string;
  /** Split the rows belong to ("test") and its days. */
  split: string;
  days: number[];
  rows: number;
  columns: string[];
  /** Data the rows come from: the data cache key and the manifest's sha256 (rows in prepared order). */
  dataKey: string;
  manifestSha256: string;
}

export interface StoredPredictions {
  header: PredictionsHeader;
  pCtcvr: Float32Array;
  pCtr?: Float32Array;
  pCvr?: Float32Array;
}

export function predictionsFile(dir: string, key: string): string {
  return path.join(dir, `${key}.bin`);
}

/** Writes `<dir>/<key>.bin` atomically (temporary file, fsync, rename); returns its path. */
export function writePredictions(
  dir: string,
  meta: Omit<PredictionsHeader, "format" | "rows" | "columns">,
  preds: { pCtcvr: ArrayLike<number>; pCtr?: ArrayLike<number>; pCvr?: ArrayLike<number> },
): string {
  const cols: [string, ArrayLike<number>][] = [["pCtcvr", preds.pCtcvr]];
  if (preds.pCtr) cols.push(["pCtr", preds.pCtr]);
  if (preds.pCvr) cols.push(["pCvr", preds.pCvr]);
  const rows = preds.pCtcvr.length;
  for (const [name, a] of cols) if (a.length !== rows) throw new Error(`writePredictions: ${name} has ${a.length} rows, pCtcvr ${rows}`);
  const header: PredictionsHeader = { format: PREDICTIONS_FORMAT, ...meta, rows, columns: cols.map(([n]) => n) };
  let json = JSON.stringify(header);
  while ((12 + Buffer.byteLength(json)) % 4 !== 0) json += " ";
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, "latin1");
  head.writeUInt32LE(Buffer.byteLength(json), 8);
  const body = Buffer.alloc(rows * 4 * cols.length);
  cols.forEach(([, a], k) => encodeFloat32LE(a, body, k * rows * 4));
  makeDirs(dir);
  const final = predictionsFile(dir, meta.key);
  const tmp = `${final}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
  const fd = fs.openSync(tmp, "w");
  try {
    for (const b of [head, Buffer.from(json, "utf8"), body]) {
      let off = 0;
      while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, final);
  return final;
}

/** Reads `<dir>/<key>.bin` (throws when missing or malformed). */
export function readPredictions(dir: string, key: string): StoredPredictions {
  const file = predictionsFile(dir, key);
  const bytes = fs.readFileSync(file);
  if (bytes.length < 12 || bytes.toString("latin1", 0, 8) !== MAGIC) throw new Error(`${file}: not a predictions file (no ${MAGIC} magic)`);
  const h = bytes.readUInt32LE(8);
  if (12 + h > bytes.length) throw new Error(`${file}: truncated header`);
  const header = JSON.parse(bytes.toString("utf8", 12, 12 + h)) as PredictionsHeader;
  if (header.format !== PREDICTIONS_FORMAT) throw new Error(`${file}: format ${JSON.stringify(header.format)}, expected ${PREDICTIONS_FORMAT}`);
  const expected = 12 + h + header.rows * 4 * header.columns.length;
  if (bytes.length !== expected) throw new Error(`${file}: ${bytes.length} bytes, header says ${expected}`);
  const out: Partial<Record<string, Float32Array>> = {};
  header.columns.forEach((name, k) => {
    out[name] = decodeFloat32LE(bytes, 12 + h + k * header.rows * 4, header.rows);
  });
  return { header, pCtcvr: out.pCtcvr!, pCtr: out.pCtr, pCvr: out.pCvr };
}

/**
 * The predictions files' column encoding, defined by Buffer's writeFloatLE: `values` rounded to float32 (round
 * to nearest, ties to even, as a Float32Array store rounds) and written little-endian at `offset` of `into`. On a
 * little-endian machine the float32 column's bytes are copied at once (notebook 04 reads 216 such columns of
 * 1.33M rows; element by element they were 40 % of its bootstrap); the same bytes (test/predictions-io.test.ts).
 */
export function encodeFloat32LE(values: ArrayLike<number>, into: Buffer, offset: number): void {
  const n = values.length;
  if (LITTLE_ENDIAN) {
    const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
    into.set(new Uint8Array(f32.buffer, f32.byteOffset, n * 4), offset);
    return;
  }
  for (let i = 0; i < n; i++) into.writeFloatLE(values[i], offset + i * 4);
}

/**
 * The inverse, defined by Buffer's readFloatLE: `rows` little-endian float32 values at `offset` of `bytes`, as a
 * new Float32Array. On a little-endian machine the bytes are copied into it at once (a byte copy: any `offset`,
 * aligned or not); the same values (test/predictions-io.test.ts).
 */
export function decodeFloat32LE(bytes: Buffer, offset: number, rows: number): Float32Array {
  const out = new Float32Array(rows);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + rows * 4));
    return out;
  }
  for (let i = 0; i < rows; i++) out[i] = bytes.readFloatLE(offset + i * 4);
  return out;
}
