/**
 * The runner's queue: which job an idle worker gets next.
 *
 * The queue holds the session's runs in grid order. An idle worker gets the first queued run whose data is
 * ready, with every other queued run of its seed group (seed-groups.ts; one job, trained together); when there is none, the preparation of the data of the first queued run whose data is missing
 * (that data set is then "preparing" and its runs stay queued); when there is none either (every queued
 * run waits on data another worker is preparing), nothing. When a preparation ends, the data's runs either
 * get their keys (and those already done leave the queue) or leave the queue as failures.
 */
import type { PreparedDataInfo } from "./data-cache";
import { DataTracker, PlannedRun, ReadyData } from "./runner-data";
import type { DataSpec } from "./spec";

/** A run job: the runs to record (queued runs of one seed group), the group's seeds (all of them: a resumed group retrains them all) and their data. */
export type Job = { type: "run"; runs: PlannedRun[]; groupSeeds: number[]; data: ReadyData } | { type: "prepare"; dataKey: string; spec: DataSpec };

export class Scheduler {
  private queue: PlannedRun[];

  /** `runs`: the session's runs still to do, in grid order (DataTracker.plan); `groupSeeds`: each seed group's seeds. */
  constructor(
    private readonly data: DataTracker,
    runs: PlannedRun[],
    private readonly groupSeeds: number[][],
  ) {
    this.queue = [...runs];
  }

  /** Runs queued: not yet handed out, not failed, not found done. */
  get pending(): number {
    return this.queue.length;
  }

  /** Keys of the data sets the queued runs wait for that are missing from the data cache (to be simulated and prepared). */
  dataToMake(): string[] {
    return [...new Set(this.queue.filter((r) => this.data.state(r.dataKey).status === "missing").map((r) => r.dataKey))];
  }

  /** The next job for an idle worker (see the header); a run is taken off the queue. */
  next(): Job | undefined {
    const ready = this.queue.findIndex((r) => this.data.state(r.dataKey).status === "ready");
    if (ready >= 0) {
      const group = this.queue[ready].group;
      const runs = this.queue.filter((r) => r.group === group);
      this.queue = this.queue.filter((r) => r.group !== group);
      return { type: "run", runs, groupSeeds: this.groupSeeds[group], data: this.data.state(runs[0].dataKey) as ReadyData };
    }
    const missing = this.queue.find((r) => this.data.state(r.dataKey).status === "missing");
    if (missing) return { type: "prepare", dataKey: missing.dataKey, spec: this.data.preparing(missing.dataKey) };
    return undefined;
  }

  /** A data set is prepared: its runs get their keys; returns how many were found already done (and left the queue). */
  dataReady(dataKey: string, info: PreparedDataInfo): number {
    const before = this.data.skipped;
    const keep = new Set(this.data.ready(dataKey, info, this.queue.filter((r) => r.dataKey === dataKey)));
    this.queue = this.queue.filter((r) => r.dataKey !== dataKey || keep.has(r));
    return this.data.skipped - before;
  }

  /** A data set could not be prepared: returns its queued runs, taken off the queue. */
  dataFailed(dataKey: string, error: string): PlannedRun[] {
    this.data.failed(dataKey, error);
    const lost = this.queue.filter((r) => r.dataKey === dataKey);
    this.queue = this.queue.filter((r) => r.dataKey !== dataKey);
    return lost;
  }

  /** Takes every queued run off the queue (no worker is left to run them); returns them. */
  drain(): PlannedRun[] {
    const lost = this.queue;
    this.queue = [];
    return lost;
  }
}
