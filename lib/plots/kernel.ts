/**
 * Talking to the tslab Jupyter kernel this code runs in, if any.
 *
 * tslab's public `display.*` sends one MIME type per message; to send a bundle of several MIME
 * types in ONE display_data message we call the function tslab keeps in
 * `tslab/dist/jupyter.js` as `lastWriteDisplayData(content, update)` (it is set at the start of
 * every cell execution; `update=true` sends update_display_data instead of display_data).
 *
 * The module is looked up in Node's module cache rather than required: a running kernel has
 * always loaded it already (possibly from a global tslab install, which a plain
 * `require('tslab/dist/jupyter')` from this project would not find), and outside a kernel
 * nothing heavy gets loaded just to find out.
 */
import { randomBytes } from "node:crypto";

/** The content of a display_data / update_display_data message. */
export interface DisplayContent {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

export type WriteDisplayData = (content: DisplayContent, update: boolean) => void;

const JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/** The kernel's display writer for the cell being executed, or null outside a tslab kernel. */
export function kernelDisplayWriter(): WriteDisplayData | null {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!JUPYTER_MODULE.test(file)) continue;
    const write = (mod?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof write === "function") return write as WriteDisplayData;
  }
  return null;
}

/** True when running inside a tslab kernel that has started executing cells. */
export function inKernel(): boolean {
  return kernelDisplayWriter() !== null;
}

/** A fresh display id, as tslab's newDisplay() makes them. */
export function newDisplayId(): string {
  return randomBytes(8).toString("hex");
}
