// The frame of every command that talks to Berth: parse the arguments (node:util parseArgs, strict), make
// the client, run, and turn any failure into one line on stderr and its exit code.
import { parseArgs, type ParseArgsConfig } from "node:util";

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;
import { createApiClient, CliError, type ApiClient } from "./api-client.js";
import { EXIT, type CliIo, type Command } from "./command.js";

type Values = Record<string, string | boolean | undefined>;

export interface ApiCommandContext {
  values: Values;
  positionals: string[];
  client: ApiClient;
  io: CliIo;
  json: boolean;
  /** Prints `value` as JSON with --json, else `human()`'s lines. */
  print(value: unknown, human: () => string): void;
}

export interface ApiCommandSpec {
  summary: string;
  usage: string;
  /** Positional arguments the command takes (exactly, unless `optional` says how many of the last may be left out). */
  positionals: string[];
  optional?: number;
  options?: ParseArgsOptionsConfig;
  run(ctx: ApiCommandContext): Promise<number>;
}

const COMMON: ParseArgsOptionsConfig = {
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
};

export const ENVIRONMENT_OPTIONS: ParseArgsOptionsConfig = {
  environment: { type: "string" },
  preview: { type: "string" },
};

export function apiCommand(spec: ApiCommandSpec): Command {
  return {
    summary: spec.summary,
    usage: spec.usage,
    async run(args, io) {
      let values: Values;
      let positionals: string[];
      try {
        const parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { ...COMMON, ...spec.options } });
        values = parsed.values as Values;
        positionals = parsed.positionals;
        const fewest = spec.positionals.length - (spec.optional ?? 0);
        if (!values.help && (positionals.length < fewest || positionals.length > spec.positionals.length)) {
          throw new Error(`expected ${spec.positionals.length ? spec.positionals.join(" ") : "no arguments"}, found ${positionals.length ? positionals.join(" ") : "none"}`);
        }
      } catch (err) {
        io.stderr(`berth: ${(err as Error).message}\nusage: ${spec.usage}\n`);
        return EXIT.failure;
      }
      if (values.help) {
        io.stdout(`${spec.summary}\nusage: ${spec.usage}\n`);
        return EXIT.ok;
      }
      const json = values.json === true;
      const print = (value: unknown, human: () => string) => io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : human());
      try {
        return await spec.run({ values, positionals, client: createApiClient(io), io, json, print });
      } catch (err) {
        if (err instanceof CliError) {
          io.stderr(`berth: ${err.message}\n`);
          return err.exitCode;
        }
        io.stderr(`berth: ${(err as Error).message ?? String(err)}\n`);
        return EXIT.unavailable;
      }
    },
  };
}

/** `owner/repo` and --environment/--preview as the API path and query of that app. */
export function appTarget(app: string, values: Values): { path: string; query: string; label: string } {
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(app);
  if (!match) throw new CliError(`APP is owner/repo (the GitHub repository), not "${app}"`, EXIT.failure);
  if (values.environment !== undefined && values.preview !== undefined) throw new CliError("give --environment or --preview, not both", EXIT.failure);
  const preview = values.preview as string | undefined;
  if (preview !== undefined && !/^[1-9][0-9]*$/.test(preview)) throw new CliError(`--preview takes a pull request number, not "${preview}"`, EXIT.failure);
  const environment = preview ? `pr-${preview}` : ((values.environment as string | undefined) ?? "production");
  return {
    path: `/apps/${encodeURIComponent(match[1]!)}/${encodeURIComponent(match[2]!)}`,
    query: `environment=${encodeURIComponent(environment)}`,
    label: `${app} (${environment})`,
  };
}

/** A table: columns padded to their widest cell. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n") + "\n";
}
