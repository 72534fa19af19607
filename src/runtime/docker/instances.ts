// A service's or worker's instances as containers: finding them, starting a new one, retiring old ones.
import type Dockerode from "dockerode";
import type { RolloutRequest } from "../runtime.js";
import { containerSpecFor, type RolloutRecord } from "./container-spec.js";
import type { DockerContext } from "./docker-context.js";
import { freePort, removeContainer } from "./engine.js";
import { instanceName, LABEL, PENDING_SUFFIX } from "./labels.js";

export interface Instance {
  id: string;
  name: string;
  /** Host port the router and probes reach it on. */
  hostPort: number;
  url: string;
  deploymentId: string;
}

export interface StartedInstance {
  instance: Instance;
  container: Dockerode.Container;
  exited: Promise<{ code: number }>;
  stopWatching: () => void;
}

export function containerName(info: Dockerode.ContainerInfo): string {
  return info.Names[0]?.replace(/^\//, "") ?? info.Id;
}

export function isPending(info: Dockerode.ContainerInfo): boolean {
  return (info.Names[0] ?? "").endsWith(PENDING_SUFFIX);
}

export function listInstances(ctx: DockerContext, appId?: string, component?: string): Promise<Dockerode.ContainerInfo[]> {
  const label = [`${LABEL.managed}=true`, `${LABEL.role}=instance`, ...ctx.own];
  if (appId !== undefined) label.push(`${LABEL.app}=${appId}`);
  if (component !== undefined) label.push(`${LABEL.component}=${component}`);
  return ctx.docker.listContainers({ all: true, filters: { label } });
}

export function instanceFromInfo(ctx: DockerContext, info: Dockerode.ContainerInfo): Instance | null {
  const name = (info.Names[0] ?? "").replace(/^\//, "");
  const deploymentId = info.Labels[LABEL.deployment] ?? "";
  // A worker listens on nothing: it has no port, and is still an instance a redeploy must retire.
  if (info.Labels[LABEL.port] === undefined) return { id: info.Id, name, hostPort: 0, url: "", deploymentId };
  const port = Number(info.Labels[LABEL.port]);
  let hostPort = port;
  if (ctx.network === "isolated") {
    const published = info.Ports.find((p) => p.PrivatePort === port && p.IP === "127.0.0.1");
    if (!published) return null;
    hostPort = published.PublicPort;
  }
  if (!hostPort) return null;
  return { id: info.Id, name, hostPort, url: `http://127.0.0.1:${hostPort}`, deploymentId };
}

/** The component's live instances (not a rollout's pending ones). */
export async function liveInstances(ctx: DockerContext, appId: string, component: string): Promise<Instance[]> {
  return (await listInstances(ctx, appId, component))
    .map((info) => instanceFromInfo(ctx, info))
    .filter((i): i is Instance => i !== null && !i.name.endsWith(PENDING_SUFFIX));
}

/** Creates and starts one new instance, named `….pending`; `created` receives the container before it starts. */
export async function startInstance(
  ctx: DockerContext,
  req: RolloutRequest,
  record: RolloutRecord,
  index: number,
  net: string | undefined,
  created: Dockerode.Container[],
): Promise<StartedInstance> {
  const port = ctx.network === "host" ? await freePort() : (req.httpPort ?? 8080);
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
    network: ctx.network,
    appNetwork: net,
    port: req.kind === "service" ? port : undefined,
    rollout: record,
    labels: ctx.labels,
  });
  const container = await ctx.docker.createContainer(spec);
  created.push(container);
  if (ctx.network === "isolated") await ctx.sink.attach(container);
  const watch = new AbortController();
  const exited = (container.wait({ condition: "next-exit", abortSignal: watch.signal }) as Promise<{ StatusCode: number }>).then(
    (r) => ({ code: r.StatusCode }),
  );
  exited.catch(() => undefined);
  await container.start();
  let hostPort = port;
  if (ctx.network === "isolated" && req.kind === "service") {
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

/** Out of the router (services), drained, then SIGTERM, grace period, SIGKILL, removed. */
export async function retire(
  ctx: DockerContext,
  appName: string,
  component: string,
  old: Instance[],
  record: { drainSeconds: number; gracePeriodSeconds: number },
  isService: boolean,
): Promise<void> {
  await Promise.all(
    old.map(async (inst) => {
      if (isService) {
        const { abandoned } = await ctx.router.removeBackend(appName, component, inst.id, record.drainSeconds * 1000);
        if (abandoned > 0) ctx.log.warn({ component, instance: inst.name, abandoned }, "requests still open after drain");
      }
      const container = ctx.docker.getContainer(inst.id);
      await container.stop({ t: record.gracePeriodSeconds }).catch(() => undefined);
      await removeContainer(container);
    }),
  );
}
