// Opening the database and bringing its schema up to date.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import pg from "pg";
import type pino from "pino";
import type { Store } from "../core/store.js";
import { migrationProvider } from "./migrations.js";
import { pgliteDialect } from "./pglite-dialect.js";
import type { Database } from "./schema.js";

export interface StoreOptions {
  /** `postgres://…`: use PostgreSQL. Otherwise PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Berth's data folder; PGlite keeps its files in `<dataDir>/pgdata`. `memory://` keeps them in memory. */
  dataDir: string;
  log: pino.Logger;
  /** PostgreSQL only: keep every table in this schema (created if missing), e.g. one per test file. */
  schema?: string;
  /** PostgreSQL only: pool size (default 10). */
  poolSize?: number;
}

export interface OpenDatabase {
  db: Kysely<Database>;
  kind: Store["kind"];
}

async function createSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (err) {
    // Two processes creating the same schema at once: one loses the race on the catalog's unique index.
    if ((err as { code?: string }).code !== "23505") throw err;
  } finally {
    await client.end();
  }
}

async function openPostgres(url: string, opts: StoreOptions): Promise<OpenDatabase> {
  const schema = opts.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new Error(`schema "${schema}" must be a lower-case SQL identifier`);
  }
  if (schema) await createSchema(url, schema);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), kind: "postgres" };
}

async function openEmbedded(opts: StoreOptions): Promise<OpenDatabase> {
  let dataDir = opts.dataDir;
  if (!dataDir.startsWith("memory://")) {
    dataDir = join(dataDir, "pgdata");
    mkdirSync(dataDir, { recursive: true });
  }
  const client = await PGlite.create({ dataDir });
  return { db: new Kysely<Database>({ dialect: pgliteDialect(client) }), kind: "pglite" };
}

export function openDatabase(opts: StoreOptions): Promise<OpenDatabase> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openEmbedded(opts);
}

/** Runs every pending migration; closes the database and throws if one fails. */
export async function migrate(db: Kysely<Database>, log: pino.Logger): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    if (r.status === "Success") log.info({ migration: r.migrationName }, "store migrated");
    if (r.status === "Error") log.error({ migration: r.migrationName }, "store migration failed");
  }
  if (error) {
    await db.destroy();
    throw new Error(`store migration failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}
