/**
 * Source kind "simulated-log": a folder the simulator wrote (`esmm simulate --out DIR`: manifest.json and one CSV
 * per day, lib/data/simulated-files.ts), prepared with the default split plan (training days, a validation day,
 * the test day, `laterDays` later days), as `esmm prepare --data DIR` does.
 *
 *   { kind: "simulated-log", dir: "runs/sim", laterDays: 2 }
 *
 * Unlike "simulated" (a log made from a config and seed), the log is given: keyed by { kind: "simulated-log",
 * files: the manifest's and each day file's absolute path, size and modification time, laterDays, the full
 * preparation } and the data numerics version; the folder is `simulated-log-<key>`. Not recognised by
 * `sourceFromFolder` (a study simulates its own worlds; real data is never a simulated log).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkEvaluationScaling, defaultSplitPlan, prepare } from "../data/prepare";
import { isPreparedDir, writePrepared } from "../data/prepared-files";
import { MANIFEST_FILE, readManifest, readSimulatedLog, SimulationManifest } from "../data/simulated-files";
import { fullPreparation, SourceKind, sourceKey } from "./kind";

export interface SimulatedLogSource {
  kind: "simulated-log";
  /** The simulator's output folder (manifest.json and the day files). */
  dir: string;
  /** Days after the test day scored without retraining (`esmm prepare --later-days`, default 2). */
  laterDays: number;
}

/** The manifest and the files it names (the manifest first), as given (relative to the working directory or not). */
function logFiles(source: SimulatedLogSource): { manifest: SimulationManifest; files: string[] } {
  const manifest = readManifest(source.dir); // a DataError naming the file when missing or bad
  return { manifest, files: [path.join(source.dir, MANIFEST_FILE), ...manifest.days.map((d) => path.join(source.dir, d.file))] };
}

export const simulatedLogSource: SourceKind<SimulatedLogSource> = {
  kind: "simulated-log",
  describe: "a simulated log folder (`esmm simulate --out`), split by day (`esmm prepare --data`)",
  embeddingUpdates: "dense",
  sync: true,

  key(source, preparation) {
    const files = logFiles(source).files.map((f) => {
      const st = fs.statSync(f); // throws ENOENT naming the file
      return { file: path.resolve(f), size: st.size, mtimeMs: st.mtimeMs };
    });
    return sourceKey({ kind: "simulated-log", files, laterDays: source.laterDays, preparation: fullPreparation(preparation) });
  },

  folder: (key) => `simulated-log-${key}`,

  isComplete: isPreparedDir,

  /** Throws when the log's days cannot be split with `laterDays` later days, or its scaled evaluation days are not the test and later days. */
  check(source) {
    const { manifest } = logFiles(source);
    checkEvaluationScaling(defaultSplitPlan(manifest.days.length, source.laterDays), manifest.config);
  },

  write(source, preparation, tmp, { onStatus }) {
    const { manifest, files } = logFiles(source);
    const p = fullPreparation(preparation);
    onStatus?.(`preparing the simulated log of ${path.resolve(source.dir)} (keep rate ${p.negativeKeepRate}, seed ${p.seed})`);
    const plan = defaultSplitPlan(manifest.days.length, source.laterDays);
    const data = prepare(readSimulatedLog(source.dir), { plan, ...p, simulator: manifest.config });
    const provenance = { kind: "simulated", dir: path.resolve(source.dir), seed: manifest.seed, totals: manifest.totals, oracle: manifest.oracle };
    writePrepared(tmp, data, provenance, { inputs: files }); // recorded, so that a changed input is refused, not served
  },
};
