// Berth end to end: `npm start` against the fake GitHub, the real Docker engine and the router. One Berth and
// one repository for the whole file; tests run in order and each pushes its own commit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages } from "../helpers/docker-images.js";
import { dockerUnavailable } from "../helpers/services.js";
import {
  checkSuiteEvent,
  issueCommentEvent,
  pullRequestEvent,
  pushEvent,
  sendWebhook,
  startFakeGitHub,
  type Commit,
  type Deployment,
  type FakeGitHub,
  type PullRequest,
} from "../fake-github/index.js";
import { BerthProcess, DockerJanitor, getPublicUrl, SECRET_VALUE, testRepositoryFiles, uniqueName } from "./harness.js";

const SECRET = "e2e-webhook-secret";
const OWNER = "acme";
const DEPLOY_TIMEOUT = 180_000;
const STATE_ORDER = ["queued", "in_progress", "success"];

// Each test waits on real builds and rollouts, slower on a loaded machine than vitest's default 30 s allows.
describe.skipIf(dockerUnavailable())("Berth end to end (Docker)", { timeout: 240_000 }, () => {
  const name = uniqueName("e2e");
  const repository = `${OWNER}/${name}`;
  const janitor = new DockerJanitor(name);
  let fake: FakeGitHub;
  let berth: BerthProcess | undefined;
  let baseImage: string;

  beforeAll(async () => {
    baseImage = ensureTestImages().node;
    fake = await startFakeGitHub();
    fake.state.addRepository({ owner: OWNER, name, files: testRepositoryFiles(name, repository, "v1", baseImage) });
    fake.state.addInstallation(OWNER, [repository]);
    // Catch-up stays off until its own test, so it cannot race the webhook tests.
    berth = await BerthProcess.start(fake, { webhookSecret: SECRET });
  }, 120_000);

  afterAll(async () => {
    try {
      await berth?.stop();
    } finally {
      janitor.cleanup();
      await fake?.close();
    }
  }, 60_000);

  /** A commit of the test app at `version` (and without the wait_for_checks setting a test may have added). */
  function push(version: string): Commit {
    const files = { ...testRepositoryFiles(name, repository, version, baseImage), ".github/berth.yml": null };
    return fake.state.push(repository, "main", files, { message: `release ${version}` });
  }

  async function deliverPush(commit: Commit, delivery?: string) {
    return sendWebhook(berth!.webhookUrl, { event: "push", payload: pushEvent(fake, repository, "main", commit), secret: SECRET, delivery });
  }

  /** The GitHub deployment for `sha` once its latest status is final; fails if that status is not success. */
  async function deployed(sha: string, environment = "production"): Promise<Deployment> {
    const deployment = await fake.until(
      () =>
        fake.state.deployments.find(
          (d) => d.sha === sha && d.environment === environment && ["success", "failure", "error"].includes(d.statuses.at(-1)?.state ?? ""),
        ),
      `a final deployment status for ${sha.slice(0, 7)} in ${environment}`,
      DEPLOY_TIMEOUT,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nBerth's last output:\n${berth!.output.slice(-60).join("\n")}`);
    });
    janitor.note();
    const errors = () => berth!.output.filter((l) => /"level":(50|60)/.test(l)).slice(-10).join("\n");
    expect(deployment.statuses.at(-1), `deployment ${deployment.id}: ${JSON.stringify(deployment.statuses)}\nBerth's errors:\n${errors()}`).toMatchObject({
      state: "success",
    });
    return deployment;
  }

  /** Every check run Berth made on `sha`, once all are completed. */
  async function checkRunsDone(sha: string) {
    return fake.until(
      () => {
        const runs = fake.state.checkRuns.filter((r) => r.headSha === sha);
        return runs.length > 0 && runs.every((r) => r.status === "completed") && runs;
      },
      `completed check runs on ${sha.slice(0, 7)}`,
      DEPLOY_TIMEOUT,
    );
  }

  it("refuses a delivery with a bad signature and does no work for it", async () => {
    const commit = push("v0-unsigned");
    const next = push("v1");
    const answer = await sendWebhook(berth!.webhookUrl, {
      event: "push",
      payload: pushEvent(fake, repository, "main", commit),
      secret: "not-the-secret",
    });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    // The next, signed push is handled; by then nothing may exist for the refused one.
    expect((await deliverPush(next)).status).toBeLessThan(300);
    await deployed(next.sha);
    expect(fake.state.deployments.filter((d) => d.sha === commit.sha)).toEqual([]);
    expect(fake.state.checkRuns.filter((r) => r.headSha === commit.sha)).toEqual([]);
  });

  it("deploys a signed push: check run success, deployment statuses in order, app live at environment_url", async () => {
    const commit = push("v2");
    const answer = await deliverPush(commit);
    expect(answer.status).toBeLessThan(300);
    const deployment = await deployed(commit.sha);

    const states = deployment.statuses.map((s) => s.state);
    expect(states).toEqual(["queued", "in_progress", "success"]);
    expect(states.map((s) => STATE_ORDER.indexOf(s))).toEqual([...states.map((s) => STATE_ORDER.indexOf(s))].sort());
    const success = deployment.statuses.at(-1)!;
    expect(success.environmentUrl).toMatch(/^http:\/\//);

    const runs = await checkRunsDone(commit.sha);
    expect(runs.map((r) => [r.name, r.conclusion])).toEqual(runs.map((r) => [r.name, "success"]));
    expect(runs.flatMap((r) => r.history).map((h) => h.status)).toContain("in_progress");

    const reply = await getPublicUrl(success.environmentUrl);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ version: "v2", greeting: "hello from berth", hasSecret: true });

    // The secret's value reaches the app, never GitHub.
    const written = JSON.stringify(fake.requests.map((r) => r.body));
    expect(written).not.toContain(SECRET_VALUE);
  });

  it("deploys a delivery sent twice only once", async () => {
    const commit = push("v3");
    const delivery = `dup-${commit.sha.slice(0, 8)}`;
    const [first, second] = [await deliverPush(commit, delivery), await deliverPush(commit, delivery)];
    expect(first.status).toBeLessThan(300);
    expect(second.status).toBeLessThan(300);
    await deployed(commit.sha);
    // A later push is deployed after anything the duplicate could have started (one app deploys serially).
    const later = push("v4");
    await deliverPush(later);
    await deployed(later.sha);
    expect(fake.state.deployments.filter((d) => d.sha === commit.sha)).toHaveLength(1);
  });

  it("still reports when GitHub answers 502 before succeeding", async () => {
    fake.failNext(1, { operationId: "repos/create-deployment-status" });
    fake.failNext(1, { operationId: "checks/update" });
    const commit = push("v5");
    await deliverPush(commit);
    const deployment = await deployed(commit.sha);
    const runs = await checkRunsDone(commit.sha);
    expect(runs.every((r) => r.conclusion === "success")).toBe(true);
    const failed = fake.requests.filter((r) => r.status === 502).map((r) => r.operationId);
    expect(failed).toEqual(expect.arrayContaining(["repos/create-deployment-status", "checks/update"]));
    expect(deployment.statuses.at(-1)!.environmentUrl).toMatch(/^http:\/\//);
  });

  /** What production answers now, through the router. */
  async function production(): Promise<unknown> {
    const live = fake.state.deployments.filter((d) => d.environment === "production" && d.statuses.at(-1)?.state === "success").at(-1);
    expect(live, "a production deployment GitHub shows as live").toBeDefined();
    const reply = await getPublicUrl(live!.statuses.at(-1)!.environmentUrl);
    expect(reply.status).toBe(200);
    return JSON.parse(reply.body);
  }

  it("reports an invalid spec on its check run with the line, deploys nothing, and keeps the app serving", async () => {
    const before = await production();
    const files = testRepositoryFiles(name, repository, "v-bad-spec", baseImage);
    const commit = fake.state.push(repository, "main", { ...files, ".do/app.yaml": files[".do/app.yaml"]!.replace("http_port: 8080", "http_port: eighty") });
    await deliverPush(commit);
    const runs = await checkRunsDone(commit.sha);
    const failed = runs.filter((r) => r.conclusion === "failure");
    expect(failed.length, JSON.stringify(runs.map((r) => [r.name, r.conclusion, r.output.title]))).toBeGreaterThan(0);
    const annotations = failed.flatMap((r) => r.annotations) as Array<{ path: string; start_line: number; annotation_level: string }>;
    const portLine = files[".do/app.yaml"]!.split("\n").findIndex((l) => l.includes("http_port")) + 1;
    expect(annotations).toContainEqual(expect.objectContaining({ path: ".do/app.yaml", start_line: portLine, annotation_level: "failure" }));
    expect(fake.state.deployments.filter((d) => d.sha === commit.sha && d.statuses.at(-1)?.state === "success")).toEqual([]);
    expect(await production()).toEqual(before);
  });

  it("fails a rollout whose app never becomes healthy, and the previous deployment keeps serving", async () => {
    const before = await production();
    const files = testRepositoryFiles(name, repository, "v-crash", baseImage);
    const commit = fake.state.push(repository, "main", { ...files, "server.js": 'console.error("boom"); process.exit(3);\n' });
    await deliverPush(commit);
    const deployment = await fake.until(
      () => fake.state.deployments.find((d) => d.sha === commit.sha && ["success", "failure", "error"].includes(d.statuses.at(-1)?.state ?? "")),
      `a final deployment status for the crashing ${commit.sha.slice(0, 7)}`,
      DEPLOY_TIMEOUT,
    );
    janitor.note();
    expect(deployment.statuses.at(-1)!.state).toBe("failure");
    const runs = await checkRunsDone(commit.sha);
    expect(runs.map((r) => r.conclusion)).toContain("failure");
    expect(await production()).toEqual(before);
  });

  // Runs while catch-up is off: a catch-up tick landing between the push and the worker recording the gate
  // deploys the commit without waiting for the checks (reported as a gap).
  it("with wait_for_checks, cancels the deploy of a commit another app's checks failed and deploys one they passed", async () => {
    const before = await production();
    const settings = { ".github/berth.yml": "wait_for_checks: true\n" };
    const failing = fake.state.push(repository, "main", { ...testRepositoryFiles(name, repository, "v8-ci-failed", baseImage), ...settings });
    await deliverPush(failing);
    const failedSuite = fake.state.addCheckSuite(repository, failing.sha, { appName: "Other CI", status: "completed", conclusion: "failure" });
    await sendWebhook(berth!.webhookUrl, { event: "check_suite", payload: checkSuiteEvent(fake, failedSuite), secret: SECRET });
    const canceled = await fake.until(
      () => fake.state.deployments.find((d) => d.sha === failing.sha && ["success", "failure", "error"].includes(d.statuses.at(-1)?.state ?? "")),
      "the canceled deployment of the commit whose CI failed",
      DEPLOY_TIMEOUT,
    );
    expect(canceled.statuses.at(-1)!.state).toBe("error");
    expect(canceled.statuses.at(-1)!.description).toContain("Other CI");
    expect(await production()).toEqual(before);

    const passing = fake.state.push(repository, "main", testRepositoryFiles(name, repository, "v9-ci-passed", baseImage));
    await deliverPush(passing);
    const passedSuite = fake.state.addCheckSuite(repository, passing.sha, { appName: "Other CI", status: "completed", conclusion: "success" });
    await sendWebhook(berth!.webhookUrl, { event: "check_suite", payload: checkSuiteEvent(fake, passedSuite), secret: SECRET });
    await deployed(passing.sha);
    expect(await production()).toMatchObject({ version: "v9-ci-passed" });
  });

  let previewUrl: string | undefined;
  let previewPull: PullRequest | undefined;

  it("builds a fork's pull request only after a maintainer's /berth preview", async () => {
    fake.state.addRepository({ owner: "mallory", name, files: testRepositoryFiles(name, repository, "fork", baseImage), fork: true });
    const fork = fake.state.push(`mallory/${name}`, "feature", testRepositoryFiles(name, repository, "fork-change", baseImage));
    const pull = fake.state.openPullRequest(repository, { headRepo: `mallory/${name}`, headRef: "feature", user: "mallory" });
    const opened = await sendWebhook(berth!.webhookUrl, { event: "pull_request", payload: pullRequestEvent(fake, repository, pull), secret: SECRET });
    expect(opened.status).toBeLessThan(300);
    const onPull = (text: string) => () =>
      fake.state.comments.find((c) => c.issueNumber === pull.number && c.user === fake.state.botLogin && c.body.includes(text));
    await fake.until(onPull("/berth preview"), "Berth's note that a fork needs a maintainer's /berth preview", 60_000);

    // The fork's author may not ask for it: Berth answers with 👎 and builds nothing.
    const stranger = issueCommentEvent(fake, repository, pull, "mallory", "/berth preview");
    await sendWebhook(berth!.webhookUrl, { event: "issue_comment", payload: stranger.payload, secret: SECRET });
    await fake.until(
      () => fake.state.reactions.find((r) => r.subject.id === stranger.comment.id && r.content === "-1"),
      "a 👎 on the fork author's /berth preview",
      60_000,
    );
    const beforeMaintainer = fake.requests.length;

    const maintainer = issueCommentEvent(fake, repository, pull, OWNER, "/berth preview");
    const answer = await sendWebhook(berth!.webhookUrl, { event: "issue_comment", payload: maintainer.payload, secret: SECRET });
    expect(answer.status).toBeLessThan(300);
    const preview = await deployed(fork.sha, `pr-${pull.number}`);
    expect(preview.transientEnvironment).toBe(true);

    const firstDeployment = fake.requests.findIndex(
      (r) => r.operationId === "repos/create-deployment" && JSON.stringify(r.body).includes(fork.sha),
    );
    expect(firstDeployment).toBeGreaterThanOrEqual(beforeMaintainer);

    previewUrl = preview.statuses.at(-1)!.environmentUrl;
    previewPull = pull;
    const reply = await getPublicUrl(previewUrl);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ version: "fork-change" });
  });

  it("gives a fork's preview no SECRET env", async ({ skip }) => {
    if (!previewUrl) skip("the fork preview test above did not deploy");
    const reply = await getPublicUrl(previewUrl!);
    expect(JSON.parse(reply.body)).toMatchObject({ hasSecret: false });
  });

  it("tears a preview down when its pull request closes: GitHub shows it inactive and the router stops serving it", async ({ skip }) => {
    if (!previewPull || !previewUrl) skip("the fork preview test above did not deploy");
    const pull = previewPull!;
    pull.state = "closed";
    const closed = await sendWebhook(berth!.webhookUrl, { event: "pull_request", payload: pullRequestEvent(fake, repository, pull, "closed"), secret: SECRET });
    expect(closed.status).toBeLessThan(300);
    await fake.until(
      () => fake.state.deployments.find((d) => d.environment === `pr-${pull.number}` && d.statuses.at(-1)?.state === "inactive"),
      "the preview's deployment marked inactive",
      DEPLOY_TIMEOUT,
    );
    expect((await getPublicUrl(previewUrl!)).status).toBe(404);
    expect(await production()).toMatchObject({ greeting: "hello from berth" });
  });

  it("deploys pushes whose deliveries never arrived: at start after a restart, and at each catch-up", async () => {
    const { killed } = await berth!.stop({ keepData: true });
    expect(killed, `Berth did not exit on SIGTERM:\n${berth!.output.slice(-30).join("\n")}`).toBe(false);
    const whileDown = push("v6-while-down");
    berth = await BerthProcess.start(fake, { webhookSecret: SECRET, catchUpInterval: "2s", restartOf: berth });
    const first = await deployed(whileDown.sha);
    expect(JSON.parse((await getPublicUrl(first.statuses.at(-1)!.environmentUrl)).body)).toMatchObject({ version: "v6-while-down" });

    const missed = push("v7-missed");
    const second = await deployed(missed.sha);
    expect(JSON.parse((await getPublicUrl(second.statuses.at(-1)!.environmentUrl)).body)).toMatchObject({ version: "v7-missed" });
  });

  // Last two: they cover every request the tests above made Berth send.
  it("sent GitHub only requests its API description accepts, and got answers in GitHub's shapes", () => {
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(fake.invalidRequests().map((r) => `${r.method} ${r.path} → ${r.status}: ${r.error}`)).toEqual([]);
    expect(fake.responseProblems).toEqual([]);
  });

  it("never wrote a secret to GitHub: not the SECRET env, the webhook secret, the app key or an installation token", () => {
    const written = JSON.stringify(fake.requests.map((r) => r.body));
    for (const secret of [SECRET_VALUE, SECRET, ...fake.state.tokens.keys()]) expect(written).not.toContain(secret);
    const keyLine = fake.privateKey.split("\n").find((l) => l.length > 40)!;
    expect(written).not.toContain(keyLine);
  });
});
