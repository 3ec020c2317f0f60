/**
 * The mean of a two-way crossed random-effects layout, with a standard error that holds both factors'
 * variance: the analysis of the fair protocol (issue 22), where each tuning repeat r (its own tuning world,
 * design and seeds: a draw of the selection procedure) is evaluated on every evaluation world w (a draw from
 * the world prior). A cell y[r][w] is one contrast (e.g. % better than IP, averaged over the cell's seeds).
 *
 * Model (balanced, R x W cells, one value each): y_rw = mu + a_r + b_w + e_rw, a ~ N(0, s2_a) the
 * selection's (repeat) effect, b ~ N(0, s2_b) the world's, e the interaction plus within-cell noise. The
 * grand mean ybar estimates mu with Var(ybar) = s2_a / R + s2_b / W + s2_e / (R W). From the two-way ANOVA
 * without replication, E[MS_R] = s2_e + W s2_a, E[MS_W] = s2_e + R s2_b, E[MS_E] = s2_e, so
 *   Var(ybar) = (MS_R + MS_W - MS_E) / (R W),
 * an unbiased estimate (Montgomery, Design and Analysis of Experiments, ch. 13-14, the random-effects model;
 * Searle, Casella & McCulloch, Variance Components, 1992, ch. 4). When that linear combination is below
 * MS_E / (R W) (negative variance-component estimates) the larger of MS_R and MS_W alone bounds it instead,
 * never less than the one-factor analysis. Degrees of freedom: Satterthwaite (1946) for the combination,
 *   df = (MS_R + MS_W - MS_E)^2 / (MS_R^2 / (R-1) + MS_W^2 / (W-1) + MS_E^2 / ((R-1)(W-1))).
 * With R = 1 it is the one-sample t over worlds (df W - 1); with W = 1 over repeats.
 */
import type { TEstimate } from "./inference";

export interface CrossedEstimate extends TEstimate {
  /** Rows (repeats) and columns (worlds) used. */
  rows: number;
  columns: number;
  /** Mean squares of rows, columns and the residual (interaction), and the variance components (floored at 0). */
  msRows: number;
  msColumns: number;
  msResidual: number;
  components: { rows: number; columns: number; residual: number };
}

/**
 * The grand mean of `cells` (R rows x W columns, every value finite: a balanced layout) with its se and df
 * (see the header). Throws on a ragged or non-finite layout, or fewer than 2 cells in all; R = 1 or W = 1
 * reduce to the one-sample t over the other factor.
 */
export function crossedMean(cells: readonly (readonly number[])[]): CrossedEstimate {
  const R = cells.length;
  const W = R > 0 ? cells[0].length : 0;
  if (R === 0 || W === 0 || R * W < 2) throw new Error(`crossedMean: need at least 2 cells, got ${R} x ${W}`);
  for (const [r, row] of cells.entries()) {
    if (row.length !== W) throw new Error(`crossedMean: row ${r} has ${row.length} cells, row 0 has ${W} (the layout must be balanced)`);
    for (const [w, x] of row.entries()) if (!Number.isFinite(x)) throw new Error(`crossedMean: cell [${r}][${w}] is ${x}`);
  }
  const grand = cells.reduce((a, row) => a + row.reduce((b, x) => b + x, 0), 0) / (R * W);
  const rowMeans = cells.map((row) => row.reduce((a, x) => a + x, 0) / W);
  const colMeans = Array.from({ length: W }, (_, w) => cells.reduce((a, row) => a + row[w], 0) / R);
  const ssRows = W * rowMeans.reduce((a, m) => a + (m - grand) ** 2, 0);
  const ssCols = R * colMeans.reduce((a, m) => a + (m - grand) ** 2, 0);
  let ssRes = 0;
  for (let r = 0; r < R; r++) for (let w = 0; w < W; w++) ssRes += (cells[r][w] - rowMeans[r] - colMeans[w] + grand) ** 2;
  if (R === 1 || W === 1) {
    // one factor: the one-sample t over the cells
    const n = R * W;
    const flat = cells.flat();
    const v = flat.reduce((a, x) => a + (x - grand) ** 2, 0) / (n - 1);
    return {
      estimate: grand,
      se: Math.sqrt(v / n),
      df: n - 1,
      rows: R,
      columns: W,
      msRows: R > 1 ? v : NaN,
      msColumns: W > 1 ? v : NaN,
      msResidual: NaN,
      components: { rows: R > 1 ? v : 0, columns: W > 1 ? v : 0, residual: 0 },
    };
  }
  const msRows = ssRows / (R - 1);
  const msCols = ssCols / (W - 1);
  const msRes = ssRes / ((R - 1) * (W - 1));
  const combination = msRows + msCols - msRes;
  let variance: number;
  let df: number;
  if (combination >= Math.max(msRows, msCols)) {
    variance = combination / (R * W);
    df = (combination * combination) / ((msRows * msRows) / (R - 1) + (msCols * msCols) / (W - 1) + (msRes * msRes) / ((R - 1) * (W - 1)));
  } else {
    // MS_E exceeds the smaller factor's MS: that component's estimate is negative; keep the larger factor's MS
    const rowsLarger = msRows >= msCols;
    variance = (rowsLarger ? msRows : msCols) / (R * W);
    df = rowsLarger ? R - 1 : W - 1;
  }
  return {
    estimate: grand,
    se: Math.sqrt(variance),
    df,
    rows: R,
    columns: W,
    msRows,
    msColumns: msCols,
    msResidual: msRes,
    components: { rows: Math.max(0, (msRows - msRes) / W), columns: Math.max(0, (msCols - msRes) / R), residual: msRes },
  };
}

/**
 * The se and Satterthwaite df of the grand mean under a planned R x W crossed design, from measured variance
 * components (crossedMean's `components`, in the cells' units): se^2 = rows / R + columns / W + residual / (R W),
 * df from the expected mean squares E[MS_R] = residual + W rows, E[MS_W] = residual + R columns, E[MS_E] = residual.
 */
export function crossedPlannedSe(components: CrossedEstimate["components"], R: number, W: number): { se: number; df: number } {
  const { rows, columns, residual } = components;
  const se = Math.sqrt(rows / R + columns / W + residual / (R * W));
  const msR = residual + W * rows;
  const msW = residual + R * columns;
  const combination = msR + msW - residual;
  const denominator = (R > 1 ? (msR * msR) / (R - 1) : 0) + (W > 1 ? (msW * msW) / (W - 1) : 0) + (R > 1 && W > 1 ? (residual * residual) / ((R - 1) * (W - 1)) : 0);
  return { se, df: denominator > 0 ? (combination * combination) / denominator : NaN };
}
