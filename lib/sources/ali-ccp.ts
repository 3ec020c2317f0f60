/**
 * Source kind "ali-ccp": a folder of the processed Ali-CCP CSV files (`ali_ccp_{train,val,test}.csv`,
 * torch-rechub's layout, or the repository's `*_sample.csv` files; read by lib/data/ali-ccp.ts), train/val/test
 * = days 0/1/2, no later days.
 *
 *   { kind: "ali-ccp", dir: "data/ali-ccp" }                       // the layout found in the folder
 *   { kind: "ali-ccp", dir, encoding: "latin1" }                   // bytes read as ISO-8859-1
 *
 * Keyed as `ensureRealData` always keyed it: { kind: "ali-ccp", files: each file's absolute path, size and
 * modification time, keepRate, seed, oovMinCount, oovMaskRate, encoding (only when not UTF-8) } and the data
 * numerics version; the folder is `ali-ccp-<key>`. Missing preparation fields are DEFAULT_PREPARATION's.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadAliCcpSplitsLog } from "../data/ali-ccp";
import type { TextEncoding } from "../data/line-reader";
import { prepare, SplitPlan } from "../data/prepare";
import { isPreparedDir, writePrepared } from "../data/prepared-files";
import { fullPreparation, SourceKind, sourceKey } from "./kind";

export interface AliCcpSource {
  kind: "ali-ccp";
  dir: string;
  /** How the files' bytes are read (line-reader.ts): "utf8" (default; other bytes are refused) or "latin1". */
  encoding?: TextEncoding;
}

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

function filesOf(source: AliCcpSource): { train: string; val: string; test: string } {
  const files = findAliCcpFiles(source.dir);
  if (!files) throw new Error(`real data: ${source.dir} has no processed Ali-CCP files (${ALI_CCP_LAYOUTS.map((l) => `${l.train}, ${l.val}, ${l.test}`).join(" or ")})`);
  return files;
}

const PLAN: SplitPlan = { trainDays: [0], validationDay: 1, testDay: 2, laterDays: [] };

export const aliCcpSource: SourceKind<AliCcpSource> = {
  kind: "ali-ccp",
  describe: "the processed Ali-CCP CSV files (ali_ccp_{train,val,test}.csv), train/val/test = days 0/1/2",
  embeddingUpdates: "rowwise",

  key(source, preparation) {
    const src = path.resolve(source.dir);
    const files = filesOf(source);
    const stamp = [files.train, files.val, files.test].map((f) => {
      const st = fs.statSync(path.join(src, f));
      return { file: path.join(src, f), size: st.size, mtimeMs: st.mtimeMs };
    });
    const { negativeKeepRate: keepRate, seed, oovMinCount, oovMaskRate } = fullPreparation(preparation);
    const encoding = source.encoding ?? "utf8";
    return sourceKey({ kind: "ali-ccp", files: stamp, keepRate, seed, oovMinCount, oovMaskRate, ...(encoding !== "utf8" ? { encoding } : {}) }); // UTF-8 keys as before the option
  },

  folder: (key) => `ali-ccp-${key}`,

  isComplete: isPreparedDir,

  detect(dir) {
    return findAliCcpFiles(dir) ? { kind: "ali-ccp", dir: path.resolve(dir) } : undefined;
  },

  async write(source, preparation, tmp, { onStatus, onProgress }) {
    const src = path.resolve(source.dir);
    const files = filesOf(source);
    const p = fullPreparation(preparation);
    onStatus?.(`preparing the Ali-CCP files of ${src} (keep rate ${p.negativeKeepRate}, seed ${p.seed})`);
    const { log, reports } = await loadAliCcpSplitsLog(src, { fileNames: files, onProgress, encoding: source.encoding ?? "utf8" });
    const data = prepare(log, { plan: PLAN, ...p });
    writePrepared(tmp, data, { kind: "ali-ccp", dir: src, files, load: { train: reports.train, validation: reports.val, test: reports.test } }, {
      inputs: [files.train, files.val, files.test].map((f) => path.join(src, f)),
    });
  },
};
