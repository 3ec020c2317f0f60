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
 * Which source a DataSpec names, and so how it is keyed and found, is data-source.ts `dataSourceOf`. Real data
 * (a prepared folder, real-data.ts): the folder itself is the data set, wherever it is; its key is its content
 * hash's first 16 hex digits, and these functions check it against the spec and never simulate it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PREPARED_FILE } from "../data/prepared-files";
import { MANIFEST_FILE, readManifest } from "../data/simulated-files";
import { findMaterialized, materializedDir, materializeSync } from "../sources/materialize";
import { sourceKind } from "../sources/registry";
import { DATA_SPEC_FILE } from "../sources/simulated";
import { sha256Hex } from "./results";
import { dataSourceOf, isOneDataSet } from "./data-source";
import { checkPreparedSpec, PreparedDataInfo, preparedFolderInfo } from "./real-data";
import type { DataSpec } from "./spec";

export { DATA_SPEC_FILE } from "../sources/simulated";
export { dataSourceOf, embeddingUpdatesFor } from "./data-source";
export type { PreparedDataInfo } from "./real-data";

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
 * Throws unless `spec` can name the data it names: a folder used in place (real data) must be exactly what its
 * folder's spec is now (real-data.ts checkPreparedSpec: the folder missing, prepared again or changed, or the
 * spec edited); simulated data is whatever its spec simulates.
 */
function checkDataSpec(spec: DataSpec): void {
  if (isOneDataSet(spec)) checkPreparedSpec(spec);
}

/**
 * The prepared folder of `spec` when it is already in the cache, else undefined. Real data: its folder, after
 * checking that it is the data the spec names (throws when it is missing or differs: see checkPreparedSpec).
 */
export function findPreparedData(spec: DataSpec, root: string): string | undefined {
  checkDataSpec(spec);
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
  checkDataSpec(spec);
  const { source, preparation } = dataSourceOf(spec); // real data is used in place (materializeSync never writes it)
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
