// Run one job of the spec (PRE_DEPLOY, POST_DEPLOY, or FAILED_DEPLOY during recovery) to completion.
import { deployError, describeCause, type JobFailure } from "../../core/errors.js";
import { need, ranOutOfTime, type DeployContext, type RunDeps, type Stage } from "../deploy-context.js";
import { jobRequestFor, jobsOf, type JobKind } from "../map-spec.js";

/** The spec's jobs of one kind, in spec order; they run one after another. */
export function jobStages(deps: RunDeps, ctx: DeployContext, when: JobKind): Stage[] {
  return jobsOf(need(ctx.spec, "the spec"), when).map((j) => jobStage(deps, when, j.name));
}

function jobStage(deps: RunDeps, when: JobKind, job: string): Stage<{ exitCode: number }> {
  const name = `${when.toLowerCase()}:${job}`;
  const fail = (failure: JobFailure, timedOut = false) =>
    deployError("JOB_FAILED", { when, job, step: name, component: job, failure, timedOut });
  return {
    name,
    component: job,
    // Not safe to repeat: a migration may have run half-way.
    resumable: false,
    async run(ctx, signal) {
      const spec = need(ctx.spec, "the spec");
      const jobSpec = spec.jobs.find((j) => j.name === job)!;
      const image = ctx.images[job];
      if (!image) throw fail({ reason: "no-image" });
      const request = jobRequestFor(spec, jobSpec, {
        appId: ctx.deployment.appId,
        appName: need(ctx.appName, "the app name"),
        deploymentId: ctx.deployment.id,
        image,
        bind: need(ctx.bind, "the bindables"),
        secrets: ctx.deployment.secrets,
      });
      let result;
      try {
        result = await deps.runtime.runJob({ ...request, log: ctx.logs.sink(name), signal });
      } catch (err) {
        if (signal.aborted) throw err;
        throw fail({ reason: "threw", cause: describeCause(err) }, ranOutOfTime(err));
      }
      if (result.exitCode !== 0) {
        throw fail({ reason: "exit", exitCode: result.exitCode, tail: ctx.redactor.redact(result.logTail.slice(-5).join("\n")) });
      }
      return { exitCode: result.exitCode };
    },
    restore: () => true,
  };
}
