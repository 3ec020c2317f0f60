/**
 * Seed groups of a study: the runs a worker trains together in one graph (lib/train/trainer.ts).
 *
 * Runs that differ only in their model seed (same variant, data, model, architecture and training options)
 * are dealt, in grid order, into groups of at most `seedGroupSize()` seeds. The groups are a function of the
 * grid alone, so a shard (shard.ts deals whole groups), a resumed study and an uninterrupted one train every
 * seed in the same group: on the native backend a seed's last float32 bits depend on its group (TensorFlow's
 * elementwise kernels round some elements differently with the tensor's size), never on how the study ran.
 * A resumed group whose other seeds are done retrains the whole group and records the missing seeds only; a
 * part of a study (notebook 02: the first seed) is run with `groupsFrom` (runner.ts), which runs and records
 * its runs' whole groups.
 *
 * Where groups are trained together: on the native backend (tensorflow), where a step is op-overhead bound
 * and a group of S seeds runs the same kernels as one model. On wasm and cpu a group's runs are trained one
 * by one as single runs (measured: a 3-seed group on wasm took 4-6x the time of its three single runs,
 * whose transposed and batched matrix products are slow there).
 */
import type { RunSpec } from "./spec";

/** Default largest group: every seed of the paper-sized studies (6-10 seeds) in one group. */
export const DEFAULT_SEED_GROUP_SIZE = 10;

/**
 * The largest seed group: ESMM_SEED_GROUP when set (1 trains every seed alone, as before seed groups), else
 * DEFAULT_SEED_GROUP_SIZE. Throws on anything but a positive integer.
 */
export function seedGroupSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ESMM_SEED_GROUP?.trim();
  if (!raw) return DEFAULT_SEED_GROUP_SIZE;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`ESMM_SEED_GROUP must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Everything about a run but its seed (runs with equal keys can share a group). */
function groupKey(run: RunSpec): string {
  const { seed: _seed, ...rest } = run;
  void _seed;
  return JSON.stringify(rest);
}

export interface SeedGroups {
  /** Group index of each grid position (groups numbered by first appearance in the grid). */
  groupOf: number[];
  /** Each group's seeds, in grid order. */
  seeds: number[][];
}

/**
 * The seed groups of `grid` (expandGrid's order) with at most `size` seeds each: per kind of run (all but
 * the seed), its seeds in grid order cut into consecutive groups. `size` 1: one group per run.
 */
export function seedGroups(grid: RunSpec[], size: number): SeedGroups {
  if (!Number.isInteger(size) || size < 1) throw new Error(`seed group size must be a positive integer, got ${size}`);
  const open = new Map<string, number>();
  const groupOf: number[] = [];
  const seeds: number[][] = [];
  for (const run of grid) {
    const key = groupKey(run);
    let g = open.get(key);
    if (g === undefined || seeds[g].length >= size) {
      g = seeds.push([]) - 1;
      open.set(key, g);
    }
    seeds[g].push(run.seed);
    groupOf.push(g);
  }
  return { groupOf, seeds };
}
