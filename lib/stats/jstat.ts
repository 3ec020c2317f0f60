/**
 * The one jStat function lib/stats uses, with its type.
 *
 * jstat 1.9.6 ships no TypeScript declarations, so (as for simple-statistics) we require() its CommonJS
 * build and declare the signature we use.
 *
 * We do NOT use jStat.noncentralt.cdf: measured against scipy 1.17.1 (Boost) on df 1..200, ncp 0..15,
 * its absolute error reaches 2.5e-8 (ncp = 0, where it falls back to jStat.studentt.cdf) and 1.0e-8 for
 * ncp > 0 (its incomplete beta, jStat.ibeta, limits it). See ./noncentral-t.ts.
 */
interface JStat {
  /**
   * The error function, from Numerical Recipes 3rd ed. (erfccheb, a Chebyshev fit of erfc, full double
   * precision); it returns 1 - erfc(x), so 1 - erf(x) is good to ~1e-16 absolute, not relative.
   */
  erf(x: number): number;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jStat: JStat = require("jstat");

export const erf = jStat.erf;
