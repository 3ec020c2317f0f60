/**
 * Statistics for comparing models over repeated runs: Welch / Student t tests (scipy-compatible),
 * Holm adjustment, run summaries with t-based CIs, percent change vs a baseline, pairwise tables.
 */
export * from "./ttest";
export * from "./multiple-testing";
export * from "./summary";
export * from "./pairwise";
export * from "./bootstrap";
