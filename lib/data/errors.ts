/**
 * Errors about input data. Every message names the file, and where it applies the line and column,
 * so a user can open the file at the offending place.
 */
export interface DataLocation {
  file: string;
  /** 1-based line number in the file (the header is line 1). */
  line?: number;
  /** Column name (or 1-based index when the file has no header). */
  column?: string;
}

export class DataError extends Error {
  readonly location: DataLocation;
  constructor(location: DataLocation, problem: string) {
    super(`${formatLocation(location)}: ${problem}`);
    this.name = "DataError";
    this.location = location;
  }
}

export function formatLocation({ file, line, column }: DataLocation): string {
  let where = file;
  if (line !== undefined) where += `:${line}`;
  if (column !== undefined) where += ` column "${column}"`;
  return where;
}
