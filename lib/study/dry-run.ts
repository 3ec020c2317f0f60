/**
 * `esmm study --dry-run`: the runs a study would train and which are already done, without training,
 * simulating or writing anything.
 *
 * The same grid as runStudy (normalizeStudy, expandGrid, seed groups of seedGroupSize(), the shard's share),
 * and the same keys (results.ts runKey with numerics.ts numericsVersion): a run's key needs its data's
 * manifest sha256, known when the data is in the data cache or when a record of the results file names that
 * data set; otherwise the key is unknown until the study prepares the data (and the run counts as to run).
 * A run is done when its key is in the results file; a second run of the grid with the key of an earlier one
 * (e.g. the default level of two sensitivity factors) is trained once, and is listed as "same".
 */
import * as path from "node:path";
import { dataSpecKey, findPreparedData, preparedDataInfo } from "./data-cache";
import { dataReplicateOf } from "./data-source";
import { numericsSource, numericsVersion } from "../numerics";
import { DataManifestSummary, readResults, runKey } from "./results";
import { normalizeStudy } from "./runner";
import { seedGroups, seedGroupSize } from "./seed-groups";
import { Shard, shardOf } from "./shard";
import { expandGrid, RunSpec, StudySpec } from "./spec";

export interface DryRunRow {
  /** Position in the (unsharded) grid. */
  index: number;
  run: RunSpec;
  /** Its data cache key (data-cache.ts dataSpecKey). */
  dataKey: string;
  /** Its run key (64 hex), when its data's manifest is known. */
  key?: string;
  /** done: in the results file; same: another run of this grid has its key (trained once); train: neither, or key unknown. */
  status: "done" | "same" | "train";
}

export interface DryRun {
  study: string;
  results: string;
  numerics: { version: string; source: "fixtures" | "source hash"; missing: string[] };
  rows: DryRunRow[];
  /** Data sets of the plan whose manifest is unknown (neither cached nor named by a record). */
  unknownData: string[];
}

/**
 * The dry run of `spec` against the results file `options.results` (a missing file reads as empty) and the
 * data cache `options.dataRoot`. Reads only. Throws as runStudy does before starting: an invalid study,
 * shard or ESMM_SEED_GROUP, real data whose folder is missing or differs.
 */
export function studyDryRun(spec: StudySpec, options: { results: string; dataRoot: string; shard?: Shard }): DryRun {
  const study = normalizeStudy(spec);
  const results = path.resolve(options.results);
  const grid = expandGrid(study);
  const size = seedGroupSize();
  const { groupOf } = seedGroups(grid, size);
  const share = shardOf(grid, options.shard, size > 1 ? groupOf : undefined);
  const existing = readResults(results);
  const fromResults = new Map<string, DataManifestSummary>();
  for (const r of existing.records) if (r.dataManifest?.dataKey) fromResults.set(r.dataManifest.dataKey, r.dataManifest);
  const manifests = new Map<string, string | undefined>(); // dataKey -> manifest sha256
  const numerics = numericsVersion();
  const claimed = new Set<string>();
  const rows = share.map(({ index, item: run }): DryRunRow => {
    const dataKey = dataSpecKey(run.data);
    if (!manifests.has(dataKey)) {
      const dir = findPreparedData(run.data, options.dataRoot);
      manifests.set(dataKey, dir ? preparedDataInfo(dir).summary.sha256 : fromResults.get(dataKey)?.sha256);
    }
    const sha = manifests.get(dataKey);
    if (!sha) return { index, run, dataKey, status: "train" };
    const key = runKey(run, sha, numerics);
    const status = existing.byKey.has(key) ? "done" : claimed.has(key) ? "same" : "train";
    claimed.add(key);
    return { index, run, dataKey, key, status };
  });
  const unknownData = [...manifests].filter(([, sha]) => !sha).map(([k]) => k);
  return { study: study.name, results, numerics: { version: numerics, ...numericsSource() }, rows, unknownData };
}

/**
 * The dry run as text: one summary line, then a header and one line per run: status (done, same, train), model,
 * variant, world (simulator seed; real data "folder <data key>": a prepared folder is no world), draw (downsampling
 * seed; of a prepared folder the seed it was prepared with), seed, key (`?data:<dataKey>` while unknown).
 */
export function formatDryRun(plan: DryRun): string {
  const count = (s: DryRunRow["status"]) => plan.rows.filter((r) => r.status === s).length;
  const unknown = plan.rows.filter((r) => !r.key).length;
  const numerics =
    plan.numerics.source === "fixtures"
      ? `numerics version ${plan.numerics.version.slice(0, 12)} (golden fixtures)`
      : `numerics version ${plan.numerics.version.slice(0, 12)} (source hash: missing ${plan.numerics.missing.join(", ")})`;
  const head =
    `study ${plan.study} (dry run): ${plan.rows.length} runs, ${count("done")} done in ${plan.results}, ${count("train")} to train` +
    (count("same") ? `, ${count("same")} the same computation as another run` : "") +
    (unknown ? `; ${unknown} key(s) unknown until data ${plan.unknownData.join(", ")} is prepared` : "") +
    `; ${numerics}; nothing trained or written`;
  const table = [["status", "model", "variant", "world", "draw", "seed", "key"]];
  for (const r of plan.rows) {
    const rep = dataReplicateOf(r.run.data);
    table.push([r.status, r.run.model, r.run.variant, rep.folder !== undefined ? `folder ${rep.folder}` : String(rep.world), String(rep.draw), String(r.run.seed), r.key ?? `?data:${r.dataKey}`]);
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  return [head, ...table.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join("  "))].join("\n");
}
