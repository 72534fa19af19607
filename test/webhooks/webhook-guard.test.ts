// What anyone on the internet can do to the webhook endpoint: send huge bodies, malformed or forged signatures,
// and replay a captured signed body under new delivery ids. Over a real port, with the server's own byte counts.
import { createServer } from "node:net";
import { pino } from "pino";
import { Probot, Server } from "probot";
import { afterEach, describe, expect, it } from "vitest";
import { createRootWebhookHandler } from "../../src/server/root-webhook.js";
import { MAX_WEBHOOK_BODY_BYTES, withWebhookGuard } from "../../src/server/webhook-guard.js";
import { example, privateKey } from "../github/kit.js";
import { memoryInboxStore } from "../helpers/memory-inbox.js";
import { deliver, holdPost, sign, startWebhookServer, streamPost, type WebhookServer } from "./webhook-server.js";

const MB = 1024 * 1024;
let server: WebhookServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const headers = (extra: Record<string, string> = {}) => ({
  "content-type": "application/json",
  "x-github-event": "push",
  "x-github-delivery": "forged-1",
  "x-hub-signature-256": sign("something else"),
  ...extra,
});

describe("webhook body limits", () => {
  it("stops reading a chunked body past 25 MiB and answers 413", async () => {
    server = await startWebhookServer();
    const post = await streamPost(`${server.url}/api/github/webhooks`, headers(), 30 * MB);
    const [read] = await server.bytesRead();
    expect(post.status).toBe(413);
    expect(read).toBeGreaterThan(MAX_WEBHOOK_BODY_BYTES);
    expect(read).toBeLessThan(26 * MB);
  });

  it("answers 413 to a Content-Length over 25 MiB before reading the body, at the root path too", async () => {
    server = await startWebhookServer();
    for (const path of ["/api/github/webhooks", "/"]) {
      const post = await streamPost(`${server.url}${path}`, headers({ "content-length": String(30 * MB) }), 30 * MB);
      expect(post.status).toBe(413);
    }
    for (const read of await server.bytesRead()) expect(read).toBeLessThan(MB);
  });

  it.each([
    ["a missing signature", { "x-hub-signature-256": "" }],
    ["a malformed signature", { "x-hub-signature-256": "sha256=not-hex" }],
    ["a sha1 signature", { "x-hub-signature-256": "sha1=0123456789abcdef0123456789abcdef01234567" }],
    ["a missing event", { "x-github-event": "" }],
    ["a missing delivery id", { "x-github-delivery": "" }],
  ])("refuses %s with 400 before reading the body", async (_, extra) => {
    server = await startWebhookServer();
    const post = await streamPost(`${server.url}/api/github/webhooks`, headers(extra), 10 * MB);
    expect(post.status).toBe(400);
    expect((await server.bytesRead())[0]).toBeLessThan(MB);
  });
});

describe("webhook bodies being read", () => {
  it("hold at most the buffer budget together: a body that would pass it is refused with 503", async () => {
    server = await startWebhookServer({ guard: { maxBufferedBytes: MB } });
    const url = `${server.url}/api/github/webhooks`;
    const a = holdPost(url, headers({ "x-github-delivery": "a" }), 768 * 1024);
    const b = holdPost(url, headers({ "x-github-delivery": "b" }), 768 * 1024);
    // Whichever passed the budget first is refused; the other one is read to its end and checked.
    const first = await Promise.race([a.answer, b.answer]);
    expect(first).toBe(503);
    a.end();
    b.end();
    expect([await a.answer, await b.answer].sort()).toEqual([400, 503]);
    expect(server.logs.filter((line) => line.includes("too many webhook bodies"))).toHaveLength(1);
    // Both gave back what they held.
    const payload = example("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
    for (const id of ["c", "d"]) expect((await deliver(server.url, id, { ...payload, filler: " ".repeat(600 * 1024), id })).status).toBe(200);
  });

  it("read one large body at a time: a second one is refused with 503 past 1 MiB, and small signed ones still pass", async () => {
    server = await startWebhookServer();
    const url = `${server.url}/api/github/webhooks`;
    const a = holdPost(url, headers({ "x-github-delivery": "big-a" }), 2 * MB);
    const b = holdPost(url, headers({ "x-github-delivery": "big-b" }), 2 * MB);
    // Whichever passed 1 MiB second is refused at once; the other holds the slot, its rest held back ...
    expect(await Promise.race([a.answer, b.answer])).toBe(503);
    // ... while a small signed delivery is read and queued as usual.
    const payload = example("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
    expect((await deliver(server.url, "small", payload)).status).toBe(200);
    a.end();
    b.end();
    expect([await a.answer, await b.answer].sort()).toEqual([400, 503]);
    // The slot is free again.
    expect((await deliver(server.url, "large-later", { ...payload, filler: " ".repeat(2 * MB) })).status).toBe(200);
  });

  it("must arrive in time", async () => {
    server = await startWebhookServer({ guard: { bodyTimeoutMs: 50 } });
    const slow = holdPost(`${server.url}/api/github/webhooks`, headers(), 1024);
    expect(await slow.answer).toBe(408);
    slow.end();
  });
});

describe("forged deliveries", () => {
  it("are refused with one short log line that names the delivery and never holds the payload", async () => {
    server = await startWebhookServer();
    const marker = "PAYLOAD-MARKER-";
    const body = JSON.stringify({ ref: "refs/heads/main", filler: marker.repeat(70_000) });
    const res = await fetch(`${server.url}/api/github/webhooks`, { method: "POST", headers: headers(), body });
    expect(res.status).toBe(400);
    // Asserted as booleans and sizes so a failure does not print the payload it found.
    expect(server.logs.filter((line) => line.includes(marker)).length).toBe(0);
    const about = server.logs.filter((line) => line.includes("forged-1"));
    expect(about).toHaveLength(1);
    expect(JSON.parse(about[0]!)).toMatchObject({
      level: 40,
      deliveryId: "forged-1",
      event: "push",
      remoteAddress: "127.0.0.1",
      bytes: Buffer.byteLength(body),
      msg: "webhook refused: signature does not match",
    });
    expect(about[0]!.length).toBeLessThan(400);
    expect(server.logs.join("").length).toBeLessThan(2_000);
    expect(await res.json()).toEqual({ error: "signature does not match" });
  });

  it("clip what the sender put in the headers", async () => {
    server = await startWebhookServer();
    const res = await fetch(`${server.url}/api/github/webhooks`, {
      method: "POST",
      headers: headers({ "x-github-delivery": "d".repeat(8_000) }),
      body: "{}",
    });
    expect(res.status).toBe(400);
    expect(server.logs.join("").length).toBeLessThan(1_000);
  });
});

describe("signed deliveries whose handling fails", () => {
  it("are logged without their payload", async () => {
    const failing = memoryInboxStore();
    failing.failWith = new Error("store closed");
    server = await startWebhookServer({ inboxStore: failing });
    const payload = example("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
    const res = await deliver(server.url, "e-1", { ...payload, filler: "PAYLOAD-MARKER" });
    expect(res.status).toBe(500);
    const errors = server.logs.filter((line) => line.includes("store closed"));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((line) => line.includes('"event":{"id":"e-1","name":"push"}'))).toBe(true);
    expect(server.logs.filter((line) => line.includes("PAYLOAD-MARKER")).length).toBe(0);
  });
});

describe("replayed deliveries", () => {
  it("queue a signed body once, however many delivery ids it comes with, on either path", async () => {
    server = await startWebhookServer();
    const payload = example("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
    for (const [id, path] of [["d-1", "/api/github/webhooks"], ["d-2", "/api/github/webhooks"], ["d-3", "/"]] as const) {
      expect((await deliver(server.url, id, payload, undefined, path)).status).toBe(200);
    }
    expect((await server.inbox.list()).map((e) => e.id)).toEqual(["d-1"]);
    expect(server.accepted.map((e) => e.id)).toEqual(["d-1"]);
    expect(server.logs.filter((line) => line.includes("replay"))).toHaveLength(2);
  });

  it("still queue different bodies", async () => {
    server = await startWebhookServer();
    const payload = example("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
    expect((await deliver(server.url, "a", payload)).status).toBe(200);
    expect((await deliver(server.url, "b", { ...payload, after: "f".repeat(40) })).status).toBe(200);
    expect((await server.inbox.list()).map((e) => e.id)).toEqual(["a", "b"]);
  });
});

describe("Probot's own Server, built as main.ts builds it", () => {
  it("puts the guard in front of its webhook middleware and of the root-path handler", async () => {
    const logs: string[] = [];
    const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
    const probot = new Server({
      Probot: withWebhookGuard(Probot.defaults({ appId: 1, privateKey, secret: "test-secret", log }), { secret: "test-secret", log }),
      host: "127.0.0.1",
      port: await freePort(),
      log,
    });
    await probot.load(async (app, { addHandler }) => addHandler(createRootWebhookHandler(await app.getNodeMiddleware())));
    await probot.start();
    try {
      const url = `http://127.0.0.1:${probot.port}`;
      for (const path of ["/api/github/webhooks", "/"]) {
        const big = await streamPost(`${url}${path}`, headers({ "content-length": String(30 * MB) }), 30 * MB);
        expect(big.status).toBe(413);
        const forged = await fetch(`${url}${path}`, { method: "POST", headers: headers(), body: '{"secret":"PAYLOAD-MARKER"}' });
        expect(forged.status).toBe(400);
      }
      expect(logs.filter((line) => line.includes("webhook refused: signature does not match"))).toHaveLength(2);
      expect(logs.filter((line) => line.includes("PAYLOAD-MARKER")).length).toBe(0);
    } finally {
      await probot.stop();
    }
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
