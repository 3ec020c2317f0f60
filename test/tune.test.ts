/**
 * The tuning protocol (issue 14; the fair protocol of issue 22): the design is deterministic for a seed and the
 * same for every model; the fair protocol is nested (tuning worlds are never evaluation worlds), gives every model
 * its untuned configuration as trial 0, halves over seeds on the mean score and reads more than one seed per
 * finalist; coupled L2 weight decay matches a hand-computed Adam step; dropout is off by default, a no-op in
 * evaluation mode, and its masks are reproducible for a seed; the expected-best curve gives known answers (Dodge's
 * by hand, the unbiased one against a brute-force mean over every subset); `esmm tune --profile quick` end to end
 * satisfies the acceptance of issue 22; `esmm tune` refuses bad numbers in one line.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as tfjs from "@tensorflow/tfjs";
import { PROJECT_DIR } from "./paths";
import { tempDir, trainingBackend } from "./helpers";
import { tf } from "../lib/backend";
import { Rng } from "../lib/data/random";
import { buildModel, getModelSpec, InputDims } from "../lib/models";
import { VariableStore, applyMlp, createMlp } from "../lib/models/blocks";
import { Adam, AdamGrouping } from "../lib/train/adam";
import { withLossWeights } from "../lib/train/trainer";
import { readResults } from "../lib/study/results";
import { expandGrid } from "../lib/study/spec";
import {
  MAX_FAMILY_DIMENSIONS,
  DEFAULT_SEARCH_SPACE,
  TrialScore,
  checkProtocol,
  designDimensions,
  evaluationStudy,
  expectedBestBand,
  expectedBestCurve,
  fairProtocol,
  fairStudy,
  keepBest,
  rungStudy,
  searchDesign,
  trialSettings,
} from "../lib/tune";

before(async () => {
  await trainingBackend();
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

// ------------------------------------------------------------------------------------------------
// the fair protocol (issue 22)

test("fair protocol: tuning worlds are never evaluation worlds, rung 0 holds every trial with trial 0 untuned, the last rung reads >= 2 seeds", () => {
  for (const profile of ["quick", "full"] as const) {
    const base = fairStudy(profile);
    const p = fairProtocol(profile);
    checkProtocol(base, p);
    assert.ok(p.repeats >= (profile === "full" ? 3 : 2), `${profile}: repeats`);
    assert.ok(p.rungs[p.rungs.length - 1].seeds >= 2);
    const evaluationWorlds = new Set(expandGrid(evaluationStudy(base, [{ repeat: 0, world: p.tuningWorlds[0], designSeed: 1, rungs: [], chosen: [] }])).map((r) => r.data.simulatorSeed));
    for (let r = 0; r < p.repeats; r++) {
      const kept = new Map(base.models.map((m) => [m, Array.from({ length: p.trials }, (_, k) => k)] as const));
      const grid = expandGrid(rungStudy(base, p, r, 0, kept));
      assert.equal(grid.length, base.models.length * p.trials * p.rungs[0].seeds);
      for (const run of grid) {
        assert.equal(run.data.simulatorSeed, p.tuningWorlds[r]);
        assert.ok(!evaluationWorlds.has(run.data.simulatorSeed), `repeat ${r}: tuning on an evaluation world`);
      }
      for (const m of base.models) {
        const untuned = grid.find((x) => x.model === m && x.level === 0)!;
        // the untuned configuration: nothing over the study's own settings (its epoch limit only)
        assert.deepEqual(untuned.architecture, {});
        assert.deepEqual(untuned.train, { ...base.train });
      }
    }
    // repeats draw their own seeds
    const seedsOf = (r: number) => rungStudy(base, p, r, p.rungs.length - 1, new Map([["IP", [0]]])).seeds;
    assert.equal(new Set([...seedsOf(0), ...(p.repeats > 1 ? seedsOf(1) : [])]).size, p.rungs[p.rungs.length - 1].seeds * Math.min(2, p.repeats));
  }
  const base = fairStudy("quick");
  assert.throws(() => checkProtocol(base, { ...fairProtocol("quick"), tuningWorlds: [base.worlds![0], 1002] }), /also evaluation worlds: selection would see an evaluation unit/);
  assert.throws(() => checkProtocol(base, { ...fairProtocol("quick"), rungs: [{ keep: 3, seeds: 1 }] }), /at least 2 seeds per finalist/);
  assert.throws(() => checkProtocol(base, { ...fairProtocol("quick"), rungs: [{ keep: 2, seeds: 1 }, { keep: 1, seeds: 2 }] }), /rung 0 must keep every trial/);
});

test("fair protocol: halving keeps the lowest means among trials with every seed, ties to the lower trial", () => {
  const t = (model: string, trial: number, scores: number[]): TrialScore => ({ model, trial, settings: { architecture: {}, train: {} }, scores, seeds: scores.map((_, i) => i + 1), mean: scores.reduce((a, b) => a + b, 0) / scores.length });
  const scores = [t("A", 0, [0.3, 0.1]), t("A", 1, [0.2, 0.2]), t("A", 2, [0.05]), t("A", 3, [0.2, 0.2]), t("B", 0, [0.5, 0.4]), t("B", 1, [NaN, 0.1])];
  scores[5].mean = NaN;
  const kept = keepBest(scores, 2, 2);
  // A: trial 2 lacks a seed; trials 0 (0.2), 1 (0.2), 3 (0.2) tie: the lower trials win
  assert.deepEqual(kept.get("A"), [0, 1]);
  assert.deepEqual(kept.get("B"), [0]);
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

test("expected best of n trials: Dodge et al.'s known values, and the unbiased estimator is the mean best over every subset of n", () => {
  const curve = expectedBestCurve([3, 1, 2], "dodge");
  assert.ok(Math.abs(curve[0] - 2) < 1e-12); // the mean
  assert.ok(Math.abs(curve[1] - 14 / 9) < 1e-12); // P(min = 1) 5/9, P(2) 3/9, P(3) 1/9
  assert.ok(Math.abs(curve[2] - 4 / 3) < 1e-12); // 19/27, 7/27, 1/27
  // unbiased (Tang et al. 2020): the U-statistic; brute force over all C(N, n) subsets
  const scores = [0.013, 0.011, 0.019, 0.012, 0.017, 0.011, 0.015];
  const subsets = (n: number, from = 0): number[][] => (n === 0 ? [[]] : Array.from({ length: scores.length - from }, (_, k) => from + k).flatMap((i) => subsets(n - 1, i + 1).map((rest) => [i, ...rest])));
  const unbiased = expectedBestCurve(scores);
  unbiased.forEach((e, k) => {
    const all = subsets(k + 1).map((idx) => Math.min(...idx.map((i) => scores[i])));
    const brute = all.reduce((a, b) => a + b, 0) / all.length;
    assert.ok(Math.abs(e - brute) < 1e-15, `n = ${k + 1}: ${e} vs ${brute}`);
  });
  assert.equal(unbiased[scores.length - 1], Math.min(...scores));
  assert.ok(Math.abs(expectedBestCurve([3, 1, 2])[1] - 4 / 3) < 1e-12); // pairs {3,1},{3,2},{1,2}: (1 + 2 + 1) / 3
  for (const e of expectedBestCurve([5, 5, 5, 5])) assert.ok(Math.abs(e - 5) < 1e-14);
  const band = expectedBestBand(scores, { seed: 4, resamples: 300 });
  assert.deepEqual(expectedBestBand(scores, { seed: 4, resamples: 300 }), band);
  band.expected.forEach((e, k) => {
    if (k > 0) assert.ok(e <= band.expected[k - 1] + 1e-15, "the expected best never rises with more trials");
  });
  assert.throws(() => expectedBestCurve([]), /no scores/);
});

// ------------------------------------------------------------------------------------------------
// the command line

test("esmm tune: --help, and bad numbers or choices are one line with exit 2", () => {
  const esmm = path.join(PROJECT_DIR, "bin", "esmm.js");
  const run = (...args: string[]) => spawnSync(process.execPath, [esmm, "tune", ...args], { encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } });
  const help = run("--help");
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--trials N/);
  assert.match(help.stdout, /--repeats R/);
  assert.match(help.stdout, /learningRate/);
  for (const [args, pattern] of [
    [["--trials", "0"], /^esmm: tune: --trials must be an integer >= 1, got "0"$/],
    [["--trials", "1"], /^esmm: tune: --trials must be >= 2 \(trial 0 is the untuned configuration\), got 1$/],
    [["--trials", "2.5"], /^esmm: tune: --trials must be an integer >= 1, got "2\.5"$/],
    [["--repeats", "0"], /^esmm: tune: --repeats must be an integer >= 1, got "0"$/],
    [["--design-seed", "-1"], /^esmm: tune: --design-seed must be an integer in \[0, 2147483647\], got "-1"$/],
    [["--design", "sobol"], /^esmm: tune: --design must be one of halton, random, got "sobol"$/],
    [["--phase", "select"], /^esmm: tune: --phase must be one of all, tune, evaluate, got "select"$/],
    [["--worlds", "1001,2"], /^esmm: tune: fair protocol: tuning world\(s\) 1001 are also evaluation worlds/],
    [["--out", "x.json"], /^esmm: tune: --out must end in \.jsonl, got x\.json$/],
  ] as [string[], RegExp][]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(/^esmm: [^\n]+\n$/.test(r.stderr), `not one line: ${r.stderr}`);
    assert.match(r.stderr.trimEnd(), pattern);
  }
});

test("esmm tune --profile quick (issue 22's acceptance): no trial shares a world with an evaluation run, every model has its untuned configuration among its trials, each finalist read on more than one seed", { timeout: 600_000 }, () => {
  const dir = tempDir("esmm-tune-quick-");
  const out = path.join(dir, "tune.jsonl");
  const r = spawnSync(process.execPath, [path.join(PROJECT_DIR, "bin", "esmm.js"), "tune", "--profile", "quick", "--out", out, "--data-root", path.join(dir, "data")], {
    encoding: "utf8",
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2", ESMM_PROGRESS: "0" },
  });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const records = readResults(out).records;
  const trials = records.filter((x) => x.factor === "trial");
  const evaluation = records.filter((x) => x.factor !== "trial");
  assert.ok(trials.length > 0 && evaluation.length > 0);
  const trialWorlds = new Set(trials.map((x) => x.config.data.simulatorSeed));
  for (const e of evaluation) assert.ok(!trialWorlds.has(e.config.data.simulatorSeed), `evaluation run on tuning world ${e.config.data.simulatorSeed}`);
  const p = fairProtocol("quick");
  for (const world of p.tuningWorlds) {
    for (const model of fairStudy("quick").models) {
      const untuned = trials.filter((x) => x.model === model && x.config.data.simulatorSeed === world && Number(x.level) === 0);
      assert.ok(untuned.length >= 1, `${model}: no untuned trial on tuning world ${world}`);
      assert.deepEqual(untuned[0].config.architecture, {});
    }
  }
  const selection = JSON.parse(fs.readFileSync(out.replace(/\.jsonl$/, ".selection.json"), "utf8")) as { repeats: { chosen: { model: string; seedsRead: number }[] }[] };
  assert.equal(selection.repeats.length, p.repeats);
  for (const t of selection.repeats) for (const c of t.chosen) assert.ok(c.seedsRead > 1, `${c.model}: chosen on ${c.seedsRead} seed(s)`);
});
