// Taking Berth down within a budget. Every part that waits on something outside Berth (GitHub, a hanging
// client, a deployment ignoring its abort) gets at most what is left of BERTH_SHUTDOWN_GRACE plus a fixed
// margin; whatever has not stopped by then is named in the log and abandoned. Nothing it leaves is lost:
// undone deliveries stay in the inbox, interrupted deployments are recovered at the next start.
import type { Logger } from "pino";

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
  /** This step's own limit, within the budget. */
  maxMs?: number;
}

/** Steps of one stage run together; stages run in order. */
export type ShutdownPlan = ShutdownStep[][];

/** What the grace leaves for the rest: stopping the server, telling GitHub, closing the store. */
export const SHUTDOWN_MARGIN_MS = 10_000;

const TIMED_OUT = Symbol("timed out");

async function within(step: ShutdownStep, ms: number, log: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), Math.max(ms, 0))));
  try {
    const outcome = await Promise.race([Promise.resolve().then(step.run), limit]);
    return outcome !== TIMED_OUT;
  } catch (err) {
    log.error({ err, step: step.name }, "error while stopping");
    return true;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the plan within `budgetMs`; returns the names of the steps that did not stop in time. */
export async function runShutdown(plan: ShutdownPlan, budgetMs: number, log: Logger): Promise<string[]> {
  const deadline = Date.now() + budgetMs;
  const abandoned: string[] = [];
  for (const stage of plan) {
    const left = deadline - Date.now();
    if (left <= 0) {
      abandoned.push(...stage.map((s) => s.name));
      continue;
    }
    const results = await Promise.all(stage.map((s) => within(s, Math.min(s.maxMs ?? left, left), log)));
    stage.forEach((s, i) => {
      if (results[i]) return;
      abandoned.push(s.name);
      log.warn({ step: s.name }, `${s.name} did not stop in time; abandoned`);
    });
  }
  return abandoned;
}
