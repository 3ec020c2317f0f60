/**
 * Data: the impression-log schema, the seeded simulator and its worlds, loaders of Ali-CCP and generic CSV logs,
 * the log cache, and preparation (downsampling, splits, encoding) with its prepared files.
 */
export * from "./schema";
export { DataError } from "./errors";
export { Rng, deriveSeed } from "./random";
export { DEFAULT_SIMULATOR_CONFIG, resolveConfig } from "./simulator-config";
export type { SimulatorConfig, PlacementConfig } from "./simulator-config";
export { WORLD_PRIORS, WORLD_PRIOR_NAMES, drawWorld, getWorldPrior } from "./world-prior";
export type { WorldPrior, PriorParameter } from "./world-prior";
export { SIMULATED_SCHEMA, createWorld, generateDay } from "./simulator";
export * from "./simulated-files";
export { LOG_CACHE_FILE, LOG_CACHE_FORMAT } from "./log-cache";
export { logRecords, sampleIndices } from "./rows";
export * from "./prepare";
export * from "./prepared-files";
export type { EncodedSplit } from "./encoded";
export { loadAliCcpCsv, loadAliCcpSplits, loadAliCcpSplitsLog } from "./ali-ccp";
export { loadCsvLog, prepareCsv, readCsvSchemaFile, carveSplits } from "./csv-log";
export type { CsvColumns, CsvInput, CsvRole } from "./csv-log";
export { isLabelLikeName, labelLikeColumns, labelEchoes, LABEL_LIKE_NAMES } from "./label-like";
export { loadAliCcpRaw, loadAliCcpRawSplits, ALI_CCP_DEFAULT_FIELDS } from "./ali-ccp-raw";
