/** Workers x threads of a study: one worker per core, one compute thread each, unless the user says otherwise; their memory in huge pages. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { hugePageEnv } from "../lib/backend/huge-pages";
import { recommendedParallelism, threadEnv, trainingChildEnv } from "../lib/backend/parallelism";
import { workerEnv } from "../lib/study/runner";

test("recommendedParallelism: one single-threaded worker per core on every backend", () => {
  for (const backend of ["tensorflow", "wasm", "cpu"] as const) {
    const p = recommendedParallelism(backend, 2);
    assert.deepEqual([p.workers, p.threadsPerWorker], [2, 1], backend);
    assert.deepEqual(p.env, { TF_NUM_INTRAOP_THREADS: "1", TF_NUM_INTEROP_THREADS: "1", OMP_NUM_THREADS: "1" });
  }
  assert.equal(recommendedParallelism("wasm", 8).workers, 8);
  assert.throws(() => recommendedParallelism("tensorflow", 0), /cores must be >= 1/);
  assert.throws(() => threadEnv(1.5), /positive integer/);
});

test("workerEnv: one thread by default, values already set are kept, ESMM_WORKER_THREADS overrides all three", () => {
  const env = workerEnv({ PATH: "/bin" });
  assert.equal(env.PATH, "/bin");
  assert.equal(env.TF_NUM_INTRAOP_THREADS, "1");
  assert.equal(env.OMP_NUM_THREADS, "1");
  assert.equal(workerEnv({ TF_NUM_INTRAOP_THREADS: "3" }).TF_NUM_INTRAOP_THREADS, "3");
  const over = workerEnv({ ESMM_WORKER_THREADS: "2", TF_NUM_INTRAOP_THREADS: "3" });
  assert.deepEqual([over.TF_NUM_INTRAOP_THREADS, over.TF_NUM_INTEROP_THREADS, over.OMP_NUM_THREADS], ["2", "2", "2"]);
  assert.throws(() => workerEnv({ ESMM_WORKER_THREADS: "two" }), /ESMM_WORKER_THREADS must be a positive integer/);
});

test("huge pages: training children get glibc's hugetlb tunable on Linux, unless the user set GLIBC_TUNABLES or ESMM_HUGE_PAGES=0", () => {
  assert.deepEqual(hugePageEnv({}, "linux"), { GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" });
  assert.deepEqual(hugePageEnv({ ESMM_HUGE_PAGES: "1" }, "linux"), { GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" });
  assert.deepEqual(hugePageEnv({ ESMM_HUGE_PAGES: "0" }, "linux"), {});
  assert.deepEqual(hugePageEnv({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" }, "linux"), {});
  assert.deepEqual(hugePageEnv({}, "darwin"), {});
  assert.throws(() => hugePageEnv({ ESMM_HUGE_PAGES: "yes" }, "linux"), /ESMM_HUGE_PAGES must be 0 or 1, got "yes"/);
  // A study's workers and a bench child: threads, TensorFlow's log level and the tunable together; the user's tunables kept.
  const worker = workerEnv({ PATH: "/bin" });
  const child = trainingChildEnv(1, { PATH: "/bin" });
  for (const env of [worker, child]) {
    assert.equal(env.TF_NUM_INTRAOP_THREADS, "1");
    assert.equal(env.GLIBC_TUNABLES, process.platform === "linux" ? "glibc.malloc.hugetlb=1" : undefined);
  }
  assert.equal(trainingChildEnv(1, { GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }).GLIBC_TUNABLES, "glibc.malloc.arena_max=2");
  assert.equal(workerEnv({ ESMM_HUGE_PAGES: "0" }).GLIBC_TUNABLES, undefined);
  assert.throws(() => workerEnv({ ESMM_HUGE_PAGES: "2" }), /ESMM_HUGE_PAGES must be 0 or 1/);
});

test("huge pages: a child started with the tunable has its large allocations in huge pages (when the kernel allows them)", { skip: process.platform !== "linux" }, (t) => {
  // Linux only, and only when transparent huge pages are not `never` (the tunable is then a no-op by design).
  let mode = "";
  try {
    mode = fs.readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8");
  } catch {
    return t.skip("no /sys/kernel/mm/transparent_hugepage");
  }
  if (/\[never\]/.test(mode)) return t.skip("transparent huge pages are off on this kernel");
  // 256 MiB from malloc (a Buffer's store), touched, then the process' AnonHugePages.
  const script = "const b = Buffer.alloc(256 << 20, 1); const s = require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8'); console.log(/AnonHugePages:\\s+(\\d+)/.exec(s)[1]); b[0]";
  const huge = (env: NodeJS.ProcessEnv) => Number(spawnSync(process.execPath, ["-e", script], { env, encoding: "utf8" }).stdout.trim());
  const base = { ...process.env, GLIBC_TUNABLES: undefined, ESMM_HUGE_PAGES: undefined };
  const withTunable = huge(trainingChildEnv(1, base));
  const without = huge(trainingChildEnv(1, { ...base, ESMM_HUGE_PAGES: "0" }));
  if (/\[always\]/.test(mode)) assert.ok(withTunable > 0, `AnonHugePages ${withTunable} kB`);
  else {
    assert.ok(withTunable >= 128 * 1024, `with the tunable: AnonHugePages ${withTunable} kB, expected most of 256 MiB`);
    assert.ok(without < 64 * 1024, `without: AnonHugePages ${without} kB`);
  }
});
