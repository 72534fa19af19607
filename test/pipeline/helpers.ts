// Shared pieces for pipeline tests: a SourceProvider serving specs from memory, a pipeline on an in-memory
// SQLite store (PostgreSQL with BERTH_TEST_STORE=postgres), and waiting on events rather than on time.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPipeline, isFinal, type Pipeline, type PipelineOptions } from "../../src/pipeline/index.js";
import type { FetchedSpec, SourceProvider } from "../../src/core/ports.js";
import type { AppKey, DeploymentRecord, PipelineEvent } from "../../src/core/types.js";
import { createMemoryRuntime, type MemoryRuntime, type MemoryRuntimeOptions } from "../../src/runtime/memory/index.js";
import { NON_FINAL_PHASES } from "../../src/core/phases.js";
import type { SqlStore as Store } from "../../src/store/index.js";
import { postgresUrl } from "../helpers/services.js";
import { openTestStore, silentLog, type TestStore } from "../store/open-store.js";

export const TOKEN = `ghs_${"T0k3n".repeat(8)}abcd`;
export const API_KEY = "s3cr3t-api-key-value!";

export const SPEC = `name: shop
services:
  - name: api
    github: { repo: acme/shop, branch: main }
    source_dir: api
    http_port: 8080
    envs:
      - key: API_KEY
        value: "${API_KEY}"
        type: SECRET
      - key: SELF_URL
        value: \${_self.PUBLIC_URL}
workers:
  - name: queue
    github: { repo: acme/shop, branch: main }
    source_dir: worker
jobs:
  - name: migrate
    kind: PRE_DEPLOY
    github: { repo: acme/shop, branch: main }
    source_dir: api
    run_command: ./migrate
  - name: notify
    kind: FAILED_DEPLOY
    github: { repo: acme/shop, branch: main }
    source_dir: api
    run_command: ./notify
`;

/**
 * The store pipeline tests run on: SQLite in memory by default; BERTH_TEST_STORE=postgres runs them on
 * PostgreSQL (BERTH_TEST_DATABASE_URL), each store in a fresh schema dropped by cleanup().
 */
export function openPipelineStore(): Promise<TestStore> {
  const kind = process.env.BERTH_TEST_STORE ?? "sqlite";
  if (kind === "sqlite") return openTestStore("sqlite");
  if (kind !== "postgres") throw new Error(`BERTH_TEST_STORE=${kind}: expected sqlite or postgres`);
  const url = postgresUrl();
  if (!url) throw new Error("BERTH_TEST_STORE=postgres needs BERTH_TEST_DATABASE_URL");
  return openTestStore("postgres", url);
}

export class FakeSource implements SourceProvider {
  /** sha → spec text; `default` for any other sha. `{{repo}}` becomes the repository's name (apps own their names). */
  readonly specs = new Map<string, string>([["default", SPEC]]);
  fetched: string[] = [];

  async readSpec(app: AppKey, sha: string): Promise<FetchedSpec | null> {
    const text = this.specs.get(sha) ?? this.specs.get("default");
    const repo = app.repository.split("/")[1]!.toLowerCase();
    return text === undefined ? null : { path: ".do/app.yaml", text: text.replaceAll("{{repo}}", repo) };
  }

  async fetchSource(_app: AppKey, sha: string, dest: string): Promise<void> {
    this.fetched.push(sha);
    writeFileSync(join(dest, "README.md"), `source at ${sha}\n`);
  }

  secrets(): string[] {
    return [TOKEN];
  }
}

export function sha(n: number): string {
  return n.toString(16).padStart(7, "0").padEnd(40, "a");
}

export function pushIntent(app: AppKey, commit: string) {
  return {
    kind: "deploy" as const,
    app,
    branch: "main",
    sha: commit,
    cause: { type: "push" as const, sha: commit, ref: "refs/heads/main" },
  };
}

let apps = 0;

export interface Harness {
  /** An app of its own, so tests sharing a store do not meet. */
  app: AppKey;
  store: Store;
  runtime: MemoryRuntime;
  source: FakeSource;
  pipeline: Pipeline;
  events: PipelineEvent[];
  workDir: string;
  /** Resolves with the deployment once it is in a final phase (ACTIVE, ERROR, CANCELED, SUPERSEDED). */
  settled(id: string): Promise<DeploymentRecord>;
  close(): Promise<void>;
}

export async function harness(
  options: { runtime?: MemoryRuntimeOptions; pipeline?: Partial<PipelineOptions>; store?: Store; start?: boolean } = {},
): Promise<Harness> {
  const opened = options.store ? undefined : await openPipelineStore();
  const store = options.store ?? opened!.store;
  const runtime = createMemoryRuntime(options.runtime);
  const source = new FakeSource();
  const workDir = mkdtempSync(join(tmpdir(), "berth-pipeline-"));
  const pipeline = createPipeline({
    store,
    runtime,
    source,
    log: silentLog,
    workDir,
    pollMs: 20,
    leaseMs: 3_000,
    logFlushMs: 5,
    ...options.pipeline,
  });
  const events: PipelineEvent[] = [];
  const waiters: { id: string; resolve: (d: DeploymentRecord) => void }[] = [];
  pipeline.on((event) => {
    events.push(event);
    if (event.type !== "deployment.phase" || !isFinal(event.phase)) return;
    for (const w of waiters.filter((w) => w.id === event.deployment.id)) w.resolve(event.deployment);
  });
  if (options.start !== false) await pipeline.start();
  return {
    app: { installationId: 1, repository: `acme/shop-${process.pid}-${++apps}`, environment: "production" },
    store,
    runtime,
    source,
    pipeline,
    events,
    workDir,
    async settled(id) {
      const current = await store.deployments.get(id);
      if (current && isFinal(current.phase)) return current;
      return new Promise((resolve) => waiters.push({ id, resolve }));
    },
    async close() {
      await pipeline.stop(1_000);
      if (options.store) {
        // Leave nothing queued for the next test's pipeline on the shared store.
        await store.db
          .updateTable("deployments")
          .set({ phase: "CANCELED" })
          .where("phase", "in", NON_FINAL_PHASES)
          .execute();
        await store.db.updateTable("apps").set({ teardown_pending: false, lease_owner: null, lease_expires_at: null }).execute();
        // Tests sharing a store deploy the same spec name from their own repositories, one test after another.
        await store.db.deleteFrom("claims").execute();
      } else {
        await opened!.cleanup();
      }
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** A promise with its resolve function, for gating runtime hooks. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
