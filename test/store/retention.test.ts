import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppKey } from "../../src/core/types.js";
import type { NewDeployment, SqlStore, Store } from "../../src/store/index.js";
import { postgresUrl } from "../helpers/services.js";
import { openTestStore, type TestStore } from "./open-store.js";

const url = postgresUrl();
const backends: { kind: Store["kind"] }[] = [{ kind: "sqlite" }, ...(url ? [{ kind: "postgres" as const }] : [])];
const DAY = 86_400_000;
const app: AppKey = { installationId: 7, repository: "acme/web", environment: "production" };

function push(sha: string, images?: Record<string, string>): NewDeployment {
  return {
    app,
    branch: "main",
    kind: "deploy",
    sha,
    cause: { type: "push", sha, ref: "refs/heads/main" },
    intent: { kind: "deploy", sha },
    supersedeQueued: false,
    cancelRunningBuild: false,
    ...(images ? { images } : {}),
  };
}

describe.each(backends)("retention on $kind", ({ kind }) => {
  let t: TestStore;
  let store: SqlStore;
  beforeEach(async () => {
    t = await openTestStore(kind, url);
    store = t.store;
  });
  afterEach(async () => t.cleanup());

  async function deployment(sha: string, images: Record<string, string>, end: "ACTIVE" | "ERROR" | "SUPERSEDED" | "PENDING_BUILD") {
    const { deployment: d } = await store.queue.enqueue(push(sha.repeat(40), images));
    const id = d!.id;
    if (end === "ERROR" || end === "SUPERSEDED") await store.deployments.transition(id, end);
    if (end === "ACTIVE") {
      for (const phase of ["BUILDING", "PENDING_DEPLOY", "DEPLOYING"] as const) await store.deployments.transition(id, phase);
      await store.deployments.activate(id, {});
    }
    return id;
  }

  const policy = (now: number, keepDeployments: number) => ({
    keepDeployments,
    logsBefore: new Date(now - 14 * DAY),
    deliveriesBefore: new Date(now - 7 * DAY),
  });

  it("keeps the newest N deployments per app, the ACTIVE one and unfinished ones; logs and steps go with the rest", async () => {
    const active = await deployment("1", { web: "img-1" }, "ACTIVE");
    const failed = await deployment("2", { web: "img-2" }, "ERROR");
    const superseded = await deployment("3", { web: "img-3" }, "SUPERSEDED");
    const restart = await deployment("4", { web: "img-1" }, "ERROR");
    const queued = await deployment("5", {}, "PENDING_BUILD");
    const newest = await deployment("6", { web: "img-6" }, "ERROR");
    // The queued one is beyond N too once newer ones come, yet never final: it stays.
    await store.db.updateTable("deployments").set({ seq: "0" }).where("id", "=", queued).execute();
    await store.steps.put(failed, { name: "build:web", status: "ERROR", position: 0 });
    const chunks = Array.from({ length: 1_200 }, (_, i) => ({ deployment_id: failed, step: "build:web", text: `line ${i}\n` }));
    for (let i = 0; i < chunks.length; i += 300) await store.db.insertInto("logs").values(chunks.slice(i, i + 300)).execute();

    const result = await store.retention.prune(policy(Date.now(), 2));

    const appId = (await store.apps.find(app))!.id;
    const left = (await store.deployments.list(appId)).map((d) => d.id);
    expect(left.sort()).toEqual([active, restart, queued, newest].sort());
    expect(result).toMatchObject({ deployments: 2, apps: [{ appId, keptImages: ["img-1", "img-6"] }] });
    expect(await store.logs.count(failed)).toBe(0);
    expect(await store.db.selectFrom("steps").select("name").where("deployment_id", "=", failed).execute()).toEqual([]);
    expect(left).not.toContain(superseded);
    expect((await store.retention.prune(policy(Date.now(), 2))).apps).toEqual([]);
  });

  it("drops log chunks older than the log retention, in batches", async () => {
    const id = await deployment("1", {}, "ERROR");
    const rows = Array.from({ length: 1_234 }, (_, i) => ({ deployment_id: id, step: "build", text: `old ${i}\n` }));
    for (let i = 0; i < rows.length; i += 300) await store.db.insertInto("logs").values(rows.slice(i, i + 300)).execute();
    await store.db.updateTable("logs").set({ created_at: new Date(Date.now() - 15 * DAY) }).execute();
    await store.logs.append(id, "build", "recent\n");

    const result = await store.retention.prune(policy(Date.now(), 20));

    expect(result.logs).toBe(1_234);
    expect((await store.logs.read(id)).map((c) => c.text)).toEqual(["recent\n"]);
  });

  it("forgets deliveries and body hashes after the replay window, and finished inbox entries", async () => {
    for (const id of ["old", "sha256:abc", "new"]) expect(await store.recordDelivery(id)).toBe(true);
    await store.db.updateTable("deliveries").set({ received_at: new Date(Date.now() - 8 * DAY) }).where("id", "!=", "new").execute();
    await store.state.set("github:inbox:done", null);
    await store.state.set("github:inbox:pending", { id: "pending" });
    await store.state.set("check-runs:acme/web", { id: 1 });
    await store.db.updateTable("state").set({ updated_at: new Date(Date.now() - 8 * DAY) }).execute();

    const result = await store.retention.prune(policy(Date.now(), 20));

    expect(result.deliveries).toBe(2);
    expect(await store.recordDelivery("new")).toBe(false);
    expect(await store.recordDelivery("old")).toBe(true);
    expect(await store.recordDelivery("sha256:abc")).toBe(true);
    const keys = (await store.db.selectFrom("state").select("key").orderBy("key").execute()).map((r) => r.key);
    expect(keys).toEqual(["check-runs:acme/web", "github:inbox:pending"]);
  });
});
