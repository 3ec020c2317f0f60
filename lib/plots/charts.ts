/**
 * Thin chart builders used across the notebooks. Each returns a plain Plotly Figure in the
 * project's template (font, colors, sizes), ready for showFigure / saveFigure.
 */
import { DEFAULT_HEIGHT, Figure } from "./figure";

/** Okabe-Ito colour-blind-safe palette (yellow moved last: it is faint on white). */
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"] as const;

export const FONT_FAMILY = '"DejaVu Sans", "Open Sans", Verdana, Arial, sans-serif';

const AXIS = {
  showline: true,
  linecolor: "#444",
  linewidth: 1,
  ticks: "outside",
  tickcolor: "#444",
  showgrid: true,
  gridcolor: "#e5e5e5",
  zeroline: false,
  automargin: true,
  title: { standoff: 8 },
};

/** The project's base layout. */
export function baseLayout(): Record<string, unknown> {
  return {
    font: { family: FONT_FAMILY, size: 13, color: "#222" },
    title: { font: { size: 16 }, x: 0.01, xanchor: "left" },
    colorway: [...PALETTE],
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    height: DEFAULT_HEIGHT,
    margin: { l: 64, r: 24, t: 56, b: 56 },
    xaxis: { ...AXIS },
    yaxis: { ...AXIS },
    legend: { bgcolor: "rgba(255,255,255,0.8)" },
    hoverlabel: { font: { family: FONT_FAMILY } },
  };
}

/** Deep merge of plain objects (arrays and other values in `b` replace those in `a`). */
export function mergeLayout(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? mergeLayout(prev, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Applies the project template to any figure (its own layout settings win). */
export function withTemplate(fig: Figure): Figure {
  return { ...fig, layout: mergeLayout(baseLayout(), (fig.layout ?? {}) as Record<string, unknown>) };
}

export interface ChartText {
  title?: string;
  xTitle?: string;
  yTitle?: string;
}

function titled({ title, xTitle, yTitle }: ChartText): Record<string, unknown> {
  const l: Record<string, unknown> = {};
  if (title !== undefined) l.title = { text: title };
  if (xTitle !== undefined) l.xaxis = { title: { text: xTitle } };
  if (yTitle !== undefined) l.yaxis = { title: { text: yTitle } };
  return l;
}

function checkLengths(what: string, expected: number, arrays: Record<string, ArrayLike<unknown> | undefined>): void {
  for (const [name, arr] of Object.entries(arrays)) {
    if (arr !== undefined && arr.length !== expected) {
      throw new RangeError(`${what}: ${name} has ${arr.length} entries but there are ${expected}`);
    }
  }
}

/** Symmetric errors (one half-width per bar) or asymmetric ones (distance below / above). */
export type ErrorSpec = ArrayLike<number> | { minus: ArrayLike<number>; plus: ArrayLike<number> };

/** Bars with error bars, e.g. a metric per model with its 95% CI half-width. */
export function barWithErrors(
  categories: string[],
  values: ArrayLike<number>,
  errors: ErrorSpec,
  options: ChartText & { name?: string; color?: string } = {},
): Figure {
  const asym = !isArrayLike(errors);
  checkLengths("barWithErrors", categories.length, {
    values,
    ...(asym ? { "errors.minus": errors.minus, "errors.plus": errors.plus } : { errors }),
  });
  const error_y = asym
    ? { type: "data", symmetric: false, array: Array.from(errors.plus), arrayminus: Array.from(errors.minus) }
    : { type: "data", array: Array.from(errors) };
  return {
    data: [
      {
        type: "bar",
        name: options.name ?? options.yTitle ?? "value",
        x: [...categories],
        y: Array.from(values),
        marker: { color: options.color ?? PALETTE[0] },
        error_y: { ...error_y, visible: true, color: "#333", thickness: 1.5, width: 6 },
      },
    ],
    layout: mergeLayout(mergeLayout(baseLayout(), { showlegend: false, xaxis: { showgrid: false } }), titled(options)),
  };
}

export interface LineSeries {
  name: string;
  x: ArrayLike<number | string>;
  y: ArrayLike<number>;
}

/** One line per series; markers are drawn when a series has at most 30 points. */
export function lineChart(series: LineSeries[], options: ChartText & { logY?: boolean } = {}): Figure {
  const data = series.map((s) => {
    checkLengths(`lineChart series "${s.name}"`, s.x.length, { y: s.y });
    return { type: "scatter", mode: s.x.length <= 30 ? "lines+markers" : "lines", name: s.name, x: Array.from(s.x), y: Array.from(s.y) };
  });
  const extra: Record<string, unknown> = { showlegend: series.length > 1 };
  if (options.logY) extra.yaxis = { type: "log" };
  return { data, layout: mergeLayout(mergeLayout(baseLayout(), titled(options)), extra) };
}

export interface FunnelStage {
  name: string;
  value: number;
}

/** A funnel (impressions -> clicks -> conversions), with value and % of the first stage. */
export function funnelChart(stages: FunnelStage[], options: { title?: string } = {}): Figure {
  return {
    data: [
      {
        type: "funnel",
        y: stages.map((s) => s.name),
        x: stages.map((s) => s.value),
        texttemplate: "%{value:,}<br>%{percentInitial:.3~%}",
        hovertemplate: "%{y}: %{value:,}<br>%{percentInitial:.3~%} of first stage<br>%{percentPrevious:.3~%} of previous<extra></extra>",
        marker: { color: stages.map((_, i) => PALETTE[i % PALETTE.length]) },
        connector: { fillcolor: "#e9e9e9", line: { color: "#bbb", width: 1 } },
      },
    ],
    layout: mergeLayout(mergeLayout(baseLayout(), titled(options)), {
      showlegend: false,
      margin: { l: 120 },
      xaxis: { showline: false, showgrid: false, showticklabels: false, ticks: "" },
      yaxis: { showline: false, showgrid: false, ticks: "" },
    }),
  };
}

/** One calibration curve: per probability bin, mean predicted probability and observed rate. */
export interface ReliabilityCurve {
  name: string;
  /** Mean predicted probability in each bin. */
  predicted: ArrayLike<number>;
  /** Observed positive rate in each bin. */
  observed: ArrayLike<number>;
  /** Samples per bin (shown on hover). */
  count?: ArrayLike<number>;
}

/**
 * Reliability diagram: observed rate against mean predicted probability, with the diagonal of
 * perfect calibration. Both axes span [0, max value] (CVR probabilities are small, so the full
 * [0, 1] square would squash every curve into a corner), at the same scale.
 */
export function reliabilityDiagram(curves: ReliabilityCurve[], options: { title?: string; max?: number } = {}): Figure {
  let top = 0;
  for (const c of curves) {
    checkLengths(`reliabilityDiagram curve "${c.name}"`, c.predicted.length, { observed: c.observed, count: c.count });
    for (const v of [...Array.from(c.predicted), ...Array.from(c.observed)]) if (Number.isFinite(v)) top = Math.max(top, v);
  }
  const max = options.max ?? Math.min(1, top > 0 ? top * 1.05 : 1);
  const data: object[] = [
    {
      type: "scatter",
      mode: "lines",
      name: "perfectly calibrated",
      x: [0, max],
      y: [0, max],
      line: { color: "#888", dash: "dash", width: 1 },
      hoverinfo: "skip",
    },
    ...curves.map((c, i) => ({
      type: "scatter",
      mode: "lines+markers",
      name: c.name,
      x: Array.from(c.predicted),
      y: Array.from(c.observed),
      line: { color: PALETTE[i % PALETTE.length] },
      ...(c.count ? { customdata: Array.from(c.count), hovertemplate: "predicted %{x:.4f}<br>observed %{y:.4f}<br>n = %{customdata:,}<extra>%{fullData.name}</extra>" } : {}),
    })),
  ];
  return {
    data,
    layout: mergeLayout(mergeLayout(baseLayout(), titled({ title: options.title ?? "Reliability diagram", xTitle: "mean predicted probability", yTitle: "observed rate" })), {
      xaxis: { range: [0, max], constrain: "domain" },
      yaxis: { range: [0, max], scaleanchor: "x", scaleratio: 1, constrain: "domain" },
      height: 520,
    }),
  };
}

function isArrayLike(v: ErrorSpec): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v) || typeof (v as { length?: unknown }).length === "number";
}
