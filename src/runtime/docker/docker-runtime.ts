// The Runtime on one machine's Docker engine: wiring only. The rooms: rollout.ts (start new, all healthy,
// switch, drain, stop old), lifecycle.ts (restart, remove), adopt.ts (after Berth restarts), build.ts, jobs.ts,
// databases.ts, routing.ts (the table handed to the router), networks.ts (isolated mode).
import { join } from "node:path";
import { tmpdir } from "node:os";
import Dockerode from "dockerode";
import type { PrivateAddress, Runtime } from "../runtime.js";
import type { RouterControl } from "../../router/router-contract.js";
import { adopt, type AdoptResult } from "./adopt.js";
import { buildImage } from "./build.js";
import type { NetworkMode } from "./container-spec.js";
import { dockerDevDatabases, resolveDatabases, type DatabaseComponent, type DatabaseTarget, type ResolvedDatabases } from "./databases.js";
import type { DatabasesConfig } from "./databases-config.js";
import type { DockerContext } from "./docker-context.js";
import { DEFAULT_BASE_IMAGES, type BaseImages } from "./dockerfile.js";
import { runJob } from "./jobs.js";
import { remove, restart } from "./lifecycle.js";
import type { Logger } from "./logger.js";
import { LABEL } from "./labels.js";
import { createMetadataSink } from "./metadata-sink.js";
import { createAppNetworks } from "./networks.js";
import { PrivatePorts } from "./private-ports.js";
import { pruneImages } from "./prune-images.js";
import { rollout } from "./rollout.js";
import { createRoutingTable } from "./routing.js";

export interface DockerRuntimeOptions {
  docker?: Dockerode;
  router: RouterControl;
  /** `isolated`: one network per app, `http_port` published on 127.0.0.1, builds on the app's build network. `host`: instances share the host's network, each on its own port (PORT) on 127.0.0.1. */
  network: NetworkMode;
  /** Base images for generated Dockerfiles; production defaults are the official images. */
  images?: { [K in keyof BaseImages]?: string | undefined };
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
  databases?: { config: DatabasesConfig; devImage?: string };
  /** Extra labels on every container and image (tests label theirs for cleanup). */
  labels?: Record<string, string>;
  log: Logger;
}

export type DockerRuntime = Runtime & {
  adopt(): Promise<AdoptResult>;
  /** `${db.*}` bindables for an app's `databases` (URLs configured for its repository and environment, else a dev PostgreSQL container). */
  resolveDatabases(databases: readonly DatabaseComponent[], target: DatabaseTarget): Promise<ResolvedDatabases>;
  /** Stops the private-address forwarders (host mode). */
  close(): void;
};

export function createDockerRuntime(opts: DockerRuntimeOptions): DockerRuntime {
  const docker = opts.docker ?? new Dockerode();
  // An image left unset (undefined) keeps the official default.
  const images: BaseImages = { ...DEFAULT_BASE_IMAGES, ...Object.fromEntries(Object.entries(opts.images ?? {}).filter(([, v]) => v)) };
  const ctx: DockerContext = {
    docker,
    router: opts.router,
    network: opts.network,
    labels: opts.labels,
    // With extra labels set, this runtime sees only its own containers, so two Berths (or test runs) sharing an
    // engine never adopt or remove each other's.
    own: Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`),
    log: opts.log,
    sitesDir: join(opts.dataDir ?? join(tmpdir(), "berth-docker"), "sites"),
    fastProbeMs: opts.fastProbeMs ?? 250,
    workerStableSeconds: opts.workerStableSeconds ?? 10,
    privatePorts: new PrivatePorts(opts.privatePortBase ?? 20000, opts.privatePortCount ?? 10000, opts.log),
    routing: createRoutingTable(opts.router),
    networks: createAppNetworks(docker, opts.labels),
    sink: createMetadataSink(docker),
    secretsByComponent: new Map(),
  };
  const appNetwork = (appId: string) => ctx.networks.ensure(appId);
  const buildNetwork = async (appId: string) =>
    opts.network === "host"
      ? { mode: "host", release: () => Promise.resolve() }
      : ctx.sink.buildNetns(await ctx.networks.ensureBuild(appId), { ...opts.labels, [LABEL.app]: appId });

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
    build: (req) => buildImage({ docker, images, timeoutMs: opts.buildTimeoutMs ?? 30 * 60_000, network: buildNetwork, labels: opts.labels }, req),
    runJob: (req) => runJob({ docker, network: opts.network, appNetwork, sink: ctx.sink, labels: opts.labels }, req),
    rollout: (req) => rollout(ctx, req),
    restart: (req) => restart(ctx, req),
    remove: (appId, components) => remove(ctx, appId, components),
    pruneImages: (keep, appId) => pruneImages(ctx, keep, appId),
    privateAddress(appId: string, component: string, port: number): PrivateAddress {
      if (opts.network === "isolated") return { host: component, port };
      return { host: "127.0.0.1", port: ctx.privatePorts.portFor(appId, component) };
    },
    publicUrl: (appName: string) => opts.router.publicUrl(appName),
    adopt: () => adopt(ctx),
    resolveDatabases: (databases, target) =>
      resolveDatabases(databases, target, {
        config: opts.databases?.config ?? new Map(),
        provisionDev: dockerDevDatabases({
          docker,
          image: opts.databases?.devImage ?? "postgres:16",
          network: opts.network,
          labels: opts.labels,
          ensureNetwork: appNetwork,
        }),
      }),
    close: () => ctx.privatePorts.close(),
  };
}
