/** `esmm study`: the grid of models x seeds (x variants), in parallel workers, resumable, shardable. */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommandFailure, OptionSpec, OptionValues, UsageError, checkOutputOption, numberList, numberValue } from "./args";
import { SIMULATOR_RANGES, resolveConfig } from "../data/simulator-config";
import { SEED_RANGE, intRange } from "../ranges";
import { DataError } from "../data/errors";
import { MODEL_NAMES, PAPER_MODEL_NAMES } from "../models/zoo";
import { defaultDataRoot, runStudy, workerEnv } from "../study/runner";
import { formatStudySummary } from "../views/study-run";
import { formatDryRun, studyDryRun } from "../study/dry-run";
import { seedGroupSize } from "../study/seed-groups";
import { Shard, formatShard, parseShard, shardFromEnvironment } from "../study/shard";
import { DEFAULT_DATA_SPEC, expandGrid, type StudySpec } from "../study/spec";
import { checkStudySpec, SpecFieldError } from "../study/spec-check";
import { DEFAULT_DESIGN, studyProfile, StudyProfileName } from "../study";

/** The options that say which study (and so which grid): `esmm study` and `esmm merge` share them. */
export const STUDY_GRID_OPTIONS: Record<string, OptionSpec> = {
  profile: { type: "string" },
  spec: { type: "string" },
  models: { type: "string" },
  seeds: { type: "string", number: intRange(1) },
  "seed-list": { type: "string", number: SEED_RANGE, list: true },
  worlds: { type: "string", number: SEED_RANGE, list: true },
  draws: { type: "string", number: SEED_RANGE, list: true },
  "evaluation-multiplier": { type: "string", number: SIMULATOR_RANGES.evaluationMultiplier },
  impressions: { type: "string", number: SIMULATOR_RANGES.impressions },
  epochs: { type: "string", number: intRange(1) },
};

export const studyCommand: Command = {
  name: "study",
  summary: "run the grid of models x seeds in parallel workers (resumable JSONL results)",
  usage: `esmm study [--profile quick|full] [--spec FILE.json] [--models a,b] [--seeds N | --seed-list 1,2,3]
                 [--worlds 7,8,9] [--draws 7] [--evaluation-multiplier M] [--results FILE.jsonl] [--workers N]
                 [--shard i/n | --shard auto --shards N] [--impressions N] [--epochs N] [--data-root DIR]
                 [--predictions DIR] [--dry-run]

Default: the "full" profile, the default design: the paper's six models (${PAPER_MODEL_NAMES.join(", ")}) x seeds
${DEFAULT_DESIGN.seeds.join(",")} x simulated worlds ${DEFAULT_DESIGN.worlds.join(",")} (simulator seeds; each a 2,000,000-impression log over 15 days,
negatives kept at rate ${DEFAULT_DATA_SPEC.negativeKeepRate} with downsampling seed ${DEFAULT_DATA_SPEC.prepareSeed}, as \`esmm prepare\` and \`esmm train\`), the test day ${DEFAULT_DESIGN.evaluationMultiplier} times a training day, up to 10 epochs.
"quick": worlds 7,8 x seeds 1-2 on 200,000 impressions, at most 2 epochs. --spec FILE.json reads a StudySpec
instead (name, models, seeds, worlds, draws, data, architecture, train, variants); the other options override
its fields: --seeds N means seeds 1..N, --worlds and --draws list simulator and downsampling seeds (crossed
with each other and the model seeds), --evaluation-multiplier enlarges the test day (the later days follow
the spec's laterDaysMultiplier, 1 in both profiles; training and validation days never change), --impressions sets the simulated log's size,
--epochs the most training epochs.

Each finished run appends one JSON line to FILE.jsonl (default runs/<study>.jsonl, or
runs/<study>.shard-i-of-n.jsonl with --shard) and writes the test day's predictions to
<FILE without .jsonl>.predictions/<key>.bin. Runs already in FILE are skipped, so an interrupted study
resumes where it stopped. Runs that differ only in their model seed are dealt into seed groups of up to
ESMM_SEED_GROUP seeds (default 10; 1 = every run alone), and on the native backend a worker trains a group's
seeds together in one graph (same results as single runs up to float32 summation order; lib/train/trainer.ts).
--shard i/n runs every n-th seed group of the grid (every n-th run with ESMM_SEED_GROUP=1), starting with the i-th (1 <= i <= n);
\`esmm merge\` combines the shards' files into the whole study. --shard auto --shards N takes the shard from an
array job's 0-based index (index k runs shard k+1 of N), the first of these that is set: SLURM_ARRAY_TASK_ID
minus SLURM_ARRAY_TASK_MIN (Slurm job array), JOB_COMPLETION_INDEX (Kubernetes Indexed Job),
AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job); none set, or an index outside 0..N-1, is an error. Each distinct data set is simulated and prepared
once into the data cache (--data-root; default data/study/, or ESMM_DATA_DIR). --workers defaults to the number of CPUs, and each
worker gets one compute thread (measured fastest: \`make bench-parallel\`; ESMM_WORKER_THREADS=N to change). ESMM_BACKEND picks the
backend of the workers. Workers start with transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, unless
GLIBC_TUNABLES is set; ESMM_HUGE_PAGES=0 without, 1 the default: lib/backend/huge-pages.ts).

One runner per results file: a study takes FILE.lock (its pid, host, start and command) and removes it when it
ends. A second \`esmm study\` on the same FILE is refused at once (one line naming the running one, exit 2), not
queued: wait for it to finish and run the command again (the runs it wrote are skipped, so nothing is trained
twice), or give another --results (e.g. a --shard of its own). A lock whose runner died (kill -9) is taken over;
one written on another host is not: remove it by hand once that runner is gone.

--dry-run lists the runs the study would train (status, model, variant, world, draw, seed, key) and which are
already done in FILE, and trains, simulates and writes nothing. A run's key is the sha256 of what it computes
(its resolved spec), its data's manifest and the numerics version (the hash of the committed golden-output
fixtures, lib/study/numerics.ts), not of the source text: a comment or a refactor keeps every key. A key is
unknown until its data set is in the data cache or named by a record of FILE.`,
  options: {
    ...STUDY_GRID_OPTIONS,
    results: { type: "string" },
    workers: { type: "string", number: intRange(1) },
    shard: { type: "string" },
    shards: { type: "string", number: intRange(1) },
    "data-root": { type: "string" },
    predictions: { type: "string" },
    "dry-run": { type: "boolean" },
  },
  async run(v) {
    const cmd = "study";
    const spec = studySpecFromOptions(cmd, v);
    checkRunnerEnvironment(cmd);
    const workers = numberValue(v, "workers");
    const shard = shardFromOptions(cmd, v);
    const results = (v.results as string | undefined) ?? path.join("runs", `${spec.name}${shard ? `.shard-${shard.index}-of-${shard.count}` : ""}.jsonl`);
    if (!results.endsWith(".jsonl")) throw new UsageError(`${cmd}: --results must end in .jsonl, got ${results}`);
    // each variant's simulated log, checked before anything is simulated (e.g. --impressions below the days)
    const checked = new Set<string>();
    for (const run of expandGrid(spec)) {
      if (checked.has(run.variant)) continue;
      checked.add(run.variant);
      try {
        resolveConfig(run.data.simulator);
      } catch (e) {
        throw new UsageError(`${cmd}: ${spec.variants?.length ? `variant ${run.variant}: ` : ""}${(e as Error).message}`);
      }
    }

    if (shard?.from) process.stderr.write(`${cmd}: --shard auto: shard ${formatShard(shard)} from ${shard.from}\n`);
    if (v["dry-run"]) {
      let plan: ReturnType<typeof studyDryRun>;
      try {
        plan = studyDryRun(spec, { results, dataRoot: path.resolve((v["data-root"] as string | undefined) ?? defaultDataRoot()), shard: shard && { index: shard.index, count: shard.count } });
      } catch (e) {
        if (!(e instanceof Error) || e.constructor !== Error) throw e; // a DataError names its file; anything else is a bug
        throw new UsageError(`${cmd}: ${e.message}`);
      }
      console.log(formatDryRun(plan));
      return;
    }
    // the outputs before any work (the runner checks them too, and the data cache when data is to be made)
    checkOutputOption(cmd, "results", results, "file");
    if (v.predictions !== undefined) checkOutputOption(cmd, "predictions", v.predictions as string, "dir");
    const summary = await runStudy(spec, {
      results,
      workers,
      shard: shard && { index: shard.index, count: shard.count },
      dataRoot: v["data-root"] as string | undefined,
      predictionsDir: v.predictions as string | undefined,
    });
    console.log(formatStudySummary(summary));
    if (summary.failed.length > 0) {
      const first = summary.failed[0];
      throw new CommandFailure(
        `${results}: ${summary.failed.length} run(s) failed and were not written (first: ${first.model} seed ${first.seed}, ${first.variant}: ${first.error}); rerun to retry them`,
      );
    }
  },
};

/** `--shard i/n`, or `--shard auto --shards n` (the index from the array job's environment: shardFromEnvironment). */
export function shardFromOptions(cmd: string, v: OptionValues, env: NodeJS.ProcessEnv = process.env): (Shard & { from?: string }) | undefined {
  const count = numberValue(v, "shards");
  if (v.shard === undefined) {
    if (count !== undefined) throw new UsageError(`${cmd}: --shards N goes with --shard auto`);
    return undefined;
  }
  const text = (v.shard as string).trim();
  try {
    if (text !== "auto") {
      if (count !== undefined) throw new Error(`--shards N goes with --shard auto, not with --shard i/n`);
      return parseShard(text);
    }
    if (count === undefined) throw new Error(`auto needs --shards N (the number of array tasks)`);
    return shardFromEnvironment(env, count);
  } catch (e) {
    throw new UsageError(`${cmd}: --shard: ${(e as Error).message}`);
  }
}

/** The study the STUDY_GRID_OPTIONS describe: --spec FILE.json or --profile (default full), then the overrides. */
export function studySpecFromOptions(cmd: string, v: OptionValues, profiles: (name: StudyProfileName) => StudySpec = studyProfile): StudySpec {
  const profile = (v.profile as string | undefined) ?? "full";
  if (profile !== "quick" && profile !== "full") throw new UsageError(`${cmd}: --profile must be quick or full, got ${JSON.stringify(profile)}`);
  let spec: StudySpec;
  if (v.spec !== undefined) {
    if (v.profile !== undefined) throw new UsageError(`${cmd}: give --profile or --spec, not both`);
    const file = v.spec as string;
    if (!fs.existsSync(file)) throw new UsageError(`${cmd}: --spec ${file} does not exist`);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new DataError({ file }, `not valid JSON (${(e as Error).message})`);
    }
    try {
      spec = checkStudySpec(json); // every field's type and range (spec-check.ts)
    } catch (e) {
      if (!(e instanceof SpecFieldError)) throw e;
      throw new DataError({ file }, `field ${e.field}: ${e.problem}`);
    }
  } else spec = profiles(profile as StudyProfileName);

  if (v.models !== undefined) {
    const names = (v.models as string).split(",").map((s) => s.trim()).filter(Boolean);
    if (names.length === 0) throw new UsageError(`${cmd}: --models is empty`);
    spec.models = names.map((n) => {
      const m = MODEL_NAMES.find((k) => k.toLowerCase() === n.toLowerCase());
      if (!m) throw new UsageError(`${cmd}: unknown model "${n}" (models: ${MODEL_NAMES.join(", ")})`);
      return m;
    });
  }
  if (v.seeds !== undefined && v["seed-list"] !== undefined) throw new UsageError(`${cmd}: give --seeds or --seed-list, not both`);
  const seeds = numberValue(v, "seeds");
  if (seeds !== undefined) spec.seeds = Array.from({ length: seeds }, (_, i) => i + 1);
  const seedList = numberList(v, "seed-list");
  if (seedList !== undefined) spec.seeds = [...new Set(seedList)];
  for (const name of ["worlds", "draws"] as const) {
    const list = numberList(v, name);
    if (list !== undefined) spec[name] = [...new Set(list)];
  }
  const multiplier = numberValue(v, "evaluation-multiplier");
  if (multiplier !== undefined) spec.data = { ...spec.data, simulator: { ...spec.data.simulator, evaluationMultiplier: multiplier } };
  const impressions = numberValue(v, "impressions");
  if (impressions !== undefined) spec.data = { ...spec.data, simulator: { ...spec.data.simulator, impressions } };
  const epochs = numberValue(v, "epochs");
  if (epochs !== undefined) spec.train = { ...spec.train, maxEpochs: epochs };
  return spec;
}

/** The runner's environment variables (ESMM_SEED_GROUP, ESMM_WORKER_THREADS, ESMM_HUGE_PAGES), checked before any work: one line, exit 2. */
export function checkRunnerEnvironment(cmd: string): void {
  try {
    seedGroupSize();
    workerEnv();
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
}
