/**
 * Prepared data sets of a study, simulated and prepared once per distinct DataSpec: the study's DataSpec (the
 * spec file's format) as a data source and a preparation (`dataSourceOf`), materialized by lib/sources.
 *
 * `ensurePreparedData(spec, root)` returns `<root>/<dataKey>`, a folder that `readPrepared` loads in
 * milliseconds and that also holds the simulator's `manifest.json` and the `data-spec.json` it was made
 * from. `dataKey` is the "simulated" source kind's key (lib/sources/simulated.ts: the resolved DataSpec and
 * the data numerics version, numerics.ts), so simulator or preparation code that makes other data gets a new
 * folder (old ones can be deleted), and a comment in lib/data does not. The cache itself (temporary folder,
 * rename, races, dead processes' leftovers) is lib/sources/materialize.ts.
 *
 * Real data (`spec.prepared`, real-data.ts): the folder itself is the data set, wherever it is; its key is its
 * content hash's first 16 hex digits, and these functions check it against the spec and never simulate it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Preparation } from "../data/prepare";
import { PREPARED_FILE } from "../data/prepared-files";
import { MANIFEST_FILE, readManifest } from "../data/simulated-files";
import { findMaterialized, materializedDir, materializeSync } from "../sources/materialize";
import { DataSource, sourceKind } from "../sources/registry";
import { DATA_SPEC_FILE } from "../sources/simulated";
import { sha256Hex } from "./results";
import { checkPreparedSpec, PreparedDataInfo, preparedFolderInfo } from "./real-data";
import type { DataSpec } from "./spec";
import type { EmbeddingUpdates } from "../train/rowwise";

export { DATA_SPEC_FILE } from "../sources/simulated";
export type { PreparedDataInfo } from "./real-data";

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
 * The embedding-update rule a run on `spec`'s data uses when its train config does not say: its source kind's
 * `embeddingUpdates` (simulated "dense", real data "rowwise": lib/sources/kind.ts, docs/embedding-updates.md).
 */
export function embeddingUpdatesFor(spec: DataSpec): EmbeddingUpdates {
  return sourceKind(dataSourceOf(spec).source).embeddingUpdates;
}

/** 16 hex digits identifying a DataSpec: its source kind's key (simulated: the resolved spec under the data numerics version; real data: its content hash's first 16). */
export function dataSpecKey(spec: DataSpec): string {
  const { source, preparation } = dataSourceOf(spec);
  return sourceKind(source).key(source, preparation);
}

/** The folder of `spec` under `root` (a prepared folder: its own dir). */
export function dataCacheDir(spec: DataSpec, root: string): string {
  const { source, preparation } = dataSourceOf(spec);
  return materializedDir(source, preparation, root);
}

/**
 * The prepared folder of `spec` when it is already in the cache, else undefined. Real data: its folder, after
 * checking that it is the data the spec names (throws when it is missing or differs: see checkPreparedSpec).
 */
export function findPreparedData(spec: DataSpec, root: string): string | undefined {
  if (spec.prepared) {
    checkPreparedSpec(spec);
    return spec.prepared.dir;
  }
  const { source, preparation } = dataSourceOf(spec);
  return findMaterialized(source, preparation, root);
}

export interface EnsureDataOptions {
  /** Keep the simulated day CSVs in `<dir>/log/` (default false). */
  keepLog?: boolean;
  /** Called with a short status line ("simulating", "preparing"). */
  onStatus?: (message: string) => void;
}

/**
 * Simulates and prepares `spec` into `<root>/<dataKey>` unless it is there already; returns that folder.
 * Real data is checked (checkPreparedSpec), never made. Throws before simulating when the simulator's scaled
 * days are not the default split plan's test and later days (evaluationDays vs laterDays + 1, see
 * `checkEvaluationScaling`).
 */
export function ensurePreparedData(spec: DataSpec, root: string, options: EnsureDataOptions = {}): string {
  if (spec.prepared) return findPreparedData(spec, root)!; // real data is never made here
  const { source, preparation } = dataSourceOf(spec);
  return materializeSync(source, preparation, { root, ...options });
}

/**
 * The manifest of a cached data folder and the summary that goes into each result record. A prepared folder
 * without a simulator manifest is real data: its summary comes from prepared.json (real-data.ts).
 */
export function preparedDataInfo(dir: string): PreparedDataInfo {
  if (!fs.existsSync(path.join(dir, MANIFEST_FILE)) && fs.existsSync(path.join(dir, PREPARED_FILE))) return preparedFolderInfo(dir);
  const manifest = readManifest(dir);
  const bytes = fs.readFileSync(path.join(dir, MANIFEST_FILE));
  const dataKey = (JSON.parse(fs.readFileSync(path.join(dir, DATA_SPEC_FILE), "utf8")) as { dataKey: string }).dataKey;
  return {
    dir,
    manifest,
    summary: { dataKey, seed: manifest.seed, totals: manifest.totals, oracle: manifest.oracle, sha256: sha256Hex(bytes) },
  };
}
