// Router throughput and p99 latency, measured with wrk against the same backend in one run: directly,
// through nginx (1 worker, keep-alive upstream), through a minimal Node proxy, and through Berth's router
// both in this process and over worker processes as Berth runs it by default. The backend is a node http
// server in a child process, so no proxy shares its event loop with it.
//   npm run bench router    BENCH_SECONDS=5 BENCH_CONNECTIONS=32 BENCH_ROUNDS=2 BENCH_WORKERS=2 to change it
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import cluster from "node:cluster";
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import { defaultRouterWorkers } from "../src/config.js";
import { Router } from "../src/router/router.js";
import { RouterCluster } from "../src/router/router-cluster.js";

const WRK = "/usr/bin/wrk";
const NGINX = "/usr/sbin/nginx";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
// Targets are measured in interleaved rounds and each keeps its best round, so a burst of other work on the
// machine during one run does not decide the comparison.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const HOST = "web.localhost";
// At least one: the bench measures the router in a worker process even where Berth routes in process by default.
const WORKERS = Number(process.env.BENCH_WORKERS ?? Math.max(1, defaultRouterWorkers()));

interface Result {
  name: string;
  rps: number;
  requests: number;
  /** CPU the proxy's processes spent per request, in microseconds (NaN for the direct target). */
  proxyCpuUs?: number;
  backendCpuUs?: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const BACKEND_SOURCE = `
const http = require("node:http");
const body = Buffer.from("hello from the backend\\n".repeat(8));
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
`;

// The least a Node proxy can do (http.request + pipe, keep-alive agent, no routing): separates what Node's
// HTTP stack costs on this machine from what the router's own work adds.
const MINIMAL_PROXY_SOURCE = `
const http = require("node:http");
const port = Number(process.argv[1]);
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  const out = http.request({ host: "127.0.0.1", port, path: req.url, method: req.method, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  out.on("error", () => res.destroy());
  req.pipe(out);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
`;

// The least a Node proxy on undici can do (one pool, hop-by-hop headers dropped, no routing, no metrics): the
// floor for the way Berth's router forwards.
const MINIMAL_UNDICI_SOURCE = `
const http = require("node:http");
const { Pool } = require(process.argv[2]);
const pool = new Pool("http://127.0.0.1:" + process.argv[1], { keepAliveTimeout: 1000 });
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"]);
const server = http.createServer((req, res) => {
  const headers = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (!HOP.has(req.rawHeaders[i].toLowerCase())) headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  pool.dispatch({ path: req.url, method: req.method, headers, body: null }, {
    onRequestStart() {},
    onResponseStart(c, status, h) {
      const out = [];
      for (const k in h) if (!HOP.has(k)) out.push(k, h[k]);
      res.writeHead(status, out);
    },
    onResponseData(c, chunk) { if (!res.write(chunk)) { c.pause(); res.once("drain", () => c.resume()); } },
    onResponseEnd() { res.end(); },
    onResponseError() { if (res.headersSent) res.destroy(); else { res.statusCode = 502; res.end(); } },
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
`;

function startNode(source: string, ...args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["-e", source, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.stdout!.once("data", (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
  });
}

async function startNginx(dir: string, backendPort: number): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
  );
  const child = spawn(NGINX, ["-p", dir, "-c", conf, "-e", join(dir, "error.log")], { stdio: ["ignore", "inherit", "inherit"] });
  await waitForPort(port);
  return { child, port };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`, { headers: { host: HOST } }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answered on 127.0.0.1:${port} within 5 s`);
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** User plus system CPU seconds the processes have used so far (Linux /proc). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name (which may hold spaces) start at the state, field 3; utime, stime are 14, 15.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process is gone; it spent nothing more.
    }
  }
  return ticks / CLOCK_TICKS;
}

function childPids(pid: number): number[] {
  return spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number);
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!match) return NaN;
  const n = Number(match[1]);
  return match[2] === "us" ? n / 1000 : match[2] === "s" ? n * 1000 : n;
}

function runWrk(name: string, port: number, seconds: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const args = ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-H", `Host: ${HOST}`, `http://127.0.0.1:${port}/`];
    const child = spawn(WRK, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("close", () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? "";
      const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? "";
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
      if (!Number.isFinite(rps)) reject(new Error(`could not read wrk's output for ${name}:\n${out}`));
      else resolve({ name, rps, requests, p50Ms: toMs(p50), p99Ms: toMs(p99), errors, non2xx });
    });
  });
}

async function main(): Promise<void> {
  if (!existsSync(WRK)) {
    console.log(`wrk not found at ${WRK}; install it with: sudo apt-get install wrk`);
    return;
  }
  if (!existsSync(NGINX)) {
    console.log(`nginx not found at ${NGINX}; install it with: sudo apt-get install nginx`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "berth-router-bench-"));
  const backend = await startNode(BACKEND_SOURCE);
  const minimal = await startNode(MINIMAL_PROXY_SOURCE, String(backend.port));
  const minimalUndici = await startNode(MINIMAL_UNDICI_SOURCE, String(backend.port), createRequire(import.meta.url).resolve("undici"));
  const nginx = await startNginx(dir, backend.port);
  // With a metrics registry, as Berth runs it.
  const log = pino({ level: "warn" });
  const router = new Router({ port: 0, baseDomain: "localhost", log, registry: new Registry() });
  const spread = new RouterCluster({ port: 0, baseDomain: "localhost", log, workers: WORKERS });
  const routerPort = await router.listen();
  const spreadPort = await spread.listen();
  for (const r of [router, spread]) {
    r.setApp({ name: "web", domains: [], routes: [{ component: "web", pathPrefix: "/", preservePathPrefix: false }] });
    r.addBackend("web", "web", { id: "bench", url: `http://127.0.0.1:${backend.port}` });
    await r.sync();
  }
  const spreadName = `berth ${WORKERS} worker${WORKERS === 1 ? "" : "s"}`;

  try {
    // Each target with the processes doing its proxying, whose CPU per request is reported.
    const targets: [string, number, () => number[]][] = [
      ["direct", backend.port, () => []],
      ["nginx", nginx.port, () => childPids(nginx.child.pid!)],
      ["minimal node", minimal.port, () => [minimal.child.pid!]],
      ["minimal undici", minimalUndici.port, () => [minimalUndici.child.pid!]],
      ["berth in-proc", routerPort, () => [process.pid]],
      [spreadName, spreadPort, () => Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!)],
    ];
    // Router runs in this process, so wrk's child is spawned asynchronously and the router keeps serving.
    for (const [name, port] of targets) await runWrk(`${name} (warm-up)`, port, 2);
    const best = new Map<string, Result>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, port, pids] of targets) {
        const proxyPids = pids();
        const before = [cpuSeconds(proxyPids), cpuSeconds([backend.child.pid!])];
        const result = await runWrk(name, port, SECONDS);
        const after = [cpuSeconds(proxyPids), cpuSeconds([backend.child.pid!])];
        result.proxyCpuUs = proxyPids.length > 0 ? ((after[0]! - before[0]!) * 1e6) / result.requests : NaN;
        result.backendCpuUs = ((after[1]! - before[1]!) * 1e6) / result.requests;
        console.log(`round ${round}: ${name} ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms`);
        const previous = best.get(name);
        if (!previous || result.rps > previous.rps) best.set(name, result);
      }
    }
    const results = targets.map(([name]) => best.get(name)!);

    console.log(`wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, GET / (184-byte body), keep-alive, best of ${ROUNDS} rounds, ${new Date().toISOString()}`);
    console.log("target          req/s      p50 ms   p99 ms   errors  non-2xx  proxy CPU µs/req  backend CPU µs/req");
    for (const r of results) {
      const cpu = (us: number | undefined) => (us === undefined || Number.isNaN(us) ? "-" : us.toFixed(0)).padStart(17);
      console.log(
        `${r.name.padEnd(14)} ${r.rps.toFixed(0).padStart(8)}  ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${String(r.errors).padStart(8)} ${String(r.non2xx).padStart(8)} ${cpu(r.proxyCpuUs)} ${cpu(r.backendCpuUs)}`,
      );
    }
    const [direct, viaNginx, viaMinimal, viaUndici, inProcess, viaWorkers] = results as [Result, Result, Result, Result, Result, Result];
    console.log(`minimal undici proxy / nginx throughput: ${(viaUndici.rps / viaNginx.rps).toFixed(2)} (the floor of forwarding with undici)`);
    for (const [label, r] of [[`router over ${WORKERS} worker processes (Berth's default here)`, viaWorkers], ["router in process", inProcess]] as const) {
      console.log(`${label}:`);
      console.log(`  / nginx throughput: ${(r.rps / viaNginx.rps).toFixed(2)} (target >= 0.5)`);
      console.log(`  / direct throughput: ${(r.rps / direct.rps).toFixed(2)}`);
      console.log(`  / minimal node proxy throughput: ${(r.rps / viaMinimal.rps).toFixed(2)}`);
      console.log(`  / nginx p99 latency: ${(r.p99Ms / viaNginx.p99Ms).toFixed(2)}`);
    }
    const load = spawnSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).stdout.trim();
    console.log(`load average at the end: ${load}`);
  } finally {
    await router.close();
    await spread.close();
    nginx.child.kill("SIGQUIT");
    backend.child.kill();
    minimal.child.kill();
    minimalUndici.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
