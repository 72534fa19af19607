// When is a new instance ready: a service when its health check passes, a worker when it has run for a while
// without exiting. Either fails early if the container exits.
import type { RolloutRequest } from "../runtime.js";
import type { DockerContext } from "./docker-context.js";
import { sleep } from "./engine.js";
import { httpProbe, tcpProbe, waitHealthy, type ProbeResult } from "./health.js";
import type { StartedInstance } from "./instances.js";

const DEFAULT_HEALTH = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 9 };

export interface InstanceProblem {
  reason: string;
  probe?: ProbeResult;
  exitCode?: number;
}

/** Waits for one new instance; resolves with null when healthy, else with the evidence. */
export async function awaitInstance(ctx: DockerContext, req: RolloutRequest, started: StartedInstance): Promise<InstanceProblem | null> {
  let exitCode: number | undefined;
  const exited = started.exited.then((r) => {
    exitCode = r.code;
    return `exited with code ${r.code}`;
  });
  if (req.kind === "worker") {
    const stableSeconds = ctx.workerStableSeconds;
    const outcome = await Promise.race([exited, sleep(stableSeconds * 1000, req.signal).then(() => null)]);
    if (outcome === null) {
      return req.signal.aborted ? { reason: "canceled" } : null;
    }
    return { reason: `${outcome} before running for ${stableSeconds} seconds without exiting`, exitCode };
  }
  const check = req.healthCheck ?? { ...DEFAULT_HEALTH, port: req.httpPort ?? 8080 };
  const port = check.port === (req.httpPort ?? check.port) ? started.instance.hostPort : check.port;
  const timeoutMs = check.timeoutSeconds * 1000;
  const probe = check.httpPath
    ? httpProbe("127.0.0.1", port, check.httpPath, timeoutMs)
    : tcpProbe("127.0.0.1", port, timeoutMs);
  const outcome = await waitHealthy({ check, probe, fastIntervalMs: ctx.fastProbeMs, exited, signal: req.signal });
  if (outcome.healthy) return null;
  return { reason: outcome.reason, probe: outcome.last, exitCode };
}
