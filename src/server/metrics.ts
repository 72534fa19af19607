// `/metrics` in Prometheus' text format: the process's own figures plus whatever the router and others
// registered on the same registry.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Registry } from "prom-client";

/** `more` adds metrics kept elsewhere, e.g. the router worker processes', read at each scrape. */
export function createMetricsHandler(registry: Registry, more?: () => Promise<Registry>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") return false;
    const body = await (more ? Registry.merge([registry, await more()]) : registry).metrics();
    res.writeHead(200, { "content-type": registry.contentType }).end(body);
    return true;
  };
}
