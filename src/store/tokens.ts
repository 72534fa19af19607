// The API tokens aggregate: each token Berth issued, kept as the SHA-256 of its text (tokens are 256 random
// bits, so a plain digest is as good as a slow hash and lets a request find its row by one indexed lookup).
// Revoking keeps the row, so `berth tokens list` still shows who had access until when.
import { randomUUID } from "node:crypto";
import type { Kysely, Migration, sql } from "kysely";
import type { SqlFlavor } from "./flavor.js";
import type { Database } from "./schema.js";

export interface TokenRecord {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt?: Date;
  revokedAt?: Date;
}

export interface TokenStore {
  /** `hash` is the hex SHA-256 of the token's text; the text itself is never stored. */
  create(name: string, hash: string): Promise<TokenRecord>;
  /** The live (not revoked) token with this hash; marks it used. */
  use(hash: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  /** Resolves true when a live token was revoked. */
  revoke(id: string): Promise<boolean>;
}

interface TokenRow {
  id: string;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const fromRow = (row: TokenRow): TokenRecord => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
  ...(row.last_used_at ? { lastUsedAt: row.last_used_at } : {}),
  ...(row.revoked_at ? { revokedAt: row.revoked_at } : {}),
});

const LAST_USED_GRANULARITY_MS = 60_000;
const COLUMNS = ["id", "name", "created_at", "last_used_at", "revoked_at"] as const;

export function createTokens(db: Kysely<Database>, f: SqlFlavor): TokenStore {
  return {
    async create(name, hash) {
      const row = await db.insertInto("api_tokens").values({ id: randomUUID(), name, hash }).returning(COLUMNS).executeTakeFirstOrThrow();
      return fromRow(row);
    },
    async use(hash) {
      const row = await db.selectFrom("api_tokens").select(COLUMNS).where("hash", "=", hash).where("revoked_at", "is", null).executeTakeFirst();
      if (!row) return undefined;
      // At most one write a minute per token: every API request is a lookup, not a commit.
      if (row.last_used_at && Date.now() - row.last_used_at.getTime() < LAST_USED_GRANULARITY_MS) return fromRow(row);
      const used = await db.updateTable("api_tokens").set({ last_used_at: f.now }).where("id", "=", row.id).returning(COLUMNS).executeTakeFirst();
      return fromRow(used ?? row);
    },
    async list() {
      const rows = await db.selectFrom("api_tokens").select(COLUMNS).orderBy("created_at").orderBy("id").execute();
      return rows.map(fromRow);
    },
    async revoke(id) {
      const rows = await db
        .updateTable("api_tokens")
        .set({ revoked_at: f.now })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .returning("id")
        .execute();
      return rows.length > 0;
    },
  };
}

/** Migration 0008: the api_tokens table, the digest unique (a lookup by it is the login). */
export function tokensMigration(ts: SqlFlavor["timestamp"], now: ReturnType<typeof sql>): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", ts, (c) => c.notNull().defaultTo(now))
        .addColumn("last_used_at", ts)
        .addColumn("revoked_at", ts)
        .execute();
    },
  };
}
