// Webhooks as GitHub sends them: payloads built from @octokit/webhooks-examples with the fake's repository,
// installation, commits and users written in, delivered with `X-Hub-Signature-256`, `X-GitHub-Event` and
// `X-GitHub-Delivery`.
import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import type { FakeGitHub } from "./server.js";
import type { CheckSuite, Commit, CommitComment, IssueComment, PullRequest, Repository } from "./state.js";

type Payload = Record<string, unknown>;
interface Example {
  name: string;
  examples: Payload[];
}

const require = createRequire(import.meta.url);
const EXAMPLES = require("@octokit/webhooks-examples") as Example[];

/** A deep copy of the first example of `event` for which `pick` holds. */
function example(event: string, pick: (p: Payload) => boolean = () => true): Payload {
  const found = EXAMPLES.find((e) => e.name === event)?.examples.find(pick);
  if (!found) throw new Error(`@octokit/webhooks-examples has no ${event} example that fits`);
  return structuredClone(found);
}

function account(fake: FakeGitHub, login: string): Payload {
  const base = example("push").sender as Payload;
  const out = JSON.parse(JSON.stringify(base).replaceAll("Codertocat", login)) as Payload;
  out.id = fake.state.account(login);
  out.type = login.endsWith("[bot]") ? "Bot" : "User";
  return out;
}

function repositoryPayload(fake: FakeGitHub, repo: Repository): Payload {
  const base = example("pull_request", (p) => p.action === "opened").repository as Payload;
  const text = JSON.stringify(base)
    .replaceAll("https://api.github.com", fake.apiUrl)
    .replaceAll("https://github.com", fake.url)
    .replaceAll("Codertocat/Hello-World", repo.fullName);
  const out = JSON.parse(text) as Payload;
  Object.assign(out, {
    id: repo.id,
    name: repo.name,
    full_name: repo.fullName,
    owner: account(fake, repo.owner),
    private: repo.private,
    fork: repo.fork,
    default_branch: repo.defaultBranch,
    master_branch: repo.defaultBranch,
  });
  return out;
}

function installationRef(fake: FakeGitHub, repo: Repository): Payload {
  const installation = fake.state.installationFor(repo.fullName);
  if (!installation) throw new Error(`fake GitHub: ${repo.fullName} is in no installation`);
  return { id: installation.id, node_id: Buffer.from(`039:Installation${installation.id}`).toString("base64") };
}

function commitPayload(fake: FakeGitHub, repo: Repository, commit: Commit): Payload {
  const parent = commit.parents[0] ? repo.commits.get(commit.parents[0]) : undefined;
  const before = parent?.files ?? new Map<string, Buffer>();
  const person = { name: commit.author, email: `${commit.author}@users.noreply.example`, username: commit.author };
  return {
    id: commit.sha,
    tree_id: commit.sha,
    distinct: true,
    message: commit.message,
    timestamp: commit.date,
    url: `${fake.url}/${repo.fullName}/commit/${commit.sha}`,
    author: person,
    committer: person,
    added: [...commit.files.keys()].filter((p) => !before.has(p)),
    removed: [...before.keys()].filter((p) => !commit.files.has(p)),
    modified: [...commit.files].filter(([p, c]) => before.has(p) && !before.get(p)!.equals(c)).map(([p]) => p),
  };
}

/** A `push` of `commit` to `branch` (the commits between `before` and it are listed, newest last). */
export function pushEvent(fake: FakeGitHub, fullName: string, branch: string, commit: Commit, options: { before?: string; pusher?: string } = {}): Payload {
  const repo = fake.state.repository(fullName);
  const before = options.before ?? commit.parents[0] ?? "0".repeat(40);
  const commits: Commit[] = [];
  for (let c: Commit | undefined = commit; c && c.sha !== before; c = c.parents[0] ? repo.commits.get(c.parents[0]) : undefined) {
    commits.unshift(c);
  }
  const pusher = options.pusher ?? commit.author;
  const payload = example("push", (p) => String(p.ref).startsWith("refs/heads/"));
  Object.assign(payload, {
    ref: `refs/heads/${branch}`,
    before,
    after: commit.sha,
    created: before === "0".repeat(40),
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `${fake.url}/${repo.fullName}/compare/${before.slice(0, 12)}...${commit.sha.slice(0, 12)}`,
    commits: commits.map((c) => commitPayload(fake, repo, c)),
    head_commit: commitPayload(fake, repo, commit),
    repository: { ...repositoryPayload(fake, repo), pushed_at: Math.floor(Date.now() / 1000) },
    pusher: { name: pusher, email: `${pusher}@users.noreply.example` },
    sender: account(fake, pusher),
    installation: installationRef(fake, repo),
  });
  return payload;
}

/** A `pull_request` event (`opened`, `synchronize`, `closed`, …) for a pull request the fake holds. */
export function pullRequestEvent(fake: FakeGitHub, baseFullName: string, pull: PullRequest, action = "opened"): Payload {
  const repo = fake.state.repository(baseFullName);
  const head = fake.state.repository(pull.head.repo);
  const payload = example("pull_request", (p) => p.action === "opened");
  const pr = payload.pull_request as Payload;
  const side = (ref: string, sha: string, r: Repository): Payload => ({
    label: `${r.owner}:${ref}`,
    ref,
    sha,
    user: account(fake, r.owner),
    repo: repositoryPayload(fake, r),
  });
  Object.assign(pr, {
    id: pull.number + 100_000,
    number: pull.number,
    state: pull.state,
    title: pull.title,
    user: account(fake, pull.user),
    html_url: `${fake.url}/${repo.fullName}/pull/${pull.number}`,
    url: `${fake.apiUrl}/repos/${repo.fullName}/pulls/${pull.number}`,
    head: side(pull.head.ref, pull.head.sha, head),
    base: side(pull.base.ref, repo.branches.get(pull.base.ref)!, repo),
    author_association: repo.collaborators.has(pull.user) ? "COLLABORATOR" : "CONTRIBUTOR",
    merged: false,
    draft: false,
  });
  Object.assign(payload, {
    action,
    number: pull.number,
    repository: repositoryPayload(fake, repo),
    sender: account(fake, pull.user),
    installation: installationRef(fake, repo),
  });
  if (action === "synchronize") Object.assign(payload, { before: pull.head.sha, after: pull.head.sha });
  return payload;
}

/**
 * `issue_comment.created` on a pull request, by `user`. The comment is stored in the fake too, as GitHub would
 * hold it, so Berth can react to it or answer it.
 */
export function issueCommentEvent(fake: FakeGitHub, fullName: string, pull: PullRequest, user: string, body: string): { payload: Payload; comment: IssueComment } {
  const repo = fake.state.repository(fullName);
  const now = fake.state.now();
  const comment: IssueComment = { id: fake.state.id(), repository: repo.fullName, issueNumber: pull.number, body, user, createdAt: now, updatedAt: now };
  fake.state.comments.push(comment);
  const payload = example("issue_comment", (p) => p.action === "created");
  const permission = repo.collaborators.get(user);
  const association = permission === "admin" && user === repo.owner ? "OWNER" : permission ? "COLLABORATOR" : "CONTRIBUTOR";
  Object.assign(payload.issue as Payload, {
    number: pull.number,
    title: pull.title,
    state: pull.state,
    user: account(fake, pull.user),
    url: `${fake.apiUrl}/repos/${repo.fullName}/issues/${pull.number}`,
    html_url: `${fake.url}/${repo.fullName}/pull/${pull.number}`,
    pull_request: {
      url: `${fake.apiUrl}/repos/${repo.fullName}/pulls/${pull.number}`,
      html_url: `${fake.url}/${repo.fullName}/pull/${pull.number}`,
      diff_url: `${fake.url}/${repo.fullName}/pull/${pull.number}.diff`,
      patch_url: `${fake.url}/${repo.fullName}/pull/${pull.number}.patch`,
    },
  });
  Object.assign(payload.comment as Payload, {
    id: comment.id,
    body,
    user: account(fake, user),
    author_association: association,
    url: `${fake.apiUrl}/repos/${repo.fullName}/issues/comments/${comment.id}`,
    html_url: `${fake.url}/${repo.fullName}/pull/${pull.number}#issuecomment-${comment.id}`,
    issue_url: `${fake.apiUrl}/repos/${repo.fullName}/issues/${pull.number}`,
    created_at: now,
    updated_at: now,
  });
  Object.assign(payload, {
    action: "created",
    repository: repositoryPayload(fake, repo),
    sender: account(fake, user),
    installation: installationRef(fake, repo),
  });
  return { payload, comment };
}

/** `commit_comment.created` on `sha` by `user`; the comment is stored in the fake as GitHub would hold it. */
export function commitCommentEvent(fake: FakeGitHub, fullName: string, sha: string, user: string, body: string): { payload: Payload; comment: CommitComment } {
  const repo = fake.state.repository(fullName);
  const now = fake.state.now();
  const comment: CommitComment = { id: fake.state.id(), repository: repo.fullName, sha, body, user, createdAt: now };
  fake.state.commitComments.push(comment);
  const payload = example("commit_comment", (p) => p.action === "created");
  const permission = repo.collaborators.get(user);
  Object.assign(payload.comment as Payload, {
    id: comment.id,
    body,
    commit_id: sha,
    path: null,
    position: null,
    line: null,
    user: account(fake, user),
    author_association: permission === "admin" && user === repo.owner ? "OWNER" : permission ? "COLLABORATOR" : "NONE",
    url: `${fake.apiUrl}/repos/${repo.fullName}/comments/${comment.id}`,
    html_url: `${fake.url}/${repo.fullName}/commit/${sha}#commitcomment-${comment.id}`,
    created_at: now,
    updated_at: now,
  });
  Object.assign(payload, {
    action: "created",
    repository: repositoryPayload(fake, repo),
    sender: account(fake, user),
    installation: installationRef(fake, repo),
  });
  return { payload, comment };
}

/** `check_suite.completed` (or another action) for a suite seeded with `state.addCheckSuite`. */
export function checkSuiteEvent(fake: FakeGitHub, suite: CheckSuite, action = "completed"): Payload {
  const repo = fake.state.repository(suite.repository);
  const commit = repo.commits.get(suite.headSha);
  if (!commit) throw new Error(`fake GitHub: ${repo.fullName} has no commit ${suite.headSha}`);
  const payload = example("check_suite", (p) => p.action === "completed");
  const app = (payload.check_suite as Payload).app as Payload;
  Object.assign(payload.check_suite as Payload, {
    id: suite.id,
    head_branch: [...repo.branches].find(([, sha]) => sha === commit.sha)?.[0] ?? null,
    head_sha: commit.sha,
    status: suite.status,
    conclusion: suite.conclusion,
    before: commit.parents[0] ?? "0".repeat(40),
    after: commit.sha,
    pull_requests: [],
    latest_check_runs_count: suite.checkRunsCount,
    app: { ...app, id: suite.app.id, slug: suite.app.slug, name: suite.app.name },
    head_commit: commitPayload(fake, repo, commit),
  });
  Object.assign(payload, {
    action,
    repository: repositoryPayload(fake, repo),
    sender: account(fake, repo.owner),
    installation: installationRef(fake, repo),
  });
  return payload;
}

export function signature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface WebhookDelivery {
  event: string;
  payload: unknown;
  secret: string;
  /** Defaults to a fresh UUID, as GitHub's are. */
  delivery?: string;
  /** Send this signature instead of the right one. */
  signatureOverride?: string;
}

export interface WebhookAnswer {
  status: number;
  body: string;
  delivery: string;
}

/** POSTs one webhook delivery to `url` the way GitHub does. */
export async function sendWebhook(url: string, hook: WebhookDelivery): Promise<WebhookAnswer> {
  const body = JSON.stringify(hook.payload);
  const delivery = hook.delivery ?? randomUUID();
  const installation = (hook.payload as { installation?: { id?: number } }).installation?.id;
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/fake",
      "x-github-event": hook.event,
      "x-github-delivery": delivery,
      "x-hub-signature-256": hook.signatureOverride ?? signature(hook.secret, body),
      ...(installation ? { "x-github-hook-installation-target-type": "integration" } : {}),
    },
    body,
  });
  return { status: response.status, body: await response.text(), delivery };
}
