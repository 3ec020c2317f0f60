/** Workers x threads of a study: one worker per core, one compute thread each, unless the user says otherwise. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { recommendedParallelism, threadEnv } from "../lib/backend/parallelism";
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
