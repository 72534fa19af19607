import nock from "nock";
import { describe, expect, it } from "vitest";
import { PreviewCommentReporter, previewCommentKey } from "../../src/github/preview-comment-reporter.js";
import { createRedactor } from "../../src/core/redact.js";
import { InstallationWriteQueue } from "../../src/github/write-queue.js";
import { API, createTestProbot, deployment, memoryState, mockToken, silentLog, useStrictNock } from "./kit.js";

const app = { installationId: 42, repository: "octo/shop", environment: "pr-7" };

function setup() {
  const probot = createTestProbot();
  const state = memoryState();
  const reporter = new PreviewCommentReporter({
    auth: (id) => probot.auth(id),
    writes: new InstallationWriteQueue(),
    state,
    log: silentLog(),
    redact: createRedactor().redact,
    minIntervalMs: 0,
    retryDelaysMs: [],
  });
  return { reporter, state };
}

describe("PreviewCommentReporter", () => {
  useStrictNock();

  it("posts one comment and then edits it, never repeating it", async () => {
    const { reporter, state } = setup();
    mockToken(42);
    const bodies: string[] = [];
    nock(API)
      .post("/repos/octo/shop/issues/7/comments", (b) => (bodies.push(b.body), true))
      .reply(201, { id: 31 })
      .patch("/repos/octo/shop/issues/comments/31", (b) => (bodies.push(b.body), true))
      .reply(200, { id: 31 });
    reporter.onEvent({ type: "deployment.created", deployment: deployment({ app, branch: "feature" }) });
    await reporter.idle();
    const live = deployment({ app, branch: "feature", phase: "ACTIVE", url: "http://shop-pr-7.localhost:8080" });
    reporter.onEvent({ type: "deployment.phase", deployment: live, phase: "ACTIVE", was: "DEPLOYING" });
    // The same state again changes nothing on GitHub.
    reporter.onEvent({ type: "deployment.phase", deployment: live, phase: "ACTIVE", was: "ACTIVE" });
    await reporter.idle();
    expect(bodies).toEqual([
      "<!-- berth:preview -->\n### Berth preview\n\n| | |\n|---|---|\n| Status | ⏳ Queued |\n| Commit | `0123456` |",
      "<!-- berth:preview -->\n### Berth preview\n\n| | |\n|---|---|\n| Status | ✅ Live |\n| Commit | `0123456` |\n| Preview | http://shop-pr-7.localhost:8080 |",
    ]);
    expect(await state.get(previewCommentKey(42, "octo/shop", 7))).toMatchObject({ id: 31 });
  });

  it("ignores production deployments and says when a preview is torn down", async () => {
    const { reporter, state } = setup();
    await state.set(previewCommentKey(42, "octo/shop", 7), { id: 31, body: "old" });
    mockToken(42);
    nock(API)
      .patch("/repos/octo/shop/issues/comments/31", (b) => b.body.endsWith("The preview was torn down (pull request #7 closed)."))
      .reply(200, { id: 31 });
    reporter.onEvent({ type: "deployment.created", deployment: deployment() });
    reporter.onEvent({ type: "app.removed", app, reason: "pull request #7 closed" });
    await reporter.idle();
  });

  it("says when the spec's custom domains are not served for the preview", async () => {
    const { reporter } = setup();
    mockToken(42);
    const bodies: string[] = [];
    nock(API)
      .post("/repos/octo/shop/issues/7/comments", (b) => (bodies.push(b.body), true))
      .reply(201, { id: 32 });
    const note = "custom domains are not served for previews (shop.example.com)";
    const live = deployment({
      app,
      branch: "feature",
      phase: "ACTIVE",
      url: "http://shop-pr-7.localhost:8080",
      steps: [{ name: "source", status: "SUCCESS" }, { name: "spec", status: "SUCCESS", message: note }],
    });
    reporter.onEvent({ type: "deployment.phase", deployment: live, phase: "ACTIVE", was: "DEPLOYING" });
    await reporter.idle();
    expect(bodies).toEqual([
      "<!-- berth:preview -->\n### Berth preview\n\n| | |\n|---|---|\n| Status | ✅ Live |\n| Commit | `0123456` |\n" +
        `| Preview | http://shop-pr-7.localhost:8080 |\n| Note | ${note} |`,
    ]);
  });
});
