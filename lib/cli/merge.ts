/** `esmm merge`: the shards' results files of a study into one (lib/study/merge.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, UsageError, checkOutputOption, requireString } from "./args";
import { STUDY_GRID_OPTIONS, studySpecFromOptions } from "./study";
import { copyPredictions, describeRun, mergeResultFiles, missingRuns, mixedDataProblem, writeResultsFile } from "../study/merge";
import { codeVersion, defaultPredictionsDir, matchRecords } from "../study/results";
import { normalizeStudy } from "../study/runner";
import { expandGrid, type RunSpec, type StudySpec } from "../study/spec";
import type { StudyRecord } from "../study/results";

export const mergeCommand: Command = {
  name: "merge",
  summary: "combine the results files of a study's shards into one, listing the grid's runs still missing",
  usage: `esmm merge --out FILE.jsonl SHARD.jsonl... [--allow-mixed] [--profile quick|full | --spec FILE.json] [the study's options]

Reads every SHARD.jsonl (and FILE.jsonl itself when it exists: a merge adds to it, so it can be rerun as more
shards finish) and writes their runs to FILE.jsonl, atomically (a temporary file, then a rename). Every line must
be a run record: one that is not (e.g. the partial last line of a killed shard: rerun that shard) stops the merge,
naming the file and line, and nothing is written. Records with the same run key and the same results (everything
but finishedAt, runtime, backend and timings) are kept once; the same key with different results (e.g. a shard run
twice on different backends) is refused, naming the key and both files. The records must be one study on one
data: one study name, one data design per variant (config.data without the replicate's seeds: a quick-profile
shard and a full-profile one differ) and one data set per world and draw; else the merge is refused, naming
them and their files, unless --allow-mixed. The kept runs' prediction sidecars are
copied from each SHARD.predictions/ folder to FILE.predictions/ (where the notebooks read them).

With --profile or --spec and the options the study ran with (--models, --seeds, --seed-list, --worlds, --draws,
--evaluation-multiplier, --impressions, --epochs: see esmm study --help), it also lists the grid's runs that no
record computes (model, seed, world, draw and variant); rerun the shards that hold them. Exit code 0 even then.
(esmm tune's fair protocol is not split into shards: each rung of its tuning reads the previous rung's scores.)`,
  options: {
    out: { type: "string" },
    "allow-mixed": { type: "boolean" },
    ...STUDY_GRID_OPTIONS,
  },
  positionals: true,
  async run(v, inputs) {
    const cmd = "merge";
    const out = requireString(v, "out", cmd);
    if (!out.endsWith(".jsonl")) throw new UsageError(`${cmd}: --out must end in .jsonl, got ${out}`);
    checkOutputOption(cmd, "out", out, "file");
    checkOutputOption(cmd, "out", defaultPredictionsDir(out), "dir"); // its predictions folder
    if (inputs.length === 0) throw new UsageError(`${cmd}: no results files to merge (esmm merge --out FILE.jsonl SHARD.jsonl...)`);
    for (const f of inputs) {
      if (!f.endsWith(".jsonl")) throw new UsageError(`${cmd}: ${f}: a results file must end in .jsonl`);
      if (!fs.existsSync(f)) throw new UsageError(`${cmd}: ${f} does not exist`);
    }
    const gridGiven = v.profile !== undefined || v.spec !== undefined;
    const gridOptions = Object.keys(STUDY_GRID_OPTIONS).filter((k) => v[k] !== undefined);
    if (!gridGiven && gridOptions.length > 0) throw new UsageError(`${cmd}: --${gridOptions[0]} needs --profile or --spec (the study whose grid to check)`);
    let grid: RunSpec[] | undefined;
    if (gridGiven) grid = expandStudy(cmd, studySpecFromOptions(cmd, v));

    const resolved = new Set<string>();
    const files = [...(fs.existsSync(out) ? [out] : []), ...inputs].filter((f) => {
      const r = path.resolve(f);
      if (resolved.has(r)) return false;
      resolved.add(r);
      return true;
    });
    const merged = mergeResultFiles(files);
    const mixed = mixedDataProblem(merged.records);
    if (mixed && v["allow-mixed"] !== true) throw new UsageError(`${cmd}: ${mixed}; merge them anyway with --allow-mixed (esmm stats then needs --data or --per-data)`);
    const records = merged.records.map((m) => m.record);
    writeResultsFile(out, records);
    const sidecars = copyPredictions(merged.records, defaultPredictionsDir(out));

    const lines = [
      `merge: ${records.length} run(s) from ${files.length} file(s) (${merged.perFile.map((p) => `${p.file}: ${p.records}`).join(", ")}) written to ${out}` +
        (merged.duplicates > 0 ? `; ${merged.duplicates} duplicate(s) with equal results dropped` : "; no duplicates"),
      `merge: predictions in ${defaultPredictionsDir(out)}: ${sidecars.copied} copied, ${sidecars.present} already there, ${sidecars.missing} not found`,
    ];
    const codes = new Set(records.map((r) => r.codeVersion));
    if (codes.size > 1) lines.push(`merge: note: the runs come from ${codes.size} code versions (shards ran different code?)`);
    if (grid) lines.push(...gridLines("grid", grid, records, [grid]));
    console.log(lines.join("\n"));
  },
};

/** The expanded grid of `spec` (a UsageError for a spec the runner refuses). */
function expandStudy(cmd: string, spec: StudySpec): RunSpec[] {
  try {
    return expandGrid(normalizeStudy(spec));
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
}

/**
 * What `records` hold of `grid`: a count line, then one line per missing run. Records matched to none of
 * `allGrids` are counted as outside (the chosen trial's run is in both the trials and the tuned runs).
 */
function gridLines(label: string, grid: RunSpec[], records: StudyRecord[], allGrids: RunSpec[][]): string[] {
  const missing = missingRuns(grid, records);
  const matched = matchRecords(grid, records).filter((m) => m.record);
  const known = new Set(allGrids.flatMap((g) => matchRecords(g, records).filter((m) => m.record).map((m) => m.record!.key)));
  const outside = records.length - known.size;
  const stale = matched.filter((m) => m.record!.codeVersion !== codeVersion()).length;
  return [
    `merge: ${label} of ${grid.length} run(s): ${grid.length - missing.length} present, ${missing.length} missing` +
      (outside > 0 ? `; ${outside} record(s) matched to no run of this grid` : "") +
      (stale > 0 ? `; ${stale} present run(s) from other code than this checkout's (esmm study would redo them)` : ""),
    ...missing.map((run) => `  missing: ${describeRun(run)}`),
  ];
}
