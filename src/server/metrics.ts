// `/metrics` in Prometheus' text format: the process's own figures plus whatever the router and others
// registered on the same registry. On Berth's port it needs the operator token; on its own listener
// (BERTH_METRICS_ADDRESS, a private address) it is open and nothing else is served there.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import type { Gate } from "./auth.js";

export interface MetricsHandlerOptions {
  /** Adds metrics kept elsewhere, e.g. the router worker processes', read at each scrape. */
  more?: () => Promise<Registry>;
  authorize: Gate;
}

export function createMetricsHandler(registry: Registry, options: MetricsHandlerOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") return false;
    if (!options.authorize(req, res)) return true;
    const body = await (options.more ? Registry.merge([registry, await options.more()]) : registry).metrics();
    res.writeHead(200, { "content-type": registry.contentType }).end(body);
    return true;
  };
}

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

/** `/metrics` alone on `host:port`, without a token: the address must be one only the scraper reaches. */
export async function serveMetrics(
  address: { host: string; port: number },
  registry: Registry,
  more?: () => Promise<Registry>,
): Promise<MetricsListener> {
  const handler = createMetricsHandler(registry, { more, authorize: () => true });
  const server: Server = createServer((req, res) => {
    handler(req, res).then(
      (handled) => handled || res.writeHead(404).end(),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
