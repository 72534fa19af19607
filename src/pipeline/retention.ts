// The retention sweep: the store forgets old deployments, logs and deliveries; the runtime then removes the
// images only forgotten deployments used. Images are pruned from what the store still holds after the
// delete, so an image a kept deployment reuses (a restart, a rollback) always stays.
import type pino from "pino";
import type { PruneResult, Store } from "../core/store.js";
import type { Runtime } from "../runtime/runtime.js";

export interface RetentionSettings {
  /** BERTH_KEEP_DEPLOYMENTS. */
  keepDeployments: number;
  /** BERTH_LOG_RETENTION; 0 keeps logs as long as their deployment. */
  logRetentionMs: number;
  /** BERTH_DELIVERY_RETENTION (the webhook replay window); 0 remembers deliveries forever. */
  deliveryRetentionMs: number;
}

export interface RetentionDeps {
  store: Pick<Store, "retention">;
  runtime: Pick<Runtime, "pruneImages">;
  log: pino.Logger;
  settings: RetentionSettings;
}

const before = (now: number, ms: number) => new Date(ms > 0 ? now - ms : 0);

export async function sweepRetention(deps: RetentionDeps, now = Date.now()): Promise<PruneResult & { images: number }> {
  const { store, runtime, log, settings } = deps;
  const result = await store.retention.prune({
    keepDeployments: settings.keepDeployments,
    logsBefore: before(now, settings.logRetentionMs),
    deliveriesBefore: before(now, settings.deliveryRetentionMs),
  });
  let images = 0;
  for (const app of result.apps) {
    try {
      images += (await runtime.pruneImages?.(app.keptImages, app.appId))?.length ?? 0;
    } catch (err) {
      log.warn({ err, appId: app.appId }, "could not remove old images");
    }
  }
  if (result.deployments + result.logs + result.deliveries + images > 0) {
    log.info({ deployments: result.deployments, logs: result.logs, deliveries: result.deliveries, images }, "retention sweep");
  }
  return { ...result, images };
}

/** Sweeps now and every `intervalMs` (0: only now); the returned stop waits for a sweep in progress. */
export function startRetentionLoop(deps: RetentionDeps, intervalMs: number): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = sweepRetention(deps).then(
      () => undefined,
      (err: unknown) => deps.log.error({ err }, "retention sweep failed"),
    );
    void running.then(() => {
      if (!stopped && intervalMs > 0) timer = setTimeout(run, intervalMs).unref();
    });
  };
  run();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  };
}
