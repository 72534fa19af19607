// The apps aggregate: one row per (installation, repository, environment), with its active deployment.
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { AppKey } from "../core/types.js";
import type { Store } from "../core/store.js";
import type { SqlFlavor } from "./flavor.js";
import { appFrom, type Queryable } from "./rows.js";
import type { Database } from "./schema.js";

/**
 * Insert the app, or bring a removed one back on its branch. `untrusted` only ever sets the app's mark: once
 * a fork deployed to an app key, everything deployed there later is untrusted too.
 */
export function upsertApp(q: Queryable, f: SqlFlavor, key: AppKey, branch: string, untrusted = false) {
  return q
    .insertInto("apps")
    .values({
      id: randomUUID(),
      installation_id: key.installationId,
      repository: key.repository,
      environment: key.environment,
      branch,
      spec_name: null,
      untrusted,
      active_deployment_id: null,
      removed_reason: null,
      lease_owner: null,
    })
    .onConflict((oc) =>
      oc.columns(["installation_id", "repository", "environment"]).doUpdateSet({
        branch,
        untrusted: sql<boolean>`apps.untrusted OR excluded.untrusted`,
        removed_at: null,
        removed_reason: null,
        teardown_pending: false,
        updated_at: f.now,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

function withActiveSha(db: Kysely<Database>) {
  return db
    .selectFrom("apps")
    .leftJoin("deployments as d", "d.id", "apps.active_deployment_id")
    .selectAll("apps")
    .select("d.sha as active_sha");
}

export function createApps(db: Kysely<Database>, f: SqlFlavor): Store["apps"] {
  const apps: Store["apps"] = {
    async list(opts = {}) {
      let q = withActiveSha(db);
      if (!opts.includeRemoved) q = q.where("apps.removed_at", "is", null);
      if (opts.installationId !== undefined) q = q.where("apps.installation_id", "=", opts.installationId);
      const rows = await q.orderBy("apps.repository").orderBy("apps.environment").execute();
      return rows.map(appFrom);
    },
    async get(id) {
      const row = await withActiveSha(db).where("apps.id", "=", id).executeTakeFirst();
      return row ? appFrom(row) : undefined;
    },
    async find(key) {
      const row = await withActiveSha(db)
        .where("apps.installation_id", "=", key.installationId)
        .where("apps.repository", "=", key.repository)
        .where("apps.environment", "=", key.environment)
        .executeTakeFirst();
      return row ? appFrom(row) : undefined;
    },
    async upsert(key, { branch }) {
      const row = await upsertApp(db, f, key, branch);
      return (await apps.get(row.id))!;
    },
    async setSpecName(id, specName) {
      await db.updateTable("apps").set({ spec_name: specName, updated_at: f.now }).where("id", "=", id).execute();
    },
    async remove(id, reason) {
      await db
        .updateTable("apps")
        .set({ removed_at: f.now, removed_reason: reason, updated_at: f.now })
        .where("id", "=", id)
        .execute();
    },
  };
  return apps;
}
