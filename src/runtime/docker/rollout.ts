// A rollout's order never varies: start the new instances, wait until every one is healthy (adding each to the
// router as it passes), then switch the routes, take the old ones out of the router, let their in-flight requests
// drain, SIGTERM, grace period, SIGKILL, remove. A new instance that fails is removed with its evidence and the
// old ones keep serving. New containers are named `….pending` until the switch, so a restarted Berth can tell a
// finished rollout's instances from an interrupted one's orphans.
import type Dockerode from "dockerode";
import { createRedactor, type Redactor } from "../../core/redact.js";
import type { RolloutRequest, RolloutResult } from "../runtime.js";
import { RuntimeError } from "../runtime.js";
import { awaitInstance, type InstanceProblem } from "./await-instance.js";
import type { RolloutRecord } from "./container-spec.js";
import { componentKey, type DockerContext } from "./docker-context.js";
import { logTail, removeContainer } from "./engine.js";
import { isPending, listInstances, liveInstances, retire, startInstance, type Instance, type StartedInstance } from "./instances.js";
import { PENDING_SUFFIX } from "./labels.js";
import { rolloutStaticSite } from "./rollout-static-site.js";

type Redact = Redactor["redact"];

function recordOf(req: RolloutRequest): RolloutRecord {
  return {
    appName: req.appName,
    kind: req.kind,
    instanceCount: req.instanceCount,
    httpPort: req.httpPort,
    healthCheck: req.healthCheck,
    termination: req.termination,
    routes: req.routes,
    domains: req.domains,
    runCommand: req.runCommand,
    limits: req.limits,
  };
}

export async function rollout(ctx: DockerContext, req: RolloutRequest): Promise<RolloutResult> {
  if (req.kind === "static_site") return rolloutStaticSite(ctx, req, recordOf(req));
  const redact = createRedactor(req.secrets).redact;
  ctx.secretsByComponent.set(componentKey(req.appId, req.component), req.secrets);
  const record = recordOf(req);
  const old = await liveInstances(ctx, req.appId, req.component);
  // Leftovers of an earlier attempt at this same deployment would collide by name.
  for (const info of await listInstances(ctx, req.appId, req.component)) {
    if (isPending(info)) await removeContainer(ctx.docker.getContainer(info.Id));
  }
  const net = ctx.network === "isolated" ? await ctx.networks.ensure(req.appId) : undefined;

  req.log(`starting ${req.instanceCount} new instance(s) of ${req.image}`);
  const started = await startHealthy(ctx, req, record, net, redact);
  await switchTraffic(ctx, req, record, started, old);
  if (old.length) {
    req.log(`draining ${old.length} old instance(s) for ${req.termination.drainSeconds} s, then stopping them`);
    await retire(ctx, req.appName, req.component, old, req.termination, req.kind === "service");
  }
  return { instances: started.map((s) => s.instance.id) };
}

/** Starts every new instance and waits until all are healthy; on any failure removes every one and throws. */
async function startHealthy(
  ctx: DockerContext,
  req: RolloutRequest,
  record: RolloutRecord,
  net: string | undefined,
  redact: Redact,
): Promise<StartedInstance[]> {
  const isService = req.kind === "service";
  // The first instance to fail stops the others' waits; every container created is removed on failure.
  const abort = new AbortController();
  const attempt = { ...req, signal: AbortSignal.any([req.signal, abort.signal]) };
  const created: Dockerode.Container[] = [];
  const started: StartedInstance[] = [];
  let failure: RuntimeError | undefined;
  const fail = (err: unknown) => {
    if (failure) return;
    failure = req.signal.aborted
      ? new RuntimeError(`${req.component}: rollout canceled`, { component: req.component })
      : err instanceof RuntimeError
        ? err
        : new RuntimeError(`${req.component}: could not start instances: ${redact((err as Error).message)}`, {
            component: req.component,
          });
    abort.abort();
  };
  await Promise.all(
    Array.from({ length: req.instanceCount }, async (_, i) => {
      try {
        const s = await startInstance(ctx, attempt, record, i, net, created);
        started.push(s);
        if (attempt.signal.aborted) return fail(new Error("canceled"));
        const problem = await awaitInstance(ctx, attempt, s);
        if (problem) {
          if (failure) return;
          throw await unhealthy(req, i, s, problem, redact);
        }
        req.log(`instance ${i + 1} is healthy`);
        if (isService && !failure) ctx.router.addBackend(req.appName, req.component, { id: s.instance.id, url: s.instance.url });
      } catch (err) {
        fail(err);
      }
    }),
  );
  for (const s of started) s.stopWatching();

  if (failure) {
    req.log(failure.message);
    await Promise.all(
      created.map(async (container) => {
        if (isService) await ctx.router.removeBackend(req.appName, req.component, container.id, 0);
        await removeContainer(container);
      }),
    );
    throw failure;
  }
  return started;
}

async function unhealthy(req: RolloutRequest, index: number, s: StartedInstance, problem: InstanceProblem, redact: Redact): Promise<RuntimeError> {
  const tail = (await logTail(s.container)).map(redact);
  const probe = problem.probe?.detail;
  const evidence = [problem.reason, probe && `last probe: ${probe}`, problem.exitCode !== undefined && `exit code ${problem.exitCode}`]
    .filter(Boolean)
    .join("; ");
  return new RuntimeError(
    `${req.component}: instance ${index + 1} of ${req.instanceCount} did not become healthy: ${redact(evidence)}`,
    { component: req.component, exitCode: problem.exitCode, logTail: tail, probe },
  );
}

/** The new instances take their live names, and the component's routes and private address point at them. */
async function switchTraffic(
  ctx: DockerContext,
  req: RolloutRequest,
  record: RolloutRecord,
  started: StartedInstance[],
  old: Instance[],
): Promise<void> {
  for (const s of started) {
    const live = s.instance.name.slice(0, -PENDING_SUFFIX.length);
    // The same deployment rolled out again (a retry): its predecessor holds the name until it is retired.
    for (const o of old.filter((o) => o.name === live)) {
      await ctx.docker.getContainer(o.id).rename({ name: `${live}.retiring` });
      o.name = `${live}.retiring`;
    }
    await s.container.rename({ name: live });
    s.instance.name = live;
  }
  if (req.kind !== "service") return;
  // Routes change with the traffic switch: until then the old instances serve under the routes they had.
  ctx.routing.set(req.appId, req.appName, req.domains, req.component, record);
  await ctx.router.sync?.();
  if (ctx.network === "host") {
    ctx.privatePorts.setTargets(req.appId, req.component, started.map((s) => s.instance.hostPort));
  }
}
