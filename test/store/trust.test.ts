import { Kysely, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AppKey, Cause } from "../../src/core/types.js";
import type { NewDeployment, Store } from "../../src/store/index.js";
import { postgresFlavor, sqliteFlavor } from "../../src/store/flavor.js";
import { migrationProvider } from "../../src/store/migrations.js";
import { openSqliteFile, sqliteKysely } from "../../src/store/sqlite-database.js";
import { postgresUrl } from "../helpers/services.js";
import { dropSchema, freshSchema, openTestStore, type TestStore } from "./open-store.js";

const url = postgresUrl();
const backends: { kind: Store["kind"] }[] = [{ kind: "sqlite" }, ...(url ? [{ kind: "postgres" as const }] : [])];
if (!url) console.log("trust store tests: PostgreSQL skipped (set BERTH_TEST_DATABASE_URL)");

let counter = 0;
const SHA = "a".repeat(40);
const forkPr: Cause = { type: "pull_request", number: 7, sha: SHA, headRepository: "mallory/shop", fork: true };

function entry(app: AppKey, cause: Cause, extra: Partial<NewDeployment> = {}): NewDeployment {
  return { app, branch: "feature", kind: "deploy", sha: SHA, cause, intent: {}, supersedeQueued: false, cancelRunningBuild: false, ...extra };
}

describe.each(backends)("trust marks on $kind", ({ kind }) => {
  let t: TestStore;
  let store: Store;
  let preview: AppKey;
  beforeAll(async () => {
    t = await openTestStore(kind, url);
    store = t.store;
  });
  afterAll(async () => t.cleanup());
  beforeEach(() => {
    preview = { installationId: 1, repository: `acme/shop-${++counter}`, environment: "pr-7" };
  });

  it("marks a fork's deployment and its app untrusted, with no secrets whatever the caller allows", async () => {
    const { deployment } = await store.queue.enqueue(entry(preview, forkPr, { secrets: "production" }));
    expect(deployment).toMatchObject({ untrusted: true, secrets: "none" });
    expect(await store.apps.find(preview)).toMatchObject({ untrusted: true });
    expect(await store.deployments.get(deployment!.id)).toMatchObject({ untrusted: true, secrets: "none" });
  });

  it("keeps the app's mark for every later cause, and after the preview was removed and opened again", async () => {
    await store.queue.enqueue(entry(preview, forkPr));
    const later: Cause[] = [
      { type: "manual", by: "maintainer" },
      { type: "force_rebuild" },
      { type: "rollback", toDeploymentId: "x" },
      { type: "restart" },
      { type: "catch_up", sha: SHA },
    ];
    for (const cause of later) {
      const { deployment } = await store.queue.enqueue(entry(preview, cause, { secrets: "production" }));
      expect(deployment, cause.type).toMatchObject({ untrusted: true, secrets: "none" });
    }
    const app = (await store.apps.find(preview))!;
    await store.apps.remove(app.id, "pull request closed");
    await store.apps.upsert(preview, { branch: "feature" });
    const again = await store.queue.enqueue(entry(preview, { ...forkPr, fork: false }, { secrets: "production" }));
    expect(again.deployment).toMatchObject({ untrusted: true, secrets: "none" });
  });

  it("stores the caller's decision for trusted apps (production by default)", async () => {
    const production = { ...preview, environment: "production" };
    const push: Cause = { type: "push", sha: SHA, ref: "refs/heads/main" };
    expect((await store.queue.enqueue(entry(production, push))).deployment).toMatchObject({ untrusted: false, secrets: "production" });
    const same = await store.queue.enqueue(entry(preview, { ...forkPr, fork: false }, { secrets: "none" }));
    expect(same.deployment).toMatchObject({ untrusted: false, secrets: "none" });
    expect(await store.apps.find(production)).toMatchObject({ untrusted: false });
  });
});

async function migratedTo(db: Kysely<unknown>, provider: ReturnType<typeof migrationProvider>, name: string, schema?: string) {
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  const { error } = name === "latest" ? await migrator.migrateToLatest() : await migrator.migrateTo(name);
  if (error) throw error;
}

describe.each(backends)("migration 0004 on $kind", ({ kind }) => {
  it("marks existing fork apps and their deployments untrusted, and existing previews secret-less", async () => {
    const schema = kind === "postgres" ? freshSchema("berth_trust") : undefined;
    let db: Kysely<unknown>;
    if (kind === "postgres") {
      const pool = new pg.Pool({ connectionString: url!, options: `-c search_path=${schema}` });
      db = new Kysely({ dialect: new PostgresDialect({ pool }) });
      await sql`CREATE SCHEMA ${sql.id(schema!)}`.execute(db);
    } else {
      db = sqliteKysely(openSqliteFile(":memory:")) as unknown as Kysely<unknown>;
    }
    const provider = migrationProvider(kind === "postgres" ? postgresFlavor : sqliteFlavor);
    try {
      await migratedTo(db, provider, "0003_drop_installations", schema);
      const app = (id: string, environment: string) => ({ id, installation_id: 1, repository: "acme/shop", environment, branch: "main" });
      await db.insertInto("apps" as never).values([app("prod", "production"), app("fork", "pr-7"), app("same", "pr-8")] as never).execute();
      const deployment = (id: string, appId: string, seq: number, cause: Cause) => ({
        id,
        app_id: appId,
        seq,
        kind: "deploy",
        sha: SHA,
        branch: "main",
        cause: JSON.stringify(cause),
        intent: "{}",
        phase: "ACTIVE",
      });
      await db
        .insertInto("deployments" as never)
        .values([
          deployment("p1", "prod", 1, { type: "push", sha: SHA, ref: "refs/heads/main" }),
          deployment("f1", "fork", 2, forkPr),
          deployment("f2", "fork", 3, { type: "manual" }),
          deployment("s1", "same", 4, { ...forkPr, fork: false }),
        ] as never)
        .execute();
      await migratedTo(db, provider, "latest", schema);
      const apps = await sql<{ id: string; untrusted: unknown }>`SELECT id, untrusted FROM apps ORDER BY id`.execute(db);
      expect(apps.rows.map((r) => [r.id, Boolean(r.untrusted)])).toEqual([["fork", true], ["prod", false], ["same", false]]);
      const rows = await sql<{ id: string; untrusted: unknown; secrets: string }>`SELECT id, untrusted, secrets FROM deployments ORDER BY id`.execute(db);
      expect(rows.rows.map((r) => [r.id, Boolean(r.untrusted), r.secrets])).toEqual([
        ["f1", true, "none"],
        ["f2", true, "none"],
        ["p1", false, "production"],
        ["s1", false, "none"],
      ]);
    } finally {
      await db.destroy();
      if (schema) await dropSchema(url!, schema);
    }
  });
});
