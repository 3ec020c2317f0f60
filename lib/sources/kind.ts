/**
 * What a kind of data source is: how one of its sources is keyed, recognised and written as a prepared folder.
 *
 * Each kind is one file of lib/sources (simulated.ts, simulated-log.ts, csv-log.ts, ali-ccp.ts, ali-ccp-raw.ts,
 * prepared.ts) and one row of registry.ts; `materialize` (materialize.ts) owns the cache every kind shares: the
 * folder `<root>/<folder(key)>`, written in a temporary folder and renamed into place (`materializeInto` writes
 * one into a folder the caller names instead: `esmm prepare --out`). A new loader is a new file that exports a
 * `SourceKind` and a row that names it.
 *
 * A source is plain JSON, `{ kind, ...what names the data }` (files, a simulator config and seed); how it is
 * prepared (keep rate, seed, OOV rules) is the separate `Preparation` (lib/data/prepare.ts DEFAULT_PREPARATION
 * holds the defaults), so the same log under two preparations is two folders with two keys.
 */
import type { LoadProgress } from "../data/csv-fields";
import type { OverrideHint } from "../data/label-like";
import { DEFAULT_PREPARATION, Preparation } from "../data/prepare";
import { canonicalJson, dataNumericsVersion, sha256Hex } from "../numerics";
import type { EmbeddingUpdates } from "../train/rowwise";

/** A data source: its kind's registry name and the kind's own fields. */
export interface SourceBase {
  kind: string;
}

/** What materialize passes to a kind's `write`. */
export interface WriteContext {
  /** The source's key (16 hex digits), as `key` returned it; absent when written into a named folder (materializeInto), which is not keyed. */
  key?: string;
  /** Short status lines ("simulating ...", "preparing ..."). */
  onStatus?: (line: string) => void;
  /** Progress of reading files (rows read of the rows counted first), for kinds that read CSV files. */
  onProgress?: LoadProgress;
  /** Simulated data only: keep the simulated day CSVs in `<dir>/log/` (default false). */
  keepLog?: boolean;
  /**
   * How a refusal in a CSV file says to override it (lib/data/csv-log.ts CsvLoadOptions): `howToDrop` for a
   * conversion without a click, `overrideHint` for a label-like feature column. Default: the library's option
   * names; `esmm prepare` names its flags.
   */
  hints?: { howToDrop?: string; overrideHint?: OverrideHint };
}

export interface SourceKind<S extends SourceBase = SourceBase> {
  /** The registry's name of the kind, the `kind` field of its sources. */
  readonly kind: S["kind"];
  /** One line: what a source of this kind is. */
  readonly describe: string;
  /**
   * How Adam updates the embedding tables of a model trained on this kind's data when the run does not say
   * (TrainConfig.embeddingUpdates; lib/train/rowwise.ts). Measured in docs/embedding-updates.md: simulated logs
   * "dense" (the paper's reference rule, every recorded result; small vocabularies), real logs "rowwise" (millions
   * of ids: dense Adam steps every row each step, 2.7x slower or worse at 2M ids).
   */
  readonly embeddingUpdates: EmbeddingUpdates;
  /**
   * The key of `source`'s prepared data under `preparation` (missing fields: DEFAULT_PREPARATION unless the
   * kind says otherwise): 16 hex digits. May read the files' sizes and modification times; throws when the
   * source's files are missing.
   */
  key(source: S, preparation: Partial<Preparation>): string;
  /** The cache folder's name for `key` (default: the key itself). */
  folder?(key: string): string;
  /** True when `dir` holds every file this kind writes (a complete cached folder). */
  isComplete(dir: string): boolean;
  /** A folder of this kind's raw files (e.g. the processed Ali-CCP CSVs) as a source, else undefined. */
  detect?(dir: string): S | undefined;
  /** A source that is its own prepared folder (its `dir`): that folder, checked (throws when missing or changed). No `write`. */
  inPlace?(source: S): string;
  /** Checks made before anything is written (throws; e.g. the simulator's days against the split plan). */
  check?(source: S, preparation: Partial<Preparation>): void;
  /** True when `write` is synchronous (returns void), so that `materializeSync` may use the kind. */
  readonly sync?: boolean;
  /**
   * Writes the prepared folder of `source` into `tmp` (prepared.json and its splits at least): an empty
   * temporary folder (materialize), or the folder `esmm prepare --out` names, whose earlier prepared files
   * writePrepared replaces (materializeInto).
   */
  write?(source: S, preparation: Partial<Preparation>, tmp: string, context: WriteContext): void | Promise<void>;
}

/** `preparation` with DEFAULT_PREPARATION's value for every field it lacks. */
export function fullPreparation(preparation: Partial<Preparation>): Preparation {
  return {
    negativeKeepRate: preparation.negativeKeepRate ?? DEFAULT_PREPARATION.negativeKeepRate,
    seed: preparation.seed ?? DEFAULT_PREPARATION.seed,
    oovMinCount: preparation.oovMinCount ?? DEFAULT_PREPARATION.oovMinCount,
    oovMaskRate: preparation.oovMaskRate ?? DEFAULT_PREPARATION.oovMaskRate,
  };
}

/**
 * The key every kind uses: sha256 of `keyed` as canonical JSON, a newline and the data numerics version
 * (lib/numerics.ts), its first 16 hex digits. So data that today's preparation code makes differently
 * (the golden data fixture moved) gets a new folder.
 */
export function sourceKey(keyed: unknown): string {
  return sha256Hex(`${canonicalJson(keyed)}\n${dataNumericsVersion()}`).slice(0, 16);
}
