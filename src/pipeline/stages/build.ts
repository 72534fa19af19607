// Build one component's image, or reuse the previous one when the push changed nothing under its source_dir.
import { deployError, describeCause } from "../../core/errors.js";
import type { Intent } from "../../core/types.js";
import { need, ranOutOfTime, type DeployContext, type RunDeps, type Stage } from "../deploy-context.js";
import { buildRequestFor, componentsOf, type Component } from "../map-spec.js";

type DeployIntent = Extract<Intent, { kind: "deploy" }>;

/** One build per component of the spec; they run in parallel. */
export function buildStages(deps: RunDeps, ctx: DeployContext): Stage[] {
  return componentsOf(need(ctx.spec, "the spec")).map((c) => buildStage(deps, c));
}

function buildStage(deps: RunDeps, component: Component): Stage<{ image: string; reused?: string }> {
  const name = `build:${component.name}`;
  return {
    name,
    component: component.name,
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
      const intent = ctx.internals.intent as DeployIntent;
      const request = buildRequestFor(spec, component, {
        appId: ctx.deployment.appId,
        deploymentId: ctx.deployment.id,
        sourceRoot: need(ctx.sourceRoot, "the source tree"),
        noCache: intent.forceBuild === true || ctx.deployment.cause.type === "force_rebuild",
        bind: need(ctx.bind, "the bindables"),
        secrets: ctx.deployment.secrets,
      });
      try {
        const { image } = await deps.runtime.build({ ...request, log: sink, signal });
        ctx.images[component.name] = image;
        return { image };
      } catch (err) {
        if (signal.aborted) throw err;
        throw deployError("BUILD_FAILED", { component: component.name, step: name, cause: describeCause(err), timedOut: ranOutOfTime(err) });
      }
    },
    restore(ctx, result) {
      ctx.images[component.name] = result.image;
      return true;
    },
  };
}

function normalizeDir(dir: string | undefined): string {
  return (dir ?? "").replace(/^\.?\/+/, "").replace(/^\.$/, "").replace(/\/+$/, "");
}

/** A component may reuse the previous image when the push changed nothing under its source_dir. */
function mustBuild(ctx: DeployContext, component: Component): boolean {
  const intent = ctx.internals.intent as DeployIntent;
  if (intent.forceBuild || !intent.changedPaths || !ctx.previous?.images[component.name]) return true;
  const dir = normalizeDir(component.spec.source_dir);
  if (dir === "") return true;
  return intent.changedPaths.some((path) => normalizeDir(path) === dir || normalizeDir(path).startsWith(`${dir}/`));
}
