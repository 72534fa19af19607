// What the fake GitHub remembers: accounts, the app and its installations, repositories with real file trees per
// commit, and everything Berth writes (check runs, deployments and statuses, comments, reactions). Plain data with
// small mutators; the HTTP layer (server.ts) presents it in GitHub's shapes.
import { createHash } from "node:crypto";

export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface Commit {
  sha: string;
  parents: string[];
  message: string;
  author: string;
  date: string;
  /** Repository-relative path → file content. */
  files: Map<string, Buffer>;
}

export interface PullRequest {
  number: number;
  title: string;
  user: string;
  state: "open" | "closed";
  head: { ref: string; sha: string; repo: string };
  base: { ref: string };
  createdAt: string;
}

export interface Repository {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  private: boolean;
  fork: boolean;
  defaultBranch: string;
  branches: Map<string, string>;
  /** Every commit reachable from this repository, including the heads of pull requests from forks. */
  commits: Map<string, Commit>;
  collaborators: Map<string, Permission>;
  pulls: Map<number, PullRequest>;
  createdAt: string;
}

export interface Installation {
  id: number;
  account: string;
  repositories: Set<string>;
  permissions: Record<string, string>;
  events: string[];
}

export interface InstallationToken {
  token: string;
  installationId: number;
  expiresAt: Date;
}

export interface CheckRun {
  id: number;
  repository: string;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  startedAt: string | null;
  completedAt: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: unknown[];
  actions: unknown[];
  /** Every state the run was written into, in order (create, then each update). */
  history: Array<{ status: string; conclusion: string | null; title: string | null }>;
}

export interface DeploymentStatus {
  id: number;
  state: string;
  description: string;
  environment: string;
  environmentUrl: string;
  logUrl: string;
  createdAt: string;
}

export interface Deployment {
  id: number;
  repository: string;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  description: string | null;
  payload: unknown;
  transientEnvironment: boolean;
  productionEnvironment: boolean;
  createdAt: string;
  statuses: DeploymentStatus[];
}

export interface IssueComment {
  id: number;
  repository: string;
  issueNumber: number;
  body: string;
  user: string;
  createdAt: string;
  updatedAt: string;
}

/** A check suite of another app (a CI service) on a commit; Berth's own suite is derived from its check runs. */
export interface CheckSuite {
  id: number;
  repository: string;
  headSha: string;
  app: { id: number; slug: string; name: string };
  status: "queued" | "in_progress" | "completed";
  conclusion: string | null;
  checkRunsCount: number;
}

export interface CommitComment {
  id: number;
  repository: string;
  sha: string;
  body: string;
  user: string;
  createdAt: string;
}

export interface Reaction {
  id: number;
  repository: string;
  subject: { type: "issue" | "issue_comment" | "commit_comment"; id: number };
  content: string;
  user: string;
}

export interface NewRepository {
  owner: string;
  name: string;
  files: Record<string, string | Buffer>;
  branch?: string;
  private?: boolean;
  fork?: boolean;
  message?: string;
  author?: string;
}

const APP_PERMISSIONS = {
  checks: "write",
  contents: "read",
  deployments: "write",
  issues: "write",
  metadata: "read",
  pull_requests: "write",
};

export class FakeState {
  readonly accounts = new Map<string, number>();
  readonly repositories = new Map<string, Repository>();
  readonly installations = new Map<number, Installation>();
  readonly tokens = new Map<string, InstallationToken>();
  readonly checkRuns: CheckRun[] = [];
  readonly deployments: Deployment[] = [];
  readonly comments: IssueComment[] = [];
  readonly reactions: Reaction[] = [];
  readonly checkSuites: CheckSuite[] = [];
  readonly commitComments: CommitComment[] = [];
  private nextId = 1000;
  private clock = Date.parse("2026-01-01T00:00:00Z");

  constructor(readonly app: { id: number; slug: string; name: string; owner: string }) {
    this.account(app.owner);
    this.account(`${app.slug}[bot]`);
  }

  id(): number {
    return this.nextId++;
  }

  /** Timestamps advance a second per call so ordering by time is unambiguous. */
  now(): string {
    this.clock = Math.max(this.clock + 1000, Date.now() - (Date.now() % 1000));
    return new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  account(login: string): number {
    let id = this.accounts.get(login);
    if (id === undefined) {
      id = this.id();
      this.accounts.set(login, id);
    }
    return id;
  }

  get botLogin(): string {
    return `${this.app.slug}[bot]`;
  }

  addRepository(spec: NewRepository): Repository {
    const fullName = `${spec.owner}/${spec.name}`;
    if (this.repositories.has(fullName)) throw new Error(`fake GitHub: repository ${fullName} already exists`);
    this.account(spec.owner);
    const branch = spec.branch ?? "main";
    const repo: Repository = {
      id: this.id(),
      owner: spec.owner,
      name: spec.name,
      fullName,
      private: spec.private ?? false,
      fork: spec.fork ?? false,
      defaultBranch: branch,
      branches: new Map(),
      commits: new Map(),
      collaborators: new Map([[spec.owner, "admin"]]),
      pulls: new Map(),
      createdAt: this.now(),
    };
    this.repositories.set(fullName, repo);
    const commit = this.commit(repo, [], toFiles(spec.files), spec.message ?? "Initial commit", spec.author ?? spec.owner);
    repo.branches.set(branch, commit.sha);
    return repo;
  }

  repository(fullName: string): Repository {
    const repo = this.repositories.get(fullName);
    if (!repo) throw new Error(`fake GitHub: no repository ${fullName}`);
    return repo;
  }

  /**
   * A new commit on `branch` (created from the default branch when missing): `changes` maps paths to new
   * content, or to null to delete the file. Returns the commit; no webhook is sent.
   */
  push(
    fullName: string,
    branch: string,
    changes: Record<string, string | Buffer | null>,
    options: { message?: string; author?: string } = {},
  ): Commit {
    const repo = this.repository(fullName);
    const parentSha = repo.branches.get(branch) ?? repo.branches.get(repo.defaultBranch)!;
    const parent = repo.commits.get(parentSha)!;
    const files = new Map(parent.files);
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) files.delete(path);
      else files.set(path, Buffer.from(content));
    }
    const commit = this.commit(repo, [parentSha], files, options.message ?? `Update ${branch}`, options.author ?? repo.owner);
    repo.branches.set(branch, commit.sha);
    return commit;
  }

  /** A pull request into `base`; the head commit (from a fork or a branch) becomes readable through `base`. */
  openPullRequest(
    baseFullName: string,
    options: { headRepo: string; headRef: string; baseRef?: string; user: string; title?: string },
  ): PullRequest {
    const base = this.repository(baseFullName);
    const head = this.repository(options.headRepo);
    const sha = head.branches.get(options.headRef);
    if (!sha) throw new Error(`fake GitHub: ${options.headRepo} has no branch ${options.headRef}`);
    for (const [s, c] of head.commits) if (!base.commits.has(s)) base.commits.set(s, c);
    const number = Math.max(0, ...base.pulls.keys(), ...this.comments.map((c) => c.issueNumber)) + 1;
    const pull: PullRequest = {
      number,
      title: options.title ?? `Change from ${options.user}`,
      user: options.user,
      state: "open",
      head: { ref: options.headRef, sha, repo: head.fullName },
      base: { ref: options.baseRef ?? base.defaultBranch },
      createdAt: this.now(),
    };
    this.account(options.user);
    base.pulls.set(number, pull);
    return pull;
  }

  /** Another app's check suite on a commit, e.g. a CI service that failed. */
  addCheckSuite(fullName: string, headSha: string, suite: Pick<CheckSuite, "status" | "conclusion"> & { appName: string }): CheckSuite {
    const id = this.id();
    const created: CheckSuite = {
      id,
      repository: this.repository(fullName).fullName,
      headSha,
      app: { id: this.id(), slug: suite.appName.toLowerCase().replace(/[^a-z0-9]+/g, "-"), name: suite.appName },
      status: suite.status,
      conclusion: suite.conclusion,
      checkRunsCount: 1,
    };
    this.checkSuites.push(created);
    return created;
  }

  addInstallation(account: string, repositories: string[]): Installation {
    const installation: Installation = {
      id: this.id(),
      account,
      repositories: new Set(repositories),
      permissions: { ...APP_PERMISSIONS },
      events: ["push", "pull_request", "issue_comment", "installation", "installation_repositories", "check_run"],
    };
    this.account(account);
    this.installations.set(installation.id, installation);
    return installation;
  }

  installationFor(fullName: string): Installation | undefined {
    for (const i of this.installations.values()) if (i.repositories.has(fullName)) return i;
    return undefined;
  }

  /** A commit by full sha, unique sha prefix (7+), branch name, or `refs/heads/<branch>`. */
  resolve(repo: Repository, ref: string): Commit | undefined {
    const name = ref.replace(/^refs\/heads\//, "");
    const branchSha = repo.branches.get(name);
    if (branchSha) return repo.commits.get(branchSha);
    const direct = repo.commits.get(ref);
    if (direct) return direct;
    for (const pull of repo.pulls.values()) if (ref === `refs/pull/${pull.number}/head`) return repo.commits.get(pull.head.sha);
    if (/^[0-9a-f]{7,39}$/.test(ref)) {
      const matches = [...repo.commits.values()].filter((c) => c.sha.startsWith(ref));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }

  private commit(repo: Repository, parents: string[], files: Map<string, Buffer>, message: string, author: string): Commit {
    const hash = createHash("sha1").update(`${repo.fullName}\0${parents.join(",")}\0${message}\0${this.id()}`);
    for (const [path, content] of [...files].sort(([a], [b]) => a.localeCompare(b))) hash.update(path).update(content);
    const commit: Commit = { sha: hash.digest("hex"), parents, message, author, date: this.now(), files };
    repo.commits.set(commit.sha, commit);
    this.account(author);
    return commit;
  }
}

export function blobSha(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

function toFiles(files: Record<string, string | Buffer>): Map<string, Buffer> {
  return new Map(Object.entries(files).map(([path, content]) => [path, Buffer.from(content)]));
}
