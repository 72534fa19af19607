// The contract between the pipeline and a runtime (Docker, Kubernetes, or the in-memory one in tests).
// A runtime knows containers and images, never GitHub or the store. The pipeline maps the app spec to
// these requests (runtime-neutral, already defaulted and with bindables resolved), so runtimes never
// read the spec themselves.

export type ComponentKind = "service" | "worker" | "job" | "static_site";

/** Receives one line of output (no trailing newline). Lines are redacted by the caller's sink. */
export type LogSink = (line: string) => void;

export interface ImageSource {
  registryType: "DOCR" | "DOCKER_HUB" | "GHCR" | "UNSPECIFIED";
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export interface BuildRequest {
  appId: string;
  deploymentId: string;
  component: string;
  kind: ComponentKind;
  /** Absolute path of the fetched source tree (repository root). */
  sourceRoot: string;
  /** `source_dir` as written in the spec, relative to the repository root. */
  sourceDir?: string;
  dockerfilePath?: string;
  buildCommand?: string;
  runCommand?: string;
  environmentSlug?: string;
  /** Static sites only. */
  outputDir?: string;
  indexDocument?: string;
  errorDocument?: string;
  catchallDocument?: string;
  /** Prebuilt image instead of a build (`image:` source). */
  image?: ImageSource;
  /** BUILD_TIME and RUN_AND_BUILD_TIME envs. */
  buildEnv: Record<string, string>;
  /** Values that must never reach image history, logs or errors. */
  secrets: string[];
  /** Force rebuild: build without the layer cache. */
  noCache: boolean;
  log: LogSink;
  signal: AbortSignal;
}

export interface BuildResult {
  /** Image reference the runtime can start (tag or id). */
  image: string;
}

export interface HealthCheck {
  /** HTTP when `httpPath` is set, else TCP. */
  httpPath?: string;
  port: number;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface Termination {
  drainSeconds: number;
  gracePeriodSeconds: number;
}

export interface ResourceLimits {
  /** Bytes. */
  memory: number;
  /** CPUs (may be fractional). */
  cpus: number;
}

export interface JobRequest {
  appId: string;
  deploymentId: string;
  component: string;
  image: string;
  runCommand?: string;
  env: Record<string, string>;
  secrets: string[];
  limits: ResourceLimits;
  timeoutMs: number;
  gracePeriodSeconds: number;
  log: LogSink;
  signal: AbortSignal;
}

export interface JobResult {
  exitCode: number;
  /** Last lines of output, already redacted. */
  logTail: string[];
}

export interface RolloutRequest {
  appId: string;
  /** Hostname label used by the router (`<app>.<base domain>`). */
  appName: string;
  deploymentId: string;
  component: string;
  kind: "service" | "worker" | "static_site";
  image: string;
  runCommand?: string;
  env: Record<string, string>;
  secrets: string[];
  instanceCount: number;
  limits: ResourceLimits;
  /** Services: port the app listens on (`http_port`). */
  httpPort?: number;
  healthCheck?: HealthCheck;
  termination: Termination;
  /** Public routing for services and static sites (ingress rules already resolved to this component). */
  routes: RouteRule[];
  domains: string[];
  log: LogSink;
  signal: AbortSignal;
}

export interface RouteRule {
  pathPrefix: string;
  /** Host match; undefined matches any host of the app. */
  authority?: string;
  preservePathPrefix: boolean;
  rewrite?: string;
}

export interface RolloutResult {
  /** Runtime ids of the instances now serving. */
  instances: string[];
}

export interface RestartRequest {
  appId: string;
  deploymentId: string;
  /** Empty or undefined: all services and workers. */
  components?: string[];
  log: LogSink;
  signal: AbortSignal;
}

/** Addresses other components reach a service at (`${api.PRIVATE_URL}`). */
export interface PrivateAddress {
  host: string;
  port: number;
}

export interface Runtime {
  readonly name: string;
  /** Resolves when the runtime's backend is reachable; rejects with a reason otherwise. */
  ping(): Promise<void>;
  build(req: BuildRequest): Promise<BuildResult>;
  runJob(req: JobRequest): Promise<JobResult>;
  /** Start new instances, wait until all are healthy, switch traffic, drain and stop the old ones. */
  rollout(req: RolloutRequest): Promise<RolloutResult>;
  restart(req: RestartRequest): Promise<void>;
  /** Remove every instance of an app (preview teardown), or only the named components. */
  remove(appId: string, components?: string[]): Promise<void>;
  /**
   * Remove the images this runtime built for the app except those in `keep` (images of deployments still
   * on record); optional: a runtime without an image cache has nothing to prune. Returns what was removed.
   */
  pruneImages?(keep: string[], appId: string): Promise<string[]>;
  privateAddress(appId: string, component: string, port: number): PrivateAddress;
  /** Public URL of an app (`${APP_URL}`, GitHub's `environment_url`). */
  publicUrl(appName: string): string;
}

/**
 * A failure a user can act on: the message names the component and the cause. `timedOut` when the runtime
 * gave up waiting (build limit, job limit, health check out of time), so reporters need not read the text.
 */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly details: { component?: string; exitCode?: number; logTail?: string[]; probe?: string; timedOut?: boolean } = {},
  ) {
    super(message);
    this.name = "RuntimeError";
  }
}
