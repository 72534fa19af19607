// Reads an old PGlite data folder and copies every row of Berth's tables into a fresh SQLite store, in one
// transaction. PGlite is imported only here, when such a folder exists: it costs some 600 MB while open.
import type Database from "better-sqlite3";
import { toSqliteValue } from "./sqlite-database.js";

/** In foreign-key order. */
const TABLES = ["apps", "deployments", "steps", "logs", "deliveries", "state"] as const;

export async function copyPgliteInto(pgdata: string, target: Database.Database): Promise<Record<string, number>> {
  const { PGlite } = await import("@electric-sql/pglite");
  const source = await PGlite.create({ dataDir: pgdata });
  try {
    const rows: Record<string, Record<string, unknown>[]> = {};
    for (const table of TABLES) {
      const exists = await source.query<{ found: string | null }>(`SELECT to_regclass($1) AS found`, [`public.${table}`]);
      rows[table] = exists.rows[0]?.found ? (await source.query<Record<string, unknown>>(`SELECT * FROM ${table}`)).rows : [];
    }
    const counts: Record<string, number> = {};
    target.transaction(() => {
      for (const table of TABLES) counts[table] = insertAll(target, table, rows[table]!);
    })();
    return counts;
  } finally {
    await source.close();
  }
}

/** Inserts the rows' columns that the SQLite table has; columns an older schema lacked keep their default. */
function insertAll(target: Database.Database, table: string, rows: Record<string, unknown>[]): number {
  if (rows.length === 0) return 0;
  const known = new Set((target.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
  const columns = Object.keys(rows[0]!).filter((c) => known.has(c));
  const insert = target.prepare(
    `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
  );
  for (const row of rows) insert.run(columns.map((c) => toSqliteValue(row[c])));
  return rows.length;
}
