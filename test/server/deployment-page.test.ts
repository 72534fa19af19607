import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDeploymentPageHandler } from "../../src/server/deployment-page.js";
import type { SqlStore } from "../../src/store/index.js";
import { openTestStore, type TestStore } from "../store/open-store.js";

const CHUNK = 4_096;
const CHUNKS = 12_800; // 50 MB of stored log

let t: TestStore;
let store: SqlStore;
let deploymentId: string;
let server: Server;
let url: string;
const reads: { at: number }[] = [];
const writes: number[] = [];
let firstWriteAt = -1;

beforeAll(async () => {
  t = await openTestStore("sqlite");
  store = t.store;
  const sha = "a".repeat(40);
  const { deployment } = await store.queue.enqueue({
    app: { installationId: 1, repository: "acme/big", environment: "production" },
    branch: "main",
    kind: "deploy",
    sha,
    cause: { type: "push", sha, ref: "refs/heads/main" },
    intent: {},
    supersedeQueued: false,
    cancelRunningBuild: false,
  });
  deploymentId = deployment!.id;
  for (let i = 0; i < CHUNKS; i += 200) {
    const rows = Array.from({ length: 200 }, (_, j) => ({
      deployment_id: deploymentId,
      step: "build web",
      text: i + j === CHUNKS - 1 ? `${"z".repeat(CHUNK - 9)}THE END\n` : `${String(i + j).padStart(8, "0")}${"x".repeat(CHUNK - 9)}\n`,
    }));
    await store.db.insertInto("logs").values(rows).execute();
  }
  const logs = {
    read: (...args: Parameters<SqlStore["logs"]["read"]>) => {
      reads.push({ at: writes.length });
      return store.logs.read(...args);
    },
    count: (id: string) => store.logs.count(id),
  };
  const handler = createDeploymentPageHandler({ getDeployment: (id) => store.deployments.get(id), logs, redact: (text) => text, authorize: () => true });
  server = createServer((req, res) => {
    const write = res.write.bind(res) as (chunk: string) => boolean;
    res.write = ((chunk: string) => {
      if (firstWriteAt < 0) firstWriteAt = reads.length;
      writes.push(chunk.length);
      return write(chunk);
    }) as typeof res.write;
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.cleanup();
});

it("streams the last 5 MB of a 50 MB log in bounded writes while the event loop keeps turning", async () => {
  let ticks = 0;
  let ticking = true;
  const tick = () => {
    ticks++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);

  const response = await fetch(`${url}/deployments/${deploymentId}`);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let body = "";
  let pieces = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pieces++;
    body += decoder.decode(value, { stream: true });
  }
  ticking = false;

  expect(response.status).toBe(200);
  // Streamed: the page head went out before the log was read, and the log was written while still being read.
  expect(firstWriteAt).toBe(0);
  expect(Math.max(...reads.map((r) => r.at))).toBeGreaterThan(2);
  expect(pieces).toBeGreaterThan(10);
  // Bounded: no single write near the size of the log, and the loop turned many times meanwhile.
  expect(Math.max(...writes)).toBeLessThanOrEqual(512 * 1024);
  expect(ticks).toBeGreaterThanOrEqual(reads.length);
  // The tail: it ends with the last chunk, holds 5 MB of log, and says what it left out.
  expect(body).toMatch(/THE END\n<\/pre>\n<\/body><\/html>\n$/);
  expect(body).toContain("earlier output omitted");
  const log = body.slice(body.indexOf("<pre>"));
  expect(log.length).toBeGreaterThan(5 * 1024 * 1024);
  expect(log.length).toBeLessThan(5.1 * 1024 * 1024);
  expect(body).not.toContain(`[build web] 00000000`);
}, 60_000);
