/**
 * Allowed values of a numeric setting, as data: its kind (integer or any finite number) and its bounds. The
 * command line's option tables (lib/cli/args.ts) and the simulator's config (lib/data/simulator-config.ts)
 * declare their settings with it, check values with `inRange` and say what is allowed with `describeRange`.
 */
export interface NumericRange {
  /** Whole numbers only. */
  integer?: boolean;
  /** Bounds: greater than, at least, less than, at most. */
  gt?: number;
  ge?: number;
  lt?: number;
  le?: number;
}

/** Largest seed: seeds enter the random generators as 32-bit integers (`seed | 0`), so larger ones would alias smaller ones. */
export const MAX_SEED = 2 ** 31 - 1;

/** An integer in [min, max] (no upper bound without max). */
export const intRange = (min: number, max?: number): NumericRange => ({ integer: true, ge: min, le: max });
/** A seed: an integer in [0, MAX_SEED]. */
export const SEED_RANGE: NumericRange = intRange(0, MAX_SEED);
/** A rate or share: a number in (0, 1]. */
export const RATE_RANGE: NumericRange = { gt: 0, le: 1 };

/** Whether `x` is a finite number of the range's kind within its bounds. */
export function inRange(x: number, r: NumericRange): boolean {
  if (typeof x !== "number" || !Number.isFinite(x)) return false;
  if (r.integer && !Number.isSafeInteger(x)) return false;
  if (r.gt !== undefined && !(x > r.gt)) return false;
  if (r.ge !== undefined && !(x >= r.ge)) return false;
  if (r.lt !== undefined && !(x < r.lt)) return false;
  if (r.le !== undefined && !(x <= r.le)) return false;
  return true;
}

/** "an integer >= 1", "a number in (0, 1]", "a number > 0"; plural: "integers >= 1", "numbers in (0, 1]". */
export function describeRange(r: NumericRange, plural = false): string {
  const kind = r.integer ? (plural ? "integers" : "an integer") : plural ? "numbers" : "a number";
  const low = r.gt !== undefined ? { open: true, v: r.gt } : r.ge !== undefined ? { open: false, v: r.ge } : undefined;
  const high = r.lt !== undefined ? { open: true, v: r.lt } : r.le !== undefined ? { open: false, v: r.le } : undefined;
  if (low && high) return `${kind} in ${low.open ? "(" : "["}${low.v}, ${high.v}${high.open ? ")" : "]"}`;
  if (low) return `${kind} ${low.open ? ">" : ">="} ${low.v}`;
  if (high) return `${kind} ${high.open ? "<" : "<="} ${high.v}`;
  return kind;
}

/** A number written in decimal (optionally with an exponent): not "", "0x10", "Infinity" or " 1". */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** `text` as a number when it is a decimal number in the range, else undefined. */
export function parseInRange(text: string, r: NumericRange): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const x = Number(text);
  return inRange(x, r) ? x : undefined;
}
