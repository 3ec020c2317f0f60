/**
 * The data path's golden output: a tiny simulated log simulated and prepared through the study's own path
 * (data-cache.ts ensurePreparedData, then readPrepared), and the repository's processed Ali-CCP sample prepared
 * through real-data.ts ensureRealData, summarised as sha256s of every column of every split plus a few counts,
 * and compared with test/fixtures/data-reference.json exactly.
 *
 * The fixture is part of the numerics version (lib/study/numerics.ts DATA_FIXTURES): the data cache's keys and
 * every run key hash it, so the data is simulated again and the runs retrained exactly when this output changes.
 * A comment or a refactor of lib/data that this test passes keeps every key.
 *
 * Record again (only when the data is MEANT to change): ESMM_RECORD_DATA_REFERENCE=1 node --test
 * build/test/data-reference.test.js
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./helpers";
import { FIXTURES_DIR } from "./paths";
import type { EncodedSplit } from "../lib/data/encoded";
import type { PreparedData } from "../lib/data/prepare";
import { MANIFEST_FILE } from "../lib/data/simulated-files";
import { readPrepared } from "../lib/data/prepared-files";
import { ensurePreparedData } from "../lib/study/data-cache";
import { ensureRealData } from "../lib/study/real-data";
import { canonicalJson } from "../lib/study/results";
import type { DataSpec } from "../lib/study/spec";

const FIXTURE = path.join(FIXTURES_DIR, "data-reference.json");
const RECORD = process.env.ESMM_RECORD_DATA_REFERENCE === "1";

/** 20,000 impressions over 6 days (default split plan: train 0-2, validation 3, test 4, later 5), OOV rules on. */
const SPEC: DataSpec = {
  simulator: { impressions: 20_000, days: 6, users: 150, ads: 30 },
  simulatorSeed: 11,
  negativeKeepRate: 0.2,
  laterDays: 1,
  prepareSeed: 5,
  oovMinCount: 2,
  oovMaskRate: 0.05,
};

const sha = (a: ArrayBufferView | string) => crypto.createHash("sha256").update(typeof a === "string" ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest("hex");

function splitSummary(s: EncodedSplit) {
  let clicks = 0;
  let conversions = 0;
  let weight = 0;
  for (let i = 0; i < s.size; i++) {
    clicks += s.click[i];
    conversions += s.click[i] * s.conversion[i];
    weight += s.weight[i];
  }
  return {
    name: s.name,
    rows: s.size,
    clicks,
    conversions,
    weightSum: weight,
    days: [...new Set(s.day)],
    fields: s.categoricalFields,
    vocabularySizes: s.vocabularySizes,
    numericFields: s.numericFields,
    sha256: {
      categorical: sha(s.categorical),
      numeric: sha(s.numeric),
      click: sha(s.click),
      conversion: sha(s.conversion),
      weight: sha(s.weight),
      day: sha(s.day),
      ...(s.truth ? { pClick: sha(s.truth.pClick), pConversionGivenClick: sha(s.truth.pConversionGivenClick) } : {}),
    },
  };
}

function preparedSummary(data: PreparedData) {
  return {
    splits: [data.train, data.validation, data.test, ...data.later].map(splitSummary),
    vocabulariesSha256: sha(canonicalJson(data.vocabularies)),
    scalers: data.scalers,
    reportSha256: sha(canonicalJson(data.report)),
  };
}

test("the data path reproduces test/fixtures/data-reference.json (simulate + prepare, Ali-CCP sample)", async () => {
  const root = tempDir("esmm-data-reference-");
  const dir = ensurePreparedData(SPEC, root);
  const simulated = { spec: SPEC, manifestSha256: sha(fs.readFileSync(path.join(dir, MANIFEST_FILE)).toString("utf8")), ...preparedSummary(readPrepared(dir)) };
  const aliDir = await ensureRealData(path.join(FIXTURES_DIR, "ali-ccp"), { root, negativeKeepRate: 0.5, seed: 3 });
  const aliCcpSample = { source: "test/fixtures/ali-ccp", negativeKeepRate: 0.5, seed: 3, ...preparedSummary(readPrepared(aliDir)) };
  const got = JSON.parse(JSON.stringify({ simulated, aliCcpSample })) as unknown;
  if (RECORD) {
    const note = "Recorded by test/data-reference.test.ts (ESMM_RECORD_DATA_REFERENCE=1); part of every run key and data cache key (lib/study/numerics.ts).";
    fs.writeFileSync(FIXTURE, JSON.stringify({ note, ...(got as object) }, null, 1) + "\n");
    return;
  }
  const { note: _note, ...want } = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<string, unknown>;
  void _note;
  assert.deepEqual(got, want, "the data changed: if that is meant, record the fixture again (ESMM_RECORD_DATA_REFERENCE=1), which changes every key");
});
