// A pull request opened or pushed to: check its spec and build a preview (`pr-<N>`), except from a fork,
// whose every head waits for a maintainer's `/berth preview`; closed: tear the preview down.
import type { Logger } from "pino";
import { previewKey, type ActContext, type EventOf } from "./context.js";
import { forgetHeads, recordHead } from "./preview-approval.js";
import { buildsFrom } from "./spec-view.js";

/** Where a maintainer's `/berth preview` of a fork's head is remembered, by the head's sha. */
export const approvalKey = (installationId: number, repository: string, number: number) =>
  `github:approval:${installationId}/${repository}#${number}`;

export async function onPullRequest(ctx: ActContext, e: EventOf<"pull_request">, deliveryId: string, log: Logger): Promise<void> {
  const app = previewKey(e.installationId, e.repository, e.number);
  if (e.action === "closed") {
    await ctx.submit({ kind: "teardown", app, reason: `pull request #${e.number} closed` }, deliveryId, "teardown", log);
    if (e.fork) await forgetHeads(ctx.state, e);
    return;
  }
  // Before anything that can fail or return: a maintainer's comment is matched to the heads recorded here.
  if (e.fork) await recordHead(ctx.state, e);
  const github = await ctx.auth(e.installationId);
  const read = await ctx.readSpec(github, e.repository, e.sha);
  if (!read) return log.debug("no spec at the pull request's head; ignored");
  await ctx.checkSpec(github, e, read);
  if (!read.spec) return log.info("spec invalid; no preview");
  if (!buildsFrom(read.spec, e.repository)) return log.debug("no component builds from this repository; no preview");
  if (e.fork) {
    const approval = (await ctx.state.get(approvalKey(e.installationId, e.repository, e.number))) as { sha?: string } | null;
    if (approval?.sha !== e.sha) {
      ctx.previews.notice(
        e,
        `This pull request comes from a fork (\`${e.headRepository}\`), so Berth only checked its spec. ` +
          `A maintainer can build a preview of \`${e.sha.slice(0, 7)}\` by commenting \`/berth preview\` ` +
          `(or \`/berth preview ${e.sha.slice(0, 7)}\`); ` +
          `every new push needs that again.`,
      );
      return log.info({ sha: e.sha }, "fork pull request waits for a maintainer's /berth preview");
    }
  }
  await submitPreview(ctx, e, deliveryId, log);
}

/** A pull request's head, as a preview deploys it. */
export interface PreviewHead {
  installationId: number;
  repository: string;
  number: number;
  sha: string;
  headRef: string;
  headRepository: string;
  fork: boolean;
}

export function submitPreview(ctx: ActContext, pr: PreviewHead, deliveryId: string, log: Logger): Promise<string | undefined> {
  return ctx.submit(
    {
      kind: "deploy",
      app: previewKey(pr.installationId, pr.repository, pr.number),
      branch: pr.headRef,
      sha: pr.sha,
      cause: { type: "pull_request", number: pr.number, sha: pr.sha, headRepository: pr.headRepository, fork: pr.fork },
    },
    deliveryId,
    "preview",
    log,
  );
}
