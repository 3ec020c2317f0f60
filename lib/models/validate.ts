/**
 * Spec validation: a spec that cannot be built, or that would silently train something else than it says,
 * is refused with one message naming the spec.
 */
import { LOSS_KINDS, lossKind, lossTermName } from "./losses";
import { LABEL_NAMES, ModelSpec, TOWER_NAMES, TaskOutput, outputsOf, towerNames } from "./spec";

const TRUNK_KINDS = ["separate", "sharedBottom", "mmoe", "ple"];

/** Throws `model spec "<name>": <why>` when the spec is inconsistent. */
export function validateSpec(spec: ModelSpec): void {
  const fail = (why: string): never => {
    throw new Error(`model spec "${spec.name}": ${why}`);
  };
  const names = towerNames(spec);
  if (names.length === 0) fail("no towers");
  if (new Set(names).size !== names.length) fail(`duplicate towers ${names.join(", ")}`);
  for (const h of names) if (!TOWER_NAMES.includes(h)) fail(`unknown tower "${h}"`);
  if (!spec.trunk || !TRUNK_KINDS.includes(spec.trunk.kind)) fail(`unknown trunk kind "${String(spec.trunk?.kind)}"; use one of ${TRUNK_KINDS.join(", ")}`);
  if (spec.ctcvr === "product") {
    if (!names.includes("ctr") || !names.includes("cvr")) fail(`ctcvr "product" needs ctr and cvr towers`);
    if (names.includes("ctcvr")) fail(`ctcvr "product" and a ctcvr tower are exclusive`);
  } else if (spec.ctcvr === "head") {
    if (!names.includes("ctcvr")) fail(`ctcvr "head" needs a ctcvr tower`);
  } else {
    fail(`unknown ctcvr mode "${String(spec.ctcvr)}"`);
  }
  spec.towers.forEach((tower, i) => {
    for (const n of tower.layers ?? []) if (!(Number.isInteger(n) && n > 0)) fail(`tower "${tower.name}" has layer size ${n}`);
    if (tower.transferFrom !== undefined) {
      const source = names.indexOf(tower.transferFrom);
      if (source < 0) fail(`tower "${tower.name}" transfers from "${tower.transferFrom}", which is not a tower of the model`);
      if (source >= i) fail(`tower "${tower.name}" transfers from "${tower.transferFrom}", which must come before it`);
    }
  });
  if (spec.losses.length === 0) fail("no loss terms");
  const outputs = outputsOf(spec);
  const trained = new Set<TaskOutput>();
  for (const term of spec.losses) {
    if (!(term.kind in LOSS_KINDS)) fail(`unknown loss kind "${String(term.kind)}"; known kinds: ${Object.keys(LOSS_KINDS).join(", ")}`);
    const kind = lossKind(term);
    const name = lossTermName(term);
    if (term.kind === "ce" && !LABEL_NAMES.includes(term.label)) fail(`loss term ${name} has unknown label "${String(term.label)}"`);
    if (term.kind === "ce" && term.space !== "impressions" && term.space !== "clicks") fail(`loss term ${name} has unknown space "${String(term.space)}"`);
    for (const o of kind.reads(term)) if (!outputs.includes(o)) fail(`loss term ${name} uses output "${o}" the model does not have`);
    for (const [what, v] of Object.entries(kind.positive(term))) {
      if (!(v > 0) || !Number.isFinite(v)) fail(`loss term ${name} has ${what} ${v}`);
      if (what === "minPropensity" && !(v <= 0.5)) fail(`loss term ${name} has minPropensity ${v} (must be in (0, 0.5])`);
    }
    const detached = new Set(kind.detached(term));
    for (const o of kind.reads(term)) if (!detached.has(o)) trained.add(o);
  }
  for (const h of names) {
    const reachable = trained.has(h) || (spec.ctcvr === "product" && (h === "ctr" || h === "cvr") && trained.has("ctcvr"));
    if (!reachable) fail(`tower "${h}" receives no loss term`);
  }
}
