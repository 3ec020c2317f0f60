/**
 * Views: results turned into tables (rows for showTable, markdown), figures and model cards. Domain code returns
 * data; these modules only format it (numbers through lib/format.ts). Each report notebook's views are one module,
 * exported as a namespace of its own: dataReport (01), modelsReport (02), ablationReport (03), untunedReport (04),
 * beyondReport (06), fairReport (07), realDataReport (08); notebook 05's are flat (sensitivity.ts).
 */
export { showTable, tableHtml, tableText } from "./tables";
export { publishFigure } from "./figures";
export { showModelCard, modelDiagramSvg, modelCardText, CHARACTERISTIC_LABELS } from "./model-card";
export { modelTableRows, modelTableMarkdown } from "./model-table";
export { formatMetricCell, metricColumnHeader, metricTableRows, metricTableMarkdown } from "./metric-table";
export { epochChoiceRows, epochChoiceMarkdown } from "./epoch-choice";
export * from "./study-summary";
export * from "./findings";
export * from "./sensitivity";
export * from "./study-run";
export * as untunedReport from "./untuned-report";
export * as beyondReport from "./beyond-report";
export * as fairReport from "./fair-report";
export * as dataReport from "./data-report";
export * as modelsReport from "./models-report";
export * as ablationReport from "./ablation-report";
export * as realDataReport from "./real-data-report";
