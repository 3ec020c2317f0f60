import assert from "node:assert/strict";
import { BackendInfo, initBackend } from "../lib/backend";
import { DataError } from "../lib/data/errors";
import { labelOnlySplit, type EncodedSplit } from "../lib/data/encoded";
import { Rng } from "../lib/data/random";
import type { StudySpec } from "../lib/study/spec";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * The backend of a test file that trains: wasm, the one a fresh clone's studies run on (tfjs' cpu backend, pure
 * JavaScript, trained the same models 5-20x slower: the suite took 26 min then, 17.5 after), unless ESMM_BACKEND names another (e.g.
 * ESMM_BACKEND=tensorflow after `make native`, or cpu). Files whose recorded references were made on cpu keep cpu.
 */
export async function trainingBackend(): Promise<BackendInfo> {
  return initBackend(process.env.ESMM_BACKEND ? "auto" : "wasm");
}

/** A fresh temporary folder, removed when the process exits. */
export function tempDir(prefix = "esmm-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (TEMP_DIRS.length === 0) process.on("exit", () => TEMP_DIRS.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  TEMP_DIRS.push(dir);
  return dir;
}

/** The temporary folders made by tempDir, removed together when the process exits (one exit listener). */
const TEMP_DIRS: string[] = [];

/** A seeded source of uniforms in [0, 1) for random test inputs (the project's own Rng). */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

/** Asserts that `promise` rejects with a DataError at file/line/column whose message names all three. */
export async function rejectsAt(promise: Promise<unknown>, file: string, line: number | undefined, column: string | undefined, pattern?: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
    assert.deepEqual([err.location.file, err.location.line, err.location.column], [file, line, column]);
    assert.ok(err.message.startsWith(line === undefined ? file : `${file}:${line}`), err.message);
    if (column !== undefined) assert.ok(err.message.includes(`column "${column}"`), err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

/**
 * An encoded split from its columns (row-major, as EncodedSplit documents them; `size` is click.length): the
 * categorical fields named f0, f1, ... unless given, every row's weight 1 and day 0 unless given.
 */
export function encodedSplit(
  columns: Omit<EncodedSplit, "size" | "categoricalFields" | "weight" | "day"> & Partial<Pick<EncodedSplit, "categoricalFields" | "weight" | "day">>,
): EncodedSplit {
  const size = columns.click.length;
  return {
    categoricalFields: columns.vocabularySizes.map((_, f) => `f${f}`),
    weight: new Float32Array(size).fill(1),
    day: new Int32Array(size),
    ...columns,
    size,
  };
}

/**
 * A test split of n feature-less rows drawn from known probabilities (seeded: rng(seed)): pClick in [0.05, 0.45],
 * pConversionGivenClick in [0.02, 0.62], click and conversion drawn from them, some non-clicked rows downsampled
 * (weight 1 / 0.3, the others 1), day 12, with the truth. For tests of metrics and evaluation spaces.
 */
export function simulatedLabelSplit(n: number, seed: number): EncodedSplit {
  const u = rng(seed);
  const pClick = Float64Array.from({ length: n }, () => 0.05 + 0.4 * u());
  const pConversionGivenClick = Float64Array.from({ length: n }, () => 0.02 + 0.6 * u());
  const click = Float32Array.from(pClick, (p) => (u() < p ? 1 : 0));
  const conversion = Float32Array.from(click, (c, i) => (c === 1 && u() < pConversionGivenClick[i] ? 1 : 0));
  const weight = Float32Array.from(click, (c) => (c === 1 || u() < 0.5 ? 1 : 1 / 0.3));
  return labelOnlySplit("test", { click, conversion, weight, day: new Int32Array(n).fill(12), truth: { pClick, pConversionGivenClick } });
}

/**
 * A tiny study for tests of the runner and its records: `models` (default ESMM, IP) x seeds 1, 2 on a simulated log of
 * `impressions` (default 30,000) over 6 days (200 users, 40 ads), simulator and downsampling seed `seed`, keep rate
 * 0.1, `laterDays` later days (default 1), one epoch of batches of 256.
 */
export function tinyStudy(name: string, o: { models?: string[]; impressions?: number; seed: number; laterDays?: number }): StudySpec {
  return {
    name,
    models: o.models ?? ["ESMM", "IP"],
    seeds: [1, 2],
    data: { simulator: { impressions: o.impressions ?? 30_000, days: 6, users: 200, ads: 40 }, simulatorSeed: o.seed, negativeKeepRate: 0.1, laterDays: o.laterDays ?? 1, prepareSeed: o.seed },
    train: { maxEpochs: 1, batchSize: 256 },
  };
}
