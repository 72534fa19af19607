// Several Berth processes sharing one PostgreSQL queue: every deployment runs exactly once, never two workers
// on one app, and a lease whose owner was killed is taken over.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPipeline, isFinal } from "../../src/pipeline/index.js";
import { createMemoryRuntime } from "../../src/runtime/memory/index.js";
import { createStore, type SqlStore as Store } from "../../src/store/index.js";
import { postgresUrl } from "../helpers/services.js";
import { dropSchema, freshSchema, silentLog } from "../store/open-store.js";
import { startChild, type Child } from "./child.js";
import { FakeSource, pushIntent, sha } from "./helpers.js";

const url = postgresUrl();
// Each repository its own app name: a name belongs to one app.
const TINY = "name: tiny-{{repo}}\nworkers:\n  - name: wk\n    github: { repo: acme/tiny, branch: main }\n";

describe.skipIf(!url)("workers sharing PostgreSQL", { timeout: 180_000 }, () => {
  let schema: string;
  let store: Store;
  let children: Child[] = [];

  beforeAll(async () => {
    schema = freshSchema("berth_pipeline");
    store = await createStore({ dataDir: "unused", databaseUrl: url!, schema, log: silentLog });
  });
  afterEach(async () => {
    for (const c of children) c.process.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
    children = [];
  });
  afterAll(async () => {
    await store.close();
    await dropSchema(url!, schema);
  });

  // Submits without running anything itself: this process only writes intents.
  const submitter = () =>
    createPipeline({ store, runtime: createMemoryRuntime(), source: new FakeSource(), log: silentLog, workDir: "/tmp/unused" });

  async function waitUntilFinal(ids: string[]) {
    for (;;) {
      const rows = await store.db.selectFrom("deployments").select(["id", "phase"]).where("id", "in", ids).execute();
      if (rows.every((r) => isFinal(r.phase as never))) return rows;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("two processes racing for 50 deployments run each exactly once", async () => {
    const env = { DATABASE_URL: url!, SCHEMA: schema, SPEC: TINY, CONCURRENCY: "2", BUILD_MS: "20" };
    children = [startChild(env), startChild(env)];
    await Promise.all(children.map((c) => c.waitFor(/^READY$/)));
    const pipeline = submitter();
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const app = { installationId: 2, repository: `acme/race-${i}`, environment: "production" };
      ids.push((await pipeline.submit(pushIntent(app, sha(i)))).deploymentId!);
    }
    const rows = await waitUntilFinal(ids);
    expect(rows.filter((r) => r.phase === "ACTIVE").length).toBe(50);

    const builds = children.map((c) => c.lines.filter((l) => l.startsWith("BUILD ")).map((l) => l.split(" ")[1]!));
    const all = builds.flat();
    expect(all.length).toBe(50);
    expect(new Set(all)).toEqual(new Set(ids));
    // Both processes took part.
    expect(builds[0]!.length).toBeGreaterThan(0);
    expect(builds[1]!.length).toBeGreaterThan(0);
    const activations = children.flatMap((c) => c.lines.filter((l) => / ACTIVE$/.test(l)));
    expect(activations.length).toBe(50);
  });

  it("never runs two deployments of one app at once across processes", async () => {
    const env = { DATABASE_URL: url!, SCHEMA: schema, SPEC: TINY, CONCURRENCY: "2", BUILD_MS: "30" };
    children = [startChild(env), startChild(env)];
    await Promise.all(children.map((c) => c.waitFor(/^READY$/)));
    const pipeline = submitter();
    const app = { installationId: 2, repository: "acme/serial", environment: "production" };
    const ids: string[] = [];
    // Restarts do not supersede one another, so all of them must run, one after the other.
    ids.push((await pipeline.submit(pushIntent(app, sha(1)))).deploymentId!);
    await waitUntilFinal(ids);
    for (let i = 0; i < 6; i++) ids.push((await pipeline.submit({ kind: "restart", app })).deploymentId!);
    // Each process has its own in-memory runtime, so a restart may land where nothing runs and end in ERROR;
    // what matters here is when each one ran: the store's step times show no two overlapping.
    await waitUntilFinal(ids);
    const spans = await store.db
      .selectFrom("steps")
      .select(["deployment_id", "started_at", "ended_at"])
      .where("deployment_id", "in", ids.slice(1))
      .where("name", "=", "restart")
      .orderBy("started_at")
      .execute();
    expect(spans.length).toBe(6);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.started_at!.getTime()).toBeGreaterThanOrEqual(spans[i - 1]!.ended_at!.getTime());
  });

  it("takes over a deployment whose worker was killed once its lease expires", async () => {
    const app = { installationId: 2, repository: "acme/takeover", environment: "production" };
    const dying = startChild({ DATABASE_URL: url!, SCHEMA: schema, SPEC: TINY, LEASE_MS: "600", HANG: `build:${sha(7)}` });
    children.push(dying);
    await dying.waitFor(/^READY$/);
    const id = (await submitter().submit(pushIntent(app, sha(7)))).deploymentId!;
    await dying.waitFor(new RegExp(`^HANG ${id} build$`));
    dying.process.kill("SIGKILL");
    await dying.exited;

    const heir = startChild({ DATABASE_URL: url!, SCHEMA: schema, SPEC: TINY, LEASE_MS: "600" });
    children.push(heir);
    await heir.waitFor(new RegExp(`^PHASE ${id} ACTIVE$`));
    expect(heir.lines).toContain(`BUILD ${id} wk`);
  });
});
