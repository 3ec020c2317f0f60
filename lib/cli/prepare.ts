/** `esmm prepare`: split, downsample negatives, fit vocabularies, write the encoded splits (a simulated log or CSV files). */
import { Command, OptionValues, UsageError, checkOutputOption, numberValue, requireString } from "./args";
import { RATE_RANGE, SEED_RANGE, intRange } from "../ranges";
import { DEFAULT_NEGATIVE_KEEP_RATE, DEFAULT_OOV_MASK_RATE, DEFAULT_OOV_MIN_COUNT, DEFAULT_PREPARE_SEED, degenerateSplitLines, Preparation, untrainedOovLines } from "../data/prepare";
import { CSV_ROLES, CsvColumns, CsvInput, CsvRole, readCsvSchemaFile, splitList } from "../data/csv-log";
import { DataError } from "../data/errors";
import { LABEL_LIKE_NAMES } from "../data/label-like";
import { TEXT_ENCODINGS, TextEncoding } from "../data/line-reader";
import type { LoadProgress } from "../data/csv-fields";
import { materializeInto } from "../sources/materialize";
import { readPreparedJson } from "../sources/prepared";
import { sourceKind } from "../sources/registry";
import type { CsvLogSource } from "../sources/csv-log";
import type { SimulatedLogSource } from "../sources/simulated-log";
import { createProgress, Progress } from "../plots/progress";
import { formatShare } from "../format";

/** Options that only apply to --csv. */
const CSV_ONLY = ["encoding", "schema", "click", "conversion", "day", "categorical", "numeric", "ignore", "not-label", "validation-fraction", "test-fraction", "drop-conversion-without-click"];
const FRACTION_RANGE = { gt: 0, lt: 1 };

export const prepareCommand: Command = {
  name: "prepare",
  summary: "split, downsample negatives, fit vocabularies and encode (a simulated log or CSV files)",
  usage: `esmm prepare --data DIR --out DIR [--keep-rate R] [--seed S] [--later-days K] [--min-count K] [--oov-mask-rate M]
       esmm prepare --csv FILE[,FILE...] --out DIR [--schema FILE.json] [--click COL] [--conversion COL] [--day COL]
                    [--categorical LIST] [--numeric LIST] [--ignore LIST] [--not-label LIST]
                    [--validation-fraction F] [--test-fraction F] [--drop-conversion-without-click] [--encoding utf8|latin1]
                    [--keep-rate R] [--seed S] [--later-days K] [--min-count K] [--oov-mask-rate M]

Writes OUT/prepared.json plus one binary file per split, read by \`esmm train --data OUT\`: training rows (negatives
kept at rate R, weight 1/R; default ${DEFAULT_NEGATIVE_KEEP_RATE}, drawn with --seed, default ${DEFAULT_PREPARE_SEED}: the study's draw), a validation split (early stopping), a test split and K later days.
Vocabularies are fitted on the kept training rows only; numeric columns are standardised. Index 0 is the
out-of-vocabulary row: ids never seen in training and ids seen fewer than K times there (--min-count, default
${DEFAULT_OOV_MIN_COUNT}). So that training rows teach it what an unknown id looks like, in each field whose rare ids reach fewer than
a share M of the training rows, a seeded share M of them has its id set to 0 (--oov-mask-rate, default ${DEFAULT_OOV_MASK_RATE};
0 = off). Each split's line gives the share of its rows with at least one field at index 0; a field whose row 0
no training row reaches while evaluation rows use it is named on stderr.
OUT/prepared.json records each input file (path, size, modification time, sha256): \`esmm train --data OUT\` and
a study refuse OUT once an input has changed since (e.g. a log simulated again into the same folder), exit 2;
prepare it again. A folder prepared before inputs were recorded is read with one warning line.

--data DIR: a simulated log (\`esmm simulate\`), split by day: train days, a validation day, a test day, K later days
(default 2). A log simulated with --evaluation-multiplier other than 1 must have its scaled days (--evaluation-days,
default 3) be exactly the test and later days, never the validation day: K = evaluation days - 1; else exit 2.

--csv: any impression log in CSV files with a header row (no quoted fields), e.g. AliExpress's layout:
  esmm prepare --csv train.csv,test.csv --categorical 'categorical_*' --numeric 'numerical_*' --ignore search_id --out DIR
  Files: FILE (train), FILE,FILE (train, test), FILE,FILE,FILE (train, validation, test), or named roles
  train=FILE,validation=FILE,test=FILE (a role may repeat: its files are concatenated). A split without a file is
  carved out of the training rows by a seeded draw per row (--seed): --validation-fraction F, --test-fraction F
  (default 0.1 each). With --day COL (integer days) the files are one log split by day instead, as for --data.
  Columns: --click COL (default click), --conversion COL (default conversion), labels 0/1; --categorical,
  --numeric, --ignore: comma-separated names or globs with * (an exact name beats a glob). Every column must be
  named: an unnamed column, or one matched by two lists, is an error. Categorical values: digits are integer
  ids, other text an id of its own. --schema FILE.json gives the same as a JSON object (keys click, conversion,
  day, categorical, numeric, ignore, notLabel; lists as arrays); flags override its keys.
  Labels among the features: a feature column named like a label (${LABEL_LIKE_NAMES}) or equal to
  the click or conversion label on every row of a file (where that label is not constant) is refused, exit 2,
  nothing written: a label left among the features gives AUC = 1. --not-label COL[,COL] says they are not labels.
  A conversion without a click is an error; --drop-conversion-without-click drops such rows (counted).
  Each file is read once: the same file (or a link to it) given twice is refused. Bytes that are not UTF-8
  are refused naming the file, line and byte, unless --encoding latin1 says the files are Latin-1
  (ISO-8859-1). Categorical integers are one id however written: 3, 3.0, "3". Numeric values must fit a
  32-bit float.`,
  options: {
    data: { type: "string" },
    csv: { type: "string" },
    out: { type: "string" },
    "keep-rate": { type: "string", number: RATE_RANGE },
    seed: { type: "string", number: SEED_RANGE },
    "later-days": { type: "string", number: intRange(0) },
    "min-count": { type: "string", number: intRange(1) },
    "oov-mask-rate": { type: "string", number: { ge: 0, lt: 1 } },
    schema: { type: "string" },
    click: { type: "string" },
    conversion: { type: "string" },
    day: { type: "string" },
    categorical: { type: "string" },
    numeric: { type: "string" },
    ignore: { type: "string" },
    "not-label": { type: "string" },
    "validation-fraction": { type: "string", number: FRACTION_RANGE },
    "test-fraction": { type: "string", number: FRACTION_RANGE },
    "drop-conversion-without-click": { type: "boolean" },
    encoding: { type: "string" },
  },
  async run(v) {
    const cmd = "prepare";
    if (v.data !== undefined && v.csv !== undefined) throw new UsageError(`${cmd}: give --data or --csv, not both`);
    if (v.data === undefined && v.csv === undefined) throw new UsageError(`${cmd}: --data or --csv is required`);
    const out = requireString(v, "out", cmd);
    checkOutputOption(cmd, "out", out, "dir");
    // what is not given is lib/data/prepare.ts DEFAULT_PREPARATION's (the study's and the notebooks' too)
    const preparation: Partial<Preparation> = {
      negativeKeepRate: numberValue(v, "keep-rate"),
      seed: numberValue(v, "seed"),
      oovMinCount: numberValue(v, "min-count"),
      oovMaskRate: numberValue(v, "oov-mask-rate"),
    };
    // the data source (lib/sources): CSV files, or a simulated log folder; written into OUT by its kind
    if (v.csv !== undefined) {
      await materializeInto(csvSource(v), preparation, out, {
        onProgress: readingProgress(),
        hints: {
          howToDrop: "pass --drop-conversion-without-click",
          overrideHint: (cols) => `if ${cols.length > 1 ? "they are" : "it is"} not a label, pass --not-label ${cols.join(",")} (or --ignore ${cols.length > 1 ? "them" : "it"})`,
        },
      });
    } else {
      const given = CSV_ONLY.find((o) => v[o] !== undefined);
      if (given) throw new UsageError(`${cmd}: --${given} applies to --csv only`);
      const source: SimulatedLogSource = { kind: "simulated-log", dir: requireString(v, "data", cmd), laterDays: numberValue(v, "later-days", 2) };
      try {
        sourceKind(source).check!(source, preparation); // the days against the split plan, before any row is read
      } catch (e) {
        if (e instanceof DataError) throw e; // the manifest: missing or bad
        throw new UsageError(`${cmd}: ${(e as Error).message}`);
      }
      await materializeInto(source, preparation, out);
    }
    const { report } = readPreparedJson(out).json;
    for (const s of report.splits) {
      console.log(
        `${s.name.padEnd(10)} days ${s.days.join(",").padEnd(22)} rows ${String(s.rows).padStart(9)}  clicks ${String(s.clicks).padStart(6)}  ` +
          `conversions ${String(s.conversions).padStart(5)}  OOV rows ${formatShare(s.oovRows ?? 0)}`,
      );
    }
    for (const line of [...degenerateSplitLines(report), ...untrainedOovLines(report)]) console.error(line);
    console.log(`wrote ${out}`);
  },
};

/** --csv: the "csv-log" source of the files and roles, the schema from --schema and the flags, checked before any row is read. */
function csvSource(v: OptionValues): CsvLogSource {
  const cmd = "prepare";
  const inputs = parseCsvInputs(requireString(v, "csv", cmd));
  const fromFile = typeof v.schema === "string" ? readCsvSchemaFile(v.schema) : {};
  const text = (name: string) => (typeof v[name] === "string" && v[name] !== "" ? (v[name] as string) : undefined);
  const list = (name: string) => (text(name) === undefined ? undefined : splitList(text(name)!));
  const columns: CsvColumns = {
    click: text("click") ?? fromFile.click ?? "click",
    conversion: text("conversion") ?? fromFile.conversion ?? "conversion",
    day: text("day") ?? fromFile.day,
    categorical: list("categorical") ?? fromFile.categorical ?? [],
    numeric: list("numeric") ?? fromFile.numeric ?? [],
    ignore: list("ignore") ?? fromFile.ignore ?? [],
    notLabel: list("not-label") ?? fromFile.notLabel ?? [],
  };
  if (columns.categorical.length + columns.numeric.length === 0) throw new UsageError(`${cmd}: name the feature columns with --categorical and/or --numeric (or --schema)`);
  const encoding = (v.encoding as string | undefined) ?? "utf8";
  if (!(TEXT_ENCODINGS as readonly string[]).includes(encoding)) throw new UsageError(`${cmd}: --encoding must be ${TEXT_ENCODINGS.join(" or ")}, got ${JSON.stringify(encoding)}`);
  const named = inputs.some((i) => i.role !== undefined);
  if (columns.day !== undefined) {
    if (named) throw new UsageError(`${cmd}: with --day the files are split by day: give them without roles`);
    for (const o of ["validation-fraction", "test-fraction"]) if (v[o] !== undefined) throw new UsageError(`${cmd}: --${o} does not apply with --day`);
  } else {
    if (v["later-days"] !== undefined) throw new UsageError(`${cmd}: --later-days needs --day (without a day column there are no later days)`);
    if (!named) {
      if (inputs.length > 3) throw new UsageError(`${cmd}: --csv with more than 3 files needs roles: train=FILE,...,validation=FILE,test=FILE`);
      const roles: CsvRole[] = inputs.length === 1 ? ["train"] : inputs.length === 2 ? ["train", "test"] : ["train", "validation", "test"];
      inputs.forEach((input, i) => (input.role = roles[i]));
    }
    if (!inputs.some((i) => i.role === "train")) throw new UsageError(`${cmd}: --csv needs a training file (train=FILE)`);
    let carved = 0;
    for (const role of ["validation", "test"] as const) {
      const hasFile = inputs.some((i) => i.role === role);
      if (hasFile && v[`${role}-fraction`] !== undefined) throw new UsageError(`${cmd}: --${role}-fraction applies only when no ${role} file is given`);
      if (!hasFile) carved += numberValue(v, `${role}-fraction`, 0.1);
    }
    if (!(carved < 1)) throw new UsageError(`${cmd}: --validation-fraction and --test-fraction must sum to less than 1`);
  }
  return {
    kind: "csv-log",
    inputs,
    columns,
    validationFraction: numberValue(v, "validation-fraction"),
    testFraction: numberValue(v, "test-fraction"),
    laterDays: numberValue(v, "later-days"),
    onConversionWithoutClick: v["drop-conversion-without-click"] ? "drop" : "error",
    encoding: encoding as TextEncoding,
  };
}

/** "a.csv,b.csv" or "train=a.csv,test=b.csv" (roles all given or none). */
function parseCsvInputs(text: string): CsvInput[] {
  const items = splitList(text);
  if (items.length === 0) throw new UsageError("prepare: --csv names no file");
  const inputs = items.map((item): CsvInput => {
    const m = /^([a-z]+)=(.+)$/.exec(item);
    if (!m) return { file: item };
    if (!(CSV_ROLES as readonly string[]).includes(m[1])) throw new UsageError(`prepare: --csv role "${m[1]}" must be one of ${CSV_ROLES.join(", ")}`);
    return { file: m[2], role: m[1] as CsvRole };
  });
  const named = inputs.filter((i) => i.role !== undefined).length;
  if (named > 0 && named < inputs.length) throw new UsageError("prepare: --csv: give a role to every file (train=FILE,test=FILE) or to none");
  return inputs;
}

/** Rows from which reading the files shows progress on stderr (a bar on a terminal, a line per 10 % in a log). */
const PROGRESS_FROM_ROWS = 1_000_000;

/** The progress of reading the CSV files, over the data lines counted before reading. */
function readingProgress(): LoadProgress {
  let bar: Progress | undefined;
  return (rows, total) => {
    if (total < PROGRESS_FROM_ROWS) return;
    bar ??= createProgress({ total, label: "prepare: reading", unit: "rows" });
    bar.tick(rows - bar.value);
    if (rows === total) bar.done();
  };
}
