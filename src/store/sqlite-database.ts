// better-sqlite3 under Kysely's SqliteDialect. SQLite has no Date, boolean or JSON type, so values cross
// here: parameters go in as ISO text, 0/1 and JSON text; rows come out with the contract's types again,
// by column name (timestamps end in `_at`; schema.ts lists the JSON and boolean columns).
import { chmodSync, closeSync, openSync } from "node:fs";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from "kysely";
import { BOOLEAN_COLUMNS, JSON_COLUMNS, type Database as Tables } from "./schema.js";

export function toSqliteValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value !== null && typeof value === "object" && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}

function fromSqliteRow(row: unknown): unknown {
  if (row === null || typeof row !== "object") return row;
  const out = row as Record<string, unknown>;
  for (const [key, value] of Object.entries(out)) {
    if (value === null) continue;
    if (key.endsWith("_at") && typeof value === "string") out[key] = new Date(value);
    else if (JSON_COLUMNS.has(key) && typeof value === "string") out[key] = JSON.parse(value);
    else if (BOOLEAN_COLUMNS.has(key)) out[key] = Boolean(value);
  }
  return out;
}

function converting(statement: Database.Statement): SqliteStatement {
  const bind = (parameters: ReadonlyArray<unknown>) => parameters.map(toSqliteValue);
  return {
    reader: statement.reader,
    all: (parameters) => statement.all(bind(parameters)).map(fromSqliteRow),
    run: (parameters) => statement.run(bind(parameters)),
    *iterate(parameters) {
      for (const row of statement.iterate(bind(parameters))) yield fromSqliteRow(row);
    },
  };
}

/**
 * Opens (creating it 0600) the SQLite file at `path`, or an in-memory database for `:memory:`.
 * WAL with synchronous=FULL: a commit is on disk before it returns, so whatever Berth acknowledged (a webhook
 * delivery, a phase) survives a killed process and a power cut alike, as on PostgreSQL. NORMAL would survive
 * a killed process only; Berth commits a few times a second at most, so the fsync per commit is cheap.
 */
export function openSqliteFile(path: string): Database.Database {
  if (path !== ":memory:") {
    closeSync(openSync(path, "a", 0o600));
    chmodSync(path, 0o600);
  }
  const database = new Database(path);
  if (path !== ":memory:") database.pragma("journal_mode = WAL");
  database.pragma("synchronous = FULL");
  database.pragma("busy_timeout = 5000");
  database.pragma("foreign_keys = ON");
  return database;
}

export function sqliteKysely(database: Database.Database): Kysely<Tables> {
  const adapted: SqliteDatabase = {
    prepare: (query) => converting(database.prepare(query)),
    close: () => database.close(),
  };
  return new Kysely<Tables>({ dialect: new SqliteDialect({ database: adapted }) });
}
