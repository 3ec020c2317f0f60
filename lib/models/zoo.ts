/**
 * THE table: the six models of O'Brien et al. (RecSys'21), as data.
 *
 * | model      | trunk    | heads         | pCTCVR  | loss terms                                   |
 * |------------|----------|---------------|---------|----------------------------------------------|
 * | IP         | separate | ctr, cvr      | product | ctr:click@impressions, cvr:conversion@clicks |
 * | ESMM       | shared   | ctr, cvr      | product | ctr:click@impressions, ctcvr:c&c@impressions |
 * | ESMM-NS    | separate | ctr, cvr      | product | ctr:click@impressions, ctcvr:c&c@impressions |
 * | ESSP-Split | shared   | ctr, ctcvr    | head    | ctr:click@impressions, ctcvr:c&c@impressions |
 * | IPSP       | shared   | ctr, cvr      | product | ctr:click@impressions, cvr:conversion@clicks |
 * | ESP        | separate | ctcvr         | head    | ctcvr:c&c@impressions                        |
 *
 * (c&c = clickAndConversion.) The paper's columns (shared parameters / entire space / weighted CVR) are
 * derived by `characteristics(spec)`; test/models.test.ts checks them against the paper's table.
 * IP's "product" is used at evaluation only: no loss term is put on it.
 */
import { LossTerm, ModelSpec, validateSpec } from "./spec";
import { STANDARD_TERMS } from "./losses";

const { ctrOnImpressions, cvrOnClicks, ctcvrOnImpressions } = STANDARD_TERMS;
const terms = (...t: LossTerm[]): LossTerm[] => t.map((x) => ({ ...x }));
const deepFreeze = (s: ModelSpec): ModelSpec => {
  Object.freeze(s.heads);
  s.losses.forEach((t) => Object.freeze(t));
  Object.freeze(s.losses);
  return Object.freeze(s);
};

export const MODEL_ZOO: readonly ModelSpec[] = Object.freeze([
  {
    name: "IP",
    description: "Independent prediction: a CTR network on impressions and a CVR network on clicks, no shared parameters",
    trunk: "separate",
    heads: ["ctr", "cvr"],
    ctcvr: "product",
    losses: terms(ctrOnImpressions, cvrOnClicks),
  },
  {
    name: "ESMM",
    description: "Entire space multi-task model: shared trunk, CVR learned through pCTCVR = pCTR * pCVR",
    trunk: "shared",
    heads: ["ctr", "cvr"],
    ctcvr: "product",
    losses: terms(ctrOnImpressions, ctcvrOnImpressions),
  },
  {
    name: "ESMM-NS",
    description: "ESMM with no shared parameters: separate CTR and CVR networks, joined only by the product",
    trunk: "separate",
    heads: ["ctr", "cvr"],
    ctcvr: "product",
    losses: terms(ctrOnImpressions, ctcvrOnImpressions),
  },
  {
    name: "ESSP-Split",
    description: "Entire space, shared trunk, independent CTR and CTCVR heads (no product)",
    trunk: "shared",
    heads: ["ctr", "ctcvr"],
    ctcvr: "head",
    losses: terms(ctrOnImpressions, ctcvrOnImpressions),
  },
  {
    name: "IPSP",
    description: "IP's losses (CTR on impressions, CVR on clicks) on a shared trunk",
    trunk: "shared",
    heads: ["ctr", "cvr"],
    ctcvr: "product",
    losses: terms(ctrOnImpressions, cvrOnClicks),
  },
  {
    name: "ESP",
    description: "Entire space single task: one network predicting click-and-conversion over all impressions",
    trunk: "separate",
    heads: ["ctcvr"],
    ctcvr: "head",
    losses: terms(ctcvrOnImpressions),
  },
].map((s) => deepFreeze(s as ModelSpec)));

for (const s of MODEL_ZOO) validateSpec(s);

export const MODEL_NAMES: readonly string[] = MODEL_ZOO.map((s) => s.name);

/** The zoo's spec named `name` (case-insensitive); throws listing the known names. */
export function getModelSpec(name: string): ModelSpec {
  const spec = MODEL_ZOO.find((s) => s.name.toLowerCase() === name.toLowerCase());
  if (!spec) throw new Error(`unknown model "${name}"; known models: ${MODEL_NAMES.join(", ")}`);
  return spec;
}
