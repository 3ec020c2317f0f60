/**
 * `node build/lib/backend/probe.js [auto|tensorflow|wasm|cpu]`: loads that backend in this
 * fresh process, runs one tiny op on it, and prints its BackendInfo as one JSON line (exit 0),
 * or the reason it failed on stderr (exit 1). Used by availableBackends() and handy by hand.
 */
import { initBackend, tf, type BackendName } from "./index";

async function main(): Promise<void> {
  const name = (process.argv[2] ?? "auto") as "auto" | BackendName;
  const info = await initBackend(name);
  const t = tf();
  const y = t.tidy(() => t.sum(t.mul(t.tensor1d([1, 2, 3]), t.scalar(2))));
  const v = (await y.data())[0];
  y.dispose();
  if (v !== 12) throw new Error(`backend '${info.name}' computed ${v} for sum([1,2,3]*2)`);
  process.stdout.write(JSON.stringify(info) + "\n");
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`probe: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
