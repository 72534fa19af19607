// One real-port test: a signed delivery over HTTP is acknowledged while the work behind it has not even
// started, a redelivery is ignored, and a wrong signature is refused. The health handler answers beside it.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { example } from "../github/kit.js";
import { deliver, startWebhookServer, type WebhookServer } from "./webhook-server.js";

let server: Server | undefined;
let webhookServer: WebhookServer | undefined;

afterEach(async () => {
  if (server) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
  await webhookServer?.close();
  webhookServer = undefined;
});

async function start(readyCheck: () => Promise<unknown>) {
  webhookServer = await startWebhookServer({ readyCheck });
  return webhookServer;
}

describe("webhook endpoint", () => {
  it("acknowledges a signed push at once, records it durably, and ignores its redelivery", async () => {
    const { url, inbox, accepted } = await start(async () => {});
    const payload = example("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
    const first = await deliver(url, "delivery-1", payload);
    expect(first.status).toBe(200);
    const again = await deliver(url, "delivery-1", payload);
    expect(again.status).toBe(200);
    expect((await inbox.list()).map((e) => [e.id, e.event.type])).toEqual([["delivery-1", "push"]]);
    expect(accepted).toHaveLength(1);
  });

  it("takes deliveries at the server's root too, where the manifest flow points the app's webhook", async () => {
    const { url, inbox } = await start(async () => {});
    const payload = example("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
    expect((await deliver(url, "root-1", payload, undefined, "/")).status).toBe(200);
    expect((await deliver(url, "root-2", payload, "wrong", "/")).status).toBe(400);
    expect((await fetch(`${url}/`, { method: "POST", body: "{}" })).status).toBe(404);
    expect((await inbox.list()).map((e) => e.id)).toEqual(["root-1"]);
  });

  it("answers 2xx for a payload Berth does not need and 400 for a wrong signature", async () => {
    const { url, inbox } = await start(async () => {});
    const tag = example("push", (p) => String(p.ref).startsWith("refs/tags/") && Boolean(p.installation));
    expect((await deliver(url, "tag-1", tag)).status).toBe(200);
    expect((await deliver(url, "forged", tag, "wrong-secret")).status).toBe(400);
    expect(await inbox.list()).toEqual([]);
  });

  it("serves /healthz always and /readyz only while its checks pass", async () => {
    let storeUp = true;
    const { url } = await start(async () => {
      if (!storeUp) throw new Error("store closed");
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: "ready", checks: { store: "ok" } }]);
    storeUp = false;
    const notReady = await fetch(`${url}/readyz`);
    expect([notReady.status, await notReady.json()]).toEqual([503, { status: "not ready", checks: { store: "store closed" } }]);
  });
});

describe("deployment page", () => {
  it("shows phase, steps and log, escaped and redacted", async () => {
    const { renderDeploymentPage, createDeploymentPageHandler } = await import("../../src/server/deployment-page.js");
    const { deployment } = await import("../github/kit.js");
    const d = deployment({ phase: "ERROR", message: "build <web> failed", steps: [{ name: "build web", status: "ERROR", message: "exit 1" }] });
    const html = renderDeploymentPage(d, [{ step: "build web", text: "token ghs_x\n" }]);
    expect(html).toContain("<strong>ERROR</strong> — build &lt;web&gt; failed");
    expect(html).toContain("<td>build web</td><td>ERROR</td>");
    const handler = createDeploymentPageHandler({
      getDeployment: async (id) => (id === "dep-1" ? d : undefined),
      logs: {
        read: async (_id, opts) => (opts?.newestFirst || opts?.afterId === undefined || opts.afterId < 1 ? [{ id: 1, step: "build web", text: "token ghs_secret\n", createdAt: new Date() }] : []),
        count: async () => 1,
      },
      redact: (t) => t.replace("ghs_secret", "[REDACTED]"),
      authorize: () => true,
    });
    server = createServer(async (req, res) => {
      if (!(await handler(req, res))) res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
    const page = await fetch(`${url}/deployments/dep-1`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain("[build web] token [REDACTED]");
    expect(text).not.toContain("ghs_secret");
    expect((await fetch(`${url}/deployments/other`)).status).toBe(404);
    expect((await fetch(`${url}/elsewhere`)).status).toBe(418);
  });
});

describe("/metrics", () => {
  it("serves the registry in Prometheus' text format", async () => {
    const { Registry, Counter } = await import("prom-client");
    const { createMetricsHandler } = await import("../../src/server/metrics.js");
    const registry = new Registry();
    new Counter({ name: "berth_test_total", help: "a test counter", registers: [registry] }).inc(3);
    const handler = createMetricsHandler(registry, { authorize: () => true });
    server = createServer(async (req, res) => {
      if (!(await handler(req, res))) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(await res.text()).toContain("berth_test_total 3");
  });

  it("adds metrics kept elsewhere, read at each scrape (the router's worker processes)", async () => {
    const { Registry, Counter } = await import("prom-client");
    const { createMetricsHandler } = await import("../../src/server/metrics.js");
    const registry = new Registry();
    new Counter({ name: "berth_own_total", help: "Berth's own", registers: [registry] }).inc(1);
    let scrapes = 0;
    const handler = createMetricsHandler(registry, {
      authorize: () => true,
      more: async () => {
        const elsewhere = new Registry();
        new Counter({ name: "berth_router_requests_total", help: "the workers'", registers: [elsewhere] }).inc(++scrapes * 10);
        return elsewhere;
      },
    });
    server = createServer(async (req, res) => {
      if (!(await handler(req, res))) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
    const first = await (await fetch(`${url}/metrics`)).text();
    expect(first).toContain("berth_own_total 1");
    expect(first).toContain("berth_router_requests_total 10");
    expect(await (await fetch(`${url}/metrics`)).text()).toContain("berth_router_requests_total 20");
  });
});
