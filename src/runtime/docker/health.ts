// Readiness as the spec's `health_check` describes it. Until an instance passes its first probe it is probed
// every few hundred milliseconds (a fast app goes live at once) within the same failure budget App Platform
// gives it: initial delay + failure_threshold × period_seconds. After the first success, probes follow
// period_seconds until success_threshold consecutive successes; failure_threshold consecutive failures fail it.
import { request } from "node:http";
import { connect } from "node:net";
import type { HealthCheck } from "../runtime.js";

export interface ProbeResult {
  ok: boolean;
  /** What a person reads in the error: `HTTP 503 from GET /healthz`, `connection refused`, … */
  detail: string;
}

export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

export function httpProbe(host: string, port: number, path: string, timeoutMs: number): Probe {
  return (signal) =>
    new Promise((resolve) => {
      const req = request({ host, port, path, method: "GET", timeout: timeoutMs, signal, agent: false }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 400, detail: `HTTP ${status} from GET ${path}` });
      });
      req.on("timeout", () => {
        req.destroy();
        resolve({ ok: false, detail: `GET ${path} timed out after ${timeoutMs} ms` });
      });
      req.on("error", (err: NodeJS.ErrnoException) =>
        resolve({ ok: false, detail: `GET ${path} failed: ${describeSocketError(err, port)}` }),
      );
      req.end();
    });
}

export function tcpProbe(host: string, port: number, timeoutMs: number): Probe {
  return (signal) =>
    new Promise((resolve) => {
      const socket = connect({ host, port, timeout: timeoutMs, signal });
      socket.on("connect", () => {
        socket.destroy();
        resolve({ ok: true, detail: `TCP port ${port} accepted a connection` });
      });
      socket.on("timeout", () => {
        socket.destroy();
        resolve({ ok: false, detail: `TCP connect to port ${port} timed out after ${timeoutMs} ms` });
      });
      socket.on("error", (err: NodeJS.ErrnoException) =>
        resolve({ ok: false, detail: `TCP ${describeSocketError(err, port)}` }),
      );
    });
}

function describeSocketError(err: NodeJS.ErrnoException, port: number): string {
  if (err.code === "ECONNREFUSED") return `connection refused on port ${port}`;
  if (err.code === "ECONNRESET") return `connection reset on port ${port}`;
  return err.code ?? err.message;
}

export interface WaitHealthyOptions {
  check: HealthCheck;
  probe: Probe;
  /** Interval between probes before the first success. */
  fastIntervalMs: number;
  /** Rejects or resolves when the instance stops running; the wait ends at once with that. */
  exited: Promise<string>;
  signal: AbortSignal;
}

export type HealthOutcome = { healthy: true; last: ProbeResult } | { healthy: false; reason: string; last?: ProbeResult };

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

export async function waitHealthy(o: WaitHealthyOptions): Promise<HealthOutcome> {
  const { check } = o;
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  let exitReason: string | undefined;
  void o.exited.then(
    (reason) => {
      exitReason = reason;
      stop.abort();
    },
    () => undefined,
  );
  const ended = (last?: ProbeResult): HealthOutcome | undefined => {
    if (exitReason !== undefined) return { healthy: false, reason: exitReason, last };
    if (o.signal.aborted) return { healthy: false, reason: "canceled", last };
    return undefined;
  };

  try {
    await sleep(check.initialDelaySeconds * 1000, signal);
    const budgetEnd = Date.now() + check.failureThreshold * check.periodSeconds * 1000;
    let last: ProbeResult | undefined;
    for (;;) {
      const over = ended(last);
      if (over) return over;
      last = await o.probe(signal);
      if (last.ok) break;
      if (ended(last)) return ended(last)!;
      if (Date.now() >= budgetEnd) {
        return {
          healthy: false,
          reason: `no successful health check within ${+(check.initialDelaySeconds + check.failureThreshold * check.periodSeconds).toFixed(3)} s`,
          last,
        };
      }
      await sleep(Math.min(o.fastIntervalMs, Math.max(0, budgetEnd - Date.now())), signal);
    }
    let successes = 1;
    let failures = 0;
    while (successes < check.successThreshold) {
      await sleep(check.periodSeconds * 1000, signal);
      const over = ended(last);
      if (over) return over;
      last = await o.probe(signal);
      if (last.ok) {
        successes++;
        failures = 0;
      } else {
        successes = 0;
        if (++failures >= check.failureThreshold) {
          return { healthy: false, reason: `${failures} consecutive failed health checks`, last };
        }
      }
    }
    return ended(last) ?? { healthy: true, last };
  } finally {
    stop.abort();
  }
}
