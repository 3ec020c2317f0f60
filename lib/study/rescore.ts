/**
 * `esmm rescore`: a results file's test scores recomputed from the stored predictions with today's metric
 * code, so that a new or fixed metric costs seconds, not a study (the metrics are not part of a run's key).
 *
 *   const summary = rescoreResults("runs/quick.jsonl", { dataRoot: defaultDataRoot() });
 *
 * For each record: its predictions sidecar (`<predictions>/<key>.bin`, results.ts readPredictions) and the
 * test split of the data it was computed on (the data cache folder `<dataRoot>/<dataManifest.dataKey>`, or
 * for real data its prepared folder; simulated data that is no longer cached is simulated and prepared again
 * when today's code gives it the same data key) are scored by run.ts `scoreTestWithReliability` (scoreTest and testReliability in one pass), the
 * definitions the runner uses, so an untouched file is reproduced exactly. What is recomputed: the record's
 * `test` (every evaluation space's metrics, the folds, the oracle and the mechanism metrics) and
 * `reliability`. Not recomputed: `later` (the later days' predictions are not stored) and `training`.
 *
 * The file is rewritten only when a record changed: every line is kept byte for byte except the changed
 * records' (which also get `rescored: { at, codeVersion }`); lines that are not records, duplicates of a key
 * and a partial last line stay as they are. The new file is written beside the old one, fsynced and renamed
 * over it (then the folder is fsynced); if the file changed meanwhile (a study appending to it), nothing is
 * replaced and rescoreResults throws. A record that cannot be rescored (no sidecar, data gone or different,
 * row counts that disagree) is kept unchanged and listed in `failed`.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { PreparedData } from "../data/prepare";
import { readPrepared } from "../data/prepared-files";
import { DATA_SPEC_FILE, dataSpecKey, ensurePreparedData, findPreparedData, preparedDataInfo } from "./data-cache";
import { dataSourceOf, isOneDataSet } from "./data-source";
import { canonicalJson, codeVersion, defaultPredictionsDir, readPredictions, StudyRecord } from "./results";
import { scoreTestWithReliability } from "./run";

export interface RescoreOptions {
  /** Predictions sidecars; default the results path without .jsonl plus ".predictions". */
  predictionsDir?: string;
  /** The data cache the study used (runner.ts defaultDataRoot). */
  dataRoot: string;
  /** Status lines (data loaded or regenerated). Default: none. */
  log?: (line: string) => void;
}

export interface RescoreSummary {
  file: string;
  /** Records read (first line of each key). */
  records: number;
  /** Records whose test score or reliability changed (rewritten). */
  changed: number;
  /** Records rescored to the same values (kept byte for byte). */
  unchanged: number;
  /** Records that could not be rescored (kept as they were), with why. */
  failed: { key: string; model: string; seed: number; reason: string }[];
  /** Whether the file was rewritten (only when `changed` > 0). */
  rewritten: boolean;
}

/** The rows of each line of a results file: its text and, when it is a record, the parsed record. */
interface Line {
  text: string;
  record?: StudyRecord;
}

/**
 * Rescores every record of `file` (see the header) and rewrites it atomically when any changed. Throws when
 * the file cannot be read or written, or changed while it was being rescored; never for a single record.
 */
export function rescoreResults(file: string, options: RescoreOptions): RescoreSummary {
  const log = options.log ?? (() => {});
  const predictionsDir = path.resolve(options.predictionsDir ?? defaultPredictionsDir(file));
  const before = fs.statSync(file);
  const text = fs.readFileSync(file, "utf8");
  const parts = text.split("\n");
  const tail = parts.pop() ?? ""; // "" when the file ends with "\n"; else a partial last line, kept as is
  const lines: Line[] = parts.map((t) => ({ text: t, record: parseRecord(t) }));
  const summary: RescoreSummary = { file, records: 0, changed: 0, unchanged: 0, failed: [], rewritten: false };

  // Each key's first line is the record (as readResults reads it); later lines of a key are left alone.
  const firsts = new Map<string, Line>();
  for (const l of lines) if (l.record && !firsts.has(l.record.key)) firsts.set(l.record.key, l);
  summary.records = firsts.size;
  const byData = new Map<string, Line[]>();
  for (const l of firsts.values()) {
    const id = dataIdOf(l.record!);
    byData.set(id, [...(byData.get(id) ?? []), l]);
  }
  const newText = new Map<Line, string>();
  const code = codeVersion();
  const at = new Date().toISOString();
  for (const group of byData.values()) {
    let data: PreparedData;
    try {
      data = loadDataOf(group[0].record!, options.dataRoot, log);
    } catch (e) {
      for (const l of group) summary.failed.push(failure(l.record!, e));
      continue;
    }
    for (const l of group) {
      const r = l.record!;
      try {
        const { test, reliability } = rescoreRecord(r, data, predictionsDir);
        if (canonicalJson(roundTrip(test)) === canonicalJson(r.test) && canonicalJson(roundTrip(reliability)) === canonicalJson(r.reliability)) {
          summary.unchanged++;
        } else {
          summary.changed++;
          newText.set(l, JSON.stringify({ ...r, test, reliability, rescored: { at, codeVersion: code } }));
        }
      } catch (e) {
        summary.failed.push(failure(r, e));
      }
    }
  }
  if (summary.changed === 0) return summary;

  const out = lines.map((l) => newText.get(l) ?? l.text).join("\n") + "\n" + tail;
  const now = fs.statSync(file);
  if (now.size !== before.size || now.mtimeMs !== before.mtimeMs) throw new Error(`${file} changed while it was being rescored (a study writing to it?); nothing replaced, rerun when it is done`);
  replaceFile(file, out);
  summary.rewritten = true;
  return summary;
}

/** The new `test` and `reliability` of record `r` from its sidecar and `data` (the data it was computed on). Throws on a mismatch. */
function rescoreRecord(r: StudyRecord, data: PreparedData, predictionsDir: string): Pick<StudyRecord, "test" | "reliability"> {
  const stored = readPredictions(predictionsDir, r.key);
  const h = stored.header;
  if (h.key !== r.key) throw new Error(`sidecar ${r.key}.bin names run ${h.key}`);
  if (h.rows !== data.test.size) throw new Error(`sidecar has ${h.rows} rows, the data's test split ${data.test.size}`);
  if (r.dataManifest?.sha256 && h.manifestSha256 !== r.dataManifest.sha256) throw new Error(`sidecar was computed on data ${h.manifestSha256.slice(0, 12)}, the record on ${r.dataManifest.sha256.slice(0, 12)}`);
  const widen = (a: Float32Array | undefined) => (a ? Float64Array.from(a) : undefined); // exact: the run's predictions were float32 values
  const preds = { pCtcvr: widen(stored.pCtcvr)!, pCtr: widen(stored.pCtr), pCvr: widen(stored.pCvr) };
  return scoreTestWithReliability(data.test, preds);
}

/** Identifies the data a record was computed on (its data cache key, or its real data folder and hash). */
function dataIdOf(r: StudyRecord): string {
  const source = r.config?.data ? dataSourceOf(r.config.data).source : undefined; // data-source.ts: which source the spec names
  return source?.kind === "prepared" ? `prepared:${source.dir}:${source.sha256}` : `cache:${r.dataManifest?.dataKey}:${r.dataManifest?.sha256}`;
}

/**
 * The prepared data record `r` was computed on: real data from its folder (checked against its content
 * hash); simulated data from `<dataRoot>/<dataKey>`, made again when missing and today's code keys that
 * DataSpec alike. Throws (one line) when the data is gone or is not the record's.
 */
function loadDataOf(r: StudyRecord, dataRoot: string, log: (line: string) => void): PreparedData {
  const spec = r.config?.data;
  if (!spec) throw new Error("record has no config.data");
  let dir: string;
  if (isOneDataSet(spec)) dir = findPreparedData(spec, dataRoot)!; // real data, used in place: throws when missing or different
  else {
    const key = r.dataManifest?.dataKey;
    if (!key) throw new Error("record names no data key");
    dir = path.join(dataRoot, key);
    if (!fs.existsSync(path.join(dir, DATA_SPEC_FILE))) {
      const today = dataSpecKey(spec);
      if (today !== key) throw new Error(`data ${key} is not in ${dataRoot}, and today's code makes other data for its spec (${today})`);
      log(`rescore: data ${key} is not in ${dataRoot}: simulating and preparing it again`);
      dir = ensurePreparedData(spec, dataRoot, { onStatus: (m) => log(`rescore: ${m}`) });
    }
    const info = preparedDataInfo(dir);
    if (r.dataManifest.sha256 && info.summary.sha256 !== r.dataManifest.sha256) {
      throw new Error(`data ${key} in ${dataRoot} has manifest ${info.summary.sha256.slice(0, 12)}, the record ${r.dataManifest.sha256.slice(0, 12)}`);
    }
  }
  log(`rescore: reading data ${dir}`);
  return readPrepared(dir);
}

function parseRecord(line: string): StudyRecord | undefined {
  if (line.trim() === "") return undefined;
  try {
    const r = JSON.parse(line) as Partial<StudyRecord>;
    return r && typeof r === "object" && typeof r.key === "string" && typeof r.model === "string" && r.test && typeof r.test === "object" ? (r as StudyRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** A value as it reads back from its JSON line (NaN and undefined members as the file has them). */
function roundTrip<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function failure(r: StudyRecord, e: unknown) {
  const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0];
  return { key: r.key, model: r.model, seed: r.seed, reason };
}

/** Writes `text` to a temporary file beside `file`, fsyncs it, renames it over `file`, fsyncs the folder. */
function replaceFile(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.rescore-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
  const fd = fs.openSync(tmp, "w", fs.statSync(file).mode & 0o777);
  try {
    const bytes = Buffer.from(text, "utf8");
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  try {
    const dirFd = fs.openSync(path.dirname(file), "r");
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    /* folders cannot be fsynced on every platform */
  }
}
