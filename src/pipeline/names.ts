// An app's names (its router host label and custom domains) are claimed in the store before anything is
// built, so a second app asking for one fails and changes nothing of the owner's. A deployment lets go of
// names its spec no longer lists only once it is ACTIVE; one that fails keeps what the serving one needs.
import type { AppSpec } from "../app-spec/index.js";
import { deployError } from "../core/errors.js";
import type { DeployContext, RunDeps } from "./deploy-context.js";
import { appNamesFor } from "./map-spec.js";

/** Claim every name the spec gives the app, all or none; NAME_TAKEN names the app that holds one. */
export async function claimNames(deps: RunDeps, ctx: DeployContext, spec: AppSpec): Promise<void> {
  const { app, appId } = ctx.deployment;
  const taken = await deps.store.names.claim(appId, appNamesFor(spec, app));
  if (!taken) return;
  const step = ctx.internals.kind === "deploy" ? "spec" : undefined;
  throw deployError("NAME_TAKEN", { kind: taken.kind, value: taken.value, owner: taken.owner.app, step });
}

/** The app keeps only the names of the spec that serves it (none when nothing does); never throws. */
export async function keepNamesOf(deps: RunDeps, ctx: DeployContext, serving: AppSpec | undefined): Promise<void> {
  const keep = serving ? appNamesFor(serving, ctx.deployment.app) : undefined;
  await deps.store.names
    .release(ctx.deployment.appId, keep)
    .catch((err: unknown) => ctx.log.warn({ err }, "could not let go of the app's unused names"));
}
