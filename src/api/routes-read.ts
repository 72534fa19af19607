// Reading: apps, their deployments, a deployment and its log (a page of it, or followed as Server-Sent Events).
import { isFinal } from "../core/phases.js";
import { findApp, findDeployment } from "./find-app.js";
import { streamLog } from "./log-stream.js";
import { route, type ApiDeps, type Route } from "./route.js";
import * as S from "./schemas.js";
import { appSummary, appView, deploymentView } from "./views.js";

export function readRoutes(deps: ApiDeps): Route[] {
  const { store, redact } = deps;
  return [
    route({
      method: "GET",
      path: "/apps",
      tag: "apps",
      summary: "List the apps Berth manages",
      response: S.AppList,
      handler: async () => ({ status: 200, body: { apps: (await store.apps.list()).map(appSummary) } }),
    }),
    route({
      method: "GET",
      path: "/apps/{owner}/{repo}",
      tag: "apps",
      summary: "One app: its live URL, components and current deployment",
      params: S.AppParams,
      query: S.AppQuery,
      response: S.AppOne,
      handler: async ({ params, query }) => {
        const app = await findApp(store, params.owner, params.repo, query.environment);
        const active = app.activeDeploymentId ? await store.deployments.internals(app.activeDeploymentId) : undefined;
        return { status: 200, body: { app: appView(app, active, redact) } };
      },
    }),
    route({
      method: "GET",
      path: "/apps/{owner}/{repo}/deployments",
      tag: "deployments",
      summary: "An app's deployments, newest first",
      params: S.AppParams,
      query: S.DeploymentsQuery,
      response: S.DeploymentList,
      handler: async ({ params, query }) => {
        const app = await findApp(store, params.owner, params.repo, query.environment);
        const deployments = await store.deployments.list(app.id, { limit: query.limit });
        return { status: 200, body: { deployments: deployments.map((d) => deploymentView(d, redact)) } };
      },
    }),
    route({
      method: "GET",
      path: "/deployments/{id}",
      tag: "deployments",
      summary: "One deployment: phase, steps, cause, sha, timings",
      params: S.DeploymentParams,
      response: S.DeploymentOne,
      handler: async ({ params }) => ({ status: 200, body: { deployment: deploymentView(await findDeployment(store, params.id), redact) } }),
    }),
    route({
      method: "GET",
      path: "/deployments/{id}/logs",
      tag: "logs",
      summary: "A page of a deployment's build and deploy log, oldest first",
      params: S.DeploymentParams,
      query: S.LogsQuery,
      response: S.LogPage,
      handler: async ({ params, query }) => {
        const d = await findDeployment(store, params.id);
        const chunks = await store.logs.read(d.id, { afterId: query.afterId, limit: query.limit, step: query.step });
        return {
          status: 200,
          body: {
            chunks: chunks.map((c) => ({ id: c.id, step: c.step, text: redact(c.text), createdAt: c.createdAt.toISOString() })),
            nextAfterId: chunks.at(-1)?.id,
            final: isFinal(d.phase),
          },
        };
      },
    }),
    route({
      method: "GET",
      path: "/deployments/{id}/logs/stream",
      tag: "logs",
      summary: "The log as Server-Sent Events: `log` events (id = chunk id; Last-Event-ID resumes), `phase` events, one `end` event",
      params: S.DeploymentParams,
      stream: true,
      handler: async ({ params, req, res }) => {
        const d = await findDeployment(store, params.id);
        await streamLog(deps, d, req, res);
        return "streamed";
      },
    }),
  ];
}
