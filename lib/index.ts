/**
 * esmm-lab's library: what notebooks, the CLI and the tests use. Notebooks import the compiled
 * `build/lib/index.js` (tslab compiles cells with the notebook folder as root, so it cannot take ../lib/*.ts).
 */
// data: schema, simulator, loaders, preparation
export * from "./data/schema";
export { DataError } from "./data/errors";
export { Rng, deriveSeed } from "./data/random";
export { DEFAULT_SIMULATOR_CONFIG, resolveConfig } from "./data/simulator-config";
export { WORLD_PRIORS, WORLD_PRIOR_NAMES, drawWorld, getWorldPrior } from "./data/world-prior";
export type { WorldPrior, PriorParameter } from "./data/world-prior";
export type { SimulatorConfig, PlacementConfig } from "./data/simulator-config";
export { SIMULATED_SCHEMA, createWorld, generateDay } from "./data/simulator";
export * from "./data/simulated-files";
export { LOG_CACHE_FILE, LOG_CACHE_FORMAT } from "./data/log-cache";
export { logRecords, sampleIndices } from "./data/rows";
export * from "./data/prepare";
export * from "./data/prepared-files";
export type { EncodedSplit } from "./data/encoded";
export { loadAliCcpCsv, loadAliCcpSplits, loadAliCcpSplitsLog } from "./data/ali-ccp";
export { loadCsvLog, prepareCsv, readCsvSchemaFile, carveSplits } from "./data/csv-log";
export type { CsvColumns, CsvInput, CsvRole } from "./data/csv-log";
export { isLabelLikeName, labelLikeColumns, labelEchoes, LABEL_LIKE_NAMES } from "./data/label-like";
export { loadAliCcpRaw, loadAliCcpRawSplits, ALI_CCP_DEFAULT_FIELDS } from "./data/ali-ccp-raw";
// data sources (a registry of kinds) and the one cache of prepared folders: lab.sources.materialize(source, preparation, { root })
export * as sources from "./sources";
// metrics and statistics; the metric registry (lab.analysis.METRICS, metricRef, metricValue: lib/analysis/metrics.ts)
export * as analysis from "./analysis";
export * from "./metrics";
export * from "./stats";
// figures, tables and progress in notebooks
export * from "./plots";
export { showTable, tableHtml, tableText } from "./views/tables";
export { publishFigure } from "./views/figures";
export { showModelCard, modelDiagramSvg, modelCardText, CHARACTERISTIC_LABELS } from "./views/model-card";
export { modelTableRows, modelTableMarkdown } from "./views/model-table";
export { formatMetricCell, metricColumnHeader, metricTableRows, metricTableMarkdown } from "./views/metric-table";
export { epochChoiceRows, epochChoiceMarkdown } from "./views/epoch-choice";
export * from "./views/findings";
export * from "./views/sensitivity";
export * from "./views/study-summary";
export * from "./views/study-run";
// backend, models, training, runs
export { initBackend, tf, backendInfo, availableBackends } from "./backend";
export type { BackendInfo, BackendName, TF } from "./backend";
export * from "./models";
export * from "./train";
export * from "./study/run";
export * from "./study";
export * from "./study/sensitivity";
export * from "./study/summary";
export * from "./study/metric-table";
export * from "./study/epoch-choice";
export * from "./study/findings";
export * from "./study/compare";
export * from "./study/meta-regression";
export * from "./study/components";
export * from "./study/replicate-scores";
export { formatNumber, formatPercent, formatP, markdownTable, countOf, formatRange } from "./format";
export * as fairReport from "./views/fair-report";
export * as generatedBlocks from "./report/generated-blocks";
export * as beyondReport from "./views/beyond-report";
export * as untunedReport from "./views/untuned-report";
export * from "./tune";
