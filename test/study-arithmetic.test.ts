/**
 * bench/study-arithmetic.ts: the multiply-adds per row it counts on a built model, against the default
 * architecture worked out by hand, and its bad-input line.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";
import { denseKernels } from "../bench/study-arithmetic";
import { projectRoot } from "../lib/backend";
import { trainingBackend } from "./helpers";

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

test("study-arithmetic.js: a missing runs file is one line and exit 2", () => {
  const script = path.join(projectRoot(), "build", "bench", "study-arithmetic.js");
  const r = spawnSync(process.execPath, [script, "/nonexistent/runs.jsonl", "/nonexistent"], { encoding: "utf8" });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim(), "study-arithmetic: /nonexistent/runs.jsonl: no such file (a study's records: make reproduce writes runs/models.jsonl)");
});
