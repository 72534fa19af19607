// The operator's database bindings (BERTH_DATABASES / BERTH_DATABASES_FILE), each scoped to the repository and
// environment it was configured for, so that no app can name another's database, and a preview never gets
// production's unless the operator configured one for the repository's previews.
//
//   {"octo/shop": {"db": "postgres://…"},            production of octo/shop ("octo/shop#production" alike)
//    "octo/shop#pr-*": {"db": "postgres://…"},       every preview of octo/shop
//    "octo/shop#pr-7": {"db": "postgres://…"}}       preview 7 only (wins over pr-*)
import { readFileSync } from "node:fs";

/** Connection URLs by scope (`owner/name#environment`, the repository lower-cased), then by database name. */
export type DatabasesConfig = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Who asks for databases: the repository and environment of the app (AppKey's), and whether it runs fork code. */
export interface DatabaseScope {
  repository: string;
  environment: string;
  /** A fork's preview: dev databases only, never a configured URL. */
  untrusted?: boolean;
}

const SCOPE = /^([A-Za-z0-9-]+\/[A-Za-z0-9._-]+)(?:#(production|pr-\*|pr-[1-9][0-9]*))?$/;
const NEW_FORM = '{"owner/name": {"db": "postgres://…"}, "owner/name#pr-*": {"db": "postgres://…"}}';

/** Reads the operator's database bindings from the environment; throws one line naming the variable when malformed. */
export function readDatabasesConfig(env: NodeJS.ProcessEnv): DatabasesConfig {
  const sources: [string, () => string][] = [];
  if (env.BERTH_DATABASES_FILE) sources.push([`BERTH_DATABASES_FILE (${env.BERTH_DATABASES_FILE})`, () => readFileSync(env.BERTH_DATABASES_FILE!, "utf8")]);
  if (env.BERTH_DATABASES) sources.push(["BERTH_DATABASES", () => env.BERTH_DATABASES!]);
  const out = new Map<string, Map<string, string>>();
  for (const [where, read] of sources) {
    for (const [scope, urls] of parseSource(where, read())) {
      const into = out.get(scope) ?? new Map<string, string>();
      for (const [name, url] of urls) into.set(name, url);
      out.set(scope, into);
    }
  }
  return out;
}

function parseSource(where: string, text: string): Map<string, Map<string, string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) {
    throw new Error(`${where} must be a JSON object of "owner/name" or "owner/name#environment" → {database name → connection URL}, e.g. ${NEW_FORM}`);
  }
  const entries = Object.entries(parsed);
  if (entries.some(([, v]) => typeof v === "string")) {
    throw new Error(`${where} maps database names to URLs for every app; bindings are now per repository: ${NEW_FORM} (see docs/docker-runtime.md#databases)`);
  }
  const out = new Map<string, Map<string, string>>();
  for (const [key, urls] of entries) out.set(scopeKey(where, key), parseUrls(where, key, urls));
  return out;
}

function scopeKey(where: string, key: string): string {
  const m = SCOPE.exec(key);
  if (!m) {
    throw new Error(`${where}: "${key}" is not "owner/name" or "owner/name#<environment>" (production, pr-* for every preview, pr-<number> for one)`);
  }
  return `${m[1]!.toLowerCase()}#${m[2] ?? "production"}`;
}

function parseUrls(where: string, key: string, urls: unknown): Map<string, string> {
  if (!isObject(urls) || Object.values(urls).some((u) => typeof u !== "string" || u === "")) {
    throw new Error(`${where}: "${key}" must map database names to connection URL strings`);
  }
  const out = new Map<string, string>();
  for (const [name, url] of Object.entries(urls as Record<string, string>)) {
    // The URL holds a password: name the entry, never echo it.
    if (!URL.canParse(url)) throw new Error(`${where}: "${key}" → "${name}" is not a valid connection URL`);
    out.set(name, url);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isPreview(environment: string): boolean {
  return environment.startsWith("pr-");
}

/** The scope key an operator adds a binding under for this app (shown in errors). */
export function scopeToConfigure(scope: DatabaseScope): string {
  return scope.environment === "production" ? scope.repository : `${scope.repository}#pr-*`;
}

/** The URLs configured for exactly this repository and environment: a preview sees its repository's `pr-*` and
 * its own `pr-<number>` entries, never production's; a fork's preview sees none. Pure. */
export function databasesFor(config: DatabasesConfig, scope: DatabaseScope): ReadonlyMap<string, string> {
  if (scope.untrusted) return new Map();
  const repo = scope.repository.toLowerCase();
  const keys = isPreview(scope.environment) ? [`${repo}#pr-*`, `${repo}#${scope.environment}`] : [`${repo}#${scope.environment}`];
  return new Map(keys.flatMap((k) => [...(config.get(k) ?? [])]));
}
