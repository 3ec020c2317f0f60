/** `esmm stats`: the per-model table and the paper's findings from a study's results (JSON Lines). */
import * as fs from "node:fs";
import { Command, UsageError, numberValue, requireString } from "./args";
import { DataError } from "../data/errors";
import { splitLines } from "../data/line-reader";
import { countOf } from "../format";
import { tableText } from "../views/tables";
import { StudyResult, StudySummary, parseMetric, parseSplit, summarizeStudy } from "../study/summary";
import { summaryRows } from "../views/study-summary";
import { DEFAULT_EQUIVALENCE_MARGIN, evaluateFindings } from "../study/findings";
import { findingsText } from "../views/findings";
import { MixedDataError, groupByData, describeDesignDifference } from "../study/data-identity";
import { comparableMetricsText } from "../analysis/metrics";
import { SPACE_NAMES } from "../metrics/spaces";
import { MODEL_NAMES } from "../models/zoo";

export interface ReadResults {
  results: StudyResult[];
  /** 1-based numbers of non-blank lines that are not JSON (e.g. a partial last line of a running study). */
  unparsedLines: number[];
  /** 1-based numbers of JSON lines that are not run records (no model, seed or test.metrics.ctcvr). */
  otherLines: number[];
}

function isRunRecord(x: unknown): x is StudyResult {
  if (typeof x !== "object" || x === null) return false;
  const r = x as Record<string, unknown>;
  const test = r.test as { metrics?: { ctcvr?: unknown } } | undefined;
  return typeof r.model === "string" && typeof r.seed === "number" && typeof test?.metrics?.ctcvr === "object" && test.metrics.ctcvr !== null;
}

/** Reads a study's JSON Lines results, skipping (and counting) lines that do not parse or are not runs. */
export function readResultsJsonl(file: string): ReadResults {
  const lines = splitLines(fs.readFileSync(file, "utf8"));
  const results: StudyResult[] = [];
  const unparsedLines: number[] = [];
  const otherLines: number[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      unparsedLines.push(i + 1);
      return;
    }
    if (isRunRecord(value)) results.push(value);
    else otherLines.push(i + 1);
  });
  return { results, unparsedLines, otherLines };
}

function lineList(lines: number[]): string {
  return lines.length <= 5 ? lines.join(", ") : `${lines.slice(0, 5).join(", ")}, ...`;
}

function headline(s: StudySummary): string {
  const runsPerModel = [...new Set(s.models.map((m) => m.n))];
  const days = s.days.length > 0 ? ` (day${s.days.length > 1 ? "s" : ""} ${s.days.join(", ")})` : "";
  const conv = s.conversions
    ? s.conversions.differ
      ? `conversions ${s.conversions.min}-${s.conversions.max}${s.replicates > 1 ? " over the data replicates" : " (they differ across runs)"}`
      : countOf(s.conversions.min, "conversion")
    : "conversions not recorded";
  const seeds = `${s.seedsPerReplicate[0]}${s.seedsPerReplicate[1] !== s.seedsPerReplicate[0] ? `-${s.seedsPerReplicate[1]}` : ""}`;
  const design =
    s.replicates > 1
      ? s.unit === "replicate"
        ? `${s.replicates} data replicates (worlds x draws) x ${seeds} seeds: across worlds, one value per replicate (t over replicates)`
        : `${s.replicates} data replicates (worlds x draws) x ${seeds} seeds: on these data sets, paired by seed within each`
      : `one data set, ${runsPerModel.join("/")} runs per model: comparisons paired by seed (Welch where seeds differ)`;
  return (
    `variant ${s.variant}${s.factor !== undefined ? ` (${s.factor} = ${s.level})` : ""}; ${s.split}${days}: ${conv}; ` +
    `${s.label}, ${s.higherIsBetter ? "higher" : "lower"} is better; ${design}; ` +
    `% vs ${s.baseline} (positive = better) ± se of the difference; better than at p < ${s.alpha} (raw, as in the paper) and Holm-adjusted`
  );
}

export const statsCommand: Command = {
  name: "stats",
  summary: "per-model table, Welch tests and the paper's findings from a study's results",
  usage: `esmm stats --results FILE.jsonl [--metric ctcvr.logLoss] [--variant NAME] [--split test|later:I]
                 [--baseline IP] [--alpha 0.01] [--margin 0.5] [--unit seed|replicate] [--data KEY | --per-data] [--json]

FILE.jsonl holds one finished run per line (the study runner's output); lines that do not parse (a partial
last line while a study runs) are skipped and counted. --metric is a metric with a
better direction (lib/analysis/metrics.ts): SPACE.METRIC with SPACE ${SPACE_NAMES.join(", ")} and METRIC
${comparableMetricsText("space")}; on simulated data also
${comparableMetricsText("mechanism")}.
--variant is required when the file holds several variants. The table: per model n, mean, se, % vs the baseline's
mean (positive = better) ± the standard error of the difference, how it was tested (paired by seed with one
data set; one value per data replicate with several worlds/draws; Welch where seeds differ), its p, the
minimum detectable effect at power 0.8, the models it beats at p < alpha (raw p, as in the paper) and at
Holm-adjusted p < alpha, conversions, parameters, gap to the oracle's cross-entropy. Then the paper's
findings, each holds, contradicted (evidence against it: significance the other way, or equivalence within
--margin percent of the baseline's mean, default ${DEFAULT_EQUIVALENCE_MARGIN}) or inconclusive (rules: lib/study/findings.ts).
--unit seed (default) compares the models on these data sets: paired by seed within each data replicate
(world x draw), each seed scored on its own share of the test day when the runs recorded test folds, so
seeds and test rows are both noise; --unit replicate asks whether a finding holds across simulated worlds:
one value per data replicate, a t test over replicates (needs two or more).
Records know their data: the runs of one variant must share one data design (config.data without the
replicate's seeds: e.g. runs of a study with --impressions 100000 appended to one with the default are
another design), and the kept runs of one world and draw must have read one data set (data manifest). A file
that mixes them is refused, naming the designs (8 hex digits) or data sets and what they differ in; --data KEY
picks one (a design id, data cache key or manifest sha256, or a prefix of 4 or more characters), --per-data
summarises each design in turn. Older records of one run superseded by a later one are counted in a note,
with how many were on other data or from other code.
--json prints one object: {file, runs, unparsedLines, otherLines, summary, findings}, each finding
{id, claim, verdict, p, pAgainst, method, reason, evidence, tests, estimate, se, mde, alpha, margin};
with --per-data, {file, runs, unparsedLines, otherLines, data: [{data, records, differs, summary, findings}]}.`,
  options: {
    results: { type: "string" },
    metric: { type: "string" },
    variant: { type: "string" },
    split: { type: "string" },
    baseline: { type: "string" },
    alpha: { type: "string", number: { gt: 0, lt: 1 } },
    margin: { type: "string", number: { gt: 0 } },
    unit: { type: "string" },
    data: { type: "string" },
    "per-data": { type: "boolean" },
    json: { type: "boolean" },
  },
  async run(v) {
    const cmd = "stats";
    const file = requireString(v, "results", cmd);
    const metric = (v.metric as string | undefined) ?? "ctcvr.logLoss";
    const split = (v.split as string | undefined) ?? "test";
    const alpha = numberValue(v, "alpha", 0.01);
    const margin = numberValue(v, "margin", DEFAULT_EQUIVALENCE_MARGIN);
    const unit = (v.unit as string | undefined) ?? "seed";
    if (unit !== "seed" && unit !== "replicate") throw new UsageError(`${cmd}: --unit must be seed or replicate, got ${JSON.stringify(unit)}`);
    for (const [name, check] of [["metric", () => parseMetric(metric)], ["split", () => parseSplit(split)]] as const) {
      try {
        check();
      } catch (e) {
        throw new UsageError(`${cmd}: --${name}: ${(e as Error).message}`);
      }
    }
    if (v.data !== undefined && v["per-data"]) throw new UsageError(`${cmd}: --data and --per-data exclude each other`);
    if (!fs.existsSync(file)) throw new UsageError(`${cmd}: --results ${file} does not exist`);
    if (!fs.statSync(file).isFile()) throw new UsageError(`${cmd}: --results ${file} is not a file`);

    const read = readResultsJsonl(file);
    if (read.unparsedLines.length > 0) {
      console.error(`${cmd}: skipped ${read.unparsedLines.length} line(s) of ${file} that do not parse as JSON (line ${lineList(read.unparsedLines)}; a partial last line is normal while a study runs)`);
    }
    if (read.otherLines.length > 0) {
      console.error(`${cmd}: skipped ${read.otherLines.length} JSON line(s) of ${file} that are not run records (line ${lineList(read.otherLines)})`);
    }
    if (read.results.length === 0) throw new DataError({ file }, `no run records (${read.unparsedLines.length + read.otherLines.length} line(s) skipped)`);

    const variant = v.variant as string | undefined;
    const baseline = v.baseline as string | undefined;
    const laterDays = Math.max(0, ...read.results.map((r) => r.later?.length ?? 0));
    const summarize = (records: StudyResult[], data: string | undefined): StudySummary => {
      let summary: StudySummary;
      try {
        summary = summarizeStudy(records, { metric, split, alpha, unit, variant, baseline, data, models: [...MODEL_NAMES] });
      } catch (e) {
        const message = (e as Error).message;
        if (e instanceof MixedDataError) {
          throw new UsageError(`${cmd}: ${file}: ${message} with --data KEY (${e.keys.join(", ")})${/data designs/.test(message) ? " or --per-data" : ""}`);
        }
        if (/data key|computed on data/.test(message)) throw new UsageError(`${cmd}: --data: ${message}`);
        throw new UsageError(`${cmd}: ${message}${/variants/.test(message) ? " with --variant" : ""}`);
      }
      checkSummary(cmd, file, summary, baseline !== undefined, laterDays);
      return summary;
    };
    const skipped = read.unparsedLines.length + read.otherLines.length;
    if (v["per-data"]) {
      const inVariant = variant === undefined ? read.results : read.results.filter((r) => (r.variant ?? "default") === variant);
      const groups = groupByData(inVariant);
      if (groups.length === 0) throw new UsageError(`${cmd}: no results for variant "${variant}"`);
      const parts = groups.map((g) => {
        const summary = summarize(g.records, g.id);
        return { data: g.id, records: g.records.length, differs: g === groups[0] ? "" : describeDesignDifference(groups[0].design, g.design), summary, findings: evaluateFindings(summary, { margin }) };
      });
      if (v.json) {
        console.log(JSON.stringify({ file, runs: parts.reduce((a, p) => a + p.summary.runCount, 0), unparsedLines: read.unparsedLines.length, otherLines: read.otherLines.length, data: parts }));
        return;
      }
      console.log(`${file}: ${read.results.length} run record(s)${skipped > 0 ? `, ${skipped} line(s) skipped` : ""}; ${parts.length} data design(s)`);
      for (const p of parts) {
        console.log(`\n=== data ${p.data}: ${p.records} record(s), ${p.summary.runCount} run(s) summarised${p.differs ? ` (vs ${parts[0].data}: ${p.differs})` : ""}`);
        printSummary(p.summary, p.findings, margin);
      }
      return;
    }
    const summary = summarize(read.results, v.data as string | undefined);
    const findings = evaluateFindings(summary, { margin });
    if (v.json) {
      console.log(JSON.stringify({ file, runs: summary.runCount, unparsedLines: read.unparsedLines.length, otherLines: read.otherLines.length, summary, findings }));
      return;
    }
    console.log(`${file}: ${read.results.length} run record(s)${skipped > 0 ? `, ${skipped} line(s) skipped` : ""}; ${summary.runCount} run(s) summarised`);
    printSummary(summary, findings, margin);
  },
};

/** The table, its notes and the findings of one summary, as `esmm stats` prints them. */
function printSummary(summary: StudySummary, findings: ReturnType<typeof evaluateFindings>, margin: number): void {
  console.log(headline(summary));
  console.log("");
  console.log(tableText(summaryRows(summary)));
  if (summary.notes.length > 0) console.log("\n" + summary.notes.map((n) => `note: ${n}`).join("\n"));
  console.log("");
  console.log(findingsText(findings, { title: `Findings (${summary.label}, ${summary.split}, alpha ${summary.alpha}, equivalence margin ±${margin} % of ${summary.baseline}'s mean):` }));
}

/**
 * Refuses (UsageError, one line) a summary whose options select nothing: a baseline without runs, or a
 * split or metric that no run has a value for (e.g. --split later:9 when the runs scored 2 later days).
 */
function checkSummary(cmd: string, file: string, s: StudySummary, baselineGiven: boolean, laterDays: number): void {
  const models = s.models.map((m) => m.model);
  if (!models.includes(s.baseline)) {
    throw new UsageError(`${cmd}: ${baselineGiven ? "--baseline" : "the baseline"} ${s.baseline} has no runs in ${file} (models: ${models.join(", ")})${baselineGiven ? "" : ": choose one with --baseline"}`);
  }
  if (s.models.every((m) => m.n === 0)) {
    const later = /^later:/.test(s.split);
    throw new UsageError(
      later
        ? `${cmd}: --split ${s.split}: no run has a defined ${s.metric} on that day (the runs of ${file} scored ${laterDays} later day(s)${laterDays > 0 ? `: later:0 to later:${laterDays - 1}` : ""})`
        : `${cmd}: --metric ${s.metric}: no run of ${file} has a defined value on ${s.split}`,
    );
  }
}
