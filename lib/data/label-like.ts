/**
 * One definition of "a label left among the features", shared by every loader that maps a CSV header to
 * labels and features (the processed Ali-CCP loader, the generic CSV loader). A label among the features
 * leaks the answer: it is how users of a peer's Ali-CCP pipeline got AUC = 1.0 (its processed files carry a
 * `ctcvr_label` column next to `click` and `purchase`).
 *
 * Two checks, both skipped for the columns the user says are not labels (`notLabel`):
 * - by name, on the header: a feature column named like a label (`LABEL_LIKE_NAMES`, case-insensitive);
 * - by value, on the rows read: a feature column whose value equals a label column's on every row of a file,
 *   when that label takes both values (0 and 1) in the file (a constant label is echoed by any constant
 *   column, e.g. an all-zero numeric column in a file without conversions, and leaks nothing).
 * Either raises a DataError naming the file, the column, and how to override (`overrideHint`).
 */
import { DataError } from "./errors";

/** Feature names that look like labels, as the user reads them: `*_label`, `click*`, `conversion*`, `purchase*`, `ctcvr*`. */
export const LABEL_LIKE_NAMES = "*_label, click*, conversion*, purchase*, ctcvr*";
const LABEL_LIKE_RE = /_label$|^(click|conversion|purchase|ctcvr)/i;

/** Whether a column name looks like a label (`LABEL_LIKE_NAMES`, case-insensitive). */
export function isLabelLikeName(name: string): boolean {
  return LABEL_LIKE_RE.test(name);
}

/** The columns of `features` named like a label, in order, except those in `notLabel`. */
export function labelLikeColumns(features: readonly string[], notLabel: Iterable<string> = []): string[] {
  const exempt = new Set(notLabel);
  return features.filter((name) => !exempt.has(name) && isLabelLikeName(name));
}

/** A named column of values (raw ids, numbers or 0/1 labels). */
export interface NamedValues {
  name: string;
  values: ArrayLike<number>;
}

/**
 * The feature columns that equal a label column on every row of [start, end), with the label they echo,
 * except those in `notLabel`. Labels constant on those rows are not compared (see the file comment).
 */
export function labelEchoes(
  features: readonly NamedValues[],
  labels: readonly NamedValues[],
  start: number,
  end: number,
  notLabel: Iterable<string> = [],
): { column: string; label: string }[] {
  const exempt = new Set(notLabel);
  const varying = labels.filter((l) => !isConstant(l.values, start, end));
  const out: { column: string; label: string }[] = [];
  for (const f of features) {
    if (exempt.has(f.name)) continue;
    const echoed = varying.find((l) => equalOn(f.values, l.values, start, end));
    if (echoed) out.push({ column: f.name, label: echoed.name });
  }
  return out;
}

/** How the caller lifts the check for some columns, e.g. `pass --not-label a,b` (the text follows a semicolon). */
export type OverrideHint = (columns: string[]) => string;

/** The library's default hint: the loaders' `notLabel` option. */
export const NOT_LABEL_OPTION_HINT: OverrideHint = (columns) => `if ${columns.length > 1 ? "they are" : "it is"} not a label, pass { notLabel: ${JSON.stringify(columns)} }`;

/** Throws a DataError (header line of `file`) when a feature column is named like a label and not exempted. */
export function refuseLabelLikeNames(file: string, features: readonly string[], notLabel: Iterable<string>, hint: OverrideHint): void {
  const named = labelLikeColumns(features, notLabel);
  if (named.length === 0) return;
  const list = named.map((c) => JSON.stringify(c)).join(", ");
  throw new DataError(
    { file, line: 1, column: named[0] },
    `feature column${named.length > 1 ? `s ${list} are` : " is"} named like a label (${LABEL_LIKE_NAMES}); ` +
      `a label among the features leaks the answer (AUC = 1); ${hint(named)}`,
  );
}

/** Throws a DataError (naming `file`) when a feature column equals a varying label on every row of [start, end). */
export function refuseLabelEchoes(
  file: string,
  features: readonly NamedValues[],
  labels: readonly NamedValues[],
  start: number,
  end: number,
  notLabel: Iterable<string>,
  hint: OverrideHint,
): void {
  const echoes = labelEchoes(features, labels, start, end, notLabel);
  if (echoes.length === 0) return;
  const list = echoes.map((e) => `${JSON.stringify(e.column)} = ${JSON.stringify(e.label)}`).join(", ");
  throw new DataError(
    { file, column: echoes[0].column },
    `feature column equals a label on all ${end - start} rows (${list}); ` +
      `a label among the features leaks the answer (AUC = 1); ${hint(echoes.map((e) => e.column))}`,
  );
}

function isConstant(values: ArrayLike<number>, start: number, end: number): boolean {
  for (let i = start + 1; i < end; i++) if (values[i] !== values[start]) return false;
  return true;
}

function equalOn(a: ArrayLike<number>, b: ArrayLike<number>, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (a[i] !== b[i]) return false;
  return true;
}
