/**
 * Prepared data sets of a study, simulated and prepared once per distinct DataSpec.
 *
 * `ensurePreparedData(spec, root)` returns `<root>/<dataKey>`, a folder that `readPrepared` loads in
 * milliseconds and that also holds the simulator's `manifest.json` and the `data-spec.json` it was made
 * from. `dataKey` hashes the resolved DataSpec (simulator config with defaults filled in) and the data
 * numerics version (numerics.ts: the golden data fixture's hash), so simulator or preparation code that makes
 * other data gets a new folder (old ones can be deleted), and a comment in lib/data does not.
 *
 * Safe under races: the data is built in a temporary folder `<root>/.tmp-<dataKey>-<pid>-XXXXXX` and
 * renamed into place; a process that loses the race discards its copy and uses the winner's. A folder
 * under its final name is therefore always complete. Temporary folders of dead processes are removed.
 * The simulated day CSVs are deleted after preparation (the same spec regenerates them byte for byte).
 *
 * Real data (`spec.prepared`, real-data.ts): the folder itself is the data set, wherever it is; its key is its
 * content hash's first 16 hex digits, and these functions check it against the spec and never simulate it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkEvaluationScaling, defaultSplitPlan, prepare } from "../data/prepare";
import { PREPARED_FILE, writePrepared } from "../data/prepared-files";
import { MANIFEST_FILE, SimulationManifest, ensureSimulatedLog, readManifest, readSimulatedLog } from "../data/simulated-files";
import { resolveConfig } from "../data/simulator-config";
import { removeDeadProcessTemps } from "../data/temp-files";
import { canonicalJson, DataManifestSummary, sha256Hex } from "./results";
import { dataNumericsVersion } from "./numerics";
import { checkPreparedSpec, preparedDataKey, preparedFolderInfo } from "./real-data";
import type { DataSpec } from "./spec";
import { makeDirs } from "../data/output-paths";

export const DATA_SPEC_FILE = "data-spec.json";

/** 16 hex digits identifying a DataSpec (resolved simulator config) under the current data numerics version (numerics.ts); real data: its content hash's first 16. */
export function dataSpecKey(spec: DataSpec): string {
  if (spec.prepared) return preparedDataKey(spec.prepared.sha256);
  const { worldPrior: _label, ...data } = spec; // a label: the drawn parameters are in `simulator`
  void _label;
  const resolved = { ...data, simulator: resolveConfig(spec.simulator) };
  return sha256Hex(`${canonicalJson(resolved)}\n${dataNumericsVersion()}`).slice(0, 16);
}

export function dataCacheDir(spec: DataSpec, root: string): string {
  if (spec.prepared) return spec.prepared.dir;
  return path.join(root, dataSpecKey(spec));
}

function isComplete(dir: string): boolean {
  return [PREPARED_FILE, MANIFEST_FILE, DATA_SPEC_FILE].every((f) => fs.existsSync(path.join(dir, f)));
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
  const dir = dataCacheDir(spec, root);
  return isComplete(dir) ? dir : undefined;
}

export interface EnsureDataOptions {
  /** Keep the simulated day CSVs in `<dir>/log/` (default false). */
  keepLog?: boolean;
  /** Called with a short status line ("simulating", "preparing"). */
  onStatus?: (message: string) => void;
}

function removeStaleTemps(root: string, key: string): void {
  removeDeadProcessTemps(root, (name) => {
    const m = /^\.tmp-([0-9a-f]+)-(\d+)-/.exec(name);
    return m && m[1] === key ? Number(m[2]) : undefined;
  });
}

/**
 * Simulates and prepares `spec` into `<root>/<dataKey>` unless it is there already; returns that folder.
 * Throws before simulating when the simulator's scaled days are not the default split plan's test and
 * later days (evaluationDays vs laterDays + 1, see `checkEvaluationScaling`).
 */
export function ensurePreparedData(spec: DataSpec, root: string, options: EnsureDataOptions = {}): string {
  if (spec.prepared) return findPreparedData(spec, root)!; // real data is never made here
  const key = dataSpecKey(spec);
  const dir = path.join(root, key);
  if (isComplete(dir)) return dir;
  const resolved = resolveConfig(spec.simulator);
  checkEvaluationScaling(defaultSplitPlan(resolved.days, spec.laterDays), resolved); // before minutes of simulation
  makeDirs(root);
  removeStaleTemps(root, key);
  const tmp = fs.mkdtempSync(path.join(root, `.tmp-${key}-${process.pid}-`));
  try {
    const logDir = path.join(tmp, "log");
    options.onStatus?.(`simulating ${spec.simulator.impressions ?? "default"} impressions (data ${key})`);
    const { manifest } = ensureSimulatedLog(spec.simulator, spec.simulatorSeed, logDir);
    options.onStatus?.(`preparing data ${key}`);
    const plan = defaultSplitPlan(manifest.days.length, spec.laterDays);
    // no log.bin beside a log that is deleted right below
    const data = prepare(readSimulatedLog(logDir, { cache: options.keepLog ?? false }), {
      plan,
      negativeKeepRate: spec.negativeKeepRate,
      seed: spec.prepareSeed,
      oovMinCount: spec.oovMinCount,
      oovMaskRate: spec.oovMaskRate,
      simulator: manifest.config,
    });
    const manifestBytes = fs.readFileSync(path.join(logDir, MANIFEST_FILE));
    fs.writeFileSync(path.join(tmp, MANIFEST_FILE), manifestBytes);
    writePrepared(tmp, data, {
      kind: "simulated",
      dataKey: key,
      seed: manifest.seed,
      totals: manifest.totals,
      oracle: manifest.oracle,
      manifestSha256: sha256Hex(manifestBytes),
    });
    if (!options.keepLog) fs.rmSync(logDir, { recursive: true, force: true });
    // Written last: its presence (with prepared.json and manifest.json) marks a complete folder.
    fs.writeFileSync(path.join(tmp, DATA_SPEC_FILE), JSON.stringify({ dataKey: key, spec, resolvedSimulator: resolveConfig(spec.simulator) }, null, 1) + "\n");
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === "ENOTEMPTY" || code === "EEXIST") && isComplete(dir)) {
        fs.rmSync(tmp, { recursive: true, force: true }); // another process won the race
      } else if (code === "ENOTEMPTY" || code === "EEXIST") {
        throw new Error(`data cache: ${dir} exists but is incomplete (not made by esmm-lab?); delete it and retry`);
      } else throw e;
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

export interface PreparedDataInfo {
  dir: string;
  /** The simulator's manifest (simulated data only). */
  manifest?: SimulationManifest;
  summary: DataManifestSummary;
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
