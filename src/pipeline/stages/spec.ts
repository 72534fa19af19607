// Read and validate the commit's app spec, claim the app's names, then learn from it what every later stage
// needs: the app's name, the bindables, and the secret values the redactor must hide.
import type { AppSpec, BindContext } from "../../app-spec/index.js";
import { isDeployTemplate, oversizedFile, parseAppSpec, resolveComponentEnv } from "../../app-spec/index.js";
import { deployError } from "../../core/errors.js";
import { MIN_SECRET_LENGTH } from "../../core/redact.js";
import { need, type BindablesInput, type DeployContext, type RunDeps, type Stage } from "../deploy-context.js";
import { appNameFor, componentsOf, defaultBindContext, isPreview, specSecrets, tooShortSecretKeys } from "../map-spec.js";
import { claimNames } from "../names.js";
import { checkQuotas } from "../quotas.js";
import { openSpec, sealSpec } from "../secret-values.js";

/** Problems written to the step's log; a pathological spec can have tens of thousands. */
const LOGGED_PROBLEMS = 200;

export function specStage(deps: RunDeps): Stage<{ path: string; unservedDomains: string[] }> {
  return {
    name: "spec",
    resumable: true,
    async run(ctx, signal) {
      const sink = ctx.logs.sink("spec");
      const { app, sha } = ctx.deployment;
      const fetched = await deps.source.readSpec(app, sha, signal);
      if (!fetched) throw deployError("SPEC_MISSING", { repository: app.repository, sha, step: "spec" });
      const { spec, problems } = oversizedFile(fetched) ?? (await (deps.parseSpec ?? parseAppSpec)(fetched.text, { template: isDeployTemplate(fetched.path) }));
      for (const p of problems.slice(0, LOGGED_PROBLEMS)) sink(`${fetched.path}:${p.line}:${p.column}: ${p.severity}: ${p.message}`);
      if (problems.length > LOGGED_PROBLEMS) sink(`…and ${problems.length - LOGGED_PROBLEMS} more problems`);
      if (!spec) {
        throw deployError("SPEC_INVALID", { path: fetched.path, errors: problems.filter((p) => p.severity === "error"), step: "spec" });
      }
      // Stored without plaintext secrets; useSpec opens what restarts and rollbacks read back the same way.
      await deps.store.deployments.update(ctx.deployment.id, { spec: sealSpec(deps, app, spec) });
      checkQuotas(spec, deps.quotas);
      await useSpec(deps, ctx, spec);
      for (const key of tooShortSecretKeys(need(ctx.spec, "the spec"))) {
        sink(`warning: SECRET ${key} is shorter than ${MIN_SECRET_LENGTH} characters, too short to keep out of logs; Berth does not redact it: use a longer value`);
      }
      await deps.store.apps.setSpecName(ctx.deployment.appId, spec.name);
      return { path: fetched.path, unservedDomains: isPreview(app) ? spec.domains.map((d) => d.domain) : [] };
    },
    restore(ctx, _result) {
      return ctx.internals.spec !== undefined;
    },
    note: (result) =>
      result.unservedDomains.length > 0 ? `custom domains are not served for previews (${result.unservedDomains.join(", ")})` : undefined,
  };
}

/** Everything the later stages learn from the spec; also run when a deployment resumes with its spec stored. */
export async function useSpec(deps: RunDeps, ctx: DeployContext, stored: AppSpec): Promise<void> {
  const { app, appId, sha, untrusted, secrets } = ctx.deployment;
  // First: a deployment whose names belong to another app learns nothing and runs nothing.
  await claimNames(deps, ctx, stored);
  const spec = await openSpec(deps, app, secrets, stored);
  ctx.spec = spec;
  ctx.appName = appNameFor(spec, app);
  ctx.bind = await bindablesFor(deps, { app, appId, appName: ctx.appName, sha, spec, untrusted, secrets });
  ctx.redactor.add(specSecrets(spec));
  for (const db of Object.values(ctx.bind.databases)) {
    ctx.redactor.add([db.password, db.databaseUrl, db.jdbcDatabaseUrl ?? "", db.redisUrl ?? ""]);
  }
  for (const component of componentsOf(spec)) {
    for (const scope of ["build", "run"] as const) ctx.redactor.add(resolveComponentEnv(spec, component.name, scope, ctx.bind).secrets);
  }
}

/** The runtime's bindables, with what the composition root adds (configured databases). */
export async function bindablesFor(deps: RunDeps, input: BindablesInput): Promise<BindContext> {
  const base = defaultBindContext(input.spec, deps.runtime, { appId: input.appId, appName: input.appName, sha: input.sha });
  return deps.bindContext ? await deps.bindContext({ ...input, base }) : base;
}
