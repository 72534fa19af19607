// The `berth` command line as a function of its arguments and its surroundings, so tests and other entry
// points can drive it. Commands are a table: a new subcommand is one more entry.
import { actionCommands, appCommands, deploymentCommands } from "./app-commands.js";
import { secretCommands, tokenCommands } from "./admin-commands.js";
import { EXIT, type CliIo, type Command } from "./command.js";
import { specCommands } from "./spec-commands.js";
import { up } from "./up-command.js";

export type { CliIo } from "./command.js";

const groups: Record<string, { summary: string; commands: Record<string, Command> }> = {
  spec: { summary: "check and show an app spec (.do/app.yaml) offline", commands: specCommands },
  apps: { summary: "the apps Berth manages", commands: appCommands },
  deployments: { summary: "an app's deployments", commands: deploymentCommands },
  secrets: { summary: "an app's secrets (values are write-only)", commands: secretCommands },
  tokens: { summary: "API tokens", commands: tokenCommands },
};

const topLevel: Record<string, Command> = { ...actionCommands, up };

export function helpText(): string {
  const lines = ["Usage: berth <command> [options]", "", "Commands:"];
  for (const [name, command] of Object.entries(topLevel)) {
    lines.push(`  berth ${name.padEnd(16)} ${command.summary}`, `      ${command.usage}`);
  }
  for (const [group, { commands }] of Object.entries(groups)) {
    for (const [name, command] of Object.entries(commands)) {
      lines.push(`  berth ${`${group} ${name}`.padEnd(16)} ${command.summary}`, `      ${command.usage}`);
    }
  }
  lines.push("", "APP is owner/repo; production unless --environment pr-N or --preview N.");
  lines.push("Commands but `spec` talk to Berth: set BERTH_URL (where it answers) and BERTH_TOKEN.");
  lines.push("", "Options:", "  --json        print the API's JSON", "  -h, --help    show this help", "  --version     print the version", "");
  lines.push("Exit status: 0 success; 1 problems found, or the operation failed or was refused; 2 could not run (bad usage,");
  lines.push("unreadable file, BERTH_URL/BERTH_TOKEN unset); 3 token refused; 4 not found; 5 Berth unreachable or failing.");
  return `${lines.join("\n")}\n`;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [groupName, commandName, ...rest] = argv;
  if (groupName === undefined || groupName === "--help" || groupName === "-h" || groupName === "help") {
    io.stdout(helpText());
    return EXIT.ok;
  }
  if (groupName === "--version" || groupName === "-v") {
    io.stdout(`berth ${io.version ?? "unknown"}\n`);
    return EXIT.ok;
  }
  if (Object.hasOwn(topLevel, groupName)) return topLevel[groupName]!.run(argv.slice(1), io);
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
