/**
 * Renders the generated blocks of the docs whose text comes from a cheap command or from a committed raw-results
 * file (lib/report/generated-blocks.ts, sources "command" and "recorded"), and writes each between its markers.
 *
 *   model-zoo       `esmm models --markdown --sources`: the zoo as the code has it (measured on built models)
 *   speed-ali-ccp   docs/data/speed-ali-ccp.jsonl: `esmm bench --shape ali-ccp --json --peer torch`'s lines, after
 *                   one line of provenance (command, start and end dates, load average at the start);
 *                   --from LOG first copies them there from a saved log (JSON lines; the `date` and `uptime`
 *                   lines written around the command give the dates and the load)
 *   speed-seed-groups  docs/data/speed-seed-groups.jsonl: `esmm bench --seeds 1,3,10 --count --peer torch --json`'s
 *                   lines on the reference shape, the same way (--from LOG)
 *   every other     docs/data/NAME.json: a recorded table {command, measured, machine, source, header, rows}, for
 *   "recorded" row  past measurements that cannot be rerun cheaply; rendered as the table and one line saying
 *                   where it came from
 *
 * Usage: node build/bench/render-docs.js [--block NAME[,NAME...]] [--from LOG] [--check] [--root DIR]
 *   --block  the blocks to render (default: every block this script renders)
 *   --check  writes nothing: exit code 1, naming each block whose page text differs from its rendering (a number
 *            edited by hand, or raw results changed without rendering)
 *   --markers  instead: rewrites the start marker of every block of the registry to name its command (after a
 *            registry row's command changed), the blocks' text untouched
 *   --root   the repository (default this checkout; tests point it at a scratch copy)
 * Bad input (an unknown block, a missing or malformed raw-results file, missing markers) is one line, exit code 2.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { initBackend, projectRoot } from "../lib/backend";
import { MODEL_ZOO } from "../lib/models";
import { modelTableMarkdown } from "../lib/views/model-table";
import { formatNumber, markdownTable } from "../lib/format";
import { GENERATED_BLOCKS, GeneratedBlockEntry, GeneratedBlockError, readGeneratedBlock, writeGeneratedBlock } from "../lib/report/generated-blocks";

class InputError extends Error {}

const DATA_DIR = "docs/data";

/** A recorded measurement: the table as the command printed it (or as the page recorded it) and its provenance. */
interface RecordedTable {
  command: string;
  measured: string;
  machine: string;
  source: string;
  header: string[];
  rows: string[][];
}

/** The JSON file `file` (relative to `root`); errors name `file`. */
function readJson<T>(root: string, file: string): T {
  if (!fs.existsSync(path.join(root, file))) throw new InputError(`${file}: no such raw-results file`);
  try {
    return JSON.parse(fs.readFileSync(path.join(root, file), "utf8")) as T;
  } catch (e) {
    throw new InputError(`${file}: not JSON (${(e as Error).message})`);
  }
}

function renderRecorded(root: string, name: string): string {
  const file = path.join(DATA_DIR, `${name}.json`);
  const t = readJson<RecordedTable>(root, file);
  for (const k of ["command", "measured", "machine", "source"] as const) if (typeof t[k] !== "string") throw new InputError(`${file}: "${k}" missing`);
  if (!Array.isArray(t.header) || !Array.isArray(t.rows)) throw new InputError(`${file}: "header" and "rows" must be arrays`);
  t.rows.forEach((r, i) => {
    if (r.length !== t.header.length) throw new InputError(`${file}: row ${i + 1} has ${r.length} cells, the header ${t.header.length}`);
  });
  return `${markdownTable(t.header, t.rows)}\n\n*Recorded: \`${t.command}\`, ${t.measured}; ${t.machine}. Raw results: \`${file}\` (${t.source}).*`;
}

/** One line of `esmm bench --shape ali-ccp --json` (lib/cli/bench.ts). */
interface AliCcpLine {
  shape: "ali-ccp";
  cpu?: string;
  backend: string;
  batch: number;
  seeds: number;
  vocabulary: number;
  embeddingUpdates: string;
  examplesPerSec: number;
  threads: number;
  torchDenseExamplesPerSec?: number | null;
  torchSparseExamplesPerSec?: number | null;
  torch?: string;
}

/** One line of `esmm bench --seeds ... --count --peer torch --json` on the reference shape (lib/cli/bench.ts). */
interface SeedGroupLine {
  backend: string;
  cpu?: string;
  batch: number;
  seeds: number;
  examplesPerSec: number;
  threads: number;
  kernelsPerStep?: number;
  tfOpsPerStep?: number;
  processes?: number;
  totalExamplesPerSec?: number;
  torchExamplesPerSec?: number | null;
  torchOneProcess?: { threads: number; examplesPerSec: number } | null;
  torchProcesses?: { processes: number; threadsEach: number; examplesPerSec: number } | null;
  ratio?: number | null;
}

interface BenchProvenance {
  command: string;
  started: string;
  ended: string;
  load: string;
}

/**
 * The blocks rendered from a bench log's JSON lines: the raw-results file `--from LOG` fills, the command the
 * provenance names when the log does not, and which lines belong (a line of another shape is refused).
 */
const BENCH_LOG_BLOCKS: Record<string, { file: string; command: string; accepts: (line: Record<string, unknown>) => boolean }> = {
  "speed-ali-ccp": { file: "speed-ali-ccp.jsonl", command: "npx esmm bench --shape ali-ccp --json --peer torch", accepts: (l) => l.shape === "ali-ccp" },
  "speed-seed-groups": {
    file: "speed-seed-groups.jsonl",
    command: "npx esmm bench --backend tensorflow --batch 1024 --seeds 1,3,10 --count --peer torch --repeat 3 --json",
    accepts: (l) => l.shape === undefined && typeof l.seeds === "number" && typeof l.totalExamplesPerSec === "number",
  },
};

/** Copies a saved bench log's JSON lines, its dates and its load average into block `name`'s raw-results file. */
function importBenchLog(name: string, log: string, out: string): void {
  const block = BENCH_LOG_BLOCKS[name];
  if (!fs.existsSync(log)) throw new InputError(`${log}: no such log`);
  const lines = fs.readFileSync(log, "utf8").split("\n");
  const results = lines.filter((l) => l.startsWith("{"));
  results.forEach((l, i) => {
    try {
      if (!block.accepts(JSON.parse(l))) throw new Error(`not a line of ${block.command}`);
    } catch (e) {
      throw new InputError(`${log}: JSON line ${i + 1}: ${(e as Error).message}`);
    }
  });
  if (results.length === 0) throw new InputError(`${log}: no JSON lines of ${block.command}`);
  const dates = lines.filter((l) => /^[A-Z][a-z]{2} [A-Z][a-z]{2} +\d+ [\d:]+ [A-Z]+ \d{4}$/.test(l.trim()));
  const load = lines.find((l) => l.includes("load average:"))?.split("load average:")[1].trim() ?? "not recorded";
  // The command as the log names it (a line "command: ..."), else the bench's plain form.
  const command = lines.find((l) => l.startsWith("command: "))?.slice("command: ".length).trim() ?? block.command;
  const provenance: BenchProvenance = { command, started: dates[0] ?? "not recorded", ended: dates[dates.length - 1] ?? "not recorded", load };
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, [JSON.stringify(provenance), ...results].join("\n") + "\n");
  fs.renameSync(tmp, out);
}

/** Block `name`'s raw-results file: its provenance line and its bench lines. */
function readBenchLog<T>(root: string, name: string): { provenance: BenchProvenance; lines: T[]; file: string } {
  const file = path.join(DATA_DIR, BENCH_LOG_BLOCKS[name].file);
  if (!fs.existsSync(path.join(root, file))) throw new InputError(`${file}: no such raw-results file (render-docs --block ${name} --from LOG writes it)`);
  const [head, ...lines] = fs.readFileSync(path.join(root, file), "utf8").trim().split("\n").map((l, i) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new InputError(`${file}: line ${i + 1} is not JSON`);
    }
  });
  return { provenance: head as BenchProvenance, lines: lines as T[], file };
}

/** "; on AMD EPYC (...), 2 cores" when the bench lines name their processor (`cpu`, since 2026-12-06), else nothing. */
const processorOf = (lines: { cpu?: string }[]) => {
  const cpu = lines.find((l) => typeof l.cpu === "string")?.cpu;
  return cpu ? `; on ${cpu}` : "";
};

const rate = (x: number | null | undefined) => (typeof x === "number" ? formatNumber(x, 6) : "failed");
const ratio = (a: number | undefined, b: number | null | undefined) => (typeof a === "number" && typeof b === "number" && b > 0 ? formatNumber(a / b, 2) : "");

function renderAliCcp(root: string): string {
  const { provenance: p, lines, file } = readBenchLog<AliCcpLine>(root, "speed-ali-ccp");
  const rows = lines.map((r) => {
    const peer = r.embeddingUpdates === "rowwise" ? r.torchSparseExamplesPerSec : r.torchDenseExamplesPerSec;
    return [r.backend, formatNumber(r.vocabulary, 8), r.embeddingUpdates, String(r.batch), String(r.threads), rate(r.examplesPerSec), rate(r.torchDenseExamplesPerSec), rate(r.torchSparseExamplesPerSec), ratio(r.examplesPerSec, peer)];
  });
  const torch = lines.find((r) => r.torch)?.torch ?? "not run";
  return (
    markdownTable(["backend", "vocabulary (ids)", "embedding updates", "batch", "threads", "examples/s", "PyTorch dense Adam", "PyTorch SparseAdam", "vs PyTorch (dense vs dense Adam, rowwise vs SparseAdam)"], rows) +
    `\n\n*Measured: \`${p.command}\` (PyTorch ${torch}), ${p.started} to ${p.ended}; load average at the start ${p.load} (1/5/15 min)${processorOf(lines)}. Raw results: \`${file}\`.*`
  );
}

function renderSeedGroups(root: string): string {
  const { provenance: p, lines, file } = readBenchLog<SeedGroupLine>(root, "speed-seed-groups");
  const processes = lines.find((r) => r.processes)?.processes ?? 0;
  const rows = lines.map((r) => [
    String(r.seeds),
    r.kernelsPerStep === undefined ? "" : `${r.kernelsPerStep} / ${r.tfOpsPerStep ?? "-"}`,
    rate(r.examplesPerSec),
    rate(r.totalExamplesPerSec),
    rate(r.torchExamplesPerSec),
    ratio(r.totalExamplesPerSec, r.torchExamplesPerSec),
  ]);
  const torch = lines.find((r) => r.torchOneProcess && r.torchProcesses);
  const torchSides = torch
    ? ` PyTorch as 1 process x ${torch.torchOneProcess!.threads} threads: ${rate(torch.torchOneProcess!.examplesPerSec)}; as ${torch.torchProcesses!.processes} processes x 1 thread: ${rate(torch.torchProcesses!.examplesPerSec)} (the better is the ratio's).`
    : "";
  return (
    markdownTable(["seeds in the graph", "tfjs kernels / TF ops per step", "1 process (1 thread), examples/s", `whole machine (${processes} processes x 1 thread)`, "PyTorch whole machine", "tfjs / PyTorch"], rows) +
    `\n\n*Measured: \`${p.command}\`, ${p.started} to ${p.ended}; load average at the start ${p.load} (1/5/15 min)${processorOf(lines)}; medians of the command's interleaved runs.${torchSides} Raw results: \`${file}\`.*`
  );
}

async function renderModelZoo(): Promise<string> {
  await initBackend("cpu");
  return `${modelTableMarkdown()}\n\nWhere each model and its defaults come from (\`npx esmm models --sources\`; "chosen here" marks values not taken from\nthe original paper or its released code):\n\n${MODEL_ZOO.map((s) => `- **${s.name}**: ${s.source}`).join("\n")}`;
}

/** The renderers of this script, by block; every "recorded" row of the registry is rendered from its JSON. */
function renderer(entry: GeneratedBlockEntry, root: string): (() => Promise<string> | string) | undefined {
  if (entry.name === "model-zoo") return renderModelZoo;
  if (entry.name === "speed-ali-ccp") return () => renderAliCcp(root);
  if (entry.name === "speed-seed-groups") return () => renderSeedGroups(root);
  if (entry.source === "recorded") return () => renderRecorded(root, entry.name);
  return undefined;
}

async function main() {
  const { values } = parseArgs({ options: { block: { type: "string" }, from: { type: "string" }, check: { type: "boolean" }, markers: { type: "boolean" }, root: { type: "string" } } });
  const root = path.resolve(values.root ?? projectRoot());
  if (values.markers) {
    for (const e of GENERATED_BLOCKS) writeGeneratedBlock(path.join(root, e.file), e.name, readGeneratedBlock(path.join(root, e.file), e.name));
    console.log(`${GENERATED_BLOCKS.length} start markers written`);
    return;
  }
  const rendered = GENERATED_BLOCKS.filter((e) => renderer(e, root));
  const names = values.block ? values.block.split(",") : rendered.map((e) => e.name);
  for (const n of names) if (!rendered.some((e) => e.name === n)) throw new InputError(`--block: "${n}" is not rendered by this script (it renders: ${rendered.map((e) => e.name).join(", ")})`);
  if (values.from) {
    const name = values.block ?? "";
    if (!BENCH_LOG_BLOCKS[name] || values.check) throw new InputError(`--from is for one of --block ${Object.keys(BENCH_LOG_BLOCKS).join(", ")}, without --check`);
    importBenchLog(name, values.from, path.join(root, DATA_DIR, BENCH_LOG_BLOCKS[name].file));
  }
  const stale: string[] = [];
  for (const n of names) {
    const e = rendered.find((x) => x.name === n)!;
    const file = path.join(root, e.file);
    const text = (await renderer(e, root)!()).trim();
    if (values.check) {
      if (readGeneratedBlock(file, e.name) !== text) stale.push(`${e.file}: block ${e.name} differs from its rendering (${e.regeneratedBy})`);
    } else {
      writeGeneratedBlock(file, e.name, text);
      console.log(`${e.file}: ${e.name} rendered`);
    }
  }
  if (stale.length > 0) {
    process.stderr.write(`${stale.join("\n")}\n`);
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write(`render-docs: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof InputError || e instanceof GeneratedBlockError ? 2 : 1);
});
