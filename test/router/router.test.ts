import { request } from "node:http";
import type { Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { Router } from "../../src/router/router.js";
import type { RouterApp } from "../../src/router/router-contract.js";
import { echo, get, getJson, refusedPort, silentLog, startBackend, type TestBackend } from "./router-kit.js";

const webApp: RouterApp = {
  name: "web",
  domains: ["www.example.com"],
  routes: [
    { component: "site", pathPrefix: "/", preservePathPrefix: false },
    { component: "api", pathPrefix: "/api", preservePathPrefix: false },
    { component: "keep", pathPrefix: "/keep", preservePathPrefix: true },
    { component: "v1", pathPrefix: "/old", preservePathPrefix: false, rewrite: "/v1/" },
    { component: "admin", pathPrefix: "/admin", preservePathPrefix: false, authority: "admin.example.com" },
  ],
};

let router: Router;
let port: number;
let registry: Registry;
const backends: TestBackend[] = [];

async function backend(id: string, handler = echo): Promise<TestBackend> {
  const b = await startBackend(id, handler);
  backends.push(b);
  return b;
}

beforeEach(async () => {
  registry = new Registry();
  router = new Router({ port: 0, baseDomain: "localhost", log: silentLog, registry });
  port = await router.listen();
});

afterEach(async () => {
  await router.close();
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

describe("routing", () => {
  it("sends <app>.<base domain>, with or without a port, and the app's domains to its component", async () => {
    router.setApp(webApp);
    const site = await backend("site-1");
    router.addBackend("web", "site", site);

    for (const host of ["web.localhost", `web.localhost:${port}`, "WWW.example.com"]) {
      const reply = await getJson(port, host, "/hello?x=1");
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({ id: "site-1", url: "/hello?x=1" });
      expect(reply.json.headers.host).toBe(host);
    }
  });

  it("answers an unknown host with a 404 page and a known app without a matching route with 404", async () => {
    router.setApp({ name: "api", domains: [], routes: [{ component: "api", pathPrefix: "/api", preservePathPrefix: false }] });
    const unknown = await get(port, "nope.localhost", "/");
    expect(unknown.status).toBe(404);
    expect(unknown.headers["content-type"]).toMatch(/text\/html/);
    expect(unknown.body).toContain("No app answers at nope.localhost");

    const noRoute = await get(port, "api.localhost", "/elsewhere");
    expect(noRoute.status).toBe(404);
    expect(noRoute.body).toContain("has no route for /elsewhere");
  });

  it("strips, preserves or rewrites the matched prefix, longest prefix first", async () => {
    router.setApp(webApp);
    for (const component of ["site", "api", "keep", "v1", "admin"]) {
      router.addBackend("web", component, await backend(component));
    }
    const cases: [host: string, path: string, id: string, url: string][] = [
      ["web.localhost", "/api/list?page=2", "api", "/list?page=2"],
      ["web.localhost", "/api", "api", "/"],
      ["web.localhost", "/apix", "site", "/apix"],
      ["web.localhost", "/keep/this", "keep", "/keep/this"],
      ["web.localhost", "/old/list", "v1", "/v1/list"],
      ["web.localhost", "/admin/users", "site", "/admin/users"],
      ["admin.example.com", "/admin/users", "admin", "/users"],
    ];
    router.setApp({ ...webApp, domains: [...webApp.domains, "admin.example.com"] });
    for (const [host, path, id, url] of cases) {
      const reply = await getJson(port, host, path);
      expect({ path, host, id: reply.json.id, url: reply.json.url }).toEqual({ path, host, id, url });
    }
  });

  it("keeps backends when an app's routes are replaced and refuses a domain another app owns", async () => {
    router.setApp(webApp);
    router.addBackend("web", "site", await backend("site-1"));
    router.setApp({ ...webApp, domains: ["new.example.com"] });
    expect((await getJson(port, "new.example.com", "/")).json.id).toBe("site-1");
    expect((await get(port, "www.example.com", "/")).status).toBe(404);
    expect(() => router.setApp({ name: "other", domains: ["new.example.com"], routes: [] })).toThrow(
      /new\.example\.com already belongs to app web/,
    );
  });

  it("forgets a removed app's hosts and backends", async () => {
    router.setApp(webApp);
    router.addBackend("web", "site", await backend("site-1"));
    router.removeApp("web");
    expect((await get(port, "web.localhost", "/")).status).toBe(404);
    router.setApp(webApp);
    expect((await get(port, "web.localhost", "/")).status).toBe(503);
  });

  it("round-robins among a component's backends", async () => {
    router.setApp(webApp);
    for (const id of ["a", "b", "c"]) router.addBackend("web", "site", await backend(id));
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await getJson(port, "web.localhost", "/")).json.id);
    expect(ids).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  it("answers 503 with a page when the component has no healthy instance", async () => {
    router.setApp(webApp);
    const reply = await get(port, "web.localhost", "/api/x");
    expect(reply.status).toBe(503);
    expect(reply.headers["content-type"]).toMatch(/text\/html/);
    expect(reply.body).toContain("web/api has no healthy instance");
  });
});

describe("failures", () => {
  it("retries on another instance when the connection is refused", async () => {
    router.setApp(webApp);
    const good = await backend("good");
    router.addBackend("web", "site", { id: "dead", url: `http://127.0.0.1:${await refusedPort()}` });
    router.addBackend("web", "site", good);
    for (let i = 0; i < 4; i++) {
      const reply = await getJson(port, "web.localhost", "/");
      expect(reply.status).toBe(200);
      expect(reply.json.id).toBe("good");
    }
    expect(good.hits).toBe(4);
    expect(await registry.getSingleMetricAsString("berth_router_retries_total")).toMatch(
      /berth_router_retries_total\{app="web",component="site"\} 2/,
    );
  });

  it("sends a GET again on a fresh connection when the instance closed the kept-alive one it went out on", async () => {
    router.setApp(webApp);
    const requestsOn = new WeakMap<object, number>();
    const closed = { GET: 0, POST: 0 };
    const flaky = await backend("flaky", (req, res, b) => {
      const n = (requestsOn.get(req.socket) ?? 0) + 1;
      requestsOn.set(req.socket, n);
      // Every request after the first on a connection finds it closed, as after an unannounced idle timeout.
      if (n >= 2) {
        closed[req.method as "GET" | "POST"]++;
        req.socket.destroy();
      } else echo(req, res, b);
    });
    router.addBackend("web", "site", flaky);
    const statuses: Record<string, number[]> = { GET: [], POST: [] };
    for (const method of ["GET", "GET", "GET", "GET", "GET", "GET", "POST", "POST", "POST", "POST"]) {
      const reply = await get(port, "web.localhost", "/", method === "POST" ? { method, body: "x" } : {});
      statuses[method]!.push(reply.status);
    }
    // Which kept-alive connection a request goes out on is the pool's choice, so count what happened: every
    // GET the instance closed was sent again and answered; a POST is never sent twice, its failure is a 502.
    expect(closed.GET).toBeGreaterThan(0);
    expect(closed.POST).toBeGreaterThan(0);
    expect(statuses.GET).toEqual([200, 200, 200, 200, 200, 200]);
    expect(statuses.POST!.filter((s) => s === 502)).toHaveLength(closed.POST);
    expect(flaky.hits).toBe(10 + closed.GET);
  });

  it("answers 503 when every instance refuses the connection", async () => {
    router.setApp(webApp);
    router.addBackend("web", "site", { id: "dead-1", url: `http://127.0.0.1:${await refusedPort()}` });
    router.addBackend("web", "site", { id: "dead-2", url: `http://127.0.0.1:${await refusedPort()}` });
    const reply = await get(port, "web.localhost", "/");
    expect(reply.status).toBe(503);
    expect(reply.body).toContain("refused the connection");
  });

  it("does not retry a request whose backend reset mid-response", async () => {
    router.setApp(webApp);
    const resetting = await backend("resetting", (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial", () => res.socket?.destroy());
    });
    const other = await backend("other");
    router.addBackend("web", "site", resetting);
    router.addBackend("web", "site", other);

    const outcome = await get(port, "web.localhost", "/").then(
      (reply) => ({ completed: reply }),
      (err: Error) => ({ failed: err.message }),
    );
    expect(outcome).toHaveProperty("failed");
    expect(resetting.hits).toBe(1);
    expect(other.hits).toBe(0);
    await expect.poll(() => router.inFlight("resetting")).toBe(0);
  });

  it("answers 502 when the backend fails before any response and does not retry", async () => {
    router.setApp(webApp);
    const failing = await backend("failing", (req) => req.socket.destroy());
    const other = await backend("other");
    router.addBackend("web", "site", failing);
    router.addBackend("web", "site", other);
    const reply = await get(port, "web.localhost", "/");
    expect(reply.status).toBe(502);
    expect(reply.body).toContain("web/site failed before it sent a response");
    expect(other.hits).toBe(0);
  });
});

describe("forwarding", () => {
  it("appends to a client's X-Forwarded-For and sets Proto, Host and Port itself", async () => {
    router.setApp(webApp);
    router.addBackend("web", "site", await backend("site"));
    const reply = await getJson(port, `web.localhost:${port}`, "/", {
      headers: { "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" },
    });
    expect(reply.json.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.9, 127.0.0.1",
      "x-forwarded-proto": "http",
      "x-forwarded-host": `web.localhost:${port}`,
      "x-forwarded-port": String(port),
    });
  });

  it("keeps a trusted front proxy's Proto and Host when told to trust it", async () => {
    const trusting = new Router({ port: 0, baseDomain: "localhost", log: silentLog, publicUrlTemplate: "https://{app}.example.com" });
    const trustingPort = await trusting.listen();
    try {
      trusting.setApp(webApp);
      trusting.addBackend("web", "site", await backend("site"));
      const reply = await getJson(trustingPort, "web.localhost", "/", {
        headers: { "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https", "x-forwarded-host": "web.example.com" },
      });
      expect(reply.json.headers).toMatchObject({
        "x-forwarded-for": "203.0.113.9, 127.0.0.1",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "web.example.com",
      });
      expect(trusting.publicUrl("web")).toBe("https://web.example.com");
    } finally {
      await trusting.close();
    }
  });

  it("delivers a streaming response chunk by chunk", async () => {
    router.setApp(webApp);
    let firstChunkSeen!: () => void;
    const seen = new Promise<void>((resolve) => (firstChunkSeen = resolve));
    router.addBackend(
      "web",
      "site",
      await backend("stream", (_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: one\n\n");
        // The second chunk is written only once the client has the first, so buffering would deadlock.
        void seen.then(() => res.end("data: two\n\n"));
      }),
    );
    const chunks = await new Promise<string[]>((resolve, reject) => {
      const received: string[] = [];
      request({ host: "127.0.0.1", port, path: "/events", headers: { host: "web.localhost" } }, (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          received.push(chunk);
          if (received.length === 1) firstChunkSeen();
        });
        res.on("end", () => resolve(received));
      })
        .on("error", reject)
        .end();
    });
    expect(chunks).toEqual(["data: one\n\n", "data: two\n\n"]);
  });

  it("passes headers on but not hop-by-hop ones, in either direction, and keeps repeated response headers", async () => {
    router.setApp(webApp);
    router.addBackend(
      "web",
      "site",
      await backend("site", (req, res) => {
        const hopByHop = Object.keys(req.headers).filter((h) => /hop|proxy|^te$|upgrade|trailer/.test(h));
        res.writeHead(200, [
          ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"], ["X-Trace", String(req.headers["x-trace"])],
          ["X-Seen", hopByHop.join(",") || "none"], ["Connection", "keep-alive, X-Hop"], ["X-Hop", "instance-only"],
          ["Keep-Alive", "timeout=17"],
        ].flat());
        res.end("ok");
      }),
    );
    const reply = await get(port, "web.localhost", "/", {
      headers: { "x-trace": "t1", connection: "keep-alive, x-client-hop", "x-client-hop": "client-only", te: "trailers", "proxy-connection": "x" },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers["x-seen"]).toBe("none");
    expect(reply.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(reply.headers["x-trace"]).toBe("t1");
    expect(reply.headers["x-hop"]).toBeUndefined();
    expect(reply.headers["keep-alive"]).not.toBe("timeout=17");
  });

  it("answers 504 with a page when an instance sends no response headers in time, and then sends nothing twice", async () => {
    const patient = new Router({ port: 0, baseDomain: "localhost", log: silentLog, responseTimeoutMs: 200 });
    const patientPort = await patient.listen();
    try {
      patient.setApp(webApp);
      let hits = 0;
      patient.addBackend("web", "site", await backend("stuck", () => void hits++));
      const reply = await get(patientPort, "web.localhost", "/");
      expect(reply.status).toBe(504);
      expect(reply.body).toContain("web/site did not start its response within 0.2 seconds");
      expect(hits).toBe(1);
      await expect.poll(() => patient.inFlight("stuck")).toBe(0);
    } finally {
      await patient.close();
    }
  });

  it("stops the instance's response when the client goes away mid-stream, and counts it out of flight", async () => {
    router.setApp(webApp);
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    router.addBackend(
      "web",
      "site",
      await backend("endless", (req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: first\n\n");
        res.on("close", upstreamClosed);
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/", headers: { host: "web.localhost" } }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" ? undefined : reject(err)));
      req.end();
    });
    await closed;
    await expect.poll(() => router.inFlight("endless")).toBe(0);
  });

  it("proxies a POST body", async () => {
    router.setApp(webApp);
    router.addBackend(
      "web",
      "api",
      await backend("api", (req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => (body += c));
        req.on("end", () => res.end(`got ${req.method} ${req.url} ${body}`));
      }),
    );
    const reply = await get(port, "web.localhost", "/api/items", { method: "POST", body: "name=berth" });
    expect(reply.body).toBe("got POST /items name=berth");
  });
});

/** Opens a WebSocket-style upgrade through the router; resolves with the raw socket once switched. */
function upgrade(path: string): Promise<{ socket: Socket; status: number }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path,
      headers: {
        host: "web.localhost",
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    req.on("upgrade", (res, socket) => resolve({ socket, status: res.statusCode ?? 0 }));
    req.on("response", (res) => {
      res.resume();
      resolve({ socket: res.socket, status: res.statusCode ?? 0 });
    });
    req.on("error", reject);
    req.end();
  });
}

function nextData(socket: Socket): Promise<string> {
  return new Promise((resolve) => socket.once("data", (d: Buffer) => resolve(d.toString("utf8"))));
}

async function wsBackend(id: string): Promise<TestBackend> {
  const b = await backend(id);
  b.server.on("upgrade", (req, socket: Socket) => {
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nx-path: ${req.url}\r\n\r\n`,
    );
    socket.on("data", (d: Buffer) => socket.write(`echo:${d.toString("utf8")}`));
    socket.on("end", () => socket.end());
  });
  return b;
}

describe("WebSockets", () => {
  it("upgrades through the router, counts the socket in flight until it closes", async () => {
    router.setApp(webApp);
    router.addBackend("web", "api", await wsBackend("ws"));
    const { socket, status } = await upgrade("/api/socket");
    expect(status).toBe(101);
    expect(router.inFlight("ws")).toBe(1);
    const echoed = nextData(socket);
    socket.write("ping");
    expect(await echoed).toBe("echo:ping");

    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.end();
    await closed;
    await expect.poll(() => router.inFlight("ws")).toBe(0);
  });

  it("answers an upgrade for an app without instances with 503", async () => {
    router.setApp(webApp);
    const { status } = await upgrade("/api/socket");
    expect(status).toBe(503);
  });
});

describe("draining", () => {
  it("stops sending new requests to a removed backend and resolves once its in-flight request finishes", async () => {
    router.setApp(webApp);
    let finishSlow!: () => void;
    let started!: () => void;
    const slowStarted = new Promise<void>((resolve) => (started = resolve));
    const slow = await backend("slow", (_req, res) => {
      finishSlow = () => res.end("slow done");
      started();
    });
    router.addBackend("web", "site", slow);
    const slowReply = get(port, "web.localhost", "/");
    await slowStarted;
    expect(router.inFlight("slow")).toBe(1);

    router.addBackend("web", "site", await backend("fresh"));
    let drained = false;
    const removal = router.removeBackend("web", "site", "slow", 60_000).then((result) => {
      drained = true;
      return result;
    });
    for (let i = 0; i < 3; i++) expect((await getJson(port, "web.localhost", "/")).json.id).toBe("fresh");
    expect(drained).toBe(false);

    finishSlow();
    expect((await slowReply).body).toBe("slow done");
    expect(await removal).toEqual({ abandoned: 0 });
    expect(router.inFlight("slow")).toBe(0);
  });

  it("closes WebSockets still open at the drain deadline and reports them abandoned", async () => {
    router.setApp(webApp);
    router.addBackend("web", "api", await wsBackend("ws"));
    const { socket } = await upgrade("/api/socket");
    const closed = new Promise((resolve) => socket.once("close", resolve));
    expect(await router.removeBackend("web", "api", "ws", 20)).toEqual({ abandoned: 1 });
    await closed;
    await expect.poll(() => router.inFlight("ws")).toBe(0);
  });

  it("resolves at once for a backend with nothing in flight or one it never knew", async () => {
    router.setApp(webApp);
    router.addBackend("web", "site", await backend("idle"));
    expect(await router.removeBackend("web", "site", "idle", 60_000)).toEqual({ abandoned: 0 });
    expect(await router.removeBackend("web", "site", "never-added", 60_000)).toEqual({ abandoned: 0 });
    router.addBackend("web", "site", await backend("misfiled"));
    expect(await router.removeBackend("web", "", "misfiled", 60_000)).toEqual({ abandoned: 0 });
    expect((await get(port, "web.localhost", "/")).status).toBe(503);
  });
});

describe("public URL and metrics", () => {
  it("reports the bound port in the app's public URL", () => {
    expect(router.publicUrl("web")).toBe(`http://web.localhost:${port}`);
  });

  it("counts requests by app, component and status", async () => {
    router.setApp(webApp);
    router.addBackend("web", "site", await backend("site"));
    await get(port, "web.localhost", "/");
    await get(port, "web.localhost", "/api/none");
    await get(port, "nobody.localhost", "/");
    const text = await registry.getSingleMetricAsString("berth_router_requests_total");
    expect(text).toContain('berth_router_requests_total{app="web",component="site",code="200"} 1');
    expect(text).toContain('berth_router_requests_total{app="web",component="api",code="503"} 1');
    expect(text).toContain('berth_router_requests_total{app="",component="",code="404"} 1');
    expect(await registry.getSingleMetricAsString("berth_router_in_flight_requests")).toContain("berth_router_in_flight_requests 0");
  });

  it("refuses a backend URL it cannot forward to, naming the backend", () => {
    expect(() => router.addBackend("web", "site", { id: "x", url: "127.0.0.1:80" })).toThrow(/backend x has URL "127.0.0.1:80"/);
    expect(() => router.setApp({ name: "Bad_Name", domains: [], routes: [] })).toThrow(/not a DNS label/);
  });
});
