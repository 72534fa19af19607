// Acting on an app through the pipeline's port, as `/berth` commands and check-run buttons do: create a
// deployment (optionally force-rebuilding), restart, roll back to a named deployment, cancel.
import { IntentError } from "../core/errors.js";
import { isFinal } from "../core/phases.js";
import type { AppRecord } from "../core/store.js";
import type { Intent } from "../core/types.js";
import { ApiError } from "./api-error.js";
import { findApp, findDeployment } from "./find-app.js";
import { byOf, route, type ApiDeps, type Route, type RouteResult } from "./route.js";
import * as S from "./schemas.js";
import { deploymentView } from "./views.js";

/** Hands the pipeline an intent; a refusal (no active deployment, a foreign deployment) is the caller's to read. */
export async function submit(deps: ApiDeps, intent: Intent): Promise<RouteResult> {
  let result: { accepted: boolean; deploymentId?: string };
  try {
    result = await deps.pipeline.submit(intent);
  } catch (err) {
    if (err instanceof IntentError) throw new ApiError("refused", err.message);
    throw err;
  }
  const d = result.deploymentId ? await deps.store.deployments.get(result.deploymentId) : undefined;
  return { status: 202, body: { accepted: result.accepted, deployment: d && deploymentView(d, deps.redact) } };
}

/** The commit to deploy when none is named: the branch head where Berth can ask GitHub, else the newest deployed one. */
async function defaultSha(deps: ApiDeps, app: AppRecord): Promise<string> {
  const head = await deps.branchHead?.(app.key, app.branch).catch((err: unknown) => {
    deps.log.warn({ err, repository: app.key.repository }, "could not read the branch head; deploying the newest deployed commit");
    return undefined;
  });
  if (head) return head;
  const [newest] = await deps.store.deployments.list(app.id, { limit: 1 });
  const sha = app.activeSha ?? newest?.sha;
  if (!sha) throw new ApiError("refused", `${app.key.repository} (${app.key.environment}) has no deployment yet; name the commit with "sha"`);
  return sha;
}

export function actionRoutes(deps: ApiDeps): Route[] {
  const { store } = deps;
  return [
    route({
      method: "POST",
      path: "/apps/{owner}/{repo}/deployments",
      tag: "actions",
      summary: "Deploy the app again (its branch head, or a named commit), optionally rebuilding every image",
      params: S.AppParams,
      query: S.AppQuery,
      body: S.CreateDeploymentBody,
      response: S.Accepted,
      status: 202,
      handler: async ({ params, query, body, principal }) => {
        const app = await findApp(store, params.owner, params.repo, query.environment);
        const sha = body.sha ?? (await defaultSha(deps, app));
        const by = byOf(principal);
        const cause = body.forceRebuild ? ({ type: "force_rebuild", by } as const) : ({ type: "manual", by } as const);
        return submit(deps, { kind: "deploy", app: app.key, branch: app.branch, sha, cause, ...(body.forceRebuild ? { forceBuild: true } : {}) });
      },
    }),
    route({
      method: "POST",
      path: "/apps/{owner}/{repo}/restart",
      tag: "actions",
      summary: "Restart every service and worker of the app, or the named components, on their current images",
      params: S.AppParams,
      query: S.AppQuery,
      body: S.RestartBody,
      response: S.Accepted,
      status: 202,
      handler: async ({ params, query, body, principal }) => {
        const app = await findApp(store, params.owner, params.repo, query.environment);
        return submit(deps, { kind: "restart", app: app.key, components: body.components, by: byOf(principal) });
      },
    }),
    route({
      method: "POST",
      path: "/apps/{owner}/{repo}/rollback",
      tag: "actions",
      summary: "Roll the app back to an earlier deployment's spec and images",
      params: S.AppParams,
      query: S.AppQuery,
      body: S.RollbackBody,
      response: S.Accepted,
      status: 202,
      handler: async ({ params, query, body, principal }) => {
        const app = await findApp(store, params.owner, params.repo, query.environment);
        return submit(deps, { kind: "rollback", app: app.key, toDeploymentId: body.deploymentId, by: byOf(principal) });
      },
    }),
    route({
      method: "POST",
      path: "/deployments/{id}/cancel",
      tag: "actions",
      summary: "Cancel a deployment that has not finished",
      params: S.DeploymentParams,
      response: S.Accepted,
      status: 202,
      handler: async ({ params, principal }) => {
        const d = await findDeployment(store, params.id);
        if (isFinal(d.phase)) throw new ApiError("conflict", `deployment ${d.id} is already ${d.phase}; only an unfinished deployment can be canceled`);
        await submit(deps, { kind: "cancel", app: d.app, deploymentId: d.id, reason: `by ${byOf(principal)}` });
        return { status: 202, body: { accepted: true, deployment: deploymentView(await findDeployment(store, d.id), deps.redact) } };
      },
    }),
  ];
}
