// Upgrading from a Berth that kept its state in PGlite (`<dataDir>/pgdata`): the first open copies every row
// into SQLite and sets the old folder aside.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely } from "kysely";
import { afterEach, expect, it } from "vitest";
import { createApps } from "../../src/store/apps.js";
import { createDeployments, createSteps } from "../../src/store/deployments.js";
import { postgresFlavor } from "../../src/store/flavor.js";
import { createStore, type Database } from "../../src/store/index.js";
import { createLogs } from "../../src/store/logs.js";
import { migrate } from "../../src/store/open.js";
import { createQueue } from "../../src/store/queue.js";
import { createRecordDelivery, createState } from "../../src/store/state.js";
import { silentLog } from "./open-store.js";
import { pgliteDialect } from "./pglite-dialect.js";

const app = { installationId: 4_000_000_001, repository: "acme/old", environment: "production" };
let dataDir: string;

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/** A store as Berth wrote it on PGlite: the PostgreSQL migrations and queries, on PGlite in pgdata. */
async function writeOldStore(pgdata: string) {
  mkdirSync(pgdata, { recursive: true });
  const db = new Kysely<Database>({ dialect: pgliteDialect(await PGlite.create({ dataDir: pgdata })) });
  await migrate(db, postgresFlavor, silentLog);
  const queue = createQueue(db, postgresFlavor);
  const deployments = createDeployments(db, postgresFlavor);
  const push = (sha: string) => ({
    app,
    branch: "main",
    kind: "deploy" as const,
    sha,
    cause: { type: "push" as const, sha, ref: "refs/heads/main" },
    intent: { kind: "deploy", sha },
    deliveryId: `delivery-${sha}`,
    supersedeQueued: true,
    cancelRunningBuild: false,
  });
  const { deployment } = await queue.enqueue(push("a".repeat(40)));
  const id = deployment!.id;
  for (const phase of ["BUILDING", "PENDING_DEPLOY", "DEPLOYING"] as const) await deployments.transition(id, phase);
  await deployments.update(id, { images: { web: "web:1" } });
  await deployments.activate(id, { url: "http://old.localhost" });
  await createSteps(db).put(id, { name: "source", position: 0, status: "SUCCESS", startedAt: new Date(), result: { dir: "/x" } });
  await createLogs(db).append(id, "source", "fetched\n");
  await createLogs(db).append(id, "source", "done\n");
  await createState(db, postgresFlavor).set("check-run:old", { id: 7 });
  await createRecordDelivery(db)("delivery-seen");
  await createApps(db, postgresFlavor).setSpecName(deployment!.appId, "old");
  await db.destroy();
  return id;
}

it("copies a PGlite store into SQLite at first open and renames pgdata", { timeout: 120_000 }, async () => {
  dataDir = mkdtempSync(join(tmpdir(), "berth-upgrade-"));
  const pgdata = join(dataDir, "pgdata");
  const id = await writeOldStore(pgdata);

  const store = await createStore({ dataDir, log: silentLog });
  try {
    expect(existsSync(pgdata)).toBe(false);
    expect(existsSync(`${pgdata}.migrated`)).toBe(true);
    expect(statSync(join(dataDir, "berth.sqlite")).mode & 0o777).toBe(0o600);

    const found = await store.apps.find(app);
    expect(found).toMatchObject({ key: app, specName: "old", activeDeploymentId: id, activeSha: "a".repeat(40) });
    expect(found!.createdAt).toBeInstanceOf(Date);
    const internals = await store.deployments.internals(id);
    expect(internals!.record).toMatchObject({ phase: "ACTIVE", url: "http://old.localhost", cause: { type: "push" } });
    expect(internals!.record.createdAt).toBeInstanceOf(Date);
    expect(internals!.images).toEqual({ web: "web:1" });
    expect(internals!.stepResults.get("source")).toEqual({ dir: "/x" });
    expect((await store.logs.read(id)).map((c) => c.text)).toEqual(["fetched\n", "done\n"]);
    expect(await store.state.get("check-run:old")).toEqual({ id: 7 });
    expect(await store.recordDelivery("delivery-seen")).toBe(false);
    expect(await store.recordDelivery(`delivery-${"a".repeat(40)}`)).toBe(false);

    // Sequences go on after the copied rows.
    const { deployment } = await store.queue.enqueue({
      app,
      branch: "main",
      kind: "deploy",
      sha: "b".repeat(40),
      cause: { type: "push", sha: "b".repeat(40), ref: "refs/heads/main" },
      intent: {},
      supersedeQueued: true,
      cancelRunningBuild: false,
    });
    expect((await store.deployments.list(found!.id)).map((d) => d.id)).toEqual([deployment!.id, id]);
    await store.logs.append(deployment!.id, "source", "new\n");
    const [newer] = await store.logs.read(deployment!.id);
    expect(newer!.id).toBeGreaterThan((await store.logs.read(id))[1]!.id);
  } finally {
    await store.close();
  }

  // The next open finds the SQLite file and leaves pgdata.migrated alone.
  const again = await createStore({ dataDir, log: silentLog });
  expect((await again.apps.find(app))!.activeDeploymentId).toBe(id);
  await again.close();
});

it("creates the data folder 0700 and the database file 0600", async () => {
  dataDir = join(mkdtempSync(join(tmpdir(), "berth-modes-")), "data");
  const store = await createStore({ dataDir, log: silentLog });
  await store.recordDelivery("x");
  expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  expect(statSync(join(dataDir, "berth.sqlite")).mode & 0o777).toBe(0o600);
  expect(statSync(join(dataDir, "berth.sqlite-wal")).mode & 0o777).toBe(0o600);
  await store.close();
  rmSync(join(dataDir, ".."), { recursive: true, force: true });
});
