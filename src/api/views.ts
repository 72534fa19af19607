// Records as the API shows them: dates as ISO text, every free text through the redactor, and of a stored
// spec only its components' names and kinds (the spec itself may hold SECRET values).
import type { z } from "zod";
import type { AppRecord, DeploymentInternals } from "../core/store.js";
import type { DeploymentRecord } from "../core/types.js";
import type { AppList, AppView, ComponentView, DeploymentView } from "./schemas.js";

type Redact = (text: string) => string;
const iso = (d: Date | undefined) => d?.toISOString();

export function deploymentView(d: DeploymentRecord, redact: Redact): z.input<typeof DeploymentView> {
  return {
    id: d.id,
    app: d.app,
    sha: d.sha,
    branch: d.branch,
    phase: d.phase,
    cause: JSON.parse(redact(JSON.stringify(d.cause))) as { type: string },
    message: d.message === undefined ? undefined : redact(d.message),
    error: d.error && { code: d.error.code, step: d.error.step, component: d.error.component },
    url: d.url,
    untrusted: d.untrusted,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    steps: d.steps.map((s) => ({
      name: s.name,
      component: s.component,
      status: s.status,
      startedAt: iso(s.startedAt),
      endedAt: iso(s.endedAt),
      message: s.message === undefined ? undefined : redact(s.message),
    })),
  };
}

const KINDS = [
  ["services", "service"],
  ["workers", "worker"],
  ["jobs", "job"],
  ["static_sites", "static_site"],
  ["functions", "function"],
] as const;

/** Names and kinds only, read defensively: the stored spec is whatever the spec stage kept. */
export function componentsOf(spec: unknown): z.input<typeof ComponentView>[] {
  if (!spec || typeof spec !== "object") return [];
  const out: z.input<typeof ComponentView>[] = [];
  for (const [field, kind] of KINDS) {
    const list = (spec as Record<string, unknown>)[field];
    if (!Array.isArray(list)) continue;
    for (const c of list) if (c && typeof (c as { name?: unknown }).name === "string") out.push({ name: (c as { name: string }).name, kind });
  }
  return out;
}

export function appSummary(a: AppRecord): z.input<typeof AppList>["apps"][number] {
  return {
    id: a.id,
    app: a.key,
    branch: a.branch,
    name: a.specName,
    untrusted: a.untrusted,
    createdAt: a.createdAt.toISOString(),
    activeDeploymentId: a.activeDeploymentId,
  };
}

export function appView(a: AppRecord, active: DeploymentInternals | undefined, redact: Redact): z.input<typeof AppView> {
  return {
    id: a.id,
    app: a.key,
    branch: a.branch,
    name: a.specName,
    url: active?.record.url,
    untrusted: a.untrusted,
    createdAt: a.createdAt.toISOString(),
    components: componentsOf(active?.spec),
    activeDeployment: active && deploymentView(active.record, redact),
  };
}
