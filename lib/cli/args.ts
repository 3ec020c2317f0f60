/**
 * Argument helpers for the `esmm` command line: bad arguments become a `UsageError`, which `main` prints
 * as one line and turns into exit code 2.
 *
 * Each command declares its options in a table; a numeric option declares the values it allows there
 * (`number`: integer or not, bounds; `list`: comma-separated), and `parseCommandArgs` checks every one of
 * them before the command runs, so a bad value is refused before any data is read or written, in one line
 * naming the option, the value and the allowed range. The command gets numeric options as numbers.
 */
import { parseArgs } from "node:util";
import { NumericRange, describeRange, parseInRange } from "../ranges";
import { outputProblem } from "../data/output-paths";

export class UsageError extends Error {}

/**
 * A failure that is neither bad input nor a bug (e.g. some runs of a study failed): `main` prints its
 * message as one line and exits with code 1.
 */
export class CommandFailure extends Error {}

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** A numeric option: the value must be a decimal number in this range; the command gets it as a number. */
  number?: NumericRange;
  /** With `number`: a comma-separated list of such numbers (the command gets a number[]). */
  list?: boolean;
}

/** Option values as a command gets them: strings, booleans, and numbers (or number lists) for numeric options. */
export type OptionValues = Record<string, string | boolean | number | number[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** The command takes arguments beside its options (e.g. input files); without it, any is refused. */
  positionals?: boolean;
  run(values: OptionValues, positionals: string[]): Promise<void>;
}

/** The options, checked (see `parseCommandLine`). */
export function parseCommandArgs(cmd: Command, argv: string[]): OptionValues {
  return parseCommandLine(cmd, argv).values;
}

/** The options, each numeric one checked against its range, and the other arguments (when the command takes them). */
export function parseCommandLine(cmd: Command, argv: string[]): { values: OptionValues; positionals: string[] } {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  // "--seed -1" gives a numeric option a negative value (parseArgs would call it ambiguous): the range says what is allowed
  argv = argv.flatMap((a, i) => (isNumericFlag(cmd, a) && /^-[\d.]/.test(argv[i + 1] ?? "") ? [`${a}=${argv[i + 1]}`] : isNumericFlag(cmd, argv[i - 1]) && /^-[\d.]/.test(a) ? [] : [a]));
  try {
    const options = Object.fromEntries(Object.entries(cmd.options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]));
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: cmd.positionals === true });
    values = parsed.values as typeof values;
    positionals = parsed.positionals;
  } catch (e) {
    throw new UsageError(`${cmd.name}: ${(e as Error).message.split("\n")[0]}`);
  }
  const out: OptionValues = { ...values };
  if (values.help) return { values: out, positionals };
  for (const [name, spec] of Object.entries(cmd.options)) {
    const text = values[name];
    if (spec.number === undefined || typeof text !== "string") continue;
    out[name] = spec.list ? parseNumberList(cmd.name, name, text, spec.number) : parseNumber(cmd.name, name, text, spec.number);
  }
  return { values: out, positionals };
}

function isNumericFlag(cmd: Command, arg: string | undefined): boolean {
  return arg !== undefined && arg.startsWith("--") && cmd.options[arg.slice(2)]?.number !== undefined;
}

function parseNumber(cmd: string, name: string, text: string, range: NumericRange): number {
  const x = parseInRange(text, range);
  if (x === undefined) throw new UsageError(`${cmd}: --${name} must be ${describeRange(range)}, got ${JSON.stringify(text)}`);
  return x;
}

function parseNumberList(cmd: string, name: string, text: string, range: NumericRange): number[] {
  const xs = text.split(",").map((s) => parseInRange(s.trim(), range));
  if (xs.some((x) => x === undefined)) throw new UsageError(`${cmd}: --${name} must be a comma-separated list of ${describeRange(range, true)}, got ${JSON.stringify(text)}`);
  return xs as number[];
}

export function requireString(values: OptionValues, name: string, cmd: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`${cmd}: --${name} is required`);
  return v;
}

/** A numeric option's value (checked by `parseCommandArgs`), or `fallback` when it was not given. */
export function numberValue(values: OptionValues, name: string): number | undefined;
export function numberValue(values: OptionValues, name: string, fallback: number): number;
export function numberValue(values: OptionValues, name: string, fallback?: number): number | undefined {
  const v = values[name];
  if (v === undefined) return fallback;
  if (typeof v !== "number") throw new Error(`option --${name} is not declared as a number`);
  return v;
}

/** A numeric option that must be given. */
export function requireNumber(values: OptionValues, name: string, cmd: string): number {
  const v = numberValue(values, name);
  if (v === undefined) throw new UsageError(`${cmd}: --${name} is required`);
  return v;
}

/** A numeric list option's values (checked by `parseCommandArgs`), or undefined when it was not given. */
export function numberList(values: OptionValues, name: string): number[] | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new Error(`option --${name} is not declared as a list of numbers`);
  return v;
}

/**
 * An output path option checked before any work: throws a UsageError (`cmd: --option <why>`, exit 2) when
 * `target` cannot be written as a `kind` (output-paths.ts outputProblem: a file in the way, a folder that
 * cannot be written, /proc). Creates nothing.
 */
export function checkOutputOption(cmd: string, option: string, target: string, kind: "file" | "dir"): void {
  const problem = outputProblem(target, kind);
  if (problem) throw new UsageError(`${cmd}: --${option} ${problem}`);
}
