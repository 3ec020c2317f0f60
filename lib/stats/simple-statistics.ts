/**
 * The few simple-statistics functions lib/stats uses, with their types.
 *
 * simple-statistics 7.12 ships its typings as ESM only ("type": "module", no .d.cts), so a CommonJS
 * TypeScript file cannot `import` it under module node16, while its CommonJS build loads fine with
 * require(). We require it and declare the signatures we use (copied from its index.d.ts).
 */
interface SimpleStatistics {
  mean(x: readonly number[]): number;
  sampleVariance(x: readonly number[]): number;
  /** Median (the mean of the two middle values for an even count); throws on an empty array. */
  median(x: readonly number[]): number;
  /** Pooled-variance two-sample t statistic; null when a sample is empty. */
  tTestTwoSample(sampleX: readonly number[], sampleY: readonly number[], difference?: number): number | null;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ss: SimpleStatistics = require("simple-statistics");

export const mean = ss.mean;
export const sampleVariance = ss.sampleVariance;
export const median = ss.median;
export const tTestTwoSample = ss.tTestTwoSample;
