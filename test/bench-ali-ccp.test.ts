/**
 * `esmm bench --shape ali-ccp`: the synthetic Ali-CCP rows in memory are the rows of the synthetic file (same seed),
 * the vocabularies scale to the asked total exactly, and the command runs the real path (bench/train-throughput.js
 * children, and bench/torch_bench.py with --peer torch) on a tiny shape, printing its JSON keys with positive,
 * finite rates. Timings themselves are never asserted (benchmarks, not tests).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { SYNTHETIC_ALI_CCP_IDS, syntheticAliCcpColumns, syntheticAliCcpSplit, syntheticAliCcpVocabularies, writeSyntheticAliCcp } from "../lib/data/ali-ccp-synthetic";
import { availableBackends, nativeDir, nativeKernelsSource, projectRoot } from "../lib/backend";
import { checkNativeKernels, nativeKernelsFiles } from "../lib/backend/native-kernels";
import { cpuDescription } from "../lib/backend/parallelism";
import { loadWarning } from "../lib/cli/bench";
import { tempDir } from "./helpers";

const ESMM = path.join(projectRoot(), "bin", "esmm.js");

test("synthetic Ali-CCP vocabularies: the file's own sizes by default, scaled to any total exactly, small fields kept", () => {
  const own = syntheticAliCcpVocabularies();
  assert.equal(own.length, 23);
  assert.equal(own.reduce((a, b) => a + b, 0), SYNTHETIC_ALI_CCP_IDS);
  assert.equal(SYNTHETIC_ALI_CCP_IDS, 2_009_145);
  assert.deepEqual(syntheticAliCcpVocabularies(SYNTHETIC_ALI_CCP_IDS), own);
  for (const total of [345, 2000, 10_000, 200_000, 2_000_000, 5_000_000]) {
    const sizes = syntheticAliCcpVocabularies(total);
    assert.equal(sizes.reduce((a, b) => a + b, 0), total, `total ${total}`);
    sizes.forEach((v, f) => assert.ok(v >= Math.min(own[f], 20), `total ${total}: field ${f} has ${v} ids`));
  }
  // Fields of fewer than 20 ids keep their size at any scale (field 122 has 14, 124 has 3).
  assert.deepEqual(syntheticAliCcpVocabularies(10_000).slice(2, 4), [14, 3]);
  assert.throws(() => syntheticAliCcpVocabularies(344), /total must be an integer >= 345 ids, got 344/);
});

test("syntheticAliCcpSplit holds the rows of the synthetic file written with the same seed", () => {
  const dir = tempDir();
  const file = path.join(dir, "rows.csv");
  writeSyntheticAliCcp(file, 400, 9);
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");
  assert.equal(lines[0], syntheticAliCcpColumns().join(","));
  const split = syntheticAliCcpSplit("train", 400, 9);
  const F = split.categoricalFields.length;
  const N = split.numericFields.length;
  assert.equal(F, 23);
  assert.equal(N, 8);
  let clicks = 0;
  lines.slice(1).forEach((line, r) => {
    const v = line.split(",").map(Number);
    assert.equal(split.click[r], v[0], `row ${r} click`);
    assert.equal(split.conversion[r], v[1], `row ${r} purchase`);
    assert.deepEqual(Array.from(split.categorical.subarray(r * F, (r + 1) * F)), v.slice(2, 2 + F), `row ${r} ids`);
    assert.deepEqual(Array.from(split.numeric.subarray(r * N, (r + 1) * N)), v.slice(2 + F).map(Math.fround), `row ${r} numeric`);
    clicks += v[0];
  });
  assert.ok(clicks > 0 && clicks < 60, `${clicks} clicks in 400 rows at a 4 % click rate`);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The JSON lines of a bench run (exit 0 required). */
function benchLines(args: string[], env: Record<string, string> = {}): Record<string, unknown>[] {
  const r = spawnSync(process.execPath, [ESMM, "bench", ...args], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2", ...env } });
  assert.equal(r.status, 0, `esmm bench ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const positiveFinite = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;
const TINY = ["--shape", "ali-ccp", "--json", "--vocabulary", "2000", "--batch", "512", "--batches", "4"];

test("esmm bench --shape ali-ccp --json: one line per update rule with its keys and positive, finite rates (tiny shape)", async () => {
  const backend = (await availableBackends())[0];
  const lines = benchLines([...TINY, "--backend", backend]);
  assert.equal(lines.length, 2, JSON.stringify(lines));
  assert.deepEqual(lines.map((l) => l.embeddingUpdates).sort(), ["dense", "rowwise"]);
  for (const l of lines) {
    assert.deepEqual(Object.keys(l), ["shape", "backend", "model", "batch", "seeds", "vocabulary", "embeddingUpdates", "examplesPerSec", "threads", "cpuPercent", "hugePages", "nativeKernels", "loadAverage", "cpu"]);
    assert.equal(l.cpu, cpuDescription());
    assert.equal(l.hugePages, process.platform === "linux" && process.env.ESMM_HUGE_PAGES !== "0" && !process.env.GLIBC_TUNABLES);
    const kernels = checkNativeKernels(nativeDir(), nativeKernelsSource());
    assert.equal(l.nativeKernels, backend === "tensorflow" && "library" in kernels, `nativeKernels: ${JSON.stringify(kernels)}`);
    assert.equal((l.loadAverage as number[]).length, 3);
  }
  // A wasm line never claims the native kernels (they are the native backend's), built or not.
  if (backend !== "wasm" && (await availableBackends()).includes("wasm")) {
    for (const l of benchLines([...TINY, "--backend", "wasm", "--embedding-updates", "rowwise"])) assert.equal(l.nativeKernels, false);
  }
  // Without huge pages, or with the native kernels turned off, the lines say so.
  for (const l of benchLines([...TINY, "--backend", backend, "--embedding-updates", "rowwise"], { ESMM_HUGE_PAGES: "0", ESMM_NATIVE_KERNELS: "0" })) {
    assert.equal(l.hugePages, false);
    assert.equal(l.nativeKernels, false);
  }
  for (const l of lines) {
    assert.equal(l.shape, "ali-ccp");
    assert.equal(l.backend, backend);
    assert.equal(l.model, "ESMM");
    assert.equal(l.batch, 512);
    assert.equal(l.seeds, 1);
    assert.equal(l.vocabulary, 2000);
    assert.ok(positiveFinite(l.examplesPerSec), `examplesPerSec ${l.examplesPerSec}`);
    assert.ok(positiveFinite(l.threads));
  }
});

test("esmm bench --shape ali-ccp: bad options are refused in one line, exit 2, before any work", () => {
  const cases: [string[], RegExp][] = [
    [["--shape", "criteo"], /^esmm: bench: --shape takes reference or ali-ccp, got "criteo"$/],
    [["--shape", "ali-ccp", "--embedding-updates", "sparse"], /^esmm: bench: --embedding-updates takes dense and\/or rowwise, got "sparse"$/],
    [["--shape", "ali-ccp", "--vocabulary", "100"], /^esmm: bench: --vocabulary must be a comma-separated list of integers >= 345, got "100"$/],
    [["--vocabulary", "2000"], /^esmm: bench: --vocabulary and --embedding-updates are for --shape ali-ccp$/],
    [["--shape", "ali-ccp", "--parallel", "2x1"], /^esmm: bench: --parallel and --count are for the reference shape, not --shape ali-ccp$/],
  ];
  for (const [args, pattern] of cases) {
    const r = spawnSync(process.execPath, [ESMM, "bench", ...args], { encoding: "utf8" });
    assert.equal(r.status, 2, `${args.join(" ")}: exit ${r.status}, ${r.stderr}`);
    assert.match(r.stderr.trim(), pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});

/** Why the torch peer cannot run here (PyTorch absent from the project's .venv), or undefined when it can. */
function torchMissing(): string | undefined {
  const python = path.join(projectRoot(), ".venv", "bin", "python");
  if (!fs.existsSync(python)) return `no project virtualenv at ${python}`;
  const r = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" });
  return r.status === 0 ? undefined : "PyTorch is not installed in the project's .venv (bench/requirements-torch.txt; `esmm bench --peer torch` would install it, a test must not)";
}

test("esmm bench --shape ali-ccp --peer torch: PyTorch's dense Adam and SparseAdam rates on the same tiny shape", { skip: torchMissing() }, async () => {
  const backend = (await availableBackends())[0];
  const lines = benchLines([...TINY, "--backend", backend, "--embedding-updates", "rowwise", "--peer", "torch"]);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  const l = lines[0];
  assert.ok(positiveFinite(l.examplesPerSec));
  assert.ok(positiveFinite(l.torchDenseExamplesPerSec), `torchDenseExamplesPerSec ${l.torchDenseExamplesPerSec}`);
  assert.ok(positiveFinite(l.torchSparseExamplesPerSec), `torchSparseExamplesPerSec ${l.torchSparseExamplesPerSec}`);
  assert.equal(l.torchThreads, 1);
  assert.equal(typeof l.torch, "string");
});

test("cpuDescription: the model name, family/model and AVX-512 from /proc/cpuinfo's text; the model name alone without them", () => {
  const cores = cpuDescription().split(", ").pop();
  const zen4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f avx512bw\n\nprocessor\t: 1\n";
  assert.equal(cpuDescription(zen4), `AMD EPYC (family 25, model 17; avx512f), ${cores}`);
  const avx2 = "cpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nflags\t\t: fpu sse avx2 fma\n";
  assert.equal(cpuDescription(avx2), `Intel(R) Xeon(R) CPU @ 2.20GHz (family 6, model 85; avx2, no avx512f), ${cores}`);
  assert.match(cpuDescription(""), new RegExp(`^.+, ${cores}$`));
});

test("esmm bench --shape ali-ccp without --json: the conditions (huge pages, kernels, load, processor) are one stderr line, the table's header the first stdout line", async () => {
  const backend = (await availableBackends())[0];
  const r = spawnSync(process.execPath, [ESMM, "bench", ...TINY.filter((a) => a !== "--json"), "--backend", backend, "--embedding-updates", "rowwise"], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2", ESMM_HUGE_PAGES: "0" } });
  assert.equal(r.status, 0, r.stderr);
  const info = r.stderr.split("\n").filter((l) => l.startsWith("bench: "));
  assert.equal(info.length, 1, r.stderr);
  assert.ok(info[0].startsWith(`bench: ali-ccp shape; tfjs ${backend === "tensorflow" ? "tensorflow 1 thread(s)" : "1 thread"}; huge pages off; `), info[0]);
  // the processor ends the line, or the warning after it when the load was at or above the cores (loadWarning)
  assert.ok(info[0].endsWith(`; ${cpuDescription()}`) || info[0].includes(`; ${cpuDescription()}; warning: the 1-minute load `), info[0]);
  assert.equal(info[0].includes("esmm-lab's kernels on tensorflow: "), backend === "tensorflow", info[0]);
  const out = r.stdout.trim().split("\n");
  assert.match(out[0], /^backend +model +ids +updates +batch +seeds +examples\/s$/);
  assert.equal(out.length, 2, r.stdout);
  if (backend === "tensorflow") {
    // the kernels turned off: the line gives checkNativeKernels' reason, not a list of possible ones
    const off = spawnSync(process.execPath, [ESMM, "bench", ...TINY.filter((a) => a !== "--json"), "--backend", backend, "--embedding-updates", "rowwise"], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2", ESMM_NATIVE_KERNELS: "0" } });
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stderr, /; esmm-lab's kernels on tensorflow: not loaded: turned off \(ESMM_NATIVE_KERNELS=0\); /);
  }
});

test("esmm bench: a JSON line's nativeKernels is what its child loaded: a kernels library that exists but does not load reads false, with one stderr line saying so", async (ctx) => {
  if (!(await availableBackends()).includes("tensorflow")) return ctx.skip("the native backend is not built here (make native)");
  // A native folder whose kernels library and stamp look current (so this process predicts "loaded") but whose library is not one.
  const real = nativeDir();
  const { stamp } = nativeKernelsFiles(real);
  if (!fs.existsSync(stamp)) return ctx.skip("the native kernels are not built here (make native)");
  const dir = tempDir();
  fs.symlinkSync(path.join(real, "node_modules"), path.join(dir, "node_modules"));
  fs.copyFileSync(path.join(real, "package.json"), path.join(dir, "package.json"));
  fs.copyFileSync(stamp, nativeKernelsFiles(dir).stamp);
  fs.writeFileSync(nativeKernelsFiles(dir).library, "not a shared library\n");
  assert.ok("library" in checkNativeKernels(dir, nativeKernelsSource()), "the scratch folder should pass the prediction");
  const r = spawnSync(process.execPath, [ESMM, "bench", ...TINY, "--backend", "tensorflow", "--embedding-updates", "rowwise"], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2", ESMM_NATIVE_DIR: dir } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].nativeKernels, false, JSON.stringify(lines[0]));
  assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("bench: esmm-lab's kernels in the tensorflow children: not loaded: ")).length, 1, r.stderr);
  // the table form's conditions line (written after the runs) gives the children's status, not the prediction
  const table = spawnSync(process.execPath, [ESMM, "bench", ...TINY.filter((a) => a !== "--json"), "--backend", "tensorflow", "--embedding-updates", "rowwise"], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2", ESMM_NATIVE_DIR: dir } });
  assert.equal(table.status, 0, table.stderr);
  const info = table.stderr.split("\n").filter((l) => l.startsWith("bench: "));
  assert.equal(info.length, 1, table.stderr);
  assert.match(info[0], /; esmm-lab's kernels on tensorflow: not loaded: .+; load average /);
});

test("esmm bench: a --backend that does not load here is one line naming it, exit 2, nothing on stdout (not an empty table)", async () => {
  const available = await availableBackends();
  // A scratch native folder without the package: the native backend cannot load (whether or not this checkout built it).
  const r = spawnSync(process.execPath, [ESMM, "bench", ...TINY, "--backend", "tensorflow"], { encoding: "utf8", env: { ...process.env, ESMM_NATIVE_DIR: tempDir() } });
  assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].startsWith("esmm: bench: --backend tensorflow does not load here (the native backend: not built in "), lines[0]);
  assert.match(lines[0], /; `make native` builds it, ESMM_NATIVE_DIR moves it: docs\/native-backend\.md\); these do: /);
  assert.ok(available.filter((b) => b !== "tensorflow").every((b) => lines[0].includes(b)), lines[0]);
});

test("the bench warns when the 1-minute load at its start is at or above the cores (its rates then read low)", () => {
  assert.equal(loadWarning({ loadAverage: [1.99, 3, 3], cores: 2 }), undefined);
  assert.equal(loadWarning({ loadAverage: [2, 0.5, 0.5], cores: 2 }), "warning: the 1-minute load average 2 is at or above the 2 cores: other work ran in the last minute, and if it still runs the rates read low");
  assert.match(loadWarning({ loadAverage: [9.5, 1, 1], cores: 8 }) ?? "", /load average 9\.5 is at or above the 8 cores/);
});
