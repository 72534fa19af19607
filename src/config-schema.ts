// Every environment variable Berth reads, its default and what it does: the one schema that config.ts
// validates with and that docs/configuration.md is generated from (`npm run docs:config`).
import { availableParallelism } from "node:os";
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

// Decimal digits only: Number() would read `0x10` as 16 and `1e3` as 1000.
const port = (fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((v, ctx) => {
      const n = /^\d{1,5}$/.test(v.trim()) ? Number(v) : Number.NaN;
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

const image = () => z.string().min(1).optional();

export const envSchema = z.object({
  APP_ID: z
    .string()
    .regex(/^\d+$/, "must be the numeric App ID shown on the GitHub App's settings page")
    .transform(Number)
    .optional()
    .describe("The GitHub App's numeric ID. Unset (with no private key): Berth starts in setup mode and serves the registration page."),
  PRIVATE_KEY: z.string().optional()
    .describe("The GitHub App's private key: the PEM text (literal `\\n` allowed, as `.env` stores it) or its base64. Parsed at start."),
  PRIVATE_KEY_PATH: z.string().optional()
    .describe("A file holding the GitHub App's PEM private key, instead of PRIVATE_KEY (relative to the working directory)."),
  WEBHOOK_SECRET: z.string().min(1).optional()
    .describe("The GitHub App's webhook secret; required once the app is registered (Berth refuses unsigned webhooks)."),
  GHE_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "must be a host name (and optional port), without a scheme or path")
    .optional()
    .describe("GitHub Enterprise Server host (and port), e.g. `github.example.com`. Unset: github.com."),
  GHE_PROTOCOL: z.enum(["http", "https"]).default("https")
    .describe("Protocol of GHE_HOST."),
  GH_ORG: z.string().regex(/^[A-Za-z0-9-]+$/, "must be an organization's login, as in github.com/<org>").optional()
    .describe("Setup mode registers the app on this organization instead of your user account."),
  HOST: z.string().min(1).optional()
    .describe("Interface Berth's HTTP server (webhooks, pages, health) listens on. Unset: `localhost` (loopback only); on a server set `0.0.0.0` so GitHub or a proxy can reach it."),
  PORT: port(3000)
    .describe("Port of Berth's HTTP server (decimal)."),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info")
    .describe("Least severe log level written; health probes are logged at `debug`."),
  LOG_FORMAT: z.enum(["json", "pretty"]).optional()
    .describe("`json` (one object per line, for log shipping) or `pretty` (for people). Unset: `pretty` when standard output is a terminal and NODE_ENV is not `production`, else `json`."),
  NODE_ENV: z
    .string()
    .optional()
    .describe("`production`: no registration page (Berth exits and names the credentials to set), and JSON logs unless LOG_FORMAT says otherwise."),
  WEBHOOK_PROXY_URL: url.optional()
    .describe("A webhook proxy channel (e.g. `https://smee.io/<channel>`) Berth reads deliveries from, for a machine GitHub cannot reach. Setup mode writes it when it creates one."),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// connection URL")
    .optional()
    .describe("PostgreSQL connection URL (`postgres://user:password@host:5432/db`). Unset: an embedded SQLite file in BERTH_DATA_DIR."),
  DOCKER_HOST: z.string().optional()
    .describe("The Docker engine to use (read by the Docker client), e.g. `unix:///run/user/1000/docker.sock`. Unset: `/var/run/docker.sock`."),
  BERTH_DATA_DIR: z.string().min(1).default("./.berth")
    .describe("Berth's data directory: the SQLite store, the operator token, build work and static sites."),
  BERTH_CONCURRENCY: positiveInt(2)
    .describe("Deployments run at once by this Berth process."),
  BERTH_CANCEL_IN_PROGRESS: boolean.default(false)
    .describe("A newer push cancels the app's deployment in progress instead of waiting for it."),
  BERTH_ROUTER_PORT: port(8080)
    .describe("Port of the router that serves the apps' traffic (decimal)."),
  BERTH_BASE_DOMAIN: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be a DNS name such as apps.example.com")
    .default("localhost")
    .describe("Apps answer at `<app>.<BERTH_BASE_DOMAIN>` on the router."),
  BERTH_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/\S+$/, "must be an http(s) URL template for apps, e.g. https://{app}.apps.example.com")
    .optional()
    .describe("How apps' public URLs are written when a TLS proxy sits in front of the router, e.g. `https://{app}.apps.example.com`. Unset: `http://<app>.<BERTH_BASE_DOMAIN>:<BERTH_ROUTER_PORT>`."),
  BERTH_URL: url.optional()
    .describe("Where Berth itself is reachable, e.g. `https://berth.example.com`: check runs link to its deployment pages, the login accepts forms only from it, and setup mode registers `<BERTH_URL>/api/github/webhooks` as the webhook URL when it is public. Unset: `http://localhost:<PORT>`."),
  BERTH_ROUTER_HOST: z.string().min(1).default("0.0.0.0")
    .describe("Interface the router listens on."),
  BERTH_ROUTER_WORKERS: z
    .string()
    .regex(/^\d{1,3}$/, "must be a whole number of router processes (0 runs the router inside Berth's own process)")
    .default(String(defaultRouterWorkers()))
    .transform(Number).meta({ shownDefault: "one per core but one, at most 4; 0 on one or two cores" })
    .describe("Router processes sharing BERTH_ROUTER_PORT; 0 runs the router inside Berth's own process."),
  BERTH_DOCKER_NETWORK: z
    .enum(["isolated", "host", "bridge"])
    .default("isolated")
    .transform((mode) => (mode === "bridge" ? "isolated" : mode))
    .describe("`isolated`: a Docker network per app; `host`: apps on the host's network (see docs/docker-runtime.md, Isolation). `bridge` is the former name of `isolated`."),
  BERTH_INSTANCE: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be a short name of letters, digits, '.', '_' or '-'")
    .default("berth")
    .describe("Labels this Berth's containers, so several Berths sharing one Docker engine never adopt each other's."),
  BERTH_BUILD_TIMEOUT: duration("30m")
    .describe("Longest a component's build may take (`30s`, `5m`, `1h`; `off` for no limit)."),
  BERTH_DEV_DATABASE_IMAGE: z.string().min(1).optional()
    .describe("Image of the dev PostgreSQL containers made for apps' unconfigured databases. Unset: the Docker runtime's default."),
  BERTH_RUNTIME: z.enum(["docker", "memory"]).default("docker")
    .describe("`docker` runs apps on the Docker engine; `memory` runs nothing (for trying Berth and for tests)."),
  BERTH_MAX_INSTANCES: positiveInt(10)
    .describe("Most instances an app may ask for, all components together."),
  BERTH_MAX_INSTANCE_SIZE: z.enum(ALL_INSTANCE_SIZE_SLUGS).default("apps-s-2vcpu-4gb")
    .describe("Largest instance size slug an app may ask for."),
  BERTH_MAX_APP_MEMORY: byteSize("16g")
    .describe("Most memory an app's instances may have together (`16g`, `512m`)."),
  BERTH_MAX_BUILDS_PER_APP: positiveInt(2)
    .describe("Components of one app built at once."),
  BERTH_CATCH_UP_INTERVAL: duration("5m")
    .describe("How often Berth polls GitHub for pushes it missed (`off`: only once at start)."),
  BERTH_DISCOVER: boolean.default(false)
    .describe("Catch-up also finds installed repositories with a spec that no webhook announced (polling-only mode)."),
  BERTH_SHUTDOWN_GRACE: duration("30s")
    .describe("How long SIGTERM/SIGINT waits for running deployments and the webhook worker before Berth exits."),
  BERTH_API_TOKEN: z
    .string()
    .min(32, "must be at least 32 characters (e.g. `openssl rand -base64 32`), or unset to have Berth create one")
    .optional()
    .describe("The operator's token for Berth's own pages and /metrics (at least 32 characters). Unset: Berth creates one and keeps it in BERTH_DATA_DIR."),
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
    .optional()
    .describe("A separate listener (`host:port`, a private address) serving only /metrics, without the token. Unset: /metrics on PORT, behind the token."),
  BERTH_KEEP_DEPLOYMENTS: positiveInt(20)
    .describe("Deployments kept per app, with their images; older finished ones are deleted."),
  BERTH_LOG_RETENTION: duration("14d")
    .describe("How long deployment logs are kept (`off`: as long as their deployment)."),
  BERTH_DELIVERY_RETENTION: duration("7d")
    .describe("How long webhook deliveries are remembered, the replay window (`off`: forever)."),
  BERTH_RETENTION_INTERVAL: duration("1h")
    .describe("How often the retention sweep runs (`off`: never)."),
  BERTH_PREVIEW_SECRETS: repositoryList
    .describe("Comma-separated `owner/name` repositories whose same-repository pull-request previews get production's SECRET values and databases. A fork's preview never does."),
  BERTH_SECRET_KEY: secretKey()
    .describe("The key that seals secrets at rest: 32 bytes, base64 or hex. Unset: `<BERTH_DATA_DIR>/secret.key`, created 0600 on first start. Every replica sharing one PostgreSQL needs the same key."),
  BERTH_SECRET_KEY_PREVIOUS: secretKey()
    .describe("During a key rotation only: the old key. Berth re-seals everything it sealed under BERTH_SECRET_KEY at start; then remove it (docs/secrets.md)."),
  BERTH_BASE_IMAGE_NODE: image()
    .describe("Base image of Node.js builds without a Dockerfile (default `node:22-bookworm`)."),
  BERTH_BASE_IMAGE_PYTHON: image()
    .describe("Base image of Python builds without a Dockerfile (default `python:3.12-bookworm`). The build's venv sees this image's own packages, so one with the dependencies preinstalled builds without a package index."),
  BERTH_BASE_IMAGE_GO: image()
    .describe("Base image of Go builds without a Dockerfile (default `golang:1.23-bookworm`)."),
});
