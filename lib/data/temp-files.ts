/**
 * Temporary files and folders named after the process that writes them (e.g. `log.bin.tmp-<pid>-<random>`,
 * `.tmp-<key>-<pid>-<random>`): a writer that dies leaves one behind, and the next writer removes it.
 *
 * - pidAlive(pid): whether a process with that id exists (signal 0; EPERM means it exists but is not ours).
 * - removeDeadProcessTemps(dir, pidOf): removes (recursively) every entry of `dir` for which `pidOf(name)`
 *   gives the id of a process other than this one that is no longer alive; a missing `dir` is no error.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function removeDeadProcessTemps(dir: string, pidOf: (name: string) => number | undefined): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = pidOf(name);
    if (pid !== undefined && pid !== process.pid && !pidAlive(pid)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}
