// Opening the database and bringing its schema up to date: SQLite in the data folder by default,
// PostgreSQL when a URL is given.
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import pg from "pg";
import type pino from "pino";
import { postgresFlavor, sqliteFlavor, type SqlFlavor } from "./flavor.js";
import { copyPgliteInto } from "./import-pglite.js";
import { backfillTrust, migrationProvider } from "./migrations.js";
import type { Database } from "./schema.js";
import { openSqliteFile, sqliteKysely } from "./sqlite-database.js";

export interface StoreOptions {
  /** `postgres://…`: use PostgreSQL. Otherwise SQLite under `dataDir`. */
  databaseUrl?: string;
  /** Berth's data folder; SQLite keeps its file in `<dataDir>/berth.sqlite`. `memory://` keeps it in memory. */
  dataDir: string;
  log: pino.Logger;
  /** PostgreSQL only: keep every table in this schema (created if missing), e.g. one per test file. */
  schema?: string;
  /** PostgreSQL only: pool size (default 10). */
  poolSize?: number;
}

export interface OpenDatabase {
  db: Kysely<Database>;
  flavor: SqlFlavor;
  /** PostgreSQL: the schema the tables live in, when not the default one. */
  schema?: string;
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
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), flavor: postgresFlavor, schema };
}

function removeSqliteFiles(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${path}${suffix}`, { force: true });
}

/**
 * Berth before 0.2 kept its state in PGlite under `<dataDir>/pgdata`. Its rows are copied into a staging
 * SQLite file that becomes `berth.sqlite` only once complete, so an upgrade interrupted at any point starts
 * over on the next run; then pgdata is renamed, kept for the operator to delete.
 */
async function importPglite(pgdata: string, file: string, log: pino.Logger): Promise<void> {
  const staging = `${file}.importing`;
  removeSqliteFiles(staging);
  const database = openSqliteFile(staging);
  const db = sqliteKysely(database);
  try {
    await migrate(db, sqliteFlavor, log);
    const counts = await copyPgliteInto(pgdata, database);
    // The copied rows predate the trust columns: they got the defaults, not what migration 0004 would set.
    await backfillTrust(db, sqliteFlavor);
    await db.destroy();
    renameSync(staging, file);
    renameSync(pgdata, `${pgdata}.migrated`);
    log.warn({ from: pgdata, to: file, rows: counts }, "store moved from PGlite to SQLite; the old folder is kept as pgdata.migrated");
  } catch (err) {
    await db.destroy().catch(() => undefined);
    removeSqliteFiles(staging);
    throw new Error(`moving the store from PGlite (${pgdata}) to SQLite failed: ${(err as Error).message}`, { cause: err });
  }
}

async function openEmbedded(dataDir: string, log: pino.Logger): Promise<OpenDatabase> {
  if (dataDir.startsWith("memory://")) return { db: sqliteKysely(openSqliteFile(":memory:")), flavor: sqliteFlavor };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, "berth.sqlite");
  const pgdata = join(dataDir, "pgdata");
  if (existsSync(pgdata) && !existsSync(file)) await importPglite(pgdata, file, log);
  return { db: sqliteKysely(openSqliteFile(file)), flavor: sqliteFlavor };
}

export function openDatabase(opts: StoreOptions): Promise<OpenDatabase> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openEmbedded(opts.dataDir, opts.log);
}

/**
 * Runs every pending migration; closes the database and throws if one fails. The Migrator is told the schema:
 * without it, it takes a migration table in any schema of the database for its own.
 */
export async function migrate(db: Kysely<Database>, flavor: SqlFlavor, log: pino.Logger, schema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(flavor), migrationTableSchema: schema });
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
