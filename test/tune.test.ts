/**
 * The tuning protocol (issue 14, points 1, 2 and 4): the design is deterministic for a seed and the same
 * for every model; selection reads validation scores only (test metrics poisoned); the tuned study reuses
 * the chosen trial's run; coupled L2 weight decay matches a hand-computed Adam step; dropout is off by
 * default, a no-op in evaluation mode, and its masks are reproducible for a seed; the expected-best curve
 * and the spread finding give known answers; `esmm tune` refuses bad numbers in one line.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type * as tfjs from "@tensorflow/tfjs";
import { PROJECT_DIR } from "./paths";
import { initBackend, tf } from "../lib/backend";
import { Rng } from "../lib/data/random";
import { buildModel, getModelSpec, InputDims } from "../lib/models";
import { VariableStore, applyMlp, createMlp } from "../lib/models/blocks";
import { Adam, AdamGrouping } from "../lib/train/adam";
import { withLossWeights } from "../lib/train/trainer";
import { canonicalJson, computation } from "../lib/study/results";
import { expandGrid, RunSpec } from "../lib/study/spec";
import { studyProfile } from "../lib/study";
import {
  MAX_FAMILY_DIMENSIONS,
  DEFAULT_SEARCH_SPACE,
  TrialRecord,
  designDimensions,
  expectedBestBand,
  expectedBestCurve,
  searchDesign,
  selectBest,
  spreadFindings,
  trialOutcomes,
  trialSettings,
  tunedStudy,
  tuningStudy,
  TrialOutcome,
} from "../lib/tune";

before(async () => {
  await initBackend("cpu");
});

const PAPER_SIX = ["IP", "ESMM", "ESMM-NS", "ESSP-Split", "IPSP", "ESP"];
const D = designDimensions();

// ------------------------------------------------------------------------------------------------
// the design

test("the design is deterministic for a seed, a prefix of a longer one, and another seed gives another design", () => {
  for (const kind of ["halton", "random"] as const) {
    const a = searchDesign(20, D, 7, kind);
    assert.deepEqual(searchDesign(20, D, 7, kind), a);
    assert.deepEqual(searchDesign(5, D, 7, kind), a.slice(0, 5));
    assert.notDeepEqual(searchDesign(20, D, 8, kind), a);
    for (const row of a) for (const u of row) assert.ok(u >= 0 && u < 1, `${kind}: ${u} outside [0, 1)`);
  }
});

test("the scrambled Halton design keeps Halton's stratification: the first b points of a base-b column fill every 1/b slot once", () => {
  const bases = [2, 3, 5, 7, 11, 13, 17, 19, 23];
  const design = searchDesign(23, bases.length, 3);
  bases.forEach((b, j) => {
    const slots = design.slice(0, b).map((row) => Math.floor(row[j] * b)).sort((x, y) => x - y);
    assert.deepEqual(slots, Array.from({ length: b }, (_, k) => k), `column ${j} (base ${b})`);
  });
  // the unscrambled high-base columns rise together over the first 19 points; the scrambled ones must not
  const x = design.slice(0, 19).map((r) => r[7]);
  const y = design.slice(0, 19).map((r) => r[8]);
  const rank = (v: number[]) => v.map((a) => v.filter((b) => b < a).length);
  const [rx, ry] = [rank(x), rank(y)];
  const spearman = 1 - (6 * rx.reduce((s, r, i) => s + (r - ry[i]) ** 2, 0)) / (19 * (19 * 19 - 1));
  assert.ok(Math.abs(spearman) < 0.9, `columns 8 and 9 still move together (Spearman ${spearman})`);
});

test("a trial's settings: known values at the centre and below the zero shares", () => {
  const centre = trialSettings("ESMM", new Array(D).fill(0.5));
  assert.equal(centre.train.learningRate!.toPrecision(12), (1e-3).toPrecision(12)); // log-uniform [1e-4, 1e-2] at 1/2
  assert.equal(centre.architecture.embeddingDim, 8);
  assert.deepEqual(centre.architecture.sharedLayers, [128, 64]);
  assert.deepEqual(centre.architecture.headLayers, [32, 16]);
  assert.equal(centre.train.weightDecay!.toPrecision(12), (1e-6).toPrecision(12)); // (0.5 - 0.25) / 0.75 = 1/3 of [1e-7, 1e-4] in logs
  assert.ok(Math.abs(centre.architecture.dropout! - 0.2) < 1e-12); // 1/3 of [0.05, 0.5]
  assert.equal(centre.train.batchSize, 1024);
  assert.equal(centre.train.lossWeights!.length, 2);
  assert.equal(centre.train.lossWeights![0], 1);
  assert.ok(Math.abs(centre.train.lossWeights![1] - 1) < 1e-12); // log-uniform [0.25, 4] at 1/2
  const low = trialSettings("IP", new Array(D).fill(0.1));
  assert.equal(low.train.weightDecay, 0);
  assert.equal(low.architecture.dropout, 0);
  assert.equal(low.train.lossWeights, undefined, "IP has no family dimension");
  assert.throws(() => trialSettings("ESMM", new Array(D - 1).fill(0.5)), /needs 9 coordinates/);
  assert.equal(D, DEFAULT_SEARCH_SPACE.dimensions.length + MAX_FAMILY_DIMENSIONS);
});

test("the trial study gives every model the same design point in trial k, and the families read the same family columns", () => {
  const base = studyProfile("quick");
  const study = tuningStudy(base, { trials: 6, designSeed: 11 });
  assert.equal(study.variants!.length, 6);
  const design = searchDesign(6, D, 11);
  study.variants!.forEach((v, k) => {
    assert.equal(v.factor, "trial");
    assert.equal(v.level, k);
    const common = PAPER_SIX.map((m) => {
      const { lossWeights: _lw, ...train } = v.models![m].train!;
      void _lw;
      return canonicalJson({ architecture: v.models![m].architecture, train });
    });
    assert.equal(new Set(common).size, 1, `trial ${k}: models differ in their common settings`);
    const lr = Math.exp(Math.log(1e-4) + design[k][0] * Math.log(100));
    assert.ok(Math.abs(v.models!["ESMM"].train!.learningRate! - lr) < 1e-12 * lr, `trial ${k}: learning rate`);
    // ESMM's CTCVR weight and IPSP's CVR weight come from the same column with the same range
    assert.equal(v.models!["ESMM"].train!.lossWeights![1], v.models!["IPSP"].train!.lossWeights![1]);
  });
  // one data set, one seed: the base's first world and first seed
  const grid = expandGrid(study);
  assert.equal(grid.length, 6 * PAPER_SIX.length);
  assert.deepEqual([...new Set(grid.map((r) => `${r.data.simulatorSeed}/${r.seed}`))], [`${base.worlds![0]}/${base.seeds[0]}`]);
  assert.equal(grid[0].train.maxEpochs, 2, "the base's training options stay under the trial's");
});

// ------------------------------------------------------------------------------------------------
// selection

/** Records of every run of `grid` with validation loss `val(run)` and test metrics from `test(run)`. */
function fakeRecords(grid: RunSpec[], val: (r: RunSpec) => number, test: (r: RunSpec) => unknown): TrialRecord[] {
  return grid.map((run) => {
    const record = { config: run, codeVersion: "x", finishedAt: "2026-11-30T00:00:00Z", training: { bestValLoss: val(run) } };
    Object.defineProperty(record, "test", { enumerable: true, get: () => test(run) });
    return record;
  });
}

test("selection reads validation only: poisoned test metrics do not move the choice, and a read of them would throw", () => {
  const study = tuningStudy(studyProfile("quick"), { trials: 8, designSeed: 2 });
  const grid = expandGrid(study);
  // validation loss: best trial is 5 for ESMM, 2 for every other model
  const val = (r: RunSpec) => 0.01 + 0.001 * Math.abs(Number(r.level) - (r.model === "ESMM" ? 5 : 2));
  const honestTest = (r: RunSpec) => ({ metrics: { ctcvr: { logLoss: val(r) } } });
  // poisoned: the test day says the opposite (the validation-worst trial is best on test)
  const poisoned = (r: RunSpec) => ({ metrics: { ctcvr: { logLoss: -val(r) } } });
  const throwing = () => {
    throw new Error("selection read a test metric");
  };
  const choose = (test: (r: RunSpec) => unknown) => selectBest(trialOutcomes(study, fakeRecords(grid, val, test))).map((s) => [s.model, s.trial, s.finished]);
  const expected = PAPER_SIX.map((m) => [m, m === "ESMM" ? 5 : 2, 8]);
  assert.deepEqual(choose(honestTest), expected);
  assert.deepEqual(choose(poisoned), expected);
  assert.deepEqual(choose(throwing), expected);
});

test("selection: ties go to the lower trial, non-finite losses never win, missing trials are counted", () => {
  const o = (model: string, trial: number, validationLoss: number): TrialOutcome => ({ model, trial, validationLoss, settings: { architecture: {}, train: {} } });
  const s = selectBest([o("A", 0, NaN), o("A", 1, 0.2), o("A", 2, 0.1), o("A", 3, 0.1), o("B", 4, Infinity), o("B", 1, 0.5)]);
  assert.deepEqual(s.map((x) => [x.model, x.trial, x.validationLoss, x.finished]), [["A", 2, 0.1, 4], ["B", 1, 0.5, 2]]);
});

test("the tuned study trains each model's chosen settings over the base design, and reuses the chosen trial's run", () => {
  const base = studyProfile("quick");
  const study = tuningStudy(base, { trials: 4, designSeed: 5 });
  const grid = expandGrid(study);
  const chosen = selectBest(trialOutcomes(study, fakeRecords(grid, (r) => (Number(r.level) === 3 ? 0.01 : 0.02), () => ({}))));
  const tuned = tunedStudy(base, chosen);
  const tunedGrid = expandGrid(tuned);
  assert.equal(tunedGrid.length, base.worlds!.length * base.seeds.length * PAPER_SIX.length);
  for (const run of tunedGrid) {
    assert.deepEqual(run.architecture, study.variants![3].models![run.model].architecture);
    assert.deepEqual({ ...run.train }, { ...base.train, ...study.variants![3].models![run.model].train! });
  }
  for (const m of PAPER_SIX) {
    const trialRun = grid.find((r) => r.model === m && r.level === 3)!;
    const same = tunedGrid.filter((r) => canonicalJson(computation(r)) === canonicalJson(computation(trialRun)));
    assert.equal(same.length, 1, `${m}: the chosen trial's run is one run of the tuned study`);
    assert.equal(same[0].data.simulatorSeed, base.worlds![0]);
    assert.equal(same[0].seed, base.seeds[0]);
  }
});

// ------------------------------------------------------------------------------------------------
// the trainer's new options

test("weight decay: two Adam steps with coupled L2 (g + λp) match a hand computation, for every grouping", () => {
  const t = tf();
  const lr = 0.01;
  const lambda = 0.1;
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const p0 = [[1, -2, 0.5], [0.3, -0.7, 2, -1]];
  const c = [[0.05, 0.05, -0.3], [0.02, -0.01, 0, 0.4]];
  // by hand, float64: PyTorch's Adam with weight_decay
  const hand = p0.map((p, k) => {
    let x = [...p];
    let m = x.map(() => 0);
    let v = x.map(() => 0);
    for (let step = 1; step <= 2; step++) {
      const g = x.map((xi, i) => c[k][i] + lambda * xi);
      m = m.map((mi, i) => b1 * mi + (1 - b1) * g[i]);
      v = v.map((vi, i) => b2 * vi + (1 - b2) * g[i] * g[i]);
      x = x.map((xi, i) => xi - (lr * (m[i] / (1 - b1 ** step))) / (Math.sqrt(v[i] / (1 - b2 ** step)) + eps));
    }
    return x;
  });
  // the decay flips element 1's direction: without it, x[1] would fall by about 2 lr
  assert.ok(hand[0][1] > -2 + 1.9 * lr && hand[0][1] < -2 + 2.1 * lr);
  for (const grouping of ["per-variable", "kernel", "flat"] as AdamGrouping[]) {
    const vars = [t.variable(t.tensor1d(p0[0])), t.variable(t.tensor2d(p0[1], [2, 2]))];
    const adam = new Adam(vars, { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, grouping, weightDecay: lambda });
    for (let step = 0; step < 2; step++) t.tidy(() => adam.apply([t.tensor1d(c[0]), t.tensor2d(c[1], [2, 2])]));
    vars.forEach((x, k) => {
      const got = Array.from(x.dataSync());
      got.forEach((g, i) => assert.ok(Math.abs(g - hand[k][i]) <= 1e-6 * Math.abs(hand[k][i]) + 1e-7, `${grouping}: variable ${k}[${i}] ${g} vs ${hand[k][i]}`));
    });
    adam.dispose();
    vars.forEach((x) => x.dispose());
  }
  assert.throws(() => new Adam([], { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, grouping: "per-variable", weightDecay: -1 }), /weightDecay/);
});

test("lossWeights multiply the spec's term weights, in order", () => {
  const spec = getModelSpec("AITM");
  const w = withLossWeights(spec, [1, 2, 0.5]);
  assert.deepEqual(w.losses.map((x) => x.weight), [1, 2, 0.3]);
  assert.equal(withLossWeights(spec, undefined), spec);
  assert.throws(() => withLossWeights(spec, [1, 2]), /3 loss terms/);
});

const DIMS: InputDims = { categoricalFields: ["a", "b"], vocabularySizes: [5, 7], numericFields: ["x"] };
function inputs(rows: number, seed: number) {
  const r = new Rng(seed);
  const t = tf();
  return {
    categoricalMatrix: t.tensor2d(Array.from({ length: rows * 2 }, (_, i) => r.int(DIMS.vocabularySizes[i % 2])), [rows, 2], "int32") as tfjs.Tensor2D,
    numeric: t.tensor2d(Array.from({ length: rows }, () => r.normal()), [rows, 1]) as tfjs.Tensor2D,
  };
}
const outputsOf = (model: ReturnType<typeof buildModel>, x: ReturnType<typeof inputs>, training: boolean) =>
  tf().tidy(() => Array.from(model.forward(x, training).pCtcvr.dataSync()));

test("dropout: inverted, in training mode only; each hidden unit is 0 or scaled by 1 / (1 - rate), about rate of them 0", () => {
  const t = tf();
  const store = new VariableStore("drop", 9);
  store.dropout = 0.5;
  const mlp = createMlp(store, "m", "trunk", 6, [128], false, false);
  const x = t.randomNormal([64, 6], 0, 1, "float32", 1) as tfjs.Tensor2D;
  const train = Array.from(applyMlp(mlp, x, true).dataSync());
  const evalOut = Array.from(applyMlp(mlp, x, false).dataSync());
  let dropped = 0;
  let active = 0;
  train.forEach((v, i) => {
    if (evalOut[i] === 0) return assert.equal(v, 0);
    active++;
    if (v === 0) dropped++;
    else assert.equal(v, evalOut[i] * 2);
  });
  assert.ok(active > 2000, `${active} active units`);
  assert.ok(Math.abs(dropped / active - 0.5) < 0.05, `dropped share ${dropped / active}`);
  store.dispose();
  x.dispose();
});

test("dropout: off by default (bit-identical training forward), a no-op in evaluation mode, masks reproducible for a seed", () => {
  const spec = getModelSpec("ESMM");
  const x = inputs(32, 4);
  const plain = buildModel(spec, DIMS, { seed: 3 });
  const zero = buildModel(spec, DIMS, { seed: 3, architecture: { dropout: 0 } });
  const a = buildModel(spec, DIMS, { seed: 3, architecture: { dropout: 0.4 } });
  const b = buildModel(spec, DIMS, { seed: 3, architecture: { dropout: 0.4 } });
  const other = buildModel(spec, DIMS, { seed: 4, architecture: { dropout: 0.4 } });
  try {
    assert.equal(plain.architecture.dropout, 0);
    assert.deepEqual(outputsOf(zero, x, true), outputsOf(plain, x, true));
    assert.deepEqual(outputsOf(plain, x, true), outputsOf(plain, x, false), "without dropout, training and evaluation forward passes are the same");
    assert.deepEqual(outputsOf(a, x, false), outputsOf(plain, x, false), "evaluation mode ignores dropout");
    const a1 = outputsOf(a, x, true);
    const a2 = outputsOf(a, x, true);
    assert.deepEqual(outputsOf(b, x, true), a1, "same seed, same first mask");
    assert.deepEqual(outputsOf(b, x, true), a2, "same seed, same second mask");
    assert.notDeepEqual(a2, a1, "a new mask each training pass");
    assert.notDeepEqual(a1, outputsOf(plain, x, false), "dropout changes the training pass");
    // another model seed draws other masks (its weights differ too: compare against its own eval pass)
    const o = outputsOf(other, x, true);
    assert.notDeepEqual(o, outputsOf(other, x, false));
  } finally {
    for (const m of [plain, zero, a, b, other]) m.dispose();
  }
  assert.throws(() => buildModel(spec, DIMS, { architecture: { dropout: 1 } }), /dropout must be a number in \[0, 1\)/);
});

// ------------------------------------------------------------------------------------------------
// what tuning shows

test("expected best of n trials (Dodge et al. 2019, for a minimum): known values and a band that holds the curve", () => {
  const curve = expectedBestCurve([3, 1, 2]);
  assert.ok(Math.abs(curve[0] - 2) < 1e-12); // the mean
  assert.ok(Math.abs(curve[1] - 14 / 9) < 1e-12); // P(min = 1) 5/9, P(2) 3/9, P(3) 1/9
  assert.ok(Math.abs(curve[2] - 4 / 3) < 1e-12); // 19/27, 7/27, 1/27
  assert.deepEqual(expectedBestCurve([5, 5, 5, 5]), [5, 5, 5, 5]);
  const scores = Array.from({ length: 12 }, (_, i) => 0.01 + ((i * 7) % 12) * 0.001);
  const band = expectedBestBand(scores, { seed: 4, resamples: 300 });
  assert.deepEqual(expectedBestBand(scores, { seed: 4, resamples: 300 }), band);
  band.expected.forEach((e, k) => {
    assert.ok(band.low[k] <= e + 1e-12 && e <= band.high[k] + 1e-12, `n = ${k + 1}`);
    if (k > 0) assert.ok(e <= band.expected[k - 1], "the expected best never rises with more trials");
  });
  assert.throws(() => expectedBestCurve([]), /no scores/);
});

test("spread over trials: a 4x wider model holds, the reverse is contradicted, 2 trials is inconclusive (no test)", () => {
  const r = new Rng(12);
  const outcomes: TrialOutcome[] = [];
  const add = (model: string, sd: number, n: number) => {
    for (let k = 0; k < n; k++) outcomes.push({ model, trial: k, validationLoss: 0.01 * (1 + sd * 0.01 * r.normal()), settings: { architecture: {}, train: {} } });
  };
  add("ESMM", 4, 40);
  add("IPSP", 1, 40);
  add("ESP", 1, 2);
  const [vsIpsp, vsEsp] = spreadFindings(outcomes, "ESMM", ["IPSP", "ESP"], { seed: 1, resamples: 200, powerSimulations: 200 });
  assert.equal(vsIpsp.verdict, "holds");
  assert.ok(vsIpsp.ratio > 2.5 && vsIpsp.ratio < 6, `ratio ${vsIpsp.ratio}`);
  assert.ok(vsIpsp.ratioCi[0] > 1, `interval ${vsIpsp.ratioCi}`);
  assert.ok(vsIpsp.powerAtRatio2 > 0.5, `power ${vsIpsp.powerAtRatio2}`);
  assert.ok(vsIpsp.detectableRatio > 1 && vsIpsp.detectableRatio < 3, `detectable ${vsIpsp.detectableRatio}`);
  assert.equal(vsEsp.verdict, "inconclusive");
  assert.ok(Number.isNaN(vsEsp.p));
  const [reverse] = spreadFindings(outcomes, "IPSP", ["ESMM"], { seed: 1, resamples: 200, powerSimulations: 200 });
  assert.equal(reverse.verdict, "contradicted");
});

// ------------------------------------------------------------------------------------------------
// the command line

test("esmm tune: --help, and bad numbers or choices are one line with exit 2", () => {
  const esmm = path.join(PROJECT_DIR, "bin", "esmm.js");
  const run = (...args: string[]) => spawnSync(process.execPath, [esmm, "tune", ...args], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } });
  const help = run("--help");
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--trials N/);
  assert.match(help.stdout, /learningRate/);
  for (const [args, pattern] of [
    [["--trials", "0"], /^esmm: tune: --trials must be an integer >= 1, got "0"$/],
    [["--trials", "2.5"], /^esmm: tune: --trials must be an integer >= 1, got "2\.5"$/],
    [["--design-seed", "-1"], /^esmm: tune: --design-seed must be an integer in \[0, 2147483647\], got "-1"$/],
    [["--design", "sobol"], /^esmm: tune: --design must be one of halton, random, got "sobol"$/],
    [["--phase", "select"], /^esmm: tune: --phase must be one of all, trials, retrain, got "select"$/],
    [["--shard", "1/2"], /^esmm: tune: --shard needs --phase trials or --phase retrain/],
    [["--out", "x.json"], /^esmm: tune: --out must end in \.jsonl, got x\.json$/],
  ] as [string[], RegExp][]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(/^esmm: [^\n]+\n$/.test(r.stderr), `not one line: ${r.stderr}`);
    assert.match(r.stderr.trimEnd(), pattern);
  }
});
