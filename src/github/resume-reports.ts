// At start, GitHub hears how deployments ended that the last Berth could not report: it was stopped within
// its shutdown grace (the reporters get 5 s) or crashed after a deployment's final phase was stored.
import type { Logger } from "pino";
import type { DeploymentRecord } from "../core/types.js";

/** The part of the store this reads: apps and their newest deployments. */
export interface RecentDeployments {
  apps: { list(): Promise<{ id: string }[]> };
  deployments: { list(appId: string, opts?: { limit?: number }): Promise<DeploymentRecord[]> };
}

export interface ResumableReporter {
  resume(deployment: DeploymentRecord): Promise<void>;
}

/** How far back to look: a Berth down for longer has its GitHub reports redone by hand (Re-run). */
export const RESUME_WINDOW_MS = 24 * 60 * 60_000;
const PER_APP = 5;

export async function resumeReports(
  store: RecentDeployments,
  reporters: ResumableReporter[],
  log: Logger,
  now = new Date(),
): Promise<number> {
  const since = now.getTime() - RESUME_WINDOW_MS;
  let checked = 0;
  for (const app of await store.apps.list()) {
    for (const deployment of await store.deployments.list(app.id, { limit: PER_APP })) {
      if (deployment.updatedAt.getTime() < since) continue;
      checked++;
      for (const reporter of reporters) {
        await reporter.resume(deployment).catch((err: unknown) => log.warn({ err, deploymentId: deployment.id }, "could not resume a GitHub report"));
      }
    }
  }
  return checked;
}
