// The buttons on Berth's check runs (Redeploy, Force rebuild, Roll back here, "Re-run" on one run) and
// "Re-run all checks" on Berth's check suite.
import type { Logger } from "pino";
import type { DeploymentRecord, Intent } from "../core/types.js";
import { splitRepository } from "../github/repository.js";
import { SPEC_CHECK_EXTERNAL_ID } from "../github/spec-check.js";
import type { ActContext, EventOf } from "./context.js";

export async function onCheckRun(ctx: ActContext, e: EventOf<"check_run">, deliveryId: string, log: Logger): Promise<void> {
  if (e.externalId === SPEC_CHECK_EXTERNAL_ID) {
    const github = await ctx.auth(e.installationId);
    const read = await ctx.readSpec(github, e.repository, e.sha);
    if (read) await ctx.checkSpec(github, e, read);
    return;
  }
  const deployment = await ctx.pipeline.getDeployment(e.externalId);
  if (!deployment) return log.warn({ deploymentId: e.externalId }, "check run names a deployment Berth does not know");
  const action = e.action === "rerequested" ? "redeploy" : e.identifier;
  const intent = buttonIntent(deployment, action, e.by);
  if (!intent) return log.warn({ identifier: e.identifier }, "unknown check run action");
  await ctx.submit(intent, deliveryId, action ?? "check_run", log);
}

function buttonIntent(deployment: DeploymentRecord, action: string | undefined, by: string | undefined): Intent | null {
  const { app, branch, sha } = deployment;
  switch (action) {
    case "redeploy":
      return { kind: "deploy", app, branch, sha, cause: { type: "manual", by } };
    case "rebuild":
      return { kind: "deploy", app, branch, sha, cause: { type: "force_rebuild", by }, forceBuild: true };
    case "rollback":
      return { kind: "rollback", app, toDeploymentId: deployment.id, by };
    default:
      return null;
  }
}

/** "Re-run all checks" on Berth's suite: the spec check again, and every deployment it reported again. */
export async function onCheckSuiteRerun(ctx: ActContext, e: EventOf<"check_suite_rerun">, deliveryId: string, log: Logger): Promise<void> {
  const github = await ctx.auth(e.installationId);
  const { owner, repo } = splitRepository(e.repository);
  const runs = await github.paginate(github.rest.checks.listForSuite, { owner, repo, check_suite_id: e.suiteId, per_page: 100 });
  const ids = [...new Set(runs.map((r) => r.external_id).filter((id): id is string => Boolean(id)))];
  if (ids.includes(SPEC_CHECK_EXTERNAL_ID)) {
    const read = await ctx.readSpec(github, e.repository, e.sha);
    if (read) await ctx.checkSpec(github, e, read);
  }
  // One redeploy per environment: the newest deployment of this commit there.
  const newest = new Map<string, DeploymentRecord>();
  for (const id of ids.filter((i) => i !== SPEC_CHECK_EXTERNAL_ID)) {
    const d = await ctx.pipeline.getDeployment(id);
    const seen = d && newest.get(d.app.environment);
    if (d && (!seen || seen.createdAt < d.createdAt)) newest.set(d.app.environment, d);
  }
  for (const d of newest.values()) {
    await ctx.submit(
      { kind: "deploy", app: d.app, branch: d.branch, sha: d.sha, cause: { type: "manual", by: e.by } },
      deliveryId,
      `rerun:${d.app.environment}`,
      log,
    );
  }
}
