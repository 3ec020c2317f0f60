/**
 * The one place that says what data a study's DataSpec names (issue 23, point 3): a source of lib/sources and a
 * preparation (`dataSourceOf`). The rest of lib/study asks this module, not the spec's fields:
 *
 * - how a run's data is keyed (`runKeyData`, results.ts computation): a folder used in place (kind "prepared")
 *   by its content hash, not by where it is; simulated data by its spec with the simulator's defaults filled in;
 * - whether the data is one data set (`isOneDataSet`): a folder used in place has no worlds, no downsampling
 *   draws and no world-prior draws (runner.ts, spec.ts expandGrid, rescore.ts);
 * - the embedding-update rule of its runs (`embeddingUpdatesFor`, the source kind's).
 *
 * The DataSpec format is the spec files' and the records' (spec.ts): real data is written as
 * `prepared: { dir, sha256 }` beside `simulator: {}`, `simulatorSeed: 0` and the folder's own preparation, as
 * real-data.ts preparedDataSpec makes it, so that no run key moves (test/run-keys-pinned.test.ts).
 *
 * Imports lib/sources and nothing of lib/study but types, so that results.ts (run keys), spec.ts and data-cache.ts
 * can all ask it without an import cycle.
 */
import type { Preparation } from "../data/prepare";
import { resolveConfig } from "../data/simulator-config";
import { DataSource, sourceKind } from "../sources/registry";
import type { EmbeddingUpdates } from "../train/rowwise";
import type { DataSpec } from "./spec";

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
