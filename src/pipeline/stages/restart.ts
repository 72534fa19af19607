// Restart what runs (all services and workers, or the named ones) with the images it already has.
import { deployError, describeCause } from "../../core/errors.js";
import type { Intent } from "../../core/types.js";
import { need, type RunDeps, type Stage } from "../deploy-context.js";
import { componentsOf } from "../map-spec.js";

export function restartStage(deps: RunDeps): Stage<{ restarted: string[] }> {
  return {
    name: "restart",
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
        throw deployError("RESTART_FAILED", { components: wanted, step: "restart", cause: describeCause(err) });
      }
      return { restarted: wanted };
    },
    restore: () => true,
  };
}
