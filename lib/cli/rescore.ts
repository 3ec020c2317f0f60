/** `esmm rescore`: a results file's test scores recomputed from its stored predictions (lib/study/rescore.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommandFailure, requireString, UsageError } from "./args";
import { defaultPredictionsDir } from "../study/results";
import { rescoreResults } from "../study/rescore";
import { defaultDataRoot } from "../study/runner";

export const rescoreCommand: Command = {
  name: "rescore",
  summary: "recompute a results file's test metrics from its stored predictions (no training)",
  usage: `esmm rescore --results FILE.jsonl [--predictions DIR] [--data-root DIR]

Recomputes every record's test-day score (each evaluation space's metrics, the CTCVR log loss by fold, the
oracle and mechanism metrics) and its reliability curve from the run's stored predictions
(<FILE without .jsonl>.predictions/<key>.bin, or --predictions DIR) and the test day of the data it was
computed on (the data cache, --data-root; default data/study/, or ESMM_DATA_DIR; simulated data no longer
there is made again when today's code keys it alike), with today's metric code: the definitions the study
runner uses, so an untouched file is reproduced exactly. The metrics are not part of a run's key, so a new
or fixed metric needs this, not a new study. The later days' scores are kept (their predictions are not
stored). FILE is rewritten only when a record changed: atomically (a temporary file beside it, fsync,
rename), every other line byte for byte; changed records get "rescored": {at, codeVersion}. Do not run it
while a study writes FILE (it then stops and replaces nothing). Prints how many records changed; exit 1
when a record could not be rescored (it is kept as it was).`,
  options: {
    results: { type: "string" },
    predictions: { type: "string" },
    "data-root": { type: "string" },
  },
  async run(v) {
    const cmd = "rescore";
    const file = requireString(v, "results", cmd);
    if (!file.endsWith(".jsonl")) throw new UsageError(`${cmd}: --results must end in .jsonl, got ${file}`);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`${cmd}: --results ${file} does not exist`);
    const predictionsDir = (v.predictions as string | undefined) ?? defaultPredictionsDir(file);
    if (!fs.existsSync(predictionsDir)) throw new UsageError(`${cmd}: predictions folder ${predictionsDir} does not exist${v.predictions === undefined ? " (give --predictions DIR)" : ""}`);
    const dataRoot = path.resolve((v["data-root"] as string | undefined) ?? defaultDataRoot());
    const s = rescoreResults(file, { predictionsDir, dataRoot, log: (line) => process.stderr.write(line + "\n") });
    console.log(
      `rescore: ${s.records} record(s) in ${file}: ${s.changed} changed, ${s.unchanged} unchanged` +
        (s.failed.length ? `, ${s.failed.length} not rescored` : "") +
        (s.rewritten ? `; ${file} rewritten` : "; file not rewritten"),
    );
    if (s.failed.length > 0) {
      const f = s.failed[0];
      throw new CommandFailure(`${file}: ${s.failed.length} record(s) could not be rescored and were kept as they were (first: ${f.model} seed ${f.seed}, key ${f.key.slice(0, 12)}: ${f.reason})`);
    }
  },
};
