// The Runtime on one machine's Docker engine. Rollout order never varies: start the new instances, wait until
// every one is healthy (adding each to the router as it passes), then take the old ones out of the router,
// let their in-flight requests drain, SIGTERM, grace period, SIGKILL, remove. A new instance that fails is
// removed with its evidence and the old ones keep serving. New containers are named `….pending` until the
// switch, so a restarted Berth can tell a finished rollout's instances from an interrupted one's orphans.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import Dockerode from "dockerode";
import type {
  BuildRequest,
  BuildResult,
  JobRequest,
  JobResult,
  PrivateAddress,
  RestartRequest,
  RolloutRequest,
  RolloutResult,
  Runtime,
} from "../runtime.js";
import { RuntimeError } from "../runtime.js";
import { buildImage } from "./build.js";
import { bridgeNetworkName, containerSpecFor, type NetworkMode, type RolloutRecord } from "./container-spec.js";
import { dockerDevDatabases, resolveDatabases, type DatabaseComponent, type ResolvedDatabases } from "./databases.js";
import { DEFAULT_BASE_IMAGES, type BaseImages } from "./dockerfile.js";
import { freePort, logTail, removeContainer, sleep } from "./engine.js";
import { httpProbe, tcpProbe, waitHealthy, type ProbeResult } from "./health.js";
import { runJob } from "./jobs.js";
import { dockerName, instanceName, LABEL, PENDING_SUFFIX } from "./labels.js";
import type { Logger } from "./logger.js";
import { PrivatePorts } from "./private-ports.js";
import { createRedactor } from "../../core/redact.js";
import type { AppRoute, RouterControl } from "../../router/router-contract.js";
import { extractSite, readPublished, siteFolder, writeCurrent } from "./static-site.js";

export interface DockerRuntimeOptions {
  docker?: Dockerode;
  router: RouterControl;
  /** `host`: instances share the host's network, each on its own port (PORT) on 127.0.0.1. `bridge`: one network per app, `http_port` published on 127.0.0.1. */
  network: NetworkMode;
  /** Base images for generated Dockerfiles; production defaults are the official images. */
  images?: Partial<BaseImages>;
  /** BERTH_BUILD_TIMEOUT in milliseconds; default 30 minutes. */
  buildTimeoutMs?: number;
  /** Where static sites' built output is kept for the router. */
  dataDir?: string;
  /** Probe interval before an instance's first successful health check; default 250 ms. */
  fastProbeMs?: number;
  /** Workers count as healthy after running this long without exiting; default 10 s. */
  workerStableSeconds?: number;
  /** Host mode: range of stable ports behind `${component.PRIVATE_URL}`; default 20000–29999. */
  privatePortBase?: number;
  privatePortCount?: number;
  /** Operator-configured databases (`readDatabasesConfig(env)`) and the image for dev databases. */
  databases?: { configured: Record<string, string>; devImage?: string };
  /** Extra labels on every container and image (tests label theirs for cleanup). */
  labels?: Record<string, string>;
  log: Logger;
}

interface Instance {
  id: string;
  name: string;
  /** Host port the router and probes reach it on. */
  hostPort: number;
  url: string;
  deploymentId: string;
}

interface AppRouting {
  appName: string;
  domains: string[];
  routes: Map<string, AppRoute[]>;
}

export interface AdoptResult {
  adopted: string[];
  removed: string[];
}

export type DockerRuntime = Runtime & {
  adopt(): Promise<AdoptResult>;
  /** `${db.*}` bindables for an app's `databases` (configured URLs, else a dev PostgreSQL container). */
  resolveDatabases(databases: readonly DatabaseComponent[], appId: string): Promise<ResolvedDatabases>;
  /** Stops the private-address forwarders (host mode). */
  close(): void;
};

const DEFAULT_HEALTH = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 9 };

export function createDockerRuntime(opts: DockerRuntimeOptions): DockerRuntime {
  const docker = opts.docker ?? new Dockerode();
  const router = opts.router;
  const images: BaseImages = { ...DEFAULT_BASE_IMAGES, ...opts.images };
  const sitesDir = join(opts.dataDir ?? join(tmpdir(), "berth-docker"), "sites");
  const fastProbeMs = opts.fastProbeMs ?? 250;
  const workerStableSeconds = opts.workerStableSeconds ?? 10;
  const privatePorts = new PrivatePorts(opts.privatePortBase ?? 20000, opts.privatePortCount ?? 10000, opts.log);
  const routing = new Map<string, AppRouting>();
  const secretsByComponent = new Map<string, string[]>();
  const networks = new Map<string, Promise<string>>();

  /** Sets (or with null, drops) one component's routes and hands the app's whole routing to the router. */
  function setRoutes(appId: string, appName: string, domains: string[], component: string, rollout: RolloutRecord | null): void {
    let app = routing.get(appId);
    if (!app) {
      app = { appName, domains, routes: new Map() };
      routing.set(appId, app);
    }
    app.appName = appName;
    app.domains = domains;
    if (rollout) {
      app.routes.set(
        component,
        rollout.routes.map((r) => ({
          component,
          pathPrefix: r.pathPrefix,
          authority: r.authority,
          preservePathPrefix: r.preservePathPrefix,
          rewrite: r.rewrite,
        })),
      );
    } else {
      app.routes.delete(component);
    }
    router.setApp({ name: app.appName, domains: app.domains, routes: [...app.routes.values()].flat() });
  }

  function bridgeNetwork(appId: string): Promise<string> {
    const name = bridgeNetworkName(appId);
    let pending = networks.get(name);
    if (!pending) {
      pending = (async () => {
        const existing = await docker.listNetworks({ filters: { name: [name] } });
        if (!existing.some((n) => n.Name === name)) {
          await docker.createNetwork({
            Name: name,
            Driver: "bridge",
            Labels: { ...opts.labels, [LABEL.managed]: "true", [LABEL.app]: appId },
          });
        }
        return name;
      })();
      pending.catch(() => networks.delete(name));
      networks.set(name, pending);
    }
    return pending;
  }

  // With extra labels set, this runtime sees only its own containers, so two Berths (or test runs) sharing an
  // engine never adopt or remove each other's.
  const own = Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`);

  async function listInstances(appId?: string, component?: string): Promise<Dockerode.ContainerInfo[]> {
    const label = [`${LABEL.managed}=true`, `${LABEL.role}=instance`, ...own];
    if (appId !== undefined) label.push(`${LABEL.app}=${appId}`);
    if (component !== undefined) label.push(`${LABEL.component}=${component}`);
    return docker.listContainers({ all: true, filters: { label } });
  }

  async function instanceFromInfo(info: Dockerode.ContainerInfo): Promise<Instance | null> {
    const port = Number(info.Labels[LABEL.port]);
    const name = (info.Names[0] ?? "").replace(/^\//, "");
    let hostPort = port;
    if (opts.network === "bridge") {
      const published = info.Ports.find((p) => p.PrivatePort === port && p.IP === "127.0.0.1");
      if (!published) return null;
      hostPort = published.PublicPort;
    }
    if (!hostPort) return null;
    return { id: info.Id, name, hostPort, url: `http://127.0.0.1:${hostPort}`, deploymentId: info.Labels[LABEL.deployment] ?? "" };
  }

  async function startInstance(
    req: RolloutRequest,
    record: RolloutRecord,
    index: number,
    net: string | undefined,
    created: Dockerode.Container[],
  ): Promise<{ instance: Instance; container: Dockerode.Container; exited: Promise<{ code: number }>; stopWatching: () => void }> {
    const port = opts.network === "host" ? await freePort() : (req.httpPort ?? 8080);
    const name = instanceName(req.appId, req.component, req.deploymentId, index) + PENDING_SUFFIX;
    const spec = containerSpecFor({
      role: "instance",
      name,
      appId: req.appId,
      component: req.component,
      deploymentId: req.deploymentId,
      image: req.image,
      runCommand: req.runCommand,
      env: req.env,
      limits: req.limits,
      network: opts.network,
      bridgeNetwork: net,
      port: req.kind === "service" ? port : undefined,
      rollout: record,
      labels: opts.labels,
    });
    const container = await docker.createContainer(spec);
    created.push(container);
    const watch = new AbortController();
    const exited = (container.wait({ condition: "next-exit", abortSignal: watch.signal }) as Promise<{ StatusCode: number }>).then(
      (r) => ({ code: r.StatusCode }),
    );
    exited.catch(() => undefined);
    await container.start();
    let hostPort = port;
    if (opts.network === "bridge" && req.kind === "service") {
      const inspected = await container.inspect();
      hostPort = Number(inspected.NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort);
    }
    return {
      instance: { id: container.id, name, hostPort, url: `http://127.0.0.1:${hostPort}`, deploymentId: req.deploymentId },
      container,
      exited,
      stopWatching: () => watch.abort(),
    };
  }

  /** Waits for one new instance; resolves with null when healthy, else with the evidence. */
  async function awaitInstance(
    req: RolloutRequest,
    started: Awaited<ReturnType<typeof startInstance>>,
  ): Promise<null | { reason: string; probe?: ProbeResult; exitCode?: number }> {
    let exitCode: number | undefined;
    const exited = started.exited.then((r) => {
      exitCode = r.code;
      return `exited with code ${r.code}`;
    });
    if (req.kind === "worker") {
      const outcome = await Promise.race([exited, sleep(workerStableSeconds * 1000, req.signal).then(() => null)]);
      if (outcome === null) {
        return req.signal.aborted ? { reason: "canceled" } : null;
      }
      return { reason: `${outcome} before running for ${workerStableSeconds} seconds without exiting`, exitCode };
    }
    const check = req.healthCheck ?? { ...DEFAULT_HEALTH, port: req.httpPort ?? 8080 };
    const port = check.port === (req.httpPort ?? check.port) ? started.instance.hostPort : check.port;
    const timeoutMs = check.timeoutSeconds * 1000;
    const probe = check.httpPath
      ? httpProbe("127.0.0.1", port, check.httpPath, timeoutMs)
      : tcpProbe("127.0.0.1", port, timeoutMs);
    const outcome = await waitHealthy({ check, probe, fastIntervalMs: fastProbeMs, exited, signal: req.signal });
    if (outcome.healthy) return null;
    return { reason: outcome.reason, probe: outcome.last, exitCode };
  }

  async function retire(appName: string, component: string, old: Instance[], record: { drainSeconds: number; gracePeriodSeconds: number }, isService: boolean): Promise<void> {
    await Promise.all(
      old.map(async (inst) => {
        if (isService) {
          const { abandoned } = await router.removeBackend(appName, component, inst.id, record.drainSeconds * 1000);
          if (abandoned > 0) opts.log.warn({ component, instance: inst.name, abandoned }, "requests still open after drain");
        }
        const container = docker.getContainer(inst.id);
        await container.stop({ t: record.gracePeriodSeconds }).catch(() => undefined);
        await removeContainer(container);
      }),
    );
  }

  async function rolloutStaticSite(req: RolloutRequest): Promise<RolloutResult> {
    const folder = siteFolder(sitesDir, req.appId, req.component);
    const dest = join(folder, dockerName(req.deploymentId));
    req.log(`copying the built site out of ${req.image}`);
    const site = await extractSite(docker, req.image, dest, {
      ...opts.labels,
      [LABEL.app]: req.appId,
      [LABEL.component]: req.component,
      [LABEL.deployment]: req.deploymentId,
    });
    setRoutes(req.appId, req.appName, req.domains, req.component, recordOf(req));
    router.setStaticSite(req.appName, req.component, site);
    await router.sync?.();
    writeCurrent(folder, { appName: req.appName, deploymentId: req.deploymentId, site, routes: req.routes, domains: req.domains });
    req.log(`serving the site from ${site.root}`);
    return { instances: [] };
  }

  function recordOf(req: RolloutRequest): RolloutRecord {
    return {
      appName: req.appName,
      kind: req.kind,
      instanceCount: req.instanceCount,
      httpPort: req.httpPort,
      healthCheck: req.healthCheck,
      termination: req.termination,
      routes: req.routes,
      domains: req.domains,
      runCommand: req.runCommand,
      limits: req.limits,
    };
  }

  async function rollout(req: RolloutRequest): Promise<RolloutResult> {
    if (req.kind === "static_site") return rolloutStaticSite(req);
    const redact = createRedactor(req.secrets).redact;
    secretsByComponent.set(`${req.appId}\u0000${req.component}`, req.secrets);
    const record = recordOf(req);
    const isService = req.kind === "service";
    const old = (await Promise.all((await listInstances(req.appId, req.component)).map(instanceFromInfo))).filter(
      (i): i is Instance => i !== null && !i.name.endsWith(PENDING_SUFFIX),
    );
    // Leftovers of an earlier attempt at this same deployment would collide by name.
    for (const info of await listInstances(req.appId, req.component)) {
      if ((info.Names[0] ?? "").endsWith(PENDING_SUFFIX)) await removeContainer(docker.getContainer(info.Id));
    }
    const net = opts.network === "bridge" ? await bridgeNetwork(req.appId) : undefined;

    req.log(`starting ${req.instanceCount} new instance(s) of ${req.image}`);
    // The first instance to fail stops the others' waits; every container created is removed on failure.
    const abort = new AbortController();
    const attempt = { ...req, signal: AbortSignal.any([req.signal, abort.signal]) };
    const created: Dockerode.Container[] = [];
    const started: Awaited<ReturnType<typeof startInstance>>[] = [];
    let failure: RuntimeError | undefined;
    const fail = (err: unknown) => {
      if (failure) return;
      failure = req.signal.aborted
        ? new RuntimeError(`${req.component}: rollout canceled`, { component: req.component })
        : err instanceof RuntimeError
          ? err
          : new RuntimeError(`${req.component}: could not start instances: ${redact((err as Error).message)}`, {
              component: req.component,
            });
      abort.abort();
    };
    await Promise.all(
      Array.from({ length: req.instanceCount }, async (_, i) => {
        try {
          const s = await startInstance(attempt, record, i, net, created);
          started.push(s);
          if (attempt.signal.aborted) return fail(new Error("canceled"));
          const problem = await awaitInstance(attempt, s);
          if (problem) {
            if (failure) return;
            const tail = (await logTail(s.container)).map(redact);
            const probe = problem.probe?.detail;
            const evidence = [problem.reason, probe && `last probe: ${probe}`, problem.exitCode !== undefined && `exit code ${problem.exitCode}`]
              .filter(Boolean)
              .join("; ");
            throw new RuntimeError(
              `${req.component}: instance ${i + 1} of ${req.instanceCount} did not become healthy: ${redact(evidence)}`,
              { component: req.component, exitCode: problem.exitCode, logTail: tail, probe },
            );
          }
          req.log(`instance ${i + 1} is healthy`);
          if (isService && !failure) router.addBackend(req.appName, req.component, { id: s.instance.id, url: s.instance.url });
        } catch (err) {
          fail(err);
        }
      }),
    );
    for (const s of started) s.stopWatching();

    if (failure) {
      req.log(failure.message);
      await Promise.all(
        created.map(async (container) => {
          if (isService) await router.removeBackend(req.appName, req.component, container.id, 0);
          await removeContainer(container);
        }),
      );
      throw failure;
    }

    for (const s of started) {
      const live = s.instance.name.slice(0, -PENDING_SUFFIX.length);
      // The same deployment rolled out again (a retry): its predecessor holds the name until it is retired.
      for (const o of old.filter((o) => o.name === live)) {
        await docker.getContainer(o.id).rename({ name: `${live}.retiring` });
        o.name = `${live}.retiring`;
      }
      await s.container.rename({ name: live });
      s.instance.name = live;
    }
    // Routes change with the traffic switch: until then the old instances serve under the routes they had.
    if (isService) {
      setRoutes(req.appId, req.appName, req.domains, req.component, record);
      await router.sync?.();
    }
    if (opts.network === "host" && isService) {
      privatePorts.setTargets(req.appId, req.component, started.map((s) => s.instance.hostPort));
    }
    if (old.length) {
      req.log(`draining ${old.length} old instance(s) for ${req.termination.drainSeconds} s, then stopping them`);
      await retire(req.appName, req.component, old, req.termination, isService);
    }
    return { instances: started.map((s) => s.instance.id) };
  }

  async function restart(req: RestartRequest): Promise<void> {
    const infos = await listInstances(req.appId);
    const byComponent = new Map<string, Dockerode.ContainerInfo[]>();
    for (const info of infos) {
      if ((info.Names[0] ?? "").endsWith(PENDING_SUFFIX)) continue;
      const component = info.Labels[LABEL.component] ?? "";
      if (req.components?.length && !req.components.includes(component)) continue;
      byComponent.set(component, [...(byComponent.get(component) ?? []), info]);
    }
    for (const want of req.components ?? []) {
      if (!byComponent.has(want)) throw new RuntimeError(`${want}: no running service or worker of that name to restart`, { component: want });
    }
    for (const [component, list] of byComponent) {
      const first = list[0]!;
      const record = JSON.parse(first.Labels[LABEL.rollout] ?? "{}") as RolloutRecord;
      const inspected = await docker.getContainer(first.Id).inspect();
      const env = Object.fromEntries(
        (inspected.Config.Env ?? [])
          .map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)] as const)
          .filter(([k]) => k !== "PORT"),
      );
      req.log(`restarting ${component}`);
      await rollout({
        appId: req.appId,
        appName: record.appName,
        deploymentId: req.deploymentId,
        component,
        kind: record.kind,
        image: inspected.Config.Image,
        runCommand: record.runCommand,
        env,
        secrets: secretsByComponent.get(`${req.appId}\u0000${component}`) ?? [],
        instanceCount: record.instanceCount,
        limits: record.limits,
        httpPort: record.httpPort,
        healthCheck: record.healthCheck,
        termination: record.termination,
        routes: record.routes,
        domains: record.domains,
        log: req.log,
        signal: req.signal,
      });
    }
  }

  async function remove(appId: string, components?: string[]): Promise<void> {
    const infos = await listInstances(appId);
    const app = routing.get(appId);
    const appName = app?.appName ?? infos[0]?.Labels[LABEL.appName];
    await Promise.all(
      infos
        .filter((info) => !components?.length || components.includes(info.Labels[LABEL.component] ?? ""))
        .map(async (info) => {
          if (appName && info.Labels[LABEL.kind] === "service") {
            await router.removeBackend(appName, info.Labels[LABEL.component] ?? "", info.Id, 0);
          }
          await removeContainer(docker.getContainer(info.Id));
        }),
    );
    for (const { appId: folderApp, component, published } of readPublished(sitesDir)) {
      if (folderApp !== dockerName(appId)) continue;
      if (components?.length && !components.includes(component)) continue;
      router.setStaticSite(published.appName, component, null);
      rmSync(siteFolder(sitesDir, appId, component), { recursive: true, force: true });
    }
    const all = !components?.length;
    if (all) {
      const dbs = await docker.listContainers({
        all: true,
        filters: { label: [`${LABEL.managed}=true`, `${LABEL.role}=database`, `${LABEL.app}=${appId}`] },
      });
      for (const info of dbs) {
        await removeContainer(docker.getContainer(info.Id));
        const volume = info.Names[0]?.replace(/^\//, "");
        if (volume) await docker.getVolume(volume).remove().catch(() => undefined);
      }
      if (appName) router.removeApp(appName);
      routing.delete(appId);
      if (opts.network === "bridge") {
        const name = bridgeNetworkName(appId);
        networks.delete(name);
        await docker.getNetwork(name).remove().catch(() => undefined);
      }
    }
    const comps = components?.length ? components : [...(app?.routes.keys() ?? [])];
    for (const c of comps) {
      privatePorts.release(appId, c);
      if (app && !all) setRoutes(appId, app.appName, app.domains, c, null);
    }
  }

  async function adopt(): Promise<AdoptResult> {
    const adopted: string[] = [];
    const removed: string[] = [];
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.managed}=true`, `${LABEL.role}=job`, ...own] },
    });
    const extracts = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.managed}=true`, `${LABEL.role}=extract`, ...own] },
    });
    for (const info of [...leftovers, ...extracts]) {
      await removeContainer(docker.getContainer(info.Id));
      removed.push(info.Names[0]?.replace(/^\//, "") ?? info.Id);
    }
    const groups = new Map<string, Dockerode.ContainerInfo[]>();
    for (const info of await listInstances()) {
      const name = info.Names[0]?.replace(/^\//, "") ?? info.Id;
      if (name.endsWith(PENDING_SUFFIX)) {
        await removeContainer(docker.getContainer(info.Id));
        removed.push(name);
        continue;
      }
      const key = `${info.Labels[LABEL.app]}\u0000${info.Labels[LABEL.component]}`;
      groups.set(key, [...(groups.get(key) ?? []), info]);
    }
    for (const list of groups.values()) {
      // Berth stopped while retiring old instances: the newest deployment is the one that went live.
      const newest = list.reduce((a, b) => (b.Created > a.Created ? b : a)).Labels[LABEL.deployment];
      for (const info of list) {
        const appId = info.Labels[LABEL.app] ?? "";
        const component = info.Labels[LABEL.component] ?? "";
        const record = JSON.parse(info.Labels[LABEL.rollout] ?? "{}") as RolloutRecord;
        const name = info.Names[0]?.replace(/^\//, "") ?? info.Id;
        if (info.Labels[LABEL.deployment] !== newest) {
          await docker.getContainer(info.Id).stop({ t: record.termination?.gracePeriodSeconds ?? 10 }).catch(() => undefined);
          await removeContainer(docker.getContainer(info.Id));
          removed.push(name);
          continue;
        }
        if (info.State !== "running") await docker.getContainer(info.Id).start().catch(() => undefined);
        if (record.kind === "service") {
          setRoutes(appId, record.appName, record.domains, component, record);
          const inst = await instanceFromInfo(info);
          if (inst) {
            router.addBackend(record.appName, component, { id: inst.id, url: inst.url });
            if (opts.network === "host") {
              const ports = list.filter((i) => i.Labels[LABEL.deployment] === newest).map((i) => Number(i.Labels[LABEL.port]));
              privatePorts.setTargets(appId, component, ports);
            }
          }
        }
        adopted.push(name);
      }
    }
    for (const { appId, component, published } of readPublished(sitesDir)) {
      const app = routing.get(appId);
      if (!app) routing.set(appId, { appName: published.appName, domains: published.domains, routes: new Map() });
      setRoutes(appId, published.appName, published.domains, component, {
        appName: published.appName,
        kind: "static_site",
        instanceCount: 0,
        termination: { drainSeconds: 0, gracePeriodSeconds: 0 },
        routes: published.routes,
        domains: published.domains,
        limits: { memory: 0, cpus: 0 },
      });
      router.setStaticSite(published.appName, component, published.site);
      adopted.push(`${published.appName}/${component} (static site)`);
    }
    await router.sync?.();
    opts.log.info({ adopted: adopted.length, removed: removed.length }, "adopted running containers");
    return { adopted, removed };
  }

  return {
    name: "docker",
    async ping() {
      try {
        await docker.ping();
      } catch (err) {
        throw new Error(
          `Docker engine unreachable (${(err as Error).message}); start dockerd or set DOCKER_HOST to its socket`,
        );
      }
    },
    build: (req: BuildRequest): Promise<BuildResult> =>
      buildImage({ docker, images, timeoutMs: opts.buildTimeoutMs ?? 30 * 60_000, labels: opts.labels }, req),
    runJob: (req: JobRequest): Promise<JobResult> =>
      runJob({ docker, network: opts.network, bridgeNetwork, labels: opts.labels }, req),
    rollout,
    restart,
    remove,
    privateAddress(appId: string, component: string, port: number): PrivateAddress {
      if (opts.network === "bridge") return { host: component, port };
      return { host: "127.0.0.1", port: privatePorts.portFor(appId, component) };
    },
    publicUrl: (appName: string) => router.publicUrl(appName),
    adopt,
    resolveDatabases: (databases, appId) =>
      resolveDatabases(databases, appId, {
        configured: opts.databases?.configured ?? {},
        provisionDev: dockerDevDatabases({
          docker,
          image: opts.databases?.devImage ?? "postgres:16",
          network: opts.network,
          labels: opts.labels,
          ensureNetwork: bridgeNetwork,
        }),
      }),
    close: () => privatePorts.close(),
  };
}
