/**
 * Real data in a study (issue 15, point 4): a prepared folder is the study's one data set, used as it is.
 *
 *   const dir = await ensureRealData("test/fixtures/ali-ccp", { root: defaultDataRoot() }); // prepared once
 *   const spec: StudySpec = { name: "real-data", models, seeds, data: preparedDataSpec(dir) };
 *   await runStudy(spec, { results: "runs/real-data.jsonl" });
 *
 * - Sources (`ensureRealData`): a folder written by `esmm prepare` (`prepared.json`; `esmm prepare --csv` for
 *   any impression log in CSV files) is used in place; a folder with the processed Ali-CCP CSV files
 *   (`ali_ccp_{train,val,test}.csv`, torch-rechub's layout, or the repository's `*_sample.csv` files; read by
 *   lib/data/ali-ccp.ts, train/val/test = days 0/1/2, no later days) is prepared once into
 *   `<root>/ali-ccp-<key>` by lib/sources materialize (the "ali-ccp" source kind says how it is keyed: the
 *   files' paths, sizes and modification times, the preparation and the data numerics version). The raw
 *   Ali-CCP release is recognised too (source kind "ali-ccp-raw"). Preparation defaults: lib/data/prepare.ts
 *   DEFAULT_PREPARATION, as `esmm prepare`, `esmm train` and the study.
 * - Identity: `preparedFolderSha256` (lib/sources/prepared.ts) hashes prepared.json (without its `source`, which says where the files
 *   were) and the split files it lists; this hash names the data in run keys and in `matchRecords`, so the
 *   folder can move, and a folder prepared again differently gets new runs. Hashing reads every split file
 *   (as each worker does to load them); it is memoised per process on the files' sizes and modification times.
 * - The spec (`preparedDataSpec`): `prepared: { dir, sha256 }`, `prepareSeed` and `negativeKeepRate` as the
 *   folder was prepared (its report), `laterDays` its later days, and the format's placeholders `simulator` {}
 *   and `simulatorSeed` 0 (kept so that no run key moves: test/run-keys-pinned.test.ts; no code reads them as a
 *   world of real data). Its runs are one data replicate, the prepared folder (draw = its preparation seed;
 *   data-source.ts dataReplicateOf, shown by `replicateText`), in summary.ts replicateOf and compare.ts. The
 *   runner checks the spec against the folder before any run (`checkPreparedSpec`) and never simulates or
 *   prepares it again.
 * - No truth: the runs' records have no oracle and no mechanism metrics (run.ts scores truth only when the
 *   data has it), and their data summary no oracle; totals are over the prepared splits, a downsampled
 *   training row counted by its weight.
 */
import * as path from "node:path";
import type { LoadProgress } from "../data/csv-fields";
import type { TextEncoding } from "../data/line-reader";
import type { Preparation } from "../data/prepare";
import { PREPARED_FILE } from "../data/prepared-files";
import { materialize } from "../sources/materialize";
import { preparedDataKey, preparedFolderSha256, preparedSource, readPreparedJson } from "../sources/prepared";
import { ALI_CCP_LAYOUTS } from "../sources/ali-ccp";
import { sourceFromFolder } from "../sources/registry";
import * as fs from "node:fs";
import type { SimulationManifest } from "../data/simulated-files";
import { canonicalJson, DataManifestSummary } from "./results";
import type { DataSpec } from "./spec";

export { ALI_CCP_LAYOUTS, findAliCcpFiles } from "../sources/ali-ccp";
export { preparedDataKey, preparedFolderSha256 } from "../sources/prepared";
export { dataReplicateOf, replicateText } from "./data-source";
export type { DataReplicate } from "./data-source";

/** A data folder as the runner sees it: its dir, the simulator's manifest (simulated data only) and the summary each record holds. */
export interface PreparedDataInfo {
  dir: string;
  /** The simulator's manifest (simulated data only). */
  manifest?: SimulationManifest;
  summary: DataManifestSummary;
}

/** The DataSpec of a prepared folder as the study's one data set (see the header). */
export function preparedDataSpec(dir: string): DataSpec {
  const abs = path.resolve(dir);
  const { json } = readPreparedJson(abs);
  return {
    simulator: {},
    simulatorSeed: 0,
    negativeKeepRate: json.report.negativeKeepRate,
    laterDays: json.plan.laterDays.length,
    prepareSeed: json.report.seed,
    oovMinCount: json.report.oovMinCount ?? 1,
    oovMaskRate: json.report.oovMaskRate ?? 0,
    prepared: { dir: abs, sha256: preparedFolderSha256(abs) },
  };
}

/**
 * Throws unless `spec` is exactly what `preparedDataSpec` gives for its folder now: the folder was prepared
 * again or changed since the spec was made, or the spec was edited (worlds, draws, a variant's data),
 * which real data cannot follow.
 */
export function checkPreparedSpec(spec: DataSpec): void {
  if (!spec.prepared) throw new Error("checkPreparedSpec: not a prepared-data spec");
  const dir = preparedSource.inPlace!({ kind: "prepared", dir: spec.prepared.dir }); // missing, not prepared, or its inputs changed
  const now = preparedDataSpec(dir);
  const differs = (Object.keys(now) as (keyof DataSpec)[]).filter((k) => canonicalJson(now[k]) !== canonicalJson(spec[k]));
  if (differs.length > 0) {
    throw new Error(
      `real data: the spec of ${dir} does not match the folder (${differs.map((k) => `${k}: ${canonicalJson(spec[k])} vs ${canonicalJson(now[k])} in the folder`).join("; ")}); ` +
        `make it again with preparedDataSpec(dir) (a real data set has no worlds or draws: another draw is another prepared folder)`,
    );
  }
}

/** The runner's view of a prepared folder: its dir and the summary each record holds (no oracle). */
export function preparedFolderInfo(dir: string): PreparedDataInfo {
  const abs = path.resolve(dir);
  const { json } = readPreparedJson(abs);
  const sha256 = preparedFolderSha256(abs);
  let impressions = 0;
  let clicks = 0;
  let conversions = 0;
  for (const s of json.report.splits) {
    impressions += s.weightedRows;
    clicks += s.clicks;
    conversions += s.conversions;
  }
  const summary: DataManifestSummary = {
    dataKey: preparedDataKey(sha256),
    seed: 0,
    totals: { impressions, clicks, conversions, ctr: clicks / impressions, cvr: clicks > 0 ? conversions / clicks : NaN, ctcvr: conversions / impressions },
    sha256,
  };
  return { dir: abs, summary };
}

// ---------------------------------------------------------------------------------------------------
// Sources: a folder of any kind lib/sources recognises, materialized once

export interface RealDataOptions extends Partial<Preparation> {
  /** Where a folder of raw files is prepared (`<root>/ali-ccp-<key>`, ...); e.g. defaultDataRoot(). */
  root: string;
  /** Status lines ("preparing ..."). */
  onStatus?: (line: string) => void;
  /** Progress of reading the files (rows read of the data lines counted first). */
  onProgress?: LoadProgress;
  /** How the Ali-CCP files' bytes are read (line-reader.ts): "utf8" (default; other bytes are refused) or "latin1". Ignored for a prepared folder. */
  encoding?: TextEncoding;
}

/**
 * The prepared folder of `source`: `source` itself when it is one (prepared.json), else its files (processed
 * Ali-CCP, or the raw release) materialized under `options.root` with the preparation in `options` (keep rate,
 * seed, OOV rules; missing ones lib/data/prepare.ts DEFAULT_PREPARATION's), unless there already. Throws when
 * `source` does not exist or is none of these.
 */
export async function ensureRealData(source: string, options: RealDataOptions): Promise<string> {
  const src = path.resolve(source);
  if (!fs.existsSync(src)) throw new Error(`real data: ${src} does not exist`);
  const found = sourceFromFolder(src);
  if (!found) {
    throw new Error(
      `real data: ${src} is neither a prepared folder (${PREPARED_FILE}, written by \`esmm prepare\`, e.g. \`esmm prepare --csv ...\` for any CSV log) ` +
        `nor a processed Ali-CCP folder (${ALI_CCP_LAYOUTS.map((l) => `${l.train}, ${l.val}, ${l.test}`).join(" or ")}) nor the raw Ali-CCP release`,
    );
  }
  const { root, onStatus, onProgress, encoding, ...preparation } = options;
  const withEncoding = encoding !== undefined && found.kind !== "prepared" ? { ...found, encoding } : found;
  return materialize(withEncoding, preparation, { root, onStatus, onProgress });
}
