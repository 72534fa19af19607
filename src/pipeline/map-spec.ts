// Pure builders from a validated app spec to runtime requests. Runtimes never read the spec; everything they
// need (defaults applied, routes resolved to the component, bindables resolved) is decided here.
import type { AppSpec, BindContext, JobSpec, ServiceSpec, StaticSiteSpec, WorkerSpec } from "../app-spec/index.js";
import { instanceSize, resolveComponentEnv } from "../app-spec/index.js";
import type {
  BuildRequest,
  HealthCheck,
  ImageSource,
  JobRequest,
  ResourceLimits,
  RolloutRequest,
  RouteRule,
  Runtime,
} from "../runtime/runtime.js";
import type { AppKey, SecretScope } from "../core/types.js";

export type Component =
  | { kind: "service"; name: string; spec: ServiceSpec }
  | { kind: "worker"; name: string; spec: WorkerSpec }
  | { kind: "job"; name: string; spec: JobSpec }
  | { kind: "static_site"; name: string; spec: StaticSiteSpec };

/** Everything Berth deploys, in spec order. Functions are not deployed (the spec engine warns about them). */
export function componentsOf(spec: AppSpec): Component[] {
  return [
    ...spec.services.map((s) => ({ kind: "service" as const, name: s.name, spec: s })),
    ...spec.static_sites.map((s) => ({ kind: "static_site" as const, name: s.name, spec: s })),
    ...spec.workers.map((s) => ({ kind: "worker" as const, name: s.name, spec: s })),
    ...spec.jobs.map((s) => ({ kind: "job" as const, name: s.name, spec: s })),
  ];
}

export type JobKind = "PRE_DEPLOY" | "POST_DEPLOY" | "FAILED_DEPLOY";

/** Jobs run at one point of a deployment; UNSPECIFIED means POST_DEPLOY, SCHEDULED ones are not run here. */
export function jobsOf(spec: AppSpec, kind: JobKind): JobSpec[] {
  return spec.jobs.filter((j) => (j.kind === "UNSPECIFIED" ? "POST_DEPLOY" : j.kind) === kind);
}

/** The router's DNS label: the spec's name, with the preview's environment for pull requests. */
export function appNameFor(spec: AppSpec, app: AppKey): string {
  const name = app.environment === "production" ? spec.name : `${spec.name}-${app.environment}`;
  return name.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63).replace(/-+$/, "");
}

function imageSourceOf(component: Component): ImageSource | undefined {
  if (component.kind === "static_site" || !component.spec.image) return undefined;
  const image = component.spec.image;
  return {
    registryType: image.registry_type ?? "UNSPECIFIED",
    registry: image.registry,
    repository: image.repository,
    tag: image.tag,
    digest: image.digest,
  };
}

function limitsOf(component: Component): ResourceLimits {
  const slug = component.kind === "static_site" ? "apps-s-1vcpu-0.5gb" : component.spec.instance_size_slug;
  const size = instanceSize(slug);
  return { memory: size.memoryBytes, cpus: size.cpus };
}

/**
 * A deployment that gets no secrets (a fork's code, a preview not opted in) sees no env whose value holds a
 * secret, directly or through a bindable (database credentials): the key is left out, and the runtime is not
 * even told the values it would have had to redact.
 */
function envFor(spec: AppSpec, name: string, scope: "build" | "run", input: { bind: BindContext; secrets: SecretScope }) {
  const resolved = resolveComponentEnv(spec, name, scope, input.bind);
  if (input.secrets === "production") return resolved;
  const secrets = resolved.secrets.filter((s) => s.length > 0);
  const env = Object.fromEntries(Object.entries(resolved.env).filter(([, v]) => !secrets.some((s) => v.includes(s))));
  return { env, secrets: [] };
}

export interface BuildInput {
  appId: string;
  deploymentId: string;
  sourceRoot: string;
  noCache: boolean;
  bind: BindContext;
  /** The deployment's stored decision; "none" withholds SECRET envs and database credentials from the build. */
  secrets: SecretScope;
}

export function buildRequestFor(spec: AppSpec, component: Component, input: BuildInput): Omit<BuildRequest, "log" | "signal"> {
  const { env, secrets } = envFor(spec, component.name, "build", input);
  const c = component.spec;
  return {
    appId: input.appId,
    deploymentId: input.deploymentId,
    component: component.name,
    kind: component.kind,
    sourceRoot: input.sourceRoot,
    sourceDir: c.source_dir,
    dockerfilePath: c.dockerfile_path,
    buildCommand: c.build_command,
    runCommand: "run_command" in c ? c.run_command : undefined,
    environmentSlug: c.environment_slug,
    ...(component.kind === "static_site"
      ? {
          outputDir: component.spec.output_dir,
          indexDocument: component.spec.index_document,
          errorDocument: component.spec.error_document,
          catchallDocument: component.spec.catchall_document,
        }
      : {}),
    image: imageSourceOf(component),
    buildEnv: env,
    secrets,
    noCache: input.noCache,
  };
}

/** Public routes of one component: its ingress rules, else its deprecated `routes`, else `/` for the first one. */
export function routesFor(spec: AppSpec, name: string): RouteRule[] {
  const rules = spec.ingress?.rules ?? [];
  if (rules.length > 0) {
    return rules
      .filter((r) => r.component?.name === name)
      .map((r) => ({
        pathPrefix: r.match?.path?.prefix ?? r.match?.path?.exact ?? "/",
        authority: r.match?.authority?.exact || undefined,
        preservePathPrefix: r.component?.preserve_path_prefix ?? false,
        rewrite: r.component?.rewrite,
      }));
  }
  const routable = [...spec.services.filter((s) => s.http_port !== undefined), ...spec.static_sites];
  const own = routable.find((c) => c.name === name);
  if (!own) return [];
  if (routable.some((c) => c.routes?.length)) {
    return (own.routes ?? []).map((r) => ({ pathPrefix: r.path ?? "/", preservePathPrefix: r.preserve_path_prefix ?? false }));
  }
  return routable[0]?.name === name ? [{ pathPrefix: "/", preservePathPrefix: false }] : [];
}

function healthCheckOf(service: ServiceSpec): HealthCheck | undefined {
  const check = service.health_check;
  if (!check || check.port === undefined) return undefined;
  return {
    httpPath: check.http_path,
    port: check.port,
    initialDelaySeconds: check.initial_delay_seconds,
    periodSeconds: check.period_seconds,
    timeoutSeconds: check.timeout_seconds,
    successThreshold: check.success_threshold,
    failureThreshold: check.failure_threshold,
  };
}

export interface RunInput {
  appId: string;
  appName: string;
  deploymentId: string;
  image: string;
  bind: BindContext;
  /** The decision stored on the deployment whose code runs; "none" withholds SECRET envs and database credentials. */
  secrets: SecretScope;
}

export function rolloutRequestFor(
  spec: AppSpec,
  component: Exclude<Component, { kind: "job" }>,
  input: RunInput,
): Omit<RolloutRequest, "log" | "signal"> {
  const { env, secrets } = envFor(spec, component.name, "run", input);
  const base = {
    appId: input.appId,
    appName: input.appName,
    deploymentId: input.deploymentId,
    component: component.name,
    image: input.image,
    env,
    secrets,
    limits: limitsOf(component),
    domains: spec.domains.map((d) => d.domain),
  };
  switch (component.kind) {
    case "service":
      return {
        ...base,
        kind: "service",
        runCommand: component.spec.run_command,
        instanceCount: component.spec.instance_count ?? component.spec.autoscaling?.min_instance_count ?? 1,
        httpPort: component.spec.http_port,
        healthCheck: healthCheckOf(component.spec),
        termination: {
          drainSeconds: component.spec.termination.drain_seconds,
          gracePeriodSeconds: component.spec.termination.grace_period_seconds,
        },
        routes: routesFor(spec, component.name),
      };
    case "worker":
      return {
        ...base,
        kind: "worker",
        runCommand: component.spec.run_command,
        instanceCount: component.spec.instance_count ?? component.spec.autoscaling?.min_instance_count ?? 1,
        termination: { drainSeconds: 0, gracePeriodSeconds: component.spec.termination.grace_period_seconds },
        routes: [],
        domains: [],
      };
    case "static_site":
      return {
        ...base,
        kind: "static_site",
        instanceCount: 1,
        termination: { drainSeconds: 0, gracePeriodSeconds: 10 },
        routes: routesFor(spec, component.name),
      };
  }
}

/** App Platform stops job deployments after 30 minutes. */
export const JOB_TIMEOUT_MS = 30 * 60_000;

export function jobRequestFor(spec: AppSpec, job: JobSpec, input: RunInput): Omit<JobRequest, "log" | "signal"> {
  const { env, secrets } = envFor(spec, job.name, "run", input);
  return {
    appId: input.appId,
    deploymentId: input.deploymentId,
    component: job.name,
    image: input.image,
    runCommand: job.run_command,
    env,
    secrets,
    limits: limitsOf({ kind: "job", name: job.name, spec: job }),
    timeoutMs: JOB_TIMEOUT_MS,
    gracePeriodSeconds: job.termination.grace_period_seconds,
  };
}

/** Every value the spec marks SECRET, before binding (bound values come back from resolveComponentEnv). */
export function specSecrets(spec: AppSpec): string[] {
  const all = [spec.envs, ...componentsOf(spec).map((c) => c.spec.envs), ...spec.functions.map((f) => f.envs)].flat();
  return all.filter((e) => e.type === "SECRET" && e.value).map((e) => e.value as string);
}

/** Bindables the runtime knows: the app's public URL, each service's private address, the commit. */
export function defaultBindContext(spec: AppSpec, runtime: Runtime, input: { appId: string; appName: string; sha: string }): BindContext {
  const appUrl = runtime.publicUrl(input.appName);
  const components: BindContext["components"] = {};
  for (const component of componentsOf(spec)) {
    const routes = component.kind === "service" || component.kind === "static_site" ? routesFor(spec, component.name) : [];
    const path = routes[0]?.pathPrefix;
    components[component.name] = {
      commitHash: input.sha,
      ...(path !== undefined ? { publicRoutePath: path, publicUrl: appUrl.replace(/\/$/, "") + (path === "/" ? "" : path) } : {}),
    };
    if (component.kind === "service") {
      const port = component.spec.http_port ?? component.spec.internal_ports?.[0];
      if (port !== undefined) {
        const address = runtime.privateAddress(input.appId, component.name, port);
        Object.assign(components[component.name]!, {
          privateDomain: address.host,
          privatePort: address.port,
          privateUrl: `http://${address.host}:${address.port}`,
        });
      }
    }
  }
  return { appUrl, appDomain: new URL(appUrl).host, appId: input.appId, components, databases: {} };
}
