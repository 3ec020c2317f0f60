/**
 * Hidden selection (issue 24, point 2; lib/data/simulator.ts): a latent u per impression, never written, in both
 * the click and the conversion logit. Known answers: at strength 0 the simulator is today's byte for byte; the
 * quadrature against a closed form; the recorded truth follows the stated selection (E[q | x, click] as the
 * quadrature says); and the best click-space CVR given the observed features (the conversion rate of the clicked
 * rows of each exact feature cell) over-predicts the true CVR of that cell's non-clicked rows by the amount the
 * quadrature predicts at strength > 0, and by nothing (within sampling error) at strength 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { SimulatedChunk, createWorld, generateDay, normalExpectation, observedTruth } from "../lib/data/simulator";
import { SIMULATED_COLUMNS, writeSimulatedLog } from "../lib/data/simulated-files";
import { SimulatorConfig, resolveConfig } from "../lib/data/simulator-config";
import { dataSpecKey } from "../lib/study/data-cache";
import { DEFAULT_DATA_SPEC } from "../lib/study/spec";
import { erf } from "../lib/stats/jstat";
import { PROJECT_DIR } from "./paths";
import { tempDir } from "./helpers";

const SMALL = { impressions: 60_000, days: 4, users: 400, ads: 100 };

const chunksOf = (config: Partial<SimulatorConfig>, seed: number): SimulatedChunk[] => {
  const w = createWorld(config, seed);
  return Array.from({ length: w.config.days }, (_, d) => [...generateDay(w, d)]).flat();
};

test("strength 0 or absent is today's simulator: same resolved config, same data key, same rows", () => {
  assert.deepEqual(resolveConfig({ ...SMALL, hiddenSelection: 0 }), resolveConfig(SMALL));
  assert.equal("hiddenSelection" in resolveConfig({ ...SMALL, hiddenSelection: 0 }), false);
  const spec = { ...DEFAULT_DATA_SPEC, simulator: SMALL };
  assert.equal(dataSpecKey({ ...spec, simulator: { ...SMALL, hiddenSelection: 0 } }), dataSpecKey(spec));
  assert.notEqual(dataSpecKey({ ...spec, simulator: { ...SMALL, hiddenSelection: 1 } }), dataSpecKey(spec));
  const config = { ...SMALL, impressions: 8_000, calibrationSamples: 20_000 };
  assert.deepEqual(chunksOf({ ...config, hiddenSelection: 0 }, 3), chunksOf(config, 3));
  assert.equal(createWorld({ ...config, hiddenSelection: 0 }, 3).clickIntercept, createWorld(config, 3).clickIntercept);
  assert.throws(() => resolveConfig({ hiddenSelection: -0.5 }), /simulator option hiddenSelection = -0.5: must be a number in \[0, 5\]/);
  assert.throws(() => resolveConfig({ hiddenSelection: 6 }), /hiddenSelection/);
});

test("at strength > 0 the impressions are the same, only the probabilities and labels move; the targets still hold", () => {
  const config = { ...SMALL, impressions: 8_000, calibrationSamples: 20_000 };
  const [off, on] = [chunksOf(config, 3), chunksOf({ ...config, hiddenSelection: 1 }, 3)];
  for (const field of ["user", "ad", "hour", "placement", "deviceOs", "adAgeDays"] as const) {
    assert.deepEqual(on.map((c) => c[field]), off.map((c) => c[field]), field);
  }
  assert.notDeepEqual(on.map((c) => c.pClick), off.map((c) => c.pClick));
  // the rates: binomial se at ~6,000 clicks and ~420 conversions is ~1.3 % (CTR) and ~5 % (CVR) relative; 4 se
  const dir = tempDir();
  const m = writeSimulatedLog({ ...SMALL, impressions: 400_000, targetCtr: 0.015, targetCvr: 0.07, hiddenSelection: 1.5 }, 11, dir);
  assert.equal(m.config.hiddenSelection, 1.5);
  assert.ok(Math.abs(m.totals.ctr / 0.015 - 1) < 0.06, `CTR ${m.totals.ctr}`);
  assert.ok(Math.abs(m.totals.cvr / 0.07 - 1) < 0.2, `CVR ${m.totals.cvr}`);
  // u is not in the log: the columns are the same
  assert.equal(fs.readFileSync(path.join(dir, "day-00.csv"), "utf8").split("\n", 1)[0], SIMULATED_COLUMNS.join(","));
});

test("the quadrature: E[Phi(a + b u)] = Phi(a / sqrt(1 + b^2)) for u ~ N(0, 1)", () => {
  const phi = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));
  for (const [a, b] of [
    [0, 1],
    [-2, 1.5],
    [1.3, 5],
    [-4, 0.3],
  ]) {
    const got = normalExpectation((u) => phi(a + b * u));
    assert.ok(Math.abs(got - phi(a / Math.sqrt(1 + b * b))) < 1e-12, `a=${a} b=${b}: ${got}`);
  }
  assert.ok(Math.abs(normalExpectation((u) => u * u) - 1) < 1e-12);
});

test("the selection gap at small strength: E[q | x, click = 1] - E[q | x, click = 0] = rho^2 q (1 - q) (1 + O(rho^2))", () => {
  // intent clicks only: P(click | x, u) = s(a + rho u), q = s(b + rho u), so the gap is Cov(P(click), q) / (p (1 - p))
  // = rho^2 p (1 - p) q (1 - q) / (p (1 - p)) to first order (s' = s (1 - s)), whatever a and b
  const rho = 0.05;
  const w = createWorld({ ...CELLS, hiddenSelection: rho }, 4);
  for (const [user, ad, hour] of [
    [0, 0, 3],
    [1, 1, 20],
    [2, 0, 12],
  ]) {
    const t = observedTruth(w, 0, user, ad, 0, hour);
    const ratio = (t.cvrClicked - t.cvrNotClicked) / (rho ** 2 * t.cvr * (1 - t.cvr));
    assert.ok(Math.abs(ratio - 1) < 0.01, `user ${user} ad ${ad} hour ${hour}: ratio ${ratio}`);
    assert.ok(t.cvrNotClicked < t.cvr && t.cvr < t.cvrClicked, JSON.stringify(t));
  }
});

/**
 * A world of few feature cells (3 users x 2 ads x 24 hours, one placement, one day), rates high enough for
 * hundreds of clicks per cell: every observed feature of a row is fixed by its (user, ad, hour).
 */
const CELLS: Partial<SimulatorConfig> = {
  impressions: 300_000,
  days: 1,
  users: 3,
  ads: 2,
  placements: [{ name: "feed", share: 1, clickEffect: 0, accidentalClickRate: 0 }],
  targetCtr: 0.25,
  targetCvr: 0.3,
};

interface CellTally {
  clicks: number;
  conversions: number;
  nonClicked: number;
  /** Sums over the non-clicked rows of the recorded truth q, q^2, and of the quadrature's E[q | x, click = 1] - E[q | x, click = 0]. */
  q0: number;
  q0Squared: number;
  gap: number;
  /** Sums over clicked / non-clicked rows of q - E[q | x, click] and of its square (the truth follows the stated selection). */
  clickedResidual: number;
  clickedResidualSquared: number;
  nonClickedResidual: number;
  nonClickedResidualSquared: number;
}

/**
 * Per exact feature cell: the conversion rate of the clicked rows (the best click-space CVR given x, fit from
 * observed labels) against the recorded true CVR of the cell's non-clicked rows, pooled with weights = non-clicked
 * rows: `bias` = sum_c n0_c (k_c / n1_c - mean q over non-clicked) / sum n0 and its se; `predicted`, the
 * quadrature's mean of E[q | x, click = 1] - E[q | x, click = 0] over the same rows; and the z of the recorded
 * truth against E[q | x, click] on clicked and on non-clicked rows.
 */
function cellBias(hiddenSelection: number, seed: number) {
  const w = createWorld({ ...CELLS, hiddenSelection }, seed);
  const cells = new Map<number, CellTally>();
  for (const c of generateDay(w, 0)) {
    for (let i = 0; i < c.size; i++) {
      const key = (c.user[i] * 2 + c.ad[i]) * 24 + c.hour[i];
      let t = cells.get(key);
      if (!t) {
        t = { clicks: 0, conversions: 0, nonClicked: 0, q0: 0, q0Squared: 0, gap: 0, clickedResidual: 0, clickedResidualSquared: 0, nonClickedResidual: 0, nonClickedResidualSquared: 0 };
        cells.set(key, t);
      }
      const truth = observedTruth(w, 0, c.user[i], c.ad[i], c.placement[i], c.hour[i]);
      const q = c.pConversionGivenClick[i];
      if (c.click[i]) {
        t.clicks++;
        t.conversions += c.conversion[i];
        t.clickedResidual += q - truth.cvrClicked;
        t.clickedResidualSquared += (q - truth.cvrClicked) ** 2;
      } else {
        t.nonClicked++;
        t.q0 += q;
        t.q0Squared += q * q;
        t.gap += truth.cvrClicked - truth.cvrNotClicked;
        t.nonClickedResidual += q - truth.cvrNotClicked;
        t.nonClickedResidualSquared += (q - truth.cvrNotClicked) ** 2;
      }
    }
  }
  let n0 = 0;
  let biasSum = 0;
  let variance = 0;
  let gap = 0;
  let rows = 0;
  const z = { clicked: [0, 0], nonClicked: [0, 0] };
  for (const t of cells.values()) {
    z.clicked[0] += t.clickedResidual;
    z.clicked[1] += t.clickedResidualSquared;
    z.nonClicked[0] += t.nonClickedResidual;
    z.nonClicked[1] += t.nonClickedResidualSquared;
    if (t.clicks < 30 || t.nonClicked < 2) continue; // a cell needs clicks to have a click-space rate
    rows += t.clicks + t.nonClicked;
    const rate = t.conversions / t.clicks;
    const meanQ0 = t.q0 / t.nonClicked;
    const varQ0 = Math.max(0, (t.q0Squared - t.nonClicked * meanQ0 ** 2) / (t.nonClicked - 1));
    n0 += t.nonClicked;
    biasSum += t.nonClicked * (rate - meanQ0);
    // Var(k / n1) = c1 (1 - c1) / n1 (each clicked row converts with probability E[q | x, click = 1]); Var(sum q0) = n0 Var(q | x, click = 0)
    variance += t.nonClicked ** 2 * ((rate * (1 - rate)) / t.clicks) + t.nonClicked * varQ0;
    gap += t.gap;
  }
  return {
    cells: cells.size,
    rows,
    bias: biasSum / n0,
    se: Math.sqrt(variance) / n0,
    predicted: gap / n0,
    residualSquares: z.clicked[1] + z.nonClicked[1],
    zClicked: z.clicked[0] / Math.sqrt(z.clicked[1]),
    zNonClicked: z.nonClicked[0] / Math.sqrt(z.nonClicked[1]),
  };
}

test("at strength > 0 the click-space CVR is biased on non-clicked rows in a way the observed features do not explain; at 0 it is not", (t) => {
  for (const [strength, seed] of [
    [0, 4],
    [1, 4],
    [2, 5],
  ]) {
    const r = cellBias(strength, seed);
    const what = `strength ${strength}: ${r.cells} cells, ${r.rows} rows in cells with >= 30 clicks; bias ${r.bias.toFixed(4)} ± ${r.se.toFixed(4)}, quadrature ${r.predicted.toFixed(4)}`;
    t.diagnostic(what);
    assert.ok(r.rows > 0.9 * (CELLS.impressions as number), what);
    // the measured bias of the per-cell click-space rate is the quadrature's, within 4 se
    assert.ok(Math.abs(r.bias - r.predicted) < 4 * r.se, what);
    if (strength === 0) {
      assert.equal(r.predicted, 0, what); // no u: E[q | x, click = 1] = E[q | x, click = 0] = q(x) exactly
      assert.equal(r.residualSquares, 0, what); // and the recorded q is q(x) itself
    } else {
      // the recorded truth is the impression's own: given x, clicked rows' q average E[q | x, click = 1], non-clicked E[q | x, click = 0]
      assert.ok(Math.abs(r.zClicked) < 4 && Math.abs(r.zNonClicked) < 4, `${what}; z ${r.zClicked.toFixed(2)}, ${r.zNonClicked.toFixed(2)}`);
      // and the bias is far from 0
      assert.ok(r.predicted > 0 && r.bias > 10 * r.se, what);
    }
  }
});

test("esmm simulate --help documents --hidden-selection; a bad strength exits 2 with one line", () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [path.join(PROJECT_DIR, "bin", "esmm.js"), ...args], { encoding: "utf8" });
  assert.match(run("simulate", "--help").stdout, /--hidden-selection RHO \(a number in \[0, 5\], default 0 = off\) adds selection on unobservables/);
  const bad = run("simulate", "--hidden-selection", "-1", "--out", path.join(tempDir(), "never"));
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /--hidden-selection must be a number in \[0, 5\], got "-1"/);
});
