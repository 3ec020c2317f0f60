/**
 * Negative control for the browser suite, preloaded into the tslab kernel with
 * `NODE_OPTIONS=--require build/test/e2e/break-figures.js` when ESMM_E2E_BREAK_FIGURES=text-only
 * (support.ts's kernelEnv does this). It breaks the plotly display path without touching lib/: every
 * display message that carries the plotly MIME type (showFigure's one bundle) reaches the frontend as
 * text/plain only, as if showFigure emitted nothing else. Progress bars and tables are untouched.
 *
 * It wraps tslab's per-cell display writer (`lastWriteDisplayData` in tslab/dist/jupyter.js, the
 * function lib/plots/kernel.ts looks up). Does nothing unless the variable is set, so loading this file
 * elsewhere (the unit run loads every .js file under build/test/) is harmless.
 */
import Module from "node:module";

const PLOTLY_MIME = "application/vnd.plotly.v1+json";
const JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

type Content = { data?: Record<string, unknown>; metadata?: Record<string, unknown>; transient?: Record<string, unknown> };
type Writer = (content: Content, update: boolean) => void;

function textOnly(write: Writer): Writer {
  return (content, update) => {
    if (content?.data && PLOTLY_MIME in content.data) {
      content = { ...content, data: { "text/plain": content.data["text/plain"] }, metadata: {} };
    }
    write(content, update);
  };
}

function patch(exportsObject: Record<string, unknown>): void {
  let current = exportsObject.lastWriteDisplayData as Writer | null | undefined;
  Object.defineProperty(exportsObject, "lastWriteDisplayData", {
    configurable: true,
    enumerable: true,
    get: () => (typeof current === "function" ? textOnly(current) : current),
    set: (v: Writer | null) => {
      current = v;
    },
  });
}

if (process.env.ESMM_E2E_BREAK_FIGURES === "text-only") {
  const extensions = (Module as unknown as { _extensions: Record<string, (m: NodeJS.Module, file: string) => void> })._extensions;
  const loadJs = extensions[".js"];
  extensions[".js"] = function (this: unknown, mod: NodeJS.Module, file: string) {
    loadJs.call(this, mod, file);
    if (JUPYTER_MODULE.test(file)) {
      patch(mod.exports as Record<string, unknown>);
      process.stderr.write(`[break-figures] figures reach the frontend as text/plain only (${file})\n`);
    }
  };
}
