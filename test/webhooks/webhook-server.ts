// A real-port webhook server built the way main.ts builds it: a guarded Probot, Berth's intake behind it, the
// root-path handler beside it. Logs go to a capturable pino destination; server-side sockets are kept so a test
// can tell how many bytes the server read.
import { createHmac } from "node:crypto";
import { createServer, request, type OutgoingHttpHeaders, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { pino, type Logger } from "pino";
import { createNodeMiddleware, Probot } from "probot";
import { createBerthOctokit } from "../../src/github/octokit.js";
import { createHealthHandler } from "../../src/server/health.js";
import { createRootWebhookHandler } from "../../src/server/root-webhook.js";
import { withWebhookGuard, type WebhookGuardOptions } from "../../src/server/webhook-guard.js";
import { registerHandlers } from "../../src/webhooks/index.js";
import { Inbox, type InboxEntry } from "../../src/webhooks/inbox.js";
import type { InboxStore } from "../../src/core/ports.js";
import { privateKey } from "../github/kit.js";
import { memoryInboxStore } from "../helpers/memory-inbox.js";

const SECRET = "test-secret";

export interface WebhookServer {
  url: string;
  inbox: Inbox;
  accepted: InboxEntry[];
  /** Every line logged, through Probot's logger and the guard's. */
  logs: string[];
  /** Bytes the server read from each connection, once every connection is closed. */
  bytesRead(): Promise<number[]>;
  close(): Promise<void>;
}

export interface WebhookServerOptions {
  readyCheck?: () => Promise<unknown>;
  guard?: Pick<WebhookGuardOptions, "maxBufferedBytes" | "bodyTimeoutMs">;
  /** In place of the in-memory inbox store (a real store, one that fails). */
  inboxStore?: InboxStore;
}

export async function startWebhookServer(o: WebhookServerOptions = {}): Promise<WebhookServer> {
  const logs: string[] = [];
  const log: Logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  const bodyDigests = new Map<string, string>();
  const GuardedProbot = withWebhookGuard(Probot, { secret: SECRET, log, bodyDigests, ...o.guard });
  const probot = new GuardedProbot({
    appId: 1,
    privateKey,
    secret: SECRET,
    Octokit: createBerthOctokit({ retry: false, throttle: false }),
    log,
  });
  const inbox = new Inbox(o.inboxStore ?? memoryInboxStore());
  const accepted: InboxEntry[] = [];
  const webhooks = await createNodeMiddleware(
    (app) =>
      registerHandlers(app, {
        inbox,
        // The worker never gets to act in these tests: acknowledging must not wait for it.
        worker: { accept: (entry) => void accepted.push(entry) },
        appId: 1,
        bodyDigests,
      }),
    { probot },
  );
  const health = createHealthHandler({ checks: [{ name: "store", check: o.readyCheck ?? (async () => {}) }], timeoutMs: 50 });
  const root = createRootWebhookHandler(webhooks);
  const server: Server = createServer(async (req, res) => {
    if (await health(req, res)) return;
    if (await webhooks(req, res)) return;
    if (await root(req, res)) return;
    res.writeHead(404).end();
  });
  const sockets: Socket[] = [];
  server.on("connection", (s: Socket) => void sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inbox,
    accepted,
    logs,
    bytesRead: async () => {
      await Promise.all(sockets.map((s) => (s.destroyed ? undefined : new Promise((resolve) => s.once("close", resolve)))));
      return sockets.map((s) => s.bytesRead);
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export const sign = (body: string | Buffer, secret = SECRET) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

export function deliver(url: string, id: string, payload: unknown, secret = SECRET, path = "/api/github/webhooks") {
  const body = JSON.stringify(payload);
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": id, "x-hub-signature-256": sign(body, secret) },
    body,
  });
}

/**
 * POSTs `total` bytes in 64 KiB chunks, honouring backpressure, and stops sending as soon as an answer comes.
 * Resolves with the answer's status (if one came) once the connection is over, however it ended.
 */
export function streamPost(url: string, headers: OutgoingHttpHeaders, total: number): Promise<{ status?: number }> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, " ");
    const req = request(url, { method: "POST", headers, agent: false });
    let status: number | undefined;
    let sent = 0;
    req.on("response", (res) => {
      status = res.statusCode;
      res.resume();
    });
    req.on("error", () => {});
    req.on("close", () => resolve({ status }));
    const pump = () => {
      while (sent < total && status === undefined && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (sent >= total) req.end();
    };
    pump();
  });
}

/** Sends `bytes` of a body and holds the request open until `end()`; `answer` resolves when the server answers. */
export function holdPost(url: string, headers: OutgoingHttpHeaders, bytes: number) {
  const req = request(url, { method: "POST", headers, agent: false });
  req.on("error", () => {});
  const answer = new Promise<number | undefined>((resolve) => {
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("close", () => resolve(undefined));
  });
  req.write(Buffer.alloc(bytes, " "));
  return { answer, end: () => req.end() };
}
