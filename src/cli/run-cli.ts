// The `berth` command line as a function of its arguments and its surroundings, so tests and other entry
// points can drive it. Commands are a table: a new subcommand is one more entry.
import { EXIT, type CliIo, type Command } from "./command.js";
import { specCommands } from "./spec-commands.js";

export type { CliIo } from "./command.js";

const groups: Record<string, { summary: string; commands: Record<string, Command> }> = {
  spec: { summary: "check and show an app spec (.do/app.yaml) offline", commands: specCommands },
};

export function helpText(): string {
  const lines = ["Usage: berth <command> [options]", "", "Commands:"];
  for (const [group, { commands }] of Object.entries(groups)) {
    for (const [name, command] of Object.entries(commands)) {
      lines.push(`  berth ${group} ${name.padEnd(9)} ${command.summary}`);
      lines.push(`      ${command.usage}`);
    }
  }
  lines.push("", "Options:", "  -h, --help    show this help", "");
  lines.push("Exit status: 0 valid (warnings allowed), 1 problems found, 2 could not run (bad usage, unreadable file).");
  return `${lines.join("\n")}\n`;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [groupName, commandName, ...rest] = argv;
  if (groupName === undefined || groupName === "--help" || groupName === "-h" || groupName === "help") {
    io.stdout(helpText());
    return EXIT.ok;
  }
  const group = groups[groupName];
  if (!group || !Object.hasOwn(groups, groupName)) {
    io.stderr(`berth: unknown command "${groupName}"; run berth --help for the list\n`);
    return EXIT.failure;
  }
  if (commandName === undefined || commandName === "--help" || commandName === "-h") {
    const names = Object.entries(group.commands).map(([name, c]) => `  berth ${groupName} ${name.padEnd(9)} ${c.summary}\n      ${c.usage}`);
    io.stdout(`berth ${groupName}: ${group.summary}\n\n${names.join("\n")}\n`);
    return commandName === undefined ? EXIT.failure : EXIT.ok;
  }
  const command = Object.hasOwn(group.commands, commandName) ? group.commands[commandName] : undefined;
  if (!command) {
    io.stderr(`berth: unknown command "${groupName} ${commandName}"; expected one of ${Object.keys(group.commands).join(", ")}\n`);
    return EXIT.failure;
  }
  return command.run(rest, io);
}
