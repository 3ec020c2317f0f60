/**
 * The columns of the ablation table, derived from the built model: which trainable variables each
 * output's gradient reaches (`MultiTaskModel.taskVariables`, measured on the graph), the variables' roles,
 * and the loss terms' kinds. The paper's three (O'Brien et al. RecSys'21, Table 1) and three more for the
 * families that followed.
 */
import { tf } from "../backend";
import { MultiTaskModel, buildModel } from "./build";
import { LOSS_KINDS, lossKind } from "./losses";
import { InputDims, ModelSpec, TowerName, towerNames } from "./spec";

export interface ModelCharacteristics {
  /** Some trainable variable is reached by two or more towers' outputs (a shared trunk, shared embeddings, experts). */
  sharedParameters: boolean;
  /** Every loss term is a risk over all impressions (no term restricted to clicked rows). */
  entireSpace: boolean;
  /**
   * The CVR tower is trained through pCTCVR = pCTR * pCVR: a loss term reads pCTCVR and pCTCVR reaches
   * every variable of both the CTR and the CVR towers. (IP multiplies at evaluation time only.)
   */
  weightedCvr: boolean;
  /** Towers read a softmax-gated mixture of experts (MMoE, PLE): the model has gate variables reached by its outputs. */
  experts: boolean;
  /** A loss term corrects the click selection with a detached propensity (IPS, DR, DCMT). */
  counterfactualCorrection: boolean;
  /** A tower's output reaches variables owned by another tower (AITM's information transfer). */
  transfer: boolean;
}

export const CHARACTERISTIC_NAMES: readonly (keyof ModelCharacteristics)[] = [
  "sharedParameters",
  "entireSpace",
  "weightedCvr",
  "experts",
  "counterfactualCorrection",
  "transfer",
];

/** Characteristics of a built model (see ModelCharacteristics). */
export function characteristicsOf(model: MultiTaskModel): ModelCharacteristics {
  const spec = model.spec;
  const towers = towerNames(spec);
  const reach = new Map(towers.map((tower) => [tower, new Set(model.taskVariables(tower))] as const));
  const ownerOf = (name: string) => model.variables.get(name)!.owner;
  const sharedParameters = towers.some((a, i) => towers.slice(i + 1).some((b) => [...reach.get(a)!].some((v) => reach.get(b)!.has(v))));
  const readsCtcvr = spec.losses.some((term) => lossKind(term).reads(term).includes("ctcvr") && !lossKind(term).detached(term).includes("ctcvr"));
  const ctcvrReach = new Set(model.taskVariables("ctcvr"));
  const towerOwn = (tower: TowerName) => [...model.variables.values()].filter((i) => i.trainable && i.owner === tower).map((i) => i.name);
  const weightedCvr =
    readsCtcvr && towers.includes("ctr") && towers.includes("cvr") && [...towerOwn("ctr"), ...towerOwn("cvr")].every((v) => ctcvrReach.has(v));
  const experts = [...model.variables.values()].some((i) => i.role === "gate" && towers.some((tower) => reach.get(tower)!.has(i.name)));
  const counterfactualCorrection = spec.losses.some((term) => (LOSS_KINDS[term.kind] as { counterfactual: boolean }).counterfactual);
  const transfer = towers.some((tower) => [...reach.get(tower)!].some((v) => ownerOf(v) !== "trunk" && ownerOf(v) !== tower));
  return {
    sharedParameters,
    entireSpace: spec.losses.every((term) => lossKind(term).space(term) === "impressions"),
    weightedCvr,
    experts,
    counterfactualCorrection,
    transfer,
  };
}

const PROBE_DIMS: InputDims = { categoricalFields: ["f0", "f1"], vocabularySizes: [3, 2], numericFields: ["x"] };

/**
 * Characteristics of `spec`, from a model built on two tiny fields (the structure does not depend on the
 * vocabulary). Needs the backend initialised (lib/backend initBackend).
 */
export function characteristics(spec: ModelSpec): ModelCharacteristics {
  tf();
  const model = buildModel(spec, PROBE_DIMS, { seed: 0 });
  try {
    return characteristicsOf(model);
  } finally {
    model.dispose();
  }
}
