import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Probot, ProbotOctokit } from "probot";
import { extract } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  commitCommentEvent,
  issueCommentEvent,
  pullRequestEvent,
  pushEvent,
  sendWebhook,
  startFakeGitHub,
  type FakeGitHub,
} from "./index.js";

const APP_YAML = "name: hello\nservices:\n  - name: web\n    http_port: 8080\n";

type InstallationOctokit = Awaited<ReturnType<Probot["auth"]>>;

describe("fake GitHub", () => {
  let fake: FakeGitHub;
  let probot: Probot;
  let gh: InstallationOctokit;
  let installationId: number;

  beforeAll(async () => {
    fake = await startFakeGitHub();
    fake.state.addRepository({
      owner: "acme",
      name: "hello",
      files: { ".do/app.yaml": APP_YAML, "server.js": "console.log('hi')\n", "src/a/b.txt": "deep\n" },
    });
    fake.state.addRepository({ owner: "mallory", name: "hello", files: { "server.js": "evil\n" }, fork: true });
    installationId = fake.state.addInstallation("acme", ["acme/hello"]).id;
    probot = new Probot({
      appId: fake.appId,
      privateKey: fake.privateKey,
      baseUrl: fake.apiUrl,
      // Throttling would space writes a second apart, as it must against the real GitHub.
      Octokit: ProbotOctokit.defaults((options: object) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } })),
      logLevel: "fatal",
    });
    gh = await probot.auth(installationId);
  });
  afterAll(async () => {
    await fake?.close();
  });

  it("serves a valid Octokit call after trading the app's JWT for an installation token", async () => {
    const { data } = await gh.rest.repos.getContent({ owner: "acme", repo: "hello", path: ".do/app.yaml", ref: "main" });
    expect(Array.isArray(data)).toBe(false);
    const file = data as { type: string; encoding: string; content: string };
    expect(file.type).toBe("file");
    expect(Buffer.from(file.content, "base64").toString()).toBe(APP_YAML);

    const tokenRequest = fake.requestsMatching({ operationId: "apps/create-installation-access-token" });
    expect(tokenRequest).toHaveLength(1);
    expect(tokenRequest[0]).toMatchObject({ auth: "jwt", status: 201 });
    expect(fake.requestsMatching({ operationId: "repos/get-content" }).at(-1)).toMatchObject({
      auth: "installation",
      installationId,
      status: 200,
      query: { ref: "main" },
    });
  });

  it("rejects a body the description forbids with 422 naming the field", async () => {
    const sha = fake.state.repository("acme/hello").branches.get("main")!;
    const error = await gh.rest.checks
      .create({ owner: "acme", repo: "hello", name: "berth", head_sha: sha, conclusion: "great" as "success" })
      .catch((e: unknown) => e as { status: number; message: string });
    expect(error).toMatchObject({ status: 422 });
    expect((error as { message: string }).message).toContain("body.conclusion");
    expect(fake.state.checkRuns).toHaveLength(0);
    expect(fake.invalidRequests().map((r) => r.operationId)).toEqual(["checks/create"]);
  });

  it("rejects invalid path and query parameters with 422", async () => {
    const badPath = await fetch(`${fake.apiUrl}/app/installations/abc/access_tokens`, { method: "POST" });
    expect(badPath.status).toBe(422);
    expect(await badPath.text()).toContain("path.installation_id should be integer");

    const badQuery = await gh.request("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
      owner: "acme",
      repo: "hello",
      ref: "main",
      per_page: "many" as unknown as number,
    }).catch((e: unknown) => e as { status: number; message: string });
    expect(badQuery).toMatchObject({ status: 422 });
    expect((badQuery as { message: string }).message).toContain("query.per_page should be integer");
  });

  it("answers 404 for a route GitHub does not have", async () => {
    const error = await gh.request("GET /repos/{owner}/{repo}/deploy-keys-of-doom", { owner: "acme", repo: "hello" }).catch(
      (e: unknown) => e as { status: number; message: string },
    );
    expect(error).toMatchObject({ status: 404 });
    expect((error as { message: string }).message).toContain("GitHub's API has no GET /repos/acme/hello/deploy-keys-of-doom");
    const wrongMethod = await fetch(`${fake.apiUrl}/repos/acme/hello/check-runs`, { method: "PUT" });
    expect(wrongMethod.status).toBe(404);
  });

  it("refuses missing tokens, JWTs signed by another key, and repositories outside the installation", async () => {
    expect((await fetch(`${fake.apiUrl}/repos/acme/hello/branches/main`)).status).toBe(401);

    const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    const impostor = new Probot({ appId: fake.appId, privateKey: otherKey, baseUrl: fake.apiUrl, logLevel: "fatal" });
    const impostorGh = await impostor.auth(installationId);
    const refused = await impostorGh.rest.repos.get({ owner: "acme", repo: "hello" }).catch((e: unknown) => e as { status: number; message: string });
    expect(refused).toMatchObject({ status: 401 });
    expect((refused as { message: string }).message).toContain("signature does not match");

    const hidden = await gh.rest.repos.get({ owner: "mallory", repo: "hello" }).catch((e: unknown) => e as { status: number });
    expect(hidden).toMatchObject({ status: 404 });
  });

  it("redirects tarball requests to a gzipped tar with GitHub's top-level directory", async () => {
    const sha = fake.state.repository("acme/hello").branches.get("main")!;
    const redirect = await fetch(`${fake.apiUrl}/repos/acme/hello/tarball/${sha}`, {
      headers: { authorization: `token ${[...fake.state.tokens.keys()][0]}` },
      redirect: "manual",
    });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toMatch(new RegExp(`^${fake.url}/_codeload/acme/hello/legacy.tar.gz/${sha}\\?token=`));

    const { data } = await gh.rest.repos.downloadTarballArchive({ owner: "acme", repo: "hello", ref: sha });
    const dir = await mkdtemp(join(tmpdir(), "fake-github-test-"));
    try {
      await writeFile(join(dir, "source.tar.gz"), Buffer.from(data as ArrayBuffer));
      await extract({ file: join(dir, "source.tar.gz"), cwd: dir });
      const top = `acme-hello-${sha.slice(0, 7)}`;
      expect((await readdir(dir)).sort()).toEqual([top, "source.tar.gz"]);
      expect(await readFile(join(dir, top, ".do/app.yaml"), "utf8")).toBe(APP_YAML);
      expect(await readFile(join(dir, top, "src/a/b.txt"), "utf8")).toBe("deep\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("answers the next N matching requests with 502, then serves again", async () => {
    fake.failNext(2, { method: "GET", path: "/repos/acme/hello/branches/main" });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        await gh.rest.repos.getBranch({ owner: "acme", repo: "hello", branch: "main" }).then(
          (r) => r.status as number,
          (e: { status: number }) => e.status,
        ),
      );
    }
    expect(statuses).toEqual([502, 502, 200]);
  });

  it("keeps check runs, deployments, comments, reactions and answers in GitHub's documented shapes", async () => {
    const repo = fake.state.repository("acme/hello");
    const before = repo.branches.get("main")!;
    const commit = fake.state.push("acme/hello", "main", { "server.js": "console.log('v2')\n", "src/a/b.txt": null }, { message: "v2" });

    const run = await gh.rest.checks.create({ owner: "acme", repo: "hello", name: "Berth", head_sha: commit.sha, status: "in_progress" });
    await gh.rest.checks.update({
      owner: "acme",
      repo: "hello",
      check_run_id: run.data.id,
      conclusion: "success",
      output: { title: "Deployed", summary: "ok", annotations: [{ path: ".do/app.yaml", start_line: 1, end_line: 1, annotation_level: "notice", message: "fine" }] },
    });
    const listed = await gh.rest.checks.listForRef({ owner: "acme", repo: "hello", ref: commit.sha });
    expect(listed.data.check_runs.map((r) => [r.name, r.status, r.conclusion])).toEqual([["Berth", "completed", "success"]]);
    expect(fake.state.checkRuns[0]!.history.map((h) => h.status)).toEqual(["in_progress", "completed"]);

    const deployment = await gh.rest.repos.createDeployment({
      owner: "acme",
      repo: "hello",
      ref: commit.sha,
      environment: "production",
      auto_merge: false,
      required_contexts: [],
    });
    const deploymentId = (deployment.data as { id: number }).id;
    for (const state of ["queued", "in_progress", "success"] as const) {
      await gh.rest.repos.createDeploymentStatus({
        owner: "acme",
        repo: "hello",
        deployment_id: deploymentId,
        state,
        ...(state === "success" ? { environment_url: "http://hello.localhost:8080" } : {}),
      });
    }
    const statuses = await gh.rest.repos.listDeploymentStatuses({ owner: "acme", repo: "hello", deployment_id: deploymentId });
    expect(statuses.data.map((s) => s.state)).toEqual(["success", "in_progress", "queued"]);
    expect(statuses.data[0]!.environment_url).toBe("http://hello.localhost:8080");
    expect((await gh.rest.repos.listDeployments({ owner: "acme", repo: "hello", sha: commit.sha })).data).toHaveLength(1);

    const comment = await gh.rest.issues.createComment({ owner: "acme", repo: "hello", issue_number: 1, body: "Preview at …" });
    await gh.rest.issues.updateComment({ owner: "acme", repo: "hello", comment_id: comment.data.id, body: "Preview ready" });
    const comments = await gh.rest.issues.listComments({ owner: "acme", repo: "hello", issue_number: 1 });
    expect(comments.data.map((c) => [c.body, c.user?.login])).toEqual([["Preview ready", "berth-test[bot]"]]);
    const reaction = await gh.rest.reactions.createForIssueComment({ owner: "acme", repo: "hello", comment_id: comment.data.id, content: "rocket" });
    expect(reaction.status).toBe(201);

    const permission = await gh.rest.repos.getCollaboratorPermissionLevel({ owner: "acme", repo: "hello", username: "acme" });
    expect(permission.data.permission).toBe("admin");
    const stranger = await gh.rest.repos.getCollaboratorPermissionLevel({ owner: "acme", repo: "hello", username: "mallory" });
    expect(stranger.data.permission).toBe("read");

    const compare = await gh.rest.repos.compareCommitsWithBasehead({ owner: "acme", repo: "hello", basehead: `${before}...${commit.sha}` });
    expect(compare.data).toMatchObject({ status: "ahead", ahead_by: 1 });
    expect(compare.data.files?.map((f) => [f.filename, f.status])).toEqual([
      ["server.js", "modified"],
      ["src/a/b.txt", "removed"],
    ]);
    expect((await gh.rest.repos.getBranch({ owner: "acme", repo: "hello", branch: "main" })).data.commit.sha).toBe(commit.sha);
    expect((await gh.rest.repos.getCommit({ owner: "acme", repo: "hello", ref: commit.sha.slice(0, 7) })).data.sha).toBe(commit.sha);
    const repos = await gh.rest.apps.listReposAccessibleToInstallation();
    expect(repos.data.repositories.map((r) => r.full_name)).toEqual(["acme/hello"]);
    const dir = await gh.rest.repos.getContent({ owner: "acme", repo: "hello", path: "src", ref: before });
    expect((dir.data as Array<{ path: string; type: string }>).map((e) => [e.path, e.type])).toEqual([["src/a", "dir"]]);

    expect(fake.responseProblems).toEqual([]);
  });

  it("pages lists with GitHub's Link header so Octokit's paginate walks them", async () => {
    const commit = fake.state.push("acme/hello", "main", { "page.txt": "x\n" });
    for (const name of ["a", "b", "c"]) await gh.rest.checks.create({ owner: "acme", repo: "hello", name, head_sha: commit.sha });
    const first = await gh.rest.checks.listForRef({ owner: "acme", repo: "hello", ref: commit.sha, per_page: 2 });
    expect(first.data.check_runs).toHaveLength(2);
    expect(first.headers.link).toContain('rel="next"');
    const all = await gh.paginate(gh.rest.checks.listForRef, { owner: "acme", repo: "hello", ref: commit.sha, per_page: 2 });
    expect(all.map((r) => r.name).sort()).toEqual(["a", "b", "c"]);
    const named = await gh.rest.checks.listForRef({ owner: "acme", repo: "hello", ref: commit.sha, check_name: "b" });
    expect(named.data.check_runs.map((r) => r.name)).toEqual(["b"]);
  });

  it("lists this app's check suite beside other apps' suites, and reacts to commit comments", async () => {
    const commit = fake.state.push("acme/hello", "main", { "suite.txt": "x\n" });
    await gh.rest.checks.create({ owner: "acme", repo: "hello", name: "Berth", head_sha: commit.sha, conclusion: "success" });
    fake.state.addCheckSuite("acme/hello", commit.sha, { appName: "Other CI", status: "completed", conclusion: "failure" });
    const suites = await gh.paginate(gh.rest.checks.listSuitesForRef, { owner: "acme", repo: "hello", ref: commit.sha, per_page: 100 });
    expect(suites.map((s) => [s.app?.name, s.status, s.conclusion, s.latest_check_runs_count])).toEqual([
      ["Berth (test)", "completed", "success", 1],
      ["Other CI", "completed", "failure", 1],
    ]);
    expect(suites[0]!.app?.id).toBe(fake.appId);

    const { payload, comment } = commitCommentEvent(fake, "acme/hello", commit.sha, "acme", "/berth deploy");
    expect(payload).toMatchObject({ comment: { id: comment.id, commit_id: commit.sha, body: "/berth deploy" } });
    const reaction = await gh.rest.reactions.createForCommitComment({ owner: "acme", repo: "hello", comment_id: comment.id, content: "eyes" });
    expect(reaction.status).toBe(201);
    const unknown = await gh.rest.reactions
      .createForCommitComment({ owner: "acme", repo: "hello", comment_id: 999_999, content: "eyes" })
      .catch((e: { status: number }) => e);
    expect(unknown).toMatchObject({ status: 404 });
    expect(fake.responseProblems).toEqual([]);
  });

  it("lets a maintainer's comment and a fork's pull request be read back as GitHub would show them", async () => {
    fake.state.push("mallory/hello", "feature", { "server.js": "console.log('fork')\n" });
    const pull = fake.state.openPullRequest("acme/hello", { headRepo: "mallory/hello", headRef: "feature", user: "mallory" });
    const { data } = await gh.rest.pulls.get({ owner: "acme", repo: "hello", pull_number: pull.number });
    expect(data.head).toMatchObject({ sha: pull.head.sha, ref: "feature", repo: { full_name: "mallory/hello", fork: true } });
    // The fork's head commit is readable through the base repository, as refs/pull/N/head makes it on GitHub.
    expect((await gh.rest.repos.getCommit({ owner: "acme", repo: "hello", ref: pull.head.sha })).data.sha).toBe(pull.head.sha);
    const event = pullRequestEvent(fake, "acme/hello", pull);
    expect(event).toMatchObject({ action: "opened", pull_request: { head: { repo: { full_name: "mallory/hello" } } } });
    const { payload, comment } = issueCommentEvent(fake, "acme/hello", pull, "acme", "/berth preview");
    expect(payload).toMatchObject({ comment: { id: comment.id, author_association: "OWNER" }, issue: { number: pull.number } });
    expect(fake.responseProblems).toEqual([]);
  });

  it("signs webhooks so that Probot's own verification accepts them and rejects tampered ones", async () => {
    const secret = "webhook-secret";
    const received: Array<{ name: string; id: string; after: string }> = [];
    const app = new Probot({ appId: fake.appId, privateKey: fake.privateKey, secret, baseUrl: fake.apiUrl, logLevel: "fatal" });
    app.on("push", async (context) => {
      received.push({ name: context.name, id: context.id, after: context.payload.after });
    });
    const { createNodeMiddleware } = await import("probot");
    const middleware = await createNodeMiddleware(() => {}, { probot: app, webhooksPath: "/hooks" });
    const server = createServer((req, res) => {
      void middleware(req, res, () => {
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    app.on("push", async () => {});
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
      const commit = fake.state.push("acme/hello", "main", { "README.md": "hello\n" });
      const payload = pushEvent(fake, "acme/hello", "main", commit);
      const good = await sendWebhook(url, { event: "push", payload, secret });
      expect(good.status).toBe(200);
      expect(received).toEqual([{ name: "push", id: good.delivery, after: commit.sha }]);
      expect(payload).toMatchObject({
        ref: "refs/heads/main",
        repository: { full_name: "acme/hello" },
        installation: { id: installationId },
        head_commit: { id: commit.sha, added: ["README.md"] },
      });
      const bad = await sendWebhook(url, { event: "push", payload, secret, signatureOverride: "sha256=" + "0".repeat(64) });
      expect(bad.status).toBeGreaterThanOrEqual(400);
      expect(received).toHaveLength(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
