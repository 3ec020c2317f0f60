/**
 * Analysis of finished runs, apart from their execution (issue 23 point 4): the metric registry (metrics.ts) and
 * the one definition of a run's record and of what the analysis reads of it (record.ts).
 * The summaries, findings and views still live in lib/study and lib/notebook.
 */
export * from "./metrics";
export type * from "./record";
