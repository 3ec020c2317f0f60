/**
 * A model row's version in its runs' keys (lib/models/row-version.ts): a row unchanged since rows entered the keys
 * keeps its runs' old keys; a changed row (here: one loss weight of DCMT, a row outside the golden fixtures) gets
 * new keys, and a study no longer matches it with the runs recorded before the change.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { KEYED_ROWS, modelRowField, modelRowFingerprint } from "../lib/models/row-version";
import { getModelSpec } from "../lib/models/zoo";
import { computation, matchRecords, runKey } from "../lib/study/results";
import { expandGrid, RunSpec } from "../lib/study/spec";
import { studyProfile } from "../lib/study";

const MANIFEST = "0".repeat(64);
const NUMERICS = "1".repeat(64);

function quickRun(model: string): RunSpec {
  return expandGrid({ ...studyProfile("quick"), models: [model] })[0];
}

test("row version: a row as keyed on 2026-12-06 adds nothing to its runs, so their keys are the keys from before", () => {
  for (const name of ["ESMM", "DCMT", "ChorusCVR"]) {
    const run = quickRun(name);
    assert.equal(KEYED_ROWS[name], modelRowFingerprint(getModelSpec(name)), `${name}'s row is the row as keyed`);
    assert.ok(!("modelRow" in run), `${name}: no modelRow while the row is unchanged`);
    // the key of the run as a spec written before this field existed (the same fields, no modelRow)
    const { modelRow: _m, ...before } = { ...run, modelRow: undefined };
    void _m;
    assert.equal(runKey(run, MANIFEST, NUMERICS), runKey(before as RunSpec, MANIFEST, NUMERICS));
  }
  assert.equal(modelRowFingerprint(getModelSpec("ESMM")), "ed376961984d3a45");
});

test("row version: changing a row outside the golden fixtures gives its runs new keys, and old records stop matching", () => {
  const dcmt = getModelSpec("DCMT");
  const oldRun = quickRun("DCMT");
  const oldRecord = { config: oldRun, numericsVersion: NUMERICS };
  // the counterfactual term's weight 0.1 -> 0.2: another computation
  const changed = { ...dcmt, losses: dcmt.losses.map((l) => (l.kind === "counterfactual" ? { ...l, weight: l.weight * 2 } : l)) };
  const field = modelRowField("DCMT", changed);
  assert.match(field.modelRow ?? "", /^[0-9a-f]{16}$/);
  assert.notEqual(field.modelRow, KEYED_ROWS.DCMT);
  const newRun: RunSpec = { ...oldRun, ...field };
  assert.notEqual(runKey(newRun, MANIFEST, NUMERICS), runKey(oldRun, MANIFEST, NUMERICS));
  assert.equal(matchRecords([newRun], [oldRecord], NUMERICS)[0].record, undefined, "the run before the change is not reused");
  // a record of the changed row matches the changed row's run (the record keeps the row it was trained with)
  assert.equal(matchRecords([newRun], [{ config: newRun, numericsVersion: NUMERICS }], NUMERICS)[0].record?.config, newRun);
  // and a record of the changed row does not match the keyed row's run once the row is changed back
  assert.equal(matchRecords([oldRun], [{ config: newRun, numericsVersion: NUMERICS }], NUMERICS)[0].record, undefined);
  // names, descriptions and source notes are not the computation
  assert.equal(modelRowFingerprint({ ...changed, source: "reworded", description: "reworded" }), field.modelRow);
  assert.deepEqual(modelRowField("DCMT"), {}, "the zoo's row is the keyed row");
  assert.deepEqual(computation(quickRun("DCMT")), computation(oldRun));
});
