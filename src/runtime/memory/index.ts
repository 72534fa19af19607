// An in-memory Runtime: no containers, just a faithful record of what was asked and what now "serves" each
// app. For pipeline tests and end-to-end runs without Docker. Hooks let a test delay, fail or block any
// operation; every operation honours its abort signal the way a real runtime must.
import type {
  BuildRequest,
  BuildResult,
  JobRequest,
  JobResult,
  PrivateAddress,
  RestartRequest,
  RolloutRequest,
  RolloutResult,
  Runtime,
} from "../runtime.js";
import { RuntimeError } from "../runtime.js";

export interface ServingComponent {
  deploymentId: string;
  image: string;
  env: Record<string, string>;
  instances: string[];
  restarts: number;
}

export type RuntimeOperation = "build" | "job" | "rollout" | "restart" | "remove" | "prune-images";

export interface OperationRecord {
  op: RuntimeOperation;
  appId: string;
  deploymentId?: string;
  component?: string;
  image?: string;
  /** prune-images: the images asked to be kept. */
  keep?: string[];
  start: number;
  end?: number;
}

export interface MemoryRuntimeHooks {
  /** Runs before the build finishes; throw to fail it. */
  build?(req: BuildRequest): Promise<void> | void;
  /** Returns the job's exit code (default: `exit N` in the run command, else 0). */
  runJob?(req: JobRequest): Promise<number | void> | number | void;
  rollout?(req: RolloutRequest): Promise<void> | void;
  restart?(req: RestartRequest): Promise<void> | void;
}

export interface MemoryRuntimeOptions {
  /** Apps answer at `http://<app>.<baseDomain>`. */
  baseDomain?: string;
  hooks?: MemoryRuntimeHooks;
  /** Clock for operation records (default Date.now). */
  now?: () => number;
}

function aborted(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason ?? "aborted"));
}

function check(signal: AbortSignal) {
  if (signal.aborted) throw aborted(signal);
}

/** Resolves with `work`, or rejects as soon as the signal aborts. */
async function until<T>(signal: AbortSignal, work: Promise<T> | T): Promise<T> {
  check(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(work).then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export class MemoryRuntime implements Runtime {
  readonly name = "memory";
  readonly operations: OperationRecord[] = [];
  /** appId → component → what serves it. */
  readonly serving = new Map<string, Map<string, ServingComponent>>();
  private instanceSeq = 0;
  private readonly now: () => number;

  constructor(private readonly options: MemoryRuntimeOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async ping(): Promise<void> {}

  private begin(record: Omit<OperationRecord, "start">): OperationRecord {
    const full = { ...record, start: this.now() };
    this.operations.push(full);
    return full;
  }

  async build(req: BuildRequest): Promise<BuildResult> {
    const record = this.begin({ op: "build", appId: req.appId, deploymentId: req.deploymentId, component: req.component });
    try {
      check(req.signal);
      req.log(`building ${req.component} (${req.kind}) from ${req.sourceDir ?? "/"}${req.noCache ? " without cache" : ""}`);
      for (const [key, value] of Object.entries(req.buildEnv)) req.log(`build env ${key}=${value}`);
      await until(req.signal, this.options.hooks?.build?.(req));
      const image = req.image
        ? `${req.image.registry ?? req.image.registryType.toLowerCase()}/${req.image.repository}:${req.image.tag ?? "latest"}`
        : `memory/${req.appId}/${req.component}:${req.deploymentId}`;
      req.log(`built ${image}`);
      record.image = image;
      return { image };
    } finally {
      record.end = this.now();
    }
  }

  async runJob(req: JobRequest): Promise<JobResult> {
    const record = this.begin({ op: "job", appId: req.appId, deploymentId: req.deploymentId, component: req.component, image: req.image });
    try {
      check(req.signal);
      const lines = [`running ${req.component}: ${req.runCommand ?? "(image default)"}`];
      for (const [key, value] of Object.entries(req.env)) lines.push(`env ${key}=${value}`);
      for (const line of lines) req.log(line);
      const hooked = await until(req.signal, this.options.hooks?.runJob?.(req));
      const exitCode = typeof hooked === "number" ? hooked : Number(/\bexit (\d+)/.exec(req.runCommand ?? "")?.[1] ?? 0);
      req.log(`${req.component} exited with code ${exitCode}`);
      return { exitCode, logTail: lines.slice(-20) };
    } finally {
      record.end = this.now();
    }
  }

  async rollout(req: RolloutRequest): Promise<RolloutResult> {
    const record = this.begin({ op: "rollout", appId: req.appId, deploymentId: req.deploymentId, component: req.component, image: req.image });
    try {
      check(req.signal);
      req.log(`starting ${req.instanceCount} instance(s) of ${req.component} from ${req.image}`);
      for (const [key, value] of Object.entries(req.env)) req.log(`env ${key}=${value}`);
      await until(req.signal, this.options.hooks?.rollout?.(req));
      const instances = Array.from({ length: req.instanceCount }, () => `mem-${++this.instanceSeq}`);
      let components = this.serving.get(req.appId);
      if (!components) this.serving.set(req.appId, (components = new Map()));
      components.set(req.component, { deploymentId: req.deploymentId, image: req.image, env: req.env, instances, restarts: 0 });
      req.log(`${req.component} healthy: ${instances.join(", ")}`);
      return { instances };
    } finally {
      record.end = this.now();
    }
  }

  async restart(req: RestartRequest): Promise<void> {
    const record = this.begin({ op: "restart", appId: req.appId, deploymentId: req.deploymentId });
    try {
      check(req.signal);
      await until(req.signal, this.options.hooks?.restart?.(req));
      const components = this.serving.get(req.appId);
      if (!components) throw new RuntimeError(`app ${req.appId} has nothing running to restart`);
      for (const [name, serving] of components) {
        if (req.components?.length && !req.components.includes(name)) continue;
        serving.restarts++;
        serving.instances = serving.instances.map(() => `mem-${++this.instanceSeq}`);
        req.log(`restarted ${name}`);
      }
    } finally {
      record.end = this.now();
    }
  }

  async remove(appId: string, components?: string[]): Promise<void> {
    const record = this.begin({ op: "remove", appId });
    const serving = this.serving.get(appId);
    if (serving && components?.length) for (const c of components) serving.delete(c);
    else this.serving.delete(appId);
    record.end = this.now();
  }

  /** Records the request; images built here are names only, so there is nothing to delete. */
  async pruneImages(keep: string[], appId: string): Promise<string[]> {
    const record = this.begin({ op: "prune-images", appId, keep });
    record.end = this.now();
    return [];
  }

  privateAddress(appId: string, component: string, port: number): PrivateAddress {
    return { host: `${component}.${appId}.internal`, port };
  }

  publicUrl(appName: string): string {
    return `http://${appName}.${this.options.baseDomain ?? "localhost"}`;
  }
}

export function createMemoryRuntime(options: MemoryRuntimeOptions = {}): MemoryRuntime {
  return new MemoryRuntime(options);
}
