// Berth's durable state: apps, deployments with their steps and logs, webhook deliveries, a small JSON
// key-value store for reporters, and the deployment queue with per-app leases. PGlite (embedded PostgreSQL in
// a folder) by default, PostgreSQL when a URL is given; same migrations and queries.
import type { Kysely } from "kysely";
import type { Store } from "../core/store.js";
import { createApps } from "./apps.js";
import { createDeployments, createSteps } from "./deployments.js";
import { createLogs } from "./logs.js";
import { migrate, openDatabase, type StoreOptions } from "./open.js";
import { createQueue } from "./queue.js";
import type { Database } from "./schema.js";
import { createRecordDelivery, createState } from "./state.js";

export type { Database } from "./schema.js";
export type { StoreOptions } from "./open.js";
export type * from "../core/store.js";

/** The SQL store: the Store contract plus its Kysely handle (tests and migrations read it). */
export interface SqlStore extends Store {
  readonly db: Kysely<Database>;
}

export async function createStore(opts: StoreOptions): Promise<SqlStore> {
  const { db, kind } = await openDatabase(opts);
  await migrate(db, opts.log);
  opts.log.debug({ kind }, "store open");
  return {
    kind,
    db,
    close: () => db.destroy(),
    recordDelivery: createRecordDelivery(db),
    apps: createApps(db),
    deployments: createDeployments(db),
    steps: createSteps(db),
    logs: createLogs(db),
    state: createState(db),
    queue: createQueue(db),
  };
}
