// Who runs what, when: work is claimed from the store with a per-app lease (FOR UPDATE SKIP LOCKED plus a
// heartbeat), so several Berth processes can share one PostgreSQL queue and a deployment whose worker died is
// taken over once its lease expires. One deployment per app at a time, up to `concurrency` across apps.
import PQueue from "p-queue";
import type pino from "pino";
import type { Claim, Store } from "../core/store.js";
import { StopRequest, deployError, describeCause } from "../core/errors.js";
import type { PipelineEvent } from "../core/types.js";
import type { Runtime } from "../runtime/runtime.js";

export interface SchedulerOptions {
  store: Store;
  runtime: Runtime;
  log: pino.Logger;
  workerId: string;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  emit(event: PipelineEvent): void;
  /** Run (or resume) one deployment while this worker holds its app's lease. */
  run(deploymentId: string, signal: AbortSignal): Promise<unknown>;
}

interface Running {
  appId: string;
  deploymentId?: string;
  controller: AbortController;
  done: Promise<void>;
}

export class Scheduler {
  private readonly running = new Map<string, Running>();
  private readonly queue: PQueue;
  private accepting = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private pumpAgain = false;

  constructor(private readonly o: SchedulerOptions) {
    this.queue = new PQueue({ concurrency: o.concurrency });
  }

  async start(): Promise<void> {
    if (this.accepting) return;
    // The embedded store serves one process: a lease in it belongs to a Berth that is gone.
    if (this.o.store.kind === "sqlite") await this.o.store.queue.releaseAll();
    this.accepting = true;
    this.pollTimer = setInterval(() => this.poke(), this.o.pollMs);
    this.poke();
    this.o.log.info({ concurrency: this.o.concurrency, leaseMs: this.o.leaseMs }, "pipeline started");
  }

  /** Stop taking work; wait up to graceMs for running deployments, then stop them (ERROR "interrupted"). */
  async stop(graceMs: number): Promise<void> {
    this.accepting = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), graceMs)));
    const first = await Promise.race([all().then(() => "done" as const), expired]);
    if (first === "timeout") {
      const stop = StopRequest.failing(deployError("INTERRUPTED", {}));
      this.o.log.warn({ running: [...this.running.values()].map((r) => r.deploymentId) }, "grace period over; stopping running deployments");
      for (const entry of this.running.values()) entry.controller.abort(stop);
      await all();
    }
    clearTimeout(timer);
    await this.queue.onIdle();
    this.o.log.info("pipeline stopped");
  }

  /** Look for work now rather than at the next poll. */
  poke(): void {
    void this.pump();
  }

  isRunning(appId: string): boolean {
    return this.running.has(appId);
  }

  runningDeployment(appId: string): string | undefined {
    return this.running.get(appId)?.deploymentId;
  }

  /** The stop request reaches a deployment running in this process at once, not at its next heartbeat. */
  stopLocally(deploymentIds: string[], stop: StopRequest): void {
    for (const entry of this.running.values()) {
      if (entry.deploymentId && deploymentIds.includes(entry.deploymentId)) entry.controller.abort(stop);
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (this.accepting && this.running.size < this.o.concurrency) {
          const claim = await this.o.store.queue.claim(this.o.workerId, this.o.leaseMs, [...this.running.keys()]);
          if (!claim) break;
          this.launch(claim);
        }
      } while (this.pumpAgain && this.accepting);
    } catch (err) {
      this.o.log.error({ err }, "could not claim work from the store; retrying at the next poll");
    } finally {
      this.pumping = false;
    }
  }

  private launch(claim: Claim): void {
    const { store, workerId, leaseMs, log } = this.o;
    const controller = new AbortController();
    const entry: Running = { appId: claim.appId, deploymentId: claim.deploymentId, controller, done: Promise.resolve() };
    this.running.set(claim.appId, entry);
    const heartbeat = setInterval(() => void this.beat(entry), Math.max(10, Math.floor(leaseMs / 3)));
    entry.done = this.queue
      .add(() => this.work(claim, controller.signal))
      .catch((err: unknown) => this.failed(claim, controller.signal, err))
      .finally(async () => {
        clearInterval(heartbeat);
        await store.queue.release(claim.appId, workerId).catch((err: unknown) => log.warn({ err }, "could not release lease"));
        this.running.delete(claim.appId);
        if (this.accepting) this.poke();
      });
  }

  private async work(claim: Claim, signal: AbortSignal): Promise<void> {
    if (claim.deploymentId) {
      await this.o.run(claim.deploymentId, signal);
    } else if (claim.teardown) {
      const app = await this.o.store.apps.get(claim.appId);
      await this.o.runtime.remove(claim.appId);
      await this.o.store.queue.finishTeardown(claim.appId);
      if (app) this.o.emit({ type: "app.removed", app: app.key, reason: app.removedReason ?? "removed" });
    }
  }

  /** The run itself threw (its funnel could not record the outcome): end the deployment in ERROR here. */
  private async failed(claim: Claim, signal: AbortSignal, err: unknown): Promise<void> {
    const { store, log } = this.o;
    log.error({ err, appId: claim.appId, deploymentId: claim.deploymentId }, "work on app failed");
    // Left non-final, the deployment would be claimed again at once and fail the same way, forever.
    if (!claim.deploymentId || signal.aborted) return;
    const error = deployError("INTERNAL", { cause: describeCause(err) });
    const ended = await store.deployments.transition(claim.deploymentId, "ERROR", { message: error.message }).catch(() => undefined);
    if (!ended) return;
    // Only once the transition succeeded: a deployment that ended otherwise keeps its own reason.
    const recorded = { code: error.code, markdown: error.details.markdown };
    await store.deployments.update(claim.deploymentId, { error: recorded }).catch(() => undefined);
    this.o.emit({ type: "deployment.phase", deployment: { ...ended, error: recorded }, phase: "ERROR", was: null });
  }

  private async beat(entry: Running): Promise<void> {
    const { store, workerId, leaseMs, log } = this.o;
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
}
