// Opens a store for tests: SQLite in memory, or PostgreSQL in a fresh schema that is dropped afterwards.
import { randomBytes } from "node:crypto";
import pg from "pg";
import pino from "pino";
import { createStore, type SqlStore, type Store } from "../../src/store/index.js";

export const silentLog = pino({ level: "silent" });

export function freshSchema(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export interface TestStore {
  store: SqlStore;
  /** PostgreSQL: the schema the tables live in. */
  schema?: string;
  cleanup(): Promise<void>;
}

export async function openTestStore(kind: Store["kind"], url?: string | null): Promise<TestStore> {
  if (kind === "sqlite") {
    const store = await createStore({ dataDir: "memory://", log: silentLog });
    return { store, cleanup: () => store.close() };
  }
  if (!url) throw new Error("PostgreSQL URL missing");
  const schema = freshSchema("berth_test");
  const store = await createStore({ dataDir: "unused", databaseUrl: url, schema, log: silentLog });
  return {
    store,
    schema,
    async cleanup() {
      await store.close();
      await dropSchema(url, schema);
    },
  };
}
