/**
 * Statistics for comparing models over repeated runs: Welch / Student t tests (scipy-compatible),
 * Holm adjustment, run summaries with t-based CIs, percent change vs a baseline, pairwise tables;
 * inference on a difference with its se and df (one-sample / paired t, one-sided, TOST equivalence,
 * non-inferiority), tests of equal spread (Brown–Forsythe, F ratio), power and minimum detectable effect
 * from the noncentral t.
 */
export * from "./ttest";
export * from "./multiple-testing";
export * from "./summary";
export * from "./pairwise";
export * from "./bootstrap";
export * from "./inference";
export * from "./variance-tests";
export * from "./noncentral-t";
export * from "./power";
export * from "./crossed";
