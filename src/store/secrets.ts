// The secrets aggregate: one row per repository, environment and key, holding only what src/secrets/ sealed.
// The store never sees a plaintext value, so it has nothing to leak.
import type { Kysely } from "kysely";
import type { SqlFlavor } from "./flavor.js";
import type { Database } from "./schema.js";

export interface SecretRow {
  repository: string;
  environment: string;
  key: string;
  sealed: string;
  updatedAt: Date;
}

export interface SecretRows {
  put(row: Omit<SecretRow, "updatedAt">): Promise<void>;
  /** Resolves true when a row was removed. */
  remove(repository: string, environment: string, key: string): Promise<boolean>;
  /** Key order. */
  list(repository: string, environment: string): Promise<SecretRow[]>;
  /** Every row of every app (a key rotation re-seals them all). */
  all(): Promise<SecretRow[]>;
  /** Replace `row`'s sealed value only if it still holds `was` (a concurrent set wins over a rotation). */
  reseal(row: Omit<SecretRow, "updatedAt">, was: string): Promise<boolean>;
}

type Row = { repository: string; environment: string; key: string; sealed: string; updated_at: Date | string };

function rowFrom(r: Row): SecretRow {
  return { repository: r.repository, environment: r.environment, key: r.key, sealed: r.sealed, updatedAt: new Date(r.updated_at) };
}

export function createSecretRows(db: Kysely<Database>, flavor: SqlFlavor): SecretRows {
  const columns = ["repository", "environment", "key", "sealed", "updated_at"] as const;
  return {
    async put(row) {
      await db
        .insertInto("secrets")
        .values({ ...row, updated_at: flavor.now })
        .onConflict((oc) => oc.columns(["repository", "environment", "key"]).doUpdateSet({ sealed: row.sealed, updated_at: flavor.now }))
        .execute();
    },
    async remove(repository, environment, key) {
      const result = await db
        .deleteFrom("secrets")
        .where("repository", "=", repository)
        .where("environment", "=", environment)
        .where("key", "=", key)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async list(repository, environment) {
      const rows = await db
        .selectFrom("secrets")
        .select(columns)
        .where("repository", "=", repository)
        .where("environment", "=", environment)
        .orderBy("key")
        .execute();
      return rows.map(rowFrom);
    },
    async all() {
      const rows = await db.selectFrom("secrets").select(columns).orderBy("repository").orderBy("environment").orderBy("key").execute();
      return rows.map(rowFrom);
    },
    async reseal(row, was) {
      const result = await db
        .updateTable("secrets")
        .set({ sealed: row.sealed })
        .where("repository", "=", row.repository)
        .where("environment", "=", row.environment)
        .where("key", "=", row.key)
        .where("sealed", "=", was)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
