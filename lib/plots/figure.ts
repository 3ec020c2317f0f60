/**
 * The figure type shared by the plotting layer, and the pieces that turn a figure into HTML:
 * JSON that is safe inside a <script>, the inlined plotly.js bundle, the standalone page.
 * No CDN is ever referenced: plotly.js comes from the installed `plotly.js-dist-min`.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** A Plotly figure as JSON: traces, layout and config, exactly as `Plotly.newPlot` takes them. */
export type Figure = { data: object[]; layout?: object; config?: object };

/** Size used for static exports when neither the options nor `layout.width/height` give one. */
export const DEFAULT_WIDTH = 800;
export const DEFAULT_HEIGHT = 450;

/** Static image size in CSS pixels (the PNG has `width*scale` x `height*scale` pixels). */
export interface ImageSize {
  width: number;
  height: number;
  scale: number;
}

export function resolveImageSize(
  fig: Figure,
  options: { width?: number; height?: number; scale?: number } = {},
): ImageSize {
  const layout = (fig.layout ?? {}) as { width?: unknown; height?: unknown };
  const width = options.width ?? numberOr(layout.width, DEFAULT_WIDTH);
  const height = options.height ?? numberOr(layout.height, DEFAULT_HEIGHT);
  const scale = options.scale ?? 1;
  for (const [key, v] of [["width", width], ["height", height], ["scale", scale]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`figure ${key} must be a positive number, got ${v}`);
  }
  return { width: Math.round(width), height: Math.round(height), scale };
}

function numberOr(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : fallback;
}

/** Checks the shape of a figure and returns a plain-JSON copy (typed arrays become arrays). */
export function normalizeFigure(fig: Figure): Figure {
  if (fig == null || typeof fig !== "object" || !Array.isArray(fig.data)) {
    throw new TypeError("a Figure must be an object with a `data` array of Plotly traces");
  }
  const copy = JSON.parse(toJson(fig)) as Figure;
  const out: Figure = { data: copy.data, layout: copy.layout ?? {} };
  if (copy.config !== undefined) out.config = copy.config;
  return out;
}

/** JSON.stringify that turns typed arrays (Float64Array...) into plain arrays. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v));
}

/** JSON that can be embedded verbatim inside an HTML <script> element. */
export function scriptJson(value: unknown): string {
  return toJson(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Path of the minified plotly.js bundle shipped by `plotly.js-dist-min`. */
export function plotlyBundlePath(): string {
  return require.resolve("plotly.js-dist-min/plotly.min.js");
}

let bundleCache: string | undefined;

/** The plotly.js bundle as script text safe to inline in an HTML <script> element. */
export function plotlyBundleScript(): string {
  if (bundleCache === undefined) {
    // "</script" inside the code would end the element early; "<\/script" means the same to JS.
    bundleCache = fs.readFileSync(plotlyBundlePath(), "utf8").replace(/<\/(script)/gi, "<\\/$1");
  }
  return bundleCache;
}

/** Version of the inlined plotly.js, read from its package.json. */
export function plotlyVersion(): string {
  const pkg = path.join(path.dirname(plotlyBundlePath()), "package.json");
  return (JSON.parse(fs.readFileSync(pkg, "utf8")) as { version: string }).version;
}

/** Marker comment placed before the inlined bundle (tests and readers can find it). */
export const PLOTLY_INLINE_MARKER = "<!-- plotly.js inlined from plotly.js-dist-min -->";

/** The title text of a figure, if its layout has one. */
export function figureTitle(fig: Figure): string | undefined {
  const title = (fig.layout as { title?: unknown } | undefined)?.title;
  if (typeof title === "string") return title;
  if (title && typeof title === "object" && typeof (title as { text?: unknown }).text === "string") {
    return (title as { text: string }).text;
  }
  return undefined;
}

/** A one-line description: "Figure "CVR by model": 1 bar trace, 4 points". */
export function describeFigure(fig: Figure): string {
  const title = figureTitle(fig);
  const types = new Map<string, number>();
  let points = 0;
  for (const trace of fig.data as Array<Record<string, unknown>>) {
    const type = typeof trace.type === "string" ? trace.type : "scatter";
    types.set(type, (types.get(type) ?? 0) + 1);
    const arr = [trace.y, trace.x, trace.values].find((a) => Array.isArray(a) || ArrayBuffer.isView(a)) as
      | ArrayLike<unknown>
      | undefined;
    points += arr?.length ?? 0;
  }
  const traces = [...types].map(([t, n]) => `${n} ${t} trace${n === 1 ? "" : "s"}`).join(", ") || "no traces";
  return `Figure${title ? ` "${title}"` : ""}: ${traces}, ${points} point${points === 1 ? "" : "s"}`;
}

/** Inline script that draws `fig` into the element with id `divId` (plotly.js must be loaded). */
export function plotScript(fig: Figure, divId: string, missingPlotlyHtml: string): string {
  const f = normalizeFigure(fig);
  const config = { responsive: true, displaylogo: false, ...(f.config ?? {}) };
  return (
    `(function () {\n` +
    `  var el = document.getElementById(${scriptJson(divId)});\n` +
    `  if (!el) return;\n` +
    `  if (typeof window.Plotly === "undefined") { el.insertAdjacentHTML("beforeend", ${scriptJson(missingPlotlyHtml)}); return; }\n` +
    `  var fig = ${scriptJson({ data: f.data, layout: f.layout })};\n` +
    `  var img = el.querySelector("img.esmm-figure-static");\n` +
    `  if (img) img.remove();\n` +
    `  window.Plotly.newPlot(el, fig.data, fig.layout, ${scriptJson(config)});\n` +
    `})();`
  );
}

/** Height (CSS px) for the chart's div when the figure does not set a width (responsive width). */
export function divHeight(fig: Figure): number {
  return numberOr((fig.layout as { height?: unknown } | undefined)?.height, DEFAULT_HEIGHT);
}

/**
 * A complete, self-contained HTML page for the figure: plotly.js is inlined, nothing is fetched.
 */
export function standaloneHtml(fig: Figure, pageTitle?: string): string {
  const f = normalizeFigure(fig);
  const title = pageTitle ?? figureTitle(f) ?? "figure";
  const divId = "esmm-figure";
  const width = numberOr((f.layout as { width?: unknown }).width, 0);
  const style = width > 0 ? `width:${width}px;height:${divHeight(f)}px;` : `width:100%;height:${divHeight(f)}px;`;
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(title)}</title>\n` +
    `<style>body{margin:0;padding:8px;background:#fff;font-family:"DejaVu Sans","Open Sans",Verdana,Arial,sans-serif;}</style>\n` +
    `${PLOTLY_INLINE_MARKER}\n<script type="text/javascript">${plotlyBundleScript()}</script>\n` +
    `</head>\n<body>\n<div id="${divId}" style="${style}"></div>\n` +
    `<script type="text/javascript">\n${plotScript(f, divId, "<p>plotly.js failed to load.</p>")}\n</script>\n` +
    `</body>\n</html>\n`
  );
}
