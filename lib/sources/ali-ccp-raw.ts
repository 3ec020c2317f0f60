/**
 * Source kind "ali-ccp-raw": the raw Ali-CCP release (lib/data/ali-ccp-raw.ts), a folder with
 * `sample_skeleton_{train,test}.csv` and `common_features_{train,test}.csv`. The release has no validation
 * split: a share of the training rows (default 0.1) is carved out as validation by a seeded draw per row
 * (csv-log.ts carveSplits, the preparation's seed). Train/validation/test = days 0/1/2, no later days.
 *
 *   { kind: "ali-ccp-raw", dir: "data/ali-ccp-raw" }
 *   { kind: "ali-ccp-raw", dir, fields: { ...ALI_CCP_DEFAULT_FIELDS }, multiValued: "last", validationFraction: 0.05 }
 *
 * Keyed by { kind: "ali-ccp-raw", files: the four files' absolute paths, sizes and modification times, the
 * loader options (fields, multiValued, onConversionWithoutClick, encoding), validationFraction, the full
 * preparation } and the data numerics version; the folder is `ali-ccp-raw-<key>`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ConversionWithoutClickPolicy } from "../data/csv-fields";
import { AliCcpRawFields, loadAliCcpRaw, MultiValuePolicy } from "../data/ali-ccp-raw";
import { carveSplits, CSV_ROLE_DAYS } from "../data/csv-log";
import type { TextEncoding } from "../data/line-reader";
import { prepare, SplitPlan } from "../data/prepare";
import { isPreparedDir, writePrepared } from "../data/prepared-files";
import { concatLogs } from "../data/schema";
import { fullPreparation, SourceKind, sourceKey } from "./kind";

export interface AliCcpRawSource {
  kind: "ali-ccp-raw";
  dir: string;
  /** Fields to extract (default ALI_CCP_DEFAULT_FIELDS). */
  fields?: AliCcpRawFields;
  /** Which feature to keep when a field occurs several times in a row (default "first"). */
  multiValued?: MultiValuePolicy;
  onConversionWithoutClick?: ConversionWithoutClickPolicy;
  encoding?: TextEncoding;
  /** Share of training rows carved out as the validation split (default 0.1). */
  validationFraction?: number;
}

const FILES = ["sample_skeleton_train.csv", "common_features_train.csv", "sample_skeleton_test.csv", "common_features_test.csv"] as const;

const PLAN: SplitPlan = { trainDays: [CSV_ROLE_DAYS.train], validationDay: CSV_ROLE_DAYS.validation, testDay: CSV_ROLE_DAYS.test, laterDays: [] };

export const aliCcpRawSource: SourceKind<AliCcpRawSource> = {
  kind: "ali-ccp-raw",
  describe: "the raw Ali-CCP release (sample_skeleton_* and common_features_* for train and test), validation carved from training",
  embeddingUpdates: "rowwise",

  key(source, preparation) {
    const files = FILES.map((f) => {
      const file = path.resolve(source.dir, f);
      const st = fs.statSync(file); // throws ENOENT naming the file
      return { file, size: st.size, mtimeMs: st.mtimeMs };
    });
    const { dir: _dir, ...options } = source;
    void _dir;
    return sourceKey({ ...options, files, preparation: fullPreparation(preparation) });
  },

  folder: (key) => `ali-ccp-raw-${key}`,

  isComplete: isPreparedDir,

  detect(dir) {
    return FILES.every((f) => fs.existsSync(path.join(dir, f))) ? { kind: "ali-ccp-raw", dir: path.resolve(dir) } : undefined;
  },

  async write(source, preparation, tmp, { onStatus, onProgress }) {
    const dir = path.resolve(source.dir);
    const p = fullPreparation(preparation);
    onStatus?.(`preparing the raw Ali-CCP release in ${dir} (keep rate ${p.negativeKeepRate}, seed ${p.seed})`);
    const options = { fields: source.fields, multiValued: source.multiValued, onConversionWithoutClick: source.onConversionWithoutClick, encoding: source.encoding, onProgress };
    const train = await loadAliCcpRaw(path.join(dir, FILES[0]), path.join(dir, FILES[1]), { ...options, day: CSV_ROLE_DAYS.train });
    const test = await loadAliCcpRaw(path.join(dir, FILES[2]), path.join(dir, FILES[3]), { ...options, day: CSV_ROLE_DAYS.test });
    const log = concatLogs([train, test]);
    const carved = carveSplits(log, { validation: true, test: false }, { validationFraction: source.validationFraction, seed: p.seed });
    const data = prepare(log, { plan: PLAN, ...p });
    const provenance = { kind: "ali-ccp-raw", dir, validation: { fraction: source.validationFraction ?? 0.1, rows: carved.validation }, load: { train: train.report, test: test.report } };
    writePrepared(tmp, data, provenance, { inputs: FILES.map((f) => path.join(dir, f)) });
  },
};
