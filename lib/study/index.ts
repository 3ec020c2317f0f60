/**
 * The ablation study: its specification as data, the runner (parallel workers, resumable JSONL results,
 * shards), the data cache and the predictions sidecars.
 *
 *   import { runStudy, studyProfile, readResults } from "esmm-lab/build/lib/study";
 *   const summary = await runStudy(studyProfile("quick"), { results: "../runs/models-quick.jsonl" });
 *   const { records } = readResults("../runs/models-quick.jsonl");
 */
import { MODEL_NAMES } from "../models/zoo";
import { DEFAULT_DATA_SPEC, StudySpec } from "./spec";

export * from "./spec";
export * from "./results";
export * from "./shard";
export * from "./data-cache";
export { runStudy, formatStudySummary, workerEnv, defaultWorkers, defaultDataRoot, normalizeStudy } from "./runner";
export type { RunStudyOptions, StudyRunSummary, StudyProgress, RunFailure } from "./runner";
export type { WorkerJob, WorkerReply } from "./worker";

export type StudyProfileName = "quick" | "full";

/**
 * The default study: the six models x 10 seeds on the default data (DEFAULT_DATA_SPEC: 2,000,000
 * impressions, 15 days), training defaults (up to 10 epochs, patience 2). "quick": the same on 200,000
 * impressions with 2 seeds and at most 2 epochs (the notebooks' quick profile).
 */
export function studyProfile(name: StudyProfileName): StudySpec {
  if (name === "full") {
    return { name: "models", models: [...MODEL_NAMES], seeds: Array.from({ length: 10 }, (_, i) => i + 1), data: structuredClone(DEFAULT_DATA_SPEC), train: {} };
  }
  if (name === "quick") {
    return {
      name: "models-quick",
      models: [...MODEL_NAMES],
      seeds: [1, 2],
      data: { ...structuredClone(DEFAULT_DATA_SPEC), simulator: { ...DEFAULT_DATA_SPEC.simulator, impressions: 200_000 } },
      train: { maxEpochs: 2 },
    };
  }
  throw new Error(`unknown study profile ${JSON.stringify(name)} (quick or full)`);
}
