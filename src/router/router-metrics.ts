// Request metrics for the router, registered in a registry the composition root passes in (never the
// global one, so two routers in one process, as in tests, do not collide).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface RouterMetrics {
  /** Records one finished request; `component` is "" when no route matched. */
  observe(app: string, component: string, status: number, seconds: number): void;
  retried(app: string, component: string): void;
}

export function createRouterMetrics(registry: Registry, inFlight: () => number): RouterMetrics {
  const requests = new Counter({
    name: "berth_router_requests_total",
    help: "Requests the router answered, by app, component and status code.",
    labelNames: ["app", "component", "code"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "berth_router_request_duration_seconds",
    help: "Time from request to the end of the response, by app and component.",
    labelNames: ["app", "component"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const retries = new Counter({
    name: "berth_router_retries_total",
    help: "Requests sent again to another instance because the first refused the connection.",
    labelNames: ["app", "component"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "berth_router_in_flight_requests",
    help: "Requests and WebSockets the router is forwarding right now.",
    registers: [registry],
    collect() {
      this.set(inFlight());
    },
  });
  return {
    observe(app, component, status, seconds) {
      requests.labels(app, component, String(status)).inc();
      duration.labels(app, component).observe(seconds);
    },
    retried(app, component) {
      retries.labels(app, component).inc();
    },
  };
}

export const noMetrics: RouterMetrics = { observe() {}, retried() {} };
