/**
 * A model row's version in its runs' keys (issue 23, point 2: a run is keyed by what it computes).
 *
 * The numerics version (lib/numerics.ts) pins the paper's six through golden fixtures, but a run names its model
 * by name, so before this file a change of another row (a loss weight, a tower, a detachment of DCMT, ChorusCVR,
 * ...) kept the keys of the runs trained before it, and a study silently reused them. Now a run's spec carries
 * `modelRow`, the row's fingerprint (sha256 of the row as data: trunk, towers, ctcvr, losses; not its name,
 * description or source note), whenever the row differs from the row as it was when rows entered the keys
 * (KEYED_ROWS, 2026-12-06): so a changed row is another computation with new keys, and the runs recorded before
 * that date keep theirs while their rows are unchanged. A row new to the zoo always carries its fingerprint.
 *
 *   modelRowFingerprint(getModelSpec("DCMT"))   // "3f0c...", 16 hex digits
 *   modelRowField("DCMT")                        // {} while DCMT's row is as keyed on 2026-12-06, else { modelRow: "..." }
 */
import { canonicalJson, sha256Hex } from "../numerics";
import type { ModelSpec } from "./spec";
import { getModelSpec } from "./zoo";

/** The first 16 hex digits of the sha256 of the row's computation (trunk, towers, ctcvr, losses as sorted-key JSON). */
export function modelRowFingerprint(spec: ModelSpec): string {
  const { trunk, towers, ctcvr, losses } = spec;
  return sha256Hex(canonicalJson({ trunk, towers, ctcvr, losses })).slice(0, 16);
}

/**
 * Every row of the zoo on 2026-12-06, when rows entered the keys: a run of a row still equal to its entry here
 * keeps the key it had before (no `modelRow`). The runs recorded before that date are trusted to have been trained
 * with these rows (nothing recorded which row they had). Frozen: never update an entry (that would give a changed row its
 * old runs back); a changed or new row is simply not found here.
 */
export const KEYED_ROWS: Readonly<Record<string, string>> = Object.freeze({
  "IP": "71fc375a685b8c9c",
  "ESMM": "ed376961984d3a45",
  "ESMM-NS": "c69ae53aeff498de",
  "ESSP-Split": "38e5f6d2ed4ee7a4",
  "IPSP": "5d0b5c7538886ea0",
  "ESP": "a019314b8d5e68ad",
  "MMoE": "1cff594ce4d8c59c",
  "PLE": "c50172ee2534162f",
  "AITM": "943ebbe7b7012376",
  "ESCM2-IPS": "c6ba205a1e4af6ea",
  "ESCM2-DR": "09fbcc3e7245ae4f",
  "DCMT": "6b6f409f60d64a14",
  "Multi-IPW": "e035c9de78931ad6",
  "Multi-DR": "c7c8b964e721f304",
  "DR-JL": "10e4a6ba38fc5f51",
  "MRDR": "2ae3b59339ec915c",
  "ESCM2-IPW-release": "d714c25da2c0bdbf",
  "ESCM2-DR-release": "1abfd5be2a2c93ee",
  "ESCM2-IPW-release-bigdata": "c4e063b0ded970b0",
  "ESCM2-DR-release-bigdata": "2960230dc5a69cb3",
  "NISE": "23d3082c27f3f730",
  "ChorusCVR": "32482106cf642b8c",
});

/**
 * `{ modelRow }` for a run of the zoo's row `model` (as lib/study/spec.ts expandGrid writes it into each run),
 * or `{}` when the row equals its KEYED_ROWS entry. `spec` (default: the zoo's row of that name) is the row to
 * fingerprint. Throws as getModelSpec on an unknown name.
 */
export function modelRowField(model: string, spec: ModelSpec = getModelSpec(model)): { modelRow?: string } {
  const fingerprint = modelRowFingerprint(spec);
  return KEYED_ROWS[spec.name] === fingerprint ? {} : { modelRow: fingerprint };
}
