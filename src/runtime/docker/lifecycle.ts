// Restarting an app's components (a fresh rollout of what runs, same image and env) and removing an app or some
// of its components with everything they own: instances, site folders, and with the whole app its databases,
// routes and network.
import { rmSync } from "node:fs";
import type Dockerode from "dockerode";
import type { RestartRequest } from "../runtime.js";
import { RuntimeError } from "../runtime.js";
import type { RolloutRecord } from "./container-spec.js";
import { componentKey, type DockerContext } from "./docker-context.js";
import { removeContainer } from "./engine.js";
import { isPending, listInstances } from "./instances.js";
import { dockerName, LABEL } from "./labels.js";
import { rollout } from "./rollout.js";
import { readPublished, siteFolder } from "./static-site.js";

export async function restart(ctx: DockerContext, req: RestartRequest): Promise<void> {
  const byComponent = new Map<string, Dockerode.ContainerInfo[]>();
  for (const info of await listInstances(ctx, req.appId)) {
    if (isPending(info)) continue;
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
    const inspected = await ctx.docker.getContainer(first.Id).inspect();
    const env = Object.fromEntries(
      (inspected.Config.Env ?? [])
        .map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)] as const)
        .filter(([k]) => k !== "PORT"),
    );
    req.log(`restarting ${component}`);
    await rollout(ctx, {
      appId: req.appId,
      appName: record.appName,
      deploymentId: req.deploymentId,
      component,
      kind: record.kind,
      image: inspected.Config.Image,
      runCommand: record.runCommand,
      env,
      secrets: ctx.secretsByComponent.get(componentKey(req.appId, component)) ?? [],
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

export async function remove(ctx: DockerContext, appId: string, components?: string[]): Promise<void> {
  const infos = await listInstances(ctx, appId);
  const app = ctx.routing.get(appId);
  const appName = app?.appName ?? infos[0]?.Labels[LABEL.appName];
  const wanted = (component: string) => !components?.length || components.includes(component);
  await Promise.all(
    infos
      .filter((info) => wanted(info.Labels[LABEL.component] ?? ""))
      .map(async (info) => {
        if (appName && info.Labels[LABEL.kind] === "service") {
          await ctx.router.removeBackend(appName, info.Labels[LABEL.component] ?? "", info.Id, 0);
        }
        await removeContainer(ctx.docker.getContainer(info.Id));
      }),
  );
  for (const { appId: folderApp, component, published } of readPublished(ctx.sitesDir)) {
    if (folderApp !== dockerName(appId) || !wanted(component)) continue;
    ctx.router.setStaticSite(published.appName, component, null);
    rmSync(siteFolder(ctx.sitesDir, appId, component), { recursive: true, force: true });
  }
  const all = !components?.length;
  if (all) {
    await removeDatabases(ctx, appId);
    if (appName) ctx.router.removeApp(appName);
    ctx.routing.delete(appId);
    if (ctx.network === "isolated") await ctx.networks.remove(appId);
  }
  const comps = components?.length ? components : [...(app?.routes.keys() ?? [])];
  for (const c of comps) {
    ctx.privatePorts.release(appId, c);
    if (app && !all) ctx.routing.set(appId, app.appName, app.domains, c, null);
  }
}

async function removeDatabases(ctx: DockerContext, appId: string): Promise<void> {
  const dbs = await ctx.docker.listContainers({
    all: true,
    filters: { label: [`${LABEL.managed}=true`, `${LABEL.role}=database`, `${LABEL.app}=${appId}`] },
  });
  for (const info of dbs) {
    await removeContainer(ctx.docker.getContainer(info.Id));
    const volume = info.Names[0]?.replace(/^\//, "");
    if (volume) await ctx.docker.getVolume(volume).remove().catch(() => undefined);
  }
}
