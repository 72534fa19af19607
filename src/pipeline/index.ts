// The pipeline: takes intents (durably, before the webhook is answered), runs deployments one at a time per
// app and up to `concurrency` across apps, and announces every change as a typed event. Work is claimed from
// the store with a per-app lease (FOR UPDATE SKIP LOCKED plus a heartbeat), so several Berth processes can
// share one PostgreSQL queue, and a deployment whose worker died is taken over once its lease expires.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import PQueue from "p-queue";
import type pino from "pino";
import type { Runtime } from "../runtime/runtime.js";
import type { AppRecord, Claim, EnqueueResult, LogChunk, Store } from "../core/store.js";
import { IntentError, StopRequest, describeCause } from "../core/errors.js";
import { runDeployment, type BindContextHook, type RunDeps } from "./run-deployment.js";
import type { SourceProvider } from "../core/ports.js";
import type { AppKey, DeploymentRecord, Intent, Phase, PipelineEvent } from "../core/types.js";

export { DeployError, IntentError, StopRequest } from "../core/errors.js";
export { IllegalTransitionError, TRANSITIONS, canTransition, isFinal } from "../core/phases.js";
export { createRedactor, REDACTED } from "../core/redact.js";
export type { BindContextHook } from "./run-deployment.js";
export type * from "../core/types.js";
export { PHASES } from "../core/phases.js";

export interface PipelineOptions {
  store: Store;
  runtime: Runtime;
  source: SourceProvider;
  log: pino.Logger;
  /** Deployments running at once across apps (BERTH_CONCURRENCY, default 2). */
  concurrency?: number;
  /** A push also cancels the running build of an older commit for the same app (BERTH_CANCEL_IN_PROGRESS). */
  cancelInProgress?: boolean;
  /** Scratch space for fetched sources (`<BERTH_DATA_DIR>/work`). */
  workDir: string;
  /** Unique per process; names the lease owner. */
  workerId?: string;
  /** How long a lease lasts without a heartbeat (default 30 s; heartbeats every third of it). */
  leaseMs?: number;
  /** How often to look for work other processes queued or leases that expired (default 1 s). */
  pollMs?: number;
  /** How often buffered step logs are written (default 250 ms). */
  logFlushMs?: number;
  bindContext?: BindContextHook;
}

export interface SubmitResult {
  accepted: boolean;
  deploymentId?: string;
}

export interface ManagedApp {
  id: string;
  app: AppKey;
  branch: string;
  /** Sha of the ACTIVE deployment, if any. */
  lastDeployedSha?: string;
  activeDeploymentId?: string;
}

export interface Pipeline {
  readonly workerId: string;
  start(): Promise<void>;
  /** Stop taking work; wait up to graceMs for running deployments, then stop them (ERROR "interrupted"). */
  stop(graceMs: number): Promise<void>;
  submit(intent: Intent, opts?: { deliveryId?: string }): Promise<SubmitResult>;
  on(listener: (event: PipelineEvent) => void): () => void;
  getDeployment(id: string): Promise<DeploymentRecord | undefined>;
  listDeployments(app: AppKey, opts?: { limit?: number; phases?: Phase[] }): Promise<DeploymentRecord[]>;
  apps(): Promise<ManagedApp[]>;
  readLogs(deploymentId: string, step?: string): Promise<LogChunk[]>;
  /** Stored chunks, then new ones as they are written, until the deployment is final. */
  followLogs(deploymentId: string, opts?: { step?: string; signal?: AbortSignal; pollMs?: number }): AsyncGenerator<LogChunk>;
  /** Look for work now rather than at the next poll. */
  poke(): void;
}

interface Running {
  appId: string;
  deploymentId?: string;
  controller: AbortController;
  done: Promise<void>;
}

export function createPipeline(opts: PipelineOptions): Pipeline {
  const { store, runtime, source } = opts;
  const concurrency = opts.concurrency ?? 2;
  const leaseMs = opts.leaseMs ?? 30_000;
  const pollMs = opts.pollMs ?? 1_000;
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const log = opts.log.child({ workerId });
  const listeners = new Set<(event: PipelineEvent) => void>();
  const running = new Map<string, Running>();
  const queue = new PQueue({ concurrency });
  let accepting = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let pumping = false;
  let pumpAgain = false;

  function emit(event: PipelineEvent) {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        // A reporter's bug must never hold up or fail a deployment.
        log.error({ err, event: event.type }, "pipeline listener threw");
      }
    }
  }

  const deps: RunDeps = {
    store,
    runtime,
    source,
    log,
    workDir: opts.workDir,
    emit,
    bindContext: opts.bindContext,
    logFlushMs: opts.logFlushMs ?? 250,
  };

  async function pump(): Promise<void> {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        while (accepting && running.size < concurrency) {
          const claim = await store.queue.claim(workerId, leaseMs, [...running.keys()]);
          if (!claim) break;
          launch(claim);
        }
      } while (pumpAgain && accepting);
    } catch (err) {
      log.error({ err }, "could not claim work from the store; retrying at the next poll");
    } finally {
      pumping = false;
    }
  }

  function poke() {
    void pump();
  }

  function launch(claim: Claim) {
    const controller = new AbortController();
    const entry: Running = { appId: claim.appId, deploymentId: claim.deploymentId, controller, done: Promise.resolve() };
    running.set(claim.appId, entry);
    const heartbeat = setInterval(() => void beat(entry), Math.max(10, Math.floor(leaseMs / 3)));
    entry.done = queue
      .add(async () => {
        if (claim.deploymentId) {
          await runDeployment(deps, claim.deploymentId, controller.signal);
        } else if (claim.teardown) {
          const app = await store.apps.get(claim.appId);
          await runtime.remove(claim.appId);
          await store.queue.finishTeardown(claim.appId);
          if (app) emit({ type: "app.removed", app: app.key, reason: app.removedReason ?? "removed" });
        }
      })
      .catch(async (err: unknown) => {
        log.error({ err, appId: claim.appId, deploymentId: claim.deploymentId }, "work on app failed");
        // Left non-final, the deployment would be claimed again at once and fail the same way, forever.
        if (claim.deploymentId && !controller.signal.aborted) {
          const failed = await store.deployments
            .transition(claim.deploymentId, "ERROR", { message: `internal error: ${describeCause(err)}` })
            .catch(() => undefined);
          if (failed) emit({ type: "deployment.phase", deployment: failed, phase: "ERROR", was: null });
        }
      })
      .finally(async () => {
        clearInterval(heartbeat);
        await store.queue.release(claim.appId, workerId).catch((err: unknown) => log.warn({ err }, "could not release lease"));
        running.delete(claim.appId);
        if (accepting) poke();
      });
  }

  async function beat(entry: Running) {
    try {
      if (!(await store.queue.heartbeat(entry.appId, workerId, leaseMs))) {
        entry.controller.abort(new StopRequest("ERROR", "this worker lost the app's lease", false));
        return;
      }
      if (entry.deploymentId && !entry.controller.signal.aborted) {
        const stop = await store.queue.stopRequest(entry.deploymentId);
        if (stop) entry.controller.abort(StopRequest.parse(stop));
      }
    } catch (err) {
      log.warn({ err, appId: entry.appId }, "heartbeat failed");
    }
  }

  /** The stop request reaches a deployment running in this process at once, not at its next heartbeat. */
  function stopLocally(deploymentIds: string[], stop: StopRequest) {
    for (const entry of running.values()) {
      if (entry.deploymentId && deploymentIds.includes(entry.deploymentId)) entry.controller.abort(stop);
    }
  }

  function announceEnqueued(result: EnqueueResult) {
    for (const d of result.superseded) emit({ type: "deployment.phase", deployment: d, phase: d.phase, was: "PENDING_BUILD" });
    if (result.deployment) emit({ type: "deployment.created", deployment: result.deployment });
  }

  async function findApp(app: AppKey): Promise<AppRecord> {
    const found = await store.apps.find(app);
    if (!found) throw new IntentError(`Berth does not manage ${app.repository} (${app.environment}) yet: deploy it first`);
    return found;
  }

  async function submit(intent: Intent, submitOpts: { deliveryId?: string } = {}): Promise<SubmitResult> {
    const deliveryId = submitOpts.deliveryId;
    switch (intent.kind) {
      case "deploy": {
        const result = await store.queue.enqueue({
          app: intent.app,
          branch: intent.branch,
          kind: "deploy",
          sha: intent.sha,
          cause: intent.cause,
          intent,
          deliveryId,
          supersedeQueued: true,
          cancelRunningBuild: opts.cancelInProgress === true,
        });
        return accepted(result, result.cancelRequested);
      }
      case "restart": {
        const app = await findApp(intent.app);
        const active = app.activeDeploymentId ? await store.deployments.internals(app.activeDeploymentId) : undefined;
        if (!active) throw new IntentError(`${intent.app.repository} (${intent.app.environment}) has no active deployment to restart`);
        const result = await store.queue.enqueue({
          app: intent.app,
          branch: app.branch,
          kind: "restart",
          sha: active.record.sha,
          cause: { type: "restart", components: intent.components, by: intent.by },
          intent,
          deliveryId,
          supersedeQueued: false,
          cancelRunningBuild: false,
          spec: active.spec,
          images: active.images,
        });
        return accepted(result, []);
      }
      case "rollback": {
        const app = await findApp(intent.app);
        const target = await store.deployments.internals(intent.toDeploymentId);
        if (!target || target.record.appId !== app.id) {
          throw new IntentError(`deployment ${intent.toDeploymentId} is not a deployment of ${intent.app.repository} (${intent.app.environment})`);
        }
        if (!["ACTIVE", "SUPERSEDED"].includes(target.record.phase) || target.spec === undefined || Object.keys(target.images).length === 0) {
          throw new IntentError(`deployment ${intent.toDeploymentId} never went live (${target.record.phase}), so there is nothing to roll back to`);
        }
        const result = await store.queue.enqueue({
          app: intent.app,
          branch: app.branch,
          kind: "rollback",
          sha: target.record.sha,
          cause: { type: "rollback", toDeploymentId: intent.toDeploymentId, by: intent.by },
          intent,
          deliveryId,
          supersedeQueued: true,
          cancelRunningBuild: false,
          spec: target.spec,
          images: target.images,
        });
        return accepted(result, []);
      }
      case "cancel": {
        if (deliveryId !== undefined && !(await store.recordDelivery(deliveryId))) return { accepted: false };
        const app = await findApp(intent.app);
        const targets = intent.deploymentId
          ? [intent.deploymentId]
          : (await store.deployments.list(app.id, { phases: ["PENDING_BUILD", "BUILDING", "PENDING_DEPLOY", "DEPLOYING"] })).map((d) => d.id);
        const message = `canceled: ${intent.reason}`;
        for (const id of targets) {
          const d = await store.deployments.get(id);
          if (!d || d.appId !== app.id) throw new IntentError(`deployment ${id} is not a deployment of ${intent.app.repository}`);
          if (d.phase === "PENDING_BUILD" && !running.has(app.id)) {
            try {
              const canceled = await store.deployments.transition(id, "CANCELED", { message });
              emit({ type: "deployment.phase", deployment: canceled, phase: "CANCELED", was: "PENDING_BUILD" });
              continue;
            } catch {
              // A worker started it meanwhile: ask that worker instead.
            }
          }
          await store.deployments.requestCancel(id, message);
        }
        stopLocally(targets, new StopRequest("CANCELED", message));
        return { accepted: true };
      }
      case "teardown": {
        const app = await store.apps.find(intent.app);
        if (!app) {
          if (deliveryId !== undefined) await store.recordDelivery(deliveryId);
          return { accepted: false };
        }
        const result = await store.queue.enqueueTeardown(app.id, intent.reason, deliveryId);
        if (!result.accepted) return { accepted: false };
        for (const d of result.canceled) emit({ type: "deployment.phase", deployment: d, phase: "CANCELED", was: "PENDING_BUILD" });
        const entry = running.get(app.id);
        if (entry?.deploymentId) stopLocally([entry.deploymentId], new StopRequest("CANCELED", `canceled: ${intent.reason}`));
        poke();
        return { accepted: true };
      }
    }
  }

  function accepted(result: EnqueueResult, cancelRequested: string[]): SubmitResult {
    if (!result.accepted) return { accepted: false };
    announceEnqueued(result);
    if (cancelRequested.length) {
      stopLocally(
        cancelRequested,
        new StopRequest("SUPERSEDED", `superseded by ${result.deployment!.sha.slice(0, 7)} (deployment ${result.deployment!.id}) while building`),
      );
    }
    poke();
    return { accepted: true, deploymentId: result.deployment?.id };
  }

  return {
    workerId,
    async start() {
      if (accepting) return;
      // SQLite is one process's database: a lease in it belongs to a Berth that is gone.
      if (store.kind === "sqlite") await store.queue.releaseAll();
      accepting = true;
      pollTimer = setInterval(poke, pollMs);
      poke();
      log.info({ concurrency, leaseMs }, "pipeline started");
    },

    async stop(graceMs) {
      accepting = false;
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = undefined;
      const all = () => Promise.all([...running.values()].map((r) => r.done));
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), graceMs)));
      const first = await Promise.race([all().then(() => "done" as const), expired]);
      if (first === "timeout") {
        const stop = new StopRequest("ERROR", "interrupted: Berth shut down before the deployment finished");
        log.warn({ running: [...running.values()].map((r) => r.deploymentId) }, "grace period over; stopping running deployments");
        for (const entry of running.values()) entry.controller.abort(stop);
        await all();
      }
      clearTimeout(timer);
      await queue.onIdle();
      log.info("pipeline stopped");
    },

    submit: async (intent, submitOpts) => {
      try {
        return await submit(intent, submitOpts);
      } catch (err) {
        if (!(err instanceof IntentError)) log.error({ err, intent: intent.kind }, `could not submit intent: ${describeCause(err)}`);
        throw err;
      }
    },

    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    getDeployment: (id) => store.deployments.get(id),

    async listDeployments(app, listOpts) {
      const found = await store.apps.find(app);
      return found ? store.deployments.list(found.id, listOpts) : [];
    },

    async apps() {
      return (await store.apps.list()).map((a) => ({
        id: a.id,
        app: a.key,
        branch: a.branch,
        lastDeployedSha: a.activeSha,
        activeDeploymentId: a.activeDeploymentId,
      }));
    },

    readLogs: (deploymentId, step) => store.logs.read(deploymentId, { step }),
    followLogs: (deploymentId, followOpts) => store.logs.follow(deploymentId, followOpts),
    poke,
  };
}
