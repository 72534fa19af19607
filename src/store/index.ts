// Berth's durable state: apps, deployments with their steps and logs, webhook deliveries, a small JSON
// key-value store for reporters, and the deployment queue with per-app leases. SQLite (one file in the data
// folder) by default, PostgreSQL when a URL is given (several replicas); same schema, migrations and queries.
import type { Kysely } from "kysely";
import type { Store } from "../core/store.js";
import { createApps } from "./apps.js";
import { createDeployments, createSteps } from "./deployments.js";
import { createInbox } from "./inbox.js";
import { createLogs } from "./logs.js";
import { createNames } from "./names.js";
import { migrate, openDatabase, type StoreOptions } from "./open.js";
import { createQueue } from "./queue.js";
import { createRetention } from "./retention.js";
import { createSecretRows, type SecretRows } from "./secrets.js";
import type { Database } from "./schema.js";
import { createTokens, type TokenStore } from "./tokens.js";
import { createRecordDelivery, createState } from "./state.js";

export type { Database } from "./schema.js";
export type { StoreOptions } from "./open.js";
export type { SecretRows } from "./secrets.js";
export type { TokenStore } from "./tokens.js";
export type * from "../core/store.js";

/** The SQL store: the Store contract plus its Kysely handle (tests and migrations read it). */
export interface SqlStore extends Store {
  readonly db: Kysely<Database>;
  /** Sealed secret values (src/secrets/ seals and opens them); outside the Store contract, which the pipeline sees. */
  readonly secretRows: SecretRows;
  /** API tokens (not in the core Store contract: only the HTTP API asks for them). */
  tokens: TokenStore;
}

export async function createStore(opts: StoreOptions): Promise<SqlStore> {
  const { db, flavor, schema } = await openDatabase(opts);
  await migrate(db, flavor, opts.log, schema);
  opts.log.debug({ kind: flavor.kind }, "store open");
  return {
    kind: flavor.kind,
    db,
    close: () => db.destroy(),
    recordDelivery: createRecordDelivery(db),
    ...createInbox(db, flavor),
    apps: createApps(db, flavor),
    deployments: createDeployments(db, flavor),
    steps: createSteps(db),
    logs: createLogs(db),
    retention: createRetention(db),
    state: createState(db, flavor),
    names: createNames(db),
    queue: createQueue(db, flavor),
    secretRows: createSecretRows(db, flavor),
    tokens: createTokens(db, flavor),
  };
}
