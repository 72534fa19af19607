// A push to the production branch: deploy it when the spec at the commit deploys that branch on push. Which
// branch is production is decided by the default branch's spec (see productionBranch), never by the push.
import type { Logger } from "pino";
import type { Intent } from "../core/types.js";
import type { GitHub } from "../github/octokit.js";
import { isBranchHead } from "./branch-head.js";
import { productionKey, sameApp, type ActContext, type EventOf } from "./context.js";
import { evaluateGate, gateKey, waitsForChecks, type Gate } from "./gate.js";
import { productionBranch } from "./production-branch.js";
import { componentsOn } from "./spec-view.js";

type PushEvent = EventOf<"push">;

export async function onPush(ctx: ActContext, e: PushEvent, deliveryId: string, log: Logger): Promise<void> {
  const github = await ctx.auth(e.installationId);
  const app = productionKey(e.installationId, e.repository);
  const onDefault = e.branch === e.defaultBranch;
  // A push to the default branch is the default branch: its spec is read once.
  const atDefault = await ctx.readSpec(github, e.repository, onDefault ? e.sha : e.defaultBranch);
  const recorded = async () =>
    (await ctx.apps.list({ installationId: e.installationId })).find((a) => sameApp(a.key, app))?.branch;
  const production = await productionBranch(e.repository, atDefault, recorded);
  if (production !== e.branch) return log.debug({ branch: e.branch, production }, "not the production branch; ignored");
  const read = onDefault ? atDefault : await ctx.readSpec(github, e.repository, e.sha);
  if (!read) return log.debug("no spec at this commit; ignored");
  // A broken spec cannot say what deploys on push; it is deployed so that the deployment fails visibly.
  if (read.spec && componentsOn(read.spec, e.repository, e.branch, { onPush: true }).length === 0) {
    return log.debug({ branch: e.branch }, "no component deploys this branch on push; ignored");
  }
  if (read.problems.length > 0) await ctx.checkSpec(github, e, read);
  if (!(await isBranchHead(github, e.repository, e.branch, e.sha))) return log.info({ sha: e.sha }, "no longer the branch's head; the newer push deploys");
  await deploy(ctx, github, e, deliveryId, log, read.fetched.path);
}

async function deploy(ctx: ActContext, github: GitHub, e: PushEvent, deliveryId: string, log: Logger, specPath: string): Promise<void> {
  const specChanged = e.changedPaths === null || e.changedPaths.includes(specPath);
  const intent: Intent = {
    kind: "deploy",
    app: productionKey(e.installationId, e.repository),
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
