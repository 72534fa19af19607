// Versioned migrations, run at open by Kysely's Migrator (which holds an advisory lock, so replicas starting
// together migrate once). One set for both dialects: only column types and defaults differ, through the
// flavor. Append new migrations; never edit a released one.
import { sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import { NON_FINAL_PHASES } from "../core/phases.js";
import type { SqlFlavor } from "./flavor.js";
import { tokensMigration } from "./tokens.js";

// Written into the partial index as literals: a CREATE INDEX cannot take bound parameters.
const NON_FINAL = sql.raw(`phase IN (${NON_FINAL_PHASES.map((p) => `'${p}'`).join(", ")})`);

function migrations(f: SqlFlavor): Record<string, Migration> {
  // A column default that is an expression needs parentheses in SQLite.
  const now = f.kind === "sqlite" ? sql`(${f.now})` : f.now;
  const ts = f.timestamp;
  const json = f.json;
  return {
    "0001_initial": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("installations")
          .addColumn("id", "bigint", (c) => c.primaryKey())
          .addColumn("account", "text", (c) => c.notNull())
          .addColumn("created_at", ts, (c) => c.notNull().defaultTo(now))
          .addColumn("removed_at", ts)
          .execute();

        await db.schema
          .createTable("apps")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("installation_id", "bigint", (c) => c.notNull())
          .addColumn("repository", "text", (c) => c.notNull())
          .addColumn("environment", "text", (c) => c.notNull())
          .addColumn("branch", "text", (c) => c.notNull())
          .addColumn("spec_name", "text")
          .addColumn("active_deployment_id", "text")
          .addColumn("removed_at", ts)
          .addColumn("removed_reason", "text")
          .addColumn("teardown_pending", "boolean", (c) => c.notNull().defaultTo(false))
          .addColumn("lease_owner", "text")
          .addColumn("lease_expires_at", ts)
          .addColumn("created_at", ts, (c) => c.notNull().defaultTo(now))
          .addColumn("updated_at", ts, (c) => c.notNull().defaultTo(now))
          .addUniqueConstraint("apps_key", ["installation_id", "repository", "environment"])
          .execute();

        await db.schema
          .createTable("deployments")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("app_id", "text", (c) => c.notNull().references("apps.id").onDelete("cascade"))
          // SQLite has no sequence outside the key: the insert fills seq (flavor.nextSeq).
          .addColumn("seq", f.kind === "sqlite" ? "integer" : "bigserial", (c) => c.notNull())
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("sha", "text", (c) => c.notNull())
          .addColumn("branch", "text", (c) => c.notNull())
          .addColumn("cause", json, (c) => c.notNull())
          .addColumn("intent", json, (c) => c.notNull())
          .addColumn("phase", "text", (c) => c.notNull())
          .addColumn("message", "text")
          .addColumn("spec", json)
          .addColumn("images", json, (c) => c.notNull().defaultTo(f.kind === "sqlite" ? sql`'{}'` : sql`'{}'::jsonb`))
          .addColumn("url", "text")
          .addColumn("cancel_requested", "text")
          .addColumn("delivery_id", "text")
          .addColumn("created_at", ts, (c) => c.notNull().defaultTo(now))
          .addColumn("updated_at", ts, (c) => c.notNull().defaultTo(now))
          .addColumn("ended_at", ts)
          .execute();
        await db.schema.createIndex("deployments_app_seq").on("deployments").columns(["app_id", "seq"]).execute();
        await sql`CREATE INDEX deployments_unfinished ON deployments (app_id, seq) WHERE ${NON_FINAL}`.execute(db);

        await db.schema
          .createTable("steps")
          .addColumn("deployment_id", "text", (c) => c.notNull().references("deployments.id").onDelete("cascade"))
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("position", "integer", (c) => c.notNull())
          .addColumn("component", "text")
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("started_at", ts)
          .addColumn("ended_at", ts)
          .addColumn("message", "text")
          .addColumn("result", json)
          .addPrimaryKeyConstraint("steps_pkey", ["deployment_id", "name"])
          .execute();

        await db.schema
          .createTable("logs")
          .addColumn("id", f.kind === "sqlite" ? "integer" : "bigserial", (c) =>
            f.kind === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn("deployment_id", "text", (c) => c.notNull().references("deployments.id").onDelete("cascade"))
          .addColumn("step", "text", (c) => c.notNull())
          .addColumn("text", "text", (c) => c.notNull())
          .addColumn("created_at", ts, (c) => c.notNull().defaultTo(now))
          .execute();
        await db.schema.createIndex("logs_deployment").on("logs").columns(["deployment_id", "id"]).execute();

        await db.schema
          .createTable("deliveries")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("received_at", ts, (c) => c.notNull().defaultTo(now))
          .execute();

        await db.schema
          .createTable("state")
          .addColumn("key", "text", (c) => c.primaryKey())
          .addColumn("value", json, (c) => c.notNull())
          .addColumn("updated_at", ts, (c) => c.notNull().defaultTo(now))
          .execute();
      },
    },
    "0002_deployment_error": {
      async up(db: Kysely<unknown>) {
        // A failed deployment keeps its catalog code and details, so reporters read the code, not the text.
        await db.schema.alterTable("deployments").addColumn("error", json).execute();
      },
    },
    "0003_drop_installations": {
      async up(db: Kysely<unknown>) {
        // Written and never read: installations are GitHub's to know.
        await db.schema.dropTable("installations").ifExists().execute();
      },
    },
    "0004_trust": trustMigration(f),
    "0005_claims": claimsMigration(ts, now),
    "0006_retention_indexes": retentionIndexesMigration(),
    "0007_secrets": secretsMigration(ts, now),
    "0008_api_tokens": tokensMigration(ts, now),
  };
}

/** Every router name and custom domain belongs to one app; the key makes a second claimant fail. */
function claimsMigration(ts: SqlFlavor["timestamp"], now: ReturnType<typeof sql>): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // Every router name and custom domain belongs to one app; the key makes a second claimant fail.
      await db.schema
        .createTable("claims")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("app_id", "text", (c) => c.notNull().references("apps.id").onDelete("cascade"))
        .addColumn("created_at", ts, (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema.createIndex("claims_app").on("claims").column("app_id").execute();
      await claimServedNames(db as Kysely<ServedNamesDb>);
    },
  };
}

/** Operator-set SECRET values, sealed by src/secrets/ before they reach the store (never plaintext). */
function secretsMigration(ts: SqlFlavor["timestamp"], now: ReturnType<typeof sql>): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("secrets")
        .addColumn("repository", "text", (c) => c.notNull())
        .addColumn("environment", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("sealed", "text", (c) => c.notNull())
        .addColumn("updated_at", ts, (c) => c.notNull().defaultTo(now))
        .addPrimaryKeyConstraint("secrets_pkey", ["repository", "environment", "key"])
        .execute();
    },
  };
}

function retentionIndexesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // The retention sweep deletes by age in small batches; without these each batch would scan the table.
      await db.schema.createIndex("logs_created_at").on("logs").column("created_at").execute();
      await db.schema.createIndex("deliveries_received_at").on("deliveries").column("received_at").execute();
      await db.schema.createIndex("state_updated_at").on("state").column("updated_at").execute();
    },
  };
}

/** Trust is stored, not derived from the cause: a fork's preview stays untrusted whatever redeploys it. */
function trustMigration(f: SqlFlavor): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("apps").addColumn("untrusted", "boolean", (c) => c.notNull().defaultTo(false)).execute();
      await db.schema.alterTable("deployments").addColumn("untrusted", "boolean", (c) => c.notNull().defaultTo(false)).execute();
      await db.schema.alterTable("deployments").addColumn("secrets", "text", (c) => c.notNull().defaultTo("production")).execute();
      await backfillTrust(db, f);
    },
  };
}

/**
 * Marks what older rows only implied: an app a fork's pull request deployed to, and all its deployments, are
 * untrusted; no preview deployment gets secrets. Also run after rows are copied in from an older schema.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw SQL on any schema version
export async function backfillTrust(db: Kysely<any>, f: SqlFlavor): Promise<void> {
  const yes = f.kind === "sqlite" ? sql`1` : sql`true`;
  const forkCause =
    f.kind === "sqlite"
      ? sql`json_extract(cause, '$.type') = 'pull_request' AND json_extract(cause, '$.fork') = 1`
      : sql`cause->>'type' = 'pull_request' AND (cause->>'fork')::boolean`;
  await sql`UPDATE apps SET untrusted = ${yes} WHERE id IN (SELECT app_id FROM deployments WHERE ${forkCause})`.execute(db);
  await sql`UPDATE deployments SET untrusted = ${yes} WHERE app_id IN (SELECT id FROM apps WHERE untrusted)`.execute(db);
  await sql`UPDATE deployments SET secrets = 'none'
    WHERE untrusted OR app_id IN (SELECT id FROM apps WHERE environment <> 'production')`.execute(db);
}

interface ServedNamesDb {
  apps: { id: string; environment: string; active_deployment_id: string | null; created_at: unknown };
  deployments: { id: string; spec: unknown };
  claims: { name: string; kind: string; app_id: string };
}

/**
 * Apps serving before 0005 keep what they serve: each active app claims its router label and (production)
 * its domains, the oldest app first where two share one. The label rule is the pipeline's appNameFor as of
 * this migration, written out here because a migration must not change when that code does.
 */
async function claimServedNames(db: Kysely<ServedNamesDb>): Promise<void> {
  const rows = await db
    .selectFrom("apps as a")
    .innerJoin("deployments as d", "d.id", "a.active_deployment_id")
    .select(["a.id", "a.environment", "d.spec"])
    .orderBy("a.created_at")
    .orderBy("a.id")
    .execute();
  for (const row of rows) {
    const spec = (typeof row.spec === "string" ? JSON.parse(row.spec) : row.spec) as { name?: string; domains?: { domain: string }[] } | null;
    if (!spec?.name) continue;
    const production = row.environment === "production";
    const label = (production ? spec.name : `${spec.name}-${row.environment}`)
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-")
      .slice(0, 63)
      .replace(/-+$/, "");
    const domains = production ? (spec.domains ?? []).map((d) => d.domain.toLowerCase().replace(/\.$/, "")) : [];
    const values = [{ name: label, kind: "host" }, ...domains.map((d) => ({ name: d, kind: "domain" }))];
    await db
      .insertInto("claims")
      .values(values.map((v) => ({ ...v, app_id: row.id })))
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
  }
}

export function migrationProvider(flavor: SqlFlavor): MigrationProvider {
  return { getMigrations: async () => migrations(flavor) };
}
