// The operator's limits on what one app may ask for, checked against the spec before anything is built: a
// spec asking for more is refused with the component, the field, the value and the variable to raise.
import { instanceSize, type AppSpec } from "../app-spec/index.js";
import { deployError } from "../core/errors.js";
import { componentsOf } from "./map-spec.js";

export interface Quotas {
  /** Instances of one service or worker (BERTH_MAX_INSTANCES). */
  maxInstances: number;
  /** The largest instance_size_slug allowed: no more memory and no more CPUs than it (BERTH_MAX_INSTANCE_SIZE). */
  maxInstanceSize: string;
  /** Memory of all of an app's service and worker instances together, in bytes (BERTH_MAX_APP_MEMORY). */
  maxAppMemory: number;
  /** Builds of one deployment running at once (BERTH_MAX_BUILDS_PER_APP). */
  maxBuildsPerApp: number;
}

const GiB = 1024 ** 3;

export const DEFAULT_QUOTAS: Quotas = {
  maxInstances: 10,
  maxInstanceSize: "apps-s-2vcpu-4gb",
  maxAppMemory: 16 * GiB,
  maxBuildsPerApp: 2,
};

function gib(bytes: number): string {
  return `${Number((bytes / GiB).toFixed(2))} GiB`;
}

/** Throws QUOTA_EXCEEDED for the first thing in the spec beyond the operator's limits. */
export function checkQuotas(spec: AppSpec, quotas: Quotas): void {
  const largest = instanceSize(quotas.maxInstanceSize);
  let memory = 0;
  for (const component of componentsOf(spec)) {
    if (component.kind === "static_site") continue;
    const slug = component.spec.instance_size_slug;
    const size = instanceSize(slug);
    if (size.memoryBytes > largest.memoryBytes || size.cpus > largest.cpus) {
      throw deployError("QUOTA_EXCEEDED", {
        component: component.name,
        field: "instance_size_slug",
        asked: slug,
        allowed: quotas.maxInstanceSize,
        variable: "BERTH_MAX_INSTANCE_SIZE",
        step: "spec",
      });
    }
    if (component.kind === "job") continue;
    // What Berth starts: it does not autoscale, so an autoscaled component runs its minimum.
    const count = component.spec.instance_count ?? component.spec.autoscaling?.min_instance_count ?? 1;
    const field = component.spec.instance_count !== undefined || !component.spec.autoscaling ? "instance_count" : "autoscaling.min_instance_count";
    if (count > quotas.maxInstances) {
      throw deployError("QUOTA_EXCEEDED", {
        component: component.name,
        field,
        asked: String(count),
        allowed: String(quotas.maxInstances),
        variable: "BERTH_MAX_INSTANCES",
        step: "spec",
      });
    }
    memory += count * size.memoryBytes;
    if (memory > quotas.maxAppMemory) {
      throw deployError("QUOTA_EXCEEDED", {
        component: component.name,
        field: "memory of all services' and workers' instances (instance_count × instance_size_slug)",
        asked: gib(memory),
        allowed: gib(quotas.maxAppMemory),
        variable: "BERTH_MAX_APP_MEMORY",
        step: "spec",
      });
    }
  }
}

/** Runs at most `limit` of the calls at once, the rest in the order they came. */
export function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // A freed slot passes straight to the next waiter, so a newcomer cannot slip in between.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
