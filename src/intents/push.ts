// A push to a branch: deploy it to production when the spec at the commit deploys that branch on push.
import type { Logger } from "pino";
import type { Intent } from "../core/types.js";
import { productionKey, sameApp, type ActContext, type EventOf } from "./context.js";
import { evaluateGate, gateKey, waitsForChecks, type Gate } from "./gate.js";
import { componentsOn } from "./spec-view.js";

export async function onPush(ctx: ActContext, e: EventOf<"push">, deliveryId: string, log: Logger): Promise<void> {
  const github = await ctx.auth(e.installationId);
  const read = await ctx.readSpec(github, e.repository, e.sha);
  if (!read) return log.debug("no spec at this commit; ignored");
  const app = productionKey(e.installationId, e.repository);
  let relevant: boolean;
  if (read.spec) {
    relevant = componentsOn(read.spec, e.repository, e.branch, { onPush: true }).length > 0;
  } else {
    // The spec is broken, so it cannot say which branch deploys; the branch the app deployed from can.
    const known = (await ctx.apps.list({ installationId: e.installationId })).find((a) => sameApp(a.key, app));
    relevant = known?.branch === e.branch;
  }
  if (!relevant) return log.debug({ branch: e.branch }, "no component deploys this branch on push; ignored");
  if (read.problems.length > 0) await ctx.checkSpec(github, e, read);
  const specChanged = e.changedPaths === null || e.changedPaths.includes(read.fetched.path);
  const intent: Intent = {
    kind: "deploy",
    app,
    branch: e.branch,
    sha: e.sha,
    cause: { type: "push", sha: e.sha, ref: `refs/heads/${e.branch}`, pusher: e.pusher, message: e.message },
    ...(specChanged ? {} : { changedPaths: e.changedPaths ?? [] }),
  };
  if (await waitsForChecks(github, e.repository, e.sha, log)) {
    const gate: Gate = { intent, deliveryId };
    await ctx.state.set(gateKey(e.installationId, e.repository, e.sha), gate);
    log.info({ sha: e.sha }, "deploy waits for the commit's other check suites");
    // Suites that finished before the push reached Berth send no further event.
    return evaluateGate(ctx, e, log, { atPush: true });
  }
  await ctx.submit(intent, deliveryId, "deploy", log);
}
