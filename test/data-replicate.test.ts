/**
 * The data replicate of a run (lib/study/data-source.ts dataReplicateOf, replicateText): a simulated world and its
 * downsampling draw, or, for real data, the prepared folder with its preparation seed as the draw, never "world 0"
 * (issue 23 point 3). A real-data record as the results file stores it (config.data with `prepared`, and the
 * format's placeholders `simulator` {} and `simulatorSeed` 0) is read back as the same data set, replicate, design
 * and run key as the spec that made it, also when its folder has moved; and what a reader is shown (summary and
 * merge messages, the dry run's table) names the folder.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import { tempDir } from "./helpers";
import { dataReplicateOf, replicateCell, replicateText } from "../lib/study/data-source";
import { dataDesignId, dataSetOf } from "../lib/study/data-identity";
import { formatDryRun, studyDryRun } from "../lib/study/dry-run";
import { describeRun } from "../lib/study/merge";
import { ensureRealData, preparedDataSpec, preparedFolderInfo } from "../lib/study/real-data";
import { computation, runKey } from "../lib/study/results";
import { expandGrid, RunSpec } from "../lib/study/spec";
import { replicateOf } from "../lib/study/summary";

// The Ali-CCP sample prepared with keep rate 1 and seed 3: test/run-keys-pinned.test.ts pins its content hash.
const SHA256 = "6c12ae6fddc245ea94e2d94ce27376ddcbb0b31f633580a10ad720c13f14ee04";
const FOLDER = SHA256.slice(0, 16);

async function realRun(root: string): Promise<{ dir: string; run: RunSpec }> {
  const dir = await ensureRealData(path.join(FIXTURES_DIR, "ali-ccp"), { root, negativeKeepRate: 1, seed: 3 });
  const [run] = expandGrid({ name: "replicate", models: ["ESMM"], seeds: [1], data: preparedDataSpec(dir), train: { maxEpochs: 1 } });
  return { dir, run };
}

test("a real-data run is its prepared folder with the preparation seed as draw; a simulated run its world and draw", async () => {
  const { run } = await realRun(tempDir());
  assert.deepEqual(dataReplicateOf(run.data), { folder: FOLDER, draw: 3 });
  assert.equal(replicateText(run.data), `the prepared folder ${FOLDER} (draw = its preparation seed 3)`);
  assert.equal(replicateText({ folder: FOLDER, draw: 3 }), replicateText(run.data));
  assert.equal(describeRun(run), `ESMM seed 1, the prepared folder ${FOLDER} (draw = its preparation seed 3) (variant default)`);

  // simulated world 0, draw 3: the replicate real data used to be taken for, now another one
  const simulated = { ...run.data, prepared: undefined, simulator: { impressions: 20000 } };
  assert.deepEqual(dataReplicateOf(simulated), { world: 0, draw: 3 });
  assert.equal(replicateText(simulated), "world 0, draw 3");
  assert.equal(describeRun({ ...run, data: { ...simulated, simulatorSeed: 7, prepareSeed: 7 } }), "ESMM seed 1, world 7, draw 7 (variant default)");
  assert.notEqual(replicateCell(dataReplicateOf(simulated)), replicateCell(dataReplicateOf(run.data)));
  // a record without config: (0, 0), as before
  assert.deepEqual(dataReplicateOf(undefined), { world: 0, draw: 0 });
});

test("a real-data record read back from its JSON line, also after its folder moved: same data set, replicate, design and run key", async () => {
  const root = tempDir();
  const { dir, run } = await realRun(root);
  const summary = preparedFolderInfo(dir).summary;
  const moved = path.join(root, "moved");
  fs.cpSync(dir, moved, { recursive: true });
  const stored = (d: string) => JSON.parse(JSON.stringify({ model: "ESMM", seed: 1, config: { ...run, data: preparedDataSpec(d) }, dataManifest: preparedFolderInfo(d).summary }));
  for (const record of [stored(dir), stored(moved)]) {
    // the stored form: the folder beside the format's placeholders
    assert.deepEqual([record.config.data.simulator, record.config.data.simulatorSeed, record.config.data.prepared.sha256], [{}, 0, SHA256]);
    assert.deepEqual(replicateOf(record), { folder: FOLDER, draw: 3 });
    assert.equal(dataSetOf(record), SHA256);
    assert.equal(dataDesignId(record), dataDesignId({ config: run }));
    assert.equal(runKey(record.config, summary.sha256, "N"), runKey(run, summary.sha256, "N"));
    assert.deepEqual(computation(record.config), computation(run));
  }
});

test("the dry run's table shows a real-data run's folder in its world column", async () => {
  const root = tempDir();
  const { dir } = await realRun(root);
  const plan = studyDryRun({ name: "replicate", models: ["ESMM"], seeds: [1], data: preparedDataSpec(dir), train: { maxEpochs: 1 } }, { results: path.join(root, "none.jsonl"), dataRoot: path.join(root, "cache") });
  const [header, row] = formatDryRun(plan).split("\n").slice(1);
  assert.deepEqual(header.split(/\s{2,}/).slice(0, 6), ["status", "model", "variant", "world", "draw", "seed"]);
  assert.deepEqual(row.split(/\s{2,}/).slice(0, 6), ["train", "ESMM", "default", `folder ${FOLDER}`, "3", "1"]);
});
