/**
 * Combining the results files of a study's shards (`esmm merge`), e.g. one per task of a Slurm job array,
 * Kubernetes Indexed Job or AWS Batch array job (`esmm study --shard auto`).
 *
 * - Every line of every file must be a run record (`recordProblem`); a line that is not (including a partial
 *   last line left by a killed shard: rerun that shard, which cuts it off and redoes the run) is a DataError
 *   naming the file and line, and nothing is written.
 * - Records with the same run key are the same computation on the same data with the same code. When they
 *   hold the same results (`resultDifference`: everything but when, where and how fast the run ran) the
 *   later ones are dropped and counted; when they differ (e.g. the same shard run twice on different
 *   backends or thread counts), the merge is refused, naming the key and both places.
 * - With the study's grid, `missingRuns` lists the grid's runs no record computes (matched on what a run
 *   computes, as the reports match them: `matchRecords`).
 * - The records must be one study on one data (`mixedDataProblem`): one study name, one data design per
 *   variant (lib/study/data-identity.ts: config.data without the replicate's seeds) and one data set per
 *   comparison cell (variant, world, draw); else `esmm merge` refuses, naming them and the files that hold
 *   them, unless --allow-mixed.
 * - The output is written atomically (temporary file, fsync, rename), and the kept records' prediction
 *   sidecars are copied beside it (`<out without .jsonl>.predictions/`), where the notebooks look for them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError } from "../data/errors";
import { makeDirs } from "../data/output-paths";
import { canonicalJson, defaultPredictionsDir, matchRecords, predictionsFile, recordProblem, StudyRecord } from "./results";
import type { RunSpec } from "./spec";
import { dataSetLabel, dataSetOf, groupByData, describeDesignDifference } from "./data-identity";
import { replicateText } from "./data-source";

/** A kept record and where it was first read. */
export interface MergedRecord {
  record: StudyRecord;
  file: string;
  /** 1-based. */
  line: number;
}

export interface MergeResult {
  /** The first record of each key, in the order of the files and their lines. */
  records: MergedRecord[];
  /** Records read from each file. */
  perFile: { file: string; records: number }[];
  /** Records dropped because an earlier one had the same key and the same results. */
  duplicates: number;
}

/**
 * Where a run ran and how long it took, and the audit fields: the fields two records of one computation may
 * differ in. `codeVersion` is the source hash, no part of the key (numerics.ts): shards built from sources that
 * differ in comments only share keys; `rescored` says when `esmm rescore` last changed the record. An epoch's
 * `numTensors` counts the tensors of its whole seed group, which a compacted group (lib/train/compaction.ts)
 * has fewer of: one seed's result does not depend on it.
 */
const VOLATILE_TOP = ["finishedAt", "runtime", "timings", "backend", "codeVersion", "rescored"] as const;
const VOLATILE_TRAINING = ["timings", "backend"] as const;
const VOLATILE_EPOCH = ["trainSeconds", "evalSeconds", "examplesPerSecond", "numTensors"] as const;

/** The record without the fields of VOLATILE_*: what it found. */
function results(r: StudyRecord): unknown {
  const out: Record<string, unknown> = { ...r };
  for (const k of VOLATILE_TOP) delete out[k];
  if (r.training && typeof r.training === "object") {
    const t: Record<string, unknown> = { ...r.training };
    for (const k of VOLATILE_TRAINING) delete t[k];
    if (Array.isArray(r.training.epochs)) {
      t.epochs = r.training.epochs.map((e) => {
        const x: Record<string, unknown> = { ...e };
        for (const k of VOLATILE_EPOCH) delete x[k];
        return x;
      });
    }
    out.training = t;
  }
  return JSON.parse(canonicalJson(out));
}

/**
 * Where two records of one key differ in their results (the first path, e.g. "test.metrics.ctcvr.logLoss:
 * 0.0071 vs 0.0072"), or undefined when they agree on everything but VOLATILE_TOP's fields (finishedAt, runtime,
 * timings, backend, codeVersion, rescored) and the training's timings and backend.
 */
export function resultDifference(a: StudyRecord, b: StudyRecord): string | undefined {
  return firstDifference(results(a), results(b), "");
}

function firstDifference(a: unknown, b: unknown, at: string): string | undefined {
  const show = (x: unknown) => {
    const s = JSON.stringify(x) ?? "undefined";
    return s.length > 40 ? `${s.slice(0, 37)}...` : s;
  };
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(a, b) ? undefined : `${at || "(record)"}: ${show(a)} vs ${show(b)}`;
}

/**
 * The run as one line of text: "ESMM seed 2, world 7, draw 7 (variant default)"; on real data "ESMM seed 2, the
 * prepared folder 6c12ae6fddc245ea (draw = its preparation seed 3) (variant default)" (data-source.ts replicateText).
 */
export function describeRun(run: Pick<RunSpec, "model" | "seed" | "variant" | "data">): string {
  return `${run.model} seed ${run.seed}, ${replicateText(run.data)} (variant ${run.variant ?? "default"})`;
}

/**
 * Reads and merges results files (see the header). Throws a DataError on a line that is not a run record
 * (file and line), on two records of one key with different results (the key and both places), and on a
 * file that cannot be read.
 */
export function mergeResultFiles(files: string[]): MergeResult {
  const byKey = new Map<string, MergedRecord>();
  const out: MergeResult = { records: [], perFile: [], duplicates: 0 };
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new DataError({ file }, `cannot read (${(e as Error).message})`);
    }
    const lines = text.split("\n");
    let count = 0;
    for (const [i, line] of lines.entries()) {
      if (line.trim() === "") continue;
      const at = { file, line: i + 1 };
      const partial = i === lines.length - 1 ? " (a partial last line: rerun the shard that wrote it, which cuts it off and redoes that run)" : "";
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw new DataError(at, `not JSON${partial || ` (${(e as Error).message})`}`);
      }
      const problem = recordProblem(value);
      if (problem) throw new DataError(at, `not a run record: ${problem}${partial}`);
      const record = value as StudyRecord;
      count++;
      const held = byKey.get(record.key);
      if (!held) {
        const kept = { record, ...at };
        byKey.set(record.key, kept);
        out.records.push(kept);
        continue;
      }
      const difference = resultDifference(held.record, record);
      if (difference) {
        throw new DataError(
          at,
          `run ${record.key} (${describeRun({ ...record.config, model: record.model, seed: record.seed, variant: record.variant })}) is also in ${held.file}:${held.line} with different results (${difference}); keep one of them`,
        );
      }
      out.duplicates++;
    }
    out.perFile.push({ file, records: count });
  }
  return out;
}

/** The runs of `grid` that no record computes (matchRecords), in grid order. */
export function missingRuns(grid: RunSpec[], records: StudyRecord[]): RunSpec[] {
  return matchRecords(grid, records)
    .filter((m) => !m.record)
    .map((m) => m.run);
}

/** Writes the records as a results file, atomically: a temporary file beside it, fsync, rename. */
export function writeResultsFile(file: string, records: StudyRecord[]): void {
  const dir = path.dirname(path.resolve(file));
  makeDirs(dir);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, records.map((r) => JSON.stringify(r) + "\n").join(""));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Copies each kept record's predictions sidecar from beside the file it came from
 * (`<file without .jsonl>.predictions/<key>.bin`) to `toDir` (each copy atomic: temporary file, rename).
 * Counts the sidecars copied, already there (same path, or a file of the same size) and not found.
 */
export function copyPredictions(records: MergedRecord[], toDir: string): { copied: number; present: number; missing: number } {
  const counts = { copied: 0, present: 0, missing: 0 };
  for (const { record, file } of records) {
    const from = predictionsFile(path.resolve(defaultPredictionsDir(file)), record.key);
    const to = predictionsFile(path.resolve(toDir), record.key);
    if (!fs.existsSync(from)) {
      if (fs.existsSync(to)) counts.present++;
      else counts.missing++;
      continue;
    }
    if (from === to || (fs.existsSync(to) && fs.statSync(to).size === fs.statSync(from).size)) {
      counts.present++;
      continue;
    }
    makeDirs(path.dirname(to));
    const tmp = `${to}.tmp-${process.pid}`;
    fs.copyFileSync(from, tmp);
    fs.renameSync(tmp, to);
    counts.copied++;
  }
  return counts;
}

/**
 * Why the merged records are not one study on one data, in one line naming what is mixed and the files
 * holding each part, or undefined when they are: more than one study name; a variant whose records span
 * several data designs (e.g. a quick-profile shard and a full-profile one, or a study run with
 * --impressions 100000); a comparison cell (variant, world, draw) whose records read different data sets
 * (e.g. the data regenerated by other code between two shards).
 */
export function mixedDataProblem(records: readonly MergedRecord[]): string | undefined {
  const filesOf = (ms: readonly MergedRecord[]) => {
    const counts = new Map<string, number>();
    for (const m of ms) counts.set(m.file, (counts.get(m.file) ?? 0) + 1);
    return [...counts].map(([f, n]) => `${f}: ${n}`).join(", ");
  };
  const byStudy = new Map<string, MergedRecord[]>();
  for (const m of records) {
    const name = m.record.study ?? "(no name)";
    if (!byStudy.has(name)) byStudy.set(name, []);
    byStudy.get(name)!.push(m);
  }
  if (byStudy.size > 1) {
    return `the records come from ${byStudy.size} studies: ${[...byStudy].map(([name, ms]) => `${JSON.stringify(name)} (${filesOf(ms)})`).join(", ")}`;
  }
  const byVariant = new Map<string, MergedRecord[]>();
  for (const m of records) {
    const v = m.record.variant ?? "default";
    if (!byVariant.has(v)) byVariant.set(v, []);
    byVariant.get(v)!.push(m);
  }
  for (const [variant, ms] of byVariant) {
    const groups = groupByData(ms.map((m) => ({ ...m.record, merged: m })));
    if (groups.length > 1) {
      const [first, ...rest] = groups;
      const part = (g: (typeof groups)[number]) => `${g.id} (${filesOf(g.records.map((r) => r.merged))}`;
      return (
        `variant "${variant}" was computed on ${groups.length} data designs: ${part(first)})` +
        rest.map((g) => `, ${part(g)}; ${describeDesignDifference(first.design, g.design)})`).join("")
      );
    }
    const cells = new Map<string, Map<string, MergedRecord[]>>();
    for (const m of ms) {
      const cell = replicateText(m.record.config.data);
      let sets = cells.get(cell);
      if (!sets) cells.set(cell, (sets = new Map()));
      const set = dataSetOf(m.record);
      if (!sets.has(set)) sets.set(set, []);
      sets.get(set)!.push(m);
    }
    for (const [cell, sets] of cells) {
      if (sets.size < 2) continue;
      return `variant "${variant}", ${cell}: the records read ${sets.size} different data sets, ${[...sets.values()].map((g) => `${dataSetLabel(g[0].record)} (${filesOf(g)})`).join(" and ")}`;
    }
  }
  return undefined;
}
