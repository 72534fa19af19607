// The retention sweep: old deployments (with their steps and logs), old log chunks, old webhook deliveries and
// finished inbox entries. Every delete takes at most BATCH rows, so on SQLite (one writer) a sweep holds the
// lock for one short statement at a time and webhooks and deploys keep writing in between.
import { setImmediate as turn } from "node:timers/promises";
import { sql, type Kysely } from "kysely";
import type { PruneResult, RetentionPolicy, Store } from "../core/store.js";
import { NON_FINAL } from "./deployments.js";
import type { Database } from "./schema.js";

const BATCH = 500;

/** Repeats `deleteBatch` (which deletes at most BATCH rows) until it deletes fewer; the total deleted. */
async function inBatches(deleteBatch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteBatch();
    total += n;
    if (n < BATCH) return total;
    // better-sqlite3 answers synchronously: let webhooks and pages in between two batches.
    await turn();
  }
}

const deleted = (result: { numDeletedRows: bigint }[]) => Number(result.reduce((n, r) => n + r.numDeletedRows, 0n));

/** Final deployments of `appId` beyond the newest `keep`, never its ACTIVE one. */
async function expiredDeployments(db: Kysely<Database>, appId: string, active: string | null, keep: number): Promise<string[]> {
  const rows = await db
    .selectFrom("deployments")
    .select(["id", "phase"])
    .where("app_id", "=", appId)
    .orderBy("seq", "desc")
    .offset(keep)
    .limit(1_000_000)
    .execute();
  return rows.filter((r) => !NON_FINAL.includes(r.phase as (typeof NON_FINAL)[number]) && r.id !== active).map((r) => r.id);
}

async function deleteDeployments(db: Kysely<Database>, ids: string[]): Promise<number> {
  let count = 0;
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = ids.slice(i, i + BATCH);
    // Logs first, in batches: a cascade from one deployment with a huge log would be one long statement.
    await inBatches(async () =>
      deleted(
        await db
          .deleteFrom("logs")
          .where("id", "in", (eb) => eb.selectFrom("logs").select("id").where("deployment_id", "in", batch).limit(BATCH))
          .execute(),
      ),
    );
    count += deleted(await db.deleteFrom("deployments").where("id", "in", batch).execute());
  }
  return count;
}

async function keptImages(db: Kysely<Database>, appId: string): Promise<string[]> {
  const rows = await db.selectFrom("deployments").select("images").where("app_id", "=", appId).execute();
  return [...new Set(rows.flatMap((r) => Object.values(r.images ?? {})))].sort();
}

async function pruneDeployments(db: Kysely<Database>, keep: number): Promise<Pick<PruneResult, "deployments" | "apps">> {
  const apps = await db.selectFrom("apps").select(["id", "active_deployment_id"]).execute();
  const result: Pick<PruneResult, "deployments" | "apps"> = { deployments: 0, apps: [] };
  for (const app of apps) {
    const expired = await expiredDeployments(db, app.id, app.active_deployment_id, keep);
    if (expired.length === 0) continue;
    result.deployments += await deleteDeployments(db, expired);
    result.apps.push({ appId: app.id, keptImages: await keptImages(db, app.id) });
  }
  return result;
}

function pruneLogs(db: Kysely<Database>, before: Date): Promise<number> {
  return inBatches(async () =>
    deleted(
      await db
        .deleteFrom("logs")
        .where("id", "in", (eb) => eb.selectFrom("logs").select("id").where("created_at", "<", before).limit(BATCH))
        .execute(),
    ),
  );
}

async function pruneDeliveries(db: Kysely<Database>, before: Date): Promise<number> {
  const deliveries = await inBatches(async () =>
    deleted(
      await db
        .deleteFrom("deliveries")
        .where("id", "in", (eb) => eb.selectFrom("deliveries").select("id").where("received_at", "<", before).limit(BATCH))
        .execute(),
    ),
  );
  // The inbox leaves a JSON null behind for each delivery it finished (webhooks/inbox.ts).
  await inBatches(async () =>
    deleted(
      await db
        .deleteFrom("state")
        .where("key", "in", (eb) =>
          eb
            .selectFrom("state")
            .select("key")
            .where("key", "like", "github:inbox:%")
            .where(sql<string>`cast(value as text)`, "=", "null")
            .where("updated_at", "<", before)
            .limit(BATCH),
        )
        .execute(),
    ),
  );
  return deliveries;
}

export function createRetention(db: Kysely<Database>): Store["retention"] {
  return {
    async prune(policy: RetentionPolicy): Promise<PruneResult> {
      const { deployments, apps } = await pruneDeployments(db, policy.keepDeployments);
      const logs = await pruneLogs(db, policy.logsBefore);
      const deliveries = await pruneDeliveries(db, policy.deliveriesBefore);
      return { deployments, logs, deliveries, apps };
    },
  };
}
