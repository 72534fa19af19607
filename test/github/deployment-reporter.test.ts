import nock from "nock";
import { describe, expect, it } from "vitest";
import { DeploymentReporter, environmentKey, githubDeploymentKey } from "../../src/github/deployment-reporter.js";
import { createRedactor } from "../../src/core/redact.js";
import { InstallationWriteQueue } from "../../src/github/write-queue.js";
import { API, createTestProbot, deployment, memoryState, mockToken, SHA, silentLog, useStrictNock } from "./kit.js";

function setup() {
  const probot = createTestProbot();
  const state = memoryState();
  const reporter = new DeploymentReporter({
    auth: (id) => probot.auth(id),
    writes: new InstallationWriteQueue(),
    state,
    log: silentLog(),
    redact: createRedactor().redact,
    detailsUrl: (id) => `https://berth.example.com/deployments/${id}`,
    minIntervalMs: 0,
    retryDelaysMs: [1],
  });
  return { reporter, state };
}

describe("DeploymentReporter", () => {
  useStrictNock();

  it("creates a GitHub deployment and follows the phases with statuses, retiring the one it replaces", async () => {
    const { reporter, state } = setup();
    const app = { installationId: 42, repository: "octo/shop", environment: "production" };
    await state.set(environmentKey(app), 700);
    mockToken(42);
    const sent: unknown[] = [];
    const record = (path: string) => (b: unknown) => (sent.push([path, b]), true);
    nock(API)
      .post("/repos/octo/shop/deployments", record("create"))
      .reply(201, { id: 900 })
      .post("/repos/octo/shop/deployments/900/statuses", record("900"))
      .times(3)
      .reply(201, {})
      .post("/repos/octo/shop/deployments/700/statuses", record("700"))
      .reply(201, {});

    reporter.onEvent({ type: "deployment.created", deployment: deployment() });
    await reporter.idle();
    reporter.onEvent({ type: "deployment.phase", deployment: deployment({ phase: "BUILDING" }), phase: "BUILDING", was: "PENDING_BUILD" });
    // Both arrive before the send: the latest state wins.
    reporter.onEvent({ type: "deployment.phase", deployment: deployment({ phase: "DEPLOYING" }), phase: "DEPLOYING", was: "BUILDING" });
    await reporter.idle();
    const live = deployment({ phase: "ACTIVE", url: "http://shop.localhost:8080" });
    reporter.onEvent({ type: "deployment.phase", deployment: live, phase: "ACTIVE", was: "DEPLOYING" });
    await reporter.idle();

    expect(sent).toEqual([
      [
        "create",
        {
          ref: SHA,
          environment: "production",
          description: "Berth deployment dep-1 of main",
          auto_merge: false,
          required_contexts: [],
          transient_environment: false,
          production_environment: true,
          payload: { berth_deployment_id: "dep-1" },
        },
      ],
      ["900", { state: "queued", description: "PENDING_BUILD", log_url: "https://berth.example.com/deployments/dep-1" }],
      ["900", { state: "in_progress", description: "DEPLOYING", log_url: "https://berth.example.com/deployments/dep-1" }],
      [
        "900",
        {
          state: "success",
          description: "Live at http://shop.localhost:8080",
          environment_url: "http://shop.localhost:8080",
          log_url: "https://berth.example.com/deployments/dep-1",
        },
      ],
      ["700", { state: "inactive", description: "Replaced by a newer deployment" }],
    ]);
    expect(await state.get(githubDeploymentKey("dep-1"))).toBe(900);
    expect(await state.get(environmentKey(app))).toBe(900);
  });

  it("marks a preview transient, reports failure with the reason, and retires it when torn down", async () => {
    const { reporter, state } = setup();
    const app = { installationId: 42, repository: "octo/shop", environment: "pr-7" };
    mockToken(42);
    const sent: unknown[] = [];
    nock(API)
      .post("/repos/octo/shop/deployments", (b) => (sent.push(b), true))
      .reply(201, { id: 1 })
      .post("/repos/octo/shop/deployments/1/statuses", (b) => (sent.push(b), true))
      .times(4)
      .reply(201, {});
    const failed = deployment({ app, branch: "feature", phase: "ERROR", message: "rollout web: health check failed" });
    reporter.onEvent({ type: "deployment.phase", deployment: failed, phase: "ERROR", was: "DEPLOYING" });
    await reporter.idle();
    expect(sent[0]).toMatchObject({ environment: "pr-7", transient_environment: true, production_environment: false });
    // Coalesced straight to ERROR, the GitHub deployment still reads queued → in_progress → failure.
    expect(sent.slice(1).map((b) => (b as { state: string }).state)).toEqual(["queued", "in_progress", "failure"]);
    expect(sent[3]).toMatchObject({ state: "failure", description: "ERROR: rollout web: health check failed" });

    await state.set(environmentKey(app), 1);
    reporter.onEvent({ type: "app.removed", app, reason: "pull request #7 closed" });
    await reporter.idle();
    expect(sent[4]).toEqual({ state: "inactive", description: "Preview torn down" });
    expect(await state.get(environmentKey(app))).toBeNull();
  });

  it("retries a status GitHub answered with a 5xx without creating a second deployment", async () => {
    const { reporter, state } = setup();
    await state.set(githubDeploymentKey("dep-1"), 900);
    mockToken(42);
    nock(API)
      .post("/repos/octo/shop/deployments/900/statuses")
      .reply(503, { message: "unavailable" })
      .post("/repos/octo/shop/deployments/900/statuses", { state: "queued", description: "PENDING_BUILD", log_url: "https://berth.example.com/deployments/dep-1" })
      .reply(201, {});
    reporter.onEvent({ type: "deployment.created", deployment: deployment() });
    await reporter.idle();
  });
});
