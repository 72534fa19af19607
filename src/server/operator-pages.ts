// The operator's side of Berth's HTTP server: the login, the deployment pages, and /metrics, either behind
// the token on Berth's port or alone on its own (private) address.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { createOperatorAuth } from "./auth.js";
import { createDeploymentPageHandler, type DeploymentPageOptions } from "./deployment-page.js";
import { createLoginHandler } from "./login-page.js";
import { createMetricsHandler, serveMetrics } from "./metrics.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface OperatorPagesOptions {
  token: string;
  berthUrl: string;
  registry: Registry;
  moreMetrics?: () => Promise<Registry>;
  /** BERTH_METRICS_ADDRESS: serve /metrics there (no token) and not on Berth's port. */
  metricsAddress?: { host: string; port: number };
  deployments: Omit<DeploymentPageOptions, "authorize">;
}

export interface OperatorPages {
  /** The port of the separate /metrics listener, when there is one. */
  metricsPort?: number;
  close(): Promise<void>;
}

export async function addOperatorPages(addHandler: (handler: Handler) => void, o: OperatorPagesOptions): Promise<OperatorPages> {
  const auth = createOperatorAuth({ token: o.token, berthUrl: o.berthUrl });
  addHandler(createLoginHandler(auth));
  addHandler(createDeploymentPageHandler({ ...o.deployments, authorize: auth.page }));
  if (!o.metricsAddress) {
    addHandler(createMetricsHandler(o.registry, { more: o.moreMetrics, authorize: auth.bearer }));
    return { close: async () => {} };
  }
  const listener = await serveMetrics(o.metricsAddress, o.registry, o.moreMetrics);
  return { metricsPort: listener.port, close: () => listener.close() };
}
