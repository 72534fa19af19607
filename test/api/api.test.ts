// The HTTP API against a running server: a real pipeline on a real store (SQLite; PostgreSQL with
// BERTH_TEST_STORE=postgres) and the memory runtime. Every JSON answer is checked against its own schema.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as S from "../../src/api/schemas.js";
import { API_KEY, gate, pushIntent, sha } from "../pipeline/helpers.js";
import { startApiServer, type ApiServer } from "./api-server.js";

let api: ApiServer;
let first: string;
const building = gate();
const buildStarted = gate();
let holdBuilds = false;
const SLOW_SHA = sha(99);

beforeAll(async () => {
  api = await startApiServer({}, {
    hooks: {
      build: () => {
        if (!holdBuilds) return;
        buildStarted.open();
        return building.promise;
      },
    },
  });
  const { deploymentId } = await api.h.pipeline.submit(pushIntent(api.h.app, sha(1)));
  first = deploymentId!;
  expect((await api.h.settled(first)).phase).toBe("ACTIVE");
});
afterAll(() => api?.close());


const appPath = () => `/apps/${api.h.app.repository}`;

async function settled(body: { deployment?: { id: string } }) {
  expect(body.deployment?.id).toBeTruthy();
  return api.h.settled(body.deployment!.id);
}

describe("reading", () => {
  it("lists apps and shows one with its URL, components and active deployment", async () => {
    const list = await api.call("GET", "/apps");
    expect(list.status).toBe(200);
    S.AppList.parse(list.body);
    expect(list.body.apps.map((a: { app: { repository: string } }) => a.app.repository)).toContain(api.h.app.repository);
    const one = await api.call("GET", appPath());
    expect(one.status).toBe(200);
    S.AppOne.parse(one.body);
    expect(one.body.app.url).toMatch(/^http/);
    expect(one.body.app.components).toEqual(
      expect.arrayContaining([
        { name: "api", kind: "service" },
        { name: "queue", kind: "worker" },
        { name: "migrate", kind: "job" },
      ]),
    );
    expect(one.body.app.activeDeployment.id).toBe(first);
    expect(one.text).not.toContain(API_KEY);
  });

  it("lists deployments and shows one with steps and timings", async () => {
    const list = await api.call("GET", `${appPath()}/deployments?limit=5`);
    S.DeploymentList.parse(list.body);
    expect(list.body.deployments.map((d: { id: string }) => d.id)).toContain(first);
    const one = await api.call("GET", `/deployments/${first}`);
    S.DeploymentOne.parse(one.body);
    expect(one.body.deployment).toMatchObject({ id: first, sha: sha(1), phase: "ACTIVE", cause: { type: "push" } });
    expect(one.body.deployment.steps.length).toBeGreaterThan(3);
    expect(one.body.deployment.steps[0].startedAt).toMatch(/^\d{4}-/);
  });

  it("pages through the log and streams it as Server-Sent Events", async () => {
    const page = await api.call("GET", `/deployments/${first}/logs?limit=2`);
    S.LogPage.parse(page.body);
    expect(page.body.chunks.length).toBeGreaterThan(0);
    expect(page.body.final).toBe(true);
    const next = await api.call("GET", `/deployments/${first}/logs?afterId=${page.body.nextAfterId}`);
    expect(next.body.chunks.every((c: { id: number }) => c.id > page.body.nextAfterId)).toBe(true);
    const res = await fetch(`${api.url}/api/v1/deployments/${first}/logs/stream`, { headers: { authorization: `Bearer operator-token-for-api-tests-0123456789` } });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text).toContain("event: phase");
    expect(text).toContain("event: log");
    expect(text).toMatch(/event: end\ndata: \{"phase":"ACTIVE"\}/);
    expect(text).not.toContain(API_KEY);
  });

  it("answers unknown apps, deployments and endpoints with the one error shape", async () => {
    for (const [path, status] of [
      ["/apps/acme/nothing-here", 404],
      ["/deployments/nope", 404],
      ["/no/such/thing", 404],
      [`${appPath()}?environment=staging`, 400],
    ] as const) {
      const r = await api.call("GET", path);
      expect(r.status, path).toBe(status);
      S.ErrorBody.parse(r.body);
    }
    const wrongMethod = await api.call("DELETE", "/apps");
    expect(wrongMethod.status).toBe(405);
  });
});

describe("actions", () => {
  it("deploys again, force-rebuilds, restarts named components and rolls back", async () => {
    const deploy = await api.call("POST", `${appPath()}/deployments`, {});
    expect(deploy.status).toBe(202);
    S.Accepted.parse(deploy.body);
    const redeployed = await settled(deploy.body);
    expect(redeployed).toMatchObject({ phase: "ACTIVE", sha: sha(1), cause: { type: "manual", by: "operator" } });

    const rebuild = await api.call("POST", `${appPath()}/deployments`, { forceRebuild: true, sha: sha(2) });
    expect(await settled(rebuild.body)).toMatchObject({ phase: "ACTIVE", sha: sha(2), cause: { type: "force_rebuild" } });

    const restart = await api.call("POST", `${appPath()}/restart`, { components: ["api"] });
    expect(await settled(restart.body)).toMatchObject({ phase: "ACTIVE", cause: { type: "restart", components: ["api"] } });

    const rollback = await api.call("POST", `${appPath()}/rollback`, { deploymentId: first });
    expect(await settled(rollback.body)).toMatchObject({ phase: "ACTIVE", sha: sha(1), cause: { type: "rollback", toDeploymentId: first } });
  });

  it("refuses what the pipeline refuses, and bad bodies, with a reason", async () => {
    const foreign = await api.call("POST", `${appPath()}/rollback`, { deploymentId: "not-a-deployment" });
    expect(foreign.status).toBe(422);
    expect(foreign.body.error).toMatchObject({ code: "refused" });
    const bad = await api.call("POST", `${appPath()}/restart`, { components: [7] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("body.components.0");
    const extra = await api.call("POST", `${appPath()}/deployments`, { force: true });
    expect(extra.status).toBe(400);
    const notJson = await fetch(`${api.url}/api/v1${appPath()}/deployments`, {
      method: "POST",
      headers: { authorization: "Bearer operator-token-for-api-tests-0123456789", "content-type": "application/json" },
      body: "{",
    });
    expect(notJson.status).toBe(400);
  });

  it("cancels an unfinished deployment; a final one is a conflict", async () => {
    holdBuilds = true;
    const slow = await api.call("POST", `${appPath()}/deployments`, { sha: SLOW_SHA });
    const id = slow.body.deployment.id as string;
    await buildStarted.promise;
    expect((await api.call("GET", `/deployments/${id}`)).body.deployment.phase).toBe("BUILDING");
    const canceled = await api.call("POST", `/deployments/${id}/cancel`);
    expect(canceled.status).toBe(202);
    expect((await api.h.settled(id)).phase).toBe("CANCELED");
    holdBuilds = false;
    building.open();
    const again = await api.call("POST", `/deployments/${id}/cancel`);
    expect(again.status).toBe(409);
  });
});

describe("tokens", () => {
  it("needs a token; issued tokens work until revoked and are listed without their text", async () => {
    expect((await api.call("GET", "/apps", undefined, null)).status).toBe(401);
    const wrong = await api.call("GET", "/apps", undefined, "berth_wrong");
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("unauthorized");
    const created = await api.call("POST", "/tokens", { name: "ci" });
    expect(created.status).toBe(201);
    S.TokenCreated.parse(created.body);
    const secret = created.body.token.secret as string;
    expect((await api.call("GET", "/apps", undefined, secret)).status).toBe(200);
    const list = await api.call("GET", "/tokens", undefined, secret);
    S.TokenList.parse(list.body);
    expect(list.text).not.toContain(secret);
    expect(list.body.tokens.find((t: { id: string }) => t.id === created.body.token.id).lastUsedAt).toBeTruthy();
    expect((await api.call("DELETE", `/tokens/${created.body.token.id}`)).status).toBe(200);
    expect((await api.call("GET", "/apps", undefined, secret)).status).toBe(401);
    expect((await api.call("DELETE", `/tokens/${created.body.token.id}`)).status).toBe(404);
  });
});

describe("secrets", () => {
  it("sets, lists (names and times only) and unsets; the value never comes back", async () => {
    const value = "sup3r-s3cret-value-from-stdin";
    const set = await api.call("PUT", `${appPath()}/secrets/DATABASE_PASSWORD`, { value });
    expect(set.status).toBe(200);
    S.SecretSet.parse(set.body);
    expect(set.text).not.toContain(value);
    const list = await api.call("GET", `${appPath()}/secrets`);
    S.SecretList.parse(list.body);
    expect(list.body.secrets.map((s: { key: string }) => s.key)).toEqual(["DATABASE_PASSWORD"]);
    expect(list.text).not.toContain(value);
    expect((await api.call("GET", `${appPath()}/secrets?environment=previews`)).body.secrets).toEqual([]);
    expect((await api.call("PUT", `${appPath()}/secrets/1BAD`, { value })).status).toBe(400);
    expect((await api.call("DELETE", `${appPath()}/secrets/DATABASE_PASSWORD`)).status).toBe(200);
    expect((await api.call("DELETE", `${appPath()}/secrets/DATABASE_PASSWORD`)).status).toBe(404);
  });

  it("restarts the running app when asked", async () => {
    const set = await api.call("PUT", `${appPath()}/secrets/TOKEN`, { value: "another-secret-value", restart: true });
    expect(set.body.restartDeploymentIds).toHaveLength(1);
    expect((await api.h.settled(set.body.restartDeploymentIds[0])).phase).toBe("ACTIVE");
  });
});

describe("the OpenAPI document", () => {
  it("is served without a token and names every route, from the same schemas", async () => {
    const doc = await api.call("GET", "/openapi.json", undefined, null);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(["/apps", "/apps/{owner}/{repo}", "/deployments/{id}/logs/stream", "/tokens/{id}", "/apps/{owner}/{repo}/secrets/{key}", "/uploads/{name}"]),
    );
    const restart = doc.body.paths["/apps/{owner}/{repo}/restart"].post;
    expect(restart.requestBody.content["application/json"].schema.properties.components.type).toBe("array");
    expect(restart.parameters.map((p: { name: string }) => p.name)).toEqual(["owner", "repo", "environment"]);
  });
});



