import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { httpProbe, tcpProbe, waitHealthy } from "../../../src/runtime/docker/health.js";
import type { HealthCheck } from "../../../src/runtime/runtime.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server answering 503 to its first `failFirst` requests and 200 after; counts requests. */
async function flakyServer(failFirst: number): Promise<{ port: number; hits: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    res.statusCode = n <= failFirst ? 503 : 200;
    res.end(req.url);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, hits: () => n };
}

const check = (over: Partial<HealthCheck> = {}): HealthCheck => ({
  httpPath: "/health",
  port: 0,
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 9,
  ...over,
});

const never = new Promise<string>(() => undefined);

describe("waitHealthy", () => {
  it("probes a not-yet-healthy instance at the fast interval, not period_seconds", async () => {
    const s = await flakyServer(3);
    const outcome = await waitHealthy({
      check: check({ periodSeconds: 300 }),
      probe: httpProbe("127.0.0.1", s.port, "/health", 1000),
      fastIntervalMs: 10,
      exited: never,
      signal: new AbortController().signal,
    });
    expect(outcome).toEqual({ healthy: true, last: { ok: true, detail: "HTTP 200 from GET /health" } });
    expect(s.hits()).toBe(4);
  });

  it("gives up after failure_threshold × period_seconds with the last probe as evidence", async () => {
    const s = await flakyServer(Infinity);
    const outcome = await waitHealthy({
      check: check({ periodSeconds: 0.1, failureThreshold: 2 }),
      probe: httpProbe("127.0.0.1", s.port, "/health", 1000),
      fastIntervalMs: 20,
      exited: never,
      signal: new AbortController().signal,
    });
    expect(outcome).toEqual({
      healthy: false,
      reason: "no successful health check within 0.2 s",
      last: { ok: false, detail: "HTTP 503 from GET /health" },
    });
    expect(s.hits()).toBeGreaterThan(2);
  });

  it("needs success_threshold consecutive successes after the first", async () => {
    const s = await flakyServer(0);
    const outcome = await waitHealthy({
      check: check({ periodSeconds: 0.05, successThreshold: 3 }),
      probe: httpProbe("127.0.0.1", s.port, "/health", 1000),
      fastIntervalMs: 10,
      exited: never,
      signal: new AbortController().signal,
    });
    expect(outcome.healthy).toBe(true);
    expect(s.hits()).toBe(3);
  });

  it("ends at once when the instance exits", async () => {
    const s = await flakyServer(Infinity);
    const outcome = await waitHealthy({
      check: check({ periodSeconds: 300 }),
      probe: httpProbe("127.0.0.1", s.port, "/health", 1000),
      fastIntervalMs: 10,
      exited: Promise.resolve("exited with code 3"),
      signal: new AbortController().signal,
    });
    expect(outcome.healthy).toBe(false);
    expect(outcome).toMatchObject({ reason: "exited with code 3" });
  });

  it("reports a refused TCP port", async () => {
    const s = await flakyServer(0);
    const closed = s.port;
    await new Promise((r) => servers.pop()!.close(r));
    expect(await tcpProbe("127.0.0.1", closed, 500)(new AbortController().signal)).toEqual({
      ok: false,
      detail: `TCP connection refused on port ${closed}`,
    });
  });

  it("accepts a TCP port that listens", async () => {
    const s = await flakyServer(0);
    expect(await tcpProbe("127.0.0.1", s.port, 500)(new AbortController().signal)).toEqual({
      ok: true,
      detail: `TCP port ${s.port} accepted a connection`,
    });
  });
});
