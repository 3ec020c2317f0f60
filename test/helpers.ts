import { Rng } from "../lib/data/random";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A fresh temporary folder, removed when the process exits. */
export function tempDir(prefix = "esmm-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A seeded source of uniforms in [0, 1) for random test inputs (the project's own Rng). */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}
