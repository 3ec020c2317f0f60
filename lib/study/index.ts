/**
 * The ablation study: its specification as data, the runner (parallel workers, resumable JSONL results,
 * shards), the data cache and the predictions sidecars; and the analysis of its results as data: summaries,
 * design-aware comparisons, the paper's findings with their verdicts, the sensitivity grid, metric and
 * epoch-choice tables, meta-regression, variance components and the replicate bootstrap (views: lib/views).
 *
 *   import { runStudy, studyProfile, readResults } from "esmm-lab/build/lib/study";
 *   const summary = await runStudy(studyProfile("quick"), { results: "../runs/models-quick.jsonl" });
 *   const { records } = readResults("../runs/models-quick.jsonl");
 */
import { PAPER_MODEL_NAMES } from "../models/zoo";
import { DEFAULT_DATA_SPEC, StudySpec } from "./spec";

export * from "./spec";
export * from "./results";
export * from "./shard";
export * from "./merge";
export * from "./data-cache";
export * from "./real-data";
export * from "./mechanism";
export { runStudy, workerEnv, defaultWorkers, defaultDataRoot, normalizeStudy, runsDir } from "./runner";
export type { RunStudyOptions, StudyRunSummary, StudyProgress, RunFailure } from "./runner";
export type { WorkerJob, WorkerReply } from "./worker";
export * from "./run";
export * from "./summary";
export * from "./compare";
export * from "./findings";
export * from "./sensitivity";
export * from "./metric-table";
export * from "./epoch-choice";
export * from "./meta-regression";
export * from "./components";
export * from "./replicate-scores";

export type StudyProfileName = "quick" | "full";

/**
 * The default study design, chosen for power (docs/untuned-default-design.md; notebook 04 shows its power):
 * the six models x 6 model seeds x 6 simulated worlds (simulator seeds 7-12, each its own log of 2,000,000
 * impressions over 15 days, downsampled with seed 7), the test day 10 times a training day
 * (evaluationMultiplier 10: about 1,500 test conversions per world; the later days of the temporal-shift check
 * stay 1x to keep scoring cheap; training and validation days unchanged),
 * training defaults (up to 10 epochs, patience 2). Comparisons pair each seed with its own sixth of the
 * test day, so the 36 (world, seed) units carry seed and test-row noise. "quick": 2 worlds x 2 seeds on
 * 200,000 impressions, at most 2 epochs, evaluation days x 2 (the notebooks' quick profile, for tests).
 * DEFAULT_DESIGN names the numbers once.
 */
export const DEFAULT_DESIGN = { worlds: [7, 8, 9, 10, 11, 12], seeds: [1, 2, 3, 4, 5, 6], evaluationMultiplier: 10, laterDaysMultiplier: 1 } as const;

export function studyProfile(name: StudyProfileName): StudySpec {
  if (name === "full") {
    return {
      name: "models",
      models: [...PAPER_MODEL_NAMES],
      seeds: [...DEFAULT_DESIGN.seeds],
      worlds: [...DEFAULT_DESIGN.worlds],
      data: {
        ...structuredClone(DEFAULT_DATA_SPEC),
        simulator: { ...DEFAULT_DATA_SPEC.simulator, evaluationMultiplier: DEFAULT_DESIGN.evaluationMultiplier, laterDaysMultiplier: DEFAULT_DESIGN.laterDaysMultiplier },
      },
      train: {},
    };
  }
  if (name === "quick") {
    return {
      name: "models-quick",
      models: [...PAPER_MODEL_NAMES],
      seeds: [1, 2],
      worlds: [7, 8],
      data: { ...structuredClone(DEFAULT_DATA_SPEC), simulator: { ...DEFAULT_DATA_SPEC.simulator, impressions: 200_000, evaluationMultiplier: 2, laterDaysMultiplier: 1 } },
      train: { maxEpochs: 2 },
    };
  }
  throw new Error(`unknown study profile ${JSON.stringify(name)} (quick or full)`);
}
