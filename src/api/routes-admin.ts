// Secrets (write-only values: names and update times come back, never a value) and API tokens (the token's
// text comes back once, when it is created).
import type { SecretEnvironment, SecretStore } from "../core/secrets.js";
import type { AppRecord } from "../core/store.js";
import { ApiError } from "./api-error.js";
import { submit } from "./routes-actions.js";
import { route, byOf, type ApiDeps, type Route } from "./route.js";
import * as S from "./schemas.js";
import { newToken, tokenDigest } from "./token-auth.js";

const tokenView = (t: { id: string; name: string; createdAt: Date; lastUsedAt?: Date; revokedAt?: Date }) => ({
  id: t.id,
  name: t.name,
  createdAt: t.createdAt.toISOString(),
  lastUsedAt: t.lastUsedAt?.toISOString(),
  revokedAt: t.revokedAt?.toISOString(),
});

function secretsOf(deps: ApiDeps): SecretStore {
  if (!deps.secrets) throw new ApiError("unavailable", "this Berth has no secret store configured");
  return deps.secrets;
}

/** The running apps a changed secret reaches: production, or every open preview of the repository. */
async function appsReading(deps: ApiDeps, repository: string, environment: SecretEnvironment): Promise<AppRecord[]> {
  const all = await deps.store.apps.list();
  return all.filter(
    (a) =>
      a.key.repository.toLowerCase() === repository.toLowerCase() &&
      a.activeDeploymentId !== undefined &&
      (environment === "production" ? a.key.environment === "production" : a.key.environment !== "production"),
  );
}

function secretRoutes(deps: ApiDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/apps/{owner}/{repo}/secrets",
      tag: "secrets",
      summary: "The names and update times of a repository's secrets (never their values)",
      params: S.AppParams,
      query: S.SecretsQuery,
      response: S.SecretList,
      handler: async ({ params, query }) => {
        const entries = await secretsOf(deps).list(`${params.owner}/${params.repo}`, query.environment);
        return { status: 200, body: { environment: query.environment, secrets: entries.map((e) => ({ key: e.key, updatedAt: e.updatedAt.toISOString() })) } };
      },
    }),
    route({
      method: "PUT",
      path: "/apps/{owner}/{repo}/secrets/{key}",
      tag: "secrets",
      summary: "Set a secret (the value is write-only); with restart, restart what runs so it reads the new value",
      params: S.SecretParams,
      query: S.SecretsQuery,
      body: S.SetSecretBody,
      response: S.SecretSet,
      handler: async ({ params, query, body, principal }) => {
        const repository = `${params.owner}/${params.repo}`;
        const secrets = secretsOf(deps);
        await secrets.set(repository, query.environment, params.key, body.value);
        const entry = (await secrets.list(repository, query.environment)).find((e) => e.key === params.key);
        const restarted: string[] = [];
        if (body.restart) {
          for (const app of await appsReading(deps, repository, query.environment)) {
            // refreshEnv: roll out again with the env worked out now, so the instances get the new value.
            const result = await submit(deps, { kind: "restart", app: app.key, by: byOf(principal), refreshEnv: true });
            const id = result !== "streamed" && (result.body as { deployment?: { id: string } }).deployment?.id;
            if (id) restarted.push(id);
          }
        }
        return {
          status: 200,
          body: { secret: { key: params.key, updatedAt: (entry?.updatedAt ?? new Date()).toISOString() }, restartDeploymentIds: restarted },
        };
      },
    }),
    route({
      method: "DELETE",
      path: "/apps/{owner}/{repo}/secrets/{key}",
      tag: "secrets",
      summary: "Remove a secret",
      params: S.SecretParams,
      query: S.SecretsQuery,
      response: S.SecretUnset,
      handler: async ({ params, query }) => {
        const removed = await secretsOf(deps).unset(`${params.owner}/${params.repo}`, query.environment, params.key);
        if (!removed) throw new ApiError("not_found", `${params.owner}/${params.repo} has no ${query.environment} secret ${params.key}`);
        return { status: 200, body: { removed } };
      },
    }),
  ];
}

function tokenRoutes(deps: ApiDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/tokens",
      tag: "tokens",
      summary: "The API tokens issued, revoked ones included (never their text)",
      response: S.TokenList,
      handler: async () => ({ status: 200, body: { tokens: (await deps.tokens.list()).map(tokenView) } }),
    }),
    route({
      method: "POST",
      path: "/tokens",
      tag: "tokens",
      summary: "Issue a token; its text is in this answer only",
      body: S.CreateTokenBody,
      response: S.TokenCreated,
      status: 201,
      handler: async ({ body }) => {
        const secret = newToken();
        const created = await deps.tokens.create(body.name, tokenDigest(secret));
        return { status: 201, body: { token: { ...tokenView(created), secret } } };
      },
    }),
    route({
      method: "DELETE",
      path: "/tokens/{id}",
      tag: "tokens",
      summary: "Revoke a token: it stops working at once",
      params: S.TokenParams,
      response: S.TokenRevoked,
      handler: async ({ params }) => {
        if (!(await deps.tokens.revoke(params.id))) throw new ApiError("not_found", `no live token ${params.id}`);
        return { status: 200, body: { revoked: true } };
      },
    }),
  ];
}

export function adminRoutes(deps: ApiDeps): Route[] {
  return [...secretRoutes(deps), ...tokenRoutes(deps)];
}
