/**
 * The runner's progress and summary: the StudyRunSummary a session returns, the `onProgress` calls, the
 * progress bar (one tick per run finished, failed or found already done) and the one-line summary.
 */
import { createProgress, formatDuration, Progress } from "../plots/progress";
import type { ResultsProblem, StudyRecord } from "./results";
import type { PlannedRun } from "./runner-data";

export interface RunFailure {
  key?: string;
  variant: string;
  model: string;
  seed: number;
  error: string;
}

export interface StudyProgress {
  /** Runs finished (written) in this session, failed in this session, found already done. */
  done: number;
  failed: number;
  skipped: number;
  /** Runs this session set out to do (the shard's grid minus those already in the results file). */
  total: number;
  /** The run just finished or failed. */
  record?: StudyRecord;
  failure?: RunFailure;
}

export interface StudyRunSummary {
  study: string;
  results: string;
  predictionsDir: string;
  /** Runs in this shard's grid (all runs without a shard). */
  total: number;
  /** Written in this session. */
  done: number;
  /** Already in the results file. */
  skipped: number;
  failed: RunFailure[];
  /** The records written in this session, in the order they finished. */
  records: StudyRecord[];
  wallSeconds: number;
  workers: number;
  /** Bytes of a partial last line that were cut off, and lines of the results file that were ignored. */
  repairedBytes: number;
  ignoredLines: ResultsProblem[];
  aborted: boolean;
}

export interface StudyReporterOptions {
  study: string;
  results: string;
  predictionsDir: string;
  /** Runs in the shard's grid. */
  gridRuns: number;
  /** Runs found done before the session starts. */
  skipped: number;
  /** Runs the session sets out to do (StudyProgress.total, the bar's total). */
  todo: number;
  ignoredLines: ResultsProblem[];
  /** Session start (Date.now()). */
  started: number;
  log: (line: string) => void;
  onProgress?: (p: StudyProgress) => void;
}

export class StudyReporter {
  /** Filled in as the session goes; the runner sets `workers`, `repairedBytes` and `aborted`. */
  readonly summary: StudyRunSummary;
  private bar: Progress | undefined;

  constructor(private readonly options: StudyReporterOptions) {
    this.summary = {
      study: options.study,
      results: options.results,
      predictionsDir: options.predictionsDir,
      total: options.gridRuns,
      done: 0,
      skipped: options.skipped,
      failed: [],
      records: [],
      wallSeconds: 0,
      workers: 0,
      repairedBytes: 0,
      ignoredLines: options.ignoredLines,
      aborted: false,
    };
  }

  /** Shows the progress bar labelled `label` (see createProgress for where it goes). */
  showBar(label: string): void {
    this.bar = createProgress({ total: this.options.todo, label, unit: "run" });
  }

  /** A run finished and its record is written. */
  runDone(run: PlannedRun, record: StudyRecord): void {
    this.summary.done++;
    this.summary.records.push(record);
    const m = record.test.metrics.ctcvr;
    this.bar?.tick(1, `${run.run.model} seed ${run.run.seed}${run.run.variant === "default" ? "" : ` ${run.run.variant}`}: test CTCVR log loss ${Number(m.logLoss).toFixed(6)}`);
    this.progress({ record });
  }

  /** A run failed (its worker's error, its worker's death, its data's failure, or no worker left). */
  runFailed(run: PlannedRun, error: string): void {
    const failure: RunFailure = { key: run.key, variant: run.run.variant, model: run.run.model, seed: run.run.seed, error };
    this.summary.failed.push(failure);
    this.options.log(`study: ${run.run.model} seed ${run.run.seed} (${run.run.variant}) failed: ${error}`);
    this.bar?.tick(1, `${run.run.model} seed ${run.run.seed} FAILED`);
    this.progress({ failure });
  }

  /** `n` > 0 queued runs turned out to be done already (their keys became known when their data was prepared). */
  foundDone(n: number): void {
    this.summary.skipped += n;
    this.bar?.tick(n, `${n} already done`);
  }

  /** Ends the session: sets the wall time and closes the bar; later ticks are not shown. Returns the summary. */
  finish(): StudyRunSummary {
    const s = this.summary;
    s.wallSeconds = (Date.now() - this.options.started) / 1000;
    this.bar?.done(`${s.done} done, ${s.skipped} skipped, ${s.failed.length} failed in ${formatDuration(s.wallSeconds)}`);
    this.bar = undefined;
    return s;
  }

  private progress(extra: Partial<StudyProgress>): void {
    const s = this.summary;
    this.options.onProgress?.({ done: s.done, failed: s.failed.length, skipped: s.skipped, total: this.options.todo, ...extra });
  }
}
