/**
 * The number formats live in lib/format.ts, a leaf module (it imports nothing) that domain code, the CLI and the
 * views import alike. Re-exported here for code that imports them from lib/notebook.
 */
export * from "../format";
