// Webhook payloads reduced to what Berth acts on. Translation is pure and needs no GitHub call, so it runs
// inside the webhook request; a payload Berth does not need becomes an `Ignored` with the reason to log.
import type { Context } from "probot";

export type BerthEvent =
  | {
      type: "push";
      installationId: number;
      repository: string;
      branch: string;
      /** The repository's default branch, whose spec names the production branch. */
      defaultBranch: string;
      sha: string;
      pusher?: string;
      message?: string;
      /** Every path the push touched, or null when GitHub's payload does not list them all. */
      changedPaths: string[] | null;
    }
  | {
      type: "pull_request";
      action: "sync" | "closed";
      installationId: number;
      repository: string;
      number: number;
      sha: string;
      headRef: string;
      headRepository: string;
      fork: boolean;
      /** GitHub's time of the update, which for a new head is when GitHub had it (what an approval compares). */
      updatedAt: string;
    }
  | {
      type: "installation";
      action: "added" | "removed";
      installationId: number;
      repositories: string[];
      by?: string;
      /** The account the app is installed on, for installation.created/deleted (the whole installation). */
      account?: string;
    }
  | {
      type: "check_run";
      action: "rerequested" | "requested_action";
      installationId: number;
      repository: string;
      sha: string;
      externalId: string;
      identifier?: string;
      pullRequests: number[];
      by?: string;
    }
  | {
      type: "check_suite";
      installationId: number;
      repository: string;
      sha: string;
      conclusion: string | null;
      /** The app that ran the suite, named in the CANCELED message. */
      appName: string;
      appId: number | null;
    }
  | { type: "check_suite_rerun"; installationId: number; repository: string; suiteId: number; sha: string; by?: string }
  | {
      type: "command";
      installationId: number;
      repository: string;
      /** Where the comment was written: a pull request conversation or a commit. */
      on: { kind: "pull_request"; number: number } | { kind: "commit"; sha: string };
      commentId: number;
      /** GitHub's time the comment was written: what its author saw is what was there then. */
      createdAt: string;
      command: Command;
      by: string;
    };

export type CommandName = "deploy" | "preview" | "rollback" | "restart";
export interface Command {
  name: CommandName;
  args: string[];
}
export interface Ignored {
  ignored: string;
}

function installationOf(payload: object): number | undefined {
  const installation = (payload as { installation?: { id?: number } | null }).installation;
  return typeof installation?.id === "number" ? installation.id : undefined;
}

const ZERO_SHA = /^0+$/;
const PUSH_COMMITS_LISTED = 20;

/** `/berth <command> [args]` on the first line that starts with `/berth`; null for any other comment. */
export function parseCommand(body: string): Command | Ignored | null {
  const line = body.split(/\r?\n/).find((l) => l.trim().startsWith("/berth"));
  if (!line) return null;
  const [, name, ...args] = line.trim().split(/\s+/);
  if (name === "deploy" || name === "preview" || name === "rollback" || name === "restart") {
    return { name, args: args.flatMap((a) => a.split(",")).filter(Boolean) };
  }
  return { ignored: `unknown command "/berth ${name ?? ""}"` };
}

export function fromPush(payload: Context<"push">["payload"]): BerthEvent | Ignored {
  if (!payload.installation) return { ignored: "no installation" };
  if (!payload.ref.startsWith("refs/heads/")) return { ignored: `not a branch (${payload.ref})` };
  if (payload.deleted || ZERO_SHA.test(payload.after)) return { ignored: `branch ${payload.ref} deleted` };
  const commits = payload.commits ?? [];
  // GitHub lists at most 20 commits, and none for a forced or new-branch push it cannot diff.
  const complete = commits.length > 0 && commits.length < PUSH_COMMITS_LISTED && !payload.created && !payload.forced;
  const changedPaths = complete
    ? [...new Set(commits.flatMap((c) => [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]))].sort()
    : null;
  return {
    type: "push",
    installationId: payload.installation.id,
    repository: payload.repository.full_name,
    branch: payload.ref.slice("refs/heads/".length),
    defaultBranch: payload.repository.default_branch,
    sha: payload.after,
    pusher: payload.pusher?.name ?? payload.sender?.login,
    message: payload.head_commit?.message?.split("\n")[0],
    changedPaths,
  };
}

export function fromPullRequest(payload: Context<"pull_request">["payload"]): BerthEvent | Ignored {
  const installationId = installationOf(payload);
  if (installationId === undefined) return { ignored: "no installation" };
  const pr = payload.pull_request;
  const action = payload.action;
  if (action !== "opened" && action !== "synchronize" && action !== "reopened" && action !== "closed") {
    return { ignored: `pull_request.${action} needs nothing` };
  }
  const headRepository = pr.head.repo?.full_name ?? "(deleted fork)";
  return {
    type: "pull_request",
    action: action === "closed" ? "closed" : "sync",
    installationId,
    repository: payload.repository.full_name,
    number: pr.number,
    sha: pr.head.sha,
    headRef: pr.head.ref,
    headRepository,
    fork: headRepository.toLowerCase() !== payload.repository.full_name.toLowerCase(),
    updatedAt: pr.updated_at,
  };
}

export function fromInstallation(
  payload: Context<"installation">["payload"] | Context<"installation_repositories">["payload"],
): BerthEvent | Ignored {
  const by = payload.sender?.login;
  if ("repositories_added" in payload) {
    const added = payload.action === "added";
    const repos = added ? payload.repositories_added : payload.repositories_removed;
    return {
      type: "installation",
      action: added ? "added" : "removed",
      installationId: payload.installation.id,
      repositories: repos.map((r) => r.full_name),
      by,
    };
  }
  if (payload.action !== "created" && payload.action !== "deleted") {
    return { ignored: `installation.${payload.action} needs nothing` };
  }
  const account = payload.installation.account;
  return {
    type: "installation",
    action: payload.action === "created" ? "added" : "removed",
    installationId: payload.installation.id,
    repositories: (payload.repositories ?? []).map((r) => r.full_name),
    by,
    account: account && "login" in account ? account.login : (account?.name ?? String(payload.installation.id)),
  };
}

export function fromCheckRun(payload: Context<"check_run">["payload"], appId: number): BerthEvent | Ignored {
  if (!payload.installation) return { ignored: "no installation" };
  const run = payload.check_run;
  if (payload.action !== "rerequested" && payload.action !== "requested_action") {
    return { ignored: `check_run.${payload.action} needs nothing` };
  }
  if (run.app?.id !== appId) return { ignored: `check run "${run.name}" belongs to another app` };
  if (!run.external_id) return { ignored: `check run "${run.name}" has no Berth deployment id` };
  return {
    type: "check_run",
    action: payload.action,
    installationId: payload.installation.id,
    repository: payload.repository.full_name,
    sha: run.head_sha,
    externalId: run.external_id,
    identifier: payload.action === "requested_action" ? payload.requested_action?.identifier : undefined,
    pullRequests: (run.pull_requests ?? []).map((p) => p.number),
    by: payload.sender?.login,
  };
}

export function fromCheckSuite(payload: Context<"check_suite">["payload"], appId: number): BerthEvent | Ignored {
  if (!payload.installation) return { ignored: "no installation" };
  const suite = payload.check_suite;
  if (payload.action === "rerequested") {
    if (suite.app?.id !== appId) return { ignored: "another app's check suite" };
    return {
      type: "check_suite_rerun",
      installationId: payload.installation.id,
      repository: payload.repository.full_name,
      suiteId: suite.id,
      sha: suite.head_sha,
      by: payload.sender?.login,
    };
  }
  if (payload.action !== "completed") return { ignored: `check_suite.${payload.action} needs nothing` };
  if (suite.app?.id === appId) return { ignored: "Berth's own check suite" };
  return {
    type: "check_suite",
    installationId: payload.installation.id,
    repository: payload.repository.full_name,
    sha: suite.head_sha,
    conclusion: suite.conclusion ?? null,
    appName: suite.app?.name ?? "another app",
    appId: suite.app?.id ?? null,
  };
}

export function fromIssueComment(payload: Context<"issue_comment">["payload"]): BerthEvent | Ignored | null {
  if (payload.action !== "created") return null;
  const command = parseCommand(payload.comment.body ?? "");
  if (command === null) return null;
  if (!payload.installation) return { ignored: "no installation" };
  if (!payload.issue.pull_request) return { ignored: "command on an issue, not a pull request" };
  if (payload.comment.user?.type === "Bot") return { ignored: "comment by a bot" };
  if ("ignored" in command) return command;
  return {
    type: "command",
    installationId: payload.installation.id,
    repository: payload.repository.full_name,
    on: { kind: "pull_request", number: payload.issue.number },
    commentId: payload.comment.id,
    createdAt: payload.comment.created_at,
    command,
    by: payload.comment.user?.login ?? payload.sender.login,
  };
}

export function fromCommitComment(payload: Context<"commit_comment">["payload"]): BerthEvent | Ignored | null {
  const command = parseCommand(payload.comment.body ?? "");
  if (command === null) return null;
  if (!payload.installation) return { ignored: "no installation" };
  if (payload.comment.user?.type === "Bot") return { ignored: "comment by a bot" };
  if ("ignored" in command) return command;
  return {
    type: "command",
    installationId: payload.installation.id,
    repository: payload.repository.full_name,
    on: { kind: "commit", sha: payload.comment.commit_id },
    commentId: payload.comment.id,
    createdAt: payload.comment.created_at,
    command,
    by: payload.comment.user?.login ?? payload.sender.login,
  };
}
