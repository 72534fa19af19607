// `/berth <command>` in a pull request's conversation or a commit's comments, from someone with write access:
// Berth reacts (👀 taken, 🚀 started, 😕 nothing started, 👎 refused), replies on pull requests, and tells
// the outcome when the deployment it started is final.
import type { Logger } from "pino";
import type { AppKey, DeploymentRecord } from "../core/types.js";
import type { GitHub } from "../github/octokit.js";
import { splitRepository } from "../github/repository.js";
import type { Command } from "../webhooks/events.js";
import { previewKey, productionKey, RefusedIntent, sameApp, type ActContext, type EventOf } from "./context.js";
import { approvedCommit } from "./preview-approval.js";
import { approvalKey, submitPreview } from "./pull-request.js";

type CommandEvent = EventOf<"command">;
type Reaction = "+1" | "-1" | "eyes" | "rocket" | "confused";

interface Answer {
  text: string;
  /** The deployment the command started, whose outcome is reported when it is final. */
  deploymentId?: string;
}

const WRITE_PERMISSIONS = new Set(["admin", "maintain", "write"]);

export async function onCommand(ctx: ActContext, e: CommandEvent, deliveryId: string, log: Logger): Promise<void> {
  const github = await ctx.auth(e.installationId);
  const { react, reply } = answerer(ctx, github, e, log);
  const { owner, repo } = splitRepository(e.repository);
  const { data: level } = await github.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: e.by });
  if (!WRITE_PERMISSIONS.has(level.permission) && !WRITE_PERMISSIONS.has(level.role_name ?? "")) {
    await react("-1");
    await reply(`only people with write access to ${e.repository} can run \`/berth ${e.command.name}\`.`);
    return log.info({ user: e.by, permission: level.permission }, "command refused");
  }
  await react("eyes");
  let answer: Answer;
  try {
    answer =
      e.on.kind === "pull_request"
        ? await prCommand(ctx, github, e, e.on.number, deliveryId, log)
        : await commitCommand(ctx, e, e.on.sha, deliveryId, log);
  } catch (err) {
    // Answered either way: acting on the comment again would only repeat the reply.
    log.warn({ err }, "command failed");
    await react("confused");
    const why = err instanceof RefusedIntent ? err.message : "Berth could not reach GitHub or its store; see its log.";
    await reply(`\`/berth ${e.command.name}\` failed: ${why}`);
    return;
  }
  // 🚀 when something was started; 😕 when the answer is why nothing was (closed PR, nothing to roll back to).
  await react(answer.deploymentId ? "rocket" : "confused");
  await reply(answer.text);
  // How it ended is told when the deployment is final (see CommandResultReporter).
  if (answer.deploymentId) {
    await ctx.results?.watch(answer.deploymentId, {
      installationId: e.installationId,
      repository: e.repository,
      on: e.on,
      commentId: e.commentId,
      by: e.by,
      command: e.command.name,
    });
  }
}

/** How Berth answers a command's comment: a reaction always, a reply on pull requests. */
function answerer(ctx: ActContext, github: GitHub, e: CommandEvent, log: Logger) {
  const { owner, repo } = splitRepository(e.repository);
  // A reaction is a courtesy: if GitHub refuses it (permissions, a deleted comment), the command still runs.
  const react = async (content: Reaction) => {
    try {
      await ctx.writes.run(e.installationId, () =>
        e.on.kind === "pull_request"
          ? github.rest.reactions.createForIssueComment({ owner, repo, comment_id: e.commentId, content })
          : github.rest.reactions.createForCommitComment({ owner, repo, comment_id: e.commentId, content }),
      );
    } catch (err) {
      log.warn({ err, content }, "could not react to the command's comment");
    }
  };
  const reply = async (text: string) => {
    if (e.on.kind !== "pull_request") return; // Commit comments would need contents: write; the reaction answers.
    const number = e.on.number;
    await ctx.writes.run(e.installationId, () =>
      github.rest.issues.createComment({ owner, repo, issue_number: number, body: ctx.redact(`@${e.by} ${text}`) }),
    );
  };
  return { react, reply };
}

async function prCommand(ctx: ActContext, github: GitHub, e: CommandEvent, number: number, deliveryId: string, log: Logger): Promise<Answer> {
  const { owner, repo } = splitRepository(e.repository);
  const { data: pr } = await github.rest.pulls.get({ owner, repo, pull_number: number });
  const app = previewKey(e.installationId, e.repository, number);
  const headRepository = pr.head.repo?.full_name ?? "(deleted fork)";
  const fork = headRepository.toLowerCase() !== e.repository.toLowerCase();
  const name = e.command.name;
  if (pr.state !== "open" && (name === "deploy" || name === "preview")) return { text: `#${number} is closed; there is nothing to preview.` };
  if (name === "deploy" || name === "preview") {
    const target = { installationId: e.installationId, repository: e.repository, number, head: pr.head.sha };
    // A same-repository head was pushed by someone with write access; a fork's needs the maintainer's eyes.
    const approval =
      fork || e.command.args.length > 0
        ? await approvedCommit(github, ctx.state, target, { createdAt: e.createdAt, args: e.command.args })
        : { sha: pr.head.sha };
    if ("refused" in approval) return { text: approval.refused };
    if (fork) await ctx.state.set(approvalKey(e.installationId, e.repository, number), { sha: approval.sha, by: e.by });
    const id = await submitPreview(
      ctx,
      { installationId: e.installationId, repository: e.repository, number, sha: approval.sha, headRef: pr.head.ref, headRepository, fork },
      deliveryId,
      log,
    );
    return { text: previewAnswer(approval.sha, id, approval.since), deploymentId: id };
  }
  return appCommand(ctx, app, e.command, e.by, deliveryId, log);
}

function previewAnswer(sha: string, id: string | undefined, since: string | undefined): string {
  const deployment = id ? ` (deployment \`${id}\`)` : "";
  if (!since) return `building a preview of \`${sha.slice(0, 7)}\`${deployment}.`;
  const newer = since.slice(0, 7);
  return `building a preview of \`${sha.slice(0, 7)}\`, the head when you commented${deployment}; \`${newer}\`, pushed since, needs its own \`/berth preview ${newer}\`.`;
}

async function commitCommand(ctx: ActContext, e: CommandEvent, sha: string, deliveryId: string, log: Logger): Promise<Answer> {
  const app = productionKey(e.installationId, e.repository);
  if (e.command.name === "preview") return { text: "previews are built for pull requests; comment there." };
  if (e.command.name === "deploy") {
    const known = (await ctx.apps.list({ installationId: e.installationId })).find((a) => sameApp(a.key, app));
    if (!known) return { text: `Berth does not manage ${e.repository} yet; push to its deploy branch first.` };
    const id = await ctx.submit({ kind: "deploy", app, branch: known.branch, sha, cause: { type: "manual", by: e.by } }, deliveryId, "deploy", log);
    return { text: `deploying \`${sha.slice(0, 7)}\`${id ? ` (deployment \`${id}\`)` : ""}.`, deploymentId: id };
  }
  return appCommand(ctx, app, e.command, e.by, deliveryId, log);
}

async function appCommand(ctx: ActContext, app: AppKey, command: Command, by: string, deliveryId: string, log: Logger): Promise<Answer> {
  if (command.name === "restart") {
    const components = command.args.length ? command.args : undefined;
    const id = await ctx.submit({ kind: "restart", app, components, by }, deliveryId, "restart", log);
    return {
      text: `restarting ${components ? components.map((c) => `\`${c}\``).join(", ") : "every service and worker"} of ${app.environment}.`,
      deploymentId: id,
    };
  }
  // rollback: to the newest deployment that served before the one serving now.
  const deployments = await ctx.pipeline.listDeployments(app);
  const target = previousServing(deployments);
  if (!target) return { text: `there is no earlier deployment of ${app.environment} to roll back to.` };
  const id = await ctx.submit({ kind: "rollback", app, toDeploymentId: target.id, by }, deliveryId, "rollback", log);
  return { text: `rolling ${app.environment} back to \`${target.sha.slice(0, 7)}\` (deployment \`${target.id}\`).`, deploymentId: id };
}

/**
 * The deployment to roll back to: the newest one, older than the one serving now, that finished its rollout
 * (it served until it was superseded). Deployments superseded while still queued never served.
 */
function previousServing(deployments: DeploymentRecord[]): DeploymentRecord | undefined {
  const sorted = [...deployments].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const active = sorted.findIndex((d) => d.phase === "ACTIVE");
  return sorted
    .slice(active + 1)
    .find((d) => d.phase === "SUPERSEDED" && d.steps.length > 0 && d.steps.every((s) => s.status === "SUCCESS" || s.status === "SKIPPED"));
}
