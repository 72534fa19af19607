// The names aggregate: which app owns each router host label and custom domain. The name is the key, so of
// two apps claiming one name at once exactly one wins, on either dialect.
import type { Kysely } from "kysely";
import type { AppNames, NameConflict, Store } from "../core/store.js";
import type { Queryable } from "./rows.js";
import type { Database } from "./schema.js";

type Wanted = { value: string; kind: "host" | "domain" };

function wantedOf(names: AppNames): Wanted[] {
  const all: Wanted[] = [{ value: names.host, kind: "host" }, ...names.domains.map((d) => ({ value: d, kind: "domain" as const }))];
  return [...new Map(all.map((w) => [w.value, w])).values()];
}

/** Thrown inside the claim's transaction to roll its inserts back. */
class Taken extends Error {
  constructor(readonly conflict: NameConflict) {
    super(`${conflict.value} is taken`);
  }
}

async function claimIn(tx: Queryable, appId: string, wanted: Wanted[]): Promise<void> {
  await tx
    .insertInto("claims")
    .values(wanted.map((w) => ({ name: w.value, kind: w.kind, app_id: appId })))
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const foreign = await tx
    .selectFrom("claims as c")
    .innerJoin("apps as a", "a.id", "c.app_id")
    .select(["c.name", "c.kind", "c.app_id", "a.installation_id", "a.repository", "a.environment"])
    .where("c.name", "in", wanted.map((w) => w.value))
    .where("c.app_id", "!=", appId)
    .execute();
  // Report in the order asked: the host first, then the domains as the spec lists them.
  const first = wanted.map((w) => foreign.find((f) => f.name === w.value)).find((f) => f !== undefined);
  if (!first) return;
  throw new Taken({
    kind: first.kind,
    value: first.name,
    owner: {
      appId: first.app_id,
      app: { installationId: Number(first.installation_id), repository: first.repository, environment: first.environment },
    },
  });
}

export async function releaseNames(q: Queryable, appId: string, keep?: AppNames): Promise<void> {
  const kept = keep ? wantedOf(keep).map((w) => w.value) : [];
  await q
    .deleteFrom("claims")
    .where("app_id", "=", appId)
    .$if(kept.length > 0, (d) => d.where("name", "not in", kept))
    .execute();
}

export function createNames(db: Kysely<Database>): Store["names"] {
  return {
    async claim(appId, names) {
      try {
        await db.transaction().execute((tx) => claimIn(tx, appId, wantedOf(names)));
        return undefined;
      } catch (err) {
        if (err instanceof Taken) return err.conflict;
        throw err;
      }
    },
    release: (appId, keep) => releaseNames(db, appId, keep),
  };
}
