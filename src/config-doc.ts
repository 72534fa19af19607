// docs/configuration.md and .env.example, rendered from the environment schema (config-schema.ts) so neither can
// drift: `npm run docs:config` writes them, and a test fails when a committed file differs.
import { z } from "zod";
import { envSchema } from "./config-schema.js";

interface Def {
  type: string;
  in?: z.ZodType;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  entries?: Record<string, string>;
}

const defOf = (schema: z.ZodType) => schema._zod.def as unknown as Def;

/** The default as written in the environment (before any transform), or undefined. */
function rawDefault(schema: z.ZodType): unknown {
  const def = defOf(schema);
  if (def.type === "default") return def.defaultValue;
  if (def.type === "pipe" && def.in) return rawDefault(def.in);
  if ((def.type === "optional" || def.type === "nullable") && def.innerType) return rawDefault(def.innerType);
  return undefined;
}

/** The values of an enum, however deep it sits. */
function choices(schema: z.ZodType): string[] | undefined {
  const def = defOf(schema);
  if (def.type === "enum" && def.entries) return Object.values(def.entries);
  const inner = def.in ?? def.innerType;
  return inner ? choices(inner) : undefined;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function defaultCell(schema: z.ZodType): string {
  const shown = z.globalRegistry.get(schema)?.shownDefault;
  if (typeof shown === "string") return shown;
  const value = rawDefault(schema);
  return value === undefined || value === "" ? "—" : `\`${String(value)}\``;
}

export function renderConfigDoc(): string {
  const rows = Object.entries(envSchema.shape).map(([name, schema]) => {
    const meta = z.globalRegistry.get(schema);
    const values = choices(schema);
    const what = `${meta?.description ?? ""}${values && values.length <= 8 ? ` One of: ${values.map((v) => `\`${v}\``).join(", ")}.` : ""}`;
    return `| \`${name}\` | ${cell(defaultCell(schema))} | ${cell(what)} |`;
  });
  return [
    "# Configuration reference",
    "",
    "<!-- Generated from src/config-schema.ts by `npm run docs:config`; edit the schema, not this file. -->",
    "",
    "Berth reads these variables from its environment, and from `.env` in its working directory for any the",
    "environment does not set (an empty value means unset). A wrong value stops Berth at start with a line naming",
    "the variable. Durations are written `500ms`, `30s`, `5m`, `1h`, `14d` (a bare number is seconds); sizes",
    "`512m`, `16g`. External databases for apps (`BERTH_DATABASES_*`) are described in",
    "[docker-runtime.md](docker-runtime.md).",
    "",
    "| Variable | Default | What it does |",
    "|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

/** Wraps a description into `# ` comment lines of at most 100 characters. */
function commentLines(text: string): string[] {
  const lines: string[] = [];
  let current = "#";
  for (const word of text.replace(/`/g, "").split(/\s+/)) {
    if (current.length + word.length + 1 > 100) {
      lines.push(current);
      current = "#";
    }
    current += ` ${word}`;
  }
  return [...lines, current];
}

/** Every variable commented out, with its default: copy to `.env` and uncomment what you set. */
export function renderEnvExample(): string {
  const blocks = Object.entries(envSchema.shape).map(([name, schema]) => {
    const meta = z.globalRegistry.get(schema);
    // A default that depends on the machine (the router's processes) is described, not written.
    const shown = typeof meta?.shownDefault === "string" ? meta.shownDefault : undefined;
    const value = shown === undefined ? rawDefault(schema) : undefined;
    const text = `${meta?.description ?? ""}${shown ? ` Default: ${shown}.` : ""}`;
    return [...commentLines(text), `# ${name}=${value === undefined ? "" : String(value)}`].join("\n");
  });
  return [
    "# Berth's settings: copy to .env and uncomment what you set (the environment wins over .env).",
    "# Generated from src/config-schema.ts by `npm run docs:config`; docs/configuration.md explains each.",
    "",
    blocks.join("\n\n"),
    "",
    "# Apps' external databases: BERTH_DATABASES (JSON) or BERTH_DATABASES_FILE, see docs/docker-runtime.md.",
    "# BERTH_DATABASES=",
    "# BERTH_DATABASES_FILE=",
    "",
  ].join("\n");
}
