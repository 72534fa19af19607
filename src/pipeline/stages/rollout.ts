// Roll out one service, worker or static site: start new, wait until healthy, switch traffic, stop old.
import { deployError, describeCause } from "../../core/errors.js";
import { need, ranOutOfTime, type DeployContext, type RunDeps, type Stage } from "../deploy-context.js";
import { componentsOf, rolloutRequestFor, type Component } from "../map-spec.js";

export type Deployable = Exclude<Component, { kind: "job" }>;

/** One rollout per service, static site and worker, in spec order, one after another. */
export function rolloutStages(deps: RunDeps, ctx: DeployContext): Stage[] {
  return componentsOf(need(ctx.spec, "the spec"))
    .filter((c): c is Deployable => c.kind !== "job")
    .map((c) => rolloutStage(deps, c));
}

function rolloutStage(deps: RunDeps, component: Deployable): Stage<{ instances: string[] }> {
  const step = `deploy:${component.name}`;
  return {
    name: step,
    component: component.name,
    // Not safe to repeat blindly: it may have switched traffic already; recovery reverts it instead.
    resumable: false,
    async run(ctx, signal) {
      const spec = need(ctx.spec, "the spec");
      const image = ctx.images[component.name];
      if (!image) throw deployError("ROLLOUT_FAILED", { component: component.name, step });
      const request = rolloutRequestFor(spec, component, {
        appId: ctx.deployment.appId,
        appName: need(ctx.appName, "the app name"),
        deploymentId: ctx.deployment.id,
        image,
        bind: need(ctx.bind, "the bindables"),
        secrets: ctx.deployment.secrets,
      });
      // Recorded before the call: a half-finished rollout is still one to revert.
      ctx.rolledOut.push(component.name);
      try {
        const { instances } = await deps.runtime.rollout({ ...request, log: ctx.logs.sink(step), signal });
        return { instances };
      } catch (err) {
        if (signal.aborted) throw err;
        throw deployError("ROLLOUT_FAILED", { component: component.name, step, cause: describeCause(err), timedOut: ranOutOfTime(err) });
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
