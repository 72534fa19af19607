// After a restart of Berth: containers it left behind are found by their labels. Jobs, extractions and pending
// (interrupted) instances are removed; of each component's instances the newest deployment's are started if
// needed and registered with the router again, older ones (a retirement cut short) stopped; static sites are
// served again from their recorded folders.
import type Dockerode from "dockerode";
import type { RolloutRecord } from "./container-spec.js";
import { componentKey, type DockerContext } from "./docker-context.js";
import { removeContainer } from "./engine.js";
import { containerName, instanceFromInfo, isPending, listInstances } from "./instances.js";
import { LABEL } from "./labels.js";
import { readPublished } from "./static-site.js";

export interface AdoptResult {
  adopted: string[];
  removed: string[];
}

export async function adopt(ctx: DockerContext): Promise<AdoptResult> {
  const result: AdoptResult = { adopted: [], removed: [] };
  await removeLeftovers(ctx, result);
  const groups = new Map<string, Dockerode.ContainerInfo[]>();
  for (const info of await listInstances(ctx)) {
    if (isPending(info)) {
      await removeContainer(ctx.docker.getContainer(info.Id));
      result.removed.push(containerName(info));
      continue;
    }
    const key = componentKey(info.Labels[LABEL.app] ?? "", info.Labels[LABEL.component] ?? "");
    groups.set(key, [...(groups.get(key) ?? []), info]);
  }
  for (const list of groups.values()) await adoptComponent(ctx, list, result);
  adoptStaticSites(ctx, result);
  await ctx.router.sync?.();
  ctx.log.info({ adopted: result.adopted.length, removed: result.removed.length }, "adopted running containers");
  return result;
}

async function removeLeftovers(ctx: DockerContext, result: AdoptResult): Promise<void> {
  for (const role of ["job", "extract", "build-netns"]) {
    const infos = await ctx.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.managed}=true`, `${LABEL.role}=${role}`, ...ctx.own] },
    });
    for (const info of infos) {
      await removeContainer(ctx.docker.getContainer(info.Id));
      result.removed.push(containerName(info));
    }
  }
}

/** One component's instances: the newest deployment's serve again, the rest are stopped and removed. */
async function adoptComponent(ctx: DockerContext, list: Dockerode.ContainerInfo[], result: AdoptResult): Promise<void> {
  // Berth stopped while retiring old instances: the newest deployment is the one that went live.
  const newest = list.reduce((a, b) => (b.Created > a.Created ? b : a)).Labels[LABEL.deployment];
  for (const info of list) {
    const appId = info.Labels[LABEL.app] ?? "";
    const component = info.Labels[LABEL.component] ?? "";
    const record = JSON.parse(info.Labels[LABEL.rollout] ?? "{}") as RolloutRecord;
    const name = containerName(info);
    const container = ctx.docker.getContainer(info.Id);
    if (info.Labels[LABEL.deployment] !== newest) {
      await container.stop({ t: record.termination?.gracePeriodSeconds ?? 10 }).catch(() => undefined);
      await removeContainer(container);
      result.removed.push(name);
      continue;
    }
    if (info.State !== "running") await container.start().catch(() => undefined);
    if (record.kind === "service") {
      ctx.routing.set(appId, record.appName, record.domains, component, record);
      const inst = instanceFromInfo(ctx, info);
      if (inst) {
        ctx.router.addBackend(record.appName, component, { id: inst.id, url: inst.url });
        if (ctx.network === "host") {
          const ports = list.filter((i) => i.Labels[LABEL.deployment] === newest).map((i) => Number(i.Labels[LABEL.port]));
          ctx.privatePorts.setTargets(appId, component, ports);
        }
      }
    }
    result.adopted.push(name);
  }
}

function adoptStaticSites(ctx: DockerContext, result: AdoptResult): void {
  for (const { appId, component, published } of readPublished(ctx.sitesDir)) {
    ctx.routing.set(appId, published.appName, published.domains, component, {
      appName: published.appName,
      kind: "static_site",
      instanceCount: 0,
      termination: { drainSeconds: 0, gracePeriodSeconds: 0 },
      routes: published.routes,
      domains: published.domains,
      limits: { memory: 0, cpus: 0 },
    });
    ctx.router.setStaticSite(published.appName, component, published.site);
    result.adopted.push(`${published.appName}/${component} (static site)`);
  }
}
