/**
 * `esmm tune`: the fair protocol of issue 22 (lib/tune/protocol.ts): R nested, repeated tunings with the same budget
 * for every model (the untuned configuration among the trials, successive halving over seeds), then each repeat's
 * choices evaluated over the evaluation worlds x seeds. Every step is an ordinary study of the runner (resumable,
 * keyed) writing one results file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommandFailure, OptionValues, UsageError, checkOutputOption, numberValue } from "./args";
import { STUDY_GRID_OPTIONS, checkRunnerEnvironment, studySpecFromOptions } from "./study";
import { SEED_RANGE, intRange } from "../ranges";
import { runStudy, StudyRunSummary } from "../study/runner";
import { formatStudySummary } from "../views/study-run";
import { defaultPredictionsDir, readResults } from "../study/results";
import { FairProtocol, checkProtocol, evaluationStudy, fairProtocol, fairStudy, runFairTuning } from "../tune/protocol";
import { SEARCH_DESIGN_NAMES, SearchDesignKind } from "../tune/design";
import { TrialSettings, searchSpaceRows } from "../tune/space";
import { tableText } from "../views/tables";
import { makeDirs } from "../data/output-paths";


/** The options that fix the trials' design. */
const TUNE_DESIGN_OPTIONS = {
  trials: { type: "string", number: intRange(1) },
  "design-seed": { type: "string", number: SEED_RANGE },
  design: { type: "string" },
} as const;

export const tuneCommand: Command = {
  name: "tune",
  summary: "the fair protocol: every model tuned with the same budget, nested and repeated, then evaluated over worlds x seeds",
  usage: `esmm tune [--profile quick|full] [--models a,b] [--trials N] [--repeats R] [--design-seed S] [--design halton|random]
                [--phase all|tune|evaluate] [--out FILE.jsonl] [--workers N] [--data-root DIR]
                [--seeds N | --seed-list 1,2] [--worlds 21,22] [--impressions N] [--epochs N]

The fair protocol (issue 22; README, "The protocol"; docs/fair-protocol.md; lib/tune/protocol.ts). The evaluation design is --profile's (full:
the paper's six models on 8 worlds drawn from the "ad-logs" world prior, simulator seeds 21-28, x 2 seeds, at most
20 epochs; quick: 2 worlds of 200,000 impressions x 2 seeds, 2 epochs), with the same overrides as \`esmm study\`.
1. Tuning, R times (--repeats; full ${fairProtocol("full").repeats}, quick ${fairProtocol("quick").repeats}), each on its own tuning world (${fairProtocol("full").tuningWorlds.join(", ")}: never an
   evaluation world), its own design (--design-seed + r) and its own model seeds: N trials per model (--trials; full
   ${fairProtocol("full").trials}, quick ${fairProtocol("quick").trials}), trial 0 the untuned configuration, trials 1..N-1 the design's points. Successive halving over
   seeds: every trial on 1 seed, then the best (full: 3, quick: 2) on (full: 3, quick: 2) seeds; the chosen trial
   has the lowest mean score over those seeds. The score: CTCVR cross-entropy on the tuning world's held-out test
   day (x10 in full), never read by training or early stopping.
2. Evaluation: every repeat's chosen configurations (variant repeat-r) and the untuned configuration (variant
   untuned) over the evaluation worlds x seeds. The analysis with repeats x worlds crossed is notebook 07's
   (lib/tune/protocol.ts analyseFair: a run two variants share carries one label in FILE, so esmm stats reads one
   variant at a time: --variant untuned, or --variant repeat-0 --unit replicate).
Results: one JSON line per run in FILE (default runs/<study>-tune.jsonl); a rerun skips finished runs; the choices are
written to <FILE without .jsonl>.selection.json. --phase tune runs step 1 only, --phase evaluate steps 1-2 reading
the finished tuning (it trains what is missing). Each rung needs the previous rung's scores, so the tuning is not
split with --shard; its evaluation is an ordinary study (the selection file's configurations).

The search space (every model, then each family's own loss-term weights; trial 0 sets none of them):
${tableText(searchSpaceRows(["IP", "ESMM", "ESMM-NS", "ESSP-Split", "IPSP", "ESP"]))}`,
  options: {
    ...STUDY_GRID_OPTIONS,
    ...TUNE_DESIGN_OPTIONS,
    repeats: { type: "string", number: intRange(1) },
    phase: { type: "string" },
    out: { type: "string" },
    workers: { type: "string", number: intRange(1) },
    "data-root": { type: "string" },
  },
  async run(v) {
    const cmd = "tune";
    if (v.spec !== undefined) throw new UsageError(`${cmd}: --spec is not supported by the fair protocol yet (use --profile and the overrides)`);
    const profileName = ((v.profile as string | undefined) ?? "full") as "quick" | "full";
    const base = studySpecFromOptions(cmd, v, (name) => fairStudy(name));
    const p = protocolFromOptions(cmd, v, profileName);
    try {
      checkProtocol(base, p);
    } catch (e) {
      throw new UsageError(`${cmd}: ${(e as Error).message}`);
    }
    const phase = choose(cmd, v, "phase", PHASES, "all") as Phase;
    checkRunnerEnvironment(cmd);
    const out = (v.out as string | undefined) ?? path.join("runs", `${base.name}-tune.jsonl`);
    if (!out.endsWith(".jsonl")) throw new UsageError(`${cmd}: --out must end in .jsonl, got ${out}`);
    // every output before any work: the results, their predictions, the selection file, the data cache
    checkOutputOption(cmd, "out", out, "file");
    checkOutputOption(cmd, "out", defaultPredictionsDir(out), "dir");
    checkOutputOption(cmd, "out", out.replace(/\.jsonl$/, ".selection.json"), "file");
    const options = {
      results: out,
      workers: numberValue(v, "workers"),
      dataRoot: v["data-root"] as string | undefined,
      records: () => readResults(out).records,
    };
    const { repeats, summaries } = await runFairTuning(base, p, options);
    const failed = summaries.flatMap((s) => s.failed);
    for (const t of repeats) {
      console.log(`repeat ${t.repeat} (tuning world ${t.world}, design seed ${t.designSeed}):`);
      console.log(tableText(t.chosen.map((c) => ({ model: c.model, trial: c.trial, seeds_read: c.seedsRead, mean_score: Number(c.mean.toPrecision(6)), ...settingsRow(c.settings) }))));
    }
    const selectionFile = out.replace(/\.jsonl$/, ".selection.json");
    makeDirs(path.dirname(path.resolve(selectionFile)));
    const tmp = `${selectionFile}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify({ study: base.name, protocol: { ...p, space: undefined }, repeats: repeats.map((t) => ({ ...t, rungs: t.rungs.map((r) => ({ rung: r.rung, seeds: r.seeds, scores: r.scores })) })) }, null, 2) + "\n");
    fs.renameSync(tmp, selectionFile);
    if (phase !== "tune") {
      const summary = await runStudy(evaluationStudy(base, repeats), { results: out, workers: options.workers, dataRoot: options.dataRoot });
      console.log(formatStudySummary(summary));
      failed.push(...summary.failed);
    }
    if (failed.length > 0) throw new CommandFailure(`${out}: ${failed.length} run(s) failed (first: ${failed[0].model}, ${failed[0].variant}: ${failed[0].error}); rerun to retry`);
  },
};

const PHASES = ["all", "tune", "evaluate"] as const;
type Phase = (typeof PHASES)[number];

/** The fair protocol of --profile with --trials, --repeats, --design-seed and --design applied (tuning worlds 1001, 1002, ... one per repeat). */
export function protocolFromOptions(cmd: string, v: OptionValues, profile: "quick" | "full"): FairProtocol {
  const p = fairProtocol(profile);
  const trials = numberValue(v, "trials");
  const repeats = numberValue(v, "repeats");
  const out: FairProtocol = { ...p, design: choose(cmd, v, "design", SEARCH_DESIGN_NAMES, p.design) as SearchDesignKind, designSeed: numberValue(v, "design-seed", p.designSeed) };
  if (trials !== undefined) {
    if (trials < 2) throw new UsageError(`${cmd}: --trials must be >= 2 (trial 0 is the untuned configuration), got ${trials}`);
    out.trials = trials;
    out.rungs = p.rungs.map((r, j) => (j === 0 ? { ...r, keep: trials } : { ...r, keep: Math.min(r.keep, trials) }));
  }
  if (repeats !== undefined) {
    out.repeats = repeats;
    out.tuningWorlds = Array.from({ length: repeats }, (_, r) => 1001 + r);
  }
  return out;
}

/** The settings of a trial as table columns. */
function settingsRow(s: TrialSettings): Record<string, string | number> {
  return {
    learning_rate: s.train.learningRate === undefined ? "default" : Number(s.train.learningRate.toPrecision(3)),
    embedding: s.architecture.embeddingDim ?? "default",
    shared: (s.architecture.sharedLayers ?? []).join("-") || "default",
    heads: (s.architecture.headLayers ?? []).join("-") || "default",
    weight_decay: Number((s.train.weightDecay ?? 0).toPrecision(3)),
    dropout: Number((s.architecture.dropout ?? 0).toPrecision(3)),
    batch: s.train.batchSize ?? "default",
    loss_weights: (s.train.lossWeights ?? []).map((w) => w.toPrecision(3)).join(", ") || "-",
  };
}

/** A string option that must be one of `allowed` (default `fallback`). */
function choose(cmd: string, v: OptionValues, name: string, allowed: readonly string[], fallback: string): string {
  const x = (v[name] as string | undefined) ?? fallback;
  if (!allowed.includes(x)) throw new UsageError(`${cmd}: --${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(x)}`);
  return x;
}
