/**
 * Pairwise model comparison as in the paper's result tables: for every pair of groups (models), a
 * Welch t test over their per-seed metric values; the p-values of all k(k-1)/2 unordered pairs are
 * Holm-adjusted together. Group A is "better than" B when A's mean is better (higher if
 * `higherIsBetter`, else lower) and the Holm-adjusted p (or the raw p with `adjust: "none"`) is
 * < alpha (default 0.01). Every ordered pair (A, B) is listed; (B, A) has the same p and the opposite t.
 * Pairs whose test is undefined (both groups constant and equal) get p = NaN and are never "better".
 */
import { holm } from "./multiple-testing";
import { Summary, summarize } from "./summary";
import { welchTTest } from "./ttest";

export interface PairwiseOptions {
  /** Significance level (default 0.01). */
  alpha?: number;
  /** true for AUC-like metrics, false for losses. */
  higherIsBetter: boolean;
  /** Which p decides "better than": Holm-adjusted (default) or raw. */
  adjust?: "holm" | "none";
}

export interface PairwiseComparison {
  a: string;
  b: string;
  meanA: number;
  meanB: number;
  /** Welch t of a vs b (positive when mean a > mean b), its df and two-sided p. */
  t: number;
  df: number;
  p: number;
  /** Holm-adjusted p over all unordered pairs. */
  pHolm: number;
  /** a's mean is better and the deciding p is < alpha. */
  aBetter: boolean;
}

export interface PairwiseReport {
  alpha: number;
  higherIsBetter: boolean;
  adjust: "holm" | "none";
  summaries: Record<string, Summary>;
  /** Every ordered pair (a, b), a != b, in group order. */
  comparisons: PairwiseComparison[];
  /** betterThan[a] = the groups a is significantly better than, in group order. */
  betterThan: Record<string, string[]>;
}

export function pairwiseComparisons(groups: Record<string, ArrayLike<number>>, options: PairwiseOptions): PairwiseReport {
  const alpha = options.alpha ?? 0.01;
  const adjust = options.adjust ?? "holm";
  const { higherIsBetter } = options;
  const names = Object.keys(groups);
  const summaries: Record<string, Summary> = {};
  for (const name of names) summaries[name] = summarize(groups[name]);

  // One test per unordered pair, then Holm over all of them.
  const tests = new Map<string, { i: number; j: number; t: number; df: number; p: number }>();
  const pairs: Array<{ i: number; j: number; t: number; df: number; p: number }> = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const r = welchTTest(groups[names[i]], groups[names[j]]);
      pairs.push({ i, j, ...r });
    }
  }
  const adjusted = holm(pairs.map((q) => q.p));
  const pHolmOf = new Map<string, number>();
  pairs.forEach((q, k) => {
    tests.set(`${q.i},${q.j}`, q);
    pHolmOf.set(`${q.i},${q.j}`, adjusted[k]);
  });

  const comparisons: PairwiseComparison[] = [];
  const betterThan: Record<string, string[]> = {};
  for (let i = 0; i < names.length; i++) {
    betterThan[names[i]] = [];
    for (let j = 0; j < names.length; j++) {
      if (i === j) continue;
      const key = i < j ? `${i},${j}` : `${j},${i}`;
      const test = tests.get(key)!;
      const pHolm = pHolmOf.get(key)!;
      const meanA = summaries[names[i]].mean;
      const meanB = summaries[names[j]].mean;
      const better = higherIsBetter ? meanA > meanB : meanA < meanB;
      const decidingP = adjust === "holm" ? pHolm : test.p;
      const aBetter = better && decidingP < alpha;
      comparisons.push({
        a: names[i],
        b: names[j],
        meanA,
        meanB,
        t: i < j ? test.t : -test.t,
        df: test.df,
        p: test.p,
        pHolm,
        aBetter,
      });
      if (aBetter) betterThan[names[i]].push(names[j]);
    }
  }
  return { alpha, higherIsBetter, adjust, summaries, comparisons, betterThan };
}
