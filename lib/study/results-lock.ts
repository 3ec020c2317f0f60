/**
 * One study runner per results file: `lockResults(file)` creates `<file>.lock` with O_EXCL (open "wx"), holding
 * the owner's pid, host, start time and command line, and `release()` removes it (also on process exit). A second
 * runner on the same file is refused at once while the owner lives (one line: the file, the owner's pid, host,
 * start and command, the lock, and how to proceed: wait for it and run again, which then skips every run it
 * wrote, or use another results file), so two `esmm study` processes never train the same run twice. It does
 * not wait: a study runs for minutes to hours, and a runner that waited would only find the runs done. A lock whose pid is dead on this host (a
 * runner killed with SIGKILL) is stale: it is removed and taken over, with a bounded number of attempts (two
 * runners may find the same stale lock; exactly one then wins the O_EXCL create). A lock written on another
 * host is never taken over (its pid means nothing here): remove it by hand once that runner is gone.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DataError } from "../data/errors";
import { makeDirs, outputProblem } from "../data/output-paths";
import { pidAlive, removeDeadProcessTemps } from "../data/temp-files";

/** A held lock. */
export interface ResultsLock {
  file: string;
  /** Removes the lock file (idempotent). */
  release(): void;
}

interface LockOwner {
  pid: number;
  host: string;
  started: string;
  /** The owner's command line (node's script and arguments), absent in locks written before it was recorded. */
  command?: string;
}

/** `<results>.lock`. */
export function lockFileOf(results: string): string {
  return `${results}.lock`;
}

const ATTEMPTS = 3;

/**
 * Takes the lock of results file `results` (see the file comment). Throws a DataError when another live
 * runner holds it, or when the lock cannot be created (e.g. the folder is not writable).
 */
export function lockResults(results: string): ResultsLock {
  const file = lockFileOf(results);
  const me: LockOwner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command: commandLine() };
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, "wx");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") throw new DataError({ file: results }, `cannot create the lock ${file} (${code ?? (e as Error).message})`);
      const owner = readOwner(file);
      if (owner && (owner.host !== me.host || pidAlive(owner.pid))) {
        throw new DataError(
          { file: results },
          `is in use by another study runner (pid ${owner.pid} on ${owner.host}, since ${owner.started}${owner.command ? `: ${owner.command}` : ""}; lock ${file}): ` +
            `wait for it to finish and run this again (the runs it wrote are then skipped), or use another results file` +
            `${owner.host !== me.host ? "; if that runner is gone, remove the lock" : ""}`,
        );
      }
      if (!owner && !lockIsOld(file)) {
        // being written right now by a runner that has just created it: treat as held
        throw new DataError({ file: results }, `is in use by another study runner (lock ${file} being taken right now): wait for it to finish`);
      }
      fs.rmSync(file, { force: true }); // stale: its runner is dead (or it never got its owner written)
      continue;
    }
    try {
      fs.writeSync(fd, JSON.stringify(me) + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      process.removeListener("exit", release);
      const owner = readOwner(file);
      if (owner && owner.pid === me.pid && owner.host === me.host) fs.rmSync(file, { force: true });
    };
    process.on("exit", release);
    return { file, release };
  }
  throw new DataError({ file: results }, `cannot take the lock ${file}: other runners keep taking it`);
}

/** This process's command line, shortened to 200 characters: `esmm study --spec ...` for the CLI. */
function commandLine(): string {
  const [script, ...args] = process.argv.slice(1);
  const text = [script && /esmm(\.js)?$/.test(script) ? "esmm" : path.basename(script ?? "node"), ...args].join(" ");
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LockOwner>;
    return Number.isInteger(o.pid) && typeof o.host === "string"
      ? { pid: o.pid!, host: o.host, started: String(o.started ?? "?"), command: typeof o.command === "string" ? o.command : undefined }
      : undefined;
  } catch {
    return undefined;
  }
}

/** An unreadable lock older than a few seconds was left by a runner that died while writing it. */
function lockIsOld(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > 5000;
  } catch {
    return true;
  }
}

/** A temporary predictions sidecar: `<key>.bin.tmp-<pid>-<hex>` (runner.ts), named after its writer's pid. */
const PREDICTION_TEMP_RE = /\.tmp-(\d+)(-[0-9a-f]+)?$/;

/**
 * What a study runner does before any work on its outputs: checks that the results file and the predictions
 * folder can be written (a DataError naming the path otherwise), makes the results file's folder, takes the
 * results lock (`lockResults`) and removes the temporary prediction files left by writers that died (a full
 * disk or a kill mid-write). Returns the lock; the caller releases it when done.
 */
export function prepareResultsOutputs(results: string, predictionsDir: string): ResultsLock {
  const problem = outputProblem(results, "file") ?? outputProblem(predictionsDir, "dir");
  if (problem) throw new DataError({ file: results }, `cannot write the study's outputs: ${problem}`);
  makeDirs(path.dirname(results));
  const lock = lockResults(results);
  try {
    removeDeadProcessTemps(predictionsDir, (name) => {
      const m = PREDICTION_TEMP_RE.exec(name);
      return m ? Number(m[1]) : undefined;
    });
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}
