// One function per GitHub operation the fake serves, keyed by the description's operationId. Requests reaching a
// handler are already valid and authenticated. Answers start from the description's own examples so they carry
// every field real GitHub sends, with ours written over them.
import type { IncomingHttpHeaders } from "node:http";
import type { JsonObject, OpenApiValidator } from "./openapi.js";
import {
  blobSha,
  type CheckRun,
  type CheckSuite,
  type Commit,
  type Deployment,
  type DeploymentStatus,
  type FakeState,
  type Installation,
  type IssueComment,
  type PullRequest,
  type Reaction,
  type Repository,
} from "./state.js";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Reply {
  status: number;
  body?: unknown;
  raw?: Buffer;
  headers?: Record<string, string>;
}

export interface HandlerContext {
  state: FakeState;
  validator: OpenApiValidator;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** The installation whose token authenticated the request; null for JWT (app) requests. */
  installation: Installation | null;
  /** The repository named by `{owner}/{repo}`, already checked to be visible to the installation. */
  repo: Repository | null;
  apiUrl: string;
  webUrl: string;
  codeloadUrl(repo: Repository, sha: string): string;
}

type Handler = (ctx: HandlerContext) => Reply | Promise<Reply>;

const ok = (body: unknown, status = 200, headers?: Record<string, string>): Reply => ({ status, body, headers });

function repoOf(ctx: HandlerContext): Repository {
  if (!ctx.repo) throw new HttpError(404, "Not Found");
  return ctx.repo;
}

function commitOf(ctx: HandlerContext, ref: string): Commit {
  const repo = repoOf(ctx);
  const commit = ctx.state.resolve(repo, ref);
  if (!commit) throw new HttpError(422, `No commit found for SHA: ${ref}`);
  return commit;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Slices a list by `per_page`/`page` and links the next and last pages the way GitHub's Link header does. */
function paginate<T>(ctx: HandlerContext, path: string, items: T[]): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(Number(ctx.query.per_page ?? 30) || 30, 100);
  const page = Math.max(Number(ctx.query.page ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const headers: Record<string, string> = {};
  if (page < last) {
    const link = (p: number): string => {
      const params = new URLSearchParams(ctx.query as Record<string, string>);
      params.set("per_page", String(perPage));
      params.set("page", String(p));
      return `<${ctx.apiUrl}${path}?${params}>`;
    };
    headers.link = `${link(page + 1)}; rel="next", ${link(last)}; rel="last"`;
  }
  return { page: items.slice((page - 1) * perPage, page * perPage), headers };
}

// ---- presenters: our state in GitHub's shapes ----

function user(ctx: HandlerContext, login: string): JsonObject {
  const base = ctx.validator.example("reaction").user as JsonObject;
  const out = JSON.parse(JSON.stringify(base).replaceAll("octocat", login)) as JsonObject;
  out.id = ctx.state.account(login);
  out.node_id = Buffer.from(`04:User${out.id}`).toString("base64");
  out.type = login.endsWith("[bot]") ? "Bot" : "User";
  return out;
}

function repository(ctx: HandlerContext, repo: Repository): JsonObject {
  const base = (ctx.validator.example("installation-token").repositories as JsonObject[])[0]!;
  const text = JSON.stringify(base)
    .replaceAll("https://api.github.com", ctx.apiUrl)
    .replaceAll("https://github.com", ctx.webUrl)
    .replaceAll("octocat/Hello-World", repo.fullName);
  const out = JSON.parse(text) as JsonObject;
  Object.assign(out, {
    id: repo.id,
    node_id: Buffer.from(`010:Repository${repo.id}`).toString("base64"),
    name: repo.name,
    full_name: repo.fullName,
    owner: user(ctx, repo.owner),
    private: repo.private,
    visibility: repo.private ? "private" : "public",
    fork: repo.fork,
    default_branch: repo.defaultBranch,
    description: null,
    homepage: null,
    topics: [],
    license: null,
    mirror_url: null,
    created_at: repo.createdAt,
    updated_at: repo.createdAt,
    pushed_at: repo.createdAt,
  });
  return out;
}

function integration(ctx: HandlerContext): JsonObject {
  const out = ctx.validator.example("integration");
  Object.assign(out, {
    id: ctx.state.app.id,
    slug: ctx.state.app.slug,
    name: ctx.state.app.name,
    owner: user(ctx, ctx.state.app.owner),
    html_url: `${ctx.webUrl}/apps/${ctx.state.app.slug}`,
    external_url: ctx.webUrl,
  });
  return out;
}

function installation(ctx: HandlerContext, i: Installation): JsonObject {
  const out = ctx.validator.example("base-installation");
  Object.assign(out, {
    id: i.id,
    account: user(ctx, i.account),
    app_id: ctx.state.app.id,
    app_slug: ctx.state.app.slug,
    target_id: ctx.state.account(i.account),
    target_type: "User",
    permissions: i.permissions,
    events: i.events,
    repository_selection: "selected",
    access_tokens_url: `${ctx.apiUrl}/app/installations/${i.id}/access_tokens`,
    repositories_url: `${ctx.apiUrl}/installation/repositories`,
    html_url: `${ctx.webUrl}/settings/installations/${i.id}`,
    suspended_at: null,
    suspended_by: null,
  });
  return out;
}

function gitUser(ctx: HandlerContext, login: string, date: string): JsonObject {
  return { name: login, email: `${ctx.state.account(login)}+${login}@users.noreply.github.com`, date };
}

function commit(ctx: HandlerContext, repo: Repository, c: Commit): JsonObject {
  const out = ctx.validator.example("commit");
  const url = `${ctx.apiUrl}/repos/${repo.fullName}/commits/${c.sha}`;
  const parent = c.parents[0] ? repo.commits.get(c.parents[0]) : undefined;
  const files = diff(parent?.files ?? new Map(), c.files);
  Object.assign(out, {
    sha: c.sha,
    node_id: Buffer.from(`06:Commit${c.sha}`).toString("base64"),
    url,
    html_url: `${ctx.webUrl}/${repo.fullName}/commit/${c.sha}`,
    comments_url: `${url}/comments`,
    commit: {
      url: `${ctx.apiUrl}/repos/${repo.fullName}/git/commits/${c.sha}`,
      author: gitUser(ctx, c.author, c.date),
      committer: gitUser(ctx, c.author, c.date),
      message: c.message,
      tree: { url: `${ctx.apiUrl}/repos/${repo.fullName}/git/trees/${c.sha}`, sha: c.sha },
      comment_count: 0,
      verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
    },
    author: user(ctx, c.author),
    committer: user(ctx, c.author),
    parents: c.parents.map((sha) => ({
      sha,
      url: `${ctx.apiUrl}/repos/${repo.fullName}/commits/${sha}`,
      html_url: `${ctx.webUrl}/${repo.fullName}/commit/${sha}`,
    })),
    stats: { additions: files.length, deletions: 0, total: files.length },
    files: files.map((f) => fileEntry(ctx, repo, c, f)),
  });
  return out;
}

interface FileChange {
  filename: string;
  status: "added" | "removed" | "modified";
  content: Buffer;
}

function diff(before: Map<string, Buffer>, after: Map<string, Buffer>): FileChange[] {
  const changes: FileChange[] = [];
  for (const [filename, content] of after) {
    const old = before.get(filename);
    if (!old) changes.push({ filename, status: "added", content });
    else if (!old.equals(content)) changes.push({ filename, status: "modified", content });
  }
  for (const [filename, content] of before) if (!after.has(filename)) changes.push({ filename, status: "removed", content });
  return changes.sort((a, b) => a.filename.localeCompare(b.filename));
}

function fileEntry(ctx: HandlerContext, repo: Repository, c: Commit, f: FileChange): JsonObject {
  const lines = f.content.toString("utf8").split("\n").length;
  return {
    sha: blobSha(f.content),
    filename: f.filename,
    status: f.status,
    additions: f.status === "removed" ? 0 : lines,
    deletions: f.status === "added" ? 0 : lines,
    changes: lines,
    blob_url: `${ctx.webUrl}/${repo.fullName}/blob/${c.sha}/${f.filename}`,
    raw_url: `${ctx.webUrl}/${repo.fullName}/raw/${c.sha}/${f.filename}`,
    contents_url: `${ctx.apiUrl}/repos/${repo.fullName}/contents/${f.filename}?ref=${c.sha}`,
  };
}

function branch(ctx: HandlerContext, repo: Repository, name: string): JsonObject {
  const sha = repo.branches.get(name)!;
  const out = ctx.validator.example("branch-get");
  Object.assign(out, {
    name,
    commit: commit(ctx, repo, repo.commits.get(sha)!),
    protected: false,
    protection: { enabled: false, required_status_checks: { enforcement_level: "off", contexts: [], checks: [] } },
    protection_url: `${ctx.apiUrl}/repos/${repo.fullName}/branches/${name}/protection`,
    _links: { self: `${ctx.apiUrl}/repos/${repo.fullName}/branches/${name}`, html: `${ctx.webUrl}/${repo.fullName}/tree/${name}` },
  });
  return out;
}

function checkRun(ctx: HandlerContext, run: CheckRun): JsonObject {
  const out = ctx.validator.example("check-run");
  const url = `${ctx.apiUrl}/repos/${run.repository}/check-runs/${run.id}`;
  Object.assign(out, {
    id: run.id,
    node_id: Buffer.from(`08:CheckRun${run.id}`).toString("base64"),
    head_sha: run.headSha,
    external_id: run.externalId ?? "",
    url,
    html_url: `${ctx.webUrl}/${run.repository}/runs/${run.id}`,
    details_url: run.detailsUrl ?? `${ctx.webUrl}/apps/${ctx.state.app.slug}`,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    output: {
      ...run.output,
      annotations_count: run.annotations.length,
      annotations_url: `${url}/annotations`,
    },
    name: run.name,
    check_suite: { id: 5 },
    app: integration(ctx),
    pull_requests: [],
  });
  return out;
}

function checkSuite(ctx: HandlerContext, repo: Repository, c: Commit, s: CheckSuite): JsonObject {
  const out = (ctx.validator.example("check-suite-paginated").check_suites as JsonObject[])[0]!;
  const app = integration(ctx);
  const head = commit(ctx, repo, c);
  Object.assign(out, {
    id: s.id,
    node_id: Buffer.from(`010:CheckSuite${s.id}`).toString("base64"),
    head_branch: [...repo.branches].find(([, sha]) => sha === c.sha)?.[0] ?? null,
    head_sha: c.sha,
    status: s.status,
    conclusion: s.conclusion,
    url: `${ctx.apiUrl}/repos/${repo.fullName}/check-suites/${s.id}`,
    before: c.parents[0] ?? "0".repeat(40),
    after: c.sha,
    pull_requests: [],
    app: { ...app, id: s.app.id, slug: s.app.slug, name: s.app.name },
    repository: repository(ctx, repo),
    head_commit: {
      id: c.sha,
      tree_id: c.sha,
      message: c.message,
      timestamp: c.date,
      author: { name: c.author, email: (head.commit as JsonObject & { author: JsonObject }).author.email },
      committer: { name: c.author, email: (head.commit as JsonObject & { author: JsonObject }).author.email },
    },
    latest_check_runs_count: s.checkRunsCount,
    check_runs_url: `${ctx.apiUrl}/repos/${repo.fullName}/check-suites/${s.id}/check-runs`,
  });
  return out;
}

/** Berth's own suite on a commit, as GitHub derives it from the app's check runs there. */
function ownSuite(ctx: HandlerContext, repo: Repository, sha: string): CheckSuite | null {
  const runs = ctx.state.checkRuns.filter((r) => r.repository === repo.fullName && r.headSha === sha);
  if (runs.length === 0) return null;
  const done = runs.every((r) => r.status === "completed");
  const order = ["action_required", "cancelled", "timed_out", "failure", "neutral", "skipped", "success"];
  const conclusion = done ? order.find((c) => runs.some((r) => r.conclusion === c)) ?? "success" : null;
  const { id, slug, name } = ctx.state.app;
  return {
    id: 5,
    repository: repo.fullName,
    headSha: sha,
    app: { id, slug, name },
    status: done ? "completed" : runs.some((r) => r.status === "in_progress") ? "in_progress" : "queued",
    conclusion,
    checkRunsCount: runs.length,
  };
}

function deployment(ctx: HandlerContext, d: Deployment): JsonObject {
  const out = ctx.validator.example("deployment-simple-example");
  const url = `${ctx.apiUrl}/repos/${d.repository}/deployments/${d.id}`;
  Object.assign(out, {
    url,
    id: d.id,
    node_id: Buffer.from(`010:Deployment${d.id}`).toString("base64"),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.environment,
    environment: d.environment,
    description: d.description,
    creator: user(ctx, ctx.state.botLogin),
    created_at: d.createdAt,
    updated_at: d.statuses.at(-1)?.createdAt ?? d.createdAt,
    statuses_url: `${url}/statuses`,
    repository_url: `${ctx.apiUrl}/repos/${d.repository}`,
    transient_environment: d.transientEnvironment,
    production_environment: d.productionEnvironment,
  });
  return out;
}

function deploymentStatus(ctx: HandlerContext, d: Deployment, s: DeploymentStatus): JsonObject {
  const out = ctx.validator.example("deployment-status");
  const deploymentUrl = `${ctx.apiUrl}/repos/${d.repository}/deployments/${d.id}`;
  Object.assign(out, {
    url: `${deploymentUrl}/statuses/${s.id}`,
    id: s.id,
    node_id: Buffer.from(`016:DeploymentStatus${s.id}`).toString("base64"),
    state: s.state,
    creator: user(ctx, ctx.state.botLogin),
    description: s.description,
    environment: s.environment,
    target_url: s.logUrl,
    created_at: s.createdAt,
    updated_at: s.createdAt,
    deployment_url: deploymentUrl,
    repository_url: `${ctx.apiUrl}/repos/${d.repository}`,
    environment_url: s.environmentUrl,
    log_url: s.logUrl,
  });
  return out;
}

function issueComment(ctx: HandlerContext, c: IssueComment): JsonObject {
  const out = ctx.validator.example("issue-comment");
  Object.assign(out, {
    id: c.id,
    node_id: Buffer.from(`012:IssueComment${c.id}`).toString("base64"),
    url: `${ctx.apiUrl}/repos/${c.repository}/issues/comments/${c.id}`,
    html_url: `${ctx.webUrl}/${c.repository}/issues/${c.issueNumber}#issuecomment-${c.id}`,
    issue_url: `${ctx.apiUrl}/repos/${c.repository}/issues/${c.issueNumber}`,
    body: c.body,
    user: user(ctx, c.user),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    author_association: "NONE",
  });
  delete out.pin;
  delete out.minimized;
  return out;
}

function reaction(ctx: HandlerContext, r: Reaction): JsonObject {
  const out = ctx.validator.example("reaction");
  Object.assign(out, {
    id: r.id,
    node_id: Buffer.from(`08:Reaction${r.id}`).toString("base64"),
    user: user(ctx, r.user),
    content: r.content,
  });
  return out;
}

function pull(ctx: HandlerContext, repo: Repository, p: PullRequest): JsonObject {
  const out = ctx.validator.example("pull-request");
  const url = `${ctx.apiUrl}/repos/${repo.fullName}/pulls/${p.number}`;
  const headRepo = ctx.state.repositories.get(p.head.repo)!;
  const baseSha = repo.branches.get(p.base.ref)!;
  const side = (ref: string, sha: string, r: Repository): JsonObject => ({
    label: `${r.owner}:${ref}`,
    ref,
    sha,
    user: user(ctx, r.owner),
    repo: repository(ctx, r),
  });
  Object.assign(out, {
    url,
    id: p.number + 100_000,
    node_id: Buffer.from(`011:PullRequest${p.number}`).toString("base64"),
    html_url: `${ctx.webUrl}/${repo.fullName}/pull/${p.number}`,
    issue_url: `${ctx.apiUrl}/repos/${repo.fullName}/issues/${p.number}`,
    number: p.number,
    state: p.state,
    title: p.title,
    user: user(ctx, p.user),
    body: null,
    labels: [],
    milestone: null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    created_at: p.createdAt,
    updated_at: p.createdAt,
    closed_at: null,
    merged_at: null,
    merge_commit_sha: null,
    head: side(p.head.ref, p.head.sha, headRepo),
    base: side(p.base.ref, baseSha, repo),
    author_association: repo.collaborators.has(p.user) ? "COLLABORATOR" : "CONTRIBUTOR",
    auto_merge: null,
    draft: false,
    merged: false,
    merged_by: null,
  });
  return out;
}

function contentEntry(ctx: HandlerContext, repo: Repository, c: Commit, path: string, ref: string | undefined): JsonObject {
  const content = c.files.get(path);
  const name = path.split("/").pop()!;
  const sha = content ? blobSha(content) : blobSha(Buffer.from(path));
  const self = `${ctx.apiUrl}/repos/${repo.fullName}/contents/${path}${ref ? `?ref=${encodeURIComponent(ref)}` : ""}`;
  const gitUrl = `${ctx.apiUrl}/repos/${repo.fullName}/git/${content ? "blobs" : "trees"}/${sha}`;
  const htmlUrl = `${ctx.webUrl}/${repo.fullName}/${content ? "blob" : "tree"}/${ref ?? repo.defaultBranch}/${path}`;
  return {
    type: content ? "file" : "dir",
    size: content?.length ?? 0,
    name,
    path,
    sha,
    url: self,
    git_url: gitUrl,
    html_url: htmlUrl,
    download_url: content ? `${ctx.webUrl}/${repo.fullName}/raw/${c.sha}/${path}` : null,
    _links: { self, git: gitUrl, html: htmlUrl },
  };
}

// ---- handlers ----

function checkRunState(run: CheckRun, body: Record<string, unknown>, now: string): void {
  if (str(body.name)) run.name = body.name as string;
  if (body.details_url !== undefined) run.detailsUrl = str(body.details_url) ?? null;
  if (body.external_id !== undefined) run.externalId = str(body.external_id) ?? null;
  if (str(body.started_at)) run.startedAt = body.started_at as string;
  if (str(body.status)) run.status = body.status as string;
  if (str(body.conclusion)) {
    run.conclusion = body.conclusion as string;
    run.status = "completed";
  }
  if (run.status === "completed") {
    if (!run.conclusion) throw new HttpError(422, "Invalid request: conclusion is required when status is completed");
    run.completedAt = str(body.completed_at) ?? run.completedAt ?? now;
  } else if (run.status === "in_progress") {
    run.startedAt ??= now;
  }
  const output = body.output as { title?: string; summary?: string; text?: string; annotations?: unknown[] } | undefined;
  if (output) {
    run.output = { title: output.title ?? null, summary: output.summary ?? null, text: output.text ?? run.output.text };
    run.annotations.push(...(output.annotations ?? []));
  }
  if (Array.isArray(body.actions)) run.actions = body.actions;
  run.history.push({ status: run.status, conclusion: run.conclusion, title: run.output.title });
}

function findDeployment(ctx: HandlerContext): Deployment {
  const repo = repoOf(ctx);
  const d = ctx.state.deployments.find((x) => x.id === Number(ctx.params.deployment_id) && x.repository === repo.fullName);
  if (!d) throw new HttpError(404, "Not Found");
  return d;
}

function findComment(ctx: HandlerContext): IssueComment {
  const repo = repoOf(ctx);
  const c = ctx.state.comments.find((x) => x.id === Number(ctx.params.comment_id) && x.repository === repo.fullName);
  if (!c) throw new HttpError(404, "Not Found");
  return c;
}

function permissionOf(repo: Repository, login: string): string {
  return repo.collaborators.get(login) ?? (repo.private ? "none" : "read");
}

export const handlers: Record<string, Handler> = {
  "apps/get-authenticated": (ctx) => ok(integration(ctx)),
  "apps/list-installations": (ctx) => ok([...ctx.state.installations.values()].map((i) => installation(ctx, i))),
  "apps/get-installation": (ctx) => {
    const i = ctx.state.installations.get(Number(ctx.params.installation_id));
    if (!i) throw new HttpError(404, "Not Found");
    return ok(installation(ctx, i));
  },
  "apps/get-repo-installation": (ctx) => {
    const i = ctx.state.installationFor(`${ctx.params.owner}/${ctx.params.repo}`);
    if (!i) throw new HttpError(404, "Not Found");
    return ok(installation(ctx, i));
  },
  "apps/create-installation-access-token": (ctx) => {
    const i = ctx.state.installations.get(Number(ctx.params.installation_id));
    if (!i) throw new HttpError(404, "Not Found");
    const token = `ghs_${Buffer.from(crypto.getRandomValues(new Uint8Array(27))).toString("base64url").slice(0, 36)}`;
    const expiresAt = new Date(Date.now() + 3600_000);
    ctx.state.tokens.set(token, { token, installationId: i.id, expiresAt });
    return ok(
      {
        token,
        expires_at: expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
        permissions: i.permissions,
        repository_selection: "selected",
      },
      201,
    );
  },
  "apps/list-repos-accessible-to-installation": (ctx) => {
    const repos = [...ctx.installation!.repositories].map((name) => ctx.state.repository(name));
    const { page, headers } = paginate(ctx, "/installation/repositories", repos);
    return ok({ total_count: repos.length, repositories: page.map((r) => repository(ctx, r)) }, 200, headers);
  },

  "repos/get": (ctx) => {
    const repo = repoOf(ctx);
    const out = repository(ctx, repo);
    Object.assign(out, { network_count: 0, subscribers_count: 0 });
    return ok(out);
  },
  "repos/list-branches": (ctx) => {
    const repo = repoOf(ctx);
    const all = [...repo.branches].map(([name, sha]) => ({
      name,
      commit: { sha, url: `${ctx.apiUrl}/repos/${repo.fullName}/commits/${sha}` },
      protected: false,
    }));
    const { page, headers } = paginate(ctx, `/repos/${repo.fullName}/branches`, all);
    return ok(page, 200, headers);
  },
  "repos/get-branch": (ctx) => {
    const repo = repoOf(ctx);
    if (!repo.branches.has(ctx.params.branch!)) throw new HttpError(404, "Branch not found");
    return ok(branch(ctx, repo, ctx.params.branch!));
  },
  "git/get-ref": (ctx) => {
    const repo = repoOf(ctx);
    const m = /^heads\/(.+)$/.exec(ctx.params.ref!);
    const sha = m ? repo.branches.get(m[1]!) : undefined;
    if (!sha) throw new HttpError(404, "Not Found");
    return ok({
      ref: `refs/${ctx.params.ref}`,
      node_id: Buffer.from(`03:Ref${ctx.params.ref}`).toString("base64"),
      url: `${ctx.apiUrl}/repos/${repo.fullName}/git/refs/${ctx.params.ref}`,
      object: { type: "commit", sha, url: `${ctx.apiUrl}/repos/${repo.fullName}/git/commits/${sha}` },
    });
  },
  "repos/get-commit": (ctx) => ok(commit(ctx, repoOf(ctx), commitOf(ctx, ctx.params.ref!))),
  "repos/compare-commits": (ctx) => {
    const repo = repoOf(ctx);
    const [baseRef, headRef] = ctx.params.basehead
      ? (ctx.params.basehead.split("...") as [string, string?])
      : [ctx.params.base!, ctx.params.head];
    if (!headRef) throw new HttpError(404, "Not Found: compare needs base...head");
    const base = ctx.state.resolve(repo, baseRef);
    const head = ctx.state.resolve(repo, headRef);
    if (!base || !head) throw new HttpError(404, "Not Found");
    const ahead: Commit[] = [];
    for (let c: Commit | undefined = head; c && c.sha !== base.sha; c = c.parents[0] ? repo.commits.get(c.parents[0]) : undefined) {
      ahead.unshift(c);
    }
    const isAncestor = ahead.length === 0 || ahead[0]!.parents[0] === base.sha;
    const out = ctx.validator.example("commit-comparison");
    Object.assign(out, {
      url: `${ctx.apiUrl}/repos/${repo.fullName}/compare/${baseRef}...${headRef}`,
      html_url: `${ctx.webUrl}/${repo.fullName}/compare/${baseRef}...${headRef}`,
      permalink_url: `${ctx.webUrl}/${repo.fullName}/compare/${base.sha}...${head.sha}`,
      diff_url: `${ctx.webUrl}/${repo.fullName}/compare/${baseRef}...${headRef}.diff`,
      patch_url: `${ctx.webUrl}/${repo.fullName}/compare/${baseRef}...${headRef}.patch`,
      base_commit: commit(ctx, repo, base),
      merge_base_commit: commit(ctx, repo, isAncestor ? base : head),
      status: ahead.length === 0 ? "identical" : isAncestor ? "ahead" : "diverged",
      ahead_by: isAncestor ? ahead.length : 0,
      behind_by: 0,
      total_commits: isAncestor ? ahead.length : 0,
      commits: isAncestor ? ahead.map((c) => commit(ctx, repo, c)) : [],
      files: diff(base.files, head.files).map((f) => fileEntry(ctx, repo, head, f)),
    });
    return ok(out);
  },
  "repos/get-content": (ctx) => {
    const repo = repoOf(ctx);
    const ref = str(ctx.query.ref);
    const c = ctx.state.resolve(repo, ref ?? repo.defaultBranch);
    if (!c) throw new HttpError(404, `No commit found for the ref ${ref}`);
    const path = ctx.params.path!.replace(/^\/+|\/+$/g, "");
    const content = c.files.get(path);
    if (content) {
      if (/raw/.test(String(ctx.headers.accept))) {
        return { status: 200, raw: content, headers: { "content-type": "application/vnd.github.raw; charset=utf-8" } };
      }
      const base64 = content.toString("base64").replace(/.{60}/g, "$&\n");
      return ok({ ...contentEntry(ctx, repo, c, path, ref), encoding: "base64", content: `${base64}\n` });
    }
    const children = new Set<string>();
    for (const file of c.files.keys()) {
      if (path !== "" && !file.startsWith(`${path}/`)) continue;
      const rest = path === "" ? file : file.slice(path.length + 1);
      children.add(path === "" ? rest.split("/")[0]! : `${path}/${rest.split("/")[0]}`);
    }
    if (children.size === 0) throw new HttpError(404, "Not Found");
    return ok([...children].sort().map((p) => contentEntry(ctx, repo, c, p, ref)));
  },
  "repos/download-tarball-archive": (ctx) => {
    const repo = repoOf(ctx);
    const c = ctx.state.resolve(repo, ctx.params.ref!);
    if (!c) throw new HttpError(404, "Not Found");
    return { status: 302, headers: { location: ctx.codeloadUrl(repo, c.sha) }, body: undefined };
  },

  "checks/create": (ctx) => {
    const repo = repoOf(ctx);
    const headSha = ctx.body.head_sha as string;
    if (!repo.commits.has(headSha)) throw new HttpError(422, `No commit found for SHA: ${headSha}`);
    const run: CheckRun = {
      id: ctx.state.id(),
      repository: repo.fullName,
      name: ctx.body.name as string,
      headSha,
      status: "queued",
      conclusion: null,
      startedAt: null,
      completedAt: null,
      detailsUrl: null,
      externalId: null,
      output: { title: null, summary: null, text: null },
      annotations: [],
      actions: [],
      history: [],
    };
    checkRunState(run, ctx.body, ctx.state.now());
    ctx.state.checkRuns.push(run);
    return ok(checkRun(ctx, run), 201);
  },
  "checks/update": (ctx) => {
    const repo = repoOf(ctx);
    const run = ctx.state.checkRuns.find((r) => r.id === Number(ctx.params.check_run_id) && r.repository === repo.fullName);
    if (!run) throw new HttpError(404, "Not Found");
    checkRunState(run, ctx.body, ctx.state.now());
    return ok(checkRun(ctx, run));
  },
  "checks/get": (ctx) => {
    const repo = repoOf(ctx);
    const run = ctx.state.checkRuns.find((r) => r.id === Number(ctx.params.check_run_id) && r.repository === repo.fullName);
    if (!run) throw new HttpError(404, "Not Found");
    return ok(checkRun(ctx, run));
  },
  "checks/list-for-ref": (ctx) => {
    const repo = repoOf(ctx);
    const c = commitOf(ctx, ctx.params.ref!);
    const name = str(ctx.query.check_name);
    const status = str(ctx.query.status);
    let runs = ctx.state.checkRuns.filter((r) => r.repository === repo.fullName && r.headSha === c.sha);
    if (name) runs = runs.filter((r) => r.name === name);
    if (status) runs = runs.filter((r) => r.status === status);
    runs = runs.toReversed();
    const { page, headers } = paginate(ctx, `/repos/${repo.fullName}/commits/${ctx.params.ref}/check-runs`, runs);
    return ok({ total_count: runs.length, check_runs: page.map((r) => checkRun(ctx, r)) }, 200, headers);
  },

  "checks/list-suites-for-ref": (ctx) => {
    const repo = repoOf(ctx);
    const c = commitOf(ctx, ctx.params.ref!);
    const own = ownSuite(ctx, repo, c.sha);
    let suites = [...(own ? [own] : []), ...ctx.state.checkSuites.filter((s) => s.repository === repo.fullName && s.headSha === c.sha)];
    const appId = Number(ctx.query.app_id);
    if (appId) suites = suites.filter((s) => s.app.id === appId);
    const { page, headers } = paginate(ctx, `/repos/${repo.fullName}/commits/${ctx.params.ref}/check-suites`, suites);
    return ok({ total_count: suites.length, check_suites: page.map((s) => checkSuite(ctx, repo, c, s)) }, 200, headers);
  },

  "repos/create-deployment": (ctx) => {
    const repo = repoOf(ctx);
    const ref = ctx.body.ref as string;
    const c = ctx.state.resolve(repo, ref);
    if (!c) throw new HttpError(422, `No ref found for: ${ref}`);
    const environment = str(ctx.body.environment) ?? "production";
    const d: Deployment = {
      id: ctx.state.id(),
      repository: repo.fullName,
      sha: c.sha,
      ref,
      task: str(ctx.body.task) ?? "deploy",
      environment,
      description: str(ctx.body.description) ?? null,
      payload: typeof ctx.body.payload === "string" ? ctx.body.payload : (ctx.body.payload ?? {}),
      transientEnvironment: ctx.body.transient_environment === true,
      productionEnvironment: (ctx.body.production_environment as boolean | undefined) ?? environment === "production",
      createdAt: ctx.state.now(),
      statuses: [],
    };
    ctx.state.deployments.push(d);
    return ok(deployment(ctx, d), 201);
  },
  "repos/list-deployments": (ctx) => {
    const repo = repoOf(ctx);
    const list = ctx.state.deployments
      .filter(
        (d) =>
          d.repository === repo.fullName &&
          (!ctx.query.sha || d.sha === ctx.query.sha) &&
          (!ctx.query.ref || d.ref === ctx.query.ref) &&
          (!ctx.query.task || d.task === ctx.query.task) &&
          (!ctx.query.environment || d.environment === ctx.query.environment),
      )
      .toReversed();
    const { page, headers } = paginate(ctx, `/repos/${repo.fullName}/deployments`, list);
    return ok(page.map((d) => deployment(ctx, d)), 200, headers);
  },
  "repos/get-deployment": (ctx) => ok(deployment(ctx, findDeployment(ctx))),
  "repos/delete-deployment": (ctx) => {
    const d = findDeployment(ctx);
    if (d.statuses.at(-1)?.state === "success") {
      throw new HttpError(422, "We cannot delete an active deployment unless it is the only deployment in a given environment.");
    }
    ctx.state.deployments.splice(ctx.state.deployments.indexOf(d), 1);
    return { status: 204 };
  },
  "repos/create-deployment-status": (ctx) => {
    const d = findDeployment(ctx);
    const last = d.statuses.at(-1);
    const status: DeploymentStatus = {
      id: ctx.state.id(),
      state: ctx.body.state as string,
      description: str(ctx.body.description) ?? "",
      environment: str(ctx.body.environment) ?? d.environment,
      environmentUrl: str(ctx.body.environment_url) ?? (ctx.body.auto_inactive === undefined ? (last?.environmentUrl ?? "") : ""),
      logUrl: str(ctx.body.log_url) ?? str(ctx.body.target_url) ?? "",
      createdAt: ctx.state.now(),
    };
    d.statuses.push(status);
    // auto_inactive (default true): a success marks earlier non-transient deployments of the environment inactive.
    if (status.state === "success" && ctx.body.auto_inactive !== false) {
      for (const other of ctx.state.deployments) {
        if (other === d || other.repository !== d.repository || other.environment !== d.environment) continue;
        if (other.statuses.at(-1)?.state === "success") {
          other.statuses.push({ ...other.statuses.at(-1)!, id: ctx.state.id(), state: "inactive", createdAt: ctx.state.now() });
        }
      }
    }
    return ok(deploymentStatus(ctx, d, status), 201);
  },
  "repos/list-deployment-statuses": (ctx) => {
    const d = findDeployment(ctx);
    const list = d.statuses.toReversed();
    const { page, headers } = paginate(ctx, `/repos/${d.repository}/deployments/${d.id}/statuses`, list);
    return ok(page.map((s) => deploymentStatus(ctx, d, s)), 200, headers);
  },

  "issues/create-comment": (ctx) => {
    const repo = repoOf(ctx);
    const now = ctx.state.now();
    const c: IssueComment = {
      id: ctx.state.id(),
      repository: repo.fullName,
      issueNumber: Number(ctx.params.issue_number),
      body: ctx.body.body as string,
      user: ctx.installation ? ctx.state.botLogin : repo.owner,
      createdAt: now,
      updatedAt: now,
    };
    ctx.state.comments.push(c);
    return ok(issueComment(ctx, c), 201);
  },
  "issues/get-comment": (ctx) => ok(issueComment(ctx, findComment(ctx))),
  "issues/update-comment": (ctx) => {
    const c = findComment(ctx);
    c.body = ctx.body.body as string;
    c.updatedAt = ctx.state.now();
    return ok(issueComment(ctx, c));
  },
  "issues/delete-comment": (ctx) => {
    const c = findComment(ctx);
    ctx.state.comments.splice(ctx.state.comments.indexOf(c), 1);
    return { status: 204 };
  },
  "issues/list-comments": (ctx) => {
    const repo = repoOf(ctx);
    const list = ctx.state.comments.filter((c) => c.repository === repo.fullName && c.issueNumber === Number(ctx.params.issue_number));
    const { page, headers } = paginate(ctx, `/repos/${repo.fullName}/issues/${ctx.params.issue_number}/comments`, list);
    return ok(page.map((c) => issueComment(ctx, c)), 200, headers);
  },
  "reactions/create-for-issue-comment": (ctx) => {
    const c = findComment(ctx);
    return react(ctx, { type: "issue_comment", id: c.id });
  },
  "reactions/create-for-issue": (ctx) => react(ctx, { type: "issue", id: Number(ctx.params.issue_number) }),
  "reactions/create-for-commit-comment": (ctx) => {
    const repo = repoOf(ctx);
    const c = ctx.state.commitComments.find((x) => x.id === Number(ctx.params.comment_id) && x.repository === repo.fullName);
    if (!c) throw new HttpError(404, "Not Found");
    return react(ctx, { type: "commit_comment", id: c.id });
  },

  "repos/get-collaborator-permission-level": (ctx) => {
    const repo = repoOf(ctx);
    const login = ctx.params.username!;
    if (!ctx.state.accounts.has(login)) throw new HttpError(404, "Not Found");
    const permission = permissionOf(repo, login);
    const legacy = permission === "maintain" ? "write" : permission === "triage" ? "read" : permission;
    return ok({ permission: legacy, role_name: permission, user: { ...user(ctx, login), role_name: permission } });
  },
  "pulls/get": (ctx) => {
    const repo = repoOf(ctx);
    const p = repo.pulls.get(Number(ctx.params.pull_number));
    if (!p) throw new HttpError(404, "Not Found");
    return ok(pull(ctx, repo, p));
  },
};

function react(ctx: HandlerContext, subject: Reaction["subject"]): Reply {
  const repo = repoOf(ctx);
  const login = ctx.installation ? ctx.state.botLogin : repo.owner;
  const content = ctx.body.content as string;
  const existing = ctx.state.reactions.find(
    (r) => r.repository === repo.fullName && r.subject.type === subject.type && r.subject.id === subject.id && r.content === content && r.user === login,
  );
  if (existing) return ok(reaction(ctx, existing), 200);
  const r: Reaction = { id: ctx.state.id(), repository: repo.fullName, subject, content, user: login };
  ctx.state.reactions.push(r);
  return ok(reaction(ctx, r), 201);
}
