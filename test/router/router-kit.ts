// Shared pieces of the router tests: plain Node backends on 127.0.0.1 and a client that names the app by
// the Host header (never by DNS).
import { createServer, request, type Agent, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import pino from "pino";

export const silentLog = pino({ level: "silent" });

export interface TestBackend {
  id: string;
  url: string;
  port: number;
  server: Server;
  hits: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, backend: TestBackend) => void;

/** Default backend: answers JSON naming itself, with the path and headers it received. */
export const echo: Handler = (req, res, backend) => {
  const body = JSON.stringify({ id: backend.id, url: req.url, headers: req.headers });
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
};

export async function startBackend(id: string, handler: Handler = echo): Promise<TestBackend> {
  const backend = { id, hits: 0 } as TestBackend;
  const server = createServer((req, res) => {
    backend.hits++;
    handler(req, res, backend);
  });
  // Upgraded sockets leave the server's connection list, so close() must destroy them itself.
  const upgraded = new Set<Duplex>();
  server.on("upgrade", (_req, socket: Duplex) => {
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(backend, {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      }),
  });
  return backend;
}

/** A port nothing listens on (bound, then released), so connecting to it is refused. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface GetOptions {
  method?: string;
  headers?: Record<string, string>;
  agent?: Agent;
  body?: string;
}

export function get(port: number, host: string, path: string, options: GetOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { host, ...options.headers },
        agent: options.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

export async function getJson(port: number, host: string, path: string, options: GetOptions = {}) {
  const reply = await get(port, host, path, options);
  return { ...reply, json: JSON.parse(reply.body) as { id: string; url: string; headers: IncomingHttpHeaders } };
}
