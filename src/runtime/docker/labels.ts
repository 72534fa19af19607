// Names and labels Berth puts on Docker objects. Labels are how a restarted Berth finds its containers, so
// everything it needs to re-register an instance travels in them (never env values, which may be secret).

export const LABEL = {
  managed: "berth.managed",
  app: "berth.app",
  appName: "berth.app-name",
  component: "berth.component",
  deployment: "berth.deployment",
  kind: "berth.kind",
  role: "berth.role",
  port: "berth.port",
  rollout: "berth.rollout",
  siteOutput: "berth.site.output",
  siteIndex: "berth.site.index",
  siteError: "berth.site.error",
  siteCatchall: "berth.site.catchall",
  /** Which Berth owns the container (`BERTH_INSTANCE`), when several share one engine. */
  instance: "berth.instance",
} as const;

/** `build-netns`: the holder of a build's network namespace in isolated mode (metadata-sink.ts). */
export type ContainerRole = "instance" | "job" | "extract" | "database" | "build-netns";

/** Docker repository and tag characters only; lowercase, anything else becomes `-`. */
export function dockerName(s: string): string {
  const cleaned = s
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[._-]+$/g, "");
  return cleaned || "x";
}

export function imageTag(appId: string, component: string, deploymentId: string): string {
  return `berth/${dockerName(appId)}/${dockerName(component)}:${dockerName(deploymentId).slice(0, 128)}`;
}

/** Container names: live instances get `base`; new ones carry `.pending` until traffic switches to them. */
export function instanceName(appId: string, component: string, deploymentId: string, index: number): string {
  return `berth-${dockerName(appId)}-${dockerName(component)}-${dockerName(deploymentId)}-${index}`;
}

export const PENDING_SUFFIX = ".pending";
