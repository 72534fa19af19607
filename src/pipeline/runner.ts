// The stage runner: moves a deployment forward through its phases, runs its stages and records each step, and
// is the one place a failure becomes a recorded outcome. Every transition and step is written to the store
// before it is announced; a stage that completed before a crash is restored rather than run again.
import { DeployError, StopRequest, deployError, describeCause } from "../core/errors.js";
import { IllegalTransitionError, PHASES, canTransition, isBefore, isFinal } from "../core/phases.js";
import type { DeploymentError, DeploymentRecord, Phase, StepRecord } from "../core/types.js";
import type { DeployContext, RunDeps, Stage, StageGroup } from "./deploy-context.js";
import { recover } from "./recovery.js";

export interface RunOutcome {
  phase: Phase;
  message?: string;
}

type StepWrite = StepRecord & { position: number; result?: unknown };

function stopOf(signal: AbortSignal): StopRequest | undefined {
  const reason: unknown = signal.reason;
  return reason instanceof StopRequest ? reason : signal.aborted ? new StopRequest("CANCELED", describeCause(reason)) : undefined;
}

/** The furthest phase toward `target` the table allows in one move (PENDING_BUILD → PENDING_DEPLOY skips the build). */
function stepToward(from: Phase, target: Phase): Phase {
  const next = [...PHASES].reverse().find((p) => !isBefore(target, p) && canTransition(from, p));
  if (!next) throw new Error(`internal: no way from ${from} to ${target}`);
  return next;
}

export class StageRunner {
  private phase: Phase;
  private position = 0;
  private readonly stored: Map<string, StepRecord>;

  constructor(
    private readonly deps: RunDeps,
    private readonly ctx: DeployContext,
    private readonly signal: AbortSignal,
  ) {
    this.phase = ctx.deployment.phase;
    this.stored = new Map(ctx.deployment.steps.map((s) => [s.name, s]));
  }

  get current(): Phase {
    return this.phase;
  }

  async runGroup(group: StageGroup): Promise<void> {
    const stages = group.stages(this.ctx);
    if (stages.length === 0) return;
    await this.advanceTo(group.phase);
    if (!group.parallel) {
      for (const stage of stages) await this.runStage(stage);
      return;
    }
    const results = await Promise.allSettled(stages.map((s) => this.runStage(s)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** Forward only: a resumed deployment already past `target` stays where it is. */
  async advanceTo(target: Phase): Promise<void> {
    while (isBefore(this.phase, target)) await this.moveTo(stepToward(this.phase, target));
  }

  /** The store made the deployment ACTIVE (and the one it replaced SUPERSEDED); announce both. */
  activated(deployment: DeploymentRecord, replaced?: DeploymentRecord): RunOutcome {
    const was = this.phase;
    this.phase = "ACTIVE";
    this.announce(deployment, was);
    if (replaced) this.deps.emit({ type: "deployment.phase", deployment: replaced, phase: "SUPERSEDED", was: "ACTIVE" });
    return { phase: this.phase };
  }

  private async moveTo(to: Phase, fields: { message?: string; url?: string } = {}): Promise<void> {
    const was = this.phase;
    const deployment = await this.deps.store.deployments.transition(this.ctx.deployment.id, to, fields);
    this.phase = to;
    this.announce(deployment, was);
  }

  private announce(deployment: DeploymentRecord, was: Phase | null): void {
    this.ctx.deployment = deployment;
    this.ctx.log.info({ phase: deployment.phase, was }, "deployment phase");
    this.deps.emit({ type: "deployment.phase", deployment, phase: deployment.phase, was });
  }

  private async runStage(stage: Stage): Promise<void> {
    const { ctx, signal } = this;
    const at = this.position++;
    const before = this.stored.get(stage.name);
    if (before?.status === "SUCCESS" && stage.restore(ctx, ctx.internals.stepResults.get(stage.name))) return;
    if (before?.status === "RUNNING" && !stage.resumable) {
      stage.interrupted?.(ctx);
      await this.recordStep({ ...before, status: "ERROR", endedAt: new Date(), message: "interrupted", position: at });
      throw deployError("INTERRUPTED", { step: stage.name, component: stage.component });
    }
    if (signal.aborted) throw signal.reason;
    const step = { name: stage.name, component: stage.component, startedAt: new Date(), position: at };
    await this.recordStep({ ...step, status: "RUNNING" });
    try {
      const result = await stage.run(ctx, signal);
      await ctx.logs.flush([stage.name]);
      await this.recordStep({ ...step, status: "SUCCESS", endedAt: new Date(), result, message: stage.note?.(result) });
    } catch (err) {
      await ctx.logs.flush([stage.name]).catch(() => undefined);
      const stop = stopOf(signal);
      if (stop && !stop.write) throw err;
      const message = stop ? stop.message : describeCause(err);
      await this.recordStep({ ...step, status: stop ? "CANCELED" : "ERROR", endedAt: new Date(), message });
      throw err;
    }
  }

  /** Recovery work: it runs although the deployment was told to stop, and a failure is recorded, not thrown. */
  async runCleanup(stage: Stage): Promise<void> {
    const step = { name: stage.name, component: stage.component, startedAt: new Date(), position: this.position++ };
    try {
      await this.recordStep({ ...step, status: "RUNNING" });
      const result = await stage.run(this.ctx, new AbortController().signal);
      await this.recordStep({ ...step, status: "SUCCESS", endedAt: new Date(), result });
    } catch (err) {
      this.ctx.log.error({ err, step: stage.name, component: stage.component }, "recovery step failed");
      await this.recordStep({ ...step, status: "ERROR", endedAt: new Date(), message: describeCause(err) }).catch(() => undefined);
    }
  }

  private async recordStep(step: StepWrite): Promise<void> {
    const clean = { ...step, message: step.message === undefined ? undefined : this.ctx.redactor.redact(step.message) };
    await this.deps.store.steps.put(this.ctx.deployment.id, clean);
    const { position: _p, result: _r, ...record } = clean;
    this.deps.emit({ type: "deployment.step", deployment: this.ctx.deployment, step: record });
  }

  /** The one error funnel: whatever went wrong, the deployment ends in a final phase with its reason stored. */
  async fail(err: unknown): Promise<RunOutcome> {
    const { store } = this.deps;
    const { log } = this.ctx;
    const id = this.ctx.deployment.id;
    if (err instanceof IllegalTransitionError) {
      // Someone else ended it first (superseded or canceled before it started): their outcome stands.
      const now = await store.deployments.get(id);
      if (now && isFinal(now.phase)) {
        log.info({ phase: now.phase }, "deployment ended elsewhere before it could move on");
        return { phase: now.phase, message: now.message };
      }
    }
    const stop = err instanceof StopRequest ? err : stopOf(this.signal);
    if (stop && !stop.write) {
      log.warn({ reason: stop.message }, "stopped without writing: another worker owns this deployment now");
      return { phase: this.phase };
    }
    if (isFinal(this.phase)) return { phase: this.phase };
    const { phase, message, error } = this.outcomeOf(err, stop);
    // Stored first, so a crash during clean-up still leaves the reason behind.
    await store.deployments.update(id, { message, images: this.ctx.images, ...(error ? { error } : {}) });
    await recover(this, this.deps, this.ctx, phase);
    await this.ctx.logs.flush(true).catch((flushErr: unknown) => log.warn({ err: flushErr }, "could not store the last log lines"));
    await this.moveTo(phase, { message });
    return { phase, message };
  }

  /** Where a failure ends the deployment, why (redacted), and for ERROR the catalog's code and details. */
  private outcomeOf(err: unknown, stop: StopRequest | undefined): { phase: Phase; message: string; error?: DeploymentError } {
    let failure: DeployError | undefined;
    if (stop) {
      if (stop.phase !== "ERROR") return { phase: stop.phase, message: this.ctx.redactor.redact(stop.message) };
      failure = stop.error ?? deployError("INTERRUPTED", {});
    } else if (err instanceof DeployError) {
      failure = err;
    } else {
      this.ctx.log.error({ err }, "deployment failed unexpectedly");
      failure = deployError("INTERNAL", { cause: describeCause(err) });
    }
    const redact = (text: string) => this.ctx.redactor.redact(text);
    const { markdown, ...where } = failure.details;
    const error: DeploymentError = { code: failure.code, ...where, ...(markdown !== undefined ? { markdown: redact(markdown) } : {}) };
    return { phase: "ERROR", message: redact(stop ? stop.message : failure.message), error };
  }
}
