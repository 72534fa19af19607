// The deployment queue: durable intents per app, per-app leases with heartbeats, teardowns.
import { randomUUID } from "node:crypto";
import { sql, type Kysely, type Transaction } from "kysely";
import type { DeploymentRecord } from "../core/types.js";
import type { NewDeployment, Store } from "../core/store.js";
import type { SqlFlavor } from "./flavor.js";
import { upsertApp } from "./apps.js";
import { mustRead, NON_FINAL } from "./deployments.js";
import { recordFrom, stopReason, toJson } from "./rows.js";
import type { Database } from "./schema.js";
import { insertDelivery } from "./state.js";

type Tx = Transaction<Database>;

/** Queued (never started, so step-less) deployments of the app become SUPERSEDED by deployment `id`. */
async function supersedeQueued(tx: Tx, f: SqlFlavor, appId: string, n: NewDeployment, id: string): Promise<DeploymentRecord[]> {
  const rows = await tx
    .updateTable("deployments")
    .set({
      phase: "SUPERSEDED",
      message: `superseded by ${n.sha.slice(0, 7)} (deployment ${id}) before it started`,
      updated_at: f.now,
      ended_at: f.now,
    })
    .where("app_id", "=", appId)
    .where("phase", "=", "PENDING_BUILD")
    .where("kind", "!=", "restart")
    .returningAll()
    .execute();
  return rows.map((r) => recordFrom(r, n.app));
}

async function cancelRunningBuild(tx: Tx, appId: string, n: NewDeployment, id: string): Promise<string[]> {
  const rows = await tx
    .updateTable("deployments")
    .set({ cancel_requested: stopReason("SUPERSEDED", `superseded by ${n.sha.slice(0, 7)} (deployment ${id}) while building`) })
    .where("app_id", "=", appId)
    .where("phase", "in", ["PENDING_BUILD", "BUILDING"])
    .where("cancel_requested", "is", null)
    .returning("id")
    .execute();
  return rows.map((r) => r.id);
}

/** Code from a fork's pull request; nobody with write access vetted it. */
function fromFork(n: NewDeployment): boolean {
  return n.cause.type === "pull_request" && n.cause.fork;
}

async function enqueueIn(tx: Tx, f: SqlFlavor, n: NewDeployment) {
  if (!(await insertDelivery(tx, n.deliveryId))) return undefined;
  const app = await upsertApp(tx, f, n.app, n.branch, fromFork(n));
  // Trust is the app's, not the cause's: a button press, rollback or restart of a fork's preview stays untrusted.
  const untrusted = Boolean(app.untrusted);
  const id = randomUUID();
  const superseded = n.supersedeQueued ? await supersedeQueued(tx, f, app.id, n, id) : [];
  const cancelRequested = n.cancelRunningBuild ? await cancelRunningBuild(tx, app.id, n, id) : [];
  const inserted = await tx
    .insertInto("deployments")
    .values({
      id,
      ...(f.nextSeq ? { seq: f.nextSeq } : {}),
      app_id: app.id,
      kind: n.kind,
      sha: n.sha,
      branch: n.branch,
      cause: toJson(n.cause),
      intent: toJson(n.intent),
      untrusted,
      secrets: untrusted ? "none" : (n.secrets ?? "production"),
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
}

async function enqueueTeardownIn(tx: Tx, f: SqlFlavor, appId: string, reason: string, deliveryId: string | undefined) {
  if (!(await insertDelivery(tx, deliveryId))) return undefined;
  await tx
    .updateTable("apps")
    .set({ removed_at: f.now, removed_reason: reason, teardown_pending: true, updated_at: f.now })
    .where("id", "=", appId)
    .execute();
  const canceled = await tx
    .updateTable("deployments")
    .set({ phase: "CANCELED", message: `canceled: ${reason}`, updated_at: f.now, ended_at: f.now })
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
}

async function claim(db: Kysely<Database>, f: SqlFlavor, workerId: string, leaseMs: number, exclude: string[]) {
  const pendingSeq = sql<string>`(SELECT min(d.seq) FROM deployments d WHERE d.app_id = a.id AND d.phase IN (${sql.join(NON_FINAL)}))`;
  const candidate = db
    .selectFrom("apps as a")
    .select("a.id")
    .where((eb) => eb.or([eb("a.lease_owner", "is", null), eb("a.lease_expires_at", "<", f.now)]))
    .where((eb) => eb.or([eb("a.teardown_pending", "=", true), eb(pendingSeq, "is not", null)]))
    .$if(exclude.length > 0, (q) => q.where("a.id", "not in", exclude))
    .orderBy(pendingSeq, (ob) => ob.asc().nullsFirst())
    .limit(1)
    .$if(f.rowLocks, (q) => q.forUpdate().skipLocked());
  const claimed = await db
    .updateTable("apps")
    .set({ lease_owner: workerId, lease_expires_at: f.later(leaseMs) })
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
}

export function createQueue(db: Kysely<Database>, f: SqlFlavor): Store["queue"] {
  return {
    async enqueue(n) {
      const outcome = await db.transaction().execute((tx) => enqueueIn(tx, f, n));
      if (!outcome) return { accepted: false, superseded: [], cancelRequested: [] };
      return { accepted: true, ...outcome };
    },
    async enqueueTeardown(appId, reason, deliveryId) {
      const outcome = await db.transaction().execute((tx) => enqueueTeardownIn(tx, f, appId, reason, deliveryId));
      if (!outcome) return { accepted: false, canceled: [] };
      return { accepted: true, canceled: await Promise.all(outcome.map((id) => mustRead(db, id))) };
    },
    claim: (workerId, leaseMs, exclude) => claim(db, f, workerId, leaseMs, exclude),
    async heartbeat(appId, workerId, leaseMs) {
      const row = await db
        .updateTable("apps")
        .set({ lease_expires_at: f.later(leaseMs) })
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
        .set({ teardown_pending: false, active_deployment_id: null, updated_at: f.now })
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
  };
}
