/**
 * Source kind "prepared": a folder written by `esmm prepare` (or by `materialize`), used in place, wherever it is.
 *
 *   { kind: "prepared", dir: "data/ali-ccp-prepared" }                 // any prepared folder
 *   { kind: "prepared", dir, sha256: "3f2a..." }                       // and it must still hold that content
 *
 * Keyed by its content: `preparedFolderSha256` hashes prepared.json (without its `source`, which says where
 * the files were) and the split files it lists, so the folder can move, and a folder prepared again
 * differently is other data; the key is that hash's first 16 hex digits. A preparation does not apply: the
 * folder was prepared already (its own is in prepared.json's report), and materialize ignores the one given.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { PrepareReport, SplitPlan } from "../data/prepare";
import { checkPreparedInputs, hashFileInto, isPreparedDir, PREPARED_FILE } from "../data/prepared-files";
import { canonicalJson } from "../numerics";
import type { SourceKind } from "./kind";

export interface PreparedSource {
  kind: "prepared";
  dir: string;
  /** The content hash the folder must have (64 hex digits); absent: whatever it holds now. */
  sha256?: string;
}

/** What is read of prepared.json here (lib/data/prepared-files.ts writes it). */
export interface PreparedJson {
  source?: Record<string, unknown>;
  plan: SplitPlan;
  report: PrepareReport;
  splits: { train: { file: string }; validation: { file: string }; test: { file: string }; later: { file: string }[] };
}

/** prepared.json of `dir`, as text and parsed. Throws one line when the folder has none. */
export function readPreparedJson(dir: string): { text: string; json: PreparedJson } {
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

/** The data key of a prepared folder: its sha256's first 16 hex digits. */
export function preparedDataKey(sha256: string): string {
  return sha256.slice(0, 16);
}

export const preparedSource: SourceKind<PreparedSource> = {
  kind: "prepared",
  describe: "a prepared folder (prepared.json, written by `esmm prepare`), used in place",
  embeddingUpdates: "rowwise",

  key(source) {
    return preparedDataKey(source.sha256 ?? preparedFolderSha256(source.dir));
  },

  isComplete: isPreparedDir,

  detect(dir) {
    return isPreparedDir(dir) ? { kind: "prepared", dir: path.resolve(dir) } : undefined;
  },

  /** The folder, after checking it is one, its inputs are unchanged (checkPreparedInputs) and, when given, its sha256. */
  inPlace(source) {
    const dir = path.resolve(source.dir);
    if (!isPreparedDir(dir)) throw new Error(`real data: ${dir} is missing or not a prepared folder (real data cannot be made again: prepare it first)`);
    checkPreparedInputs(dir); // a DataError when the file it was prepared from has changed since
    if (source.sha256 !== undefined) {
      const now = preparedFolderSha256(dir);
      if (now !== source.sha256) throw new Error(`real data: ${dir} holds other data (sha256 ${now.slice(0, 16)}, expected ${source.sha256.slice(0, 16)}): it was prepared again or changed`);
    }
    return dir;
  },
};
