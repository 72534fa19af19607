// Pipeline queue benchmark: 1,000 deploy intents across 100 apps, on SQLite (on disk) and on PostgreSQL
// (BERTH_TEST_DATABASE_URL or DATABASE_URL, in a throw-away schema). Reports intents enqueued per second
// against a plain single-row INSERT loop (the peer: the least any durable enqueue can cost), the latency of
// one dispatch (claiming the next app's work with its lease) with the backlog in place, and how long the
// pipeline takes to drain the backlog through the in-memory runtime.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import pg from "pg";
import pino from "pino";
import { createPipeline, isFinal, type Intent } from "../src/pipeline/index.js";
import { createMemoryRuntime } from "../src/runtime/memory/index.js";
import { createStore, type SqlStore as Store } from "../src/store/index.js";
import { FakeSource } from "../test/pipeline/helpers.js";

const INTENTS = 1_000;
const APPS = 100;
const log = pino({ level: "silent" });
const TINY = "name: tiny\nworkers:\n  - name: wk\n    github: { repo: acme/tiny, branch: main }\n";

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const pct = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

function intent(i: number): Intent {
  const sha = i.toString(16).padStart(40, "0");
  return {
    kind: "deploy",
    app: { installationId: 1, repository: `acme/app-${i % APPS}`, environment: "production" },
    branch: "main",
    sha,
    cause: { type: "push", sha, ref: "refs/heads/main" },
  };
}

async function peerInserts(store: Store): Promise<number> {
  const json = store.kind === "postgres" ? sql`jsonb` : sql`text`;
  await sql`CREATE TABLE IF NOT EXISTS bench_peer (id text PRIMARY KEY, app text NOT NULL, sha text NOT NULL, payload ${json} NOT NULL)`.execute(store.db);
  const start = process.hrtime.bigint();
  for (let i = 0; i < INTENTS; i++) {
    const it = intent(i);
    await sql`INSERT INTO bench_peer (id, app, sha, payload) VALUES (${`p${i}`}, ${it.kind === "deploy" ? it.app.repository : ""}, ${String(i)}, ${JSON.stringify(it)})`.execute(store.db);
  }
  return INTENTS / (ms(start) / 1000);
}

async function measure(label: string, store: Store) {
  const peerRate = await peerInserts(store);
  const source = new FakeSource();
  source.specs.set("default", TINY);
  const workDir = mkdtempSync(join(tmpdir(), "berth-bench-"));
  const pipeline = createPipeline({ store, runtime: createMemoryRuntime(), source, log, workDir, concurrency: 2, pollMs: 50, logFlushMs: 20 });

  let start = process.hrtime.bigint();
  const ids: string[] = [];
  for (let i = 0; i < INTENTS; i++) ids.push((await pipeline.submit(intent(i), { deliveryId: `${label}-${i}` })).deploymentId!);
  const enqueueRate = INTENTS / (ms(start) / 1000);
  const queued = await store.queue.pending();

  // Dispatch: claim the next app with work (FOR UPDATE SKIP LOCKED, lease) with the whole backlog in the table.
  const claimMs: number[] = [];
  const claimed: string[] = [];
  for (let i = 0; i < 50; i++) {
    start = process.hrtime.bigint();
    const claim = await store.queue.claim("bench", 30_000, claimed);
    claimMs.push(ms(start));
    if (!claim) break;
    claimed.push(claim.appId);
  }
  for (const appId of claimed) await store.queue.release(appId, "bench");

  // Drain: every runnable deployment through the whole pipeline (in-memory runtime, concurrency 2).
  const live = (await store.db.selectFrom("deployments").select("id").where("phase", "=", "PENDING_BUILD").execute()).map((r) => r.id);
  const done = new Set<string>();
  const finished = new Promise<void>((resolve) =>
    pipeline.on((e) => {
      if (e.type === "deployment.phase" && isFinal(e.phase) && e.phase !== "SUPERSEDED") {
        done.add(e.deployment.id);
        if (live.every((id) => done.has(id))) resolve();
      }
    }),
  );
  start = process.hrtime.bigint();
  await pipeline.start();
  await finished;
  const drainMs = ms(start);
  await pipeline.stop(1_000);
  rmSync(workDir, { recursive: true, force: true });

  console.log(`${label}:`);
  console.log(`  enqueue  ${enqueueRate.toFixed(0)} intents/s (submit: delivery dedupe + app upsert + supersede + insert, one transaction)`);
  console.log(`  peer     ${peerRate.toFixed(0)} rows/s (single-row INSERT loop)  → submit costs ${(peerRate / enqueueRate).toFixed(1)}× an INSERT`);
  console.log(`  backlog  ${INTENTS} intents over ${APPS} apps → ${queued} runnable (newest per app), ${INTENTS - queued} superseded`);
  console.log(`  dispatch claim p50 ${pct(claimMs, 50).toFixed(2)} ms, p95 ${pct(claimMs, 95).toFixed(2)} ms (${claimMs.length} claims)`);
  console.log(`  drain    ${live.length} deployments in ${(drainMs / 1000).toFixed(2)} s = ${(live.length / (drainMs / 1000)).toFixed(1)} deployments/s`);
}

const dataDir = mkdtempSync(join(tmpdir(), "berth-bench-sqlite-"));
const sqlite = await createStore({ dataDir, log });
await measure("SQLite (on disk)", sqlite);
await sqlite.close();
rmSync(dataDir, { recursive: true, force: true });

const url = process.env.BERTH_TEST_DATABASE_URL ?? process.env.DATABASE_URL;
if (url) {
  const schema = `berth_bench_${process.pid}`;
  const postgres = await createStore({ dataDir: "unused", databaseUrl: url, schema, log });
  try {
    await measure("PostgreSQL", postgres);
  } finally {
    await postgres.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
} else {
  console.log("PostgreSQL: skipped (set BERTH_TEST_DATABASE_URL or DATABASE_URL)");
}
