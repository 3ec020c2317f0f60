/**
 * A study spec read from a file (`esmm study --spec FILE.json`, `esmm merge --spec`) checked field by field
 * before anything runs: `checkStudySpec(value)` returns it as a StudySpec or throws a `SpecFieldError` naming
 * the first field at fault by its path (e.g. `data.simulatorSeed`, `variants[1].train.batchSize`,
 * `models[0]`) and what it must be. So a malformed spec is one line naming the file and the field, never
 * "real data (undefined)", a world "undefined" in a dry run or a stack trace.
 *
 * What is checked: every field of StudySpec, DataSpec, VariantSpec, Architecture and TrainConfig (less its
 * seed) has its type and range; the fields a StudySpec and a DataSpec require are present; a field that no
 * spec has is refused (a misspelt `seed` for `seeds` would otherwise be ignored in silence); models are zoo
 * names (case-insensitive, as --models); simulator options are the simulator's (SimulatorConfig) with their
 * ranges (SIMULATOR_RANGES). The field tables below are typed as complete records of those interfaces, so a
 * field added to one of them does not compile until it is checked here. Whether the simulator options make a
 * consistent whole (e.g. impressions >= days) is left to resolveConfig, which the CLI calls per variant.
 */
import { DEFAULT_SIMULATOR_CONFIG, SIMULATOR_RANGES, SimulatorConfig } from "../data/simulator-config";
import { WORLD_PRIOR_NAMES } from "../data/world-prior";
import { LOSS_NORMALIZATIONS, MODEL_NAMES } from "../models";
import type { Architecture } from "../models";
import { EMBEDDING_UPDATES, WEIGHT_DECAY_FORMS } from "../train";
import type { TrainConfig } from "../train";
import { NumericRange, SEED_RANGE, describeRange, inRange, intRange } from "../ranges";
import type { DataSpec, StudySpec, VariantSpec } from "./spec";

/** A field of a spec that is missing, of the wrong type or out of range: `field` is its path in the spec. */
export class SpecFieldError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = "SpecFieldError";
  }
}

/** Throws a SpecFieldError for `value` at `field` unless it is acceptable. */
type Check = (value: unknown, field: string) => void;

const show = (v: unknown): string => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
const fail = (field: string, rule: string, value: unknown): never => {
  throw new SpecFieldError(field, `must be ${rule}, got ${show(value)}`);
};

const text: Check = (v, f) => void (typeof v === "string" && v !== "" ? 0 : fail(f, "a non-empty string", v));
const bool: Check = (v, f) => void (typeof v === "boolean" ? 0 : fail(f, "true or false", v));
const number =
  (range: NumericRange = {}): Check =>
  (v, f) =>
    void (typeof v === "number" && inRange(v, range) ? 0 : fail(f, describeRange(range), v));
const oneOf =
  (allowed: readonly string[]): Check =>
  (v, f) =>
    void (typeof v === "string" && allowed.includes(v) ? 0 : fail(f, `one of ${allowed.join(", ")}`, v));
const either =
  (a: Check, b: Check, rule: string): Check =>
  (v, f) => {
    try {
      a(v, f);
    } catch {
      try {
        b(v, f);
      } catch {
        fail(f, rule, v);
      }
    }
  };
const list =
  (item: Check, o: { nonEmpty?: boolean; distinct?: boolean } = {}): Check =>
  (v, f) => {
    if (!Array.isArray(v)) return fail(f, `a list${o.nonEmpty ? " (not empty)" : ""}`, v);
    if (o.nonEmpty && v.length === 0) return fail(f, "a non-empty list", v);
    v.forEach((x, i) => item(x, `${f}[${i}]`));
    if (o.distinct && new Set(v.map((x) => JSON.stringify(x))).size !== v.length) fail(f, "a list without a repeated value", v);
  };

interface Field {
  check: Check;
  required?: boolean;
}
type Fields<T> = { [K in keyof Required<T>]: Field };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** An object whose every key is in `fields`, each checked, the required ones present. */
const object =
  <T>(fields: Fields<T>): Check =>
  (v, f) => {
    if (!isObject(v)) return fail(f, "an object", v);
    const table = fields as Record<string, Field>;
    for (const key of Object.keys(v)) {
      const at = f ? `${f}.${key}` : key;
      if (!(key in table)) throw new SpecFieldError(at, `is not a field of this object (fields: ${Object.keys(table).join(", ")})`);
      if (v[key] !== undefined) table[key].check(v[key], at);
    }
    for (const [key, field] of Object.entries(table)) {
      if (field.required && v[key] === undefined) throw new SpecFieldError(f ? `${f}.${key}` : key, "is required");
    }
  };
/** An object with any keys, each value checked. */
const record =
  (value: Check): Check =>
  (v, f) => {
    if (!isObject(v)) return fail(f, "an object", v);
    for (const [key, x] of Object.entries(v)) value(x, `${f}.${key}`);
  };

const modelName: Check = (v, f) => void (typeof v === "string" && MODEL_NAMES.some((m) => m.toLowerCase() === v.toLowerCase()) ? 0 : fail(f, `a model of the zoo (${MODEL_NAMES.join(", ")})`, v));
const seed = number(SEED_RANGE);
const layerSizes = list(number(intRange(1)));

const ARCHITECTURE: Fields<Architecture> = {
  embeddingDim: { check: number(intRange(1)) },
  sharedLayers: { check: layerSizes },
  headLayers: { check: layerSizes },
  batchNorm: { check: bool },
  embeddingInitScale: { check: number({ gt: 0 }) },
  dropout: { check: number({ ge: 0, lt: 1 }) },
};

const TRAIN: Fields<Omit<TrainConfig, "seed">> = {
  learningRate: { check: number({ gt: 0 }) },
  adamBeta1: { check: number({ ge: 0, lt: 1 }) },
  adamBeta2: { check: number({ ge: 0, lt: 1 }) },
  adamEpsilon: { check: number({ gt: 0 }) },
  batchSize: { check: number(intRange(1)) },
  maxEpochs: { check: number(intRange(1)) },
  patience: { check: number(intRange(0)) },
  minDelta: { check: number({ ge: 0 }) },
  lossNormalization: { check: oneOf(LOSS_NORMALIZATIONS) },
  evalBatchSize: { check: number(intRange(1)) },
  syncEvery: { check: number(intRange(1)) },
  restoreBest: { check: bool },
  weightDecay: { check: number({ ge: 0 }) },
  weightDecayForm: { check: oneOf(WEIGHT_DECAY_FORMS) },
  embeddingUpdates: { check: oneOf(EMBEDDING_UPDATES) },
  lossWeights: { check: list(number({ ge: 0 }), { nonEmpty: true }) },
  testEveryEpoch: { check: bool },
};

const PLACEMENT = object<SimulatorConfig["placements"][number]>({
  name: { check: text, required: true },
  share: { check: number({ gt: 0 }), required: true },
  clickEffect: { check: number(), required: true },
  accidentalClickRate: { check: number({ ge: 0, lt: 1 }), required: true },
});
const DEVICE_OS = object<SimulatorConfig["deviceOs"][number]>({ name: { check: text, required: true }, share: { check: number({ gt: 0 }), required: true } });

// every field with a default, and the optional ones (absent from the defaults, e.g. hiddenSelection) that have a range
const SIMULATOR = Object.fromEntries(
  ([...new Set([...Object.keys(DEFAULT_SIMULATOR_CONFIG), ...Object.keys(SIMULATOR_RANGES)])] as (keyof SimulatorConfig)[]).map((k) => [
    k,
    { check: k === "placements" ? list(PLACEMENT, { nonEmpty: true }) : k === "deviceOs" ? list(DEVICE_OS, { nonEmpty: true }) : number(SIMULATOR_RANGES[k] ?? {}) },
  ]),
) as Fields<SimulatorConfig>;

const DATA_FIELDS: Fields<DataSpec> = {
  simulator: { check: object(SIMULATOR), required: true },
  simulatorSeed: { check: seed, required: true },
  negativeKeepRate: { check: number({ gt: 0, le: 1 }), required: true },
  laterDays: { check: number(intRange(0)), required: true },
  prepareSeed: { check: seed, required: true },
  oovMinCount: { check: number(intRange(1)) },
  oovMaskRate: { check: number({ ge: 0, lt: 1 }) },
  prepared: {
    check: object<NonNullable<DataSpec["prepared"]>>({
      dir: { check: text, required: true },
      sha256: { check: (v, f) => void (typeof v === "string" && /^[0-9a-f]{64}$/.test(v) ? 0 : fail(f, "64 lower-case hex digits (real-data.ts preparedFolderSha256)", v)), required: true },
    }),
  },
  worldPrior: { check: oneOf(WORLD_PRIOR_NAMES) },
};
/** A variant's data: any DataSpec field, none required. */
const VARIANT_DATA = Object.fromEntries(Object.entries(DATA_FIELDS).map(([k, f]) => [k, { check: f.check }])) as Fields<DataSpec>;

const MODEL_SETTINGS = object<NonNullable<VariantSpec["models"]>[string]>({ architecture: { check: object(ARCHITECTURE) }, train: { check: object(TRAIN) } });

const VARIANT: Fields<VariantSpec> = {
  name: { check: text, required: true },
  factor: { check: text },
  level: { check: either(text, number(), "a string or a number") },
  data: { check: object(VARIANT_DATA) },
  architecture: { check: object(ARCHITECTURE) },
  train: { check: object(TRAIN) },
  models: {
    check: (v, f) => {
      record(MODEL_SETTINGS)(v, f);
      for (const k of Object.keys(v as object)) modelName(k, `${f}.${k}`);
    },
  },
  onlyModels: { check: list(modelName, { nonEmpty: true }) },
};

const STUDY: Fields<StudySpec> = {
  name: { check: text, required: true },
  models: { check: list(modelName, { nonEmpty: true }), required: true },
  seeds: { check: list(seed, { nonEmpty: true, distinct: true }), required: true },
  data: { check: object(DATA_FIELDS), required: true },
  architecture: { check: object(ARCHITECTURE) },
  train: { check: object(TRAIN) },
  variants: {
    check: (v, f) => {
      list(object(VARIANT))(v, f);
      const names = (v as VariantSpec[]).map((x) => x.name);
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      if (twice !== undefined) throw new SpecFieldError(f, `two variants are named ${show(twice)}`);
    },
  },
  worlds: { check: list(seed, { nonEmpty: true, distinct: true }) },
  draws: { check: list(seed, { nonEmpty: true, distinct: true }) },
  worldPrior: { check: oneOf(WORLD_PRIOR_NAMES) },
};

/**
 * `value` (e.g. parsed JSON) as a StudySpec, after checking every field (see the file comment). Throws a
 * SpecFieldError naming the first field at fault (its path, "" for the whole value) and what it must be.
 */
export function checkStudySpec(value: unknown): StudySpec {
  if (!isObject(value)) throw new SpecFieldError("(the whole file)", `must be a JSON object (a study spec: name, models, seeds, data), got ${show(value)}`);
  object(STUDY)(value, "");
  return value as unknown as StudySpec;
}
