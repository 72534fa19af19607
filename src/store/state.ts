// Small durable facts: webhook deliveries already seen, and the reporters' JSON key-value state.
import type { Kysely, Transaction } from "kysely";
import type { Store } from "../core/store.js";
import type { SqlFlavor } from "./flavor.js";
import { toJson } from "./rows.js";
import type { Database } from "./schema.js";

/** true when the delivery is new (or has no id); false when it was seen before. */
export async function insertDelivery(q: Transaction<Database>, deliveryId: string | undefined): Promise<boolean> {
  if (deliveryId === undefined) return true;
  const inserted = await q
    .insertInto("deliveries")
    .values({ id: deliveryId })
    .onConflict((oc) => oc.column("id").doNothing())
    .returning("id")
    .executeTakeFirst();
  return inserted !== undefined;
}

export function createRecordDelivery(db: Kysely<Database>): Store["recordDelivery"] {
  return (id) => db.transaction().execute((tx) => insertDelivery(tx, id));
}

export function createState(db: Kysely<Database>, f: SqlFlavor): Store["state"] {
  return {
    async get<T>(key: string) {
      const row = await db.selectFrom("state").select("value").where("key", "=", key).executeTakeFirst();
      return row?.value as T | undefined;
    },
    async set(key, value) {
      await db
        .insertInto("state")
        .values({ key, value: toJson(value) })
        .onConflict((oc) => oc.column("key").doUpdateSet({ value: toJson(value), updated_at: f.now }))
        .execute();
    },
    async delete(key) {
      await db.deleteFrom("state").where("key", "=", key).execute();
    },
  };
}
