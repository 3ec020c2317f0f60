/**
 * Plotting layer: Plotly figures for notebooks (showFigure) and files (saveFigure), chart
 * builders in the project's template, and a progress display for notebooks and the CLI.
 */
export type { Figure } from "./figure";
export { DEFAULT_WIDTH, DEFAULT_HEIGHT, describeFigure, standaloneHtml, plotlyBundlePath, plotlyVersion } from "./figure";
export type { SaveFigureOptions, FigureFormat } from "./save";
export { saveFigure, defaultFiguresDir, projectDir } from "./save";
export type { FigureRenderer } from "./export-cache";
export { EXPORT_RECORD_FILE, FORCE_EXPORT_ENV, figureExportKey } from "./export-cache";
export type { FigureExporterOptions, StaticFormat } from "./export";
export {
  closeFigureExporter,
  configureFigureExporter,
  renderFigure,
  ChromiumMissingError,
  CHROMIUM_INSTALL_HINT,
  findChromium,
  figureExporterRunning,
} from "./export";
export type { ShowFigureOptions, FigureBundle } from "./notebook";
export { showFigure, PLOTLY_MIME, resetPlotlyInlining } from "./notebook";
export { inKernel } from "./kernel";
export type { ChartText, ErrorSpec, LineSeries, FunnelStage, ReliabilityCurve } from "./charts";
export { PALETTE, FONT_FAMILY, baseLayout, mergeLayout, withTemplate, barWithErrors, lineChart, funnelChart, reliabilityDiagram } from "./charts";
export type { Progress, ProgressOptions, ProgressInfo, ProgressMode, ProgressState } from "./progress";
export { createProgress, formatProgressLine, formatDuration } from "./progress";
