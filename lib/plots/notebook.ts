/**
 * showFigure: display a figure in a tslab notebook as ONE display_data message with several
 * MIME types, so that every frontend finds something it can render:
 *
 * - `application/vnd.plotly.v1+json`: JupyterLab's plotly renderer (shipped with the `plotly`
 *   Python package) has rank 2, ahead of text/html (50) and image/png (90), so JupyterLab picks
 *   it when installed. When the bundle also holds image/png, that renderer first shows the PNG
 *   and switches to the interactive chart when the mouse enters it.
 * - `text/html`: a div + script drawing the chart with plotly.js. The plotly.js bundle (~4.8 MB)
 *   is inlined only in the first figure of a kernel session; later ones rely on it being loaded
 *   in the page. The div also holds the static PNG as an <img>, replaced by the interactive
 *   chart when plotly.js is there, so exports that drop or do not run scripts (GitHub,
 *   nbconvert with a re-run cell that lost the bundle) still show the chart. nbconvert's HTML
 *   export drops the plotly MIME type and keeps this one.
 * - `image/png`: base64, rendered by headless Chromium (left out, with a warning, if missing).
 * - `text/plain`: a one-line description.
 *
 * Outside a kernel (plain node, tests) nothing is sent: the bundle is only returned. Inside a
 * kernel the promise resolves to undefined, so that `await showFigure(fig)` as the last line of
 * a cell does not make tslab echo the (megabytes long) bundle as text under the chart.
 */
import { Figure, PLOTLY_INLINE_MARKER, describeFigure, divHeight, escapeHtml, normalizeFigure, plotScript, plotlyBundleScript, resolveImageSize } from "./figure";
import { ChromiumMissingError, renderFigure } from "./export";
import { DisplayContent, kernelDisplayWriter, newDisplayId } from "./kernel";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface ShowFigureOptions {
  /** Size of the static PNG in CSS px (default layout.width/height, else 800 x 450). */
  width?: number;
  height?: number;
  /** PNG pixel density (default 1). */
  scale?: number;
  /** Include image/png (default true). */
  png?: boolean;
  /**
   * The static PNG, already rendered for this figure at this size (e.g. read back from the file saveFigure
   * wrote): shown as it is, and nothing is rendered (no Chromium). Throws TypeError if it is not a PNG.
   */
  pngBytes?: Buffer;
  /** Force (true) or forbid (false) inlining plotly.js in this figure's HTML; default: only the first time. */
  inlinePlotly?: boolean;
}

export interface FigureBundle extends DisplayContent {
  data: {
    [PLOTLY_MIME]: Figure;
    "text/html": string;
    "image/png"?: string;
    "text/plain": string;
  };
}

/** Per-process state, kept on globalThis so a second copy of this module shares it. */
interface NotebookState {
  plotlyInlined: boolean;
  warnedNoPng: boolean;
}
const STATE_KEY = Symbol.for("esmm-lab.plots.notebook");
function state(): NotebookState {
  const g = globalThis as unknown as Record<symbol, NotebookState | undefined>;
  return (g[STATE_KEY] ??= { plotlyInlined: false, warnedNoPng: false });
}

/** Forget that plotly.js was inlined: the next figure inlines it again (e.g. after a page reload). */
export function resetPlotlyInlining(): void {
  state().plotlyInlined = false;
}

/**
 * Builds the MIME bundle for a figure and, inside a tslab kernel, displays it in the current
 * cell (one display_data message) and resolves to undefined; outside a kernel it only returns
 * the bundle. Awaiting is recommended (the PNG is rendered first).
 */
export async function showFigure(fig: Figure, options: ShowFigureOptions = {}): Promise<FigureBundle | undefined> {
  // Capture the writer now: it is tied to the cell that called us, even if another cell runs
  // before the PNG is ready.
  const write = kernelDisplayWriter();
  const plain = normalizeFigure(fig);
  const size = resolveImageSize(plain, options);
  const description = describeFigure(plain);

  let png: string | undefined;
  let warning: string | undefined;
  if (options.png !== false && options.pngBytes !== undefined) {
    if (!Buffer.isBuffer(options.pngBytes) || !options.pngBytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
      throw new TypeError("showFigure: pngBytes must be the bytes of a PNG file");
    }
    png = options.pngBytes.toString("base64");
  } else if (options.png !== false) {
    try {
      png = (await renderFigure(plain, "png", size)).toString("base64");
    } catch (e) {
      warning =
        e instanceof ChromiumMissingError
          ? `no static PNG: ${e.message}`
          : `no static PNG: export failed: ${(e as Error).message}`;
      const st = state();
      if (!st.warnedNoPng || !(e instanceof ChromiumMissingError)) {
        st.warnedNoPng = true;
        console.warn(`showFigure: ${warning}`);
      }
    }
  }

  const st = state();
  const inline = options.inlinePlotly ?? !st.plotlyInlined;
  if (inline) st.plotlyInlined = true;
  const divId = `esmm-fig-${newDisplayId()}`;
  const staticImg = png
    ? `<img class="esmm-figure-static" alt="${escapeHtml(description)}" style="max-width:100%;height:auto;" width="${size.width}" height="${size.height}" src="data:image/png;base64,${png}">`
    : "";
  const missing =
    `<div style="font:13px sans-serif;color:#a33;padding:4px 0">` +
    `plotly.js is not loaded in this page (it is inlined only in the first figure of a kernel session). ` +
    `Re-run with <code>showFigure(fig, {inlinePlotly: true})</code> or call <code>resetPlotlyInlining()</code>.</div>`;
  const html =
    (inline ? `${PLOTLY_INLINE_MARKER}\n<script type="text/javascript">${plotlyBundleScript()}</script>\n` : "") +
    `<div id="${divId}" class="esmm-figure" style="width:100%;min-height:${png ? 0 : divHeight(plain)}px;">${staticImg}</div>\n` +
    `<script type="text/javascript">\n${plotScript(plain, divId, missing)}\n</script>`;

  const data: FigureBundle["data"] = {
    [PLOTLY_MIME]: plain,
    "text/html": html,
    "text/plain": warning ? `${description} [${warning}]` : description,
  };
  const metadata: Record<string, unknown> = {};
  if (png !== undefined) {
    data["image/png"] = png;
    metadata["image/png"] = { width: size.width, height: size.height };
  }
  const bundle: FigureBundle = { data, metadata, transient: {} };
  // Printed (e.g. echoed by a REPL) as one line, not megabytes of base64 and JavaScript.
  Object.defineProperty(bundle, Symbol.for("nodejs.util.inspect.custom"), {
    value: () => `FigureBundle [${Object.keys(data).join(", ")}] ${description}`,
    enumerable: false,
  });
  if (write) {
    write(bundle, false);
    return undefined;
  }
  return bundle;
}
