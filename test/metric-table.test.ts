/**
 * lib/study/metric-table.ts (DDPO Table 2's AUCs beside the cross-entropies, per model over seeds) and its view
 * lib/views/metric-table.ts, on runs whose test predictions are scikit-learn reference cases
 * (test/fixtures/reference/stats_metrics_cases.json, roc_auc_score): two models x three seeds, each run one case.
 * Each run's test split is the case's rows as clicked rows (conversion = the case's label, pCvr = pCtcvr = the
 * case's prediction) plus K non-clicked rows that would move either AUC if their space were wrong: pCvr 0.99 and
 * a conversion on some of them (not in the CVR space: clicked rows only; in the CTCVR space as negatives, since
 * a conversion without a click does not count there), pCtcvr 0 (below every case prediction). So each run's CVR
 * AUC is the case's roc_auc exactly, and its CTCVR AUC is (roc_auc N + K) / (N + K), N the case's negatives: the
 * K rows add K x P correctly ordered pairs. The summary numbers then follow in closed form: the mean, se = sd /
 * sqrt(3), the 95 % t interval with t(0.975, 2) = 0.95 sqrt(2 / 0.0975) (Student's t with 2 df in closed form),
 * and % vs IP paired by seed, 100 mean(E - I) / mean(I) with se 100 sd(E - I) / sqrt(3) / mean(I).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import { evaluateSpaces } from "../lib/metrics/spaces";
import type { StudyResult } from "../lib/study/summary";
import { PUBLISHED_TABLE_METRICS, metricTable } from "../lib/study/metric-table";
import { formatMetricCell, metricTableMarkdown, metricTableRows } from "../lib/views/metric-table";

interface MetricsCase {
  y: number[];
  p: number[];
  roc_auc: number;
}
const cases: MetricsCase[] = JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, "reference", "stats_metrics_cases.json"), "utf8")).metrics;
const K = 40;

function runOn(model: string, seed: number, c: MetricsCase): StudyResult {
  const click = [...c.y.map(() => 1), ...Array.from({ length: K }, () => 0)];
  const conversion = [...c.y, ...Array.from({ length: K }, (_, i) => (i % 2 === 0 ? 1 : 0))];
  const pCvr = [...c.p, ...Array.from({ length: K }, () => 0.99)];
  const pCtcvr = [...c.p, ...Array.from({ length: K }, () => 0)];
  const pCtr = click.map(() => 0.5);
  return { model, seed, test: { metrics: evaluateSpaces({ click, conversion, pCtr, pCvr, pCtcvr }) } };
}

const MODELS = ["IP", "ESMM"];
const SEEDS = [1, 2, 3];
const records = MODELS.flatMap((model, m) => SEEDS.map((seed, s) => runOn(model, seed, cases[3 * m + s])));
const cvrAuc = (m: number) => SEEDS.map((_, s) => cases[3 * m + s].roc_auc);
const ctcvrAuc = (m: number) =>
  SEEDS.map((_, s) => {
    const c = cases[3 * m + s];
    const negatives = c.y.filter((y) => y === 0).length;
    return (c.roc_auc * negatives + K) / (negatives + K);
  });

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1));
const T_975_DF2 = 0.95 * Math.sqrt(2 / 0.0975);
const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

test("each run's CVR AUC is scikit-learn's on the clicked rows, its CTCVR AUC the one on all rows (a conversion without a click is a negative)", () => {
  records.forEach((r, i) => {
    close(r.test.metrics.cvr!.rocAuc!, cases[i].roc_auc, `run ${i} cvr.rocAuc`);
    const negatives = cases[i].y.filter((y) => y === 0).length;
    close(r.test.metrics.ctcvr.rocAuc!, (cases[i].roc_auc * negatives + K) / (negatives + K), `run ${i} ctcvr.rocAuc`);
  });
});

test("metricTable: per model and AUC the mean over seeds, its standard error, the 95 % t interval and % vs IP paired by seed", () => {
  const t = metricTable(records, { metrics: ["cvr.rocAuc", "ctcvr.rocAuc"] });
  assert.equal(t.baseline, "IP");
  assert.deepEqual(t.columns.map((c) => [c.metric, c.rows, c.prediction, c.higherIsBetter]), [["cvr.rocAuc", "clicks", "pCvr", true], ["ctcvr.rocAuc", "impressions", "pCtcvr", true]]);
  assert.deepEqual(t.rows.map((r) => [r.model, r.seeds]), [["IP", SEEDS], ["ESMM", SEEDS]]);
  for (const [j, values] of [cvrAuc, ctcvrAuc].entries()) {
    for (const m of [0, 1]) {
      const cell = t.rows[m].cells[j];
      const xs = values(m);
      assert.equal(cell.n, 3);
      assert.equal(cell.undefinedRuns, 0);
      close(cell.mean, mean(xs), `${MODELS[m]} column ${j} mean`);
      close(cell.se, sd(xs) / Math.sqrt(3), `${MODELS[m]} column ${j} se`);
      close(cell.ci95[0], mean(xs) - T_975_DF2 * (sd(xs) / Math.sqrt(3)), `${MODELS[m]} column ${j} ci low`);
      close(cell.ci95[1], mean(xs) + T_975_DF2 * (sd(xs) / Math.sqrt(3)), `${MODELS[m]} column ${j} ci high`);
    }
    const ip = values(0);
    const diffs = values(1).map((x, s) => x - ip[s]);
    assert.equal(t.rows[0].cells[j].percentVsBaseline, 0);
    close(t.rows[1].cells[j].percentVsBaseline, (100 * mean(diffs)) / mean(ip), `column ${j} % vs IP`);
    close(t.rows[1].cells[j].percentVsBaselineSe, (100 * sd(diffs)) / Math.sqrt(3) / mean(ip), `column ${j} se of % vs IP`);
  }
});

test("metricTable: the default columns are DDPO Table 2's AUCs, then the cross-entropies; a run without a value is counted, not averaged", () => {
  const t = metricTable(records);
  assert.deepEqual(t.columns.map((c) => c.metric), [...PUBLISHED_TABLE_METRICS]);
  assert.deepEqual(t.columns.map((c) => c.label), ["CVR ROC-AUC", "CTCVR ROC-AUC", "CTCVR cross-entropy", "CVR cross-entropy"]);
  // One IP run whose clicked rows are all converted: its CVR AUC is undefined (one class), the other two count.
  const oneClass = runOn("IP", 4, { y: [1, 1, 1], p: [0.2, 0.3, 0.4], roc_auc: NaN });
  assert.ok(Number.isNaN(oneClass.test.metrics.cvr!.rocAuc!));
  const withUndefined = metricTable([...records, oneClass], { metrics: ["cvr.rocAuc"] });
  const ipCell = withUndefined.rows[0].cells[0];
  assert.equal(ipCell.n, 3);
  assert.equal(ipCell.undefinedRuns, 1);
  assert.equal(ipCell.absentRuns, 0);
  close(ipCell.mean, mean(cvrAuc(0)), "IP mean without the undefined run");
  assert.match(formatMetricCell(ipCell), /\(1 undefined\)$/);
  // A model without a pCVR (ESP: one CTCVR output) has no CVR space in its records: absent, not undefined.
  const noCvr = SEEDS.map((seed, s) => {
    const r = runOn("ESP", seed, cases[s]);
    return { ...r, test: { metrics: { ctcvr: r.test.metrics.ctcvr } } };
  });
  const withAbsent = metricTable([...records, ...noCvr], { metrics: ["cvr.rocAuc", "ctcvr.rocAuc"] });
  const esp = withAbsent.rows.find((r) => r.model === "ESP")!;
  assert.deepEqual([esp.cells[0].n, esp.cells[0].undefinedRuns, esp.cells[0].absentRuns], [0, 0, 3]);
  assert.deepEqual([esp.cells[1].n, esp.cells[1].absentRuns], [3, 0]);
  assert.equal(metricTableRows(withAbsent).find((r) => r.model === "ESP")!["CVR ROC-AUC (clicked rows): mean ± se [95 % t]"], "- (3 without pCvr)");
});

test("the views: one cell as mean ± se [95 % t interval], % vs IP as formatPercent's, a markdown table of one row per model", () => {
  assert.equal(formatMetricCell({ n: 3, undefinedRuns: 0, absentRuns: 0, mean: 0.61234, se: 0.0021, ci95: [0.60331, 0.62137], percentVsBaseline: 0, percentVsBaselineSe: NaN }), "0.6123 ± 0.0021 [0.6033, 0.6214]");
  assert.equal(formatMetricCell({ n: 1, undefinedRuns: 0, absentRuns: 0, mean: 0.5, se: NaN, ci95: [NaN, NaN], percentVsBaseline: 0, percentVsBaselineSe: NaN }), "0.5");
  assert.equal(formatMetricCell({ n: 0, undefinedRuns: 2, absentRuns: 0, mean: NaN, se: NaN, ci95: [NaN, NaN], percentVsBaseline: NaN, percentVsBaselineSe: NaN }), "- (2 undefined)");
  const t = metricTable(records, { metrics: ["cvr.rocAuc"] });
  const rows = metricTableRows(t);
  assert.deepEqual(Object.keys(rows[0]), ["model", "seeds", "CVR ROC-AUC (clicked rows): mean ± se [95 % t]", "CVR ROC-AUC (clicked rows): % vs IP"]);
  const pct = t.rows[1].cells[0];
  assert.equal(rows[1]["CVR ROC-AUC (clicked rows): % vs IP"], `${pct.percentVsBaseline > 0 ? "+" : ""}${pct.percentVsBaseline.toFixed(2)} % ± ${pct.percentVsBaselineSe.toFixed(2)}`);
  const md = metricTableMarkdown(t).split("\n");
  assert.equal(md.length, 4);
  assert.equal(md[0], "| model | seeds | CVR ROC-AUC (clicked rows): mean ± se [95 % t] | CVR ROC-AUC (clicked rows): % vs IP |");
  assert.ok(md[3].startsWith("| ESMM | 3 | "));
});
