// Berth's durable state: apps, deployments with their steps and logs, webhook deliveries, a
// small JSON key-value store for reporters, and the deployment queue with per-app leases. PGlite (embedded
// PostgreSQL in a folder) by default, PostgreSQL when a URL is given; same migrations and queries.
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, Migrator, PostgresDialect, sql, type Selectable, type Transaction } from "kysely";
import pg from "pg";
import type pino from "pino";
import { IllegalTransitionError, NON_FINAL_PHASES, phasesLeadingTo } from "../core/phases.js";
import type { AppKey, Cause, DeploymentError, DeploymentRecord, Phase, StepRecord, StepStatus } from "../core/types.js";
import type { AppRecord, DeploymentInternals, Store } from "../core/store.js";
import { migrationProvider } from "./migrations.js";
import { pgliteDialect } from "./pglite-dialect.js";
import type { AppsTable, Database, DeploymentsTable, StepsTable } from "./schema.js";

export type { Database } from "./schema.js";
export type * from "../core/store.js";

export interface StoreOptions {
  /** `postgres://…`: use PostgreSQL. Otherwise PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Berth's data folder; PGlite keeps its files in `<dataDir>/pgdata`. `memory://` keeps them in memory. */
  dataDir: string;
  log: pino.Logger;
  /** PostgreSQL only: keep every table in this schema (created if missing), e.g. one per test file. */
  schema?: string;
  /** PostgreSQL only: pool size (default 10). */
  poolSize?: number;
}

/** The SQL store: the Store contract plus its Kysely handle (tests and migrations read it). */
export interface SqlStore extends Store {
  readonly db: Kysely<Database>;
}

function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function appFrom(row: Selectable<AppsTable> & { active_sha?: string | null }): AppRecord {
  return {
    id: row.id,
    key: { installationId: Number(row.installation_id), repository: row.repository, environment: row.environment },
    branch: row.branch,
    specName: row.spec_name ?? undefined,
    activeDeploymentId: row.active_deployment_id ?? undefined,
    activeSha: row.active_sha ?? undefined,
    removedAt: row.removed_at ?? undefined,
    removedReason: row.removed_reason ?? undefined,
    createdAt: row.created_at,
  };
}

function recordFrom(row: Selectable<DeploymentsTable>, app: AppKey, steps: Selectable<StepsTable>[] = []): DeploymentRecord {
  return {
    id: row.id,
    appId: row.app_id,
    app,
    sha: row.sha,
    branch: row.branch,
    cause: row.cause as Cause,
    phase: row.phase as Phase,
    message: row.message ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    steps: steps.map(stepFrom),
    url: row.url ?? undefined,
    ...(row.error ? { error: row.error as DeploymentError } : {}),
  };
}

function stepFrom(row: Selectable<StepsTable>): StepRecord {
  return {
    name: row.name,
    component: row.component ?? undefined,
    status: row.status as StepStatus,
    startedAt: row.started_at ?? undefined,
    endedAt: row.ended_at ?? undefined,
    message: row.message ?? undefined,
  };
}

const NON_FINAL = NON_FINAL_PHASES as Phase[];

/** The stop request a running worker reads on its heartbeat: which phase to end in and why. */
function stopReason(phase: "CANCELED" | "SUPERSEDED", message: string): string {
  return JSON.stringify({ phase, message });
}

async function openKysely(opts: StoreOptions): Promise<{ db: Kysely<Database>; kind: Store["kind"] }> {
  if (opts.databaseUrl) {
    const schema = opts.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
      throw new Error(`schema "${schema}" must be a lower-case SQL identifier`);
    }
    if (schema) {
      const client = new pg.Client({ connectionString: opts.databaseUrl });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      } catch (err) {
        // Two processes creating the same schema at once: one loses the race on the catalog's unique index.
        if ((err as { code?: string }).code !== "23505") throw err;
      } finally {
        await client.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), kind: "postgres" };
  }
  let dataDir = opts.dataDir;
  if (!dataDir.startsWith("memory://")) {
    dataDir = join(dataDir, "pgdata");
    mkdirSync(dataDir, { recursive: true });
  }
  const client = await PGlite.create({ dataDir });
  return { db: new Kysely<Database>({ dialect: pgliteDialect(client) }), kind: "pglite" };
}

export async function createStore(opts: StoreOptions): Promise<SqlStore> {
  const { db, kind } = await openKysely(opts);
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    if (r.status === "Success") opts.log.info({ migration: r.migrationName }, "store migrated");
    if (r.status === "Error") opts.log.error({ migration: r.migrationName }, "store migration failed");
  }
  if (error) {
    await db.destroy();
    throw new Error(`store migration failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
  opts.log.debug({ kind }, "store open");

  const deploymentQuery = (q: Kysely<Database> | Transaction<Database>) =>
    q
      .selectFrom("deployments as d")
      .innerJoin("apps as a", "a.id", "d.app_id")
      .selectAll("d")
      .select(["a.installation_id", "a.repository", "a.environment"]);

  async function readDeployment(
    q: Kysely<Database> | Transaction<Database>,
    id: string,
  ): Promise<DeploymentInternals | undefined> {
    const row = await deploymentQuery(q).where("d.id", "=", id).executeTakeFirst();
    if (!row) return undefined;
    const steps = await q.selectFrom("steps").selectAll().where("deployment_id", "=", id).orderBy("position").execute();
    return {
      record: recordFrom(row, { installationId: Number(row.installation_id), repository: row.repository, environment: row.environment }, steps),
      kind: row.kind,
      intent: row.intent,
      spec: row.spec ?? undefined,
      images: row.images ?? {},
      cancelRequested: row.cancel_requested ?? undefined,
      stepResults: new Map(steps.filter((s) => s.result !== null).map((s) => [s.name, s.result])),
    };
  }

  async function mustRead(q: Kysely<Database> | Transaction<Database>, id: string): Promise<DeploymentRecord> {
    const d = await readDeployment(q, id);
    if (!d) throw new Error(`deployment ${id} does not exist`);
    return d.record;
  }

  async function transitionIn(
    q: Kysely<Database> | Transaction<Database>,
    id: string,
    to: Phase,
    fields: { message?: string; url?: string } = {},
  ): Promise<DeploymentRecord> {
    const from = phasesLeadingTo(to);
    const updated = await q
      .updateTable("deployments")
      .set({
        phase: to,
        updated_at: sql`now()`,
        ...(fields.message !== undefined ? { message: fields.message } : {}),
        ...(fields.url !== undefined ? { url: fields.url } : {}),
        ...(NON_FINAL.includes(to) ? {} : { ended_at: sql`now()` }),
      })
      .where("id", "=", id)
      .where("phase", "in", from)
      .returning("id")
      .executeTakeFirst();
    if (!updated) {
      const current = await q.selectFrom("deployments").select("phase").where("id", "=", id).executeTakeFirst();
      throw new IllegalTransitionError(id, (current?.phase as Phase | undefined) ?? null, to);
    }
    return mustRead(q, id);
  }

  async function insertDelivery(q: Transaction<Database>, deliveryId: string | undefined): Promise<boolean> {
    if (deliveryId === undefined) return true;
    const inserted = await q
      .insertInto("deliveries")
      .values({ id: deliveryId })
      .onConflict((oc) => oc.column("id").doNothing())
      .returning("id")
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async function upsertApp(q: Kysely<Database> | Transaction<Database>, key: AppKey, branch: string) {
    return q
      .insertInto("apps")
      .values({
        id: randomUUID(),
        installation_id: key.installationId,
        repository: key.repository,
        environment: key.environment,
        branch,
        spec_name: null,
        active_deployment_id: null,
        removed_reason: null,
        lease_owner: null,
      })
      .onConflict((oc) =>
        oc.constraint("apps_key").doUpdateSet({
          branch,
          removed_at: null,
          removed_reason: null,
          teardown_pending: false,
          updated_at: sql`now()`,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  const store: SqlStore = {
    kind,
    db,
    async close() {
      await db.destroy();
    },

    async recordDelivery(id) {
      return db.transaction().execute((tx) => insertDelivery(tx, id));
    },

    apps: {
      async list(opts = {}) {
        let q = db
          .selectFrom("apps")
          .leftJoin("deployments as d", "d.id", "apps.active_deployment_id")
          .selectAll("apps")
          .select("d.sha as active_sha");
        if (!opts.includeRemoved) q = q.where("apps.removed_at", "is", null);
        if (opts.installationId !== undefined) q = q.where("apps.installation_id", "=", opts.installationId);
        const rows = await q.orderBy("apps.repository").orderBy("apps.environment").execute();
        return rows.map(appFrom);
      },
      async get(id) {
        const row = await db
          .selectFrom("apps")
          .leftJoin("deployments as d", "d.id", "apps.active_deployment_id")
          .selectAll("apps")
          .select("d.sha as active_sha")
          .where("apps.id", "=", id)
          .executeTakeFirst();
        return row ? appFrom(row) : undefined;
      },
      async find(key) {
        const row = await db
          .selectFrom("apps")
          .leftJoin("deployments as d", "d.id", "apps.active_deployment_id")
          .selectAll("apps")
          .select("d.sha as active_sha")
          .where("apps.installation_id", "=", key.installationId)
          .where("apps.repository", "=", key.repository)
          .where("apps.environment", "=", key.environment)
          .executeTakeFirst();
        return row ? appFrom(row) : undefined;
      },
      async upsert(key, { branch }) {
        const row = await upsertApp(db, key, branch);
        return (await store.apps.get(row.id))!;
      },
      async setSpecName(id, specName) {
        await db.updateTable("apps").set({ spec_name: specName, updated_at: sql`now()` }).where("id", "=", id).execute();
      },
      async remove(id, reason) {
        await db
          .updateTable("apps")
          .set({ removed_at: sql`now()`, removed_reason: reason, updated_at: sql`now()` })
          .where("id", "=", id)
          .execute();
      },
    },

    deployments: {
      async get(id) {
        return (await readDeployment(db, id))?.record;
      },
      internals: (id) => readDeployment(db, id),
      async list(appId, opts = {}) {
        let q = db.selectFrom("deployments").select("id").where("app_id", "=", appId);
        if (opts.phases?.length) q = q.where("phase", "in", opts.phases);
        const ids = await q
          .orderBy("seq", "desc")
          .limit(opts.limit ?? 50)
          .execute();
        return Promise.all(ids.map((r) => mustRead(db, r.id)));
      },
      transition: (id, to, fields) => transitionIn(db, id, to, fields),
      async update(id, fields) {
        await db
          .updateTable("deployments")
          .set({
            updated_at: sql`now()`,
            ...(fields.spec !== undefined ? { spec: toJson(fields.spec) } : {}),
            ...(fields.images !== undefined ? { images: sql`images || ${toJson(fields.images)}::jsonb` } : {}),
            ...(fields.message !== undefined ? { message: fields.message } : {}),
            ...(fields.error !== undefined ? { error: toJson(fields.error) } : {}),
          })
          .where("id", "=", id)
          .execute();
      },
      async activate(id, { url }) {
        return db.transaction().execute(async (tx) => {
          const deployment = await transitionIn(tx, id, "ACTIVE", { url });
          const app = await tx
            .selectFrom("apps")
            .select(["active_deployment_id"])
            .where("id", "=", deployment.appId)
            .forUpdate()
            .executeTakeFirstOrThrow();
          await tx
            .updateTable("apps")
            .set({ active_deployment_id: id, updated_at: sql`now()` })
            .where("id", "=", deployment.appId)
            .execute();
          let previous: DeploymentRecord | undefined;
          if (app.active_deployment_id && app.active_deployment_id !== id) {
            previous = await transitionIn(tx, app.active_deployment_id, "SUPERSEDED", {
              message: `replaced by deployment ${id} (${deployment.sha.slice(0, 7)})`,
            });
          }
          return { deployment, previous };
        });
      },
      async requestCancel(id, reason, phase = "CANCELED") {
        const row = await db
          .updateTable("deployments")
          .set({ cancel_requested: stopReason(phase, reason) })
          .where("id", "=", id)
          .where("phase", "in", NON_FINAL)
          .returning("id")
          .executeTakeFirst();
        return row !== undefined;
      },
    },

    steps: {
      async put(deploymentId, step) {
        const values = {
          deployment_id: deploymentId,
          name: step.name,
          position: step.position,
          component: step.component ?? null,
          status: step.status,
          started_at: step.startedAt ?? null,
          ended_at: step.endedAt ?? null,
          message: step.message ?? null,
          result: step.result === undefined ? null : toJson(step.result),
        };
        await db
          .insertInto("steps")
          .values(values)
          .onConflict((oc) =>
            oc.columns(["deployment_id", "name"]).doUpdateSet({
              status: values.status,
              started_at: values.started_at,
              ended_at: values.ended_at,
              message: values.message,
              result: values.result,
            }),
          )
          .execute();
      },
    },

    logs: {
      async append(deploymentId, step, text) {
        if (text === "") return;
        await db.insertInto("logs").values({ deployment_id: deploymentId, step, text }).execute();
      },
      async read(deploymentId, opts = {}) {
        let q = db.selectFrom("logs").selectAll().where("deployment_id", "=", deploymentId);
        if (opts.step !== undefined) q = q.where("step", "=", opts.step);
        if (opts.afterId !== undefined) q = q.where("id", ">", String(opts.afterId));
        const rows = await q
          .orderBy("id")
          .limit(opts.limit ?? 10_000)
          .execute();
        return rows.map((r) => ({ id: Number(r.id), step: r.step, text: r.text, createdAt: r.created_at }));
      },
      async *follow(deploymentId, opts = {}) {
        let afterId: number | undefined;
        const pollMs = opts.pollMs ?? 500;
        while (!opts.signal?.aborted) {
          const current = await db.selectFrom("deployments").select("phase").where("id", "=", deploymentId).executeTakeFirst();
          const chunks = await store.logs.read(deploymentId, { step: opts.step, afterId });
          for (const chunk of chunks) {
            afterId = chunk.id;
            yield chunk;
          }
          if (!current || !NON_FINAL.includes(current.phase as Phase)) return;
          if (chunks.length === 0) await new Promise((resolve) => setTimeout(resolve, pollMs));
        }
      },
    },

    state: {
      async get<T>(key: string) {
        const row = await db.selectFrom("state").select("value").where("key", "=", key).executeTakeFirst();
        return row?.value as T | undefined;
      },
      async set(key, value) {
        await db
          .insertInto("state")
          .values({ key, value: toJson(value) })
          .onConflict((oc) => oc.column("key").doUpdateSet({ value: toJson(value), updated_at: sql`now()` }))
          .execute();
      },
      async delete(key) {
        await db.deleteFrom("state").where("key", "=", key).execute();
      },
    },

    queue: {
      async enqueue(n) {
        const outcome = await db.transaction().execute(async (tx) => {
          if (!(await insertDelivery(tx, n.deliveryId))) return undefined;
          const app = await upsertApp(tx, n.app, n.branch);
          const id = randomUUID();
          const superseded: DeploymentRecord[] = [];
          if (n.supersedeQueued) {
            const rows = await tx
              .updateTable("deployments")
              .set({
                phase: "SUPERSEDED",
                message: `superseded by ${n.sha.slice(0, 7)} (deployment ${id}) before it started`,
                updated_at: sql`now()`,
                ended_at: sql`now()`,
              })
              .where("app_id", "=", app.id)
              .where("phase", "=", "PENDING_BUILD")
              .where("kind", "!=", "restart")
              .returningAll()
              .execute();
            // Never started, so no steps: the records need no second read.
            superseded.push(...rows.map((r) => recordFrom(r, n.app)));
          }
          const cancelRequested: string[] = [];
          if (n.cancelRunningBuild) {
            const rows = await tx
              .updateTable("deployments")
              .set({
                cancel_requested: stopReason("SUPERSEDED", `superseded by ${n.sha.slice(0, 7)} (deployment ${id}) while building`),
              })
              .where("app_id", "=", app.id)
              .where("phase", "in", ["PENDING_BUILD", "BUILDING"])
              .where("cancel_requested", "is", null)
              .returning("id")
              .execute();
            cancelRequested.push(...rows.map((r) => r.id));
          }
          const inserted = await tx
            .insertInto("deployments")
            .values({
              id,
              app_id: app.id,
              kind: n.kind,
              sha: n.sha,
              branch: n.branch,
              cause: toJson(n.cause),
              intent: toJson(n.intent),
              phase: "PENDING_BUILD",
              message: null,
              spec: n.spec === undefined ? null : toJson(n.spec),
              images: toJson(n.images ?? {}),
              url: null,
              cancel_requested: null,
              delivery_id: n.deliveryId ?? null,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          return { deployment: recordFrom(inserted, n.app), superseded, cancelRequested };
        });
        if (!outcome) return { accepted: false, superseded: [], cancelRequested: [] };
        return { accepted: true, ...outcome };
      },

      async enqueueTeardown(appId, reason, deliveryId) {
        const outcome = await db.transaction().execute(async (tx) => {
          if (!(await insertDelivery(tx, deliveryId))) return undefined;
          await tx
            .updateTable("apps")
            .set({ removed_at: sql`now()`, removed_reason: reason, teardown_pending: true, updated_at: sql`now()` })
            .where("id", "=", appId)
            .execute();
          const canceled = await tx
            .updateTable("deployments")
            .set({ phase: "CANCELED", message: `canceled: ${reason}`, updated_at: sql`now()`, ended_at: sql`now()` })
            .where("app_id", "=", appId)
            .where("phase", "=", "PENDING_BUILD")
            .returning("id")
            .execute();
          await tx
            .updateTable("deployments")
            .set({ cancel_requested: stopReason("CANCELED", `canceled: ${reason}`) })
            .where("app_id", "=", appId)
            .where("phase", "in", NON_FINAL)
            .execute();
          return canceled.map((r) => r.id);
        });
        if (!outcome) return { accepted: false, canceled: [] };
        return { accepted: true, canceled: await Promise.all(outcome.map((id) => mustRead(db, id))) };
      },

      async claim(workerId, leaseMs, exclude) {
        const pendingSeq = sql<string>`(SELECT min(d.seq) FROM deployments d WHERE d.app_id = a.id AND d.phase IN (${sql.join(NON_FINAL)}))`;
        const candidate = db
          .selectFrom("apps as a")
          .select("a.id")
          .where((eb) =>
            eb.or([eb("a.lease_owner", "is", null), eb("a.lease_expires_at", "<", sql<Date>`now()`)]),
          )
          .where((eb) => eb.or([eb("a.teardown_pending", "=", true), eb(pendingSeq, "is not", null)]))
          .$if(exclude.length > 0, (q) => q.where("a.id", "not in", exclude))
          .orderBy(pendingSeq, (ob) => ob.asc().nullsFirst())
          .limit(1)
          .forUpdate()
          .skipLocked();
        const claimed = await db
          .updateTable("apps")
          .set({
            lease_owner: workerId,
            lease_expires_at: sql`now() + ${leaseMs} * interval '1 millisecond'`,
          })
          .where("id", "=", (eb) => eb.selectFrom(candidate.as("c")).select("c.id"))
          .returning(["id", "teardown_pending"])
          .executeTakeFirst();
        if (!claimed) return undefined;
        // An interrupted deployment (further than PENDING_BUILD) comes first, then the oldest queued one.
        const next = await db
          .selectFrom("deployments")
          .select("id")
          .where("app_id", "=", claimed.id)
          .where("phase", "in", NON_FINAL)
          .orderBy(sql`phase = 'PENDING_BUILD'`)
          .orderBy("seq")
          .limit(1)
          .executeTakeFirst();
        return { appId: claimed.id, deploymentId: next?.id, teardown: next === undefined && claimed.teardown_pending };
      },

      async heartbeat(appId, workerId, leaseMs) {
        const row = await db
          .updateTable("apps")
          .set({ lease_expires_at: sql`now() + ${leaseMs} * interval '1 millisecond'` })
          .where("id", "=", appId)
          .where("lease_owner", "=", workerId)
          .returning("id")
          .executeTakeFirst();
        return row !== undefined;
      },

      async release(appId, workerId) {
        await db
          .updateTable("apps")
          .set({ lease_owner: null, lease_expires_at: null })
          .where("id", "=", appId)
          .where("lease_owner", "=", workerId)
          .execute();
      },

      async finishTeardown(appId) {
        await db
          .updateTable("apps")
          .set({ teardown_pending: false, active_deployment_id: null, updated_at: sql`now()` })
          .where("id", "=", appId)
          .execute();
      },

      async stopRequest(deploymentId) {
        const row = await db.selectFrom("deployments").select("cancel_requested").where("id", "=", deploymentId).executeTakeFirst();
        return row?.cancel_requested ?? undefined;
      },

      async releaseAll() {
        await db.updateTable("apps").set({ lease_owner: null, lease_expires_at: null }).where("lease_owner", "is not", null).execute();
      },

      async pending() {
        const row = await db
          .selectFrom("deployments")
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .where("phase", "in", NON_FINAL)
          .executeTakeFirstOrThrow();
        return Number(row.n);
      },
    },
  };
  return store;
}
