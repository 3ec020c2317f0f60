/**
 * The one place that says what data a study's DataSpec names (issue 23, point 3): a source of lib/sources and a
 * preparation (`dataSourceOf`). The rest of lib/study asks this module, not the spec's fields:
 *
 * - how a run's data is keyed (`runKeyData`, results.ts computation): a folder used in place (kind "prepared")
 *   by its content hash, not by where it is; simulated data by its spec with the simulator's defaults filled in;
 * - whether the data is one data set (`isOneDataSet`): a folder used in place has no worlds, no downsampling
 *   draws and no world-prior draws (runner.ts, spec.ts expandGrid, rescore.ts);
 * - the embedding-update rule of its runs (`embeddingUpdatesFor`, the source kind's);
 * - which data replicate its runs are (`dataReplicateOf`) and how that is said to a reader (`replicateText`):
 *   a simulated world and downsampling draw, or a prepared folder and the seed it was prepared with, never
 *   "world 0".
 *
 * The DataSpec format is the spec files' and the records' (spec.ts): real data is written as
 * `prepared: { dir, sha256 }` beside `simulator: {}`, `simulatorSeed: 0` and the folder's own preparation, as
 * real-data.ts preparedDataSpec makes it, so that no run key moves (test/run-keys-pinned.test.ts pins that
 * form). Those two fields are placeholders of the format, nothing more: no code reads them as a simulator or
 * a world of real data; it asks `dataSourceOf` (kind "prepared") or `dataReplicateOf` (a folder).
 *
 * Imports lib/sources and nothing of lib/study but types, so that results.ts (run keys), spec.ts and data-cache.ts
 * can all ask it without an import cycle.
 */
import type { AsRead } from "../analysis/record";
import type { Preparation } from "../data/prepare";
import { resolveConfig } from "../data/simulator-config";
import { preparedDataKey } from "../sources/prepared";
import { DataSource, sourceKind } from "../sources/registry";
import type { EmbeddingUpdates } from "../train/rowwise";
import type { DataSpec } from "./spec";

/**
 * A data replicate: one simulated world (simulator seed) and its downsampling draw (preparation seed), or one
 * prepared folder (real data), named by the first 16 hex digits of its content hash (its data key), with the seed it
 * was prepared with as its draw. Exactly one of `world` and `folder` is set.
 */
export interface DataReplicate {
  /** Simulator seed of a simulated world; absent for real data. */
  world?: number;
  /** Real data: the prepared folder's data key (its content hash's first 16 hex digits); absent for simulated data. */
  folder?: string;
  /** The downsampling draw: the preparation seed (of a prepared folder: the one it was prepared with). */
  draw: number;
}

/**
 * The data source and preparation a DataSpec names: a prepared folder (`spec.prepared`, whose preparation is
 * its own) or the simulator's log under the spec's keep rate, preparation seed and OOV rules (absent OOV
 * fields stay absent: they key as before they existed).
 */
export function dataSourceOf(spec: DataSpec): { source: DataSource; preparation: Partial<Preparation> } {
  if (spec.prepared) return { source: { kind: "prepared", dir: spec.prepared.dir, sha256: spec.prepared.sha256 }, preparation: {} };
  return {
    source: { kind: "simulated", simulator: spec.simulator, simulatorSeed: spec.simulatorSeed, laterDays: spec.laterDays, worldPrior: spec.worldPrior },
    preparation: { negativeKeepRate: spec.negativeKeepRate, seed: spec.prepareSeed, oovMinCount: spec.oovMinCount, oovMaskRate: spec.oovMaskRate },
  };
}

/**
 * True when `spec`'s data is a folder used in place (its source kind has `inPlace`: a prepared folder): one data
 * set, never simulated or prepared again, with no worlds, downsampling draws or world-prior draws of its own.
 */
export function isOneDataSet(spec: DataSpec): boolean {
  return sourceKind(dataSourceOf(spec).source).inPlace !== undefined;
}

/** The DataSpec as a run's computation names it (results.ts `computation`); see the header. Throws what resolveConfig throws for an unknown simulator option. */
export function runKeyData(spec: DataSpec): Omit<DataSpec, "prepared"> & { prepared?: { sha256: string } } {
  const { source } = dataSourceOf(spec);
  if (source.kind === "prepared") return { ...spec, prepared: { sha256: source.sha256! } };
  return { ...spec, simulator: resolveConfig(spec.simulator) };
}

/**
 * The embedding-update rule a run on `spec`'s data uses when its train config does not say: its source kind's
 * `embeddingUpdates` (simulated "dense", real data "rowwise": lib/sources/kind.ts, docs/embedding-updates.md).
 */
export function embeddingUpdatesFor(spec: DataSpec): EmbeddingUpdates {
  return sourceKind(dataSourceOf(spec).source).embeddingUpdates;
}

/** A DataSpec as a results file may hold it (lib/analysis/record.ts AsRead: any field may be missing): the fields dataReplicateOf reads. */
export type StoredDataSpec = Pick<AsRead<DataSpec>, "simulatorSeed" | "prepareSeed" | "prepared">;

/**
 * The data replicate of a DataSpec, as a record stores it (`config.data`, fields possibly missing in old or
 * hand-written records): a prepared folder (`prepared.sha256`'s first 16 hex digits, draw = `prepareSeed`,
 * the seed the folder was prepared with), else (simulatorSeed, prepareSeed), a missing seed counted 0.
 */
export function dataReplicateOf(data: StoredDataSpec | undefined): DataReplicate {
  const draw = data?.prepareSeed ?? 0;
  const source = data ? dataSourceOf(data as DataSpec).source : undefined; // reads only its `prepared`, seeds and simulator fields
  if (source?.kind === "prepared") return { folder: preparedDataKey(source.sha256 ?? ""), draw };
  return { world: data?.simulatorSeed ?? 0, draw };
}

/** The replicate as one key ("7:7", "folder:6c12ae6fddc245ea:3"; a missing world counts 0): equal keys are the same replicate. */
export function replicateCell(r: DataReplicate): string {
  return r.folder !== undefined ? `folder:${r.folder}:${r.draw}` : `${r.world ?? 0}:${r.draw}`;
}

/**
 * The replicate for a reader: "world 7, draw 7", or for real data "the prepared folder 6c12ae6fddc245ea
 * (draw = its preparation seed 3)". Accepts a DataSpec (as stored in a record) or a DataReplicate.
 */
export function replicateText(r: DataReplicate | StoredDataSpec | undefined): string {
  const rep = r !== undefined && "draw" in r ? r : dataReplicateOf(r);
  return rep.folder !== undefined ? `the prepared folder ${rep.folder} (draw = its preparation seed ${rep.draw})` : `world ${rep.world}, draw ${rep.draw}`;
}
