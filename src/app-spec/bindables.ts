// Bindable variables in env values (`${APP_URL}`, `${api.PRIVATE_URL}`, `${db.DATABASE_URL}`, `${_self.URL}`):
// finding them in a value, and resolving a component's environment from a context the pipeline supplies.
import type { AppSpec, EnvVar } from "./schema.js";

export type BindableRef =
  | { kind: "app"; expression: string; name: string }
  | { kind: "self"; expression: string; name: string }
  | { kind: "component"; expression: string; component: string; pool?: string; name: string }
  | { kind: "unknown"; expression: string };

const APP_BINDABLES = ["APP_URL", "APP_DOMAIN", "APP_ID"] as const;
const REFERENCE = /\$\{([^{}]*)\}/g;
// One to three dotted words, blanks around them allowed: `APP_URL`, `db.DATABASE_URL`, `db.pool.DATABASE_URL`.
const WORD = "[A-Za-z_][A-Za-z0-9_-]*";
const EXPRESSION = new RegExp(`^\\s*(${WORD})(?:\\.(${WORD}))?(?:\\.(${WORD}))?\\s*$`);

/** Every `${…}` in a value, classified. Text that only looks like one (`${{ secrets.X }}`) is skipped. */
export function findBindables(value: string): BindableRef[] {
  // Most values hold none; the rules and the warnings ask about every env value of every component.
  if (!value.includes("${")) return [];
  const refs: BindableRef[] = [];
  for (const match of value.matchAll(REFERENCE)) {
    refs.push(classify(match[1] ?? ""));
  }
  return refs;
}

function classify(expression: string): BindableRef {
  const words = EXPRESSION.exec(expression);
  if (!words) return { kind: "unknown", expression };
  const [, first = "", second, third] = words;
  if (second === undefined) {
    return (APP_BINDABLES as readonly string[]).includes(first) ? { kind: "app", expression, name: first } : { kind: "unknown", expression };
  }
  if (third === undefined) {
    return first === "_self" ? { kind: "self", expression, name: second } : { kind: "component", expression, component: first, name: second };
  }
  return { kind: "component", expression, component: first, pool: second, name: third };
}

export interface ComponentBindings {
  privateUrl?: string;
  privateDomain?: string;
  privatePort?: number;
  commitHash?: string;
  publicUrl?: string;
  publicRoutePath?: string;
}

export interface DatabaseBindings {
  hostname: string;
  port: number;
  username: string;
  password: string;
  database: string;
  databaseUrl: string;
  jdbcDatabaseUrl?: string;
  redisUrl?: string;
  caCert?: string;
}

export interface BindContext {
  appUrl: string;
  appDomain: string;
  appId: string;
  components: Record<string, ComponentBindings>;
  /** Keyed by database component name; a connection pool as `<db>.<pool>`. */
  databases: Record<string, DatabaseBindings>;
}

export interface ResolvedEnv {
  env: Record<string, string>;
  /** Values to redact: every SECRET env's resolved value, and database credentials substituted anywhere. */
  secrets: string[];
}

type Scope = "build" | "run";

interface Runnable {
  kind: "services" | "static_sites" | "workers" | "jobs" | "functions";
  envs: EnvVar[];
  dockerfile: boolean;
  httpPort?: number;
}

function findComponent(spec: AppSpec, name: string): Runnable | undefined {
  for (const kind of ["services", "static_sites", "workers", "jobs", "functions"] as const) {
    for (const c of spec[kind]) {
      if (c.name !== name) continue;
      return {
        kind,
        envs: c.envs,
        dockerfile: "dockerfile_path" in c && c.dockerfile_path !== undefined,
        httpPort: "http_port" in c ? c.http_port : undefined,
      };
    }
  }
  return undefined;
}

function inScope(env: EnvVar, scope: Scope): boolean {
  if (env.scope === "UNSET" || env.scope === "RUN_AND_BUILD_TIME") return true;
  return scope === "build" ? env.scope === "BUILD_TIME" : env.scope === "RUN_TIME";
}

/** App-level envs merged with the component's (component wins by key). */
function mergedEnvs(spec: AppSpec, component: Runnable): Map<string, EnvVar> {
  const merged = new Map<string, EnvVar>();
  for (const env of spec.envs) merged.set(env.key, env);
  for (const env of component.envs) merged.set(env.key, env);
  return merged;
}

const COMPONENT_FIELDS: Record<string, keyof ComponentBindings> = {
  PRIVATE_URL: "privateUrl",
  PRIVATE_DOMAIN: "privateDomain",
  PRIVATE_PORT: "privatePort",
  COMMIT_HASH: "commitHash",
  PUBLIC_URL: "publicUrl",
  PUBLIC_ROUTE_PATH: "publicRoutePath",
};
const DATABASE_FIELDS: Record<string, keyof DatabaseBindings> = {
  HOSTNAME: "hostname",
  PORT: "port",
  USERNAME: "username",
  PASSWORD: "password",
  DATABASE: "database",
  DATABASE_URL: "databaseUrl",
  DATABASE_PRIVATE_URL: "databaseUrl",
  JDBC_DATABASE_URL: "jdbcDatabaseUrl",
  REDIS_URL: "redisUrl",
  CA_CERT: "caCert",
};
const CREDENTIAL_FIELDS = new Set(["PASSWORD", "DATABASE_URL", "DATABASE_PRIVATE_URL", "JDBC_DATABASE_URL", "REDIS_URL"]);

/**
 * The environment one component sees in one phase: app-level envs merged with the component's (component
 * wins), filtered by scope, bindables resolved from `ctx`. A bindable that cannot be resolved is left as
 * written, as App Platform does. Bindables are runtime-only for database references and for Dockerfile
 * builds, so at build time those stay as written too. Services get `PORT` (their http_port) at run time
 * unless an env sets it. Throws when `component` is not a service, worker, job, static site or function
 * of `spec` (a programming error: the spec was validated before).
 */
export function resolveComponentEnv(spec: AppSpec, component: string, scope: Scope, ctx: BindContext): ResolvedEnv {
  const self = findComponent(spec, component);
  if (!self) throw new Error(`resolveComponentEnv: the spec has no service, worker, job, static site or function named "${component}"`);
  const databases = new Set(spec.databases.map((d) => d.name));
  const secrets = new Set<string>();
  const env = new Map<string, string>();

  const resolve = (value: string, owner: string, ownerComponent: Runnable, seen: Set<string>): { text: string; secret: boolean } => {
    let secret = false;
    const text = value.replace(REFERENCE, (whole, inner: string) => {
      const ref = classify(inner);
      if (ref.kind === "unknown") return whole;
      if (scope === "build" && ownerComponent.dockerfile) return whole;
      if (ref.kind === "app") {
        return ref.name === "APP_URL" ? ctx.appUrl : ref.name === "APP_DOMAIN" ? ctx.appDomain : ctx.appId;
      }
      const target = ref.kind === "self" ? owner : ref.component;
      if (ref.kind === "component" && (databases.has(target) || ref.pool !== undefined)) {
        if (scope === "build") return whole;
        const db = ctx.databases[ref.pool === undefined ? target : `${target}.${ref.pool}`];
        const field = DATABASE_FIELDS[ref.name];
        const found = db && field ? db[field] : undefined;
        if (found === undefined) return whole;
        if (CREDENTIAL_FIELDS.has(ref.name)) {
          secret = true;
          if (db?.password) secrets.add(db.password);
        }
        return String(found);
      }
      const field = COMPONENT_FIELDS[ref.name];
      const builtIn = field ? ctx.components[target]?.[field] : undefined;
      if (builtIn !== undefined) return String(builtIn);
      // `${other.KEY}`: another component's own env value, resolved as that component sees it.
      const other = target === owner ? ownerComponent : findComponent(spec, target);
      const key = `${target}.${ref.name}`;
      if (!other || seen.has(key)) return whole;
      const otherEnv = mergedEnvs(spec, other).get(ref.name);
      if (otherEnv?.value === undefined || !inScope(otherEnv, scope)) return whole;
      const nested = resolve(otherEnv.value, target, other, new Set([...seen, key]));
      if (otherEnv.type === "SECRET" || nested.secret) secret = true;
      return nested.text;
    });
    return { text, secret };
  };

  for (const [key, variable] of mergedEnvs(spec, self)) {
    if (!inScope(variable, scope)) continue;
    const resolved = resolve(variable.value ?? "", component, self, new Set([`${component}.${key}`]));
    env.set(key, resolved.text);
    if (variable.type === "SECRET" || resolved.secret) secrets.add(resolved.text);
  }
  if (scope === "run" && self.kind === "services" && self.httpPort !== undefined && !env.has("PORT")) {
    env.set("PORT", String(self.httpPort));
  }
  secrets.delete("");
  return { env: Object.fromEntries(env), secrets: [...secrets] };
}
