/**
 * The data source kinds, one row each: a new loader is one file exporting a `SourceKind` and one row here.
 *
 * | kind         | file            | what                                                     | folder under the root |
 * |--------------|-----------------|----------------------------------------------------------|-----------------------|
 * | simulated    | simulated.ts    | the simulator's log from its config and seed             | `<key>`               |
 * | simulated-log| simulated-log.ts| a simulated log folder (`esmm simulate --out`)           | `simulated-log-<key>` |
 * | csv-log      | csv-log.ts      | any impression log in CSV files (`esmm prepare --csv`)   | `csv-<key>`           |
 * | ali-ccp      | ali-ccp.ts      | the processed Ali-CCP CSV files                          | `ali-ccp-<key>`       |
 * | ali-ccp-raw  | ali-ccp-raw.ts  | the raw Ali-CCP release                                  | `ali-ccp-raw-<key>`   |
 * | prepared     | prepared.ts     | a prepared folder, used in place                         | (the folder itself)   |
 *
 * `sourceFromFolder` asks the rows in order which kind a folder is (a prepared folder first, then the
 * processed Ali-CCP layout, then the raw release).
 */
import { aliCcpSource, AliCcpSource } from "./ali-ccp";
import { aliCcpRawSource, AliCcpRawSource } from "./ali-ccp-raw";
import { csvLogSource, CsvLogSource } from "./csv-log";
import type { SourceBase, SourceKind } from "./kind";
import { preparedSource, PreparedSource } from "./prepared";
import { simulatedSource, SimulatedSource } from "./simulated";
import { simulatedLogSource, SimulatedLogSource } from "./simulated-log";

/** A data source of one of the built-in kinds. */
export type DataSource = SimulatedSource | SimulatedLogSource | CsvLogSource | AliCcpSource | AliCcpRawSource | PreparedSource;

const SOURCE_KINDS = new Map<string, SourceKind<SourceBase>>();

/**
 * Adds a kind to the registry (the built-in rows below, or a kind of a test or a notebook). Throws when a kind
 * of that name is registered already.
 */
export function registerSource<S extends SourceBase>(kind: SourceKind<S>): void {
  if (SOURCE_KINDS.has(kind.kind)) throw new Error(`data sources: a kind "${kind.kind}" is registered already`);
  SOURCE_KINDS.set(kind.kind, kind as unknown as SourceKind<SourceBase>);
}

registerSource(preparedSource);
registerSource(aliCcpSource);
registerSource(aliCcpRawSource);
registerSource(csvLogSource);
registerSource(simulatedSource);
registerSource(simulatedLogSource);

/** The kind of `source`. Throws one line naming the kinds there are when it has none of them. */
export function sourceKind(source: SourceBase): SourceKind<SourceBase> {
  const kind = SOURCE_KINDS.get(source?.kind);
  if (!kind) throw new Error(`data sources: unknown kind ${JSON.stringify(source?.kind)} (kinds: ${[...SOURCE_KINDS.keys()].join(", ")})`);
  return kind;
}

/** The registered kinds, in the order `sourceFromFolder` asks them. */
export function sourceKinds(): SourceKind<SourceBase>[] {
  return [...SOURCE_KINDS.values()];
}

/** The source a folder is, by the first kind that recognises it (`detect`), else undefined. */
export function sourceFromFolder(dir: string): SourceBase | undefined {
  for (const kind of SOURCE_KINDS.values()) {
    const source = kind.detect?.(dir);
    if (source) return source;
  }
  return undefined;
}
