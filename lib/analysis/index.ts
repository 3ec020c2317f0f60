/**
 * Analysis of finished runs, apart from their execution (issue 23 point 4): the metric registry (metrics.ts).
 * The summaries, findings and views still live in lib/study and lib/notebook.
 */
export * from "./metrics";
