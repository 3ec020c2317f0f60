/**
 * The one data cache: `materialize(source, preparation, { root })` returns the prepared folder of a source,
 * writing it once.
 *
 *   const dir = await materialize({ kind: "ali-ccp", dir: "data/ali-ccp" }, { negativeKeepRate: 0.1 }, { root: "data/study" });
 *   const data = readPrepared(dir);
 *
 * - Where: `<root>/<kind.folder(key)>`, the key from the source's kind (kind.ts, registry.ts); a source that is
 *   its own prepared folder (kind "prepared") is returned in place, checked, and never written.
 * - Reuse: a folder that is complete (`kind.isComplete`) is returned as it is, without reading the source.
 *   A changed input (another file, another size or modification time, another preparation) is another key,
 *   so another folder; the old one stays until deleted.
 * - Safe under races: the folder is written in `<root>/.tmp-<key>-<pid>-XXXXXX` and renamed into place; a
 *   process that loses the race discards its copy and uses the winner's, so a folder under its final name is
 *   always complete. Temporary folders of dead processes are removed; on any error the temporary folder is
 *   removed and nothing is left half-written.
 *
 * `materializeSync` is the same for kinds whose `write` is synchronous (the simulator), for the callers that
 * cannot wait (the study's workers and rescore); it throws for a kind that writes asynchronously.
 *
 * `materializeInto(source, preparation, dir)` writes the prepared folder into a folder the caller names
 * (`esmm prepare --out DIR`): no key, no cache, no reuse; the kind's checks first, then its `write` into `dir`,
 * whose prepared.json and splits writePrepared replaces (prepared.json last, so the folder never reads as
 * prepared with a mix of old and new splits).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Preparation } from "../data/prepare";
import { makeDirs } from "../data/output-paths";
import { removeDeadProcessTemps } from "../data/temp-files";
import type { SourceBase, SourceKind, WriteContext } from "./kind";
import { sourceKind } from "./registry";

export interface MaterializeOptions extends Omit<WriteContext, "key"> {
  /** The cache folder (e.g. defaultDataRoot()); made when missing. */
  root: string;
}

/** The folder `source` materializes to under `root` (in place for a prepared folder), without writing anything. */
export function materializedDir<S extends SourceBase>(source: S, preparation: Partial<Preparation>, root: string): string {
  const kind = sourceKind(source);
  if (kind.inPlace) return path.resolve((source as unknown as { dir: string }).dir); // an in-place source names its folder
  const key = kind.key(source, preparation);
  return path.join(root, kind.folder ? kind.folder(key) : key);
}

/** The complete cached folder of `source` under `root`, else undefined; a prepared folder is checked (throws when missing or changed). */
export function findMaterialized<S extends SourceBase>(source: S, preparation: Partial<Preparation>, root: string): string | undefined {
  const kind = sourceKind(source);
  if (kind.inPlace) return kind.inPlace(source);
  const dir = materializedDir(source, preparation, root);
  return kind.isComplete(dir) ? dir : undefined;
}

/**
 * The prepared folder of `source` under `preparation` (missing fields: lib/data/prepare.ts DEFAULT_PREPARATION),
 * written into the cache `options.root` unless it is there already (see the header). Throws what the kind
 * throws (a missing file, a DataError naming file, line and column), having removed its temporary folder.
 */
export async function materialize<S extends SourceBase>(source: S, preparation: Partial<Preparation>, options: MaterializeOptions): Promise<string> {
  const job = start(source, preparation, options);
  if (job.done) return job.dir;
  try {
    await job.kind.write!(source, preparation, job.tmp, { ...options, key: job.key });
  } catch (e) {
    fs.rmSync(job.tmp, { recursive: true, force: true });
    throw e;
  }
  return finish(job);
}

/**
 * Writes the prepared folder of `source` under `preparation` (missing fields: DEFAULT_PREPARATION) into `dir`,
 * made when missing, whatever it held (see the header); returns `dir`. Throws for a kind used in place (a
 * prepared folder is prepared already), what the kind's `check` throws before anything is written, and what
 * its `write` throws (a DataError naming file, line and column).
 */
export async function materializeInto<S extends SourceBase>(source: S, preparation: Partial<Preparation>, dir: string, context: Omit<WriteContext, "key"> = {}): Promise<string> {
  const kind = sourceKind(source);
  if (kind.inPlace || !kind.write) throw new Error(`data sources: kind "${kind.kind}" is used in place, not written into another folder`);
  kind.check?.(source, preparation);
  await kind.write(source, preparation, dir, context);
  return dir;
}

/** `materialize` for kinds that write synchronously (`sync`: the simulator) and prepared folders. Throws for any other kind before touching the cache. */
export function materializeSync<S extends SourceBase>(source: S, preparation: Partial<Preparation>, options: MaterializeOptions): string {
  const kind = sourceKind(source);
  if (!kind.inPlace && !kind.sync) throw new Error(`data sources: kind "${kind.kind}" writes asynchronously: use materialize, not materializeSync`);
  const job = start(source, preparation, options);
  if (job.done) return job.dir;
  try {
    void job.kind.write!(source, preparation, job.tmp, { ...options, key: job.key });
  } catch (e) {
    fs.rmSync(job.tmp, { recursive: true, force: true });
    throw e;
  }
  return finish(job);
}

type Job =
  | { done: true; dir: string }
  | { done: false; kind: SourceKind<SourceBase>; key: string; dir: string; tmp: string };

/** The folder when it is there (or in place), else a fresh temporary folder to write it in. */
function start(source: SourceBase, preparation: Partial<Preparation>, options: MaterializeOptions): Job {
  const kind = sourceKind(source);
  if (kind.inPlace) return { done: true, dir: kind.inPlace(source) };
  if (!kind.write) throw new Error(`data sources: kind "${kind.kind}" can neither be used in place nor written`);
  const key = kind.key(source, preparation);
  const dir = path.join(options.root, kind.folder ? kind.folder(key) : key);
  if (kind.isComplete(dir)) return { done: true, dir };
  kind.check?.(source, preparation); // before anything is written
  makeDirs(options.root);
  removeDeadProcessTemps(options.root, (name) => {
    const m = /^\.tmp-([0-9a-f]+)-(\d+)-/.exec(name);
    return m && m[1] === key ? Number(m[2]) : undefined;
  });
  const tmp = fs.mkdtempSync(path.join(options.root, `.tmp-${key}-${process.pid}-`));
  return { done: false, kind, key, dir, tmp };
}

/** Renames the written temporary folder into place; a complete folder already there (another process) wins. */
function finish(job: Extract<Job, { done: false }>): string {
  const { kind, dir, tmp } = job;
  try {
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === "ENOTEMPTY" || code === "EEXIST") && kind.isComplete(dir)) return dir; // another process won the race
    if (code === "ENOTEMPTY" || code === "EEXIST") throw new Error(`data cache: ${dir} exists but is incomplete (not made by esmm-lab?); delete it and retry`);
    throw e;
  }
  return dir;
}
