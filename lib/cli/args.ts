/**
 * Argument helpers for the `esmm` command line: bad arguments become a `UsageError`, which `main` prints
 * as one line and turns into exit code 2.
 */
import { parseArgs, ParseArgsConfig } from "node:util";

export class UsageError extends Error {}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Record<string, string | boolean | undefined>): Promise<void>;
}

export function parseCommandArgs(cmd: Command, argv: string[]): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ args: argv, options: { ...cmd.options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false });
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new UsageError(`${cmd.name}: ${(e as Error).message.split("\n")[0]}`);
  }
}

export function requireString(values: Record<string, unknown>, name: string, cmd: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`${cmd}: --${name} is required`);
  return v;
}

export function intOption(values: Record<string, unknown>, name: string, cmd: string, fallback?: number, min = 0): number {
  const v = values[name];
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`${cmd}: --${name} is required`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${cmd}: --${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export function numberOption(values: Record<string, unknown>, name: string, cmd: string, fallback?: number): number | undefined {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${cmd}: --${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}
