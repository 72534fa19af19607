// `berth spec validate` and `berth spec print`: offline, on a file in the working tree.
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { formatProblem, isDeployTemplate, parseAppSpec, type Problem, type SpecResult } from "../app-spec/index.js";
import { EXIT, type CliIo, type Command } from "./command.js";

const DEFAULT_PATH = ".do/app.yaml";

type Loaded = { ok: true; result: SpecResult } | { ok: false; code: number };

async function load(path: string, io: CliIo): Promise<Loaded> {
  let text: string;
  try {
    text = await io.readFile(path);
  } catch (err) {
    io.stderr(`berth: cannot read ${path}: ${osReason(err)}\n`);
    return { ok: false, code: EXIT.failure };
  }
  return { ok: true, result: parseAppSpec(text, { template: isDeployTemplate(path) }) };
}

/** "no such file or directory (ENOENT)" from Node's "ENOENT: no such file or directory, open 'x'". */
function osReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const match = /^[A-Z]+: (.*?)(, \w+( '.*')?)?$/.exec(e?.message ?? "");
  const reason = match?.[1] ?? e?.message ?? String(err);
  return e?.code ? `${reason} (${e.code})` : reason;
}

function parse(args: string[], usage: string, withJson: boolean, io: CliIo) {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
      strict: true,
    });
    if (!withJson && values.json) throw new Error("unknown option --json");
    if (positionals.length > 1) throw new Error(`expected at most one PATH, found ${positionals.length}`);
    return { path: positionals[0] ?? DEFAULT_PATH, json: values.json === true, help: values.help === true };
  } catch (err) {
    io.stderr(`berth: ${(err as Error).message}\nusage: ${usage}\n`);
    return undefined;
  }
}

function jsonProblem(p: Problem) {
  return {
    severity: p.severity,
    message: p.message,
    path: p.path,
    line: p.line,
    column: p.column,
    endLine: p.endLine,
    endColumn: p.endColumn,
  };
}

const validate: Command = {
  summary: "check an app spec; prints one problem a line",
  usage: "berth spec validate [PATH] [--json]   (PATH defaults to .do/app.yaml)",
  async run(args, io) {
    const options = parse(args, this.usage, true, io);
    if (!options) return EXIT.failure;
    if (options.help) {
      io.stdout(`usage: ${this.usage}\n`);
      return EXIT.ok;
    }
    const loaded = await load(options.path, io);
    if (!loaded.ok) return loaded.code;
    const { problems } = loaded.result;
    if (options.json) {
      io.stdout(`${JSON.stringify(problems.map(jsonProblem), null, 2)}\n`);
    } else {
      for (const p of problems) io.stdout(`${formatProblem(p, options.path)}\n`);
    }
    return problems.some((p) => p.severity === "error") ? EXIT.problems : EXIT.ok;
  },
};

const print: Command = {
  summary: "print the spec with every default applied (YAML)",
  usage: "berth spec print [PATH]   (PATH defaults to .do/app.yaml)",
  async run(args, io) {
    const options = parse(args, this.usage, false, io);
    if (!options) return EXIT.failure;
    if (options.help) {
      io.stdout(`usage: ${this.usage}\n`);
      return EXIT.ok;
    }
    const loaded = await load(options.path, io);
    if (!loaded.ok) return loaded.code;
    const { spec, problems } = loaded.result;
    for (const p of problems) io.stderr(`${formatProblem(p, options.path)}\n`);
    if (!spec) return EXIT.problems;
    io.stdout(stringify(spec));
    return EXIT.ok;
  },
};

export const specCommands: Record<string, Command> = { validate, print };
