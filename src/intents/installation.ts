// The GitHub App installed on repositories: deploy each one with a spec from its deploy branch. Removed
// from them (or uninstalled): stop managing their apps, which keep running.
import type { Logger } from "pino";
import { splitRepository } from "../github/repository.js";
import { productionKey, type ActContext, type EventOf } from "./context.js";
import { deployBranch } from "./spec-view.js";

export async function onInstallation(ctx: ActContext, e: EventOf<"installation">, deliveryId: string, log: Logger): Promise<void> {
  if (e.action === "removed") return removeApps(ctx, e, log);
  const github = await ctx.auth(e.installationId);
  for (const repository of e.repositories) {
    const { owner, repo } = splitRepository(repository);
    const { data } = await github.rest.repos.get({ owner, repo });
    const read = await ctx.readSpec(github, repository, data.default_branch);
    if (!read) {
      log.debug({ repository }, "no spec on the default branch; not managed");
      continue;
    }
    const branch = (read.spec && deployBranch(read.spec, repository)) ?? data.default_branch;
    const head = await github.rest.repos.getBranch({ owner, repo, branch });
    await ctx.submit(
      {
        kind: "deploy",
        app: productionKey(e.installationId, repository),
        branch,
        sha: head.data.commit.sha,
        cause: { type: "manual", by: e.by },
      },
      deliveryId,
      `install:${repository}`,
      log,
    );
  }
}

async function removeApps(ctx: ActContext, e: EventOf<"installation">, log: Logger): Promise<void> {
  const removed = new Set(e.repositories.map((r) => r.toLowerCase()));
  // An uninstall (it names the account) ends the management of every app, listed or not.
  const whole = e.account !== undefined;
  const apps = await ctx.apps.list({ installationId: e.installationId });
  for (const app of apps) {
    if (app.removedAt) continue;
    if (!whole && !removed.has(app.key.repository.toLowerCase())) continue;
    await ctx.apps.remove(app.id, "the GitHub App no longer has access to the repository");
    log.info({ app: app.key }, "no longer managed (still running)");
  }
}
