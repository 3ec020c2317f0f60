/**
 * One call per figure in notebooks: show it in the notebook (plotly + HTML + PNG in one output) and save it
 * to figures/ as HTML, SVG and PNG. Prints where the files went, relative to the project.
 */
import * as path from "node:path";
import { Figure, projectDir, saveFigure, showFigure } from "../plots";

export async function publishFigure(fig: Figure, name: string): Promise<void> {
  await showFigure(fig);
  const files = await saveFigure(fig, name);
  const root = projectDir();
  const rel = files.map((f) => path.relative(root, f));
  const base = rel[0].replace(/\.[^.]+$/, "");
  console.log(`saved ${base}.{${rel.map((f) => path.extname(f).slice(1)).join(",")}}`);
}
