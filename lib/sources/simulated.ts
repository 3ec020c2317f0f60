/**
 * Source kind "simulated": a log the simulator writes (lib/data/simulator.ts) from its config and seed,
 * prepared with the default split plan (training days, a validation day, the test day, `laterDays` later days).
 *
 *   { kind: "simulated", simulator: { impressions: 200_000 }, simulatorSeed: 7, laterDays: 2 }
 *
 * Keyed by the study's DataSpec as it always was (lib/study/data-cache.ts dataSpecKey): canonical JSON of
 * { simulator (defaults filled in by resolveConfig), simulatorSeed, laterDays, negativeKeepRate, prepareSeed,
 * oovMinCount, oovMaskRate } and the data numerics version. The OOV fields are keyed as given (absent stays
 * absent, as in specs written before they existed); the keep rate and seed default to DEFAULT_PREPARATION.
 * `worldPrior` is a label (the drawn parameters are in `simulator`) and is not keyed.
 *
 * The folder holds prepared.json and its splits, the simulator's manifest.json and data-spec.json (written
 * last); the simulated day CSVs are deleted after preparation (the same source regenerates them byte for
 * byte) unless `keepLog`. Writing is synchronous.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkEvaluationScaling, DEFAULT_PREPARATION, defaultSplitPlan, prepare, Preparation } from "../data/prepare";
import { PREPARED_FILE, writePrepared } from "../data/prepared-files";
import { ensureSimulatedLog, MANIFEST_FILE, readSimulatedLog } from "../data/simulated-files";
import { resolveConfig, SimulatorConfig } from "../data/simulator-config";
import { sha256Hex } from "../numerics";
import { SourceKind, sourceKey } from "./kind";

export interface SimulatedSource {
  kind: "simulated";
  simulator: Partial<SimulatorConfig>;
  simulatorSeed: number;
  /** Days after the test day scored without retraining. */
  laterDays: number;
  /** The world prior the simulator parameters were drawn from (a label, not keyed). */
  worldPrior?: string;
}

/** The file that marks a complete simulated folder: { dataKey, spec (the study's DataSpec), resolvedSimulator }. */
export const DATA_SPEC_FILE = "data-spec.json";

/** The study's DataSpec fields of a simulated source under `preparation`, in the DataSpec's field order. */
function dataSpecFields(source: SimulatedSource, preparation: Partial<Preparation>) {
  return {
    simulator: source.simulator,
    simulatorSeed: source.simulatorSeed,
    negativeKeepRate: preparation.negativeKeepRate ?? DEFAULT_PREPARATION.negativeKeepRate,
    laterDays: source.laterDays,
    prepareSeed: preparation.seed ?? DEFAULT_PREPARATION.seed,
    oovMinCount: preparation.oovMinCount,
    oovMaskRate: preparation.oovMaskRate,
  };
}

export const simulatedSource: SourceKind<SimulatedSource> = {
  kind: "simulated",
  describe: "a simulated log, from the simulator's config and seed",
  embeddingUpdates: "dense",
  sync: true,

  key(source, preparation) {
    return sourceKey({ ...dataSpecFields(source, preparation), simulator: resolveConfig(source.simulator) });
  },

  isComplete(dir) {
    return [PREPARED_FILE, MANIFEST_FILE, DATA_SPEC_FILE].every((f) => fs.existsSync(path.join(dir, f)));
  },

  /** Throws before minutes of simulation when the simulator's scaled days are not the split plan's test and later days. */
  check(source) {
    const resolved = resolveConfig(source.simulator);
    checkEvaluationScaling(defaultSplitPlan(resolved.days, source.laterDays), resolved);
  },

  write(source, preparation, tmp, { key = simulatedSource.key(source, preparation), onStatus, keepLog }) {
    const logDir = path.join(tmp, "log");
    onStatus?.(`simulating ${source.simulator.impressions ?? "default"} impressions (data ${key})`);
    const { manifest } = ensureSimulatedLog(source.simulator, source.simulatorSeed, logDir);
    onStatus?.(`preparing data ${key}`);
    const spec = dataSpecFields(source, preparation);
    // no log.bin beside a log that is deleted right below
    const data = prepare(readSimulatedLog(logDir, { cache: keepLog ?? false }), {
      plan: defaultSplitPlan(manifest.days.length, source.laterDays),
      negativeKeepRate: spec.negativeKeepRate,
      seed: spec.prepareSeed,
      oovMinCount: spec.oovMinCount,
      oovMaskRate: spec.oovMaskRate,
      simulator: manifest.config,
    });
    const manifestBytes = fs.readFileSync(path.join(logDir, MANIFEST_FILE));
    fs.writeFileSync(path.join(tmp, MANIFEST_FILE), manifestBytes);
    writePrepared(tmp, data, {
      kind: "simulated",
      dataKey: key,
      seed: manifest.seed,
      totals: manifest.totals,
      oracle: manifest.oracle,
      manifestSha256: sha256Hex(manifestBytes),
    });
    if (!keepLog) fs.rmSync(logDir, { recursive: true, force: true });
    // Written last: its presence (with prepared.json and manifest.json) marks a complete folder.
    const written = { ...spec, ...(source.worldPrior !== undefined ? { worldPrior: source.worldPrior } : {}) };
    fs.writeFileSync(path.join(tmp, DATA_SPEC_FILE), JSON.stringify({ dataKey: key, spec: written, resolvedSimulator: resolveConfig(source.simulator) }, null, 1) + "\n");
  },
};
