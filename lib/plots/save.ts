/**
 * saveFigure: write a figure as self-contained interactive HTML and as static SVG / PNG. The static files go
 * through the export cache (export-cache.ts): an unchanged figure whose file is still as written is not rendered
 * again, and Chromium is not started when no figure needs rendering.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Figure, normalizeFigure, resolveImageSize, standaloneHtml } from "./figure";
import { renderFigure } from "./export";
import { FigureRenderer, exportStatic, forceExport, writeFileAtomic } from "./export-cache";
import { makeDirs } from "../data/output-paths";

export type FigureFormat = "html" | "svg" | "png";

export interface SaveFigureOptions {
  /** Output folder; default `<project>/figures`. Created if missing. */
  dir?: string;
  /** Default: all three, ["html", "svg", "png"]. */
  formats?: FigureFormat[];
  /** Static export size in CSS px; default layout.width/height, else 800 x 450. */
  width?: number;
  height?: number;
  /** PNG pixel density: the PNG is width*scale x height*scale pixels. Default 1. */
  scale?: number;
  /**
   * Render the SVG / PNG even when the export cache holds them unchanged (export-cache.ts). Default:
   * ESMM_FORCE_FIGURE_EXPORT=1 in the environment forces, unset or 0 uses the cache.
   */
  force?: boolean;
  /** What draws the static files; default renderFigure (plotly.js in headless Chromium). For tests. */
  render?: FigureRenderer;
}

/** The folder holding this project's package.json (found by walking up from this file). */
export function projectDir(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: string }).name === "esmm-lab") return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/**
 * Where saveFigure writes when given no folder: $ESMM_FIGURES_DIR when set (resolved against the working directory;
 * `make test` points it at test-artifacts/figures so its quick-profile figures leave `make reproduce`'s alone), else
 * `<project>/figures`.
 */
export function defaultFiguresDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.ESMM_FIGURES_DIR?.trim();
  return dir ? path.resolve(dir) : path.join(projectDir(), "figures");
}

/**
 * Writes `<dir>/<name>.html` (plotly.js inlined, works offline), `<name>.svg` and `<name>.png`
 * (rendered by plotly.js in headless Chromium) and returns the paths written, in `formats` order.
 * HTML is written first, so it exists even when the static export then fails
 * (ChromiumMissingError says how to install Chromium). Every file is written to a temporary name and
 * renamed into place. SVG / PNG whose figure, format, size and plotly.js are those recorded in
 * `<dir>/.figure-exports.json`, and whose file still has the recorded sha256, are kept as they are
 * (export-cache.ts; `force` or ESMM_FORCE_FIGURE_EXPORT=1 renders anyway).
 * Throws TypeError on a missing name, an unknown format or a bad ESMM_FORCE_FIGURE_EXPORT, before writing.
 */
export async function saveFigure(fig: Figure, name: string, options: SaveFigureOptions = {}): Promise<string[]> {
  if (typeof name !== "string" || name.trim() === "" || /[\0]/.test(name)) {
    throw new TypeError(`saveFigure: a figure name is required (got ${JSON.stringify(name)})`);
  }
  const formats = options.formats ?? ["html", "svg", "png"];
  for (const f of formats) {
    if (f !== "html" && f !== "svg" && f !== "png") throw new TypeError(`saveFigure: unknown format "${f}" (use html, svg, png)`);
  }
  const force = forceExport(options.force);
  const plain = normalizeFigure(fig);
  const size = resolveImageSize(plain, options);
  const dir = path.resolve(options.dir ?? defaultFiguresDir());
  const base = path.join(dir, name);
  makeDirs(path.dirname(base));

  const written = new Map<FigureFormat, string>();
  if (formats.includes("html")) {
    const file = `${base}.html`;
    writeFileAtomic(file, standaloneHtml(plain, path.basename(name)));
    written.set("html", file);
  }
  for (const format of ["svg", "png"] as const) {
    if (!formats.includes(format)) continue;
    const file = `${base}.${format}`;
    await exportStatic(plain, format, size, file, { dir, force, render: options.render ?? renderFigure });
    written.set(format, file);
  }
  return formats.filter((f, i) => formats.indexOf(f) === i).map((f) => written.get(f)!);
}
