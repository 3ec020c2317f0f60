/**
 * Shards: a deterministic share of the study's grid for one machine. Run j of `expandGrid` (0-based, in
 * its fixed order) belongs to shard (j mod n) + 1, so shards 1..n of a grid are disjoint, cover it, and
 * interleave models and seeds evenly. Concatenating the shards' results files gives the same set of
 * records as one machine running the whole grid.
 */
export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** Parses "i/n" (1 <= i <= n). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`shard must look like i/n (e.g. 1/4), got ${JSON.stringify(text)}`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  checkShard(shard);
  return shard;
}

export function checkShard(shard: Shard): void {
  if (!Number.isInteger(shard.count) || shard.count < 1 || !Number.isInteger(shard.index) || shard.index < 1 || shard.index > shard.count) {
    throw new Error(`shard ${shard.index}/${shard.count}: need integers 1 <= i <= n`);
  }
}

/** Whether grid position `j` (0-based) belongs to `shard`. */
export function inShard(j: number, shard: Shard): boolean {
  return j % shard.count === shard.index - 1;
}

/** The items of `grid` in `shard` (all of them without a shard), with their grid positions. */
export function shardOf<T>(grid: T[], shard?: Shard): { index: number; item: T }[] {
  if (shard) checkShard(shard);
  return grid.map((item, index) => ({ index, item })).filter(({ index }) => !shard || inShard(index, shard));
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
