/**
 * One call per figure in notebooks: save it to figures/ as HTML, SVG and PNG, and show it in the notebook
 * (plotly + HTML + PNG in one output). Prints where the files went, relative to the project.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Figure, projectDir, saveFigure, showFigure } from "../plots";

/**
 * Saves `fig` as `figures/<name>.{html,svg,png}` (saveFigure: unchanged figures are not rendered again, see
 * lib/plots/export-cache.ts) and shows it with the PNG just saved, so a figure costs at most one render of each
 * format and none when cached. When saving fails (e.g. ChromiumMissingError), the figure is still shown
 * (without its PNG, with the reason) and the error is rethrown.
 */
export async function publishFigure(fig: Figure, name: string): Promise<void> {
  let files: string[];
  try {
    files = await saveFigure(fig, name);
  } catch (e) {
    await showFigure(fig);
    throw e;
  }
  const pngFile = files.find((f) => f.endsWith(".png"))!;
  await showFigure(fig, { pngBytes: fs.readFileSync(pngFile) });
  const root = projectDir();
  const rel = files.map((f) => path.relative(root, f));
  const base = rel[0].replace(/\.[^.]+$/, "");
  console.log(`saved ${base}.{${rel.map((f) => path.extname(f).slice(1)).join(",")}}`);
}
