// After a failure, as stages: put the previous ACTIVE deployment's version back on every component this one
// rolled out (or remove the component when nothing served it before), keep only the names it answers to,
// then, for ERROR, run the spec's FAILED_DEPLOY jobs. Recovery never throws; each step's outcome is recorded.
import type { AppSpec } from "../app-spec/index.js";
import type { Phase } from "../core/types.js";
import type { DeployContext, RunDeps, Stage } from "./deploy-context.js";
import { appNameFor, componentsOf, rolloutRequestFor } from "./map-spec.js";
import { keepNamesOf } from "./names.js";
import { jobStages } from "./stages/job.js";
import type { Deployable } from "./stages/rollout.js";
import { openSpec } from "./secret-values.js";
import { bindablesFor } from "./stages/spec.js";

/** The runner's side of recovery: run a stage, record its outcome, swallow its failure. */
export interface CleanupRunner {
  runCleanup(stage: Stage): Promise<void>;
}

export async function recover(runner: CleanupRunner, deps: RunDeps, ctx: DeployContext, ending: Phase): Promise<void> {
  for (const name of ctx.rolledOut) await runner.runCleanup(revertStage(deps, name));
  await keepNamesOf(deps, ctx, ctx.previous?.spec as AppSpec | undefined);
  if (ending !== "ERROR") return;
  for (const stage of failedDeployJobs(deps, ctx)) await runner.runCleanup(stage);
}

function failedDeployJobs(deps: RunDeps, ctx: DeployContext): Stage[] {
  if (!ctx.spec || !ctx.appName || !ctx.bind) return [];
  return jobStages(deps, ctx, "FAILED_DEPLOY").filter((stage) => ctx.images[stage.component!]);
}

function revertStage(deps: RunDeps, name: string): Stage<void> {
  const step = `revert:${name}`;
  return {
    name: step,
    component: name,
    resumable: true,
    restore: () => false,
    async run(ctx, signal) {
      const before = ctx.previous;
      const stored = before?.spec as AppSpec | undefined;
      const old = stored && componentsOf(stored).find((c): c is Deployable => c.name === name && c.kind !== "job");
      const image = before?.images[name];
      const sink = ctx.logs.sink(step);
      if (!before || !stored || !old || !image) {
        sink(`removing ${name}: no earlier deployment serves it`);
        await deps.runtime.remove(ctx.deployment.appId, [name]);
        return;
      }
      const { app, appId, sha, id } = before.record;
      const appName = appNameFor(stored, app);
      // The restored code gets what it got then, and never more than the failed deployment was allowed.
      const untrusted = before.record.untrusted || ctx.deployment.untrusted;
      const secrets = untrusted || before.record.secrets === "none" || ctx.deployment.secrets === "none" ? "none" : "production";
      const spec = await openSpec(deps, app, secrets, stored);
      const bind = await bindablesFor(deps, { app, appId, appName, sha, spec, untrusted, secrets });
      const request = rolloutRequestFor(spec, old, { app, appId, appName, deploymentId: id, image, bind, secrets });
      sink(`restoring ${name} from deployment ${id}`);
      await deps.runtime.rollout({ ...request, log: sink, signal });
    },
  };
}
