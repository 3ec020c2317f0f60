/**
 * What goes into a run's key in place of the code: the numerics version (issue 23, point 2).
 *
 * A run's key must change exactly when what the run computes changes. The source text of the library is a
 * poor proxy (a reworded comment or a refactor the golden tests prove exact would retrain every study), so
 * the key holds the sha256 of the committed golden-output fixtures instead: the files the tests compare
 * today's numbers with, which must be recorded again (ESMM_RECORD_...=1) whenever the numbers change.
 *
 *   numericsVersion()      runs: NUMERICS_EPOCH, MODEL_FIXTURES and DATA_FIXTURES (a run's numbers depend on
 *                          its data's preparation too, and a run's key names its data only by the simulator's
 *                          manifest)
 *   dataNumericsVersion()  the data cache's folders: NUMERICS_EPOCH and DATA_FIXTURES
 *
 * Each is sha256 over "esmm-numerics", the epoch, then each fixture's project-relative path and bytes (CRLF
 * read as LF, so a checkout with converted line endings keys alike), in the order listed. The fixtures are
 * read at run time from `<project>/test/fixtures` (`<project>` is the folder of the esmm-lab package.json
 * above this file, as `projectRoot`; a container image must copy them, see the Dockerfile).
 *
 * Fallback: when any fixture is missing (an installation without the test folder), the numerics version is
 * the old source hash (`codeVersion` / `dataCodeVersion`: the compiled sources, comments included), so keys
 * still change with the code, only more often; `numericsSource()` says which one is in use.
 *
 * Coverage: the key is as sensitive as the fixtures. They pin the six paper models and the trainer
 * (paper-models-compat.json, speed-reference.json, stopping-reference.json: cpu backend) and the simulator, the preparation and the
 * Ali-CCP sample's loading (data-reference.json). A change that moves only numbers no fixture records
 * (e.g. the trainer on the native backend alone) does not change the key: record a fixture that covers it, or
 * raise NUMERICS_EPOCH. A model row outside the six is covered by its own fingerprint in its runs' specs
 * (lib/models/row-version.ts: a changed row gets new keys).
 *
 * `codeVersion()` (the source hash) is still written into every record, for audit, but is no part of the key.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "./backend";

// ---------------------------------------------------------------------------------------------
// hashing of keys (runs: lib/study/results.ts runKey; data: lib/sources kind.ts sourceKey)

/** JSON with object keys sorted at every level (undefined members dropped, as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : sortKeys(x)));
  if (v && typeof v === "object" && !ArrayBuffer.isView(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined && typeof x !== "function") out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** sha256 of `data` (a string is hashed as UTF-8), 64 lower-case hex digits. */
export function sha256Hex(data: string | Uint8Array): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

// ---------------------------------------------------------------------------------------------
// the numerics versions

/** Raised by hand to start a new set of keys on purpose (a change the fixtures do not see). Part of both versions. */
export const NUMERICS_EPOCH = 1;

/** Golden outputs of the models and the trainer (project-relative): test/paper-models-compat.test.ts, test/speed-equivalence.test.ts, test/stopping-reference.test.ts (the early-stopping rules). */
export const MODEL_FIXTURES: readonly string[] = ["test/fixtures/paper-models-compat.json", "test/fixtures/speed-reference.json", "test/fixtures/stopping-reference.json"];

/** Golden outputs of the data path (simulate, prepare, load): test/data-reference.test.ts. */
export const DATA_FIXTURES: readonly string[] = ["test/fixtures/data-reference.json"];

/**
 * sha256 (64 hex) of `epoch` and the fixtures `files` (project-relative paths below `root`), or undefined
 * when any of them cannot be read. Reads the files on each call.
 */
export function fixturesHash(root: string, files: readonly string[], epoch: number = NUMERICS_EPOCH): string | undefined {
  const h = crypto.createHash("sha256").update(`esmm-numerics\0epoch=${epoch}\0`);
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(path.join(root, f));
    } catch {
      return undefined;
    }
    h.update(f).update("\0").update(bytes.toString("latin1").replace(/\r\n/g, "\n"), "latin1").update("\0");
  }
  return h.digest("hex");
}

// ---------------------------------------------------------------------------------------------
// the source hash (audit, and the fallback)

/** sha256 over the files below `entries` (folders or single files) with extension `ext`, relative to `base`. */
export function hashSources(base: string, entries: string[], ext: string): string {
  const files: string[] = [];
  const walk = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const f of fs.readdirSync(p)) walk(path.join(p, f));
    else if (p.endsWith(ext) && !p.endsWith(".d.ts")) files.push(p);
  };
  for (const e of entries) walk(path.join(base, e));
  const h = crypto.createHash("sha256");
  for (const f of [...new Set(files)].sort()) {
    h.update(path.relative(base, f).split(path.sep).join("/")).update("\0").update(fs.readFileSync(f)).update("\0");
  }
  return h.digest("hex");
}

const SOURCE_EXT = path.extname(__filename) === ".ts" ? ".ts" : ".js";
const LIB_DIR = path.resolve(__dirname); // lib/ (build/lib/ when compiled)
const cache: Partial<Record<"code" | "dataCode" | "numerics" | "dataNumerics", string>> = {};

/**
 * sha256 of the compiled sources (`.js`; `.ts` when running from sources) of lib/models, lib/train, lib/data,
 * lib/metrics and lib/study/run, relative path and content of each: written into every record (field
 * `codeVersion`) for audit; the key's fallback only. 64 hex characters; computed once per process.
 */
export function codeVersion(): string {
  return (cache.code ??= hashSources(LIB_DIR, ["models", "train", "data", "metrics", `study/run${SOURCE_EXT}`], SOURCE_EXT));
}

/** sha256 of lib/data's sources alone: dataNumericsVersion's fallback. */
export function dataCodeVersion(): string {
  return (cache.dataCode ??= hashSources(LIB_DIR, ["data"], SOURCE_EXT));
}

/**
 * The numerics version of runs (see the header): 64 hex characters, part of every run key (results.ts
 * runKey). The fixtures' hash, or codeVersion() when a fixture is missing. Computed once per process.
 */
export function numericsVersion(): string {
  return (cache.numerics ??= fixturesHash(projectRoot(), [...MODEL_FIXTURES, ...DATA_FIXTURES]) ?? codeVersion());
}

/** The numerics version of prepared data (see the header): part of the data cache's keys. Computed once per process. */
export function dataNumericsVersion(): string {
  return (cache.dataNumerics ??= fixturesHash(projectRoot(), DATA_FIXTURES) ?? dataCodeVersion());
}

/** Where numericsVersion() comes from: "fixtures", or "source hash" when a fixture is missing (with the missing paths). */
export function numericsSource(): { source: "fixtures" | "source hash"; missing: string[] } {
  const root = projectRoot();
  const missing = [...MODEL_FIXTURES, ...DATA_FIXTURES].filter((f) => !fs.existsSync(path.join(root, f)));
  return { source: missing.length ? "source hash" : "fixtures", missing };
}
