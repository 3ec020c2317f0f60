/**
 * bench/study-arithmetic.ts: the multiply-adds per row it counts on a built model, against the default
 * architecture worked out by hand, and its bad-input line.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { denseKernels } from "../bench/study-arithmetic";
import { projectRoot } from "../lib/backend";
import { tempDir, trainingBackend } from "./helpers";

// A default-design world's prepared inputs (data/study/<key>/prepared.json): 7 categorical fields x embedding 8 + 2 numeric = 58.
const DIMS = {
  categoricalFields: ["user", "ad", "advertiser", "app_category", "placement", "device_os", "hour"],
  vocabularySizes: [2001, 529, 81, 13, 5, 4, 25],
  numericFields: ["user_activity", "ad_age_days"],
};

test("multiply-adds per row: ESMM's shared bottom and two heads, IP's two separate towers (default architecture, by hand)", async () => {
  await trainingBackend();
  const macs = (model: string) => denseKernels(model, DIMS, undefined).reduce((s, [a, b]) => s + a * b, 0);
  // Shared 58-128-64, then per head 64-32-16-1.
  const head = 64 * 32 + 32 * 16 + 16 * 1;
  assert.equal(macs("ESMM"), 58 * 128 + 128 * 64 + 2 * head); // 20,768
  // IP: each task its own embeddings and a whole tower 58-128-64-32-16-1.
  assert.equal(macs("IP"), 2 * (58 * 128 + 128 * 64 + head)); // 36,384
  // An embedding table is a lookup, never counted: a bigger vocabulary changes nothing.
  assert.equal(denseKernels("ESMM", { ...DIMS, vocabularySizes: DIMS.vocabularySizes.map((v) => v * 10) }, undefined).reduce((s, [a, b]) => s + a * b, 0), macs("ESMM"));
});

const SCRIPT = () => path.join(projectRoot(), "build", "bench", "study-arithmetic.js");
const run = (args: string[]) => spawnSync(process.execPath, [SCRIPT(), ...args], { encoding: "utf8", env: { ...process.env, TF_NUM_INTRAOP_THREADS: "1", TF_NUM_INTEROP_THREADS: "1" } });

/** A scratch study: DATA/<key>/prepared.json with DIMS, and runs.jsonl with the given lines. */
function scratchStudy(lines: string[]): { runs: string; data: string } {
  const dir = tempDir("esmm-arith-");
  fs.mkdirSync(path.join(dir, "data", "k1"), { recursive: true });
  fs.writeFileSync(path.join(dir, "data", "k1", "prepared.json"), JSON.stringify({ splits: { train: DIMS } }));
  fs.writeFileSync(path.join(dir, "runs.jsonl"), lines.join("\n") + "\n");
  return { runs: path.join(dir, "runs.jsonl"), data: path.join(dir, "data") };
}

const record = (model: string, epochs: number, seeds?: number[]) =>
  JSON.stringify({
    model,
    dataManifest: { dataKey: "k1" },
    training: { epochs: Array.from({ length: epochs }, (_, e) => ({ epoch: e + 1 })), trainRows: 1000, validationRows: 500, ...(seeds ? { seedGroup: { seeds } } : {}) },
    test: { rows: 2000 },
    later: [{ rows: 100 }, { rows: 100 }],
  });

test("study-arithmetic.js: the multiply-adds of each phase on two records, by hand; each product timed with its record's seeds", () => {
  const { runs, data } = scratchStudy([record("ESMM", 3, [1, 2]), "", record("IP", 2)]);
  const r = run([runs, data, "--repeat", "2", "--workers", "1"]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const esmm = 58 * 128 + 128 * 64 + 2 * (64 * 32 + 32 * 16 + 16);
  const ip = 2 * (58 * 128 + 128 * 64 + 64 * 32 + 32 * 16 + 16);
  assert.deepEqual(out.multiplyAdds, {
    train: 3 * (esmm * 3 * 1000 + ip * 2 * 1000),
    validation: esmm * 3 * 500 + ip * 2 * 500,
    test: (esmm + ip) * 2000,
    later: (esmm + ip) * 200,
    total: esmm * (9000 + 1500 + 2200) + ip * (6000 + 1000 + 2200),
  });
  assert.equal(out.records, 2);
  // ESMM's five kernels at S = 2, IP's distinct ones at S = 1: four products each (three in training, one in prediction).
  const seeds = new Set(out.shapes.map((x: { in: number; out: number; seeds: number }) => `${x.in}x${x.out}/${x.seeds}`));
  assert.ok(seeds.has("58x128/2") && seeds.has("58x128/1") && seeds.has("16x1/2"), [...seeds].join(" "));
  assert.equal(out.shapes.length, 4 * seeds.size);
  assert.ok(out.productsSeconds.total > 0 && out.productsSeconds.perWorker === out.productsSeconds.total);
});

test("study-arithmetic.js: bad input is one line naming the file and line or the option, exit 2", () => {
  const truncated = scratchStudy([record("ESMM", 1), "", "", '{"model": "ESM']);
  const cases: [string[], string][] = [
    [["/nonexistent/runs.jsonl", "/nonexistent"], "study-arithmetic: /nonexistent/runs.jsonl: no such file (a study's records: make reproduce writes runs/models.jsonl)"],
    [[truncated.runs, truncated.data], `study-arithmetic: ${truncated.runs}: line 4 is not JSON`],
    [[scratchStudy([record("ESMM", 1), "null"]).runs, truncated.data], "line 2 is not a run record (a JSON object)"],
    [[scratchStudy([record("NOPE", 1)]).runs, truncated.data], "line 1: "],
    [[scratchStudy([""]).runs, truncated.data], "no records"],
    [[truncated.data, truncated.data], "not a file"],
    [[truncated.runs, truncated.data, "--bogus", "3"], "study-arithmetic: unknown option --bogus (options: --workers, --repeat)"],
    [[truncated.runs, truncated.data, "--workers", "2", "--workers", "3"], "study-arithmetic: --workers is given twice"],
    [[truncated.runs, truncated.data, "--repeat"], "study-arithmetic: --repeat takes a positive integer, got nothing"],
    [[truncated.runs], "usage: study-arithmetic.js RUNS.jsonl DATA_DIR"],
  ];
  for (const [args, expected] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].includes(expected), `${lines[0]} should include ${expected}`);
  }
});
