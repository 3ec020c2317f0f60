/**
 * `esmm tune`: the tuning protocol of issue 14 (lib/tune): N trials per model from one seeded design,
 * selection on the validation day only, the selected configurations retrained over the study's design.
 * Both phases are ordinary studies of the runner (resumable, keyed, shardable) writing one results file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommandFailure, OptionValues, UsageError, numberValue } from "./args";
import { STUDY_GRID_OPTIONS, checkRunnerEnvironment, shardFromOptions, studySpecFromOptions } from "./study";
import { SEED_RANGE, intRange } from "../ranges";
import { formatStudySummary, runStudy, StudyRunSummary } from "../study/runner";
import { readResults } from "../study/results";
import { formatShard } from "../study/shard";
import type { StudySpec } from "../study/spec";
import { SEARCH_DESIGN_NAMES, SearchDesignKind } from "../tune/design";
import { searchSpaceRows } from "../tune/space";
import { Selection, selectBest, trialOutcomes, tunedStudy, tuneProfile, tuningStudy } from "../tune/plan";
import { tableText } from "../notebook/tables";

const PHASES = ["all", "trials", "retrain"] as const;
type Phase = (typeof PHASES)[number];

/** The options that fix the trials' design, shared by `esmm tune` and `esmm merge --tune`. */
export const TUNE_DESIGN_OPTIONS = {
  trials: { type: "string", number: intRange(1) },
  "design-seed": { type: "string", number: SEED_RANGE },
  design: { type: "string" },
} as const;

export const tuneCommand: Command = {
  name: "tune",
  summary: "tune every model with the same budget (N trials, validation day only), then retrain the chosen configurations",
  usage: `esmm tune [--profile quick|full] [--models a,b] [--trials N] [--design-seed S] [--design halton|random]
                [--phase all|trials|retrain] [--out FILE.jsonl] [--shard i/n | --shard auto --shards N]
                [--workers N] [--data-root DIR] [--seeds N | --seed-list 1,2] [--worlds 7,8] [--impressions N] [--epochs N]

The tuning protocol (issue 14; README, "Tuning protocol"). The base study is --profile's (default full: the paper's six
models, worlds ${"7-12"} x seeds 1-6) or --spec FILE.json, with the same overrides as \`esmm study\`.
1. Trials: N (--trials; default ${tuneProfile("full").trials} for full, ${tuneProfile("quick").trials} for quick) points of one seeded design (--design-seed, default 1;
   --design halton: scrambled Halton, the default, or random), the same points for every model, each an
   ordinary variant "trial-k" of a study on the base's first world, first draw and first model seed.
2. Selection: per model the trial with the lowest validation-day CTCVR cross-entropy (the early-stopping
   criterion); test-day metrics are never read. Written to <FILE without .jsonl>.selection.json.
3. Retrain: each model's selected configuration over the base study's worlds x seeds (variant "tuned"); the
   selected trial's own run is one of them and is not trained twice.
Results: one JSON line per run in FILE (default runs/<study>-tune.jsonl); a rerun skips finished runs.
--phase trials runs step 1 only, --phase retrain steps 2-3 from the trials already in FILE. With --shard
(i/n, or auto with --shards N as in \`esmm study\`) give --phase trials or retrain: selection needs every
trial, so merge the shards' trial files into FILE first (esmm merge --tune --out FILE SHARD.jsonl..., which lists missing trials).

The search space (every model, then each family's own loss-term weights):
${tableText(searchSpaceRows(["IP", "ESMM", "ESMM-NS", "ESSP-Split", "IPSP", "ESP"]))}`,
  options: {
    ...STUDY_GRID_OPTIONS,
    ...TUNE_DESIGN_OPTIONS,
    phase: { type: "string" },
    out: { type: "string" },
    workers: { type: "string", number: intRange(1) },
    shard: { type: "string" },
    shards: { type: "string", number: intRange(1) },
    "data-root": { type: "string" },
  },
  async run(v) {
    const cmd = "tune";
    const base = studySpecFromOptions(cmd, v);
    const { trials, design, designSeed } = trialStudyFromOptions(cmd, v, base);
    const phase = choose(cmd, v, "phase", PHASES, "all") as Phase;
    const shard = shardFromOptions(cmd, v);
    checkRunnerEnvironment(cmd);
    if (shard && phase === "all") {
      throw new UsageError(`${cmd}: --shard needs --phase trials or --phase retrain (selection reads every trial: merge the shards' trial files first: esmm merge --tune)`);
    }
    const out = (v.out as string | undefined) ?? path.join("runs", `${base.name}-tune${shard ? `.shard-${shard.index}-of-${shard.count}` : ""}.jsonl`);
    if (!out.endsWith(".jsonl")) throw new UsageError(`${cmd}: --out must end in .jsonl, got ${out}`);
    const run = async (study: typeof base): Promise<StudyRunSummary> => {
      if (shard?.from) process.stderr.write(`${cmd}: --shard auto: shard ${formatShard(shard)} from ${shard.from}\n`);
      const summary = await runStudy(study, {
        results: out,
        workers: numberValue(v, "workers"),
        shard: shard && { index: shard.index, count: shard.count },
        dataRoot: v["data-root"] as string | undefined,
      });
      console.log(formatStudySummary(summary));
      return summary;
    };
    const failures: string[] = [];
    const note = (s: StudyRunSummary, what: string) => {
      if (s.failed.length > 0) failures.push(`${s.failed.length} ${what} run(s) failed (first: ${s.failed[0].model}, ${s.failed[0].variant}: ${s.failed[0].error})`);
    };

    if (phase !== "retrain") note(await run(trials), "trial");
    if (phase !== "trials") {
      const outcomes = trialOutcomes(trials, readResults(out).records);
      const selections = selectBest(outcomes);
      const perModel = trials.variants!.length;
      for (const m of trials.models) {
        const s = selections.find((x) => x.model === m);
        if (!s) failures.push(`${m}: no finished trial in ${out}`);
        else if (s.finished < perModel) console.log(`${cmd}: ${m}: ${s.finished} of ${perModel} trials finished; chosen among those`);
      }
      if (selections.length === 0) throw new CommandFailure(`${out}: no finished trials to select from (run --phase trials first)`);
      console.log(tableText(selectionRows(selections, perModel)));
      const selectionFile = out.replace(/\.jsonl$/, ".selection.json");
      fs.mkdirSync(path.dirname(path.resolve(selectionFile)), { recursive: true });
      fs.writeFileSync(selectionFile, JSON.stringify({ study: base.name, design, designSeed, trials: perModel, selections }, null, 2) + "\n");
      note(await run(tunedStudy(base, selections)), "retrain");
    }
    if (failures.length > 0) throw new CommandFailure(`${out}: ${failures.join("; ")}; rerun to retry`);
  },
};

/**
 * The trial study of `base` from --trials, --design-seed and --design (defaults: the --profile's tuneProfile,
 * full when absent). Throws a UsageError for a --design that is not one of SEARCH_DESIGN_NAMES.
 */
export function trialStudyFromOptions(cmd: string, v: OptionValues, base: StudySpec): { trials: StudySpec; design: SearchDesignKind; designSeed: number } {
  const profile = tuneProfile(((v.profile as string | undefined) ?? "full") as "quick" | "full");
  const design = choose(cmd, v, "design", SEARCH_DESIGN_NAMES, profile.design) as SearchDesignKind;
  const designSeed = numberValue(v, "design-seed", profile.designSeed);
  return { trials: tuningStudy(base, { trials: numberValue(v, "trials", profile.trials), designSeed, design }), design, designSeed };
}

/** A string option that must be one of `allowed` (default `fallback`). */
function choose(cmd: string, v: OptionValues, name: string, allowed: readonly string[], fallback: string): string {
  const x = (v[name] as string | undefined) ?? fallback;
  if (!allowed.includes(x)) throw new UsageError(`${cmd}: --${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(x)}`);
  return x;
}

/** One row per model: the chosen trial, its validation loss and settings. */
export function selectionRows(selections: readonly Selection[], trialsPerModel: number): Record<string, string | number>[] {
  return selections.map((s) => ({
    model: s.model,
    trial: s.trial,
    finished: `${s.finished}/${trialsPerModel}`,
    validation_ctcvr_ce: Number(s.validationLoss.toPrecision(6)),
    learning_rate: Number((s.settings.train.learningRate ?? NaN).toPrecision(3)),
    embedding: s.settings.architecture.embeddingDim ?? "",
    shared: (s.settings.architecture.sharedLayers ?? []).join("-"),
    heads: (s.settings.architecture.headLayers ?? []).join("-"),
    weight_decay: Number((s.settings.train.weightDecay ?? 0).toPrecision(3)),
    dropout: Number((s.settings.architecture.dropout ?? 0).toPrecision(3)),
    batch: s.settings.train.batchSize ?? "",
    loss_weights: (s.settings.train.lossWeights ?? []).map((w) => w.toPrecision(3)).join(", "),
  }));
}
