/**
 * Data sources as a registry (issue 23, point 3): one `DataSource` type with a kind per loader
 * (registry.ts), and `materialize(source, preparation)` owning the cache of prepared folders (materialize.ts).
 */
export type { SourceBase, SourceKind, WriteContext } from "./kind";
export { fullPreparation, sourceKey } from "./kind";
export type { DataSource } from "./registry";
export { registerSource, sourceFromFolder, sourceKind, sourceKinds } from "./registry";
export { findMaterialized, materialize, materializedDir, materializeInto, materializeSync } from "./materialize";
export type { MaterializeOptions } from "./materialize";
export { ALI_CCP_LAYOUTS, findAliCcpFiles } from "./ali-ccp";
export type { AliCcpSource } from "./ali-ccp";
export type { AliCcpRawSource } from "./ali-ccp-raw";
export type { CsvLogSource } from "./csv-log";
export { preparedDataKey, preparedFolderSha256 } from "./prepared";
export type { PreparedSource } from "./prepared";
export { DATA_SPEC_FILE } from "./simulated";
export type { SimulatedSource } from "./simulated";
export type { SimulatedLogSource } from "./simulated-log";
