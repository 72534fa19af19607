import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { IllegalTransitionError } from "../../src/core/phases.js";
import type { AppKey } from "../../src/core/types.js";
import type { NewDeployment, Store } from "../../src/store/index.js";
import { postgresUrl } from "../helpers/services.js";
import { sql } from "kysely";
import { postgresFlavor, sqliteFlavor } from "../../src/store/flavor.js";
import { migrate } from "../../src/store/open.js";
import { openTestStore, silentLog, type TestStore } from "./open-store.js";

// The same contract on both stores; PostgreSQL only when BERTH_TEST_DATABASE_URL is set (else a printed reason).
const url = postgresUrl();
const backends: { kind: Store["kind"] }[] = [{ kind: "sqlite" }, ...(url ? [{ kind: "postgres" as const }] : [])];

let app: AppKey;
let counter = 0;

function push(sha: string, extra: Partial<NewDeployment> = {}): NewDeployment {
  return {
    app,
    branch: "main",
    kind: "deploy",
    sha,
    cause: { type: "push", sha, ref: "refs/heads/main" },
    intent: { kind: "deploy", sha },
    supersedeQueued: true,
    cancelRunningBuild: false,
    ...extra,
  };
}

describe.each(backends)("store on $kind", ({ kind }) => {
  describe("records", () => {
    let t: TestStore;
    let store: Store;
    // One store per backend; each test works on its own app so tests stay independent.
    beforeAll(async () => {
      t = await openTestStore(kind, url);
      store = t.store;
    });
    afterAll(async () => t.cleanup());
    beforeEach(() => {
      app = { installationId: 4_000_000_001, repository: `acme/web-${++counter}`, environment: "production" };
    });

    it("records a webhook delivery once", async () => {
      expect(await store.recordDelivery(`d-${counter}`)).toBe(true);
      expect(await store.recordDelivery(`d-${counter}`)).toBe(false);
      expect(await store.recordDelivery(`e-${counter}`)).toBe(true);
    });

    it("keeps a batch of inbox deliveries in one transaction, telling redeliveries and replays apart", async () => {
      const entry = (id: string, n = 0) => ({ id, event: { type: "push" }, receivedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() });
      const [a, b, c] = [`ia-${counter}`, `ib-${counter}`, `ic-${counter}`];
      const verdicts = await store.commitInbox({
        accept: [
          { id: a, digest: `da-${counter}`, entry: entry(a) },
          { id: a, digest: `dx-${counter}`, entry: entry(a) },
          { id: b, digest: `da-${counter}`, entry: entry(b) },
          { id: c, entry: entry(c, 1) },
        ],
        put: [],
        remove: [],
      });
      expect(verdicts).toEqual(["new", "redelivery", "replay", "new"]);
      const ids = async () => ((await store.listInbox()) as Array<{ id: string }>).map((e) => e.id).filter((id) => id.endsWith(`-${counter}`));
      expect((await ids()).toSorted()).toEqual([a, c]);
      await store.commitInbox({ accept: [], put: [{ ...entry(c, 1), attempts: 1 } as { id: string }], remove: [a] });
      expect(await ids()).toEqual([c]);
      expect(((await store.listInbox()) as Array<{ id: string; attempts?: number }>).find((e) => e.id === c)?.attempts).toBe(1);
      expect(await store.recordDelivery(b)).toBe(false);
    });

    it("rolls a failed inbox batch back whole", async () => {
      const id = `rb-${counter}`;
      const bad = { id, entry: { id, cyclic: 1n } as unknown as { id: string } };
      await expect(store.commitInbox({ accept: [bad], put: [], remove: [] })).rejects.toThrow();
      expect(await store.recordDelivery(id)).toBe(true);
    });

    it("refuses an intent whose delivery was already seen, writing nothing", async () => {
      const first = await store.queue.enqueue(push("a".repeat(40), { deliveryId: `x-${counter}` }));
      const again = await store.queue.enqueue(push("b".repeat(40), { deliveryId: `x-${counter}` }));
      expect(first.accepted).toBe(true);
      expect(again).toEqual({ accepted: false, superseded: [], cancelRequested: [] });
      const found = await store.apps.find(app);
      expect((await store.deployments.list(found!.id)).map((d) => d.sha)).toEqual(["a".repeat(40)]);
    });

    it("keeps apps with a bigint installation id and their active sha", async () => {
      const { deployment } = await store.queue.enqueue(push("c".repeat(40)));
      await store.deployments.transition(deployment!.id, "BUILDING");
      await store.deployments.transition(deployment!.id, "PENDING_DEPLOY");
      await store.deployments.transition(deployment!.id, "DEPLOYING");
      await store.deployments.activate(deployment!.id, { url: "http://web.localhost" });
      const listed = (await store.apps.list()).find((a) => a.key.repository === app.repository);
      expect(listed).toMatchObject({ key: app, branch: "main", activeDeploymentId: deployment!.id, activeSha: "c".repeat(40) });
      expect((await store.deployments.get(deployment!.id))!.url).toBe("http://web.localhost");
    });

    it("supersedes queued deployments with a message naming the newer sha", async () => {
      const older = await store.queue.enqueue(push("1111111aaaa"));
      const newer = await store.queue.enqueue(push("2222222bbbb"));
      expect(newer.superseded.map((d) => d.id)).toEqual([older.deployment!.id]);
      expect(newer.superseded[0]).toMatchObject({ phase: "SUPERSEDED" });
      expect(newer.superseded[0]!.message).toContain("2222222");
    });

    it("enforces the transition table as a compare-and-set", async () => {
      const { deployment } = await store.queue.enqueue(push("d".repeat(40)));
      const id = deployment!.id;
      await expect(store.deployments.transition(id, "ACTIVE")).rejects.toThrow(IllegalTransitionError);
      await expect(store.deployments.transition(id, "DEPLOYING")).rejects.toThrow(/from PENDING_BUILD to DEPLOYING/);
      await store.deployments.transition(id, "BUILDING");
      await store.deployments.transition(id, "ERROR", { message: "build failed" });
      await expect(store.deployments.transition(id, "BUILDING")).rejects.toThrow(/ERROR is final/);
      await expect(store.deployments.transition("nope", "BUILDING")).rejects.toThrow(/does not exist/);
      expect((await store.deployments.get(id))!).toMatchObject({ phase: "ERROR", message: "build failed" });
    });

    it("activating a deployment supersedes the previous active one", async () => {
      const ids: string[] = [];
      for (const sha of ["e".repeat(40), "f".repeat(40)]) {
        const { deployment } = await store.queue.enqueue(push(sha));
        for (const phase of ["BUILDING", "PENDING_DEPLOY", "DEPLOYING"] as const) {
          await store.deployments.transition(deployment!.id, phase);
        }
        const { previous } = await store.deployments.activate(deployment!.id, {});
        ids.push(deployment!.id);
        if (ids.length === 2) expect(previous).toMatchObject({ id: ids[0], phase: "SUPERSEDED" });
      }
      expect((await store.apps.find(app))!.activeDeploymentId).toBe(ids[1]);
    });

    it("stores steps with results and reads logs in order, by step", async () => {
      const { deployment } = await store.queue.enqueue(push("9".repeat(40)));
      const id = deployment!.id;
      await store.steps.put(id, { name: "build:web", component: "web", position: 2, status: "RUNNING", startedAt: new Date() });
      await store.steps.put(id, { name: "source", position: 0, status: "SUCCESS", result: { dir: "/x" } });
      await store.steps.put(id, { name: "build:web", component: "web", position: 2, status: "SUCCESS", result: { image: "img:1" } });
      await store.logs.append(id, "source", "fetching\n");
      await store.logs.append(id, "build:web", "step 1/3\n");
      await store.logs.append(id, "build:web", "step 2/3\n");
      const internals = await store.deployments.internals(id);
      expect(internals!.record.steps.map((s) => [s.name, s.status])).toEqual([
        ["source", "SUCCESS"],
        ["build:web", "SUCCESS"],
      ]);
      expect(internals!.stepResults.get("build:web")).toEqual({ image: "img:1" });
      expect((await store.logs.read(id, { step: "build:web" })).map((c) => c.text).join("")).toBe("step 1/3\nstep 2/3\n");
      const all = await store.logs.read(id);
      expect((await store.logs.read(id, { afterId: all[0]!.id })).length).toBe(2);
    });

    it("follows logs until the deployment is final", async () => {
      const { deployment } = await store.queue.enqueue(push("8".repeat(40)));
      const id = deployment!.id;
      await store.logs.append(id, "source", "one\n");
      const seen: string[] = [];
      const following = (async () => {
        for await (const chunk of store.logs.follow(id, { pollMs: 5 })) seen.push(chunk.text);
      })();
      await store.logs.append(id, "source", "two\n");
      await store.deployments.transition(id, "CANCELED", { message: "stop" });
      await following;
      expect(seen).toEqual(["one\n", "two\n"]);
    });

    it("keeps JSON state for reporters", async () => {
      expect(await store.state.get("check-run:x")).toBeUndefined();
      await store.state.set("check-run:x", { id: 42, ids: [1, 2] });
      await store.state.set("check-run:x", { id: 43, ids: [1, 2] });
      expect(await store.state.get("check-run:x")).toEqual({ id: 43, ids: [1, 2] });
      await store.state.delete("check-run:x");
      expect(await store.state.get("check-run:x")).toBeUndefined();
    });

    it("reads timestamps back as Dates and JSON back as values", async () => {
      const { deployment } = await store.queue.enqueue(push("5".repeat(40)));
      const id = deployment!.id;
      const started = new Date("2026-01-02T03:04:05.678Z");
      await store.steps.put(id, { name: "source", position: 0, status: "SUCCESS", startedAt: started, result: { n: 1 } });
      await store.logs.append(id, "source", "x\n");
      await store.deployments.transition(id, "CANCELED", { message: "stop" });
      const internals = await store.deployments.internals(id);
      const record = internals!.record;
      for (const date of [record.createdAt, record.updatedAt, (await store.apps.find(app))!.createdAt, (await store.logs.read(id))[0]!.createdAt]) {
        expect(date).toBeInstanceOf(Date);
        expect(Math.abs(date.getTime() - Date.now())).toBeLessThan(60_000);
      }
      expect(record.steps[0]!.startedAt).toEqual(started);
      expect(record.cause).toEqual({ type: "push", sha: "5".repeat(40), ref: "refs/heads/main" });
      expect(internals!.intent).toEqual({ kind: "deploy", sha: "5".repeat(40) });
      expect(internals!.stepResults.get("source")).toEqual({ n: 1 });
    });

    it("merges images and keeps a failure's code and details", async () => {
      const { deployment } = await store.queue.enqueue(push("4".repeat(40), { images: { web: "web:1" } }));
      const id = deployment!.id;
      await store.deployments.update(id, { images: { api: "api:1" }, spec: { name: "shop" } });
      await store.deployments.update(id, { images: { web: "web:2" } });
      await store.deployments.update(id, { error: { code: "BUILD_FAILED", step: "build:web", markdown: "exit 2" } });
      const internals = await store.deployments.internals(id);
      expect(internals!.images).toEqual({ web: "web:2", api: "api:1" });
      expect(internals!.spec).toEqual({ name: "shop" });
      expect(internals!.record.error).toEqual({ code: "BUILD_FAILED", step: "build:web", markdown: "exit 2" });
    });

    it("lists an app's deployments newest first and counts the pending ones", async () => {
      const a = await store.queue.enqueue(push("3".repeat(40), { supersedeQueued: false }));
      const b = await store.queue.enqueue(push("2".repeat(40), { supersedeQueued: false }));
      const found = await store.apps.find(app);
      expect((await store.deployments.list(found!.id)).map((d) => d.id)).toEqual([b.deployment!.id, a.deployment!.id]);
      expect(await store.queue.pending()).toBeGreaterThanOrEqual(2);
      expect(await store.deployments.requestCancel(a.deployment!.id, "stop")).toBe(true);
      expect(JSON.parse((await store.queue.stopRequest(a.deployment!.id))!)).toEqual({ phase: "CANCELED", message: "stop" });
    });

    it("removes an app and brings it back on a new push", async () => {
      const created = await store.apps.upsert(app, { branch: "main" });
      await store.apps.setSpecName(created.id, "shop");
      await store.apps.remove(created.id, "uninstalled");
      expect(await store.apps.get(created.id)).toMatchObject({ removedReason: "uninstalled", specName: "shop" });
      expect((await store.apps.get(created.id))!.removedAt).toBeInstanceOf(Date);
      const back = await store.apps.upsert(app, { branch: "release" });
      expect(back).toMatchObject({ id: created.id, branch: "release", removedAt: undefined });
    });
  });

  describe("names", () => {
    let t: TestStore;
    let store: Store;
    beforeAll(async () => {
      t = await openTestStore(kind, url);
      store = t.store;
    });
    afterAll(async () => t.cleanup());

    let n = 0;
    async function appNamed() {
      const key = { installationId: 9, repository: `acme/names-${++n}`, environment: "production" };
      return { key, id: (await store.apps.upsert(key, { branch: "main" })).id };
    }

    it("gives a name and each domain to one app, all or none, and names the owner to a second claimant", async () => {
      const first = await appNamed();
      const second = await appNamed();
      const names = { host: `shop-${n}`, domains: [`shop-${n}.example.com`, `www.shop-${n}.example.com`] };
      expect(await store.names.claim(first.id, names)).toBeUndefined();
      expect(await store.names.claim(first.id, names)).toBeUndefined();
      expect(await store.names.claim(second.id, { host: names.host, domains: [] })).toEqual({
        kind: "host",
        value: names.host,
        owner: { appId: first.id, app: first.key },
      });
      const free = `free-${n}.example.com`;
      expect(await store.names.claim(second.id, { host: `other-${n}`, domains: [free, names.domains[1]!] })).toEqual({
        kind: "domain",
        value: names.domains[1],
        owner: { appId: first.id, app: first.key },
      });
      // Nothing of the refused claim was taken: a third app gets both names it asked for.
      const third = await appNamed();
      expect(await store.names.claim(third.id, { host: `other-${n}`, domains: [free] })).toBeUndefined();
    });

    it("lets go of the names an app no longer lists, or of all of them", async () => {
      const first = await appNamed();
      const second = await appNamed();
      const host = `web-${n}`;
      const [kept, dropped] = [`a-${n}.example.com`, `b-${n}.example.com`];
      await store.names.claim(first.id, { host, domains: [kept, dropped] });
      await store.names.release(first.id, { host, domains: [kept] });
      expect(await store.names.claim(second.id, { host: `second-${n}`, domains: [dropped] })).toBeUndefined();
      expect(await store.names.claim(second.id, { host: `second-${n}`, domains: [kept] })).toMatchObject({ value: kept });
      await store.names.release(first.id);
      expect(await store.names.claim(second.id, { host, domains: [kept] })).toBeUndefined();
    });
  });

  describe("migration 0005", () => {
    it("gives apps that served before it their names, the oldest app first", async () => {
      const own = await openTestStore(kind, url);
      try {
        const { store } = own;
        const legacy = { name: "Legacy_App", domains: [{ domain: "Legacy.example.com." }] };
        const serve = async (key: AppKey, spec: unknown) => {
          const { deployment } = await store.queue.enqueue({ ...push("e".repeat(40)), app: key, spec });
          for (const phase of ["BUILDING", "PENDING_DEPLOY", "DEPLOYING"] as const) await store.deployments.transition(deployment!.id, phase);
          await store.deployments.activate(deployment!.id, {});
          return deployment!.appId;
        };
        const older = await serve({ installationId: 5, repository: "acme/old", environment: "production" }, legacy);
        await serve({ installationId: 5, repository: "acme/copy", environment: "production" }, legacy);
        const preview = await serve({ installationId: 5, repository: "acme/old", environment: "pr-2" }, legacy);
        // Back to the schema before 0005, with these apps serving.
        await store.db.schema.dropTable("claims").execute();
        await sql`DELETE FROM kysely_migration WHERE name = '0005_claims'`.execute(store.db);
        // And before the migrations after it.
        for (const index of ["logs_created_at", "deliveries_received_at", "state_updated_at"]) await store.db.schema.dropIndex(index).execute();
        await sql`DELETE FROM kysely_migration WHERE name = '0006_retention_indexes'`.execute(store.db);
        await store.db.schema.dropTable("api_tokens").execute();
        await sql`DELETE FROM kysely_migration WHERE name = '0008_api_tokens'`.execute(store.db);
        await store.db.schema.dropTable("secrets").execute();
        await sql`DELETE FROM kysely_migration WHERE name = '0007_secrets'`.execute(store.db);
        await migrate(store.db, kind === "sqlite" ? sqliteFlavor : postgresFlavor, silentLog, own.schema);
        const claims = await store.db.selectFrom("claims").select(["name", "kind", "app_id"]).orderBy("name").execute();
        expect(claims).toEqual([
          { name: "legacy-app", kind: "host", app_id: older },
          { name: "legacy-app-pr-2", kind: "host", app_id: preview },
          { name: "legacy.example.com", kind: "domain", app_id: older },
        ]);
      } finally {
        await own.cleanup();
      }
    });
  });

  // Claims see every app in the store, so these tests get a store of their own.
  describe("queue leases", () => {
    let own: TestStore;
    let store: Store;
    beforeEach(async () => {
      app = { installationId: 7, repository: `acme/lease-${++counter}`, environment: "production" };
      own = await openTestStore(kind, url);
      store = own.store;
    });
    afterEach(async () => own.cleanup());

    it("leases one app to one worker until the lease expires", async () => {
      const { deployment } = await store.queue.enqueue(push("7".repeat(40)));
      const claim = await store.queue.claim("w1", 60_000, []);
      expect(claim).toMatchObject({ deploymentId: deployment!.id, teardown: false });
      expect(await store.queue.claim("w2", 60_000, [])).toBeUndefined();
      expect(await store.queue.heartbeat(claim!.appId, "w2", 60_000)).toBe(false);
      expect(await store.queue.heartbeat(claim!.appId, "w1", 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(await store.queue.claim("w2", 60_000, [])).toMatchObject({ appId: claim!.appId });
      expect(await store.queue.heartbeat(claim!.appId, "w1", 60_000)).toBe(false);
    });

    it("queues a teardown that cancels queued work", async () => {
      const { deployment } = await store.queue.enqueue(push("6".repeat(40)));
      const found = await store.apps.find(app);
      const { canceled } = await store.queue.enqueueTeardown(found!.id, "pull request closed");
      expect(canceled.map((d) => [d.id, d.phase])).toEqual([[deployment!.id, "CANCELED"]]);
      expect((await store.apps.list()).some((a) => a.id === found!.id)).toBe(false);
      const claim = await store.queue.claim("w1", 60_000, []);
      expect(claim).toMatchObject({ teardown: true, deploymentId: undefined });
      await store.names.claim(found!.id, { host: "torn", domains: ["torn.example.com"] });
      await store.queue.finishTeardown(claim!.appId);
      await store.queue.release(claim!.appId, "w1");
      expect(await store.queue.claim("w1", 60_000, [])).toBeUndefined();
      // Its names are free again.
      const next = await store.apps.upsert({ ...app, repository: `${app.repository}-next` }, { branch: "main" });
      expect(await store.names.claim(next.id, { host: "torn", domains: ["torn.example.com"] })).toBeUndefined();
    });
  });
});
