/**
 * The `esmm` command line: batch work on servers and scripted checks.
 * `esmm <command> --help` prints a command's usage. Bad input, bad arguments (UsageError) or bad data
 * (DataError, naming the file, line and column), exits with code 2 and one line on stderr, without a stack
 * trace; a CommandFailure (e.g. runs of a study that failed) with code 1 and one line; anything else is a bug
 * and shows its stack trace.
 */
import { Command, CommandFailure, UsageError, parseCommandLine } from "./args";
import { simulateCommand } from "./simulate";
import { prepareCommand } from "./prepare";
import { trainCommand } from "./train";
import { benchCommand } from "./bench";
import { studyCommand } from "./study";
import { tuneCommand } from "./tune";
import { mergeCommand } from "./merge";
import { rescoreCommand } from "./rescore";
import { statsCommand } from "./stats";
import { modelsCommand } from "./models";
import { DataError } from "../data/errors";

export const COMMANDS: Command[] = [simulateCommand, prepareCommand, trainCommand, benchCommand, studyCommand, tuneCommand, mergeCommand, rescoreCommand, statsCommand, modelsCommand];

function overview(): string {
  return [
    "usage: esmm <command> [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    "",
    "esmm <command> --help shows a command's options.",
    "Native backend: TensorFlow's INFO/WARNING lines are hidden (except its oneDNN line while loading); ESMM_TF_LOGS=1 or TF_CPP_MIN_LOG_LEVEL=0 shows them.",
  ].join("\n");
}

/** A message on one line: a line break inside it (e.g. from a parser's message) becomes a space. */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, " ");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(overview());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (!cmd) throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
    const { values, positionals } = parseCommandLine(cmd, rest);
    if (values.help) {
      console.log(`usage: ${cmd.usage}`);
      return 0;
    }
    await cmd.run(values, positionals);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof DataError || e instanceof CommandFailure) {
      console.error(`esmm: ${oneLine(e.message)}`);
      return e instanceof CommandFailure ? 1 : 2;
    }
    throw e;
  }
}
