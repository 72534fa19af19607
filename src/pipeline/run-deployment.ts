// One deployment, start to finish, as the script it performs: fetch the source, read the spec, build every
// component, run the pre-deploy jobs, roll out, run the post-deploy jobs, go ACTIVE. The stage runner records
// each step; a deployment interrupted by a crash resumes from its last completed step, or ends in ERROR where
// repeating the step is unsafe (a job, a rollout). Any failure goes through the runner's one funnel, and the
// scratch directory is removed whatever happened.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { AppSpec } from "../app-spec/index.js";
import { StopRequest } from "../core/errors.js";
import { isFinal } from "../core/phases.js";
import { createRedactor } from "../core/redact.js";
import type { DeploymentInternals } from "../core/store.js";
import type { DeploymentKind, Intent } from "../core/types.js";
import type { DeployContext, RunDeps, StageGroup } from "./deploy-context.js";
import { keepNamesOf } from "./names.js";
import { StageRunner, type RunOutcome } from "./runner.js";
import { buildStages } from "./stages/build.js";
import { jobStages } from "./stages/job.js";
import { restartStage } from "./stages/restart.js";
import { rolloutStages } from "./stages/rollout.js";
import { sourceStage } from "./stages/source.js";
import { specStage, useSpec } from "./stages/spec.js";
import { StepLogs } from "./step-logs.js";

/** The deploy script, top to bottom: source, spec, builds (in parallel), pre-deploy jobs, rollout, post-deploy jobs. */
function deployPlan(deps: RunDeps): StageGroup[] {
  return [
    { phase: "BUILDING", parallel: false, stages: () => [sourceStage(deps)] },
    { phase: "BUILDING", parallel: false, stages: () => [specStage(deps)] },
    { phase: "BUILDING", parallel: true, stages: (ctx) => buildStages(deps, ctx) },
    { phase: "DEPLOYING", parallel: false, stages: (ctx) => jobStages(deps, ctx, "PRE_DEPLOY") },
    { phase: "DEPLOYING", parallel: false, stages: (ctx) => rolloutStages(deps, ctx) },
    { phase: "DEPLOYING", parallel: false, stages: (ctx) => jobStages(deps, ctx, "POST_DEPLOY") },
  ];
}

/** Rollback: the named deployment's spec and images, rolled out again; nothing is built or run. */
function rollbackPlan(deps: RunDeps): StageGroup[] {
  return [{ phase: "DEPLOYING", parallel: false, stages: (ctx) => rolloutStages(deps, ctx) }];
}

/** Restart what runs as it is, or (refreshEnv: a secret changed) roll it out again with the env resolved now. */
function restartPlan(deps: RunDeps): StageGroup[] {
  const stages = (ctx: DeployContext) => {
    const intent = ctx.internals.intent as Extract<Intent, { kind: "restart" }>;
    if (!intent.refreshEnv) return [restartStage(deps)];
    const wanted = new Set(intent.components ?? []);
    return rolloutStages(deps, ctx).filter((s) => s.component !== undefined && (wanted.size === 0 || wanted.has(s.component)));
  };
  return [{ phase: "DEPLOYING", parallel: false, stages }];
}

const PLANS: Record<DeploymentKind, (deps: RunDeps) => StageGroup[]> = {
  deploy: deployPlan,
  rollback: rollbackPlan,
  restart: restartPlan,
};

/**
 * Runs (or resumes) one deployment while the caller holds its app's lease. Every transition and step is
 * written to the store before it is announced. Returns the phase it ended in.
 */
export async function runDeployment(deps: RunDeps, deploymentId: string, signal: AbortSignal): Promise<RunOutcome> {
  const internals = await deps.store.deployments.internals(deploymentId);
  if (!internals) throw new Error(`deployment ${deploymentId} does not exist`);
  const ctx = await contextFor(deps, internals);
  const runner = new StageRunner(deps, ctx, signal);
  try {
    if (isFinal(runner.current)) return { phase: runner.current };
    if (internals.cancelRequested) throw StopRequest.parse(internals.cancelRequested);
    if (internals.spec !== undefined) await useSpec(deps, ctx, internals.spec as AppSpec);
    for (const group of PLANS[internals.kind](deps)) await runner.runGroup(group);
    await runner.advanceTo("DEPLOYING");
    await deps.store.deployments.update(deploymentId, { images: ctx.images });
    await ctx.logs.flush(true);
    const url = ctx.appName ? deps.runtime.publicUrl(ctx.appName) : undefined;
    const { deployment, previous } = await deps.store.deployments.activate(deploymentId, { url });
    const outcome = runner.activated(deployment, previous);
    if (ctx.spec) await keepNamesOf(deps, ctx, ctx.spec);
    return outcome;
  } catch (err) {
    return await runner.fail(err);
  } finally {
    await ctx.logs.flush(true).catch((err: unknown) => ctx.log.warn({ err }, "could not store the last log lines"));
    await rm(join(deps.workDir, deploymentId), { recursive: true, force: true }).catch(() => undefined);
  }
}

async function contextFor(deps: RunDeps, internals: DeploymentInternals): Promise<DeployContext> {
  const { record } = internals;
  const app = await deps.store.apps.get(record.appId);
  const previous = app?.activeDeploymentId ? await deps.store.deployments.internals(app.activeDeploymentId) : undefined;
  const redactor = createRedactor(deps.source.secrets());
  return {
    deployment: record,
    internals,
    log: deps.log.child({ deploymentId: record.id, repository: record.app.repository, sha: record.sha }),
    images: { ...internals.images },
    previous: previous?.record.id === record.id ? undefined : previous,
    redactor,
    logs: new StepLogs(deps.store, record.id, redactor, deps.emit, deps.logFlushMs),
    rolledOut: [],
  };
}
