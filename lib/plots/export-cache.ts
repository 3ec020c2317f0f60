/**
 * Content-addressed cache of static figure exports (SVG, PNG): a rerun that draws the same figure again finds
 * its file already written and does not render it, so Chromium is not started at all when every figure of a
 * run is unchanged (export.ts starts it on the first render only).
 *
 * What is keyed (figureExportKey): sha256 of canonical JSON (object keys sorted, arrays in order) of
 *   - the figure exactly as the renderer receives it (normalizeFigure: data, layout, config; typed arrays as
 *     arrays, NaN and Infinity as null),
 *   - the format ("svg" | "png") and the size: width and height in CSS px, scale,
 *   - the plotly.js bundle that draws it: sha256 of plotly.min.js (so its version as well),
 *   - EXPORT_RENDERER_VERSION, raised whenever export.ts changes how a figure is turned into a file.
 * Not keyed: the Chromium build and the installed fonts. Reading Chromium's version means starting the browser
 * this cache is there to avoid; after upgrading Chromium or the fonts, force a re-export (below).
 * Nothing volatile is in the key: the figures carry their data and text only. What IS volatile is plotly's SVG
 * output (random ids such as `defs-f84990` and clip-path ids differ on every render of the same figure; the PNG
 * is byte-identical): that is why the record holds the hash of the file as written, not of a fresh render.
 *
 * Where the record is kept: `<dir>/.figure-exports.json` in the figures folder (next to the outputs), one entry per
 * output file, by its path relative to the folder: `{ key, sha256, bytes }`. A file is reused only when its entry's
 * key equals the figure's key AND the file exists AND the sha256 of its bytes equals the recorded one; a changed
 * figure, a deleted or edited file, or a missing or unreadable record renders again. Every file is written to
 * a temporary name in the same folder and renamed into place, the record last, so a reader never sees half a
 * file. Two processes writing the same folder each re-read the record just before replacing it; an entry lost
 * to that race only costs a render next time, never a wrong reuse (the file's hash is checked on every hit).
 *
 * Forcing a re-export: `saveFigure(fig, name, { force: true })`, or ESMM_FORCE_FIGURE_EXPORT=1 in the
 * environment (e.g. `ESMM_FORCE_FIGURE_EXPORT=1 make reproduce`); 0 or unset means use the cache.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Figure, ImageSize, normalizeFigure, plotlyBundlePath } from "./figure";
import type { StaticFormat } from "./export";
import { removeDeadProcessTemps } from "../data/temp-files";
import { canonicalJson, sha256Hex as sha256 } from "../numerics";

/** Raise when export.ts changes what a render writes for the same figure (options of Plotly.toImage, page setup). */
export const EXPORT_RENDERER_VERSION = 1;

/** The record's file name inside a figures folder. */
export const EXPORT_RECORD_FILE = ".figure-exports.json";

/** Environment variable that forces every static export to render again ("1"); "0" or unset uses the cache. */
export const FORCE_EXPORT_ENV = "ESMM_FORCE_FIGURE_EXPORT";

/** Renders a figure to SVG text or PNG bytes (export.ts's renderFigure; tests pass their own). */
export type FigureRenderer = (fig: Figure, format: StaticFormat, size: ImageSize) => Promise<string | Buffer>;

/** One output file's entry in the record. */
export interface ExportRecordEntry {
  /** figureExportKey of the figure, format and size the file was rendered from. */
  key: string;
  /** sha256 (hex) of the file's bytes as written. */
  sha256: string;
  bytes: number;
}

interface ExportRecord {
  version: 1;
  files: Record<string, ExportRecordEntry>;
}

let bundleHash: string | undefined;

/** sha256 (hex) of the plotly.js bundle that renders the figures, computed once per process. */
export function plotlyBundleHash(): string {
  bundleHash ??= sha256(fs.readFileSync(plotlyBundlePath()));
  return bundleHash;
}

/**
 * The cache key of one static export (see the file comment for what goes in): 64 hex characters.
 * Throws TypeError on a figure without a `data` array (normalizeFigure).
 */
export function figureExportKey(fig: Figure, format: StaticFormat, size: ImageSize): string {
  const plain = normalizeFigure(fig);
  return sha256(
    canonicalJson({
      renderer: EXPORT_RENDERER_VERSION,
      plotly: plotlyBundleHash(),
      format,
      size: { width: size.width, height: size.height, scale: size.scale },
      figure: { data: plain.data, layout: plain.layout ?? {}, config: plain.config ?? null },
    }),
  );
}

/**
 * Whether static exports must render regardless of the cache: `option` when given, else ESMM_FORCE_FIGURE_EXPORT
 * ("1"/"true" force, "0"/"false"/unset/empty do not). Throws TypeError naming the variable on any other value.
 */
export function forceExport(option?: boolean): boolean {
  if (option !== undefined) return option;
  const raw = (process.env[FORCE_EXPORT_ENV] ?? "").trim().toLowerCase();
  if (raw === "" || raw === "0" || raw === "false") return false;
  if (raw === "1" || raw === "true") return true;
  throw new TypeError(`${FORCE_EXPORT_ENV} must be 1 or 0, got ${JSON.stringify(process.env[FORCE_EXPORT_ENV])}`);
}

/**
 * Writes `file` (inside figures folder `dir`) as the `format` export of `fig` at `size`, unless the record of
 * `dir` shows that exactly this export is already there (same key, file present with the recorded sha256) and
 * `force` is false. Returns whether it rendered. Rethrows the renderer's errors (e.g. ChromiumMissingError);
 * the file and the record are then left as they were.
 */
export async function exportStatic(
  fig: Figure,
  format: StaticFormat,
  size: ImageSize,
  file: string,
  options: { dir: string; force: boolean; render: FigureRenderer },
): Promise<{ rendered: boolean }> {
  const key = figureExportKey(fig, format, size);
  const entryName = path.relative(options.dir, file).split(path.sep).join("/");
  if (!options.force) {
    const entry = readRecord(options.dir).files[entryName];
    if (entry && entry.key === key && fileHash(file) === entry.sha256) return { rendered: false };
  }
  const out = await options.render(fig, format, size);
  const bytes = typeof out === "string" ? Buffer.from(out, "utf8") : out;
  writeFileAtomic(file, bytes);
  updateRecord(options.dir, entryName, { key, sha256: sha256(bytes), bytes: bytes.length });
  return { rendered: true };
}

/**
 * Writes `data` to `file` through a temporary file in the same folder (`.<name>.tmp-<pid>-<random>`) renamed
 * into place: readers see the old file or the new one, never a part. Temporaries left by dead processes in that
 * folder are removed first.
 */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const dir = path.dirname(file);
  removeDeadProcessTemps(dir, (name) => {
    const m = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/.exec(name);
    return m ? Number(m[1]) : undefined;
  });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function readRecord(dir: string): ExportRecord {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, EXPORT_RECORD_FILE), "utf8")) as ExportRecord;
    if (r && r.version === 1 && r.files && typeof r.files === "object") return r;
  } catch {
    // missing or unreadable: nothing is known to be exported, so everything renders (and the record is rewritten)
  }
  return { version: 1, files: {} };
}

function updateRecord(dir: string, entryName: string, entry: ExportRecordEntry): void {
  const record = readRecord(dir);
  record.files[entryName] = entry;
  const sorted: ExportRecord = { version: 1, files: Object.fromEntries(Object.entries(record.files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  writeFileAtomic(path.join(dir, EXPORT_RECORD_FILE), JSON.stringify(sorted, null, 1) + "\n");
}

function fileHash(file: string): string | undefined {
  try {
    return sha256(fs.readFileSync(file));
  } catch {
    return undefined;
  }
}
