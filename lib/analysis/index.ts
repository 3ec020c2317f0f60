/**
 * Analysis of finished runs, apart from their execution (issue 23 point 4): the metric registry (metrics.ts) and
 * the one definition of a run's record and of what the analysis reads of it (record.ts).
 * The summaries and findings live in lib/study, their views in lib/views.
 */
export * from "./metrics";
export type * from "./record";
