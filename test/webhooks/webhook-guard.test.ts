// What anyone on the internet can do to the webhook endpoint: send huge bodies, malformed or forged signatures,
// and replay a captured signed body under new delivery ids. Over a real port, with the server's own byte counts.
import { afterEach, describe, expect, it } from "vitest";
import { MAX_WEBHOOK_BODY_BYTES } from "../../src/server/webhook-guard.js";
import { example } from "../github/kit.js";
import { deliver, sign, startWebhookServer, streamPost, type WebhookServer } from "./webhook-server.js";

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
