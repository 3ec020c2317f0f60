/**
 * Source kind "csv-log": any impression log in CSV files (lib/data/csv-log.ts), as `esmm prepare --csv` reads
 * it: files by role (train, validation, test; a missing validation or test split carved out of the training
 * rows by a seeded draw) or one log split by a day column.
 *
 *   { kind: "csv-log", inputs: [{ file: "log.csv", role: "train" }],
 *     columns: { click: "click", conversion: "buy", categorical: ["user", "item"], numeric: [], ignore: [], notLabel: [] } }
 *
 * Keyed by { kind: "csv-log", files: each input's absolute path, role, size and modification time, columns,
 * the split options (fractions, later days), the conversion-without-click policy, encoding, and the full
 * preparation } and the data numerics version; the folder is `csv-<key>`. The prepared folder records its
 * inputs (prepared-files.ts), so a changed file is refused when the folder is read, not served.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ConversionWithoutClickPolicy } from "../data/csv-fields";
import { CsvColumns, CsvInput, prepareCsv } from "../data/csv-log";
import type { TextEncoding } from "../data/line-reader";
import { isPreparedDir, writePrepared } from "../data/prepared-files";
import { fullPreparation, SourceKind, sourceKey } from "./kind";

export interface CsvLogSource {
  kind: "csv-log";
  inputs: CsvInput[];
  columns: CsvColumns;
  /** Shares of training rows carved out as validation and test when no file has that role (default 0.1 each). */
  validationFraction?: number;
  testFraction?: number;
  /** With a day column: days after the test day (default 2). */
  laterDays?: number;
  /** Default "error" (a DataError naming the row); "drop" skips such rows and counts them. */
  onConversionWithoutClick?: ConversionWithoutClickPolicy;
  /** "utf8" (default) or "latin1". */
  encoding?: TextEncoding;
}

export const csvLogSource: SourceKind<CsvLogSource> = {
  kind: "csv-log",
  describe: "an impression log in CSV files, by role or split by a day column (`esmm prepare --csv`)",
  embeddingUpdates: "rowwise",

  key(source, preparation) {
    const files = source.inputs.map((i) => {
      const st = fs.statSync(i.file); // throws ENOENT naming the file
      return { file: path.resolve(i.file), role: i.role, size: st.size, mtimeMs: st.mtimeMs };
    });
    const { inputs: _inputs, ...options } = source;
    void _inputs;
    return sourceKey({ ...options, files, preparation: fullPreparation(preparation) });
  },

  folder: (key) => `csv-${key}`,

  isComplete: isPreparedDir,

  async write(source, preparation, tmp, { onStatus, onProgress, hints }) {
    const p = fullPreparation(preparation);
    onStatus?.(`preparing ${source.inputs.map((i) => i.file).join(", ")} (keep rate ${p.negativeKeepRate}, seed ${p.seed})`);
    const { prepared, source: provenance } = await prepareCsv(source.inputs, source.columns, {
      ...p,
      validationFraction: source.validationFraction,
      testFraction: source.testFraction,
      laterDays: source.laterDays,
      onConversionWithoutClick: source.onConversionWithoutClick,
      encoding: source.encoding,
      onProgress,
      howToDrop: hints?.howToDrop,
      overrideHint: hints?.overrideHint,
    });
    writePrepared(tmp, prepared, provenance, { inputs: source.inputs.map((i) => path.resolve(i.file)) });
  },
};
