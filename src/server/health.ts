// `/healthz` answers while the process serves requests; `/readyz` only when what deployments need answers
// too (the store open, the runtime reachable). Both are plain HTTP handlers for Probot's server.
import type { IncomingMessage, ServerResponse } from "node:http";

export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
}

export interface HealthOptions {
  checks: ReadinessCheck[];
  /** A check that does not answer within this long counts as failing. */
  timeoutMs?: number;
}

function send(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
  return true;
}

async function within(ms: number, work: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createHealthHandler(options: HealthOptions) {
  const timeoutMs = options.timeoutMs ?? 3_000;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    if (path === "/healthz") return send(res, 200, { status: "ok" });
    if (path !== "/readyz") return false;
    const results = await Promise.all(
      options.checks.map(async (c) => {
        try {
          await within(timeoutMs, c.check);
          return [c.name, "ok"] as const;
        } catch (err) {
          return [c.name, (err as Error).message || "failed"] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r === "ok");
    return send(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks: Object.fromEntries(results) });
  };
}

/**
 * Setup mode (no GitHub App registered yet): alive, and ready in the only sense there is, serving the
 * registration page, so a probe keeps routing the operator to it. The body says what Berth waits for.
 */
export function createSetupHealthHandler(registrationUrl: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    if (path === "/healthz") return send(res, 200, { status: "ok", mode: "setup" });
    if (path !== "/readyz") return false;
    return send(res, 200, { status: "waiting for registration", mode: "setup", register: registrationUrl });
  };
}
