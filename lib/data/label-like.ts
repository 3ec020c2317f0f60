/**
 * One definition of "a label left among the features", shared by every loader that maps a CSV header to
 * labels and features (the processed Ali-CCP loader, the generic CSV loader). A label among the features
 * leaks the answer: it is how users of a peer's Ali-CCP pipeline got AUC = 1.0 (its processed files carry a
 * `ctcvr_label` column next to `click` and `purchase`).
 *
 * Two checks, both skipped for the columns the user says are not labels (`notLabel`):
 * - by name, on the header: a feature column named like a label (`LABEL_LIKE_NAMES`, case-insensitive);
 * - by value, on the rows read: a feature column that is a one-to-one mapping of a label column on every row
 *   of a file (one value wherever the label is 0, another wherever it is 1: the label itself, `noclick` =
 *   1 - click, a text "yes"/"no", any recoding; a recoding other than the label itself only once each label
 *   value has MIN_MAPPED_ROWS rows), when that label takes both values (0 and 1) in the file (a
 *   constant label is echoed by any constant column, e.g. an all-zero numeric column in a file without
 *   conversions, and leaks nothing).
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
 * The feature columns that are a one-to-one mapping of a label column on every row of [start, end) (the
 * label itself, its complement, any recoding of its two values), with the label they echo and the feature's
 * values where the label is 0 and 1, except those in `notLabel`. Labels constant on those rows are not
 * compared (see the file comment).
 */
export function labelEchoes(
  features: readonly NamedValues[],
  labels: readonly NamedValues[],
  start: number,
  end: number,
  notLabel: Iterable<string> = [],
): { column: string; label: string; mapping?: [number, number] }[] {
  const exempt = new Set(notLabel);
  const varying = labels.filter((l) => !isConstant(l.values, start, end));
  const out: { column: string; label: string; mapping?: [number, number] }[] = [];
  for (const f of features) {
    if (exempt.has(f.name)) continue;
    for (const l of varying) {
      const mapping = oneToOne(f.values, l.values, start, end);
      if (!mapping) continue;
      out.push(mapping[0] === 0 && mapping[1] === 1 ? { column: f.name, label: l.name } : { column: f.name, label: l.name, mapping });
      break;
    }
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
  const list = echoes
    .map((e) => (e.mapping ? `${JSON.stringify(e.column)} is ${shown(e.mapping[0])} where ${JSON.stringify(e.label)} is 0 and ${shown(e.mapping[1])} where it is 1` : `${JSON.stringify(e.column)} = ${JSON.stringify(e.label)}`))
    .join(", ");
  const all = echoes.every((e) => !e.mapping);
  throw new DataError(
    { file, column: echoes[0].column },
    `feature column ${all ? "equals a label" : "is a one-to-one mapping of a label"} on all ${end - start} rows (${list}); ` +
      `a label among the features leaks the answer (AUC = 1); ${hint(echoes.map((e) => e.column))}`,
  );
}

function isConstant(values: ArrayLike<number>, start: number, end: number): boolean {
  for (let i = start + 1; i < end; i++) if (values[i] !== values[start]) return false;
  return true;
}

/**
 * [value where the label is 0, value where it is 1] when `feature` takes one value on the label's 0 rows and
 * another on its 1 rows over [start, end) (the label takes both there), else undefined. NaN never maps.
 */
function oneToOne(feature: ArrayLike<number>, label: ArrayLike<number>, start: number, end: number): [number, number] | undefined {
  const seen: [number, number] = [NaN, NaN];
  const count = [0, 0];
  for (let i = start; i < end; i++) {
    const k = label[i] === 1 ? 1 : 0;
    const v = feature[i];
    if (Number.isNaN(seen[k])) seen[k] = v;
    if (v !== seen[k]) return undefined;
    count[k]++;
  }
  if (seen[0] === seen[1] || Number.isNaN(seen[0]) || Number.isNaN(seen[1])) return undefined;
  // The label itself is refused on any rows; another recoding only with MIN_MAPPED_ROWS rows of each label
  // value (on a handful of rows any two-valued column maps one-to-one by chance).
  if (seen[0] === 0 && seen[1] === 1) return seen;
  return count[0] >= MIN_MAPPED_ROWS && count[1] >= MIN_MAPPED_ROWS ? seen : undefined;
}

/**
 * Rows of each label value (0 and 1) a file needs before a feature that recodes the label (other than the
 * label itself) is refused: with fewer, a column of two values can map one-to-one by chance.
 */
export const MIN_MAPPED_ROWS = 5;

/** A mapped value for a message: negative ids are interned text (the loaders' own ids), shown as such. */
function shown(v: number): string {
  return v < -1 ? `text id ${v}` : String(v);
}
