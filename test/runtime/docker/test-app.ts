// Shared pieces of the real-engine runtime tests: a tiny Node app, a keep-alive load generator against the
// router, and request helpers. Everything talks to 127.0.0.1 only.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A Node http server honouring PORT. VERSION is its answer; FAIL_HEALTH makes /health answer 500; /slow
 * answers after SLOW_MS; on SIGTERM it stops accepting, lets open requests finish and exits.
 */
export const SERVER_JS = `
const http = require("http");
const version = process.env.VERSION || "v1";
const server = http.createServer((req, res) => {
  if (req.url === "/slow") return void setTimeout(() => res.end(version + " slow"), Number(process.env.SLOW_MS || 3000));
  if (req.url === "/health" && process.env.FAIL_HEALTH) { res.statusCode = 500; return void res.end("sick"); }
  res.end(version);
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on " + process.env.PORT + " as " + version));
process.on("SIGTERM", () => {
  console.log("SIGTERM received");
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
`;

export function writeTestApp(): string {
  const root = mkdtempSync(join(tmpdir(), "berth-app-"));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "test-app", version: "1.0.0" }));
  writeFileSync(join(root, "server.js"), SERVER_JS);
  return root;
}

export function writeStaticSite(): string {
  const root = mkdtempSync(join(tmpdir(), "berth-site-"));
  mkdirSync(join(root, "public"));
  writeFileSync(join(root, "public", "index.html"), "<h1>hello static</h1>\n");
  writeFileSync(join(root, "README.md"), "not served\n");
  return root;
}

export interface Reply {
  status: number;
  body: string;
}

export function get(port: number, host: string, path = "/", agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host }, agent: agent ?? false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

export interface LoadStats {
  ok: number;
  non2xx: number;
  errors: number;
  bodies: Map<string, number>;
  lastErrors: string[];
}

/** Keep-alive clients hitting the router in a loop until stopped. */
export function startLoad(port: number, host: string, clients = 4) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const stats: LoadStats = { ok: 0, non2xx: 0, errors: 0, bodies: new Map(), lastErrors: [] };
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      try {
        const r = await get(port, host, "/", agent);
        if (r.status >= 200 && r.status < 300) stats.ok++;
        else {
          stats.non2xx++;
          stats.lastErrors.push(`${r.status} ${r.body}`.slice(0, 200));
        }
        stats.bodies.set(r.body, (stats.bodies.get(r.body) ?? 0) + 1);
      } catch (err) {
        stats.errors++;
        stats.lastErrors.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    stats,
    total: () => stats.ok + stats.non2xx + stats.errors,
    async stop(): Promise<LoadStats> {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return stats;
    },
  };
}

/** Resolves once `cond()` holds, checking every 20 ms (for events with no promise to await). */
export async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
