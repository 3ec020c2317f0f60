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
 *   `<root>/ali-ccp-<key>` (key: the files' paths, sizes and modification times, the keep rate, the seed and
 *   the data numerics version, numerics.ts), atomically as in data-cache.ts.
 * - Identity: `preparedFolderSha256` hashes prepared.json (without its `source`, which says where the files
 *   were) and the split files it lists; this hash names the data in run keys and in `matchRecords`, so the
 *   folder can move, and a folder prepared again differently gets new runs. Hashing reads every split file
 *   (as each worker does to load them); it is memoised per process on the files' sizes and modification times.
 * - The spec (`preparedDataSpec`): `prepared: { dir, sha256 }`, `simulator` {}, `simulatorSeed` 0,
 *   `prepareSeed` and `negativeKeepRate` as the folder was prepared (its report), `laterDays` its later days.
 *   Its runs are therefore one data replicate, (world 0, draw = preparation seed), in summary.ts replicateOf
 *   and compare.ts. The runner checks the spec against the folder before any run (`checkPreparedSpec`) and
 *   never simulates or prepares it again.
 * - No truth: the runs' records have no oracle and no mechanism metrics (run.ts scores truth only when the
 *   data has it), and their data summary no oracle; totals are over the prepared splits, a downsampled
 *   training row counted by its weight.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { LoadProgress, loadAliCcpSplitsLog } from "../data/ali-ccp";
import type { TextEncoding } from "../data/line-reader";
import { DEFAULT_NEGATIVE_KEEP_RATE, DEFAULT_OOV_MASK_RATE, DEFAULT_OOV_MIN_COUNT, prepare, PrepareReport, SplitPlan } from "../data/prepare";
import { checkPreparedInputs, hashFileInto, isPreparedDir, PREPARED_FILE, writePrepared } from "../data/prepared-files";
import { removeDeadProcessTemps } from "../data/temp-files";
import type { PreparedDataInfo } from "./data-cache";
import { canonicalJson, DataManifestSummary, sha256Hex } from "./results";
import { dataNumericsVersion } from "./numerics";
import type { DataSpec } from "./spec";
import { makeDirs } from "../data/output-paths";

/** What this module reads of prepared.json (lib/data/prepared-files.ts writes it). */
interface PreparedJson {
  source?: Record<string, unknown>;
  plan: SplitPlan;
  report: PrepareReport;
  splits: { train: { file: string }; validation: { file: string }; test: { file: string }; later: { file: string }[] };
}

function readPreparedJson(dir: string): { text: string; json: PreparedJson } {
  const file = path.join(dir, PREPARED_FILE);
  if (!fs.existsSync(file)) throw new Error(`real data: ${dir} is not a prepared folder (no ${PREPARED_FILE}; prepare it with \`esmm prepare\` or ensureRealData)`);
  const text = fs.readFileSync(file, "utf8");
  return { text, json: JSON.parse(text) as PreparedJson };
}

function splitFiles(json: PreparedJson): string[] {
  const s = json.splits;
  return [s.train, s.validation, s.test, ...s.later].map((x) => x.file);
}

const shaMemo = new Map<string, { stamp: string; sha256: string }>();

/**
 * sha256 (64 hex digits) of a prepared folder's content: prepared.json without `source`, as canonical JSON,
 * then each split file's bytes in the order prepared.json lists them. Memoised per process while the files'
 * sizes and modification times stay the same. Throws when the folder or a split file is missing.
 */
export function preparedFolderSha256(dir: string): string {
  const abs = path.resolve(dir);
  const { text, json } = readPreparedJson(abs);
  const files = splitFiles(json).map((f) => path.join(abs, f));
  const stamp = [path.join(abs, PREPARED_FILE), ...files]
    .map((f) => {
      const st = fs.statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    })
    .join("\n");
  const held = shaMemo.get(abs);
  if (held && held.stamp === stamp) return held.sha256;
  const { source: _source, ...content } = JSON.parse(text) as PreparedJson;
  void _source;
  const h = crypto.createHash("sha256").update("esmm-lab/prepared-content@1\n").update(canonicalJson(content)).update("\n");
  for (const f of files) {
    hashFileInto(h.update(path.basename(f)).update("\0"), f).update("\0");
  }
  const sha256 = h.digest("hex");
  shaMemo.set(abs, { stamp, sha256 });
  return sha256;
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

/** The data key of a prepared folder: its sha256's first 16 hex digits. */
export function preparedDataKey(sha256: string): string {
  return sha256.slice(0, 16);
}

/**
 * Throws unless `spec` is exactly what `preparedDataSpec` gives for its folder now: the folder was prepared
 * again or changed since the spec was made, or the spec was edited (worlds, draws, a variant's data),
 * which real data cannot follow.
 */
export function checkPreparedSpec(spec: DataSpec): void {
  if (!spec.prepared) throw new Error("checkPreparedSpec: not a prepared-data spec");
  const dir = spec.prepared.dir;
  if (!isPreparedDir(dir)) throw new Error(`real data: ${dir} is missing or not a prepared folder (real data cannot be made again: prepare it first)`);
  checkPreparedInputs(dir); // a DataError when the file it was prepared from has changed since
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
// Sources: a prepared folder, or the processed Ali-CCP CSV files prepared once

/** File names of the processed Ali-CCP layout: the full release (torch-rechub's output) and the repository's sample. */
export const ALI_CCP_LAYOUTS = [
  { train: "ali_ccp_train.csv", val: "ali_ccp_val.csv", test: "ali_ccp_test.csv" },
  { train: "ali_ccp_train_sample.csv", val: "ali_ccp_val_sample.csv", test: "ali_ccp_test_sample.csv" },
] as const;

/** The processed Ali-CCP files in `dir` (the full release's names first), or undefined. */
export function findAliCcpFiles(dir: string): { train: string; val: string; test: string } | undefined {
  const layout = ALI_CCP_LAYOUTS.find((l) => [l.train, l.val, l.test].every((f) => fs.existsSync(path.join(dir, f))));
  return layout ? { ...layout } : undefined;
}

export interface RealDataOptions {
  /** Where an Ali-CCP folder is prepared (`<root>/ali-ccp-<key>`); e.g. defaultDataRoot(). */
  root: string;
  /** Keep rate of non-clicked training rows, weight 1/r (default 0.1). Ignored for a prepared folder. */
  negativeKeepRate?: number;
  /** Seed of the downsampling draw (default 1, as `esmm prepare`). Ignored for a prepared folder. */
  seed?: number;
  /** The OOV rules' k and m (defaults DEFAULT_OOV_MIN_COUNT, DEFAULT_OOV_MASK_RATE, as `esmm prepare`). Ignored for a prepared folder. */
  oovMinCount?: number;
  oovMaskRate?: number;
  /** Status lines ("preparing ..."). */
  onStatus?: (line: string) => void;
  /** Progress of reading the Ali-CCP files (rows read of the data lines counted first). */
  onProgress?: LoadProgress;
  /** How the Ali-CCP files' bytes are read (line-reader.ts): "utf8" (default; other bytes are refused) or "latin1". Ignored for a prepared folder. */
  encoding?: TextEncoding;
}

/**
 * The prepared folder of `source`: `source` itself when it is one (prepared.json), else its processed Ali-CCP
 * files prepared into `<root>/ali-ccp-<key>` unless there already. Throws when `source` is neither.
 */
export async function ensureRealData(source: string, options: RealDataOptions): Promise<string> {
  const src = path.resolve(source);
  if (isPreparedDir(src)) return src;
  if (!fs.existsSync(src)) throw new Error(`real data: ${src} does not exist`);
  const files = findAliCcpFiles(src);
  if (!files) {
    throw new Error(
      `real data: ${src} is neither a prepared folder (${PREPARED_FILE}, written by \`esmm prepare\`, e.g. \`esmm prepare --csv ...\` for any CSV log) ` +
        `nor a processed Ali-CCP folder (${ALI_CCP_LAYOUTS.map((l) => `${l.train}, ${l.val}, ${l.test}`).join(" or ")})`,
    );
  }
  const keepRate = options.negativeKeepRate ?? DEFAULT_NEGATIVE_KEEP_RATE;
  const seed = options.seed ?? 1;
  const oovMinCount = options.oovMinCount ?? DEFAULT_OOV_MIN_COUNT;
  const oovMaskRate = options.oovMaskRate ?? DEFAULT_OOV_MASK_RATE;
  const stamp = [files.train, files.val, files.test].map((f) => {
    const st = fs.statSync(path.join(src, f));
    return { file: path.join(src, f), size: st.size, mtimeMs: st.mtimeMs };
  });
  const encoding = options.encoding ?? "utf8";
  const keyed = { kind: "ali-ccp", files: stamp, keepRate, seed, oovMinCount, oovMaskRate, ...(encoding !== "utf8" ? { encoding } : {}) }; // UTF-8 keys as before the option
  const key = sha256Hex(`${canonicalJson(keyed)}\n${dataNumericsVersion()}`).slice(0, 16);
  const dir = path.join(options.root, `ali-ccp-${key}`);
  if (isPreparedDir(dir)) return dir;
  makeDirs(options.root);
  removeDeadProcessTemps(options.root, (name) => {
    const m = /^\.tmp-([0-9a-f]+)-(\d+)-/.exec(name);
    return m && m[1] === key ? Number(m[2]) : undefined;
  });
  options.onStatus?.(`preparing the Ali-CCP files of ${src} (keep rate ${keepRate}, seed ${seed}) into ${dir}`);
  const { log, reports } = await loadAliCcpSplitsLog(src, { fileNames: files, onProgress: options.onProgress, encoding });
  const plan: SplitPlan = { trainDays: [0], validationDay: 1, testDay: 2, laterDays: [] };
  const data = prepare(log, { plan, negativeKeepRate: keepRate, seed, oovMinCount, oovMaskRate });
  const tmp = fs.mkdtempSync(path.join(options.root, `.tmp-${key}-${process.pid}-`));
  try {
    writePrepared(tmp, data, { kind: "ali-ccp", dir: src, files, load: { train: reports.train, validation: reports.val, test: reports.test } }, {
      inputs: [files.train, files.val, files.test].map((f) => path.join(src, f)),
    });
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === "ENOTEMPTY" || code === "EEXIST") && isPreparedDir(dir)) fs.rmSync(tmp, { recursive: true, force: true }); // another process won the race
      else throw e;
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}
