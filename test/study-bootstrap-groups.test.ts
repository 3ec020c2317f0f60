/**
 * The fast path of notebook 04's bootstrap (lib/study/components.ts studyBootstrap with `rowGroups`: the test rows
 * resampled as G interleaved groups from per-group sums) against (1) the definition, the row bootstrap: with one
 * row per group and weight-1 rows it gives the same intervals bit for bit for the same seed; (2) an independent
 * implementation written here, which expands each resample's drawn groups into their rows and scores every run
 * with lib/metrics logLoss on those rows (weighted, G not dividing n).
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { Rng, deriveSeed } from "../lib/data/random";
import { logLoss } from "../lib/metrics";
import { percentBetter, quantileSorted } from "../lib/stats";
import { ReplicateScores, studyBootstrap } from "../lib/study/components";

const MODELS = ["IP", "ESMM", "ESCM2"];
const SEEDS = [1, 2, 3];

function replicate(c: number, n: number, weighted: boolean): ReplicateScores {
  const rng = new Rng(deriveSeed(5, "groups-test", c));
  const label = Float64Array.from({ length: n }, () => (rng.bernoulli(0.08) ? 1 : 0));
  const weight = weighted ? Float64Array.from({ length: n }, () => (rng.bernoulli(0.5) ? 1 : 0.5 + 4 * rng.uniform())) : new Float64Array(n).fill(1);
  const runs = MODELS.flatMap((model, m) =>
    SEEDS.map((seed) => ({ model, seed, p: Float64Array.from(label, (y) => Math.min(0.99, (y ? 0.2 + 0.05 * m : 0.08) * (0.5 + rng.uniform()))) })),
  );
  return { world: c, draw: 7, label, weight, runs };
}

test("row groups of one row each, weight-1 rows: the row bootstrap's numbers bit for bit, same seed", () => {
  for (const r of [replicate(0, 400, false), replicate(1, 300, false)]) {
    for (const unit of ["seed", "replicate"] as const) {
      const rows = studyBootstrap([() => r], { resamples: 50, seed: 11, unit });
      const grouped = studyBootstrap([() => r], { resamples: 50, seed: 11, unit, rowGroups: r.label.length });
      assert.deepEqual(grouped, rows);
      assert.ok(rows.models.find((m) => m.model === "ESMM")!.se > 0);
    }
  }
});

/** The grouped bootstrap written independently: drawn groups expanded into their rows, every run scored by logLoss. */
function independent(reps: ReplicateScores[], G: number, resamples: number, seed: number, alpha: number) {
  const perRep = reps.map((r, c) => {
    const rng = new Rng(deriveSeed(seed, "replicate", c));
    const n = r.label.length;
    const percentOf = (rowsOf: number[], seeds: number[]) => {
      const y = rowsOf.map((i) => r.label[i]);
      const w = rowsOf.map((i) => r.weight![i]);
      const mean = (model: string) => seeds.reduce((s, sd) => s + logLoss(y, rowsOf.map((i) => r.runs.find((x) => x.model === model && x.seed === sd)!.p[i]), w), 0) / seeds.length;
      return new Map(MODELS.map((m) => [m, percentBetter(mean(m), mean("IP"), false)]));
    };
    const all = Array.from({ length: n }, (_, i) => i);
    const full = percentOf(all, SEEDS);
    const fixed: Map<string, number>[] = [];
    const drawn: Map<string, number>[] = [];
    for (let b = 0; b < resamples; b++) {
      const counts = new Array<number>(G).fill(0);
      for (let j = 0; j < G; j++) counts[rng.int(G)]++;
      const rowsOf: number[] = [];
      for (let g = 0; g < G; g++) for (let k = 0; k < counts[g]; k++) for (let i = g; i < n; i += G) rowsOf.push(i);
      fixed.push(percentOf(rowsOf, SEEDS));
      const seedDraw = SEEDS.map(() => SEEDS[rng.int(SEEDS.length)]);
      drawn.push(percentOf(rowsOf, seedDraw));
    }
    return { full, fixed, drawn };
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = (xs: number[]) => {
    const m = mean(xs);
    return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  };
  return MODELS.map((model) => {
    const d = Array.from({ length: resamples }, (_, b) => mean(perRep.map((p) => p.drawn[b].get(model)!)));
    const sorted = Float64Array.from(d).sort();
    return {
      model,
      estimate: mean(perRep.map((p) => p.full.get(model)!)),
      se: Math.sqrt(variance(d)),
      ci: [quantileSorted(sorted, alpha / 2), quantileSorted(sorted, 1 - alpha / 2)],
      rowsVariance: mean(perRep.map((p) => variance(p.fixed.map((f) => f.get(model)!)))),
    };
  });
}

test("row groups: the same intervals as an independent implementation that expands the drawn groups into rows (weighted rows, G not dividing n)", () => {
  const reps = [replicate(0, 250, true), replicate(1, 180, true)];
  const G = 23;
  const fast = studyBootstrap(reps.map((r) => () => r), { resamples: 40, seed: 4, rowGroups: G });
  const ref = independent(reps, G, 40, 4, 0.05);
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  for (const r of ref) {
    const f = fast.models.find((m) => m.model === r.model)!;
    close(f.estimate, r.estimate, `${r.model} estimate`);
    if (r.model === "IP") continue; // the baseline's se is 0 by definition
    close(f.se, r.se, `${r.model} se`);
    close(f.ci[0], r.ci[0], `${r.model} ci low`);
    close(f.ci[1], r.ci[1], `${r.model} ci high`);
    close(f.rowsVariance, r.rowsVariance, `${r.model} rowsVariance`);
    assert.ok(f.se > 0 && f.ci[0] < f.ci[1], `${r.model}: a real interval`);
  }
});

test("rowGroups is checked: an integer >= 2, at most a replicate's rows", () => {
  const r = replicate(0, 50, false);
  assert.throws(() => studyBootstrap([() => r], { resamples: 5, seed: 1, rowGroups: 1 }), /rowGroups must be an integer >= 2, got 1/);
  assert.throws(() => studyBootstrap([() => r], { resamples: 5, seed: 1, rowGroups: 51 }), /rowGroups 51 exceeds replicate 0:7's 50 test rows/);
});
