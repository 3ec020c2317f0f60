/**
 * lib/views/untuned-report.ts, notebook 04's views, on small hand-made summaries with the rows written out: each
 * function only shapes data, so the expected rows are the inputs rearranged, and the predicted MDE of a planned
 * design is checked against scipy (test/fixtures/reference/power_cases.json "mde": se 1, df 4, alpha 0.01, power 0.8
 * gives 5.87856404201775; at df 9 the noncentrality 4.2122553813144705) through plannedSe's formulas (lib/study/components.ts),
 * with components chosen so that se = 1 exactly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import {
  acrossWorldsRows,
  calibrationRows,
  figure3Figure,
  figure3Markdown,
  figure3Rows,
  findingMethodRows,
  findingsComparisonMarkdown,
  ModelLike,
  noiseRows,
  oracleGapFigure,
  oracleGapRows,
  percentChangeFigure,
  reliabilityFigure,
  plannedMdeRows,
  powerFigure,
  replicateRows,
  shiftDayNames,
  studyDesignLabel,
  SummaryLike,
  temporalShiftFigure,
  temporalShiftRows,
  varianceFigure,
} from "../lib/views/untuned-report";
import { countOf, formatRange } from "../lib/format";

const mdeCases: { se: number; df: number; alpha: number; power: number; ncp: number }[] = JSON.parse(
  fs.readFileSync(path.join(FIXTURES_DIR, "reference", "power_cases.json"), "utf8"),
).mde;
/** scipy's MDE at se 1 (its noncentrality) for `df`, alpha 0.01, power 0.8. */
const scipyMde = (df: number) => {
  const c = mdeCases.find((x) => x.df === df && x.alpha === 0.01 && x.power === 0.8);
  assert.ok(c, `power_cases.json has no MDE case with df ${df}, alpha 0.01, power 0.8`);
  return c.ncp;
};

const ip: ModelLike = { model: "IP", n: 4, mean: 0.012, se: 0.0002, percentVsBaseline: 0, percentVsBaselineSe: 1.7, ownSePercent: 1.666, betterThan: ["ESMM"], betterThanHolm: [], parameters: 67522, oracleGap: 0.002 };
const esmm: ModelLike = {
  model: "ESMM",
  n: 4,
  mean: 0.013,
  se: 0.0003,
  percentVsBaseline: -8.5,
  percentVsBaselineSe: 2.25,
  ownSePercent: 2.5,
  betterThan: [],
  betterThanHolm: [],
  parameters: 36386,
  oracleGap: 0.003,
  vsBaseline: { design: "paired", units: 4, df: 3, replicates: 1, p: 0.0123, mde: 9.876, powerAtOnePercent: 0.0456, unitValues: [-1, 2.5] },
};
const summary: SummaryLike = { baseline: "IP", replicates: 1, seedsPerReplicate: [4, 4], conversions: { min: 31, max: 39, differ: true }, models: [ip, esmm] };

test("studyDesignLabel: replicates, seeds per replicate (a range when they differ) and the test days' conversions (a range, '?' unknown)", () => {
  assert.equal(studyDesignLabel(summary), "1 data replicate(s) x 4 seeds, test days with 31-39 conversions");
  assert.equal(studyDesignLabel({ replicates: 3, seedsPerReplicate: [5, 6], conversions: undefined }), "3 data replicate(s) x 5-6 seeds, test days with ? conversions");
  assert.equal(studyDesignLabel({ replicates: 1, seedsPerReplicate: [2, 2], conversions: { min: 1, max: 1, differ: false } }), "1 data replicate(s) x 2 seeds, test days with 1 conversion");
  assert.equal(formatRange({ min: 9400, max: 9400, differ: false }), "9400");
  assert.equal(countOf("31-39", "conversion"), "31-39 conversions");
});

test("replicateRows: one row per (world, draw) in order of appearance, with its test day and its number of runs", () => {
  const rec = (world: number, draw: number, rows: number, conversions: number) => ({ config: { data: { simulatorSeed: world, prepareSeed: draw } }, test: { rows, conversions } });
  const records = [rec(7, 7, 100, 5), rec(8, 7, 120, 6), rec(7, 7, 100, 5), rec(7, 8, 90, 4), rec(7, 7, 100, 5)];
  assert.deepEqual(replicateRows(records), [
    { world: 7, draw: 7, test_rows: 100, test_conversions: 5, runs: 3 },
    { world: 8, draw: 7, test_rows: 120, test_conversions: 6, runs: 1 },
    { world: 7, draw: 8, test_rows: 90, test_conversions: 4, runs: 1 },
  ]);
  assert.deepEqual(replicateRows([]), []);
});

test("figure3Rows: the baseline shows its own se and NaN tests; a compared model its test in words, p, MDE and power (left out on request), columns in order", () => {
  assert.deepEqual(figure3Rows(summary), [
    { model: "IP", runs: 4, cross_entropy: 0.012, se: 0.0002, percent_vs_IP: 0, se_of_difference: NaN, test: "own se 1.67 % of its mean", p: NaN, mde_80: NaN, power_at_1pct: NaN, better_than: "ESMM", better_than_holm: "-", parameters: 67522 },
    { model: "ESMM", runs: 4, cross_entropy: 0.013, se: 0.0003, percent_vs_IP: -8.5, se_of_difference: 2.25, test: "paired t over 4 seeds (paired by seed, whole test day; df 3)", p: 0.0123, mde_80: 9.876, power_at_1pct: 0.0456, better_than: "-", better_than_holm: "-", parameters: 36386 },
  ]);
  const withoutPower = figure3Rows(summary, { power: false });
  assert.deepEqual(Object.keys(withoutPower[1]), ["model", "runs", "cross_entropy", "se", "percent_vs_IP", "se_of_difference", "test", "p", "mde_80", "better_than", "better_than_holm", "parameters"]);
  assert.deepEqual(Object.keys(figure3Rows(summary)[1]), ["model", "runs", "cross_entropy", "se", "percent_vs_IP", "se_of_difference", "test", "p", "mde_80", "power_at_1pct", "better_than", "better_than_holm", "parameters"]);
});

test("acrossWorldsRows: only models compared with the baseline, the se on these data sets beside, per-replicate values to two decimals", () => {
  const across: SummaryLike = { ...summary, replicates: 2, models: [ip, { ...esmm, percentVsBaselineSe: 4.5 }] };
  assert.deepEqual(acrossWorldsRows(across, summary), [{ model: "ESMM", percent_vs_IP: -8.5, se_across_worlds: 4.5, se_these_data_sets: 2.25, p: 0.0123, mde_80: 9.876, per_replicate: "-1.00 2.50" }]);
  assert.deepEqual(acrossWorldsRows(across, { ...summary, models: [ip] })[0].se_these_data_sets, NaN);
});

test("noiseRows: the variance parts as standard deviations, the bootstrap's se and interval; a model missing from the bootstrap throws", () => {
  const components = [{ model: "ESMM", seedVariance: 4, rowsVariance: 9, worldVariance: 0, worldFloored: true }];
  assert.deepEqual(noiseRows(components, summary, [{ model: "ESMM", se: 2.4, ci: [-12.345, -4.5] }]), [
    { model: "ESMM", percent_vs_IP: -8.5, analytic_se: 2.25, bootstrap_se: 2.4, bootstrap_ci95: "-12.35 to -4.50", sd_seed: 2, sd_test_rows: 3, sd_world: 0, world_floored: "yes" },
  ]);
  assert.throws(() => noiseRows(components, summary, []), /noiseRows: model ESMM is missing from the bootstrap/);
});

test("plannedMdeRows: the MDE of each plan from plannedSe, equal to scipy's at se 1; no df gives NaN; across worlds only plans with 2+ replicates", () => {
  // unit "seed": se^2 = (seed + rows S / m) / (C S), df = C (S - 1). C 1, S 5, m 1: (3 + 0.4 x 5) / 5 = 1, df 4.
  const a = { model: "ESMM", seedVariance: 3, rowsVariance: 0.4, worldVariance: 2 };
  // C 1, S 10: (10 + 0) / 10 = 1, df 9.
  const b = { model: "IPSP", seedVariance: 10, rowsVariance: 0, worldVariance: 0 };
  const plans = [
    { replicates: 1, seeds: 5, testScale: 0.5 },
    { replicates: 1, seeds: 1, testScale: 0.5 },
  ];
  const seedRows = plannedMdeRows(plans, [a], { unit: "seed", alpha: 0.01, testScale: 2 });
  // the plan's test day is 0.5 x the measured one, which was 2 training days: "x1"; m = 0.5 doubles the row part
  assert.deepEqual(Object.keys(seedRows[0]), ["design", "runs_per_model", "MDE ESMM"]);
  assert.equal(seedRows[0].design, "1 x 5 seeds, test day x1");
  assert.equal(seedRows[0].runs_per_model, 5);
  const se = Math.sqrt((3 + (0.4 * 5) / 0.5) / 5);
  assert.ok(Math.abs((seedRows[0]["MDE ESMM"] as number) - se * scipyMde(4)) < 1e-9, `${seedRows[0]["MDE ESMM"]} vs ${se * scipyMde(4)}`);
  assert.ok(Number.isNaN(seedRows[1]["MDE ESMM"]), "one seed in one replicate leaves no df");
  const exact = plannedMdeRows([{ replicates: 1, seeds: 5, testScale: 1 }, { replicates: 1, seeds: 10, testScale: 1 }], [a, b], { unit: "seed", alpha: 0.01, testScale: 1 });
  assert.ok(Math.abs((exact[0]["MDE ESMM"] as number) - scipyMde(4)) < 1e-9);
  assert.ok(Math.abs((exact[1]["MDE IPSP"] as number) - scipyMde(9)) < 1e-9);
  // unit "replicate": se^2 = (world + seed / S + rows / m) / C, df = C - 1. C 5, S 10, m 1: (2 + 0.3 + 0.4) / 5 = 0.54.
  const across = plannedMdeRows([...plans, { replicates: 5, seeds: 10, testScale: 1 }], [a], { unit: "replicate", alpha: 0.01, testScale: 1 });
  assert.equal(across.length, 1, "plans with one replicate have no across-worlds comparison");
  assert.equal(across[0].design, "5 x 10 seeds, test day x1");
  assert.ok(Math.abs((across[0]["MDE ESMM"] as number) - Math.sqrt(0.54) * scipyMde(4)) < 1e-9);
});

test("calibrationRows, oracleGapRows, temporalShiftRows, findingMethodRows: the fields rearranged", () => {
  const calibration = { models: [{ model: "IP", calibrationRatio: { n: 2, mean: 1.05, sd: 0.1, se: 0.07 } }] } as Parameters<typeof calibrationRows>[0];
  assert.deepEqual(calibrationRows(calibration), [{ model: "IP", calibration_ratio: 1.05, se: 0.07 }]);
  const gaps = oracleGapRows({ ...summary, models: [ip, esmm, { ...esmm, model: "ESP", oracleGap: undefined }] });
  assert.deepEqual(gaps.slice(0, 2), [
    { model: "IP", cross_entropy: 0.012, gap_to_oracle: 0.002, gap_percent_of_IP_gap: 100 },
    { model: "ESMM", cross_entropy: 0.013, gap_to_oracle: 0.003, gap_percent_of_IP_gap: (100 * 0.003) / 0.002 },
  ]);
  assert.equal(gaps[2].gap_to_oracle, undefined);
  assert.ok(Number.isNaN(gaps[2].gap_percent_of_IP_gap));
  assert.ok(Number.isNaN(oracleGapRows({ ...summary, models: [esmm] })[0].gap_percent_of_IP_gap), "without IP there is no reference gap");
  const point = (mean: number, pct: number, se: number) => ({ split: "", days: [], n: 2, mean, se: 0, percentVsBaseline: pct, percentVsBaselineSe: se });
  const shift = {
    splits: [{ split: "test", days: [13] }, { split: "later:0", days: [14, 15] }],
    models: [{ model: "IP", points: [point(0.01, 0, 1), point(0.011, 0, 1.2)] }, { model: "ESMM", points: [point(0.012, -2, 0.5), point(0.013, -3, 0.6)] }],
  };
  assert.deepEqual(shiftDayNames(shift), ["day 13 (test)", "day 14,15"]);
  assert.deepEqual(temporalShiftRows(shift), [
    { model: "IP", day: "day 13 (test)", cross_entropy: 0.01, percent_vs_IP: 0, se: 1 },
    { model: "IP", day: "day 14,15", cross_entropy: 0.011, percent_vs_IP: 0, se: 1.2 },
    { model: "ESMM", day: "day 13 (test)", cross_entropy: 0.012, percent_vs_IP: -2, se: 0.5 },
    { model: "ESMM", day: "day 14,15", cross_entropy: 0.013, percent_vs_IP: -3, se: 0.6 },
  ]);
  assert.deepEqual(findingMethodRows([{ id: "ipsp-best", method: "TOST" }]), [{ id: "ipsp-best", method: "TOST" }]);
});

test("figure3Markdown and findingsComparisonMarkdown: the docs page's blocks, written out", () => {
  const across: SummaryLike = { ...summary, replicates: 2, models: [ip, { ...esmm, percentVsBaseline: -7.25, percentVsBaselineSe: 3.5, vsBaseline: { ...esmm.vsBaseline!, p: 0.2 } }] };
  assert.equal(
    figure3Markdown(summary, across, 0.01, "D"),
    [
      "*Generated by notebooks/04-statistical-comparison.ipynb, full profile (D).*",
      "",
      "| model | CTCVR cross-entropy | vs IP ± s.e. of the difference | p | MDE | power at 1 % | better than (p < 0.01) | better than (Holm) | across worlds ± s.e. (p) |",
      "|---|---|---|---|---|---|---|---|---|",
      "| IP | 0.012 | 0 (own s.e. 1.67) |  |  |  | ESMM | - |  |",
      "| ESMM | 0.013 | -8.50 % ± 2.25 | 0.012 | 9.88 % | 0.05 | - | - | -7.25 % ± 3.50 (0.2) |",
    ].join("\n"),
  );
  // one replicate: no comparison across worlds
  assert.ok(figure3Markdown(summary, { ...across, replicates: 1 }, 0.01, "D").endsWith("| ESMM | 0.013 | -8.50 % ± 2.25 | 0.012 | 9.88 % | 0.05 | - | - |  |"));
  const f = (id: string, verdict: "holds" | "contradicted" | "inconclusive", pFor: number, pAgainst: number) => ({ id, verdict, pFor, pAgainst });
  assert.equal(
    findingsComparisonMarkdown([f("a", "holds", 0.001, 0.9), f("b", "contradicted", 0.9, 0.0004)], [f("a", "inconclusive", 0.3, 0.5)], { replicates: 3, alpha: 0.01, margin: 0.5, design: "D" }),
    [
      "*Generated by notebooks/04-statistical-comparison.ipynb, full profile (D; α = 0.01, margin ±0.5 %).*",
      "",
      "| finding | on these 3 worlds | p | across worlds (t over 3 worlds) | p |",
      "|---|---|---|---|---|",
      "| `a` | holds | 0.001 | inconclusive | 0.3 |",
      "| `b` | contradicted | 4.0e-4 |  |  |",
    ].join("\n"),
  );
});

test("varianceFigure: per component a stacked bar of seed / seeds per replicate, test rows, world; a NaN part drawn as 0", () => {
  const fig = varianceFigure([
    { model: "ESMM", seedVariance: 6, seedsPerReplicate: 3, rowsVariance: 0.5, worldVariance: 1.5 },
    { model: "IPSP", seedVariance: 4, seedsPerReplicate: 2, rowsVariance: 0.25, worldVariance: NaN },
  ]);
  const data = fig.data as { type: string; name: string; x: string[]; y: number[] }[];
  assert.deepEqual(data.map((t) => [t.type, t.name, t.x, t.y]), [
    ["bar", "seed", ["ESMM", "IPSP"], [2, 2]],
    ["bar", "test rows", ["ESMM", "IPSP"], [0.5, 0.25]],
    ["bar", "world", ["ESMM", "IPSP"], [1.5, 0]],
  ]);
  assert.equal((fig.layout as { barmode: string }).barmode, "stack");
});

test("powerFigure: one line per compared model over 0 to 3 %; power alpha at no difference and 0.8 at the MDE (scipy: se 1, df 4 has MDE 5.87856)", () => {
  const se = 3 / scipyMde(4); // so the MDE is 3 %, the last point
  const fig = powerFigure({ models: [{ model: "IP" }, { model: "ESMM", vsBaseline: { se, df: 4 } }] }, 0.01);
  const data = fig.data as { name: string; x: number[]; y: number[] }[];
  assert.deepEqual(data.map((t) => t.name), ["ESMM"]);
  assert.equal(data[0].x.length, 31);
  assert.ok(Math.abs(data[0].y[0] - 0.01) < 1e-9, `power at 0: ${data[0].y[0]}`);
  assert.ok(Math.abs(data[0].y[30] - 0.8) < 1e-9, `power at the MDE: ${data[0].y[30]}`);
  assert.ok(data[0].y.every((p, i) => i === 0 || p > data[0].y[i - 1]), "power grows with the difference");
});

test("figure3Figure, percentChangeFigure, oracleGapFigure, reliabilityFigure, temporalShiftFigure: the bars, errors and lines of the summaries", () => {
  type Trace = { name: string; x: (string | number)[]; y: number[]; error_y?: { array: number[] } };
  const traces = (f: { data: object[] }) => f.data as Trace[];
  const fig3 = traces(figure3Figure(summary));
  assert.deepEqual([fig3[0].x, fig3[0].y, fig3[0].error_y!.array], [["IP", "ESMM"], [0, -8.5], [1.666, 2.25]], "the baseline's bar carries its own se");
  assert.equal((figure3Figure(summary, "Real data").layout as { title: { text: string } }).title.text, "Real data");
  assert.deepEqual(traces(percentChangeFigure(summary, "PR-AUC"))[0].error_y!.array, [1.7, 2.25], "every bar its se of the difference");
  const gap = traces(oracleGapFigure({ ...summary, models: [ip, { ...esmm, oracleGap: undefined }] }))[0];
  assert.deepEqual([gap.y[0], Number.isNaN(gap.y[1]), gap.error_y!.array], [0.002, true, [0.0002, 0.0003]]);
  const bin = (p: number, o: number, n: number) => ({ lo: 0, hi: 1, count: n, weight: n, meanPredicted: p, observedRate: o });
  const calibration = { models: [{ model: "IP", reliability: [bin(0.01, 0.02, 10), bin(0.2, 0.1, 5)] }, { model: "ESP" }] } as Parameters<typeof reliabilityFigure>[0];
  const curves = traces(reliabilityFigure(calibration)).filter((t) => t.name === "IP");
  assert.equal(curves.length, 1, "one curve for the model that recorded one");
  assert.deepEqual([curves[0].x, curves[0].y], [[0.01, 0.2], [0.02, 0.1]]);
  assert.ok(!traces(reliabilityFigure(calibration)).some((t) => t.name === "ESP"), "a model without a curve is left out");
  const point = (pct: number) => ({ split: "", days: [], n: 2, mean: 0, se: 0, percentVsBaseline: pct, percentVsBaselineSe: 0 });
  const shift = traces(temporalShiftFigure({ splits: [{ split: "test", days: [13] }, { split: "later:0", days: [14] }], models: [{ model: "ESMM", points: [point(-2), point(-3)] }] }));
  assert.deepEqual([shift[0].name, shift[0].x, shift[0].y], ["ESMM", ["day 13 (test)", "day 14"], [-2, -3]]);
});
