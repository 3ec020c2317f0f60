/**
 * The one place where esmm-lab chooses and loads its TensorFlow.js backend.
 *
 * Every module of the library takes its `tf` namespace from `tf()` here, never from a static
 * `import * as tf from "@tensorflow/tfjs"`: the native backend (@tensorflow/tfjs-node, installed
 * by the optional `scripts/install-native.sh` into `native/`) brings its own copy of
 * @tensorflow/tfjs, and the whole process must use the copy that belongs to the loaded backend.
 * Type-only imports (`import type ... from "@tensorflow/tfjs"`) are fine anywhere.
 *
 * Backends, in the order 'auto' tries them:
 * - 'tensorflow': `<project>/native/node_modules/@tensorflow/tfjs-node` (or under
 *   `$ESMM_NATIVE_DIR/node_modules/...`), binding built against the TensorFlow C library;
 * - 'wasm': @tensorflow/tfjs + @tensorflow/tfjs-backend-wasm from the project (single-threaded
 *   in Node; no setWasmPaths needed, the Node build finds its .wasm files beside itself);
 * - 'cpu': @tensorflow/tfjs's plain-JS backend.
 * For 'wasm' and 'cpu' a linear-time UnsortedSegmentSum kernel is registered (the gradient of
 * tf.gather): wasm has none, cpu's is quadratic. See ./unsorted-segment-sum.ts.
 *
 * One process holds one tfjs copy: after 'tensorflow' was loaded, 'wasm'/'cpu' cannot be (and
 * vice versa) — initBackend throws; start another process (e.g. with ESMM_BACKEND=wasm).
 * Switching between 'wasm' and 'cpu' in one process is allowed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { registerSegmentSumKernel } from "./unsorted-segment-sum";
import { tfLogEnv } from "./tf-logs";
import { loadNativeKernels } from "./native-kernels";

export { TF_LOGS_VAR, tfLogEnv, tfStartupLinesWanted, isTfStartupNoise } from "./tf-logs";
export { NATIVE_KERNELS_VAR, nativeKernelsStatus } from "./native-kernels";

export type TF = typeof import("@tensorflow/tfjs");
export type BackendName = "tensorflow" | "wasm" | "cpu";
export interface BackendInfo {
  name: BackendName;
  /** Where the `tf` namespace came from: 'native/node_modules/@tensorflow/tfjs-node' or '@tensorflow/tfjs'. */
  source: string;
  /** Version of the backend's package (tfjs-node, tfjs-backend-wasm or tfjs-backend-cpu). */
  version: string;
  /** Threads the backend computes with (tensorflow: TF's default intra-op pool = schedulable CPUs). */
  threads?: number;
  /** tensorflow only: version of the TensorFlow C library the binding runs on. */
  libtensorflow?: string;
  /** tensorflow only: whether esmm-lab's own kernels (./native-kernels.ts) are loaded ("loaded"), or why not. */
  nativeKernels?: string;
}

export const BACKEND_NAMES: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];
const PREFERENCES = ["auto", ...BACKEND_NAMES] as const;
type Preference = (typeof PREFERENCES)[number];

interface State {
  info: BackendInfo;
  tf: TF;
  family: "native" | "js";
}
let state: State | undefined;
let queue: Promise<unknown> = Promise.resolve();

/** Project root: the nearest folder above this file whose package.json is esmm-lab's. */
export function projectRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "esmm-lab") return dir;
    } catch {
      /* no package.json here */
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  // build/lib/backend/index.js -> ../../..
  return path.resolve(__dirname, "..", "..", "..");
}

/** Folder whose node_modules holds the native backend: $ESMM_NATIVE_DIR or <project>/native. */
export function nativeDir(): string {
  const env = process.env.ESMM_NATIVE_DIR;
  return env ? path.resolve(env) : path.join(projectRoot(), "native");
}

/** esmm-lab's own kernels' source (./native-kernels.cc), whose sha256 the built library must carry (./native-kernels.ts). */
export function nativeKernelsSource(): string {
  return path.join(projectRoot(), "lib", "backend", "native-kernels.cc");
}

/** Path of the tfjs-node package inside nativeDir(). */
export function nativePackageDir(): string {
  return path.join(nativeDir(), "node_modules", "@tensorflow", "tfjs-node");
}

function displayPath(p: string): string {
  const rel = path.relative(projectRoot(), p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel.split(path.sep).join("/") : p;
}

function errorMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0];
}

/** The loaded tfjs namespace. Throws if initBackend() has not completed. */
export function tf(): TF {
  if (!state) {
    throw new Error(
      "esmm-lab backend not initialised: `await initBackend()` (from lib/backend) before using tf()",
    );
  }
  return state.tf;
}

/** Info on the loaded backend, or undefined before initBackend() completed. */
export function backendInfo(): BackendInfo | undefined {
  return state ? { ...state.info } : undefined;
}

function parsePreference(p: string, where: string): Preference {
  if ((PREFERENCES as readonly string[]).includes(p)) return p as Preference;
  throw new Error(`${where}: unknown backend '${p}' (expected one of ${PREFERENCES.join(", ")})`);
}

/**
 * Loads a backend and makes it the current one. 'auto' (the default) takes $ESMM_BACKEND when
 * set, else the first of tensorflow, wasm, cpu that loads. Idempotent: a later call with 'auto'
 * or the loaded name returns the same info. Logs nothing; TensorFlow's own INFO and WARNING lines are
 * quieted (TF_CPP_MIN_LOG_LEVEL=2 unless set, or ESMM_TF_LOGS=1), except two it prints while loading,
 * before it reads that level (about oneDNN; see ./tf-logs.ts).
 */
export function initBackend(preference: "auto" | BackendName = "auto"): Promise<BackendInfo> {
  const run = queue.then(() => init(preference));
  queue = run.catch(() => undefined);
  return run;
}

async function init(preference: "auto" | BackendName): Promise<BackendInfo> {
  let want = parsePreference(preference, "initBackend");
  if (want === "auto" && process.env.ESMM_BACKEND) {
    want = parsePreference(process.env.ESMM_BACKEND.trim(), "ESMM_BACKEND");
  }
  if (state) {
    if (want === "auto" || want === state.info.name) return { ...state.info };
    if (want === "tensorflow" || state.family === "native") {
      throw new Error(
        `initBackend('${want}'): this process already runs backend '${state.info.name}' from ${state.info.source}; ` +
          `tfjs-node and @tensorflow/tfjs cannot share one process. Start a new process (ESMM_BACKEND=${want}).`,
      );
    }
    // wasm <-> cpu: same tfjs copy, just switch.
    const s = await loadJs(want);
    state = s;
    return { ...s.info };
  }

  if (want === "tensorflow") {
    state = await loadNative();
  } else if (want === "wasm" || want === "cpu") {
    state = await loadJs(want);
  } else {
    const reasons: string[] = [];
    const nativeFound = fs.existsSync(path.join(nativePackageDir(), "package.json"));
    if (nativeFound) {
      try {
        state = await loadNative();
      } catch (e) {
        reasons.push(`tensorflow: ${errorMessage(e)}`);
      }
    }
    for (const name of ["wasm", "cpu"] as const) {
      if (state) break;
      try {
        state = await loadJs(name);
      } catch (e) {
        reasons.push(`${name}: ${errorMessage(e)}`);
      }
    }
    if (!state) throw new Error(`initBackend('auto'): no backend could be loaded (${reasons.join("; ")})`);
  }
  return { ...state.info };
}

// ---------------------------------------------------------------------------------------------
// native: @tensorflow/tfjs-node from native/

interface NativeBinding {
  TF_Version?: string;
}

/**
 * Loads tfjs-node. Its binding is loaded on its own first: when that fails (not built, missing
 * libtensorflow), no second copy of @tensorflow/tfjs has been loaded yet, so 'auto' can still
 * fall back to the project's copy cleanly.
 */
async function loadNative(): Promise<State> {
  const pkgDir = nativePackageDir();
  if (!fs.existsSync(path.join(pkgDir, "package.json"))) {
    throw new Error(`native backend not installed (${displayPath(pkgDir)} missing; run \`make native\`)`);
  }
  let bindingPath: string;
  let binding: NativeBinding;
  try {
    const preGyp = require(require.resolve("@mapbox/node-pre-gyp", { paths: [pkgDir] })) as {
      find(packageJson: string): string;
    };
    bindingPath = preGyp.find(path.join(pkgDir, "package.json"));
  } catch (e) {
    throw new Error(`native backend: cannot locate its binding (${errorMessage(e)})`);
  }
  if (!fs.existsSync(bindingPath)) {
    throw new Error(`native backend not built (${displayPath(bindingPath)} missing; run \`make native\`)`);
  }
  // TensorFlow reads TF_CPP_MIN_LOG_LEVEL when its library loads (next line): quiet INFO and WARNING unless
  // the user set the level or ESMM_TF_LOGS=1 (see ./tf-logs.ts, also for the two lines it cannot quiet).
  Object.assign(process.env, tfLogEnv(process.env));
  try {
    binding = require(bindingPath) as NativeBinding;
  } catch (e) {
    throw new Error(`native backend: loading ${displayPath(bindingPath)} failed: ${errorMessage(e)}`);
  }
  const tfn = require(pkgDir) as TF;
  await tfn.ready();
  if (tfn.getBackend() !== "tensorflow") {
    throw new Error(`native backend: ${displayPath(pkgDir)} loaded but the current backend is '${tfn.getBackend()}'`);
  }
  const version = (JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")) as { version: string })
    .version;
  const kernels = loadNativeKernels(nativeDir(), nativeKernelsSource());
  return {
    family: "native",
    tf: tfn,
    info: {
      name: "tensorflow",
      source: displayPath(pkgDir),
      version,
      threads: typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length,
      libtensorflow: binding.TF_Version,
      nativeKernels: kernels.loaded ? "loaded" : `not loaded: ${kernels.reason}`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// js: @tensorflow/tfjs (+ wasm) from the project

interface WasmModule {
  getThreadsCount(): number;
  version_wasm: string;
}

async function loadJs(name: "wasm" | "cpu"): Promise<State> {
  const jsTf = require("@tensorflow/tfjs") as TF;
  let threads = 1;
  let version = jsTf.version["tfjs-backend-cpu"] ?? jsTf.version_core;
  if (name === "wasm") {
    let wasm: WasmModule;
    try {
      wasm = require("@tensorflow/tfjs-backend-wasm") as WasmModule;
    } catch (e) {
      throw new Error(`wasm backend: cannot load @tensorflow/tfjs-backend-wasm (${errorMessage(e)})`);
    }
    registerSegmentSumKernel(jsTf, "wasm");
    let ok = false;
    try {
      ok = await jsTf.setBackend("wasm");
    } catch (e) {
      throw new Error(`wasm backend failed to initialise: ${errorMessage(e)}`);
    }
    if (!ok) throw new Error("wasm backend failed to initialise (tf.setBackend('wasm') returned false)");
    threads = wasm.getThreadsCount();
    version = wasm.version_wasm;
  } else {
    registerSegmentSumKernel(jsTf, "cpu");
    const ok = await jsTf.setBackend("cpu");
    if (!ok) throw new Error("cpu backend failed to initialise");
    // The cpu backend warns once, on its first tensor, that Node users should install
    // tfjs-node; that choice is made here, so skip the warning.
    const cpu = jsTf.backend() as unknown as { firstUse?: boolean };
    if (cpu.firstUse === true) cpu.firstUse = false;
  }
  // Ours replaces cpu's quadratic kernel whichever JS backend is current (switching is allowed).
  registerSegmentSumKernel(jsTf, "cpu");
  return { family: "js", tf: jsTf, info: { name, source: "@tensorflow/tfjs", version, threads } };
}

// ---------------------------------------------------------------------------------------------
// availability

let availableCache: Promise<BackendName[]> | undefined;

/**
 * The backends that can be loaded on this machine, in 'auto' order. Each one other than the
 * current is tried in a short-lived child process (`node probe.js <name>`, about a second each),
 * so this process's backend is left alone. Cached for the life of the process.
 */
export function availableBackends(): Promise<BackendName[]> {
  if (!availableCache) availableCache = findAvailable();
  return availableCache;
}

async function findAvailable(): Promise<BackendName[]> {
  const probe = path.join(__dirname, "probe.js");
  const results = await Promise.all(
    BACKEND_NAMES.map(async (name): Promise<boolean> => {
      if (state?.info.name === name) return true;
      if (name === "tensorflow" && !fs.existsSync(path.join(nativePackageDir(), "package.json"))) return false;
      if (fs.existsSync(probe)) return (await probeInChild(probe, name)) !== undefined;
      // Running from sources (ts-node/tslab): no compiled probe to run.
      if (name === "cpu") return true;
      if (name === "wasm") return canResolve("@tensorflow/tfjs-backend-wasm");
      return false;
    }),
  );
  return BACKEND_NAMES.filter((_, i) => results[i]);
}

function canResolve(id: string): boolean {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
}

/** Runs `node probe.js <name>` and returns the info it printed, or undefined when it failed. */
export function probeInChild(probeJs: string, name: BackendName, timeoutMs = 120_000): Promise<BackendInfo | undefined> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.ESMM_BACKEND;
    execFile(process.execPath, [probeJs, name], { env, timeout: timeoutMs }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        const line = stdout.trim().split("\n").pop() ?? "";
        const info = JSON.parse(line) as BackendInfo;
        resolve(info.name === name ? info : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}
