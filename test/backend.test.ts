/**
 * lib/backend: choosing, loading and switching backends; training an embedding model on wasm;
 * and, when the native backend is built (`make native`), native vs wasm parity.
 *
 * Parity tolerance (native 'tensorflow' vs 'wasm', same weights, small MLP + embedding model):
 * |a - b| <= 1e-5 * max(1, |b|) elementwise — 1e-5 relative, with an absolute floor of 1e-5 for
 * values below 1 (logits near 0). Measured differences are ~1e-7.
 *
 * Tests that need another process (auto selection, ESMM_BACKEND, native) run
 * build/lib/backend/probe.js, or this file itself with ESMM_BACKEND_TEST_CHILD=<backend>, which
 * then prints the parity model's outputs as JSON instead of running tests.
 */
import { rng } from "./helpers";
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Tensor } from "@tensorflow/tfjs";
import {
  availableBackends,
  backendInfo,
  initBackend,
  nativePackageDir,
  tf,
  type BackendInfo,
  type BackendName,
} from "../lib/backend";
import { PROJECT_DIR } from "./paths";

const PROBE = path.join(PROJECT_DIR, "build", "lib", "backend", "probe.js");
const PARITY_TOL = 1e-5;


function run(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const childEnv: Record<string, string | undefined> = { ...process.env };
    delete childEnv.ESMM_BACKEND;
    delete childEnv.NODE_TEST_CONTEXT; // run a child copy of this file as a plain script
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete childEnv[k];
      else childEnv[k] = v;
    }
    execFile(process.execPath, args, { env: childEnv, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function probe(name: string, env: Record<string, string | undefined> = {}): Promise<BackendInfo> {
  const r = await run([PROBE, name], env);
  assert.equal(r.code, 0, `probe ${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as BackendInfo;
}

/** Is the native backend built here? Decided by the probe itself (it loads it). */
const nativeBuilt = fs.existsSync(path.join(nativePackageDir(), "package.json"))
  ? run([PROBE, "tensorflow"], {}).then((r) => r.code === 0)
  : Promise.resolve(false);

// ---------------------------------------------------------------------------------------------
// The parity model: embedding [VOCAB, DIM] looked up by [BATCH, FIELDS] ids, flattened,
// dense 32 relu -> dense 16 relu -> dense 1; returns logits, sigmoid(logits), and the gradients
// of a BCE loss w.r.t. the embedding table and the first dense kernel.

const VOCAB = 50;
const DIM = 8;
const FIELDS = 4;
const BATCH = 16;
const LAYERS = [FIELDS * DIM, 32, 16, 1];

interface ParityOut {
  info: BackendInfo;
  logits: number[];
  probs: number[];
  gradTable: number[];
  gradW0: number[];
}

async function parityOutputs(): Promise<ParityOut> {
  const t = tf();
  const r = rng(2024);
  const u = (n: number, scale: number) => Array.from({ length: n }, () => (r() * 2 - 1) * scale);
  const table = t.tensor2d(u(VOCAB * DIM, 0.5), [VOCAB, DIM]);
  const ids = t.tensor2d(
    Array.from({ length: BATCH * FIELDS }, () => Math.floor(r() * VOCAB)),
    [BATCH, FIELDS],
    "int32",
  );
  const labels = t.tensor2d(
    Array.from({ length: BATCH }, () => (r() < 0.3 ? 1 : 0)),
    [BATCH, 1],
  );
  const ws: Tensor[] = [];
  const bs: Tensor[] = [];
  for (let l = 0; l + 1 < LAYERS.length; l++) {
    ws.push(t.tensor2d(u(LAYERS[l] * LAYERS[l + 1], 1 / Math.sqrt(LAYERS[l])), [LAYERS[l], LAYERS[l + 1]]));
    bs.push(t.tensor1d(u(LAYERS[l + 1], 0.1)));
  }
  const forward = (tab: Tensor, w0: Tensor): Tensor => {
    let h = t.reshape(t.gather(tab, ids), [BATCH, FIELDS * DIM]);
    for (let l = 0; l < ws.length; l++) {
      h = t.add(t.matMul(h as never, (l === 0 ? w0 : ws[l]) as never), bs[l]);
      if (l + 1 < ws.length) h = t.relu(h);
    }
    return h;
  };
  const logits = forward(table, ws[0]);
  const probs = t.sigmoid(logits);
  const grads = t.grads((tab: Tensor, w0: Tensor) =>
    t.losses.sigmoidCrossEntropy(labels, forward(tab, w0)),
  )([table, ws[0]]);
  const out: ParityOut = {
    info: backendInfo()!,
    logits: Array.from(await logits.data()),
    probs: Array.from(await probs.data()),
    gradTable: Array.from(await grads[0].data()),
    gradW0: Array.from(await grads[1].data()),
  };
  t.dispose([table, ids, labels, ...ws, ...bs, logits, probs, ...grads]);
  return out;
}

function assertParity(got: number[], want: number[], what: string): number {
  assert.equal(got.length, want.length, what);
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    maxAbs = Math.max(maxAbs, d);
    const tol = PARITY_TOL * Math.max(1, Math.abs(want[i]));
    if (!(d <= tol)) assert.fail(`${what}[${i}]: ${got[i]} vs ${want[i]} (|diff| ${d} > ${tol})`);
  }
  return maxAbs;
}

// ---------------------------------------------------------------------------------------------

if (process.env.ESMM_BACKEND_TEST_CHILD) {
  // Child mode: print the parity model's outputs on the requested backend.
  (async () => {
    await initBackend(process.env.ESMM_BACKEND_TEST_CHILD as BackendName);
    process.stdout.write(JSON.stringify(await parityOutputs()) + "\n");
  })().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
} else {
  test("tf() throws a clear error before initBackend()", () => {
    assert.equal(backendInfo(), undefined);
    assert.throws(() => tf(), /not initialised: `await initBackend\(\)`/);
  });

  test("initBackend rejects unknown names", async () => {
    await assert.rejects(initBackend("gpu" as BackendName), /unknown backend 'gpu'/);
    assert.equal(backendInfo(), undefined);
  });

  test("initBackend('wasm') gives the wasm backend, idempotently", async () => {
    const info = await initBackend("wasm");
    assert.equal(info.name, "wasm");
    assert.equal(info.source, "@tensorflow/tfjs");
    assert.equal(info.version, "4.22.0");
    assert.equal(info.threads, 1);
    assert.equal(tf().getBackend(), "wasm");
    assert.deepEqual(await initBackend("wasm"), info);
    assert.deepEqual(await initBackend("auto"), info, "auto after an init keeps the loaded backend");
    assert.deepEqual(backendInfo(), info);
    assert.notEqual(tf().getKernel("UnsortedSegmentSum", "wasm"), undefined);
  });

  test("wasm: a tiny embedding model trains for a step (layers API and optimizer.minimize)", async () => {
    await initBackend("wasm");
    const t = tf();
    const r = rng(7);
    const n = 64;
    const x = t.tensor2d(Array.from({ length: n * 3 }, () => Math.floor(r() * 100)), [n, 3], "int32");
    const y = t.tensor2d(Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)), [n, 1]);

    const model = t.sequential({
      layers: [
        t.layers.embedding({ inputDim: 100, outputDim: 4, inputLength: 3 }),
        t.layers.flatten(),
        t.layers.dense({ units: 8, activation: "relu" }),
        t.layers.dense({ units: 1, activation: "sigmoid" }),
      ],
    });
    model.compile({ optimizer: t.train.adam(0.05), loss: "binaryCrossentropy" });
    const table0 = model.layers[0].getWeights()[0].arraySync() as number[][];
    const h = await model.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0, shuffle: false });
    const losses = h.history.loss as number[];
    assert.equal(losses.length, 2);
    assert.ok(losses.every(Number.isFinite), `finite losses ${losses}`);
    const table1 = model.layers[0].getWeights()[0].arraySync() as number[][];
    const used = new Set(Array.from(x.dataSync()));
    const moved = table1.map((row, i) => row.some((v, j) => v !== table0[i][j]));
    assert.ok([...used].every((i) => moved[i]), "every looked-up embedding row was updated");

    // The same with a bare variable and optimizer.minimize.
    const table = t.variable(t.randomNormal([100, 4], 0, 0.1, "float32", 1));
    const w = t.variable(t.randomNormal([12, 1], 0, 0.1, "float32", 2));
    const opt = t.train.sgd(0.5);
    const loss = () =>
      t.losses.sigmoidCrossEntropy(y, t.matMul(t.reshape(t.gather(table, x), [n, 12]), w)) as Tensor<never>;
    const l0 = t.tidy(() => loss().dataSync()[0]);
    for (let i = 0; i < 3; i++) t.dispose(opt.minimize(loss as never, true) ?? []);
    const l1 = t.tidy(() => loss().dataSync()[0]);
    assert.ok(l1 < l0, `loss went down: ${l0} -> ${l1}`);

    model.dispose();
    opt.dispose();
    t.dispose([x, y, table, w]);
    t.disposeVariables();
  });

  test("wasm <-> cpu switch in one process; 'tensorflow' after them is refused", async () => {
    const cpu = await initBackend("cpu");
    assert.equal(cpu.name, "cpu");
    assert.equal(tf().getBackend(), "cpu");
    assert.equal(tf().sum(tf().tensor1d([1, 2, 3])).dataSync()[0], 6);
    await assert.rejects(initBackend("tensorflow"), /cannot share one process/);
    assert.equal((await initBackend("wasm")).name, "wasm");
    assert.equal(tf().getBackend(), "wasm");
  });

  test("ESMM_BACKEND overrides 'auto' (probe in a child process)", async () => {
    assert.equal((await probe("auto", { ESMM_BACKEND: "cpu" })).name, "cpu");
    assert.equal((await probe("auto", { ESMM_BACKEND: "wasm" })).name, "wasm");
    // An explicit preference wins over the variable.
    assert.equal((await probe("wasm", { ESMM_BACKEND: "cpu" })).name, "wasm");
    const bad = await run([PROBE, "auto"], { ESMM_BACKEND: "tpu" });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /ESMM_BACKEND: unknown backend 'tpu'/);
  });

  test("auto without a native build falls back to wasm", async () => {
    const info = await probe("auto", { ESMM_NATIVE_DIR: path.join(PROJECT_DIR, "build", "no-native-here") });
    assert.equal(info.name, "wasm");
    const r = await run([PROBE, "tensorflow"], { ESMM_NATIVE_DIR: path.join(PROJECT_DIR, "build", "no-native-here") });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /native backend not installed .*make native/);
  });

  test("auto picks 'tensorflow' when native/ is built", async (t) => {
    if (!(await nativeBuilt)) {
      t.skip(`native backend not built at ${nativePackageDir()} (run \`make native\`)`);
      return;
    }
    const info = await probe("auto");
    assert.equal(info.name, "tensorflow");
    assert.equal(info.source, "native/node_modules/@tensorflow/tfjs-node");
    assert.equal(info.version, "4.22.0");
    assert.match(info.libtensorflow ?? "", /^2\.\d+/);
    // Once tfjs-node is loaded, the project's @tensorflow/tfjs cannot join the process.
    const index = path.join(PROJECT_DIR, "build", "lib", "backend", "index.js");
    const script =
      `const b = require(${JSON.stringify(index)});` +
      `b.initBackend("tensorflow").then(() => b.initBackend("wasm"))` +
      `.then(() => process.exit(3), (e) => { console.log(e.message); process.exit(0); });`;
    const r = await run(["-e", script], {});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /already runs backend 'tensorflow'.*cannot share one process/);
  });

  test("availableBackends() lists what loads here, in auto order", async () => {
    const names = await availableBackends();
    const expected: BackendName[] = (await nativeBuilt) ? ["tensorflow", "wasm", "cpu"] : ["wasm", "cpu"];
    assert.deepEqual(names, expected);
  });

  test(`native and wasm agree on a small MLP + embedding model (tolerance ${PARITY_TOL} relative)`, async (t) => {
    if (!(await nativeBuilt)) {
      t.skip(`native backend not built at ${nativePackageDir()} (run \`make native\`)`);
      return;
    }
    const self = __filename;
    const outs: ParityOut[] = [];
    for (const name of ["tensorflow", "wasm"]) {
      const r = await run([self], { ESMM_BACKEND_TEST_CHILD: name });
      assert.equal(r.code, 0, `child on ${name} failed: ${r.stderr}`);
      outs.push(JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as ParityOut);
    }
    const [nat, wasm] = outs;
    assert.equal(nat.info.name, "tensorflow");
    assert.equal(wasm.info.name, "wasm");
    const d = {
      logits: assertParity(nat.logits, wasm.logits, "logits"),
      probs: assertParity(nat.probs, wasm.probs, "probs"),
      gradTable: assertParity(nat.gradTable, wasm.gradTable, "d loss / d table"),
      gradW0: assertParity(nat.gradW0, wasm.gradW0, "d loss / d W0"),
    };
    t.diagnostic(`max |native - wasm|: ${JSON.stringify(d)}`);
  });
}
