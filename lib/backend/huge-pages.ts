/**
 * Transparent huge pages for the processes that train (study workers, bench children): the environment that
 * asks glibc's malloc to back its memory with 2 MiB pages.
 *
 * Why. Row-wise embedding updates (lib/train/rowwise.ts) read and write the rows a batch touches at random
 * places of tables that are large on real logs: at 2,000,000 ids x 8 dims a table and its two Adam moments are
 * 192 MiB. With 4 KiB pages nearly every such access also misses the TLB (48k pages); with 2 MiB pages the
 * whole table is about a hundred pages. Measured on this 2-core machine (ESMM, synthetic Ali-CCP shape, 2M ids,
 * one thread, `node build/bench/train-throughput.js tensorflow 1024 40 --epochs 8 --shape ali-ccp --vocabulary
 * 2000000 --embedding-updates rowwise`, quiet, 2026-12-06): with the row-wise update as it was first written,
 * epochs 3-10 at 76-79k examples/s without, 89-106k with; since RowwiseAdam reads the rows ahead of
 * InplaceUpdate's writes (whose misses, TLB misses included, then overlap) the gain is 0-7 % (medians of epochs
 * 3-8 in three paired runs: 117k with and 117k without, runs spread 110-140k; an interleaved A/B 1.07x). Dense
 * updates at 2M ids: the same rate after the first epoch, whose 2 MiB page faults make it slower (3.7-4.8k
 * against 13.0k examples/s). PyTorch's SparseAdam on the same shape gains about 10 % from the same setting, its
 * dense Adam about 50 % (`esmm bench --shape ali-ccp --peer torch` gives both sides the same environment). The
 * reference shape (tables of 8,000 rows) runs alike either way. Only memory placement changes: no computed
 * value does. It stays on by default because it never slowed a step after the first epoch here and it makes the
 * PyTorch peer of the bench its fastest.
 *
 * How. glibc 2.35+ reads `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` at process start and then madvises its heap
 * and mmapped chunks MADV_HUGEPAGE (glibc manual, "Memory Allocation Tunables"), which TensorFlow's CPU
 * allocator and PyTorch's use; it is honoured when the kernel's
 * /sys/kernel/mm/transparent_hugepage/enabled is `always` or `madvise` (Debian's default) and ignored
 * otherwise, as it is by older glibc and by other C libraries. It must be in a process' environment when
 * the process starts, so it reaches the processes this project starts; a process you start yourself
 * (`esmm train`, a notebook's kernel) gets it when you set it.
 */

/** The glibc tunable that turns transparent huge pages on for malloc. */
export const HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1";

/** Set to 0 to start training processes without huge pages (1, the default, with them). */
export const HUGE_PAGES_VAR = "ESMM_HUGE_PAGES";

/**
 * Variables to merge into a training child's environment: `{GLIBC_TUNABLES: "glibc.malloc.hugetlb=1"}` on
 * Linux, unless `base` already sets GLIBC_TUNABLES (the user's tunables are kept as they are) or
 * ESMM_HUGE_PAGES=0; otherwise `{}`. Throws when ESMM_HUGE_PAGES is set to anything but 0 or 1.
 */
export function hugePageEnv(base: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Record<string, string> {
  const choice = base[HUGE_PAGES_VAR]?.trim();
  if (choice && choice !== "0" && choice !== "1") throw new Error(`${HUGE_PAGES_VAR} must be 0 or 1, got ${JSON.stringify(choice)}`);
  if (choice === "0" || platform !== "linux") return {};
  if (base.GLIBC_TUNABLES !== undefined && base.GLIBC_TUNABLES !== "") return {};
  return { GLIBC_TUNABLES: HUGE_PAGES_TUNABLE };
}
