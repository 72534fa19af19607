// What differs between the two SQL dialects Berth speaks: column types and a few expressions. Everything
// else (tables, migrations, queries) is written once.
import { sql, type RawBuilder } from "kysely";

export interface SqlFlavor {
  readonly kind: "sqlite" | "postgres";
  /** Column types. */
  readonly json: "jsonb" | "text";
  readonly timestamp: "timestamptz" | "text";
  /** The current time, as the dialect stores a timestamp. */
  readonly now: RawBuilder<Date>;
  /** The current time plus `ms` milliseconds. */
  later(ms: number): RawBuilder<Date>;
  /** The JSON object in `column` with the keys of `json` (JSON text) added or replaced. */
  mergeJson(column: string, json: string): RawBuilder<string>;
  /** PostgreSQL locks rows (FOR UPDATE, SKIP LOCKED) for replicas; SQLite serves one process, one writer. */
  readonly rowLocks: boolean;
  /** The next deployment `seq`, when the dialect has no sequence for a column that is not the key. */
  readonly nextSeq: RawBuilder<string> | undefined;
}

export const postgresFlavor: SqlFlavor = {
  kind: "postgres",
  json: "jsonb",
  timestamp: "timestamptz",
  now: sql<Date>`now()`,
  later: (ms) => sql<Date>`now() + ${ms} * interval '1 millisecond'`,
  mergeJson: (column, json) => sql<string>`${sql.ref(column)} || ${json}::jsonb`,
  rowLocks: true,
  nextSeq: undefined,
};

// ISO 8601 in UTC with milliseconds, exactly as Date#toISOString writes it: text that sorts as time does.
const ISO = "%Y-%m-%dT%H:%M:%fZ";

export const sqliteFlavor: SqlFlavor = {
  kind: "sqlite",
  json: "text",
  timestamp: "text",
  now: sql<Date>`strftime(${sql.lit(ISO)}, 'now')`,
  later: (ms) => sql<Date>`strftime(${sql.lit(ISO)}, 'now', ${`+${ms / 1000} seconds`})`,
  mergeJson: (column, json) => sql<string>`json_patch(${sql.ref(column)}, ${json})`,
  rowLocks: false,
  nextSeq: sql<string>`(SELECT coalesce(max(seq), 0) + 1 FROM deployments)`,
};
