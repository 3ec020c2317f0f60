/**
 * Benchmark (not a test): does the embedding-update rule move any verdict of the paper's study? The paper's six
 * models on the default design's worlds, trained twice with everything else equal: dense Adam on the embedding
 * tables (every row every step, the default) and row-wise (lazy) Adam (the touched rows only: lib/train/rowwise.ts).
 * Per rule: the CTCVR cross-entropy's % vs IP with its standard error (summarizeStudy, runs paired by seed and
 * world), the findings registry's verdicts (evaluateFindings), and the median training seconds and best epoch.
 *
 *   node build/bench/embedding-updates.js [--worlds 7] [--seeds 6] [--results runs/embedding-updates.jsonl] [--write-doc]
 *
 * Runs go through the study runner (seed groups, 2 workers, resumable: a rerun trains only what is missing) into
 * --results. --write-doc replaces the `embedding-updates` generated block of docs/embedding-updates.md.
 */
import * as os from "node:os";
import * as path from "node:path";
import { PAPER_MODEL_NAMES } from "../lib/models";
import { DEFAULT_EQUIVALENCE_MARGIN, evaluateFindings } from "../lib/study/findings";
import { studyProfile } from "../lib/study/index";
import { expandGrid, StudySpec } from "../lib/study/spec";
import { matchRecords, readResults, StudyRecord } from "../lib/study/results";
import { runStudy } from "../lib/study/runner";
import { summarizeStudy } from "../lib/study/summary";
import { formatNumber, formatP, formatPercent, markdownTable } from "../lib/format";
import { checkGeneratedBlock, GeneratedBlockError, writeGeneratedBlock } from "../lib/report/generated-blocks";
import { median } from "../lib/stats/simple-statistics";

const REPO = path.resolve(__dirname, "..", "..");
const ALPHA = 0.01;
const RULES = ["dense", "rowwise"] as const;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

async function main(): Promise<void> {
  const doc = path.join(REPO, "docs", "embedding-updates.md");
  if (process.argv.includes("--write-doc")) checkGeneratedBlock(doc, "embedding-updates");
  const worlds = option("worlds", "7").split(",").map(Number);
  const seeds = Number(option("seeds", "6"));
  const results = path.resolve(REPO, option("results", "runs/embedding-updates.jsonl"));
  const base = studyProfile("full");
  const spec: StudySpec = {
    ...base,
    name: "embedding-updates",
    models: [...PAPER_MODEL_NAMES],
    seeds: Array.from({ length: seeds }, (_, i) => i + 1),
    worlds,
    variants: RULES.map((rule) => ({ name: rule, train: { embeddingUpdates: rule } })),
  };
  const loadStart = os.loadavg()[0];
  const started = Date.now();
  const summary = await runStudy(spec, { results, log: (line) => console.log(line) });
  const wallMinutes = (Date.now() - started) / 60_000;
  if (summary.failed.length > 0) throw new Error(`${summary.failed.length} runs failed: ${summary.failed[0].error}`);
  const { records: all } = readResults(results);
  const grid = expandGrid(spec);
  const byRule = RULES.map((rule) => {
    const records = matchRecords(grid.filter((g) => g.variant === rule), all).map((m) => m.record).filter((r): r is StudyRecord => r !== undefined);
    const ctcvr = summarizeStudy(records, { metric: "ctcvr.logLoss", alpha: ALPHA });
    const findings = evaluateFindings(ctcvr, { margin: DEFAULT_EQUIVALENCE_MARGIN });
    return { rule, records, ctcvr, findings };
  });
  // When the runs were trained (this invocation or an earlier one): from the records' finishing times.
  const mine = byRule.flatMap((b) => b.records);
  const finished = mine.map((r) => Date.parse(r.finishedAt ?? ""));
  const firstStart = Math.min(...mine.map((r, i) => finished[i] - 1000 * r.timings.totalSeconds));
  const span = `${mine.length} runs trained between ${new Date(firstStart).toISOString().slice(0, 16).replace("T", " ")} and ` +
    `${new Date(Math.max(...finished)).toISOString().slice(11, 16)} UTC (${((Math.max(...finished) - firstStart) / 60_000).toFixed(1)} min)`;
  const load = summary.done > 0 ? `1-minute load ${loadStart.toFixed(1)} at the start of this invocation, which trained ${summary.done} of them in ${wallMinutes.toFixed(1)} min` : "trained by an earlier invocation, whose load its log states";
  const design = `${spec.models.length} models x ${seeds} seeds x world(s) ${worlds.join(", ")} of the default design, each rule; ` +
    `2 workers x 1 thread, native backend, ${os.cpus().length} cores; ${span}; ${load}`;
  const models = byRule[0].ctcvr.models.map((m) => m.model);
  const perModel = markdownTable(
    ["model", ...RULES.flatMap((r) => [`${r}: % vs IP ± se`, `${r}: cross-entropy`, `${r}: train s (median)`, `${r}: best epoch (median)`])],
    models.map((model) => [
      model,
      ...byRule.flatMap(({ ctcvr, records }) => {
        const m = ctcvr.models.find((x) => x.model === model)!;
        const mine = records.filter((r) => r.model === model);
        return [
          m.model === ctcvr.baseline ? "(baseline)" : formatPercent(m.percentVsBaseline, m.percentVsBaselineSe),
          formatNumber(m.mean),
          formatNumber(median(mine.map((r) => r.timings.trainSeconds)), 3),
          formatNumber(median(mine.map((r) => r.training.bestEpoch)), 2),
        ];
      }),
    ]),
  );
  const verdicts = markdownTable(
    ["finding", ...RULES.map((r) => `${r}: verdict (p)`), "same verdict"],
    byRule[0].findings.map((f, i) => {
      const cells = byRule.map(({ findings }) => findings[i]);
      return [
        `\`${f.id}\``,
        ...cells.map((c) => `${c.verdict} (${formatP(c.verdict === "contradicted" ? c.pAgainst : c.pFor)})`),
        cells.every((c) => c.verdict === cells[0].verdict) ? "yes" : "**no**",
      ];
    }),
  );
  const moved = byRule[0].findings.filter((f, i) => byRule[1].findings[i].verdict !== f.verdict).length;
  const text = [
    `${design}. CTCVR cross-entropy on the test day, % better than IP (runs paired by seed), α = ${ALPHA}.`,
    "",
    perModel,
    "",
    `The findings registry's verdicts under each rule (margin ±${DEFAULT_EQUIVALENCE_MARGIN} % of IP's mean): ${moved} of ${byRule[0].findings.length} differ.`,
    "",
    verdicts,
  ].join("\n");
  console.log(`\n${text}`);
  if (process.argv.includes("--write-doc")) {
    writeGeneratedBlock(doc, "embedding-updates", text);
    console.log("docs/embedding-updates.md (embedding-updates) regenerated");
  }
}

main().catch((e) => {
  console.error(`bench/embedding-updates: ${(e as Error).message}`);
  process.exit(e instanceof GeneratedBlockError ? 2 : 1);
});
