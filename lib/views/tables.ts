/**
 * Tables in notebooks: one display message with text/html (JupyterLab, nbconvert HTML) and text/plain
 * (terminals, plain-text exports). Accepts an array of row objects or a danfojs DataFrame.
 */
import { kernelDisplayWriter } from "../plots/kernel";
import { formatNumber } from "../format";

export type Row = Record<string, unknown>;
/** A danfojs DataFrame, or anything with column names and row arrays. */
export interface FrameLike {
  columns: string[];
  values: readonly unknown[];
}

export interface TableOptions {
  caption?: string;
  /** Significant digits of non-integer numbers (default 4). */
  digits?: number;
}

function rowsOf(table: Row[] | FrameLike): { columns: string[]; rows: unknown[][] } {
  if (Array.isArray(table)) {
    const columns = [...new Set(table.flatMap((r) => Object.keys(r)))];
    return { columns, rows: table.map((r) => columns.map((c) => r[c])) };
  }
  return { columns: table.columns, rows: table.values.map((r) => (Array.isArray(r) ? r : [r])) };
}

/** A table cell: numbers by formatNumber (lib/format.ts), null and undefined as "". */
export function formatCell(v: unknown, digits = 4): string {
  if (typeof v === "number") return formatNumber(v, digits);
  if (v === undefined || v === null) return "";
  return String(v);
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function tableHtml(table: Row[] | FrameLike, options: TableOptions = {}): string {
  const { columns, rows } = rowsOf(table);
  const cell = (v: unknown, tag: "td" | "th") =>
    `<${tag} style="text-align:${typeof v === "number" ? "right" : "left"};padding:2px 8px">${escapeHtml(formatCell(v, options.digits))}</${tag}>`;
  return [
    `<table style="border-collapse:collapse;font-variant-numeric:tabular-nums">`,
    options.caption ? `<caption style="text-align:left;font-weight:bold">${escapeHtml(options.caption)}</caption>` : "",
    `<thead><tr>${columns.map((c) => cell(c, "th")).join("")}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((v) => cell(v, "td")).join("")}</tr>`).join("")}</tbody>`,
    `</table>`,
  ].join("");
}

export function tableText(table: Row[] | FrameLike, options: TableOptions = {}): string {
  const { columns, rows } = rowsOf(table);
  const text = [columns, ...rows.map((r) => r.map((v) => formatCell(v, options.digits)))];
  const widths = columns.map((_, c) => Math.max(...text.map((r) => String(r[c]).length)));
  const lines = text.map((r) => r.map((v, c) => String(v).padStart(widths[c])).join("  "));
  return [options.caption ?? "", ...lines].filter((l) => l !== "").join("\n");
}

/** Shows the table in a tslab kernel; outside one, prints its text form. */
export function showTable(table: Row[] | FrameLike, options: TableOptions = {}): void {
  const text = tableText(table, options);
  const write = kernelDisplayWriter();
  if (write) write({ data: { "text/html": tableHtml(table, options), "text/plain": text }, metadata: {}, transient: {} }, false);
  else console.log(text);
}
