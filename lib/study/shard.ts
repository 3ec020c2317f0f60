/**
 * Shards: a deterministic share of the study's grid for one machine. Run j of `expandGrid` (0-based, in
 * its fixed order) belongs to shard (j mod n) + 1 (or, when the runner trains seed groups, group g of
 * seed-groups.ts to shard (g mod n) + 1), so shards 1..n of a grid are disjoint, cover it, and
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

/**
 * The items of `grid` in `shard` (all of them without a shard), with their grid positions. With `groupOf`
 * (seed-groups.ts: the group of each grid position), whole groups are dealt: group g belongs to shard
 * (g mod n) + 1, so every seed trains in the same group whatever the sharding.
 */
export function shardOf<T>(grid: T[], shard?: Shard, groupOf?: number[]): { index: number; item: T }[] {
  if (shard) checkShard(shard);
  return grid.map((item, index) => ({ index, item })).filter(({ index }) => !shard || inShard(groupOf ? groupOf[index] : index, shard));
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** The environment variables `--shard auto` reads, in order of precedence. */
export const SHARD_INDEX_VARIABLES = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] as const;

/** A shard found in the environment, and the variable(s) it came from (e.g. "JOB_COMPLETION_INDEX=1"). */
export interface EnvironmentShard extends Shard {
  from: string;
}

const NON_NEGATIVE_INTEGER = /^\s*\d+\s*$/;

/**
 * The shard of this machine (`--shard auto`) from the array-job index its batch engine sets, for a study cut
 * into `shards` shards. The first of these that is set (non-empty) decides, each a 0-based index that becomes
 * shard index + 1 (so array task 0 runs `--shard 1/n`, task n-1 runs `--shard n/n`):
 *
 * - Slurm job arrays (`sbatch --array=A-B`): SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN (0 when unset),
 *   so `--array=0-(n-1)` and `--array=1-n` both work. The range must be contiguous (no `:step`, no list);
 *   when SLURM_ARRAY_TASK_COUNT is set it must equal `shards`, which catches an array of the wrong size and
 *   a resubmission of single tasks (`--array=2` would make task 2 shard 1): rerun a single shard with
 *   `--shard i/n` instead.
 * - Kubernetes Indexed Jobs (`completionMode: Indexed`): JOB_COMPLETION_INDEX, set by the Job controller
 *   (`spec.completions` must equal `shards`).
 * - AWS Batch array jobs (`--array-properties size=n`): AWS_BATCH_JOB_ARRAY_INDEX.
 *
 * Throws (one line naming the variable and its value) when none is set, when the one that decides is not a
 * non-negative integer, or when the index is outside 0..shards-1.
 */
export function shardFromEnvironment(env: NodeJS.ProcessEnv, shards: number): EnvironmentShard {
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`the shard count must be an integer >= 1, got ${shards}`);
  const set = (name: string) => env[name] !== undefined && env[name]!.trim() !== "";
  const integer = (name: string): number => {
    const text = env[name]!;
    if (!NON_NEGATIVE_INTEGER.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    }
    return Number(text);
  };
  const inRange = (index: number, from: string): EnvironmentShard => {
    if (index >= shards) throw new Error(`${from}: index ${index} is out of range for ${shards} shard(s) (0..${shards - 1})`);
    return { index: index + 1, count: shards, from };
  };
  if (set("SLURM_ARRAY_TASK_ID")) {
    const id = integer("SLURM_ARRAY_TASK_ID");
    const min = set("SLURM_ARRAY_TASK_MIN") ? integer("SLURM_ARRAY_TASK_MIN") : 0;
    const from = `SLURM_ARRAY_TASK_ID=${id}${set("SLURM_ARRAY_TASK_MIN") ? ` (minus SLURM_ARRAY_TASK_MIN=${min})` : ""}`;
    if (id < min) throw new Error(`${from}: the task id is below the array's first, out of range`);
    if (set("SLURM_ARRAY_TASK_COUNT")) {
      const tasks = integer("SLURM_ARRAY_TASK_COUNT");
      if (tasks !== shards) {
        throw new Error(`SLURM_ARRAY_TASK_COUNT=${tasks} but --shards ${shards}: submit the whole array (--array=0-${shards - 1}), or rerun one shard with --shard i/${shards}`);
      }
    }
    return inRange(id - min, from);
  }
  for (const name of ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] as const) {
    if (set(name)) return inRange(integer(name), `${name}=${integer(name)}`);
  }
  throw new Error(`no array index in the environment: none of ${SHARD_INDEX_VARIABLES.join(", ")} is set (outside an array job use --shard i/${shards})`);
}
