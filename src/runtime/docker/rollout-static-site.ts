// A static site's rollout: its built output is copied out of the image and the router serves it from there.
import { join } from "node:path";
import type { RolloutRequest, RolloutResult } from "../runtime.js";
import type { RolloutRecord } from "./container-spec.js";
import type { DockerContext } from "./docker-context.js";
import { dockerName, LABEL } from "./labels.js";
import { extractSite, siteFolder, writeCurrent } from "./static-site.js";

export async function rolloutStaticSite(ctx: DockerContext, req: RolloutRequest, record: RolloutRecord): Promise<RolloutResult> {
  const folder = siteFolder(ctx.sitesDir, req.appId, req.component);
  const dest = join(folder, dockerName(req.deploymentId));
  req.log(`copying the built site out of ${req.image}`);
  const site = await extractSite(ctx.docker, req.image, dest, {
    ...ctx.labels,
    [LABEL.app]: req.appId,
    [LABEL.component]: req.component,
    [LABEL.deployment]: req.deploymentId,
  });
  ctx.routing.set(req.appId, req.appName, req.domains, req.component, record);
  ctx.router.setStaticSite(req.appName, req.component, site);
  await ctx.router.sync?.();
  writeCurrent(folder, { appName: req.appName, deploymentId: req.deploymentId, site, routes: req.routes, domains: req.domains });
  req.log(`serving the site from ${site.root}`);
  return { instances: [] };
}
