/**
 * THE record of one run, defined once (issue 23 point 4). Three views of one structure:
 *
 * - RunRecord: what a trained run computed (lib/study/run.ts builds it; `esmm train` prints it).
 * - StudyRecord: RunRecord plus where it came from; one line of a study's results file (lib/study/worker.ts
 *   writes it, lib/study/results.ts reads it, lib/study/merge.ts combines files of them).
 * - StudyResult: a StudyRecord as the analysis reads it (summaries, findings, metric tables, sensitivity,
 *   `esmm stats`): DERIVED from StudyRecord by `AsRead`, every field optional to any depth except the run's
 *   model and seed and its test day's CTCVR log loss. The analysis reads records written before a field
 *   existed (each such field below says since which commit it is written), trimmed fixtures
 *   (test/fixtures/study/default-study-1cf9ca8.jsonl: the fields the summaries read) and synthetic studies.
 *   StudySplitScore and SpaceScoresLike are its split score and its space scores, derived the same way.
 * - RecordFields<StudyRecord, Mask>: the fields of a StudyRecord one view reads (lib/views: AblationRecordLike,
 *   ModelRecordLike, RunRecordLike, TimedRecordLike, ReplicateRecordLike), picked by a mask with the record's own
 *   types and optionality, so that renaming or retyping a field here breaks the views that read it at compile time.
 *
 * JSON layout. The results file holds a StudyRecord as one JSON line; a NaN metric (undefined, e.g. an AUC
 * without positives) is written as null, which the analysis reads as undefined (lib/analysis/metrics.ts
 * metricValue). Nothing here changes what is written: these are types only, imported with `import type`
 * (so lib/study imports them without an import cycle).
 *
 * Units: log losses and cross-entropies in nats per row (weighted mean); times in seconds; counts raw (not
 * weighted) unless named weighted; probabilities and ratios unitless.
 */
import type { ReliabilityBin } from "../metrics/calibration";
import type { CvrMechanism } from "../metrics/mechanism";
import type { SpaceMetrics, SpaceName, SpacesReport } from "../metrics/spaces";
import type { RunSpec } from "../study/spec";
import type { TrainResult } from "../train/trainer";

// ---------------------------------------------------------------------------------------------------
// RunRecord: one trained run, scored

/**
 * CTCVR log loss of the test day by fold: row i (in the split's row order; simulated data: the order the simulator
 * drew the impressions) belongs to fold i mod `folds` (lib/study/run.ts TEST_FOLDS = 12). Per fold f: the sum of its
 * rows' weighted CTCVR log-loss terms (nats, lib/metrics logLossPerRow) and the sum of their weights;
 * logLossSum[f] / weightSum[f] is fold f's log loss.
 */
export interface FoldScores {
  folds: number;
  logLossSum: number[];
  weightSum: number[];
}

/** One scored split of a run: the test day or a later day (scored without retraining). */
export interface SplitScore {
  /** The split's name: "test", or "day <d>" for a later day (lib/data/prepare.ts). */
  split: string;
  /** Simulator days (or real data's days) the split's rows come from. */
  days: number[];
  /** Rows of the split (raw; downsampling weights not applied). */
  rows: number;
  /** Rows with conversion = 1 (raw). */
  conversions: number;
  /** Per evaluation space (lib/metrics/spaces.ts: ctcvr always; cvr and ctr when the model predicts them): its metrics. */
  metrics: SpacesReport;
  /**
   * CTCVR log loss by fold (the test split only). Absent from later days and from records written before
   * a9137c6 (2026-11-29).
   */
  ctcvrFolds?: FoldScores;
  /**
   * Per evaluation space, the weighted mean cross-entropy (nats) of the simulator's true probabilities on the
   * space's rows (lib/study/run.ts oracleOf): the truth's own loss, a model's gap to it is what it could still gain.
   * Simulated data only.
   */
  oracle?: Record<SpaceName, number>;
  /**
   * The pCVR against the true P(conversion | click, x), on clicked and non-clicked rows (lib/metrics/mechanism.ts
   * cvrMechanism): simulated data and models with a pCVR only. Absent from records written before 6a9896e
   * (2026-11-29).
   */
  mechanism?: { cvr: CvrMechanism };
}

/** One trained run of one model and seed, scored on the test day and on each later day. */
export interface RunRecord {
  /** The model's name in the zoo (lib/models). */
  model: string;
  /** The model seed (initialisation, batch order). */
  seed: number;
  /** The TensorFlow.js backend that ran it ("tensorflow", "cpu", ...): changes timings, not the key. */
  backend: string;
  /** The training's result without its model spec: epochs, best epoch, parameter counts, config, timings (lib/train). */
  training: Omit<TrainResult, "spec">;
  /** The test day's score (with its CTCVR folds). */
  test: SplitScore;
  /** Each later day's score, in day order ([] without later days). */
  later: SplitScore[];
  /** Seconds: training and scoring (predictions and metrics), each the seed group's time divided by its seeds, and their sum. */
  timings: { trainSeconds: number; evaluateSeconds: number; totalSeconds: number };
}

// ---------------------------------------------------------------------------------------------------
// StudyRecord: one line of a results file

/** The data a study run read, as its record states it. */
export interface DataManifestSummary {
  /** Key of the data cache folder (hash of the resolved DataSpec and of the data numerics version, numerics.ts); real data: its sha256's first 16 digits. */
  dataKey: string;
  /** Simulator seed (0 for real data). */
  seed: number;
  /** Over the whole log; real data: over its prepared splits, a downsampled training row counted by its weight. */
  totals: { impressions: number; clicks: number; conversions: number; ctr: number; cvr: number; ctcvr: number };
  /** Oracle cross-entropies (nats) over the whole log (simulated data only: real data has no truth). */
  oracle?: { ctr: number; cvr: number; ctcvr: number };
  /** sha256 of the data's manifest.json; real data: of the prepared folder's files (real-data.ts preparedFolderSha256). */
  sha256: string;
}

/**
 * One line of the results file: the run's record, its labels (study, variant, factor, level) and where it came from.
 * NaN metrics are stored as null.
 */
export interface StudyRecord extends RunRecord, Pick<RunSpec, "study" | "variant" | "factor" | "level" | "model" | "seed"> {
  /** The run key (64 hex, lib/study/results.ts runKey): what it computes, on which data, with which numerics. */
  key: string;
  /** The whole run as resolved; its study, variant, factor, level, model and seed are also at the top level. */
  config: RunSpec;
  /** The data it read (its cache key, totals, oracle and manifest sha256): lib/study/data-identity.ts pairs runs by it. */
  dataManifest: DataManifestSummary;
  /** sha256 of the sources that computed it (numerics.ts codeVersion): for audit, no part of the key. */
  codeVersion: string;
  /** The numerics version in its key (numerics.ts numericsVersion); absent from records written before 4cb4fba (2026-12-05). */
  numericsVersion?: string;
  /** Set by `esmm rescore` when it changed the record's test score or reliability: when (ISO time), and the sources' codeVersion then. */
  rescored?: { at: string; codeVersion: string };
  /** Reliability curve of pCTCVR on the test day: 10 equal-weight (decile) bins, since pCTCVR is ~0.1-1 % (ECE_BINNING, the bins of `ece`). */
  reliability: ReliabilityBin[];
  /** Sidecar file name (relative to the predictions folder), its rows and its columns (pCtcvr, then pCtr and pCvr when predicted). */
  predictions: { file: string; rows: number; columns: string[] };
  /**
   * Worker that ran it: pid, its thread settings and, on the native backend, whether esmm-lab's native kernels
   * were loaded ("loaded" or why not; absent in records written before 2026-12-06): they change timings, not the key.
   */
  runtime: { pid: number; threads: Record<string, string | undefined>; nativeKernels?: string };
  /** ISO time the run finished: of two records of one run, the analysis keeps the later. */
  finishedAt: string;
}

// ---------------------------------------------------------------------------------------------------
// StudyResult: a record as the analysis reads it (derived, not restated)

/** Parts a record writes whole or not at all, so their readers get them whole: a fold table, a reliability bin. */
type WrittenWhole = FoldScores | ReliabilityBin;

/**
 * `T` as the analysis reads it: every field optional, to any depth (arrays: of elements read so), except the parts
 * written whole (WrittenWhole). A StudyRecord, as stored, is an AsRead<StudyRecord>.
 */
export type AsRead<T> = T extends WrittenWhole
  ? T
  : T extends (infer E)[]
    ? AsRead<E>[]
    : T extends readonly (infer E)[]
      ? readonly AsRead<E>[]
      : T extends object
        ? { [K in keyof T]?: AsRead<T[K]> }
        : T;

/** The metrics of one evaluation space as the analysis reads them: its log loss, anything else optional (lib/metrics SpaceMetrics). */
export type SpaceScoresLike = AsRead<SpaceMetrics> & Pick<SpaceMetrics, "logLoss">;

/** One scored split as the analysis reads it: SplitScore with its CTCVR scores required, the other spaces as the record has them. */
export type StudySplitScore = AsRead<Omit<SplitScore, "metrics">> & { metrics: { [S in keyof SpacesReport]: SpaceScoresLike } };

/** One finished run as the analysis reads it: a StudyRecord of which model, seed and the test day's CTCVR log loss are required. */
export type StudyResult = AsRead<Omit<StudyRecord, "test" | "later">> & Pick<StudyRecord, "model" | "seed"> & { test: StudySplitScore; later?: StudySplitScore[] };

// ---------------------------------------------------------------------------------------------------
// RecordFields: the fields a view reads (derived, not restated)

/** The element type of an array, else T itself. */
type ElementOf<T> = T extends readonly (infer E)[] ? E : T;

/**
 * Which fields of `T` a view reads, as an object type of the same shape: a key is a field of T (to any depth: each
 * element's for an array, the defined value's for an optional field), its value `true` (the field whole, as T types
 * it), `"optional"` (the field as T types it, but possibly absent from a stored record, which the view checks: e.g. the
 * AUCs of records written before they were stored, lib/views/real-data-report.ts missingAucNote) or a mask of the
 * field's own fields. A key that is not a field of T fails the constraint (`never`), so a misspelt or renamed
 * field stops the mask's module compiling.
 */
export type FieldMask<T, M> = {
  [K in keyof M]: K extends keyof T ? (M[K] extends true | "optional" ? M[K] : FieldMask<ElementOf<NonNullable<T[K]>>, M[K]>) : never;
};

/** RecordFields without its constraint (the recursion: a mask's part is checked where the whole mask is). */
type Fields<T, M> = T extends undefined | null
  ? T
  : T extends (infer E)[]
    ? Fields<E, M>[]
    : T extends readonly (infer E)[]
      ? readonly Fields<E, M>[]
      : Flat<
          { [K in keyof T as K extends keyof M ? (M[K] extends "optional" ? never : K) : never]: K extends keyof M ? (M[K] extends true ? T[K] : Fields<T[K], M[K]>) : never } & {
            [K in keyof T as K extends keyof M ? (M[K] extends "optional" ? K : never) : never]?: T[K];
          }
        >;

/** An intersection of object types as one object type (modifiers kept): what an editor shows of RecordFields. */
type Flat<T> = T extends infer O ? { [K in keyof O]: O[K] } : never;

/**
 * The fields of `T` (a StudyRecord, or a part of one) that mask `M` names (FieldMask), with T's own types and
 * optionality: a view's record type, derived from the one definition rather than restated, so that a field renamed or
 * retyped here breaks the views that read it at compile time. A stored StudyRecord is a RecordFields<StudyRecord, M>
 * for every mask M. Example: RecordFields<StudyRecord, { model: true; test: { metrics: { ctcvr: { logLoss: true } } } }>
 * is { model: string; test: { metrics: { ctcvr: { logLoss: number } } } }.
 */
export type RecordFields<T, M extends FieldMask<T, M>> = Fields<T, M>;
