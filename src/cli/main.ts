// Entry point of the `berth` command (bin/berth.js imports this file): the process's real I/O for runCli.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { readHiddenLine } from "./hidden-prompt.js";
import { runCli } from "./run-cli.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

// ../../package.json from src/cli/ and from dist/cli/ alike.
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (path) => readFile(path, "utf8"),
  env: process.env,
  readStdin,
  stdinIsTTY: process.stdin.isTTY === true,
  promptHidden: (prompt) => readHiddenLine(process.stdin, process.stderr, prompt),
  version,
});
