/**
 * What a result record was computed on, so that an analysis never compares runs of different data.
 *
 * Two levels, both read from the record alone (the study runner writes `config` and `dataManifest`):
 *
 * - The data DESIGN (`dataDesignOf`, named by `dataDesignId`, 8 hex digits): the record's `config.data` without
 *   the replicate's seeds (simulatorSeed, prepareSeed), with the simulator's and the out-of-vocabulary rules'
 *   defaults filled in, and for real data the folder's content hash in place of its path. One study's runs
 *   share one design in each variant (its worlds and draws are replicates of it); runs of another study (e.g.
 *   `--impressions 100000`) have another design, and pooling them is a different question.
 * - The data SET (`dataSetOf`): the exact data one run read, the data manifest's sha256 (else the data cache
 *   key, else the design with its seeds). Within one comparison cell (variant, world, draw) every kept run
 *   must have read the same data set, or the pairing by seed compares different data.
 *
 * `groupByData` splits records by design; `describeDesignDifference` says what two designs differ in, for the
 * one line that names them.
 */
import { drawWorld } from "../data/world-prior";
import { dataSourceOf } from "./data-source";
import type { DataSpec } from "./spec";
import type { StudyResult } from "../analysis/record";
import { canonicalJson } from "./results";
import * as crypto from "node:crypto";
import { resolveConfig } from "../data/simulator-config";
import { DEFAULT_OOV_MASK_RATE, DEFAULT_OOV_MIN_COUNT } from "../data/prepare";

/** The fields of a result record this module reads: the record's (lib/analysis/record.ts) as the analysis reads them. */
export type DataIdentityLike = Pick<StudyResult, "config" | "dataManifest" | "codeVersion">;

function shortHash(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex").slice(0, 8);
}

/**
 * The record's data design: `config.data` without simulatorSeed and prepareSeed (nor, for worlds drawn from a
 * world prior, the simulator parameters the prior draws: they belong to the world as its seed does), defaults filled in
 * (simulator options by resolveConfig, oovMinCount and oovMaskRate by lib/data/prepare.ts), a prepared
 * folder named by its sha256 alone. A record without `config.data` has the empty design {}.
 */
export function dataDesignOf(r: DataIdentityLike): Record<string, unknown> {
  const data = r.config?.data;
  if (!data || typeof data !== "object") return {};
  const { simulatorSeed: _w, prepareSeed: _d, ...rest } = data as Record<string, unknown>;
  const out: Record<string, unknown> = { ...rest };
  const { source } = dataSourceOf(data as unknown as DataSpec); // reads `prepared` of any stored form
  if (source.kind === "prepared") {
    // real data: the folder by its content hash, not where it is; its `simulator` {} is a placeholder of the format
    out.prepared = { sha256: source.sha256 };
    delete out.simulator;
  } else if (rest.simulator && typeof rest.simulator === "object") {
    try {
      out.simulator = resolveConfig(rest.simulator as Record<string, never>);
    } catch {
      out.simulator = rest.simulator; // an option this code no longer knows: compared as written
    }
  }
  if (typeof rest.worldPrior === "string" && out.simulator && typeof out.simulator === "object") {
    // worlds drawn from a prior (lib/data/world-prior.ts) share the design: the drawn parameters are the world's, like its seed
    try {
      const drawn = Object.keys(drawWorld(rest.worldPrior, 0, rest.simulator as Record<string, never>).simulator);
      const simulator = { ...(out.simulator as Record<string, unknown>) };
      for (const k of drawn) delete simulator[k];
      out.simulator = simulator;
    } catch {
      // an unknown prior: compared as written
    }
  }
  if ("negativeKeepRate" in rest || "simulator" in rest || "prepared" in rest) {
    out.oovMinCount ??= DEFAULT_OOV_MIN_COUNT;
    out.oovMaskRate ??= DEFAULT_OOV_MASK_RATE;
  }
  return out;
}

/** 8 hex digits naming the record's data design (the `--data` key of esmm stats and merge). */
export function dataDesignId(r: DataIdentityLike): string {
  return shortHash(canonicalJson(dataDesignOf(r)));
}

/**
 * The data set the record's run read: its data manifest's sha256, else its data cache key, else a hash of
 * its whole `config.data` (seeds included). Two records of one comparison cell with different values read
 * different data.
 */
export function dataSetOf(r: DataIdentityLike): string {
  return r.dataManifest?.sha256 || r.dataManifest?.dataKey || `config:${shortHash(canonicalJson(r.config?.data ?? null))}`;
}

/** A data set's name for a message: the data cache key when recorded, else the first 12 digits of dataSetOf. */
export function dataSetLabel(r: DataIdentityLike): string {
  return r.dataManifest?.dataKey || dataSetOf(r).slice(0, 12);
}

/** Records split by data design, in order of first appearance. */
export interface DataGroup<R> {
  id: string;
  design: Record<string, unknown>;
  records: R[];
}

/** Splits records by data design (dataDesignId), groups in order of first appearance. */
export function groupByData<R extends DataIdentityLike>(records: readonly R[]): DataGroup<R>[] {
  const groups = new Map<string, DataGroup<R>>();
  for (const r of records) {
    const id = dataDesignId(r);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { id, design: dataDesignOf(r), records: [] }));
    g.records.push(r);
  }
  return [...groups.values()];
}

/** Leaf paths where two JSON values differ, each "path: a vs b", in sorted path order. */
export function jsonDifferences(a: unknown, b: unknown, at = ""): string[] {
  const show = (x: unknown) => {
    const s = JSON.stringify(x) ?? "unset";
    return s.length > 40 ? `${s.slice(0, 37)}...` : s;
  };
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => jsonDifferences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  }
  return canonicalJson(a) === canonicalJson(b) ? [] : [`${at || "(data)"} ${show(a)} vs ${show(b)}`];
}

/** What two data designs differ in, at most `max` fields: "simulator.impressions 20000 vs 100000". */
export function describeDesignDifference(a: Record<string, unknown>, b: Record<string, unknown>, max = 3): string {
  const d = jsonDifferences(a, b);
  return d.length === 0 ? "no difference" : d.slice(0, max).join(", ") + (d.length > max ? `, and ${d.length - max} more` : "");
}

/**
 * One line naming the data designs of `groups` (at least two): each id with its record count, and what each
 * differs in from the first.
 */
export function mixedDataText<R>(groups: readonly DataGroup<R>[]): string {
  const [first, ...rest] = groups;
  return (
    `${groups.length} data designs: ${first.id} (${first.records.length} record(s))` +
    rest.map((g) => `, ${g.id} (${g.records.length} record(s): ${describeDesignDifference(first.design, g.design)})`).join("")
  );
}

/**
 * The records of the data chosen by `key`: those whose data design id, data cache key or manifest sha256
 * starts with it (at least 4 characters). Throws, naming the designs there are, when none does.
 */
export function selectData<R extends DataIdentityLike>(records: readonly R[], key: string): R[] {
  if (key.length < 4) throw new Error(`a data key needs at least 4 characters, got ${JSON.stringify(key)}`);
  const hit = records.filter((r) => dataDesignId(r).startsWith(key) || (r.dataManifest?.dataKey ?? "").startsWith(key) || (r.dataManifest?.sha256 ?? "").startsWith(key));
  if (hit.length === 0) {
    const ids = groupByData(records).map((g) => g.id);
    throw new Error(`no record was computed on data ${JSON.stringify(key)} (data designs: ${ids.join(", ") || "none"})`);
  }
  return hit;
}

/**
 * An analysis was asked of records of more than one data design, or of a comparison cell whose runs read
 * different data sets. The message is one line naming them; `keys` are the values that `selectData` accepts
 * to pick one.
 */
export class MixedDataError extends Error {
  readonly keys: string[];
  constructor(message: string, keys: string[]) {
    super(message);
    this.name = "MixedDataError";
    this.keys = keys;
  }
}
