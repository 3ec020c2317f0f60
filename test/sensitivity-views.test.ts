/**
 * lib/views/sensitivity.ts, notebook 05's views, on one hand-made factor (patience at levels 1 and 2, the default 2)
 * with the rows, figure traces and markdown written out: each function only shapes the summaries and findings, so the
 * expected values are the inputs rearranged and formatted (formatPercent: two decimals, explicit sign, "± se").
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { FactorResult } from "../lib/study/sensitivity";
import {
  sensitivityBlock,
  sensitivityFactorRows,
  sensitivityFactorsCaption,
  sensitivityFindingsMarkdown,
  sensitivityLevelCaption,
  sensitivityLevelFigure,
  sensitivityLevelRows,
  sensitivityMdeRows,
} from "../lib/views/sensitivity";

const model = (name: string, percentVsBaseline: number, percentVsBaselineSe: number, mde?: number) => ({ model: name, percentVsBaseline, percentVsBaselineSe, ...(mde === undefined ? {} : { vsBaseline: { mde } }) });
const finding = (verdict: string, estimate: number, se: number) => ({ verdict, estimate, se, kind: "difference" });
const patience = {
  factor: { name: "patience", option: "train.patience", defaultLevel: 2, levels: [1, 2], variant: () => ({}) },
  summaries: new Map([
    ["1", { baseline: "IP", conversions: { min: 31, max: 39, differ: true }, models: [model("IP", 0, 1.1), model("ESMM", 1.5, 0.5, 2.5), model("ESP", -2, 0.75, 3)] }],
    ["2", { baseline: "IP", conversions: { min: 40, max: 40, differ: false }, models: [model("IP", 0, 1.2), model("ESMM", -0.25, 0.25, 1.2)] }],
  ]),
  findings: [
    {
      claim: "ESMM beats IP",
      text: "holds at 1; inconclusive at 2",
      perLevel: [{ level: "1", finding: finding("holds", 1.5, 0.5) }, { level: "2", finding: finding("inconclusive", -0.25, 0.25) }],
    },
  ],
} as unknown as FactorResult;

test("sensitivityFactorRows and its caption: the factors the study varies, in the factors' order, with the study's levels", () => {
  const factors = [
    { name: "users", option: "data.simulator.users", defaultLevel: 2000 },
    { name: "patience", option: "train.patience", defaultLevel: 2 },
    { name: "embeddingDim", option: "architecture.embeddingDim", defaultLevel: 8 },
  ];
  const study = { variants: [{ name: "p4", factor: "patience", level: "4" }, { name: "u500", factor: "users", level: "500" }, { name: "p1", factor: "patience", level: "1" }] };
  assert.deepEqual(sensitivityFactorRows(factors, study), [
    { factor: "users", option: "data.simulator.users", default: 2000, levels: "500" },
    { factor: "patience", option: "train.patience", default: 2, levels: "4, 1" },
  ]);
  assert.deepEqual(sensitivityFactorRows(factors, {}), []);
  assert.equal(sensitivityFactorsCaption({ models: ["IP", "ESMM"], seeds: [1, 2, 3] }, "quick"), "Factors (profile quick; 2 models x 3 seeds per level; other options at their defaults)");
});

test("sensitivityLevelFigure: per model but IP, % vs IP by level with its se, the default level marked, NaN where a level lacks the model", () => {
  const fig = sensitivityLevelFigure(patience);
  const data = fig.data as { name: string; x: string[]; y: number[]; error_y: { array: number[] } }[];
  assert.deepEqual(
    data.map((t) => [t.name, t.x, t.y, t.error_y.array]),
    [
      ["ESMM", ["1", "2 (default)"], [1.5, -0.25], [0.5, 0.25]],
      ["ESP", ["1", "2 (default)"], [-2, NaN], [0.75, NaN]],
    ],
  );
  const layout = fig.layout as { title: { text: string }; xaxis: { type: string } };
  assert.equal(layout.title.text, "patience (train.patience): % improvement over IP, ± 1 s.e. of the difference");
  assert.equal(layout.xaxis.type, "category");
});

test("sensitivityLevelRows and its caption: per level its conversions and each model's % vs IP ± se, the baseline '0'", () => {
  assert.deepEqual(sensitivityLevelRows(patience), [
    { level: "1", test_conversions: "31-39", IP: "0", ESMM: "+1.50 % ± 0.50", ESP: "-2.00 % ± 0.75" },
    { level: "2", test_conversions: "40", IP: "0", ESMM: "-0.25 % ± 0.25" },
  ]);
  assert.equal(sensitivityLevelCaption(patience), "patience: % vs IP per level (test-day conversions beside each level)");
});

test("sensitivityFindingsMarkdown: the factor in bold, one bullet per finding", () => {
  assert.equal(sensitivityFindingsMarkdown(patience), "**patience**\n\n- ESMM beats IP: holds at 1; inconclusive at 2");
});

test("sensitivityMdeRows: per factor and level the MDE of each compared model, the baseline left out", () => {
  assert.deepEqual(sensitivityMdeRows([patience]), [
    { factor: "patience", level: "1", "MDE ESMM": "2.50 %", "MDE ESP": "3.00 %" },
    { factor: "patience", level: "2", "MDE ESMM": "1.20 %" },
  ]);
});

test("sensitivityBlock: the closing table as markdown, then the design and the verdicts' rule", () => {
  assert.equal(
    sensitivityBlock([patience], { seeds: 6, alpha: 0.01 }),
    [
      "| finding | patience |",
      "|---|---|",
      "| ESMM beats IP | holds: 1 +1.50 % ± 0.50; inconclusive: 2 -0.25 % ± 0.25 |",
      "",
      "(6 seeds per level, one data set per level, comparisons paired by seed; verdicts at α = 0.01 after Holm over every test of the grid; generated by notebooks/05-protocol-sensitivity.ipynb)",
    ].join("\n"),
  );
});
