/**
 * esmm-lab's library: what notebooks, the CLI and the tests use. Notebooks import the compiled
 * `build/lib/index.js` (tslab compiles cells with the notebook folder as root, so it cannot take ../lib/*.ts)
 * as `lab` and call it by namespace, one per concern: `lab.study.summarizeStudy(records)`,
 * `lab.views.showTable(rows)`, `lab.views.fairReport.verdictTable(...)`. Types too: `lab.study.StudyRecord`.
 */
/** The impression log: schema, seeded simulator and worlds, Ali-CCP and CSV loaders, preparation and prepared files (lib/data). */
export * as data from "./data";
/** Data sources, a registry of kinds, and the one cache of prepared folders: sources.materialize(source, preparation, { root }) (lib/sources). */
export * as sources from "./sources";
/** Models as data: the zoo, loss kinds, trunk builders, validation and characteristics (lib/models). */
export * as models from "./models";
/** Training: batches, seeded shuffling, Adam with early stopping, evaluation and monitored losses (lib/train). */
export * as train from "./train";
/** Metrics of one run's predictions: classification, calibration, evaluation spaces, mechanism (lib/metrics). */
export * as metrics from "./metrics";
/** The metric registry and the record of a run as the analysis reads it: analysis.METRICS, metricRef, metricValue (lib/analysis). */
export * as analysis from "./analysis";
/** Statistics: t tests, multiple testing, bootstrap, power, variance tests, crossed designs (lib/stats). */
export * as stats from "./stats";
/** Studies: specs, the runner and its results, and their analysis as data: summaries, comparisons, findings, sensitivity (lib/study). */
export * as study from "./study";
/** Hyper-parameter tuning: search space, designs, the fair protocol and the beyond-the-paper studies (lib/tune). */
export * as tune from "./tune";
/** Plotly figures and charts, their display and export, and the progress bar (lib/plots). */
export * as plots from "./plots";
/** Views: results as tables, markdown, figures and model cards; report notebooks' views as views.dataReport, modelsReport, ablationReport, untunedReport, beyondReport, fairReport, realDataReport (lib/views). */
export * as views from "./views";
/** Number formats, a leaf module: formatNumber, formatPercent, formatP, countOf, formatRange, markdownTable (lib/format.ts). */
export * as format from "./format";
/** The compute backend: initBackend, tf, backendInfo (lib/backend). */
export * as backend from "./backend";
/** The documentation's generated blocks: writeGeneratedBlock and the registry of blocks (lib/report). */
export * as report from "./report";
