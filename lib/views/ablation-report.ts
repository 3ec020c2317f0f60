/**
 * Views of the ablation study's runs (notebook 03: the untuned default design, before notebook 04 compares them): the
 * design in a line and as a table, every run as a row and as a point of a box plot, and the time the runs took.
 * Domain code (lib/study expandGrid, runStudy, gridRecords) returns data; these functions only shape it into rows for
 * showTable (numbers kept as numbers, lib/views/tables.ts decides their digits), text and a figure.
 */
import type { StudySpec } from "../study/spec";
import type { StudyRunSummary } from "../study/runner-report";
import type { TrainConfig } from "../train/trainer";
import { DEFAULT_SIMULATOR_CONFIG } from "../data/simulator-config";
import { trainingSettingRows } from "./design";
import type { Figure } from "../plots/figure";
import type { RecordFields, StudyRecord } from "../analysis/record";
import { withTemplate } from "../plots/charts";

/** The study's worlds (simulator seeds; default its data's seed) and downsampling draws (default its data's preparation seed). */
function worldsAndDraws(spec: Pick<StudySpec, "worlds" | "draws" | "data">): { worlds: number[]; draws: number[] } {
  return { worlds: spec.worlds ?? [spec.data.simulatorSeed], draws: spec.draws ?? [spec.data.prepareSeed] };
}

/** The study in one line: profile, name, models x worlds x draws x seeds = runs (`gridRuns`, expandGrid's length), the results file. */
export function studyLine(spec: StudySpec, options: { profile: string; gridRuns: number; results: string }): string {
  const { worlds, draws } = worldsAndDraws(spec);
  return `profile ${options.profile}: study "${spec.name}", ${spec.models.length} models x ${worlds.length} worlds x ${draws.length} draws x ${spec.seeds.length} seeds = ${options.gridRuns} runs; results in ${options.results}`;
}

/** The training settings the design table reads: `spec.train` over DEFAULT_TRAIN_CONFIG (lib/train/trainer.ts). */
export type TrainSettings = Pick<TrainConfig, "lossNormalization" | "maxEpochs" | "patience">;

/**
 * The study design as setting/value rows: models, worlds, draws, model seeds, the log's impressions and days and the
 * test (later) days' size multipliers (the simulator's, over DEFAULT_SIMULATOR_CONFIG; later days default to the test
 * day's), the negative keep rate, loss normalisation and max epochs / patience (from `train`, the resolved settings),
 * and the worker processes.
 */
export function designRows(spec: StudySpec, train: TrainSettings, options: { workers: number }): { setting: string; value: string | number }[] {
  const { worlds, draws } = worldsAndDraws(spec);
  const sim = spec.data.simulator;
  const evaluation = sim.evaluationMultiplier ?? DEFAULT_SIMULATOR_CONFIG.evaluationMultiplier;
  return [
    { setting: "models", value: spec.models.join(", ") },
    { setting: "worlds (simulator seeds)", value: worlds.join(", ") },
    { setting: "downsampling draws (seeds)", value: draws.join(", ") },
    { setting: "model seeds", value: spec.seeds.join(", ") },
    { setting: "impressions / days (training days as in this log)", value: `${(sim.impressions ?? DEFAULT_SIMULATOR_CONFIG.impressions).toLocaleString("en-US")} / ${sim.days ?? DEFAULT_SIMULATOR_CONFIG.days}` },
    { setting: "test day x (later days x)", value: `${evaluation} (${sim.laterDaysMultiplier ?? evaluation})` },
    ...trainingSettingRows(spec.data.negativeKeepRate, train, { workers: options.workers }),
  ];
}

/** A run's record, as far as these views read it: the fields of lib/analysis/record.ts StudyRecord they read, with its types. */
export type AblationRecordLike = RecordFields<
  StudyRecord,
  {
    model: true;
    seed: true;
    backend: true;
    config: { data: { simulatorSeed: true; prepareSeed: true } };
    test: { days: true; rows: true; conversions: true; oracle: { ctcvr: true }; metrics: { ctcvr: { logLoss: true; prAuc: true } } };
    training: { bestEpoch: true; parameters: { total: true } };
    timings: { trainSeconds: true; totalSeconds: true };
  }
>;

export type AblationRunRow = {
  world: number;
  draw: number;
  model: string;
  seed: number;
  ctcvr_log_loss: number;
  oracle: number | undefined;
  ctcvr_pr_auc: number;
  best_epoch: number;
  parameters: number;
  train_seconds: number;
  backend: string;
  test_conversions: number;
};

/**
 * One row per run: its world and draw, model, seed, test-day CTCVR log loss beside the oracle's (undefined without
 * one), PR-AUC, best epoch, parameters, training seconds, backend and the test day's conversions.
 */
export function runRows(records: readonly AblationRecordLike[]): AblationRunRow[] {
  return records.map((r) => ({
    world: r.config.data.simulatorSeed,
    draw: r.config.data.prepareSeed,
    model: r.model,
    seed: r.seed,
    ctcvr_log_loss: r.test.metrics.ctcvr.logLoss,
    oracle: r.test.oracle?.ctcvr,
    ctcvr_pr_auc: r.test.metrics.ctcvr.prAuc,
    best_epoch: r.training.bestEpoch,
    parameters: r.training.parameters.total,
    train_seconds: r.timings.trainSeconds,
    backend: r.backend,
    test_conversions: r.test.conversions,
  }));
}

/** The caption of runRows' table: records found of the grid's runs, the test day and its impressions (of the first record). */
export function runsCaption(records: readonly AblationRecordLike[], gridRuns: number): string {
  return `${records.length} of ${gridRuns} runs (test day ${records[0]?.test.days.join(",")}, ${records[0]?.test.rows.toLocaleString("en-US")} impressions per replicate)`;
}

/** Every run's test CTCVR cross-entropy, one box of points per model of `models` (in that order). */
export function runsFigure(models: readonly string[], records: readonly AblationRecordLike[]): Figure {
  return withTemplate({
    data: models.map((model) => ({ type: "box", name: model, y: records.filter((r) => r.model === model).map((r) => r.test.metrics.ctcvr.logLoss), boxpoints: "all", jitter: 0.3, pointpos: 0 })),
    layout: { title: { text: "Test CTCVR cross-entropy of every run (one point per run; worlds differ in difficulty, so notebook 04 compares within each)" }, yaxis: { title: { text: "cross-entropy" } }, showlegend: false },
  });
}

/** The runs' time: training and scoring summed over `records` (minutes, one decimal), and this session's wall time and workers ("no" when none ran). */
export function timeLine(records: readonly Pick<AblationRecordLike, "timings">[], session: Pick<StudyRunSummary, "wallSeconds" | "workers">): string {
  const seconds = records.reduce((s, r) => s + r.timings.totalSeconds, 0);
  return `total training + scoring time over runs: ${(seconds / 60).toFixed(1)} min; this session's wall time: ${(session.wallSeconds / 60).toFixed(1)} min on ${session.workers || "no"} worker(s)`;
}
