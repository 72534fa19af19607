// Berth's configuration: a pure function of an environment (plus a file reader for PRIVATE_KEY_PATH),
// validated with zod at start. Every problem names the variable to set, so a wrong deployment fails in one
// go with a message an operator can act on.
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { ALL_INSTANCE_SIZE_SLUGS } from "./app-spec/instance-sizes.js";
import { secretKeyProblem } from "./secrets/secret-key.js";

/**
 * One router process per core but one (left to Berth itself, the apps and the engine), at most four; on a
 * machine of one or two cores none: a worker process costs about 52 MB of memory for about 7% more throughput
 * there (docs/benchmarks.md), and small servers are where memory is short. More processes than spare cores
 * only split the load into smaller batches.
 */
export function defaultRouterWorkers(cores = availableParallelism()): number {
  return cores <= 2 ? 0 : Math.min(cores - 1, 4);
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Berth's configuration is invalid:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

const UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `500ms`, `30s`, `5m`, `1h`, `14d`, or a bare number of seconds; `0` or `off` disables. */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "off" || trimmed === "0") return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(trimmed);
  if (!match) throw new Error(`"${text}" is not a duration (write e.g. 30s, 5m, 1h, 14d, or off)`);
  return Math.round(Number(match[1]) * UNITS_MS[(match[2] ?? "s") as keyof typeof UNITS_MS]);
}

const boolean = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off", ""])
  .transform((v) => ["true", "1", "yes", "on"].includes(v));

const positiveInt = (fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((v, ctx) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        ctx.addIssue({ code: "custom", message: `must be a positive integer, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const port = (fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((v, ctx) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        ctx.addIssue({ code: "custom", message: `must be a port number (0-65535), got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const BYTE_UNITS = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 } as const;

/** A size such as `16g`, `512MiB` or `2GB` (binary units) in bytes. */
const byteSize = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const match = /^(\d+(?:\.\d+)?)\s*([kmgt])(?:i?b)?$/i.exec(v.trim());
      if (!match) {
        ctx.addIssue({ code: "custom", message: `must be a size such as 16g or 512m, got "${v}"` });
        return z.NEVER;
      }
      return Math.round(Number(match[1]) * BYTE_UNITS[match[2]!.toLowerCase() as keyof typeof BYTE_UNITS]);
    });

const url = z.url({ protocol: /^(https?|wss?)$/, error: "must be an absolute http(s) URL" });

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      try {
        return parseDuration(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    });

const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** `owner/name, owner/other`: each entry a repository, written as GitHub shows it (case does not matter). */
const repositoryList = z
  .string()
  .default("")
  .transform((v, ctx) => {
    const entries = v.split(",").map((e) => e.trim()).filter((e) => e !== "");
    const wrong = entries.filter((e) => !REPOSITORY.test(e));
    if (wrong.length > 0) {
      ctx.addIssue({ code: "custom", message: `must be a comma-separated list of owner/name repositories, got ${wrong.map((w) => `"${w}"`).join(", ")}` });
      return z.NEVER;
    }
    return entries;
  });

/** A key that seals secrets at rest: checked here, so a wrong one stops Berth before it opens anything. */
const secretKey = () =>
  z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const problem = v === undefined || v === "" ? undefined : secretKeyProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .transform((v) => (v === "" ? undefined : v));

const envSchema = z.object({
  APP_ID: z
    .string()
    .regex(/^\d+$/, "must be the numeric App ID shown on the GitHub App's settings page")
    .transform(Number)
    .optional(),
  WEBHOOK_SECRET: z.string().min(1).optional(),
  GHE_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "must be a host name (and optional port), without a scheme or path")
    .optional(),
  GHE_PROTOCOL: z.enum(["http", "https"]).default("https"),
  HOST: z.string().min(1).optional(),
  PORT: port(3000),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
  WEBHOOK_PROXY_URL: url.optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// connection URL")
    .optional(),
  BERTH_DATA_DIR: z.string().min(1).default("./.berth"),
  BERTH_CONCURRENCY: positiveInt(2),
  BERTH_CANCEL_IN_PROGRESS: boolean.default(false),
  BERTH_ROUTER_PORT: port(8080),
  BERTH_BASE_DOMAIN: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be a DNS name such as apps.example.com")
    .default("localhost"),
  BERTH_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/\S+$/, "must be an http(s) URL template for apps, e.g. https://{app}.apps.example.com")
    .optional(),
  BERTH_URL: url.optional(),
  BERTH_ROUTER_HOST: z.string().min(1).default("0.0.0.0"),
  BERTH_ROUTER_WORKERS: z
    .string()
    .regex(/^\d{1,3}$/, "must be a whole number of router processes (0 runs the router inside Berth's own process)")
    .default(String(defaultRouterWorkers()))
    .transform(Number),
  // `bridge` is the former name of `isolated`.
  BERTH_DOCKER_NETWORK: z
    .enum(["isolated", "host", "bridge"])
    .default("isolated")
    .transform((mode) => (mode === "bridge" ? "isolated" : mode)),
  BERTH_INSTANCE: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be a short name of letters, digits, '.', '_' or '-'")
    .default("berth"),
  BERTH_BUILD_TIMEOUT: duration("30m"),
  BERTH_DEV_DATABASE_IMAGE: z.string().min(1).optional(),
  BERTH_RUNTIME: z.enum(["docker", "memory"]).default("docker"),
  BERTH_MAX_INSTANCES: positiveInt(10),
  BERTH_MAX_INSTANCE_SIZE: z.enum(ALL_INSTANCE_SIZE_SLUGS).default("apps-s-2vcpu-4gb"),
  BERTH_MAX_APP_MEMORY: byteSize("16g"),
  BERTH_MAX_BUILDS_PER_APP: positiveInt(2),
  BERTH_CATCH_UP_INTERVAL: duration("5m"),
  BERTH_DISCOVER: boolean.default(false),
  BERTH_SHUTDOWN_GRACE: duration("30s"),
  BERTH_API_TOKEN: z
    .string()
    .min(32, "must be at least 32 characters (e.g. `openssl rand -base64 32`), or unset to have Berth create one")
    .optional(),
  BERTH_METRICS_ADDRESS: z
    .string()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be host:port, e.g. 127.0.0.1:9464 (a private address)")
    .transform((v, ctx) => {
      const at = v.lastIndexOf(":");
      const port = Number(v.slice(at + 1));
      if (port > 65535) {
        ctx.addIssue({ code: "custom", message: `must end in a port number (0-65535), got "${v}"` });
        return z.NEVER;
      }
      return { host: v.slice(0, at).replace(/^\[|\]$/g, ""), port };
    })
    .optional(),
  BERTH_KEEP_DEPLOYMENTS: positiveInt(20),
  BERTH_LOG_RETENTION: duration("14d"),
  BERTH_DELIVERY_RETENTION: duration("7d"),
  BERTH_RETENTION_INTERVAL: duration("1h"),
  BERTH_PREVIEW_SECRETS: repositoryList,
  BERTH_SECRET_KEY: secretKey(),
  BERTH_SECRET_KEY_PREVIOUS: secretKey(),
});

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
  host?: string;
  port: number;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
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
}

export interface ReadConfigOptions {
  cwd?: string;
  readFile?: (path: string) => string;
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
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
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
  };
}

const PEM = /-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----END (RSA )?PRIVATE KEY-----/;

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
    return key;
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
    return key;
  }
  return undefined;
}
