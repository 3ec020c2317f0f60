/**
 * Run keys and data keys do not move when the study's data route changes (issue 23 point 3: a DataSpec's data
 * found and keyed through lib/sources): a simulated spec, a spec of worlds drawn from a prior, and a prepared
 * folder's spec (the Ali-CCP sample) give the keys main gave before.
 *
 * The pinned values were computed with main f96b64e's build (2026-12-06), before lib/study's real-data branches
 * went through the source registry, by the same calls as below: expandGrid, dataSpecKey, ensurePreparedData and
 * preparedDataInfo (for the manifest's sha256), runKey(run, sha256, "N") (the numerics version fixed to "N", so
 * that only the computation and the data name the key), dataDesignId, and for the prepared folder ensureRealData
 * of test/fixtures/ali-ccp (keep rate 1, seed 3) and preparedDataSpec. The data keys include the data numerics
 * version (lib/numerics.ts: the golden fixtures' hash): they move, rightly, only when those fixtures do.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { FIXTURES_DIR } from "./paths";
import { tempDir } from "./helpers";
import { dataSpecKey, ensurePreparedData, preparedDataInfo } from "../lib/study/data-cache";
import { dataDesignId, dataSetOf } from "../lib/study/data-identity";
import { ensureRealData, preparedDataSpec } from "../lib/study/real-data";
import { runKey } from "../lib/study/results";
import { expandGrid, StudySpec } from "../lib/study/spec";

const SIMULATED: StudySpec = {
  name: "pin",
  models: ["ESMM", "IP"],
  seeds: [1],
  data: { simulator: { impressions: 20000, days: 8, users: 300, ads: 80 }, simulatorSeed: 3, negativeKeepRate: 0.2, laterDays: 2, prepareSeed: 7 },
  worlds: [3],
  train: { maxEpochs: 1 },
};

const PINNED = {
  simulated: {
    dataKey: "cbfad8171f0c5236",
    manifestSha256: "c56c8cacf6f30dd544e05ea049caefbb5053bb187e8c91846875893fef5772bc",
    design: "b6ed4cdb",
    keys: { ESMM: "a14c2be35ace92a5a119bb17def6fd109c1445b4e474afcfba9cc43f3daaf645", IP: "f1788a59a5abbdf0fbcde2db86089ea0f32801f5a94347fc9fe6ee4ad365b886" },
  },
  prior: {
    dataKey: "5ee54cacb3049ff2",
    manifestSha256: "945202359fbe3dfab3411f4dc59481b029cab6bc8e29a1a6817196f16a868e38",
    design: "59a5a074",
    keys: { ESMM: "3f7902fbe9361e68439ce6d4ac3df0b9c6b6d127a4e97ff58174c4e156b69b46", IP: "bb02f6597c197c8018d1f5118d9280b82c6a8bcbd62096bfaca27d016c39d960" },
  },
  prepared: {
    sha256: "6c12ae6fddc245ea94e2d94ce27376ddcbb0b31f633580a10ad720c13f14ee04",
    dataKey: "6c12ae6fddc245ea",
    design: "16909942",
    keys: { ESMM: "e097454dc34c79d0a909129e7a81e2a34914cfc4160151b1f355188ec33d5718", IP: "caf25bf21a5f8e9e39afb2cd6e1847967f88247e91734fffa38e2af419410250" },
  },
};

test("simulated specs (one world; worlds drawn from a prior): data keys, manifest hashes, run keys and designs as main computed them", () => {
  const root = tempDir();
  const studies: ["simulated" | "prior", StudySpec][] = [["simulated", SIMULATED], ["prior", { ...SIMULATED, name: "pin-prior", worldPrior: "ad-logs", worlds: [4] }]];
  for (const [name, study] of studies) {
    const pinned = PINNED[name];
    const runs = expandGrid(study);
    assert.equal(dataSpecKey(runs[0].data), pinned.dataKey, name);
    const dir = ensurePreparedData(runs[0].data, root);
    assert.equal(path.basename(dir), pinned.dataKey, `${name}: the cache folder is named by the data key`);
    const { summary } = preparedDataInfo(dir);
    assert.deepEqual([summary.dataKey, summary.sha256], [pinned.dataKey, pinned.manifestSha256], name);
    for (const run of runs) {
      assert.equal(runKey(run, summary.sha256, "N"), pinned.keys[run.model as "ESMM" | "IP"], `${name} ${run.model}`);
      assert.equal(dataDesignId({ config: run }), pinned.design, `${name} ${run.model}`);
      assert.equal(dataSetOf({ config: run, dataManifest: summary }), pinned.manifestSha256);
    }
  }
});

test("a prepared folder's spec (the Ali-CCP sample): content hash, data key, run keys and design as main computed them, wherever the folder is", async () => {
  const dir = await ensureRealData(path.join(FIXTURES_DIR, "ali-ccp"), { root: tempDir(), negativeKeepRate: 1, seed: 3 });
  const data = preparedDataSpec(dir);
  assert.deepEqual({ ...data, prepared: { sha256: data.prepared!.sha256 } }, {
    simulator: {},
    simulatorSeed: 0,
    negativeKeepRate: 1,
    laterDays: 0,
    prepareSeed: 3,
    oovMinCount: 2,
    oovMaskRate: 0.01,
    prepared: { sha256: PINNED.prepared.sha256 },
  });
  assert.equal(dataSpecKey(data), PINNED.prepared.dataKey);
  const runs = expandGrid({ name: "pin-real", models: ["ESMM", "IP"], seeds: [1], data, train: { maxEpochs: 1 } });
  for (const run of runs) {
    assert.equal(runKey(run, PINNED.prepared.sha256, "N"), PINNED.prepared.keys[run.model as "ESMM" | "IP"], run.model);
    assert.equal(dataDesignId({ config: run }), PINNED.prepared.design, run.model);
  }
});
