/**
 * The zoo as one table: each model's trunk, towers, pCTCVR, loss terms and the characteristics derived from
 * its built graph (lib/models/characteristics.ts). Notebook 06, `esmm models` and docs/models.md's model table
 * all print these rows. Needs the backend initialised (characteristics build a tiny model).
 */
import { CHARACTERISTIC_NAMES, DEFAULT_TRUNK_SIZES, MODEL_ZOO, ModelSpec, characteristics, lossTermName } from "../models";
import { CHARACTERISTIC_LABELS, CHARACTERISTIC_TAGS } from "./model-card";

/** How a trunk reads in a table, by kind. */
function trunkText(spec: ModelSpec): string {
  const t = spec.trunk;
  switch (t.kind) {
    case "separate":
      return "separate";
    case "sharedBottom":
      return t.layers && t.layers.length === 0 ? "shared embeddings" : "shared bottom";
    case "mmoe":
      return `MMoE (${t.experts ?? DEFAULT_TRUNK_SIZES.mmoeExperts} experts)`;
    case "ple":
      return "PLE";
  }
}

/** One row per model of `specs` (default: the whole zoo), columns in table order. */
export function modelTableRows(specs: readonly ModelSpec[] = MODEL_ZOO): Record<string, string>[] {
  return specs.map((spec) => {
    const c = characteristics(spec);
    const row: Record<string, string> = {
      model: spec.name,
      trunk: trunkText(spec),
      towers: spec.towers.map((x) => (x.transferFrom ? `${x.name} (← ${x.transferFrom})` : x.name)).join(", "),
      pCTCVR: spec.ctcvr === "product" ? "pCTR × pCVR" : "own tower",
      loss_terms: spec.losses.map(lossTermName).join("; "),
    };
    for (const k of CHARACTERISTIC_NAMES) row[CHARACTERISTIC_LABELS[k]] = c[k] ? "yes" : "";
    return row;
  });
}

/**
 * The same models for a terminal (`esmm models`): model, trunk, towers, pCTCVR, the loss terms' towers (the term
 * names without their label and rows: "ctr, ctcvr"; other terms by kind) and the characteristics that hold, short
 * (CHARACTERISTIC_TAGS), in one column: about 180 characters wide where modelTableRows' table is over 300. `esmm models --wide` prints modelTableRows.
 */
export function modelTableCompactRows(specs: readonly ModelSpec[] = MODEL_ZOO): Record<string, string>[] {
  const rows = modelTableRows(specs);
  return specs.map((spec, i) => ({
    model: rows[i].model,
    trunk: rows[i].trunk,
    towers: rows[i].towers,
    pCTCVR: rows[i].pCTCVR,
    // a cross-entropy term by its output ("ctcvr"), any other by its kind ("errorDr"), with its weight when not 1
    losses: spec.losses.map((term) => `${term.kind === "ce" ? lossTermName({ ...term, weight: 1 }).split(":")[0] : term.kind}${term.weight !== 1 ? `*${term.weight}` : ""}`).join(", "),
    characteristics: CHARACTERISTIC_NAMES.filter((k) => rows[i][CHARACTERISTIC_LABELS[k]] === "yes").map((k) => CHARACTERISTIC_TAGS[k]).join(", "),
  }));
}

/** The rows as a Markdown table (docs/models.md's model table). */
export function modelTableMarkdown(specs: readonly ModelSpec[] = MODEL_ZOO): string {
  const rows = modelTableRows(specs);
  const cols = Object.keys(rows[0]);
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  return [`| ${cols.join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${cols.map((k) => esc(r[k])).join(" | ")} |`)].join("\n");
}
