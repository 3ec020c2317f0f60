/**
 * The test day of one data replicate and the stored test predictions of its runs, read back from the data
 * cache and the predictions sidecars, for resampling (lib/study/components.ts studyBootstrap).
 *
 *   const scores = replicateScores(recordsOfOneReplicate, { predictionsDir, dataRoot });
 *
 * Label: click AND conversion for the CTCVR space (the paper's score), click for CTR. Rows are in the
 * prepared order, which the sidecars share (their header names the data key; a mismatch throws).
 */
import * as path from "node:path";
import { isPreparedDir, readPrepared } from "../data/prepared-files";
import type { ReplicateScores } from "./components";
import { dataReplicateOf, isOneDataSet } from "./data-source";
import { ensurePreparedData, findPreparedData, preparedDataInfo } from "./data-cache";
import { readPredictions, StudyRecord } from "./results";

export interface ReplicateScoresOptions {
  /** Folder of the predictions sidecars (`<results without .jsonl>.predictions`). */
  predictionsDir: string;
  /** Data cache folder (default data/study). */
  dataRoot: string;
  /** "ctcvr" (default) or "ctr". */
  space?: "ctcvr" | "ctr";
}

/**
 * Scores of the records of ONE data replicate (they must share config.data), named as the replicate is
 * (data-source.ts dataReplicateOf: a world and draw, or a prepared folder). A simulated data set missing from
 * the cache is simulated and prepared again; a prepared folder is read where it is. Throws when the records
 * span several data sets, when the data is not the data they were scored on (another manifest), or when a
 * sidecar does not match it.
 */
export function replicateScores(records: readonly StudyRecord[], options: ReplicateScoresOptions): ReplicateScores {
  if (records.length === 0) throw new Error("replicateScores: no records");
  const data = records[0].config.data;
  const dataKey = records[0].dataManifest?.dataKey;
  for (const r of records) {
    if (JSON.stringify(r.config.data) !== JSON.stringify(data)) throw new Error(`replicateScores: records of several data sets (${r.model} seed ${r.seed} differs)`);
  }
  // Real data: its prepared folder, where the spec says it is (checked: missing or changed throws), never looked
  // for in the cache. Simulated data: the folder the runs were trained on (named by the record's data key), else
  // the current code's folder for the spec, simulated and prepared again when the cache was cleared
  // (deterministic: the same manifest).
  const recorded = dataKey && !isOneDataSet(data) ? path.join(options.dataRoot, dataKey) : undefined;
  const dir = recorded && isPreparedDir(recorded) ? recorded : (findPreparedData(data, options.dataRoot) ?? ensurePreparedData(data, options.dataRoot));
  const manifest = records[0].dataManifest?.sha256;
  if (manifest && preparedDataInfo(dir).summary.sha256 !== manifest) {
    throw new Error(`replicateScores: the data in ${dir} is not the data the runs were scored on (manifest differs; the simulator changed since): rerun the study`);
  }
  const test = readPrepared(dir).test;
  const space = options.space ?? "ctcvr";
  const label = space === "ctcvr" ? Float64Array.from(test.conversion, (c, i) => c * test.click[i]) : Float64Array.from(test.click);
  const runs = records.map((r) => {
    const stored = readPredictions(options.predictionsDir, r.key);
    if (dataKey && stored.header.dataKey !== dataKey) throw new Error(`replicateScores: predictions of ${r.key} were made on data ${stored.header.dataKey}, the record says ${dataKey}`);
    const p = space === "ctcvr" ? stored.pCtcvr : stored.pCtr;
    if (!p) throw new Error(`replicateScores: ${r.model} seed ${r.seed} stored no ${space} predictions`);
    return { model: r.model, seed: r.seed, p };
  });
  return { ...dataReplicateOf(data), label, weight: test.weight, runs };
}

/**
 * Records grouped by the data set they read (their whole `config.data`: world, draw and the rest of the data spec,
 * compared as replicateScores compares them), groups in order of first appearance, records in their order within.
 */
export function recordsByDataSet<R extends { config: { data: unknown } }>(records: readonly R[]): R[][] {
  const groups = new Map<string, R[]>();
  for (const r of records) {
    const key = JSON.stringify(r.config.data);
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()];
}

/**
 * One loader per data set of `records` (recordsByDataSet), for studyBootstrap (lib/study/components.ts): each reads
 * its replicate's scores (replicateScores, which throws as described there) only when called, so one replicate's
 * predictions are in memory at a time.
 */
export function replicateLoaders(records: readonly StudyRecord[], options: ReplicateScoresOptions): (() => ReplicateScores)[] {
  return recordsByDataSet(records).map((group) => () => replicateScores(group, options));
}
