/**
 * Seeded designs of N trials in [0, 1)^D: one matrix for a (kind, N, D, seed), shared by every model, so
 * trial k of every model sits at the same point (issue 14: the same budget, the same points).
 *
 * Kinds (SEARCH_DESIGNS, one generator each):
 * - "halton" (default): the Halton sequence (prime bases 2, 3, 5, ... per column) with random digit
 *   permutations (Matoušek 1998, "On the L2-discrepancy for anchored boxes"; the scrambling of
 *   scipy.stats.qmc.Halton(scramble=True) is of this family): every digit position of every column gets its
 *   own seeded permutation of 0..b-1, so each point is uniform on [0, 1)^D while the set keeps Halton's
 *   stratification, and the strong correlation of unscrambled high-base columns at small N (bases 19 and 23
 *   both increase monotonically over the first 19 points) is broken. Low discrepancy covers a space more
 *   evenly than independent draws (Bergstra & Bengio, JMLR 2012, recommend it for hyper-parameter search).
 * - "random": independent uniform draws, row by row.
 * Both draw from the project's seeded generator (lib/data/random.ts: xoroshiro128+, streams by deriveSeed);
 * no package on this machine's registries offers a maintained Sobol or Halton generator for JavaScript.
 *
 * The expected-maximum curve (./analysis.ts) reads the N trial scores as draws from the score
 * distribution the space induces; each scrambled-Halton point is marginally uniform, so each trial's score
 * is such a draw (the points are not independent, which makes the empirical distribution, if anything, a
 * closer estimate of it).
 */
import { Rng, deriveSeed } from "../data/random";

export type SearchDesignKind = "halton" | "random";

/** First primes: the Halton bases of the first columns. */
const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97];

/** Generators: N rows of D coordinates in [0, 1), from a seed. */
export const SEARCH_DESIGNS: Record<SearchDesignKind, (trials: number, dims: number, seed: number) => number[][]> = {
  halton(trials, dims, seed) {
    if (dims > PRIMES.length) throw new Error(`halton design: at most ${PRIMES.length} dimensions, got ${dims}`);
    const columns = Array.from({ length: dims }, (_, j) => {
      const base = PRIMES[j];
      // digits enough to resolve 2^-53: beyond them a digit changes nothing in a double
      const digits = Math.ceil((53 * Math.LN2) / Math.log(base));
      const rng = new Rng(deriveSeed(seed, "halton", j));
      const permutations = Array.from({ length: digits }, () => rng.shuffle(Int32Array.from({ length: base }, (_, d) => d)));
      return (index: number) => {
        let x = 0;
        let scale = 1 / base;
        let i = index;
        for (let k = 0; k < digits; k++) {
          x += permutations[k][i % base] * scale;
          i = Math.floor(i / base);
          scale /= base;
        }
        return Math.min(x, 1 - Number.EPSILON / 2); // the all-(b-1) digit string sums to 1 - b^-digits, but guard rounding
      };
    });
    return Array.from({ length: trials }, (_, i) => columns.map((c) => c(i)));
  },
  random(trials, dims, seed) {
    const rng = new Rng(deriveSeed(seed, "random-design"));
    return Array.from({ length: trials }, () => Array.from({ length: dims }, () => rng.uniform()));
  },
};

export const SEARCH_DESIGN_NAMES = Object.keys(SEARCH_DESIGNS) as SearchDesignKind[];

/**
 * The design: `trials` points of `dims` coordinates in [0, 1), deterministic for (kind, trials, dims, seed)
 * and a prefix of the same design with more trials (trial k does not depend on N). Throws on a non-positive
 * or non-integer count or a non-integer seed, or an unknown kind.
 */
export function searchDesign(trials: number, dims: number, seed: number, kind: SearchDesignKind = "halton"): number[][] {
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`design: trials must be an integer >= 1, got ${trials}`);
  if (!Number.isInteger(dims) || dims < 1) throw new Error(`design: dims must be an integer >= 1, got ${dims}`);
  if (!Number.isInteger(seed)) throw new Error(`design: seed must be an integer, got ${seed}`);
  const make = SEARCH_DESIGNS[kind];
  if (!make) throw new Error(`design: unknown kind ${JSON.stringify(kind)} (${SEARCH_DESIGN_NAMES.join(", ")})`);
  return make(trials, dims, seed);
}
