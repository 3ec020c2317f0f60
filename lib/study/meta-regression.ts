/**
 * What each conclusion depends on (issue 22, point 3): the effect behind a finding, per evaluation world, regressed
 * on the world's parameters drawn from the world prior (lib/data/world-prior.ts).
 *
 * Per world w, the finding's contrast (findingContrast: e.g. ESMM vs IP, or the 2x2 interaction) over the world's
 * runs (every repeat and seed), in percent of IP's mean on that world (lib/study/compare.ts contrastEstimate): y_w.
 * Per parameter, the simple least-squares line y_w = a + b z_w with z the parameter standardised over the worlds
 * (log scale for log-uniform parameters), so b is the change of the effect per standard deviation of the parameter;
 * its se = sqrt(s2 / Sxx), s2 = SSE / (W - 2), and a two-sided t test on W - 2 df (the textbook OLS slope test, as
 * scipy.stats.linregress). One parameter at a time: with 8 worlds, a joint fit of 5 parameters would leave 2 df.
 * Slopes are descriptive (no multiplicity control over parameters x findings): a small p says where to look, not
 * what causes what. A slope is confounded by any parameter drawn in correlation with it: in the "ad-logs" prior
 * targetCvr and targetCtr are (a known defect, lib/data/world-prior.ts), so their two slopes are one.
 */
import { drawWorld, getWorldPrior } from "../data/world-prior";
import { twoSidedP } from "../stats";
import { Contrast, DesignRun, contrastEstimate } from "./compare";

export interface WorldSlope {
  parameter: string;
  /** Change of the effect (percentage points) per standard deviation of the parameter (log scale when log-uniform). */
  slope: number;
  se: number;
  t: number;
  df: number;
  p: number;
}

export interface MetaRegression {
  /** Worlds used, their effect (percent) and their drawn parameters. */
  worlds: { world: number; effect: number; parameters: Record<string, number> }[];
  slopes: WorldSlope[];
}

/**
 * The per-world effects of `contrast` over `runs` and their slopes on the prior's parameters (see the header). Worlds
 * whose contrast is undefined (a model missing) are left out. Throws on an unknown prior.
 */
export function metaRegression(runs: readonly DesignRun[], contrast: Contrast, options: { prior: string; higherIsBetter: boolean; baseline?: string }): MetaRegression {
  const prior = getWorldPrior(options.prior);
  const worlds = [...new Set(runs.flatMap((r) => (r.world === undefined ? [] : [r.world])))].sort((a, b) => a - b); // real data has no world
  const rows = worlds
    .map((world) => {
      const c = contrastEstimate(
        runs.filter((r) => r.world === world),
        contrast,
        { higherIsBetter: options.higherIsBetter, baseline: options.baseline, unit: "seed", powerAnalysis: false },
      );
      return { world, effect: c.estimate, parameters: drawWorld(prior.name, world).values };
    })
    .filter((r) => Number.isFinite(r.effect));
  const slopes = prior.parameters.map((p) => {
    const x = rows.map((r) => (p.kind === "logUniform" ? Math.log(r.parameters[p.name]) : r.parameters[p.name]));
    return { parameter: p.name, ...olsSlope(x, rows.map((r) => r.effect)) };
  });
  return { worlds: rows, slopes };
}

/** Slope of y on standardised x (per sd of x), its se, t, df = n - 2 and two-sided p; NaN with fewer than 3 points or constant x. */
export function olsSlope(x: readonly number[], y: readonly number[]): Omit<WorldSlope, "parameter"> {
  const n = x.length;
  const none = { slope: NaN, se: NaN, t: NaN, df: n - 2, p: NaN };
  if (n < 3 || y.length !== n) return none;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  const sdx = Math.sqrt(x.reduce((a, v) => a + (v - mx) ** 2, 0) / (n - 1));
  if (!(sdx > 0)) return none;
  const z = x.map((v) => (v - mx) / sdx);
  const sxx = z.reduce((a, v) => a + v * v, 0);
  const slope = z.reduce((a, v, i) => a + v * (y[i] - my), 0) / sxx;
  const sse = y.reduce((a, v, i) => a + (v - my - slope * z[i]) ** 2, 0);
  const se = Math.sqrt(sse / (n - 2) / sxx);
  const t = slope / se;
  return { slope, se, t, df: n - 2, p: se > 0 ? twoSidedP(t, n - 2) : NaN };
}
