/** `esmm bench`: training examples/s per backend that loads here and per batch size (a benchmark, not a test). */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { Command, UsageError } from "./args";
import { availableBackends, BACKEND_NAMES, BackendName } from "../backend";

export const benchCommand: Command = {
  name: "bench",
  summary: "training examples/s of each backend on the reference shape",
  usage: `esmm bench [--batch 1024[,4096,...]] [--backend NAME[,NAME]] [--batches N] [--json]

Reference shape: ESMM losses, 8 categorical fields (vocabulary 1,000), embedding 8, shared layers 128-64,
heads 32-16-1. Each backend runs in its own process; the rate is the best of epochs 2-3 (epoch 1 warms up).
--json prints one object per line: {backend, batch, examplesPerSec}.`,
  options: {
    batch: { type: "string" },
    backend: { type: "string" },
    batches: { type: "string" },
    json: { type: "boolean" },
  },
  async run(v) {
    const batches = ((v.batch as string | undefined) ?? "1024").split(",").map((b) => {
      const n = Number(b);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`bench: --batch takes positive integers, got ${JSON.stringify(b)}`);
      return n;
    });
    const steps = v.batches === undefined ? 40 : Number(v.batches);
    if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`bench: --batches must be a positive integer`);
    let backends = await availableBackends();
    if (typeof v.backend === "string") {
      const wanted = v.backend.split(",");
      for (const b of wanted) if (!BACKEND_NAMES.includes(b as BackendName)) throw new UsageError(`bench: unknown backend "${b}" (${BACKEND_NAMES.join(", ")})`);
      backends = backends.filter((b) => wanted.includes(b));
    }
    const child = path.join(__dirname, "..", "..", "bench", "train-throughput.js");
    if (!v.json) console.log(`${"backend".padEnd(12)}${"batch".padStart(7)}${"examples/s".padStart(14)}`);
    for (const backend of backends) {
      for (const batch of batches) {
        const r = spawnSync(process.execPath, [child, backend, String(batch), String(steps)], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } });
        const line = r.stdout.trim().split("\n").pop() ?? "";
        if (r.status !== 0 || !line.startsWith("{")) {
          console.error(`bench: ${backend} batch ${batch} failed: ${r.stderr.trim().split("\n").pop()}`);
          continue;
        }
        const res = JSON.parse(line) as { backend: string; batch: number; examplesPerSec: number };
        if (v.json) console.log(JSON.stringify({ backend: res.backend, batch: res.batch, examplesPerSec: res.examplesPerSec }));
        else console.log(`${res.backend.padEnd(12)}${String(res.batch).padStart(7)}${res.examplesPerSec.toLocaleString("en-US").padStart(14)}`);
      }
    }
  },
};
