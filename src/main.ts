// Berth's one composition root: read the configuration, then either serve Probot's manifest flow (no GitHub
// App registered yet) or wire store, runtime, pipeline, reporters, webhook intake, catch-up and the HTTP
// servers, and take them down in reverse order on SIGINT/SIGTERM. Wiring only: every part lives in its room.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { Probot, Server, type ApplicationFunctionOptions } from "probot";
import type { DatabaseBindings } from "./app-spec/index.js";
import { SpecParserPool } from "./app-spec-worker/spec-parser-pool.js";
import { ConfigError, readConfig, type Config, type GitHubAppCredentials } from "./config.js";
import type { AppsPort, SpecParser } from "./core/ports.js";
import { createRedactor } from "./core/redact.js";
import { CheckRunReporter } from "./github/check-run-reporter.js";
import { CommandResultReporter } from "./github/command-result-reporter.js";
import { resumeReports } from "./github/resume-reports.js";
import { DeploymentReporter } from "./github/deployment-reporter.js";
import { createBerthOctokit } from "./github/octokit.js";
import { PreviewCommentReporter } from "./github/preview-comment-reporter.js";
import { GitHubSource } from "./github/source.js";
import { InstallationWriteQueue } from "./github/write-queue.js";
import { createAct } from "./intents/act.js";
import { catchUp, startCatchUpLoop } from "./intents/catch-up.js";
import { createPipeline, sealStoredSpecs, startRetentionLoop, type BindContextHook, type Pipeline } from "./pipeline/index.js";
import { Router } from "./router/router.js";
import { RouterCluster } from "./router/router-cluster.js";
import type { Runtime } from "./runtime/runtime.js";
import {
  createDockerRuntime,
  LABEL,
  readDatabasesConfig,
  type DatabaseBinding,
  type DatabasesConfig,
  type DockerRuntime,
} from "./runtime/docker/index.js";
import { createMemoryRuntime } from "./runtime/memory/index.js";
import { createApiHandler } from "./api/api-handler.js";
import type { SourceUploads } from "./api/route.js";
import { createUploadSource, isUploadEvent, UPLOAD_INSTALLATION, withUploads } from "./api/upload-source.js";
import { CREDENTIAL_LOG_PATHS } from "./server/auth.js";
import { createHealthHandler } from "./server/health.js";
import { serveManifestFlow } from "./server/manifest-flow.js";
import { addOperatorPages } from "./server/operator-pages.js";
import { readOperatorToken } from "./server/operator-token.js";
import { createRootWebhookHandler } from "./server/root-webhook.js";
import { withWebhookGuard } from "./server/webhook-guard.js";
import { createLogger } from "./startup/logger.js";
import { describeStartupFailure, preflight } from "./startup/preflight.js";
import { runShutdown, SHUTDOWN_MARGIN_MS, type ShutdownPlan } from "./shutdown.js";
import { createSecretCipher, type SecretCipher } from "./secrets/cipher.js";
import { loadSecretKeys } from "./secrets/secret-key.js";
import { createSecretStore, type OperatorSecretStore } from "./secrets/secret-store.js";
import { createStore, type SqlStore } from "./store/index.js";
import { registerHandlers } from "./webhooks/index.js";
import { Inbox } from "./webhooks/inbox.js";
import { EventWorker } from "./webhooks/worker.js";

type AddHandler = ApplicationFunctionOptions["addHandler"];

/** Where apps run and how traffic reaches them. */
interface Plane {
  runtime: Runtime & { close?: () => void; adopt?: () => Promise<unknown> };
  router?: Router | RouterCluster;
  docker?: DockerRuntime;
}

function createPlane(config: Config, registry: Registry, databases: DatabasesConfig, log: Logger): Plane {
  if (config.runtime !== "docker") return { runtime: createMemoryRuntime({ baseDomain: config.baseDomain }) };
  const routing = { port: config.routerPort, host: config.routerHost, baseDomain: config.baseDomain, publicUrlTemplate: config.publicUrlTemplate, log };
  const router =
    config.routerWorkers > 0 ? new RouterCluster({ ...routing, workers: config.routerWorkers }) : new Router({ ...routing, registry });
  const docker = createDockerRuntime({
    router,
    network: config.dockerNetwork,
    labels: { [LABEL.instance]: config.instance },
    dataDir: config.dataDir,
    buildTimeoutMs: config.buildTimeoutMs,
    images: config.baseImages,
    databases: { config: databases, devImage: config.devDatabaseImage },
    log,
  });
  return { runtime: docker, router, docker };
}

/** The Docker runtime's `${db.*}` values in the shape the spec engine's bind context takes. */
function toBindings(b: DatabaseBinding): DatabaseBindings {
  return {
    hostname: b.HOSTNAME,
    port: Number(b.PORT),
    username: b.USERNAME,
    password: b.PASSWORD,
    database: b.DATABASE,
    databaseUrl: b.DATABASE_URL,
    ...(b.REDIS_URL ? { redisUrl: b.REDIS_URL } : {}),
  };
}

/** `${db.*}` bindables come from the databases the operator configured for the app's repository and environment
 * (or dev database containers; a fork's preview gets dev databases only). */
function databaseBindContext(docker: DockerRuntime | undefined): BindContextHook | undefined {
  if (!docker) return undefined;
  return async ({ app, appId, spec, base, untrusted }) => {
    if (spec.databases.length === 0) return base;
    const target = { appId, repository: app.repository, environment: app.environment, untrusted: untrusted === true };
    const { bindings } = await docker.resolveDatabases(spec.databases, target);
    const resolved = Object.fromEntries(Object.entries(bindings).map(([name, b]) => [name, toBindings(b)]));
    return { ...base, databases: { ...base.databases, ...resolved } };
  };
}

/** Everything Berth says to GitHub passes this: the app's own secrets and every installation token seen so far. */
function createGitHubRedact(source: GitHubSource, github: GitHubAppCredentials): (text: string) => string {
  const redactor = createRedactor([github.privateKey, github.webhookSecret]);
  const known = new Set<string>();
  return (text) => {
    const fresh = source.secrets().filter((t) => !known.has(t));
    for (const t of fresh) known.add(t);
    if (fresh.length > 0) redactor.add(fresh);
    return redactor.redact(text);
  };
}

interface Wiring {
  config: Config;
  github: GitHubAppCredentials;
  store: SqlStore;
  /** The operator's SECRET values and the cipher that seals them (and stored specs' inline ones). */
  secrets: { store: OperatorSecretStore; cipher: SecretCipher };
  plane: Plane;
  registry: Registry;
  /** sha256 of each signed body the webhook guard let through, by delivery id (replays are dropped by it). */
  bodyDigests: Map<string, string>;
  log: Logger;
}

/** Reporters, intake and pages on Probot's app; returns how to stop what it started, stage by stage. */
async function wireApp(app: Probot, addHandler: AddHandler, w: Wiring): Promise<ShutdownPlan> {
  const { config, github, store, plane, log } = w;
  const auth = (installationId: number) => app.auth(installationId);
  const source = new GitHubSource(auth);
  // Apps deployed from an uploaded archive (`POST /api/v1/uploads/{name}`) read their source from it, not GitHub.
  const uploads = createUploadSource({ dir: join(config.dataDir, "uploads") });
  // Specs are parsed in a worker thread, so a huge or pathological one never holds up webhooks.
  const specParser = new SpecParserPool({ log });
  const pipeline = createPipeline({
    store,
    runtime: plane.runtime,
    source: withUploads(uploads, source),
    parseSpec: specParser.parse,
    bindContext: databaseBindContext(plane.docker),
    log,
    concurrency: config.concurrency,
    cancelInProgress: config.cancelInProgress,
    previewSecrets: config.previewSecrets,
    secrets: w.secrets.store,
    secretCipher: w.secrets.cipher,
    quotas: config.quotas,
    workDir: join(config.dataDir, "work"),
  });
  const redact = createGitHubRedact(source, github);
  const writes = new InstallationWriteQueue();
  const reporterOptions = { auth, writes, state: store.state, log, redact, detailsUrl: (id: string) => `${config.berthUrl}/deployments/${id}` };
  const checkRuns = new CheckRunReporter({ ...reporterOptions, readLog: (id, step) => pipeline.readLogs(id, step) });
  const previews = new PreviewCommentReporter(reporterOptions);
  const results = new CommandResultReporter({ ...reporterOptions, getDeployment: (id) => pipeline.getDeployment(id) });
  const deployments = new DeploymentReporter(reporterOptions);
  const reporters = [checkRuns, deployments, previews, results];
  // Apps deployed from an uploaded archive have nothing on GitHub to report to.
  const unsubscribe = reporters.map((r) =>
    pipeline.on((e) => {
      if (!isUploadEvent(e)) r.onEvent(e);
    }),
  );
  resumeReports(store, [checkRuns, deployments], log).catch((err: unknown) => log.warn({ err }, "could not resume GitHub reports"));

  // Intake and catch-up speak to GitHub: they never see upload apps.
  const apps: AppsPort = {
    list: async (o) => (await store.apps.list(o)).filter((a) => a.key.installationId !== UPLOAD_INSTALLATION),
    remove: (id, reason) => store.apps.remove(id, reason),
  };
  const parseSpec: SpecParser = specParser.parse;
  const act = createAct({ auth, pipeline, apps, results, state: store.state, writes, parseSpec, redact, previews, log, appId: github.appId });
  const inbox = new Inbox(store);
  const worker = new EventWorker({ inbox, act, log });
  registerHandlers(app, { inbox, worker, appId: github.appId, bodyDigests: w.bodyDigests });
  const pages = await addPages(app, addHandler, w, pipeline, redact, uploads);

  if (plane.router) await plane.router.listen();
  if (plane.runtime.adopt) await plane.runtime.adopt();
  await pipeline.start();
  await worker.resume();
  const discovered = new Map<string, string>();
  const stopCatchUp = startCatchUpLoop(
    async () => {
      await worker.resume({ olderThanMs: 60_000 });
      const appAuth = config.discover ? { appAuth: () => app.auth() } : {};
      const result = await catchUp({ auth, apps, pipeline, parseSpec, log, state: store.state, appId: github.appId, discovered, ...appAuth });
      log.debug(result, "catch-up done");
    },
    config.catchUpIntervalMs,
    log,
  );

  const stopRetention = startRetentionLoop({ store, runtime: plane.runtime, log, settings: config }, config.retentionIntervalMs);

  // Each stage is bounded (src/shutdown.ts): the worker may be waiting on GitHub, which may never answer.
  const grace = config.shutdownGraceMs;
  return [
    [
      { name: "catch-up", run: stopCatchUp },
      { name: "retention sweep", run: stopRetention, maxMs: 2_000 },
    ],
    [
      { name: "webhook worker", run: () => worker.stop(), maxMs: grace },
      { name: "pipeline", run: () => pipeline.stop(grace), maxMs: grace + 5_000 },
    ],
    [{ name: "spec parser", run: () => specParser.close(), maxMs: 2_000 }],
    // Give the reporters a moment to tell GitHub how things ended, but never wait on GitHub for long.
    [{ name: "reporters", run: () => Promise.all(reporters.map((r) => r.idle())), maxMs: 5_000 }],
    [
      {
        name: "router",
        run: async () => {
          for (const r of reporters) r.close();
          for (const u of unsubscribe) u();
          plane.runtime.close?.();
          if (plane.router) await plane.router.close();
          await pages.close();
        },
      },
    ],
  ];
}

/** Health, the root webhook path, and the operator's login, deployment pages and metrics on Berth's own HTTP server. */
async function addPages(app: Probot, addHandler: AddHandler, w: Wiring, pipeline: Pipeline, redact: (text: string) => string, uploads: SourceUploads) {
  const { config, store, plane, registry, log } = w;
  addHandler(
    createHealthHandler({
      checks: [
        { name: "store", check: () => store.apps.list({ installationId: -1 }) },
        { name: "runtime", check: () => plane.runtime.ping() },
      ],
    }),
  );
  const cluster = plane.router instanceof RouterCluster ? plane.router : undefined;
  addHandler(createRootWebhookHandler(await app.getNodeMiddleware()));
  const operator = readOperatorToken({ configured: config.apiToken, dataDir: config.dataDir });
  if (operator.path) log.info({ path: operator.path }, "BERTH_API_TOKEN is unset: the operator token is in this file");
  addHandler(
    createApiHandler({
      store,
      pipeline,
      tokens: store.tokens,
      bootstrapToken: operator.token,
      secrets: w.secrets.store,
      branchHead: async (key, branch) => {
        if (key.installationId === UPLOAD_INSTALLATION) return undefined;
        const [owner = "", repo = ""] = key.repository.split("/");
        const { data } = await (await app.auth(key.installationId)).rest.repos.getBranch({ owner, repo, branch });
        return data.commit.sha;
      },
      uploads,
      redact,
      log: log.child({ room: "api" }),
    }),
  );
  const pages = await addOperatorPages(addHandler, {
    token: operator.token,
    berthUrl: config.berthUrl,
    registry,
    moreMetrics: cluster && (() => cluster.metrics()),
    metricsAddress: config.metricsAddress,
    deployments: { getDeployment: (id) => pipeline.getDeployment(id), logs: store.logs, redact },
  });
  if (pages.metricsPort !== undefined) log.info({ metrics: `http://${config.metricsAddress?.host}:${pages.metricsPort}/metrics` }, "metrics listener");
  return pages;
}

/**
 * The secret key (BERTH_SECRET_KEY or the key file) and store. Stored specs are swept first: plaintext an older
 * Berth stored gets sealed, and with BERTH_SECRET_KEY_PREVIOUS everything is sealed again under the new key.
 */
async function openSecrets(config: Config, store: SqlStore, log: Logger): Promise<Wiring["secrets"]> {
  const keys = loadSecretKeys({ key: config.secretKey, previousKey: config.secretKeyPrevious, dataDir: config.dataDir });
  if (config.databaseUrl && !config.secretKey) log.warn("with DATABASE_URL, set BERTH_SECRET_KEY on every replica: the key file is this host's alone");
  const cipher = createSecretCipher(keys);
  const secrets = createSecretStore(store.secretRows, cipher);
  const rows = keys.previous ? await secrets.rotate() : 0;
  const specs = await sealStoredSpecs(store, cipher);
  if (keys.previous) log.warn({ rows, specs: specs.sealed }, "secrets sealed again under BERTH_SECRET_KEY; BERTH_SECRET_KEY_PREVIOUS can go");
  else if (specs.sealed > 0) log.info({ specs: specs.sealed }, "plaintext SECRET values in stored specs sealed");
  if (specs.unreadable.length > 0) {
    log.error({ deployments: specs.unreadable }, "these deployments' specs hold SECRET values no key given opens: their restarts and rollbacks will fail");
  }
  log.info({ key: keys.source }, "secret key");
  return { store: secrets, cipher };
}

async function serveApp(config: Config, github: GitHubAppCredentials, databases: DatabasesConfig, log: Logger): Promise<void> {
  const store = await createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log });
  const secrets = await openSecrets(config, store, log);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "berth_" });
  const plane = createPlane(config, registry, databases, log);
  const bodyDigests = new Map<string, string>();
  const BerthProbot = Probot.defaults({
    appId: github.appId,
    privateKey: github.privateKey,
    secret: github.webhookSecret,
    baseUrl: config.githubApiUrl,
    Octokit: createBerthOctokit(),
    log,
  });
  const server = new Server({
    // Both webhook paths go through the guard: headers checked first, bodies capped, forgeries logged short.
    Probot: withWebhookGuard(BerthProbot, { secret: github.webhookSecret, log, bodyDigests }),
    host: config.host,
    port: config.port,
    webhookProxy: config.webhookProxyUrl,
    log,
  });
  let stopApp: ShutdownPlan = [];
  await server.load(async (app, { addHandler }) => {
    stopApp = await wireApp(app, addHandler, { config, github, store, secrets, plane, registry, bodyDigests, log });
  });
  await server.start();
  log.info(
    {
      webhooks: `http://${config.host ?? "localhost"}:${server.port}/api/github/webhooks`,
      github: config.githubApiUrl,
      runtime: config.runtime,
      catchUpEveryMs: config.catchUpIntervalMs,
      webhookProxy: config.webhookProxyUrl ?? null,
    },
    "Berth is running",
  );
  stopOnSignals(log, config.shutdownGraceMs + SHUTDOWN_MARGIN_MS, () => [
    [{ name: "http server", run: () => server.stop(), maxMs: 2_000 }],
    ...stopApp,
    [{ name: "store", run: () => store.close() }],
  ]);
}

function stopOnSignals(log: Logger, budgetMs: number, plan: () => ShutdownPlan): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, budgetMs }, "stopping");
    const abandoned = await runShutdown(plan(), budgetMs, log);
    if (abandoned.length === 0) process.exit(0);
    log.error({ abandoned }, `shutdown did not finish within ${budgetMs} ms; exiting without waiting for: ${abandoned.join(", ")}`);
    process.exit(1);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

/** `.env` (written by the manifest flow) fills in what the environment does not set. */
function loadDotEnv(cwd: string): void {
  const path = join(cwd, ".env");
  if (existsSync(path)) process.loadEnvFile(path);
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function main(): Promise<void> {
  const cwd = process.cwd();
  loadDotEnv(cwd);
  let config: Config;
  try {
    config = readConfig(process.env, { cwd: resolve(cwd), stdoutIsTTY: process.stdout.isTTY });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  await preflight(config, process.env);
  const log = createLogger({ level: config.logLevel, format: config.logFormat, redact: CREDENTIAL_LOG_PATHS });
  if (!config.github) {
    await serveManifestFlow(config, log, { cwd, org: config.githubOrg });
    return;
  }
  let databases: DatabasesConfig;
  try {
    databases = readDatabasesConfig(process.env);
  } catch (err) {
    fail(`Berth's configuration is invalid:\n  - ${(err as Error).message}`);
  }
  await serveApp(config, config.github, databases, log);
}

try {
  await main();
} catch (err) {
  console.error(describeStartupFailure(err, process.env.LOG_LEVEL));
  process.exit(1);
}
