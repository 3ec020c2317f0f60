/**
 * What the runner knows about each data set of a study session, and the runs' keys.
 *
 * Each distinct DataSpec (by `dataSpecKey`) is in one of four states:
 *   missing    not in the data cache; `summary` is its manifest as recorded by earlier runs, if any
 *   preparing  a worker is simulating and preparing it
 *   ready      in the cache (`info.dir`); `summary` is its manifest
 *   failed     its preparation failed (`error`); its runs fail with it
 * Real data (`spec.prepared`) is ready from the start (its folder, checked against the spec: `plan` throws
 * when it is missing or differs, see real-data.ts checkPreparedSpec).
 *
 * A run's key (results.ts `runKey`) needs the sha256 of its data's manifest, so it is known once the data is
 * ready, or earlier when a record in the results file names that data's manifest. `resolveKeys` fills in
 * the keys it can and drops the runs already done: those in the results file, and a second run of the grid
 * with the same key (e.g. the default level of two sensitivity factors). When freshly prepared data has a
 * different manifest from the one earlier records named, the keys computed from the old manifest are
 * dropped and computed again.
 */
import { dataSpecKey, findPreparedData, preparedDataInfo, PreparedDataInfo } from "./data-cache";
import { DataManifestSummary, ResultsRead, runKey } from "./results";
import type { DataSpec, RunSpec } from "./spec";

/** One run of the session: its position in the (unsharded) grid, its spec, its data's key and its own key once known. */
export interface PlannedRun {
  index: number;
  run: RunSpec;
  dataKey: string;
  key?: string;
  /** Its seed group (seed-groups.ts; the index into the session's group list). */
  group: number;
}

export type DataState =
  | { status: "missing"; spec: DataSpec; summary?: DataManifestSummary }
  | { status: "preparing"; spec: DataSpec; summary?: DataManifestSummary }
  | { status: "ready"; spec: DataSpec; info: PreparedDataInfo; summary: DataManifestSummary }
  | { status: "failed"; spec: DataSpec; error: string };

export type ReadyData = Extract<DataState, { status: "ready" }>;

export class DataTracker {
  private readonly states = new Map<string, DataState>();
  /** Keys claimed by a run of this session. */
  private readonly claimed = new Set<string>();
  /** Runs found already done so far (in the results file, or a duplicate key in the grid). */
  skipped = 0;

  /**
   * @param existing the results file as read (its records' keys are done; their manifests name data sets)
   * @param dataRoot the data cache folder
   * @param numerics the numerics version that goes into every key (numerics.ts `numericsVersion`)
   */
  constructor(
    private readonly existing: ResultsRead,
    private readonly dataRoot: string,
    private readonly numerics: string,
  ) {}

  /**
   * The runs of `grid` (a shard's share, with grid positions) still to do, in grid order, with the state of
   * each data set: ready when its folder is in the cache (reads its manifest; throws when the folder's
   * manifest cannot be read), else missing. `groupOf`: each grid position's seed group. Call once.
   */
  plan(grid: { index: number; item: RunSpec }[], groupOf: number[]): PlannedRun[] {
    const fromResults = new Map<string, DataManifestSummary>();
    for (const r of this.existing.records) if (r.dataManifest?.dataKey) fromResults.set(r.dataManifest.dataKey, r.dataManifest);
    const runs: PlannedRun[] = [];
    for (const { index, item: run } of grid) {
      const dataKey = dataSpecKey(run.data);
      if (!this.states.has(dataKey)) {
        const dir = findPreparedData(run.data, this.dataRoot);
        if (dir) {
          const info = preparedDataInfo(dir);
          this.states.set(dataKey, { status: "ready", spec: run.data, info, summary: info.summary });
        } else this.states.set(dataKey, { status: "missing", spec: run.data, summary: fromResults.get(dataKey) });
      }
      runs.push({ index, run, dataKey, group: groupOf[index] });
    }
    return this.resolveKeys(runs);
  }

  /** The state of a data set of the plan (throws for a key the plan does not have). */
  state(dataKey: string): DataState {
    const d = this.states.get(dataKey);
    if (!d) throw new Error(`study: no data set ${dataKey} in this study`);
    return d;
  }

  /**
   * Fills in the keys of `runs` whose data's manifest is known and returns the runs still to do: a run whose
   * key is in the results file or already claimed by another run of the session is dropped (and counted in
   * `skipped`). Runs without a key yet are kept.
   */
  resolveKeys(runs: PlannedRun[]): PlannedRun[] {
    return runs.filter((r) => {
      if (r.key) return true;
      const d = this.state(r.dataKey);
      const summary = d.status === "failed" ? undefined : d.summary;
      if (!summary) return true;
      r.key = runKey(r.run, summary.sha256, this.numerics);
      if (this.existing.byKey.has(r.key) || this.claimed.has(r.key)) {
        this.skipped++;
        return false;
      }
      this.claimed.add(r.key);
      return true;
    });
  }

  /** Marks a missing data set as being prepared; returns its spec. */
  preparing(dataKey: string): DataSpec {
    const d = this.state(dataKey);
    this.states.set(dataKey, { ...d, status: "preparing" } as DataState);
    return d.spec;
  }

  /**
   * Marks a data set prepared (`info`: its cache folder and manifest). `waiting`: its runs still queued.
   * When earlier records named another manifest, the keys computed from it are dropped. Returns the runs of
   * `waiting` still to do (resolveKeys).
   */
  ready(dataKey: string, info: PreparedDataInfo, waiting: PlannedRun[]): PlannedRun[] {
    const d = this.state(dataKey);
    const known = d.status === "failed" ? undefined : d.summary;
    this.states.set(dataKey, { status: "ready", spec: d.spec, info, summary: info.summary });
    if (known && known.sha256 !== info.summary.sha256) {
      // The earlier records' manifest differs from the regenerated one: their keys do not apply.
      for (const r of waiting) {
        if (r.key) {
          this.claimed.delete(r.key);
          r.key = undefined;
        }
      }
    }
    return this.resolveKeys(waiting);
  }

  /** Marks a data set failed (its preparation threw, or its worker died). */
  failed(dataKey: string, error: string): void {
    const d = this.state(dataKey);
    this.states.set(dataKey, { status: "failed", spec: d.spec, error });
  }
}
