import nock from "nock";
import { describe, expect, it } from "vitest";
import { gateKey, readSettings } from "../../src/intents/gate.js";
import { approvalKey } from "../../src/intents/pull-request.js";
import { API, example, mockToken, useStrictNock } from "../github/kit.js";
import { pathologicalSpec } from "../app-spec/pathological-spec.js";
import { APP_ID, contentOf, createHarness, mockSpec, specYaml } from "./harness.js";

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const pushExample = () => example<Payload>("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
const HEAD = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const PR_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

function mockNoBerthYml(repo: string, ref: string) {
  nock(API).get(`/repos/${repo}/contents/.github%2Fberth.yml`).query({ ref }).reply(404, { message: "Not Found" });
}

function mockHead(repo: string, branch: string, sha: string) {
  nock(API).get(`/repos/${repo}/branches/${branch}`).reply(200, { name: branch, commit: { sha } });
}

describe("push", () => {
  useStrictNock();

  it("deploys the pushed commit of the deploy branch, once per delivery", async () => {
    const h = createHarness();
    const payload = pushExample();
    // A follow-up push GitHub could diff: the changed paths steer the monorepo rebuild.
    payload.created = false;
    payload.commits[0].modified = ["web/index.js"];
    mockToken(1);
    mockSpec("Codertocat/Hello-World", HEAD, specYaml("Codertocat/Hello-World", "master"));
    mockHead("Codertocat/Hello-World", "master", HEAD);
    mockNoBerthYml("Codertocat/Hello-World", HEAD);

    await h.probot.receive({ id: "d-1", name: "push", payload } as never);
    await h.probot.receive({ id: "d-1", name: "push", payload } as never);
    await h.worker.idle();

    expect(h.submitted).toEqual([
      {
        deliveryId: "d-1:deploy",
        intent: {
          kind: "deploy",
          app: { installationId: 1, repository: "Codertocat/Hello-World", environment: "production" },
          branch: "master",
          sha: HEAD,
          cause: { type: "push", sha: HEAD, ref: "refs/heads/master", pusher: "Codertocat", message: "Initial commit" },
          changedPaths: ["README.md", "web/index.js"],
        },
      },
    ]);
    expect(await h.inbox.list()).toEqual([]);
  });

  it("rebuilds everything when the push changed the spec or GitHub could not list the changes", async () => {
    const h = createHarness();
    const payload = pushExample(); // created: true — GitHub lists no diff for a new branch
    mockToken(1);
    mockSpec("Codertocat/Hello-World", HEAD, specYaml("Codertocat/Hello-World", "master"));
    mockHead("Codertocat/Hello-World", "master", HEAD);
    mockNoBerthYml("Codertocat/Hello-World", HEAD);
    await h.probot.receive({ id: "d-2", name: "push", payload } as never);
    await h.worker.idle();
    expect(h.submitted).toHaveLength(1);
    expect(h.submitted[0]?.intent).not.toHaveProperty("changedPaths");
  });

  it("ignores a tag push, a deleted branch and a payload without installation, calling GitHub not at all", async () => {
    const h = createHarness();
    const tag = example<Payload>("push", (p) => String(p.ref).startsWith("refs/tags/") && Boolean(p.installation));
    const deleted = pushExample();
    deleted.deleted = true;
    deleted.after = "0".repeat(40);
    const noInstallation = pushExample();
    delete noInstallation.installation;
    await h.probot.receive({ id: "t-1", name: "push", payload: tag } as never);
    await h.probot.receive({ id: "t-2", name: "push", payload: deleted } as never);
    await h.probot.receive({ id: "t-3", name: "push", payload: noInstallation } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
  });

  it("ignores a branch no component deploys on push, and a repository without a spec", async () => {
    const h = createHarness();
    mockToken(1);
    mockSpec("Codertocat/Hello-World", HEAD, specYaml("Codertocat/Hello-World", "production"));
    await h.probot.receive({ id: "b-1", name: "push", payload: pushExample() } as never);
    await h.worker.idle();
    mockSpec("Codertocat/Hello-World", HEAD, null);
    await h.probot.receive({ id: "b-2", name: "push", payload: pushExample() } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
  });

  it("reports a broken spec on the deploy branch and still submits, so the deployment fails visibly", async () => {
    const h = createHarness({
      apps: [{ id: "app-1", key: { installationId: 1, repository: "Codertocat/Hello-World", environment: "production" }, branch: "master" }],
    });
    mockToken(1);
    mockSpec("Codertocat/Hello-World", HEAD, "name: x\n");
    mockHead("Codertocat/Hello-World", "master", HEAD);
    mockNoBerthYml("Codertocat/Hello-World", HEAD);
    const checks: Payload[] = [];
    nock(API).post("/repos/Codertocat/Hello-World/check-runs", (b) => (checks.push(b), true)).reply(201, { id: 5 });
    await h.probot.receive({ id: "x-1", name: "push", payload: pushExample() } as never);
    await h.worker.idle();
    expect(checks[0]).toMatchObject({ name: "spec", conclusion: "failure", output: { annotations: [{ path: ".do/app.yaml", start_line: 1 }] } });
    expect(h.submitted.map((s) => s.intent.kind)).toEqual(["deploy"]);
  });

  it("deploys nothing for a push to another branch whose own spec names it, so the app's branch stays", async () => {
    const EVIL = "e".repeat(40);
    const h = createHarness({
      apps: [{ id: "app-1", key: { installationId: 1, repository: "Codertocat/Hello-World", environment: "production" }, branch: "master" }],
    });
    const push = (id: string) => {
      const payload = pushExample();
      payload.ref = "refs/heads/evil";
      payload.after = EVIL;
      return { id, name: "push", payload } as never;
    };
    mockToken(1);
    // What the code before the fix read and deployed: the pushed commit's own spec.
    nock(API)
      .get("/repos/Codertocat/Hello-World/contents/.do%2Fapp.yaml")
      .query({ ref: EVIL })
      .optionally()
      .times(3)
      .reply(200, contentOf(specYaml("Codertocat/Hello-World", "evil")))
      .get("/repos/Codertocat/Hello-World/contents/.github%2Fberth.yml")
      .query({ ref: EVIL })
      .optionally()
      .times(3)
      .reply(404, {})
      .get("/repos/Codertocat/Hello-World/branches/evil")
      .optionally()
      .times(3)
      .reply(200, { name: "evil", commit: { sha: EVIL } });
    // The default branch decides; with its spec broken or absent, Berth's record of the app does.
    mockSpec("Codertocat/Hello-World", "master", specYaml("Codertocat/Hello-World", "master"));
    await h.probot.receive(push("e-1"));
    await h.worker.idle();
    mockSpec("Codertocat/Hello-World", "master", "name: broken\n");
    await h.probot.receive(push("e-2"));
    await h.worker.idle();
    mockSpec("Codertocat/Hello-World", "master", null);
    await h.probot.receive(push("e-3"));
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
    expect(await h.inbox.list()).toEqual([]);
  });

  it("deploys a push to the branch the default branch's spec names", async () => {
    const h = createHarness();
    const payload = pushExample();
    payload.ref = "refs/heads/release";
    mockToken(1);
    mockSpec("Codertocat/Hello-World", "master", specYaml("Codertocat/Hello-World", "release"));
    mockSpec("Codertocat/Hello-World", HEAD, specYaml("Codertocat/Hello-World", "release"));
    mockHead("Codertocat/Hello-World", "release", HEAD);
    mockNoBerthYml("Codertocat/Hello-World", HEAD);
    await h.probot.receive({ id: "rel-1", name: "push", payload } as never);
    await h.worker.idle();
    expect(h.submitted.map((s) => [s.intent.kind, s.intent.kind === "deploy" && s.intent.branch])).toEqual([["deploy", "release"]]);
  });

  it("skips a pushed commit that is no longer its branch's head (a newer push follows)", async () => {
    const h = createHarness();
    mockToken(1);
    mockSpec("Codertocat/Hello-World", HEAD, specYaml("Codertocat/Hello-World", "master"));
    // The code before the fix went on to the settings and deployed.
    nock(API).get("/repos/Codertocat/Hello-World/contents/.github%2Fberth.yml").query({ ref: HEAD }).optionally().reply(404, {});
    mockHead("Codertocat/Hello-World", "master", "f".repeat(40));
    await h.probot.receive({ id: "h-1", name: "push", payload: pushExample() } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
    expect(await h.inbox.list()).toEqual([]);
  });

  it("keeps a delivery in the inbox when GitHub fails, and acts on it on resume", async () => {
    const h = createHarness();
    mockToken(1);
    nock(API).get("/repos/Codertocat/Hello-World/contents/.do%2Fapp.yaml").query({ ref: HEAD }).reply(502, { message: "Bad Gateway" });
    await h.probot.receive({ id: "r-1", name: "push", payload: pushExample() } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
    expect((await h.inbox.list()).map((e) => e.id)).toEqual(["r-1"]);
    // Too fresh for a periodic resume: with several replicas, the one that received it handles it.
    await h.worker.resume({ olderThanMs: 60_000 });
    await h.worker.idle();

    mockSpec("Codertocat/Hello-World", HEAD, specYaml("Codertocat/Hello-World", "master"));
    mockHead("Codertocat/Hello-World", "master", HEAD);
    mockNoBerthYml("Codertocat/Hello-World", HEAD);
    await h.worker.resume();
    await h.worker.idle();
    expect(h.submitted.map((s) => s.deliveryId)).toEqual(["r-1:deploy"]);
    expect(await h.inbox.list()).toEqual([]);
  });
});

describe("pull_request", () => {
  useStrictNock();
  const prExample = (action: string) => example<Payload>("pull_request", (p) => p.action === action && Boolean(p.installation));

  it("checks the spec and builds a preview of the head commit", async () => {
    const h = createHarness();
    mockToken(1);
    mockSpec("Codertocat/Hello-World", PR_HEAD, specYaml("Codertocat/Hello-World", "master"));
    const checks: Payload[] = [];
    nock(API).post("/repos/Codertocat/Hello-World/check-runs", (b) => (checks.push(b), true)).reply(201, { id: 5 });
    await h.probot.receive({ id: "p-1", name: "pull_request", payload: prExample("opened") } as never);
    await h.worker.idle();
    expect(checks).toEqual([
      {
        name: "spec",
        head_sha: PR_HEAD,
        external_id: "berth:spec",
        status: "completed",
        conclusion: "success",
        completed_at: expect.any(String),
        output: { title: ".do/app.yaml is valid", summary: "Berth read `.do/app.yaml` and found nothing to fix." },
      },
    ]);
    expect(h.submitted).toEqual([
      {
        deliveryId: "p-1:preview",
        intent: {
          kind: "deploy",
          app: { installationId: 1, repository: "Codertocat/Hello-World", environment: "pr-2" },
          branch: "changes",
          sha: PR_HEAD,
          cause: { type: "pull_request", number: 2, sha: PR_HEAD, headRepository: "Codertocat/Hello-World", fork: false },
        },
      },
    ]);
  });

  it("gives a fork only the spec check until a maintainer comments /berth preview on that head", async () => {
    const h = createHarness();
    const payload = prExample("synchronize");
    payload.pull_request.head.repo.full_name = "mallory/Hello-World";
    mockToken(1);
    mockSpec("Codertocat/Hello-World", PR_HEAD, specYaml("Codertocat/Hello-World", "master"));
    nock(API).post("/repos/Codertocat/Hello-World/check-runs").reply(201, { id: 5 });
    await h.probot.receive({ id: "f-1", name: "pull_request", payload } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
    expect(h.notices[0]?.text).toContain("/berth preview");

    const comment = example<Payload>("issue_comment", (p) => p.action === "created" && Boolean(p.installation));
    comment.issue.pull_request = { url: "https://api.github.com/repos/Codertocat/Hello-World/pulls/2" };
    comment.issue.number = 2;
    comment.comment.body = "Looks safe.\n/berth preview";
    comment.comment.user.login = "maintainer";
    // Written after the head was pushed (the example's comment predates the example's pull request).
    comment.comment.created_at = "2019-05-15T15:25:00Z";
    const replies: string[] = [];
    const reactions: string[] = [];
    nock(API)
      .get("/repos/Codertocat/Hello-World/collaborators/maintainer/permission")
      .reply(200, { permission: "write", role_name: "maintain", user: { login: "maintainer" } })
      .post(`/repos/Codertocat/Hello-World/issues/comments/${comment.comment.id}/reactions`, (b) => (reactions.push(b.content), true))
      .twice()
      .reply(201, {})
      .get("/repos/Codertocat/Hello-World/pulls/2")
      .reply(200, { state: "open", head: { sha: PR_HEAD, ref: "changes", repo: { full_name: "mallory/Hello-World" } } })
      .post("/repos/Codertocat/Hello-World/issues/2/comments", (b) => (replies.push(b.body), true))
      .reply(201, { id: 77 });
    await h.probot.receive({ id: "c-1", name: "issue_comment", payload: comment } as never);
    await h.worker.idle();
    expect(reactions).toEqual(["eyes", "rocket"]);
    expect(replies).toEqual(["@maintainer building a preview of `ec26c3e` (deployment `dep-1`)."]);
    expect(h.watched).toEqual([{ deploymentId: "dep-1", command: "preview", by: "maintainer" }]);
    expect(h.submitted[0]?.intent).toMatchObject({ kind: "deploy", sha: PR_HEAD, cause: { fork: true } });
    expect(await h.state.get(approvalKey(1, "Codertocat/Hello-World", 2))).toEqual({ sha: PR_HEAD, by: "maintainer" });
  });

  it("answers a fork's 1 MB spec with one problem in one check-run request, and no preview", async () => {
    const h = createHarness();
    const payload = prExample("synchronize");
    payload.pull_request.head.repo.full_name = "mallory/Hello-World";
    mockToken(1);
    const text = pathologicalSpec(1024 * 1024);
    mockSpec("Codertocat/Hello-World", PR_HEAD, text);
    const checks: Payload[] = [];
    // Strict nock: a second request (an update with more annotations) would fail the test.
    nock(API).post("/repos/Codertocat/Hello-World/check-runs", (b) => (checks.push(b), true)).reply(201, { id: 5 });
    await h.probot.receive({ id: "f-big", name: "pull_request", payload } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
    expect(checks).toHaveLength(1);
    expect(checks[0]?.conclusion).toBe("failure");
    expect(checks[0]?.output.title).toBe("1 error in .do/app.yaml");
    expect(checks[0]?.output.annotations).toEqual([
      expect.objectContaining({
        start_line: 1,
        start_column: 1,
        message: `the spec is ${Math.ceil(Buffer.byteLength(text) / 1024)} KiB; Berth reads specs up to 256 KiB`,
      }),
    ]);
  });

  it("builds no preview when the spec at the head is invalid, and says why in the spec check", async () => {
    const h = createHarness();
    mockToken(1);
    mockSpec("Codertocat/Hello-World", PR_HEAD, "name: hello\nservices:\n  - name: web\n    instance_count: 0\n");
    let check: Payload = {};
    nock(API).post("/repos/Codertocat/Hello-World/check-runs", (b) => ((check = b), true)).reply(201, { id: 5 });
    await h.probot.receive({ id: "p-2", name: "pull_request", payload: prExample("reopened") } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toBe("2 errors in .do/app.yaml");
    expect(check.output.annotations.map((a: Payload) => [a.start_line, a.title])).toEqual([
      [3, "services[0]"],
      [4, "services[0].instance_count"],
    ]);
  });

  it("refuses commands from people without write access", async () => {
    const h = createHarness();
    const comment = example<Payload>("issue_comment", (p) => p.action === "created" && Boolean(p.installation));
    comment.issue.pull_request = { url: "x" };
    comment.comment.body = "/berth deploy";
    mockToken(1);
    const replies: string[] = [];
    nock(API)
      .get("/repos/Codertocat/Hello-World/collaborators/Codertocat/permission")
      .reply(200, { permission: "read", role_name: "triage", user: { login: "Codertocat" } })
      .post(`/repos/Codertocat/Hello-World/issues/comments/${comment.comment.id}/reactions`, { content: "-1" })
      .reply(201, {})
      .post(`/repos/Codertocat/Hello-World/issues/${comment.issue.number}/comments`, (b) => (replies.push(b.body), true))
      .reply(201, { id: 1 });
    await h.probot.receive({ id: "c-2", name: "issue_comment", payload: comment } as never);
    await h.worker.idle();
    expect(replies).toEqual(["@Codertocat only people with write access to Codertocat/Hello-World can run `/berth deploy`."]);
    expect(h.submitted).toEqual([]);
  });

  it("tears the preview down when the pull request closes, without calling GitHub", async () => {
    const h = createHarness();
    await h.probot.receive({ id: "p-9", name: "pull_request", payload: prExample("closed") } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([
      {
        deliveryId: "p-9:teardown",
        intent: { kind: "teardown", app: { installationId: 1, repository: "Codertocat/Hello-World", environment: "pr-2" }, reason: "pull request #2 closed" },
      },
    ]);
  });

  it("ignores other pull request actions and comments that are not commands", async () => {
    const h = createHarness();
    await h.probot.receive({ id: "p-10", name: "pull_request", payload: prExample("labeled") } as never);
    const chatter = example<Payload>("issue_comment", (p) => p.action === "created" && Boolean(p.installation));
    await h.probot.receive({ id: "c-3", name: "issue_comment", payload: chatter } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
  });
});

describe("commands", () => {
  useStrictNock();

  it("answers a command the pipeline refuses with its reason, once", async () => {
    const h = createHarness({ refuse: (i) => (i.kind === "restart" ? "Berth does not manage Codertocat/Hello-World (pr-1) yet: deploy it first" : undefined) });
    const comment = example<Payload>("issue_comment", (p) => p.action === "created" && Boolean(p.installation));
    comment.issue.pull_request = { url: "x" };
    comment.comment.body = "/berth restart web,worker";
    mockToken(1);
    const reactions: string[] = [];
    const replies: string[] = [];
    nock(API)
      .get("/repos/Codertocat/Hello-World/collaborators/Codertocat/permission")
      .reply(200, { permission: "admin", role_name: "admin", user: { login: "Codertocat" } })
      .post(`/repos/Codertocat/Hello-World/issues/comments/${comment.comment.id}/reactions`, (b) => (reactions.push(b.content), true))
      .twice()
      .reply(201, {})
      .get(`/repos/Codertocat/Hello-World/pulls/${comment.issue.number}`)
      .reply(200, { state: "open", head: { sha: PR_HEAD, ref: "changes", repo: { full_name: "Codertocat/Hello-World" } } })
      .post(`/repos/Codertocat/Hello-World/issues/${comment.issue.number}/comments`, (b) => (replies.push(b.body), true))
      .reply(201, { id: 1 });
    await h.probot.receive({ id: "c-9", name: "issue_comment", payload: comment } as never);
    await h.worker.idle();
    expect(reactions).toEqual(["eyes", "confused"]);
    expect(replies).toEqual([
      "@Codertocat `/berth restart` failed: Berth does not manage Codertocat/Hello-World (pr-1) yet: deploy it first",
    ]);
    expect(await h.inbox.list()).toEqual([]);
  });

  it("rolls production back from a commit comment to the deployment that served before", async () => {
    const { deployment } = await import("../github/kit.js");
    const app = { installationId: 1, repository: "Codertocat/Hello-World", environment: "production" };
    const ok = [{ name: "rollout web", status: "SUCCESS" as const }];
    const h = createHarness({
      deployments: [
        deployment({ id: "d3", app, phase: "ACTIVE", steps: ok, createdAt: new Date("2026-01-03") }),
        deployment({ id: "d2", app, phase: "SUPERSEDED", steps: [{ name: "build web", status: "CANCELED" }], createdAt: new Date("2026-01-02") }),
        deployment({ id: "d1", app, sha: "1".repeat(40), phase: "SUPERSEDED", steps: ok, createdAt: new Date("2026-01-01") }),
      ],
    });
    const comment = example<Payload>("commit_comment", (p) => Boolean(p.installation));
    comment.comment.body = "/berth rollback";
    mockToken(1);
    const reactions: string[] = [];
    nock(API)
      .get(`/repos/Codertocat/Hello-World/collaborators/${comment.comment.user.login}/permission`)
      .reply(200, { permission: "write", user: { login: comment.comment.user.login } })
      .post(`/repos/Codertocat/Hello-World/comments/${comment.comment.id}/reactions`, (b) => (reactions.push(b.content), true))
      .twice()
      .reply(201, {});
    await h.probot.receive({ id: "c-10", name: "commit_comment", payload: comment } as never);
    await h.worker.idle();
    expect(h.submitted.map((x) => x.intent)).toEqual([{ kind: "rollback", app, toDeploymentId: "d1", by: comment.comment.user.login }]);
    expect(reactions).toEqual(["eyes", "rocket"]);
  });

  it("drops a delivery that keeps failing after the last round", async () => {
    const h = createHarness({ maxRounds: 2 });
    mockToken(1);
    nock(API).get("/repos/Codertocat/Hello-World/contents/.do%2Fapp.yaml").query({ ref: HEAD }).twice().reply(500, {});
    await h.probot.receive({ id: "z-1", name: "push", payload: pushExample() } as never);
    await h.worker.idle();
    expect((await h.inbox.list()).map((e) => [e.id, e.attempts])).toEqual([["z-1", 1]]);
    await h.worker.resume();
    await h.worker.idle();
    expect(await h.inbox.list()).toEqual([]);
  });
});

describe("waiting for the commit's other checks", () => {
  useStrictNock();

  // GitHub has opened CI's suite, with no run yet.
  const QUEUED_CI = [{ app: { id: 29310, name: "CI" }, status: "queued", conclusion: null, latest_check_runs_count: 0 }];

  async function gatedPush(h: ReturnType<typeof createHarness>, suitesAtPush: unknown[] = QUEUED_CI) {
    mockToken(1);
    mockSpec("Codertocat/Hello-World", HEAD, specYaml("Codertocat/Hello-World", "master"));
    mockHead("Codertocat/Hello-World", "master", HEAD);
    nock(API)
      .get("/repos/Codertocat/Hello-World/contents/.github%2Fberth.yml")
      .query({ ref: HEAD })
      .reply(200, contentOf("# deploy only what CI passed\nwait_for_checks: true\n"))
      .get(`/repos/Codertocat/Hello-World/commits/${HEAD}/check-suites`)
      .query({ per_page: 100 })
      .reply(200, { total_count: 1, check_suites: suitesAtPush });
    await h.probot.receive({ id: "g-1", name: "push", payload: pushExample() } as never);
    await h.worker.idle();
    expect(await h.inbox.list()).toEqual([]);
  }


  function suiteCompleted(conclusion: string) {
    const p = example<Payload>("check_suite", (x) => x.action === "completed");
    p.installation = { id: 1 };
    p.repository.full_name = "Codertocat/Hello-World";
    p.check_suite.head_sha = HEAD;
    p.check_suite.conclusion = conclusion;
    return p;
  }

  it("deploys at once when the other suites passed before the push reached Berth", async () => {
    const h = createHarness();
    await gatedPush(h, [{ app: { id: 29310, name: "CI" }, status: "completed", conclusion: "success", latest_check_runs_count: 1 }]);
    expect(h.submitted.map((s) => [s.deliveryId, s.intent.kind])).toEqual([["g-1:deploy", "deploy"]]);
  });

  it("deploys once every other suite that ran has passed", async () => {
    const h = createHarness();
    await gatedPush(h);
    expect(h.submitted).toEqual([]);
    nock(API)
      .get(`/repos/Codertocat/Hello-World/commits/${HEAD}/check-suites`)
      .query({ per_page: 100 })
      .reply(200, {
        total_count: 3,
        check_suites: [
          { app: { id: 29310, name: "CI" }, status: "completed", conclusion: "success", latest_check_runs_count: 2 },
          { app: { id: 777, name: "Idle app" }, status: "queued", conclusion: null, latest_check_runs_count: 0 },
          { app: { id: APP_ID, name: "Berth" }, status: "queued", conclusion: null, latest_check_runs_count: 1 },
        ],
      });
    mockHead("Codertocat/Hello-World", "master", HEAD);
    await h.probot.receive({ id: "g-2", name: "check_suite", payload: suiteCompleted("success") } as never);
    await h.worker.idle();
    expect(h.submitted.map((s) => [s.deliveryId, s.intent.kind])).toEqual([["g-1:deploy", "deploy"]]);
  });

  it("drops a waiting deploy whose branch moved on while its checks ran", async () => {
    const h = createHarness();
    await gatedPush(h);
    nock(API)
      .get(`/repos/Codertocat/Hello-World/commits/${HEAD}/check-suites`)
      .query({ per_page: 100 })
      .reply(200, {
        total_count: 1,
        check_suites: [{ app: { id: 29310, name: "CI" }, status: "completed", conclusion: "success", latest_check_runs_count: 2 }],
      });
    mockHead("Codertocat/Hello-World", "master", "f".repeat(40));
    await h.probot.receive({ id: "g-4", name: "check_suite", payload: suiteCompleted("success") } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([]);
    expect(await h.state.get(gateKey(1, "Codertocat/Hello-World", HEAD))).toBeNull();
  });

  it("ends the deployment CANCELED naming the failing suite", async () => {
    const h = createHarness();
    await gatedPush(h);
    expect(h.submitted).toEqual([]);
    nock(API)
      .get(`/repos/Codertocat/Hello-World/commits/${HEAD}/check-suites`)
      .query({ per_page: 100 })
      .reply(200, {
        total_count: 1,
        check_suites: [{ app: { id: 29310, name: "CI" }, status: "completed", conclusion: "failure", latest_check_runs_count: 2 }],
      });
    await h.probot.receive({ id: "g-3", name: "check_suite", payload: suiteCompleted("failure") } as never);
    await h.worker.idle();
    expect(h.submitted.map((s) => s.intent)).toEqual([
      expect.objectContaining({ kind: "deploy", sha: HEAD }),
      {
        kind: "cancel",
        app: { installationId: 1, repository: "Codertocat/Hello-World", environment: "production" },
        deploymentId: "dep-1",
        reason: 'check suite "CI" concluded failure',
      },
    ]);
  });
});

describe("readSettings", () => {
  it("reads wait_for_checks and reports a broken file instead of guessing", () => {
    expect(readSettings("wait_for_checks: true\n")).toEqual({ waitForChecks: true });
    expect(readSettings("")).toEqual({ waitForChecks: false });
    expect(readSettings("other: 1\n")).toEqual({ waitForChecks: false });
    expect(readSettings("wait_for_checks: yes please\n")).toEqual({ problem: 'wait_for_checks must be true or false, found "yes please"' });
    expect(readSettings("- a\n")).toEqual({ problem: "must be a mapping of settings" });
    expect(readSettings("a: [\n")).toMatchObject({ problem: expect.stringContaining("not valid YAML") });
  });
});

describe("check_suite rerequested", () => {
  useStrictNock();

  it("re-runs the spec check and redeploys the newest deployment of each environment in Berth's suite", async () => {
    const { deployment } = await import("../github/kit.js");
    const prod = { installationId: 1, repository: "Codertocat/Hello-World", environment: "production" };
    const h = createHarness({
      deployments: [
        deployment({ id: "old", app: prod, sha: HEAD, branch: "master", createdAt: new Date("2026-01-01") }),
        deployment({ id: "new", app: prod, sha: HEAD, branch: "master", createdAt: new Date("2026-01-02") }),
      ],
    });
    const payload = example<Payload>("check_suite", (p) => p.action === "rerequested");
    payload.check_suite.app.id = APP_ID;
    payload.check_suite.head_sha = HEAD;
    payload.repository.full_name = "Codertocat/Hello-World";
    mockToken(payload.installation.id);
    nock(API)
      .get(`/repos/Codertocat/Hello-World/check-suites/${payload.check_suite.id}/check-runs`)
      .query({ per_page: 100 })
      .reply(200, { total_count: 3, check_runs: [{ external_id: "berth:spec" }, { external_id: "old" }, { external_id: "new" }] });
    mockSpec("Codertocat/Hello-World", HEAD, specYaml("Codertocat/Hello-World", "master"));
    nock(API).post("/repos/Codertocat/Hello-World/check-runs", (b) => b.name === "spec").reply(201, { id: 3 });
    await h.probot.receive({ id: "s-1", name: "check_suite", payload } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([
      {
        deliveryId: "s-1:rerun:production",
        intent: { kind: "deploy", app: prod, branch: "master", sha: HEAD, cause: { type: "manual", by: payload.sender.login } },
      },
    ]);
  });
});

describe("installation", () => {
  useStrictNock();

  it("deploys the deploy branch of each added repository that has a spec", async () => {
    const h = createHarness();
    const payload = example<Payload>("installation", (p) => p.action === "created");
    mockToken(957387);
    nock(API)
      .get("/repos/Codertocat/Hello-World")
      .reply(200, { default_branch: "main", full_name: "Codertocat/Hello-World" })
      .get("/repos/Codertocat/Hello-World/branches/release")
      .reply(200, { name: "release", commit: { sha: "b".repeat(40) } });
    mockSpec("Codertocat/Hello-World", "main", specYaml("Codertocat/Hello-World", "release"));
    await h.probot.receive({ id: "i-1", name: "installation", payload } as never);
    await h.worker.idle();
    expect(h.submitted).toEqual([
      {
        deliveryId: "i-1:install:Codertocat/Hello-World",
        intent: {
          kind: "deploy",
          app: { installationId: 957387, repository: "Codertocat/Hello-World", environment: "production" },
          branch: "release",
          sha: "b".repeat(40),
          cause: { type: "manual", by: "Codertocat" },
        },
      },
    ]);
  });

  it("forgets a deleted installation and stops managing all its apps", async () => {
    const h = createHarness({
      apps: [{ id: "a1", key: { installationId: 2, repository: "octocat/Hello-World", environment: "production" }, branch: "main" }],
    });
    const payload = example<Payload>("installation", (p) => p.action === "deleted");
    // Listed or not, every repository of a deleted installation stops being managed.
    payload.repositories = [{ full_name: "octocat/Other" }];
    await h.probot.receive({ id: "i-3", name: "installation", payload } as never);
    await h.worker.idle();
    expect(h.removedApps.map((a) => a.id)).toEqual(["a1"]);
  });

  it("stops managing removed repositories and leaves them running", async () => {
    const h = createHarness({
      apps: [
        { id: "a1", key: { installationId: 2, repository: "octocat/Hello-World", environment: "production" }, branch: "main" },
        { id: "a2", key: { installationId: 2, repository: "octocat/Other", environment: "production" }, branch: "main" },
      ],
    });
    const payload = example<Payload>("installation_repositories", (p) => p.action === "removed");
    await h.probot.receive({ id: "i-2", name: "installation_repositories", payload } as never);
    await h.worker.idle();
    expect(h.removedApps).toEqual([{ id: "a1", reason: "the GitHub App no longer has access to the repository" }]);
    expect(h.submitted).toEqual([]);
  });
});

describe("check_run", () => {
  useStrictNock();

  it("turns the requested_action buttons into redeploy, forced rebuild and rollback", async () => {
    const { deployment } = await import("../github/kit.js");
    const d = deployment({ id: "dep-7", app: { installationId: 690857, repository: "electron/electron", environment: "production" } });
    const h = createHarness({ deployments: [d] });
    const action = (identifier: string) => {
      const p = example<Payload>("check_run", (x) => x.action === "requested_action");
      p.check_run.app.id = APP_ID;
      p.check_run.external_id = "dep-7";
      p.requested_action.identifier = identifier;
      return p;
    };
    await h.probot.receive({ id: "k-1", name: "check_run", payload: action("redeploy") } as never);
    await h.probot.receive({ id: "k-2", name: "check_run", payload: action("rebuild") } as never);
    await h.probot.receive({ id: "k-3", name: "check_run", payload: action("rollback") } as never);
    const foreign = action("redeploy");
    foreign.check_run.app.id = 999;
    await h.probot.receive({ id: "k-4", name: "check_run", payload: foreign } as never);
    await h.worker.idle();
    expect(h.submitted.map((s) => s.intent)).toEqual([
      { kind: "deploy", app: d.app, branch: "main", sha: d.sha, cause: { type: "manual", by: "codebytere" } },
      { kind: "deploy", app: d.app, branch: "main", sha: d.sha, cause: { type: "force_rebuild", by: "codebytere" }, forceBuild: true },
      { kind: "rollback", app: d.app, toDeploymentId: "dep-7", by: "codebytere" },
    ]);
  });
});
