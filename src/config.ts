// Berth's configuration: a pure function of an environment (plus a file reader for PRIVATE_KEY_PATH),
// validated with zod at start (config-schema.ts). Every problem names the variable to set, so a wrong
// deployment fails in one go with a message an operator can act on.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { envSchema } from "./config-schema.js";

export { defaultRouterWorkers, parseDuration } from "./config-schema.js";

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Berth's configuration is invalid:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

export interface GitHubAppCredentials {
  appId: number;
  privateKey: string;
  webhookSecret: string;
}

export interface Config {
  /** null until the GitHub App is registered: Berth then serves Probot's manifest flow only. */
  github: GitHubAppCredentials | null;
  /** REST API root: `https://api.github.com`, or `<protocol>://<GHE_HOST>/api/v3` for GitHub Enterprise. */
  githubApiUrl: string;
  /** Web root, for links: `https://github.com` or the Enterprise host. */
  githubWebUrl: string;
  /** Setup mode registers the app on this organization rather than the user's account. */
  githubOrg?: string;
  host?: string;
  port: number;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  /** LOG_FORMAT; unset: pretty for a person at a terminal (not in production), JSON lines otherwise. */
  logFormat: "json" | "pretty";
  webhookProxyUrl?: string;
  databaseUrl?: string;
  dataDir: string;
  concurrency: number;
  cancelInProgress: boolean;
  routerPort: number;
  routerHost: string;
  /** Router processes sharing the port; 0 routes inside Berth's own process. */
  routerWorkers: number;
  baseDomain: string;
  /** How apps' public URLs are written when a proxy sits in front of the router (`https://{app}.example.com`). */
  publicUrlTemplate?: string;
  /** Where Berth's own pages are reachable (check runs link to `<berthUrl>/deployments/<id>`). */
  berthUrl: string;
  runtime: "docker" | "memory";
  /** The operator's limits per app (BERTH_MAX_*), checked before anything of a deployment is built. */
  quotas: { maxInstances: number; maxInstanceSize: string; maxAppMemory: number; maxBuildsPerApp: number };
  /** `isolated` (default): a network per app; `host`: the host's network (see docs/docker-runtime.md, Isolation). */
  dockerNetwork: "isolated" | "host";
  /** Labels this Berth's containers, so Berths sharing one Docker engine never adopt each other's. */
  instance: string;
  buildTimeoutMs: number;
  /** Image of dev PostgreSQL containers for unconfigured dev databases (Docker runtime's default otherwise). */
  devDatabaseImage?: string;
  /** 0 disables the periodic catch-up (it still runs once at start). */
  catchUpIntervalMs: number;
  /** Catch-up also finds installed repositories with a spec that no webhook announced (polling-only mode). */
  discover: boolean;
  shutdownGraceMs: number;
  /** The operator's token for Berth's own pages and /metrics; unset: Berth keeps one in its data directory. */
  apiToken?: string;
  /** A separate listener serving only /metrics (no token there); unset: /metrics on PORT behind the token. */
  metricsAddress?: { host: string; port: number };
  /** Deployments kept per app (with their images); older finished ones are deleted. */
  keepDeployments: number;
  /** How long log chunks are kept; 0 keeps them as long as their deployment. */
  logRetentionMs: number;
  /** How long webhook deliveries are remembered: the replay window. 0 remembers them forever. */
  deliveryRetentionMs: number;
  /** How often the retention sweep runs; 0 never. */
  retentionIntervalMs: number;
  /**
   * Repositories whose same-repository pull-request previews get production's SECRET values and databases;
   * every other preview gets none. A fork's preview never does, listed or not.
   */
  previewSecrets: string[];
  /** Seals secrets at rest (32 bytes, base64 or hex); unset: `<dataDir>/secret.key`, created on first start. */
  secretKey?: string;
  /** During a key rotation: the old key, to open and re-seal what it sealed. */
  secretKeyPrevious?: string;
  /** Base images of generated builds, where the operator replaced the official ones. */
  baseImages: { node?: string; python?: string; go?: string };
}

export interface ReadConfigOptions {
  cwd?: string;
  readFile?: (path: string) => string;
  /** Whether standard output is a terminal (decides LOG_FORMAT's default). */
  stdoutIsTTY?: boolean;
}

export function readConfig(env: Record<string, string | undefined>, options: ReadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  // An empty variable means "not set", as in shells and .env files.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const problems: { variable: string; message: string }[] = [];

  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ variable: String(issue.path[0] ?? "environment"), message: issue.message });
    }
  }

  let privateKey: string | undefined;
  try {
    privateKey = readPrivateKey(present, cwd, readFile);
  } catch (err) {
    problems.push({ variable: present.PRIVATE_KEY ? "PRIVATE_KEY" : "PRIVATE_KEY_PATH", message: (err as Error).message });
  }

  const appId = parsed.success ? parsed.data.APP_ID : undefined;
  const secret = present.WEBHOOK_SECRET;
  const registered = present.APP_ID !== undefined || present.PRIVATE_KEY !== undefined || present.PRIVATE_KEY_PATH !== undefined;
  if (registered) {
    if (present.APP_ID === undefined) {
      problems.push({ variable: "APP_ID", message: "is required once a private key is set (the GitHub App's numeric ID)" });
    }
    if (present.PRIVATE_KEY === undefined && present.PRIVATE_KEY_PATH === undefined) {
      problems.push({
        variable: "PRIVATE_KEY",
        message: "is required once APP_ID is set: set PRIVATE_KEY to the app's PEM key or PRIVATE_KEY_PATH to its file",
      });
    }
    if (secret === undefined) {
      problems.push({
        variable: "WEBHOOK_SECRET",
        message: "is required once the app is registered: Berth refuses unsigned webhooks (use the app's webhook secret)",
      });
    }
  }

  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  const github = appId !== undefined && privateKey !== undefined && secret !== undefined ? { appId, privateKey, webhookSecret: secret } : null;
  const webHost = e.GHE_HOST ? `${e.GHE_PROTOCOL}://${e.GHE_HOST}` : "https://github.com";

  return {
    github,
    githubApiUrl: e.GHE_HOST ? `${webHost}/api/v3` : "https://api.github.com",
    githubWebUrl: webHost,
    githubOrg: e.GH_ORG,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (options.stdoutIsTTY && present.NODE_ENV !== "production" ? "pretty" : "json"),
    webhookProxyUrl: e.WEBHOOK_PROXY_URL,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(cwd, e.BERTH_DATA_DIR),
    concurrency: e.BERTH_CONCURRENCY,
    cancelInProgress: e.BERTH_CANCEL_IN_PROGRESS,
    routerPort: e.BERTH_ROUTER_PORT,
    routerHost: e.BERTH_ROUTER_HOST,
    routerWorkers: e.BERTH_ROUTER_WORKERS,
    baseDomain: e.BERTH_BASE_DOMAIN,
    publicUrlTemplate: e.BERTH_PUBLIC_URL,
    // Without BERTH_URL, links point at the local server: right on a laptop, and a hint elsewhere.
    berthUrl: e.BERTH_URL?.replace(/\/+$/, "") ?? `http://${e.HOST && e.HOST !== "0.0.0.0" && e.HOST !== "::" ? e.HOST : "localhost"}:${e.PORT}`,
    runtime: e.BERTH_RUNTIME,
    dockerNetwork: e.BERTH_DOCKER_NETWORK,
    quotas: {
      maxInstances: e.BERTH_MAX_INSTANCES,
      maxInstanceSize: e.BERTH_MAX_INSTANCE_SIZE,
      maxAppMemory: e.BERTH_MAX_APP_MEMORY,
      maxBuildsPerApp: e.BERTH_MAX_BUILDS_PER_APP,
    },
    instance: e.BERTH_INSTANCE,
    buildTimeoutMs: e.BERTH_BUILD_TIMEOUT,
    devDatabaseImage: e.BERTH_DEV_DATABASE_IMAGE,
    catchUpIntervalMs: e.BERTH_CATCH_UP_INTERVAL,
    discover: e.BERTH_DISCOVER,
    shutdownGraceMs: e.BERTH_SHUTDOWN_GRACE,
    apiToken: e.BERTH_API_TOKEN,
    metricsAddress: e.BERTH_METRICS_ADDRESS,
    keepDeployments: e.BERTH_KEEP_DEPLOYMENTS,
    logRetentionMs: e.BERTH_LOG_RETENTION,
    deliveryRetentionMs: e.BERTH_DELIVERY_RETENTION,
    retentionIntervalMs: e.BERTH_RETENTION_INTERVAL,
    previewSecrets: e.BERTH_PREVIEW_SECRETS,
    secretKey: e.BERTH_SECRET_KEY,
    secretKeyPrevious: e.BERTH_SECRET_KEY_PREVIOUS,
    baseImages: { node: e.BERTH_BASE_IMAGE_NODE, python: e.BERTH_BASE_IMAGE_PYTHON, go: e.BERTH_BASE_IMAGE_GO },
  };
}

const PEM = /-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----END (RSA )?PRIVATE KEY-----/;

/** The key itself, once OpenSSL can read it: a damaged key fails here, naming the variable, not at the first webhook. */
function parsedKey(key: string, problem: string): string {
  try {
    createPrivateKey(key);
  } catch (err) {
    const reason = (err as Error).message.replace(/^error:[0-9A-F]+:/, "");
    throw new Error(`${problem} (${reason}): use the .pem file GitHub generated for the app, whole and unchanged`);
  }
  return key;
}

/** PRIVATE_KEY as PEM (literal `\n` allowed, as .env files store it) or base64 of the PEM; else PRIVATE_KEY_PATH. */
function readPrivateKey(
  env: Record<string, string | undefined>,
  cwd: string,
  readFile: (path: string) => string,
): string | undefined {
  if (env.PRIVATE_KEY !== undefined) {
    let key = env.PRIVATE_KEY.trim().replace(/^"|"$/g, "").replace(/\\n/g, "\n");
    if (!key.includes("-----BEGIN")) key = Buffer.from(key, "base64").toString("utf8");
    if (!PEM.test(key)) {
      throw new Error("is not a PEM private key (paste the whole .pem file, or its base64, or use PRIVATE_KEY_PATH)");
    }
    return parsedKey(key, "looks like a PEM private key but is not one");
  }
  if (env.PRIVATE_KEY_PATH !== undefined) {
    const path = resolve(cwd, env.PRIVATE_KEY_PATH);
    let key: string;
    try {
      key = readFile(path);
    } catch (err) {
      throw new Error(`cannot read ${path}: ${(err as Error).message}`);
    }
    if (!PEM.test(key)) throw new Error(`${path} does not hold a PEM private key`);
    return parsedKey(key, `${path} looks like a PEM private key but is not one`);
  }
  return undefined;
}
