// Entry point of the `berth` command (bin/berth.js imports this file).
import { readFile } from "node:fs/promises";
import { runCli } from "./run-cli.js";

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (path) => readFile(path, "utf8"),
});
