/**
 * Number formats, defined once for tables, findings, the CLI and notebooks. A leaf module: it imports nothing, so
 * domain code (lib/study, lib/data), the CLI and the views (lib/views) all import it without a layer between.
 *
 * - formatNumber(x, digits = 4): `digits` significant digits; exponent notation below 1e-4 or from 1e6 on
 *   (so a cross-entropy of 0.007388 reads 0.007388 and a standard error of 2.2e-5 reads 2.2e-5); integers
 *   with thousands separators; "" for undefined, "NaN" for NaN.
 * - formatPercent(x, se?): a signed percent with two decimals, "+1.07 %", with " ± 0.16" when an se is given.
 * - formatShare(x): a share in [0, 1] as an unsigned percent with two decimals, 0.044 -> "4.40 %".
 * - formatP(p): a p-value with two significant digits, exponent notation below 1e-3 ("3.5e-9", "0.16").
 * - countOf(n, noun): "1 conversion", "3 conversions"; formatRange(r): a range of counts, "31-39".
 * - markdownTable(header, rows): a GitHub Markdown table of already formatted cells.
 * - Progress lines (lib/plots/progress.ts): formatProgressNumber, formatCount, formatRate, formatDuration.
 */

/** Integers with thousands separators, 12,345 (a non-integer is rounded): the one integer format of this module. */
const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** `digits` significant digits (exponent notation below 1e-4 and from 1e6 on); integers as 12,345. */
export function formatNumber(x: number | undefined, digits = 4): string {
  if (x === undefined) return "";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return INT.format(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

/** "+1.07 %" (two decimals, explicit sign), with " ± 0.16" when `se` is a number; "" for NaN. */
export function formatPercent(x: number, se?: number): string {
  if (Number.isNaN(x)) return "";
  const sign = x > 0 ? "+" : "";
  return `${sign}${x.toFixed(2)} %` + (se === undefined || Number.isNaN(se) ? "" : ` ± ${se.toFixed(2)}`);
}

/** A share (0..1) as an unsigned percent with two decimals: 0.044 -> "4.40 %"; "" for NaN. */
export function formatShare(x: number): string {
  if (Number.isNaN(x)) return "";
  return `${(100 * x).toFixed(2)} %`;
}

/** A p-value with two significant digits; exponent notation below 1e-3; "0" for an exact 0. */
export function formatP(p: number): string {
  if (Number.isNaN(p)) return "NaN";
  if (p === 0) return "0";
  return p < 1e-3 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}

/**
 * A count and its noun, singular for exactly 1: (1, "conversion") -> "1 conversion", (3, "conversion") -> "3 conversions";
 * `many` when the plural is not noun + "s". A count already written as text (a range "31-39" from formatRange, "?")
 * takes the plural unless it reads "1".
 */
export function countOf(n: number | string, noun: string, many = `${noun}s`): string {
  return `${n} ${String(n) === "1" ? noun : many}`;
}

/**
 * A range of integer counts as plain digits (no thousands separators, as captions show counts): { min: 31, max: 39,
 * differ: true } -> "31-39", { min: 39, max: 39, differ: false } -> "39"; `missing` (default "?") when undefined.
 */
export function formatRange(r: { min: number; max: number; differ: boolean } | undefined, missing = "?"): string {
  return r ? `${r.min}${r.differ ? `-${r.max}` : ""}` : missing;
}

/** A GitHub Markdown table: a header row, the separator and one line per row (cells already formatted). */
export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Progress lines

/** A count for progress lines: an integer as 12,345, else formatProgressNumber. */
export function formatCount(n: number): string {
  return Number.isInteger(n) ? INT.format(n) : formatProgressNumber(n);
}

/** A progress bar's number: fixed decimals by magnitude (12,345; 123; 12.3; 1.23; 0.123), exponent notation below 0.001. */
export function formatProgressNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return INT.format(n);
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 0.001 || a === 0) return n.toFixed(a >= 1 ? 2 : 3).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  return n.toExponential(2);
}

/** "0:31", "12:05", "1:02:03"; "--:--" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** "1,234 batches/s", "12.3 runs/s", "2.5 s/run" below 0.5 a second; "-- unit/s" when unknown. */
export function formatRate(rate: number, unit: string): string {
  if (!(rate > 0)) return `-- ${unit}/s`;
  if (rate < 0.5) return `${formatProgressNumber(1 / rate)} s/${unit}`;
  return `${rate >= 100 ? INT.format(Math.round(rate)) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2)} ${unit}/s`;
}
