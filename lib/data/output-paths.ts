/**
 * Output paths checked before any work, and folders made without an unbounded loop.
 *
 * - `outputProblem(target, kind)`: why `target` (a file or a folder to write) cannot be written, or
 *   undefined: a file where a folder is wanted (or the reverse), an ancestor that is a file, or a nearest
 *   existing folder where this process cannot create a file. The last is tested by creating and removing a
 *   probe file there (`.esmm-probe-<pid>`), because permission bits lie for root and for special file systems
 *   (/proc accepts access(W_OK) but no new file). Nothing else is created.
 * - `makeDirs(dir)`: mkdir -p one level at a time, at most as many steps as the path has components. Node's
 *   own `mkdirSync(dir, { recursive: true })` loops forever on some paths (e.g. /proc/x), which is how
 *   `esmm prepare --out /proc/x` used to hang at 100 % CPU.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The nearest existing ancestor of `target` (itself when it exists), or undefined when none is a folder. */
function nearestExisting(target: string): { dir: string; missing: string[] } | { file: string } {
  const missing: string[] = [];
  let at = path.resolve(target);
  // bounded: every step removes one component, and the root is its own parent
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(at);
    } catch {
      st = undefined;
    }
    if (st) return st.isDirectory() ? { dir: at, missing } : { file: at };
    const parent = path.dirname(at);
    if (parent === at) return { dir: at, missing };
    missing.unshift(path.basename(at));
    at = parent;
  }
}

/** Whether this process can create a file in `dir` (by creating and removing a probe file). */
function canCreateIn(dir: string): string | undefined {
  const probe = path.join(dir, `.esmm-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    fs.closeSync(fs.openSync(probe, "wx"));
    fs.rmSync(probe, { force: true });
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

/**
 * Why `target` cannot be written as a `kind` ("file" or "dir"), in a few words naming the path at fault, or
 * undefined when it can (see the file comment). Creates nothing but a probe file it removes.
 */
export function outputProblem(target: string, kind: "file" | "dir"): string | undefined {
  const resolved = path.resolve(target);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(resolved);
  } catch {
    st = undefined;
  }
  if (st) {
    if (kind === "dir" && !st.isDirectory()) return `${target} is a file, not a folder`;
    if (kind === "file" && st.isDirectory()) return `${target} is a folder, not a file`;
  }
  const near = nearestExisting(kind === "file" ? path.dirname(resolved) : resolved);
  if ("file" in near) return `${near.file} is a file, so ${target} cannot be made under it`;
  const code = canCreateIn(near.dir);
  if (code) return `cannot write in ${near.dir} (${code})`;
  if (st && kind === "file") {
    try {
      fs.accessSync(resolved, fs.constants.W_OK);
    } catch (e) {
      return `cannot write ${target} (${(e as NodeJS.ErrnoException).code})`;
    }
  }
  return undefined;
}

/** mkdir -p `dir`, one level at a time (bounded by the path's depth); throws the first mkdir error. */
export function makeDirs(dir: string): void {
  const near = nearestExisting(dir);
  if ("file" in near) {
    const err = new Error(`ENOTDIR: ${near.file} is not a folder (mkdir ${dir})`) as NodeJS.ErrnoException;
    err.code = "ENOTDIR";
    throw err;
  }
  let at = near.dir;
  for (const part of near.missing) {
    at = path.join(at, part);
    try {
      fs.mkdirSync(at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}
