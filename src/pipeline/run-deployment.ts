// One deployment, start to finish: a script of named stages run by one runner with one error funnel. Stages
// are data (name, phase, whether a restart may re-run them, run(ctx, signal), how to reuse a stored result),
// so a deployment interrupted by a crash resumes from its last completed step, or ends in ERROR where
// repeating the step is unsafe (a job, a rollout).
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type pino from "pino";
import type { AppSpec, BindContext } from "../app-spec/index.js";
import { parseAppSpec, resolveComponentEnv } from "../app-spec/index.js";
import type { Runtime } from "../runtime/runtime.js";
import type { DeploymentInternals, Store } from "../core/store.js";
import { DeployError, StopRequest, describeCause } from "../core/errors.js";
import {
  appNameFor,
  buildRequestFor,
  componentsOf,
  defaultBindContext,
  jobRequestFor,
  jobsOf,
  rolloutRequestFor,
  specSecrets,
  type Component,
  type JobKind,
} from "./map-spec.js";
import { IllegalTransitionError, NON_FINAL_PHASES, canTransition, isFinal } from "../core/phases.js";
import { createRedactor, type Redactor } from "../core/redact.js";
import { StepLogs } from "./step-logs.js";
import type { SourceProvider } from "../core/ports.js";
import type { AppKey, Cause, DeploymentRecord, Intent, Phase, PipelineEvent, StepRecord } from "../core/types.js";

/** Lets the composition root add what only it knows (databases the operator configured) to the bindables. */
export type BindContextHook = (input: {
  app: AppKey;
  appId: string;
  appName: string;
  sha: string;
  spec: AppSpec;
  base: BindContext;
}) => BindContext | Promise<BindContext>;

export interface RunDeps {
  store: Store;
  runtime: Runtime;
  source: SourceProvider;
  log: pino.Logger;
  workDir: string;
  emit(event: PipelineEvent): void;
  bindContext?: BindContextHook;
  logFlushMs: number;
}

export interface DeployContext {
  deployment: DeploymentRecord;
  internals: DeploymentInternals;
  sourceRoot?: string;
  spec?: AppSpec;
  appName?: string;
  bind?: BindContext;
  images: Record<string, string>;
  /** The app's ACTIVE deployment when this one started (what keeps serving if this one fails). */
  previous?: DeploymentInternals;
  redactor: Redactor;
  logs: StepLogs;
  /** Components this deployment has rolled out so far (reverted on failure). */
  rolledOut: string[];
}

export interface Stage<R = unknown> {
  name: string;
  component?: string;
  phase: Phase;
  /** Safe to run again after a crash interrupted it. */
  resumable: boolean;
  run(ctx: DeployContext, signal: AbortSignal): Promise<R>;
  /** Reuse the stored result of a completed run; false when it cannot be reused (run again). */
  restore(ctx: DeployContext, result: R): boolean;
  /** A crash stopped this stage midway (it is not resumable); note what it may have left behind. */
  interrupted?(ctx: DeployContext): void;
}

interface StageGroup {
  phase: Phase;
  parallel: boolean;
  stages(ctx: DeployContext): Stage[];
}

const need = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`internal: ${what} is not known yet`);
  return value;
};

// ---- stages ---------------------------------------------------------------------------------------------

function sourceStage(deps: RunDeps): Stage<{ sourceRoot: string }> {
  return {
    name: "source",
    phase: "BUILDING",
    resumable: true,
    async run(ctx, signal) {
      const dir = join(deps.workDir, ctx.deployment.id, "source");
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const sink = ctx.logs.sink("source");
      sink(`fetching ${ctx.deployment.app.repository} at ${ctx.deployment.sha}`);
      try {
        await deps.source.fetchSource(ctx.deployment.app, ctx.deployment.sha, dir, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DeployError("SOURCE_FAILED", `could not fetch ${ctx.deployment.app.repository} at ${ctx.deployment.sha.slice(0, 7)}: ${describeCause(err)}`, {
          step: "source",
        });
      }
      ctx.sourceRoot = dir;
      return { sourceRoot: dir };
    },
    restore(ctx, result) {
      if (!existsSync(result.sourceRoot)) return false;
      ctx.sourceRoot = result.sourceRoot;
      return true;
    },
  };
}

function specStage(deps: RunDeps): Stage<{ path: string }> {
  return {
    name: "spec",
    phase: "BUILDING",
    resumable: true,
    async run(ctx, signal) {
      const sink = ctx.logs.sink("spec");
      const { app, sha } = ctx.deployment;
      const fetched = await deps.source.readSpec(app, sha, signal);
      if (!fetched) {
        throw new DeployError("SPEC_MISSING", `${app.repository} has no app spec at ${sha.slice(0, 7)}: add .do/app.yaml`, { step: "spec" });
      }
      const { spec, problems } = parseAppSpec(fetched.text, { template: fetched.path.endsWith("deploy.template.yaml") });
      for (const p of problems) sink(`${fetched.path}:${p.line}:${p.column}: ${p.severity}: ${p.message}`);
      if (!spec) {
        const errors = problems.filter((p) => p.severity === "error");
        const first = errors[0];
        throw new DeployError(
          "SPEC_INVALID",
          `${fetched.path} is invalid: ${first ? `line ${first.line}: ${first.message}` : "unreadable"}` +
            (errors.length > 1 ? ` (and ${errors.length - 1} more problems)` : ""),
          {
            step: "spec",
            markdown: errors.map((p) => `- \`${fetched.path}:${p.line}:${p.column}\` ${p.message}`).join("\n"),
          },
        );
      }
      await deps.store.deployments.update(ctx.deployment.id, { spec });
      await deps.store.apps.setSpecName(ctx.deployment.appId, spec.name);
      await useSpec(deps, ctx, spec);
      return { path: fetched.path };
    },
    restore(ctx, _result) {
      return ctx.internals.spec !== undefined;
    },
  };
}

async function useSpec(deps: RunDeps, ctx: DeployContext, spec: AppSpec): Promise<void> {
  const { app, appId, sha } = ctx.deployment;
  ctx.spec = spec;
  ctx.appName = appNameFor(spec, app);
  const base = defaultBindContext(spec, deps.runtime, { appId, appName: ctx.appName, sha });
  ctx.bind = deps.bindContext ? await deps.bindContext({ app, appId, appName: ctx.appName, sha, spec, base }) : base;
  ctx.redactor.add(specSecrets(spec));
  for (const db of Object.values(ctx.bind.databases)) {
    ctx.redactor.add([db.password, db.databaseUrl, db.jdbcDatabaseUrl ?? "", db.redisUrl ?? ""]);
  }
  for (const component of componentsOf(spec)) {
    for (const scope of ["build", "run"] as const) ctx.redactor.add(resolveComponentEnv(spec, component.name, scope, ctx.bind).secrets);
  }
}

function normalizeDir(dir: string | undefined): string {
  return (dir ?? "").replace(/^\.?\/+/, "").replace(/^\.$/, "").replace(/\/+$/, "");
}

/** A component may reuse the previous image when the push changed nothing under its source_dir. */
function mustBuild(ctx: DeployContext, component: Component): boolean {
  const intent = ctx.internals.intent as Extract<Intent, { kind: "deploy" }>;
  if (intent.forceBuild || !intent.changedPaths || !ctx.previous?.images[component.name]) return true;
  const dir = normalizeDir(component.spec.source_dir);
  if (dir === "") return true;
  return intent.changedPaths.some((path) => normalizeDir(path) === dir || normalizeDir(path).startsWith(`${dir}/`));
}

function buildStage(deps: RunDeps, component: Component): Stage<{ image: string; reused?: string }> {
  const name = `build:${component.name}`;
  return {
    name,
    component: component.name,
    phase: "BUILDING",
    resumable: true,
    async run(ctx, signal) {
      const spec = need(ctx.spec, "the spec");
      const sink = ctx.logs.sink(name);
      if (!mustBuild(ctx, component)) {
        const image = ctx.previous!.images[component.name]!;
        sink(`no changes under ${component.spec.source_dir}; reusing ${image} from deployment ${ctx.previous!.record.id}`);
        ctx.images[component.name] = image;
        return { image, reused: ctx.previous!.record.id };
      }
      const intent = ctx.internals.intent as Extract<Intent, { kind: "deploy" }>;
      const request = buildRequestFor(spec, component, {
        appId: ctx.deployment.appId,
        deploymentId: ctx.deployment.id,
        sourceRoot: need(ctx.sourceRoot, "the source tree"),
        noCache: intent.forceBuild === true || ctx.deployment.cause.type === "force_rebuild",
        bind: need(ctx.bind, "the bindables"),
        untrusted: isFork(ctx.deployment.cause),
      });
      try {
        const { image } = await deps.runtime.build({ ...request, log: sink, signal });
        ctx.images[component.name] = image;
        return { image };
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DeployError("BUILD_FAILED", `build of ${component.name} failed: ${describeCause(err)}`, { step: name, component: component.name });
      }
    },
    restore(ctx, result) {
      ctx.images[component.name] = result.image;
      return true;
    },
  };
}

function jobStage(deps: RunDeps, when: JobKind, job: string): Stage<{ exitCode: number }> {
  const name = `${when.toLowerCase()}:${job}`;
  return {
    name,
    component: job,
    phase: "DEPLOYING",
    resumable: false,
    async run(ctx, signal) {
      const spec = need(ctx.spec, "the spec");
      const jobSpec = spec.jobs.find((j) => j.name === job)!;
      const image = ctx.images[job];
      if (!image) throw new DeployError("JOB_FAILED", `${when} job ${job} has no image`, { step: name, component: job });
      const request = jobRequestFor(spec, jobSpec, {
        appId: ctx.deployment.appId,
        appName: need(ctx.appName, "the app name"),
        deploymentId: ctx.deployment.id,
        image,
        bind: need(ctx.bind, "the bindables"),
        untrusted: isFork(ctx.deployment.cause),
      });
      let result;
      try {
        result = await deps.runtime.runJob({ ...request, log: ctx.logs.sink(name), signal });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DeployError("JOB_FAILED", `${when} job ${job} failed: ${describeCause(err)}`, { step: name, component: job });
      }
      if (result.exitCode !== 0) {
        const tail = result.logTail.slice(-5).join("\n");
        throw new DeployError("JOB_FAILED", `${when} job ${job} exited with code ${result.exitCode}`, {
          step: name,
          component: job,
          markdown: tail ? `Last lines:\n\n\`\`\`\n${ctx.redactor.redact(tail)}\n\`\`\`` : undefined,
        });
      }
      return { exitCode: result.exitCode };
    },
    restore: () => true,
  };
}

function rolloutStage(deps: RunDeps, component: Exclude<Component, { kind: "job" }>, step = `deploy:${component.name}`): Stage<{ instances: string[] }> {
  return {
    name: step,
    component: component.name,
    phase: "DEPLOYING",
    resumable: false,
    async run(ctx, signal) {
      const spec = need(ctx.spec, "the spec");
      const image = ctx.images[component.name];
      if (!image) throw new DeployError("ROLLOUT_FAILED", `${component.name} has no image to deploy`, { step, component: component.name });
      const request = rolloutRequestFor(spec, component, {
        appId: ctx.deployment.appId,
        appName: need(ctx.appName, "the app name"),
        deploymentId: ctx.deployment.id,
        image,
        bind: need(ctx.bind, "the bindables"),
        untrusted: isFork(ctx.deployment.cause),
      });
      // Recorded before the call: a half-finished rollout is still one to revert.
      ctx.rolledOut.push(component.name);
      try {
        const { instances } = await deps.runtime.rollout({ ...request, log: ctx.logs.sink(step), signal });
        return { instances };
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DeployError("ROLLOUT_FAILED", `deploying ${component.name} failed: ${describeCause(err)}`, { step, component: component.name });
      }
    },
    restore(ctx) {
      ctx.rolledOut.push(component.name);
      return true;
    },
    interrupted(ctx) {
      ctx.rolledOut.push(component.name);
    },
  };
}

function restartStage(deps: RunDeps): Stage<{ restarted: string[] }> {
  return {
    name: "restart",
    phase: "DEPLOYING",
    resumable: true,
    async run(ctx, signal) {
      const intent = ctx.internals.intent as Extract<Intent, { kind: "restart" }>;
      const spec = need(ctx.spec, "the spec");
      const names = componentsOf(spec).filter((c) => c.kind === "service" || c.kind === "worker").map((c) => c.name);
      const wanted = intent.components?.length ? intent.components : names;
      try {
        await deps.runtime.restart({
          appId: ctx.deployment.appId,
          deploymentId: ctx.deployment.id,
          components: intent.components,
          log: ctx.logs.sink("restart"),
          signal,
        });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DeployError("RESTART_FAILED", `restarting ${wanted.join(", ")} failed: ${describeCause(err)}`, { step: "restart" });
      }
      return { restarted: wanted };
    },
    restore: () => true,
  };
}

const rollouts = (deps: RunDeps, ctx: DeployContext) =>
  componentsOf(need(ctx.spec, "the spec"))
    .filter((c): c is Exclude<Component, { kind: "job" }> => c.kind !== "job")
    .map((c) => rolloutStage(deps, c));

const jobs = (deps: RunDeps, ctx: DeployContext, when: JobKind) =>
  jobsOf(need(ctx.spec, "the spec"), when).map((j) => jobStage(deps, when, j.name));

/** The deploy script, top to bottom: source, spec, builds (in parallel), pre-deploy jobs, rollout, post-deploy jobs. */
function deployPlan(deps: RunDeps): StageGroup[] {
  return [
    { phase: "BUILDING", parallel: false, stages: () => [sourceStage(deps)] },
    { phase: "BUILDING", parallel: false, stages: () => [specStage(deps)] },
    { phase: "BUILDING", parallel: true, stages: (ctx) => componentsOf(need(ctx.spec, "the spec")).map((c) => buildStage(deps, c)) },
    { phase: "DEPLOYING", parallel: false, stages: (ctx) => jobs(deps, ctx, "PRE_DEPLOY") },
    { phase: "DEPLOYING", parallel: false, stages: (ctx) => rollouts(deps, ctx) },
    { phase: "DEPLOYING", parallel: false, stages: (ctx) => jobs(deps, ctx, "POST_DEPLOY") },
  ];
}

/** Rollback: the named deployment's spec and images, rolled out again; nothing is built or run. */
function rollbackPlan(deps: RunDeps): StageGroup[] {
  return [{ phase: "DEPLOYING", parallel: false, stages: (ctx) => rollouts(deps, ctx) }];
}

function restartPlan(deps: RunDeps): StageGroup[] {
  return [{ phase: "DEPLOYING", parallel: false, stages: () => [restartStage(deps)] }];
}

// ---- runner ---------------------------------------------------------------------------------------------

const PHASE_ORDER = NON_FINAL_PHASES;

function stopOf(signal: AbortSignal): StopRequest | undefined {
  const reason: unknown = signal.reason;
  return reason instanceof StopRequest ? reason : signal.aborted ? new StopRequest("CANCELED", describeCause(reason)) : undefined;
}

export interface RunOutcome {
  phase: Phase;
  message?: string;
}

/**
 * Runs (or resumes) one deployment while the caller holds its app's lease. Every transition and step is
 * written to the store before it is announced. Returns the phase it ended in.
 */
export async function runDeployment(deps: RunDeps, deploymentId: string, signal: AbortSignal): Promise<RunOutcome> {
  const internals = await deps.store.deployments.internals(deploymentId);
  if (!internals) throw new Error(`deployment ${deploymentId} does not exist`);
  const log = deps.log.child({ deploymentId, repository: internals.record.app.repository, sha: internals.record.sha });
  const app = await deps.store.apps.get(internals.record.appId);
  const previous = app?.activeDeploymentId ? await deps.store.deployments.internals(app.activeDeploymentId) : undefined;
  const redactor = createRedactor(deps.source.secrets());
  const ctx: DeployContext = {
    deployment: internals.record,
    internals,
    images: { ...internals.images },
    previous: previous?.record.id === deploymentId ? undefined : previous,
    redactor,
    logs: new StepLogs(deps.store, deploymentId, redactor, deps.emit, deps.logFlushMs),
    rolledOut: [],
  };
  let phase = internals.record.phase;
  let position = 0;

  const announce = (deployment: DeploymentRecord, was: Phase | null) => {
    ctx.deployment = deployment;
    log.info({ phase: deployment.phase, was }, "deployment phase");
    deps.emit({ type: "deployment.phase", deployment, phase: deployment.phase, was });
  };

  const moveTo = async (to: Phase, fields: { message?: string; url?: string } = {}) => {
    const was = phase;
    const deployment = await deps.store.deployments.transition(deploymentId, to, fields);
    phase = to;
    announce(deployment, was);
  };

  /** Forward only: a resumed deployment already past `target` stays where it is. */
  const advanceTo = async (target: Phase) => {
    while (PHASE_ORDER.indexOf(phase) < PHASE_ORDER.indexOf(target)) {
      const next: Phase = canTransition(phase, target)
        ? target
        : phase === "PENDING_BUILD" && PHASE_ORDER.indexOf(target) > PHASE_ORDER.indexOf("BUILDING")
          ? "PENDING_DEPLOY"
          : PHASE_ORDER[PHASE_ORDER.indexOf(phase) + 1]!;
      await moveTo(next);
    }
  };

  const recordStep = async (step: StepRecord & { position: number; result?: unknown }) => {
    const clean = { ...step, message: step.message === undefined ? undefined : redactor.redact(step.message) };
    await deps.store.steps.put(deploymentId, clean);
    const { position: _p, result: _r, ...record } = clean;
    deps.emit({ type: "deployment.step", deployment: ctx.deployment, step: record });
  };

  const stored = new Map(internals.record.steps.map((s) => [s.name, s]));

  const runStage = async (stage: Stage) => {
    const at = position++;
    const before = stored.get(stage.name);
    if (before?.status === "SUCCESS" && stage.restore(ctx, internals.stepResults.get(stage.name))) return;
    if (before?.status === "RUNNING" && !stage.resumable) {
      stage.interrupted?.(ctx);
      await recordStep({ ...before, status: "ERROR", endedAt: new Date(), message: "interrupted", position: at });
      throw new DeployError("INTERRUPTED", `interrupted: Berth stopped during ${stage.name}, which is not safe to repeat`, {
        step: stage.name,
        component: stage.component,
      });
    }
    if (signal.aborted) throw signal.reason;
    const startedAt = new Date();
    await recordStep({ name: stage.name, component: stage.component, status: "RUNNING", startedAt, position: at });
    try {
      const result = await stage.run(ctx, signal);
      await ctx.logs.flush([stage.name]);
      await recordStep({ name: stage.name, component: stage.component, status: "SUCCESS", startedAt, endedAt: new Date(), position: at, result });
    } catch (err) {
      await ctx.logs.flush([stage.name]).catch(() => undefined);
      const stop = stopOf(signal);
      if (!stop?.write && stop) throw err;
      await recordStep({
        name: stage.name,
        component: stage.component,
        status: stop ? "CANCELED" : "ERROR",
        startedAt,
        endedAt: new Date(),
        message: stop ? stop.message : describeCause(err),
        position: at,
      });
      throw err;
    }
  };

  const plan =
    internals.kind === "restart" ? restartPlan(deps) : internals.kind === "rollback" ? rollbackPlan(deps) : deployPlan(deps);

  try {
    if (isFinal(phase)) return { phase };
    if (internals.cancelRequested) throw StopRequest.parse(internals.cancelRequested);
    if (internals.spec !== undefined) await useSpec(deps, ctx, internals.spec as AppSpec);
    for (const group of plan) {
      const stages = group.stages(ctx);
      if (stages.length === 0) continue;
      await advanceTo(group.phase);
      if (group.parallel) {
        const results = await Promise.allSettled(stages.map((s) => runStage(s)));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
      } else {
        for (const stage of stages) await runStage(stage);
      }
    }
    await advanceTo("DEPLOYING");
    await deps.store.deployments.update(deploymentId, { images: ctx.images });
    await ctx.logs.flush(true);
    const url = ctx.appName ? deps.runtime.publicUrl(ctx.appName) : undefined;
    const { deployment, previous: replaced } = await deps.store.deployments.activate(deploymentId, { url });
    const was = phase;
    phase = "ACTIVE";
    announce(deployment, was);
    if (replaced) deps.emit({ type: "deployment.phase", deployment: replaced, phase: "SUPERSEDED", was: "ACTIVE" });
    return { phase };
  } catch (err) {
    return await funnel(err);
  } finally {
    await ctx.logs.flush(true).catch((err: unknown) => log.warn({ err }, "could not store the last log lines"));
    await rm(join(deps.workDir, deploymentId), { recursive: true, force: true }).catch(() => undefined);
  }

  /** The one place a failure becomes a recorded outcome. */
  async function funnel(err: unknown): Promise<RunOutcome> {
    if (err instanceof IllegalTransitionError) {
      // Someone else ended it first (superseded or canceled before it started): their outcome stands.
      const now = await deps.store.deployments.get(deploymentId);
      if (now && isFinal(now.phase)) {
        log.info({ phase: now.phase }, "deployment ended elsewhere before it could move on");
        return { phase: now.phase, message: now.message };
      }
    }
    const stop = err instanceof StopRequest ? err : stopOf(signal);
    if (stop && !stop.write) {
      log.warn({ reason: stop.message }, "stopped without writing: another worker owns this deployment now");
      return { phase };
    }
    if (isFinal(phase)) return { phase };
    let target: Phase;
    let message: string;
    if (stop) {
      target = stop.phase;
      message = stop.message;
    } else if (err instanceof DeployError) {
      target = "ERROR";
      message = err.message;
    } else {
      target = "ERROR";
      message = `internal error: ${describeCause(err)}`;
      log.error({ err }, "deployment failed unexpectedly");
    }
    message = redactor.redact(message);
    // Stored first, so a crash during clean-up still leaves the reason behind.
    await deps.store.deployments.update(deploymentId, { message, images: ctx.images });
    if (target === "ERROR") {
      await revertRollouts();
      await runFailedDeployJobs();
    } else if (ctx.rolledOut.length) {
      await revertRollouts();
    }
    await ctx.logs.flush(true).catch((flushErr: unknown) => log.warn({ err: flushErr }, "could not store the last log lines"));
    await moveTo(target, { message });
    return { phase: target, message };
  }

  /** Put the previous ACTIVE deployment's version back on every component this one touched. */
  async function revertRollouts() {
    if (ctx.rolledOut.length === 0) return;
    const before = ctx.previous;
    const beforeSpec = before?.spec as AppSpec | undefined;
    const cleanup = new AbortController();
    for (const name of ctx.rolledOut) {
      const step = `revert:${name}`;
      const old = beforeSpec && componentsOf(beforeSpec).find((c) => c.name === name && c.kind !== "job");
      const at = position++;
      const startedAt = new Date();
      try {
        if (before && beforeSpec && old && old.kind !== "job" && before.images[name]) {
          const appName = appNameFor(beforeSpec, before.record.app);
          const bind = defaultBindContext(beforeSpec, deps.runtime, { appId: before.record.appId, appName, sha: before.record.sha });
          const hooked = deps.bindContext
            ? await deps.bindContext({ app: before.record.app, appId: before.record.appId, appName, sha: before.record.sha, spec: beforeSpec, base: bind })
            : bind;
          const request = rolloutRequestFor(beforeSpec, old, {
            appId: before.record.appId,
            appName,
            deploymentId: before.record.id,
            image: before.images[name],
            bind: hooked,
          });
          ctx.logs.sink(step)(`restoring ${name} from deployment ${before.record.id}`);
          await deps.runtime.rollout({ ...request, log: ctx.logs.sink(step), signal: cleanup.signal });
        } else {
          ctx.logs.sink(step)(`removing ${name}: no earlier deployment serves it`);
          await deps.runtime.remove(ctx.deployment.appId, [name]);
        }
        await recordStep({ name: step, component: name, status: "SUCCESS", startedAt, endedAt: new Date(), position: at });
      } catch (revertErr) {
        log.error({ err: revertErr, component: name }, "could not restore the previous version");
        await recordStep({
          name: step,
          component: name,
          status: "ERROR",
          startedAt,
          endedAt: new Date(),
          message: describeCause(revertErr),
          position: at,
        }).catch(() => undefined);
      }
    }
  }

  async function runFailedDeployJobs() {
    if (!ctx.spec || !ctx.appName || !ctx.bind) return;
    const cleanup = new AbortController();
    for (const stage of jobs(deps, ctx, "FAILED_DEPLOY")) {
      if (!ctx.images[stage.component!]) continue;
      const at = position++;
      const startedAt = new Date();
      try {
        await recordStep({ name: stage.name, component: stage.component, status: "RUNNING", startedAt, position: at });
        const result = await stage.run(ctx, cleanup.signal);
        await recordStep({ name: stage.name, component: stage.component, status: "SUCCESS", startedAt, endedAt: new Date(), position: at, result });
      } catch (jobErr) {
        await recordStep({
          name: stage.name,
          component: stage.component,
          status: "ERROR",
          startedAt,
          endedAt: new Date(),
          message: describeCause(jobErr),
          position: at,
        }).catch(() => undefined);
      }
    }
  }
}

function isFork(cause: Cause): boolean {
  return cause.type === "pull_request" && cause.fork;
}
