// The webhook inbox: one row in `state` per delivery acknowledged and not yet acted on, under
// `github:inbox:<id>` (the keys Berth has always used, so entries left by an older Berth are still found; the
// single index document it also kept, `github:inbox`, is no longer read). A delivery's id, its body's digest and
// its entry are written in one transaction with the rest of its batch: one commit per batch, not four per delivery.
import type { Kysely, Transaction } from "kysely";
import type { InboxStore, InboxVerdict } from "../core/ports.js";
import type { SqlFlavor } from "./flavor.js";
import { toJson } from "./rows.js";
import type { Database } from "./schema.js";
import { insertDelivery } from "./state.js";

const PREFIX = "github:inbox:";

async function putEntry(tx: Transaction<Database>, f: SqlFlavor, entry: { id: string }): Promise<void> {
  const value = toJson(entry);
  await tx
    .insertInto("state")
    .values({ key: `${PREFIX}${entry.id}`, value })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: f.now }))
    .execute();
}

export function createInbox(db: Kysely<Database>, f: SqlFlavor): InboxStore {
  return {
    commitInbox: ({ accept, put, remove }) =>
      db.transaction().execute(async (tx) => {
        const verdicts: InboxVerdict[] = [];
        for (const d of accept) {
          if (!(await insertDelivery(tx, d.id))) verdicts.push("redelivery");
          else if (d.digest !== undefined && !(await insertDelivery(tx, `sha256:${d.digest}`))) verdicts.push("replay");
          else {
            await putEntry(tx, f, d.entry);
            verdicts.push("new");
          }
        }
        for (const entry of put) await putEntry(tx, f, entry);
        if (remove.length > 0) await tx.deleteFrom("state").where("key", "in", remove.map((id) => `${PREFIX}${id}`)).execute();
        return verdicts;
      }),
    async listInbox() {
      const rows = await db
        .selectFrom("state")
        .select(["value", "updated_at"])
        .where("key", "like", `${PREFIX}%`)
        .orderBy("updated_at")
        .execute();
      return rows.map((r) => r.value).filter((v) => typeof v === "object" && v !== null);
    },
  };
}
