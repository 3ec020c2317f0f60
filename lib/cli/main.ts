/**
 * The `esmm` command line: batch work on servers and scripted checks.
 * `esmm <command> --help` prints a command's usage; bad arguments exit with code 2 and one line.
 */
import { Command, UsageError, parseCommandArgs } from "./args";
import { simulateCommand } from "./simulate";
import { prepareCommand } from "./prepare";
import { trainCommand } from "./train";
import { benchCommand } from "./bench";
import { studyCommand } from "./study";
import { statsCommand } from "./stats";
import { DataError } from "../data/errors";

export const COMMANDS: Command[] = [simulateCommand, prepareCommand, trainCommand, benchCommand, studyCommand, statsCommand];

function overview(): string {
  return [
    "usage: esmm <command> [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    "",
    "esmm <command> --help shows a command's options.",
  ].join("\n");
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
    const values = parseCommandArgs(cmd, rest);
    if (values.help) {
      console.log(`usage: ${cmd.usage}`);
      return 0;
    }
    await cmd.run(values);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`esmm: ${e.message}`);
      return 2;
    }
    if (e instanceof DataError) {
      console.error(`esmm: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
