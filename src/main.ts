// Berth's one composition root: read the configuration, then either serve Probot's manifest flow (no GitHub
// App registered yet) or wire store, runtime, pipeline, reporters, webhook handlers, catch-up and the HTTP
// servers, and take them down in reverse order on SIGINT/SIGTERM.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pino, type Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { Probot, run, Server } from "probot";
import { ConfigError, readConfig, type Config } from "./config.js";
import { CheckRunReporter } from "./github/check-run-reporter.js";
import { CommandResultReporter } from "./github/command-result-reporter.js";
import { DeploymentReporter } from "./github/deployment-reporter.js";
import { createBerthOctokit } from "./github/octokit.js";
import { PreviewCommentReporter } from "./github/preview-comment-reporter.js";
import { GitHubSource } from "./github/source.js";
import { InstallationWriteQueue } from "./github/write-queue.js";
import { createAct } from "./intents/act.js";
import { catchUp, startCatchUpLoop } from "./intents/catch-up.js";
import { registerHandlers } from "./webhooks/index.js";
import { Inbox } from "./webhooks/inbox.js";
import type { AppsPort, SpecParser } from "./core/ports.js";
import { EventWorker } from "./webhooks/worker.js";
import { createPipeline, createRedactor, type BindContextHook } from "./pipeline/index.js";
import type { Runtime } from "./runtime/runtime.js";
import { createDockerRuntime, LABEL, readDatabasesConfig, type DatabaseBinding, type DockerRuntime } from "./runtime/docker/index.js";
import { Router } from "./router/router.js";
import { RouterCluster } from "./router/router-cluster.js";
import { createMemoryRuntime } from "./runtime/memory/index.js";
import { createDeploymentPageHandler } from "./server/deployment-page.js";
import { createHealthHandler } from "./server/health.js";
import { createRootWebhookHandler } from "./server/root-webhook.js";
import { withWebhookGuard } from "./server/webhook-guard.js";
import { createMetricsHandler } from "./server/metrics.js";
import { parseAppSpec, type DatabaseBindings } from "./app-spec/index.js";
import { createStore } from "./store/index.js";

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

/** `.env` (written by the manifest flow) fills in what the environment does not set. */
function loadDotEnv(cwd: string): void {
  const path = join(cwd, ".env");
  if (existsSync(path)) process.loadEnvFile(path);
}

async function serveManifestFlow(config: Config, log: Logger): Promise<void> {
  if (process.env.NODE_ENV === "production") {
    // Probot refuses this too: whoever reached the page could register their own app in Berth's place.
    console.error(
      "Berth is not registered as a GitHub App: set APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET.\n" +
        "To register it, run Berth once without NODE_ENV=production and open the page it prints (see docs/github-app.md).",
    );
    process.exit(1);
  }
  // Probot would otherwise fetch smee-client from npm and open a channel on smee.io; Berth does without
  // (its catch-up polling works with no webhooks at all), unless the operator asks for it.
  process.env.NO_SMEE_SETUP ??= "true";
  const server = await run(() => {}, { env: process.env });
  const host = config.host && config.host !== "0.0.0.0" ? config.host : "localhost";
  const url = `http://${host}:${server.port}/probot`;
  log.info(
    { url },
    `Berth is not registered as a GitHub App yet. Open ${url} in a browser to register it from app.yml ` +
      `(on ${config.githubWebUrl}); the credentials are written to .env. Then restart Berth.`,
  );
  // Plain stdout as well: this is the one line a first-time user must see, whatever the log level.
  console.log(`\nRegister Berth as a GitHub App: open ${url}\n`);
}

async function serveApp(
  config: Config,
  github: NonNullable<Config["github"]>,
  databases: Record<string, string>,
  log: Logger,
): Promise<void> {
  const store = await createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "berth_" });

  let router: Router | RouterCluster | undefined;
  let runtime: Runtime & { close?: () => void; adopt?: () => Promise<unknown> };
  let docker: DockerRuntime | undefined;
  if (config.runtime === "docker") {
    const routing = {
      port: config.routerPort,
      host: config.routerHost,
      baseDomain: config.baseDomain,
      publicUrlTemplate: config.publicUrlTemplate,
      log,
    };
    router = config.routerWorkers > 0 ? new RouterCluster({ ...routing, workers: config.routerWorkers }) : new Router({ ...routing, registry });
    runtime = docker = createDockerRuntime({
      router,
      network: config.dockerNetwork,
      labels: { [LABEL.instance]: config.instance },
      dataDir: config.dataDir,
      buildTimeoutMs: config.buildTimeoutMs,
      databases: { configured: databases, devImage: config.devDatabaseImage },
      log,
    });
  } else {
    runtime = createMemoryRuntime({ baseDomain: config.baseDomain });
  }

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
    Probot: withWebhookGuard(BerthProbot, { secret: github.webhookSecret, log, bodyDigests }),
    host: config.host,
    port: config.port,
    webhookProxy: config.webhookProxyUrl,
    log,
  });

  let shutdown: (() => Promise<void>) | undefined;
  await server.load(async (app, { addHandler }) => {
    const auth = (installationId: number) => app.auth(installationId);
    const source = new GitHubSource(auth);
    // `${db.*}` bindables come from the databases the operator configured (or dev database containers).
    const bindContext: BindContextHook | undefined = docker
      ? async ({ appId, spec, base }) => {
          if (spec.databases.length === 0) return base;
          const { bindings } = await docker.resolveDatabases(spec.databases, appId);
          const resolved = Object.fromEntries(Object.entries(bindings).map(([name, b]) => [name, toBindings(b)]));
          return { ...base, databases: { ...base.databases, ...resolved } };
        }
      : undefined;
    const pipeline = createPipeline({
      store,
      runtime,
      source,
      bindContext,
      log,
      concurrency: config.concurrency,
      cancelInProgress: config.cancelInProgress,
      workDir: join(config.dataDir, "work"),
    });
    const redactor = createRedactor([github.privateKey, github.webhookSecret]);
    const known = new Set<string>();
    const redact = (text: string) => {
      const fresh = source.secrets().filter((t) => !known.has(t));
      if (fresh.length > 0) {
        for (const t of fresh) known.add(t);
        redactor.add(fresh);
      }
      return redactor.redact(text);
    };
    const writes = new InstallationWriteQueue();
    const detailsUrl = (id: string) => `${config.berthUrl}/deployments/${id}`;
    const reporterOptions = { auth, writes, state: store.state, log, redact, detailsUrl };
    const checkRuns = new CheckRunReporter({ ...reporterOptions, readLog: (id, step) => pipeline.readLogs(id, step) });
    const deployments = new DeploymentReporter(reporterOptions);
    const previews = new PreviewCommentReporter(reporterOptions);
    const results = new CommandResultReporter({ ...reporterOptions, getDeployment: (id) => pipeline.getDeployment(id) });
    const reporters = [checkRuns, deployments, previews, results];
    const unsubscribe = reporters.map((r) => pipeline.on(r.onEvent));

    const apps: AppsPort = {
      list: async (o) => store.apps.list(o),
      remove: (id, reason) => store.apps.remove(id, reason),
    };
    const parseSpec = parseAppSpec as unknown as SpecParser;
    const inbox = new Inbox(store.state);
    const act = createAct({
      auth,
      pipeline,
      apps,
      results,
      state: store.state,
      writes,
      parseSpec,
      redact,
      previews,
      log,
      appId: github.appId,
    });
    const worker = new EventWorker({ inbox, act, log });
    registerHandlers(app, { deliveries: store, inbox, worker, appId: github.appId, bodyDigests });

    addHandler(
      createHealthHandler({
        checks: [
          { name: "store", check: () => store.apps.list({ installationId: -1 }) },
          { name: "runtime", check: () => runtime.ping() },
        ],
      }),
    );
    const routerMetrics = router instanceof RouterCluster ? router : undefined;
    addHandler(createMetricsHandler(registry, routerMetrics && (() => routerMetrics.metrics())));
    addHandler(createRootWebhookHandler(await app.getNodeMiddleware()));
    addHandler(
      createDeploymentPageHandler({
        getDeployment: (id) => pipeline.getDeployment(id),
        readLogs: (id) => pipeline.readLogs(id),
        redact,
      }),
    );

    if (router) await router.listen();
    if (runtime.adopt) await runtime.adopt();
    await pipeline.start();
    await worker.resume();
    const discovered = new Map<string, string>();
    const stopCatchUp = startCatchUpLoop(
      async () => {
        await worker.resume({ olderThanMs: 60_000 });
        const result = await catchUp({
          auth,
          apps,
          pipeline,
          parseSpec,
          log,
          state: store.state,
          appId: github.appId,
          discovered,
          ...(config.discover ? { appAuth: () => app.auth() } : {}),
        });
        log.debug(result, "catch-up done");
      },
      config.catchUpIntervalMs,
      log,
    );

    shutdown = async () => {
      stopCatchUp();
      await server.stop();
      await worker.stop();
      await pipeline.stop(config.shutdownGraceMs);
      // Give the reporters a moment to tell GitHub how things ended, but never wait on GitHub for long.
      await Promise.race([
        Promise.all(reporters.map((r) => r.idle())),
        new Promise((r) => setTimeout(r, 5_000).unref()),
      ]);
      for (const r of reporters) r.close();
      for (const u of unsubscribe) u();
      runtime.close?.();
      if (router) await router.close();
      await store.close();
    };
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

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    try {
      await shutdown?.();
      process.exit(0);
    } catch (err) {
      log.error({ err }, "error while stopping");
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

async function main(): Promise<void> {
  const cwd = process.cwd();
  loadDotEnv(cwd);
  let config: Config;
  try {
    config = readConfig(process.env, { cwd: resolve(cwd) });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = pino({ level: config.logLevel, name: "berth" });
  if (!config.github) return serveManifestFlow(config, log);
  let databases: Record<string, string>;
  try {
    databases = readDatabasesConfig(process.env);
  } catch (err) {
    console.error(`Berth's configuration is invalid:\n  - ${(err as Error).message}`);
    process.exit(1);
  }
  await serveApp(config, config.github, databases, log);
}

try {
  await main();
} catch (err) {
  // A port in use, an unreachable database, a Docker engine that is not there: say it in one line first.
  console.error(`Berth could not start: ${(err as Error).message}`);
  console.error(err);
  process.exit(1);
}
