// Static sites are served by the router from a host directory: the built output is copied out of the image
// (a created, never started container) into `<sitesDir>/<app>/<component>/<deployment>`.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type Dockerode from "dockerode";
import { x as extract } from "tar";
import type { StaticSiteRoot } from "../../router/router-contract.js";
import type { RouteRule } from "../runtime.js";
import { removeContainer } from "./engine.js";
import { dockerName, LABEL } from "./labels.js";
import { SITE_ROOT } from "./dockerfile.js";

/** What `current.json` in a component's site folder records, so a restarted Berth serves it again. */
export interface PublishedSite {
  appName: string;
  deploymentId: string;
  site: StaticSiteRoot;
  routes: RouteRule[];
  domains: string[];
}

export function siteFolder(sitesDir: string, appId: string, component: string): string {
  return join(sitesDir, dockerName(appId), dockerName(component));
}

export async function extractSite(
  docker: Dockerode,
  image: string,
  dest: string,
  labels: Record<string, string>,
): Promise<StaticSiteRoot> {
  const info = await docker.getImage(image).inspect();
  const imageLabels = info.Config.Labels ?? {};
  let output = imageLabels[LABEL.siteOutput] ?? SITE_ROOT;
  if (!output.startsWith("/")) output = `${info.Config.WorkingDir || "/"}/${output}`;
  const container = await docker.createContainer({
    Image: image,
    Cmd: ["/berth-static-site"],
    Labels: { ...labels, [LABEL.managed]: "true", [LABEL.role]: "extract" },
    HostConfig: { NetworkMode: "none" },
  });
  try {
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    const archive = await container.getArchive({ path: output });
    await pipeline(
      archive,
      extract({ cwd: dest, strip: 1, filter: (path) => !/(^|\/)\.berth-build-[^/]*(\/|$)/.test(path) }),
    );
  } finally {
    await removeContainer(container);
  }
  return {
    root: dest,
    indexDocument: imageLabels[LABEL.siteIndex] ?? "index.html",
    errorDocument: imageLabels[LABEL.siteError],
    catchallDocument: imageLabels[LABEL.siteCatchall],
  };
}

export function writeCurrent(folder: string, published: PublishedSite): void {
  writeFileSync(join(folder, "current.json"), JSON.stringify(published));
  for (const entry of readdirSync(folder)) {
    if (entry !== "current.json" && entry !== dockerName(published.deploymentId)) {
      rmSync(join(folder, entry), { recursive: true, force: true });
    }
  }
}

/** Every published site under `sitesDir`, keyed by app id folder and component folder. */
export function readPublished(sitesDir: string): { appId: string; component: string; published: PublishedSite }[] {
  const out: { appId: string; component: string; published: PublishedSite }[] = [];
  let apps: string[];
  try {
    apps = readdirSync(sitesDir);
  } catch {
    return out;
  }
  for (const appId of apps) {
    for (const component of readdirSync(join(sitesDir, appId))) {
      try {
        const published = JSON.parse(readFileSync(join(sitesDir, appId, component, "current.json"), "utf8")) as PublishedSite;
        out.push({ appId, component, published });
      } catch {
        // a folder without a finished publish: nothing to serve
      }
    }
  }
  return out;
}
