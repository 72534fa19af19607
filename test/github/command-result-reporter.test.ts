import nock from "nock";
import { describe, expect, it } from "vitest";
import { CommandResultReporter, commandResultKey } from "../../src/github/command-result-reporter.js";
import { InstallationWriteQueue } from "../../src/github/write-queue.js";
import type { CommandOrigin } from "../../src/core/ports.js";
import type { DeploymentRecord } from "../../src/core/types.js";
import { API, createTestProbot, deployment, memoryState, mockToken, silentLog, useStrictNock } from "./kit.js";

const prOrigin: CommandOrigin = {
  installationId: 42,
  repository: "octo/shop",
  on: { kind: "pull_request", number: 7 },
  commentId: 99,
  by: "maintainer",
  command: "restart",
};

function setup(current: DeploymentRecord | undefined) {
  const probot = createTestProbot();
  const state = memoryState();
  const reporter = new CommandResultReporter({
    auth: (id) => probot.auth(id),
    writes: new InstallationWriteQueue(),
    state,
    log: silentLog(),
    redact: (s) => s,
    retryDelaysMs: [],
    getDeployment: async () => current,
  });
  return { reporter, state };
}

describe("CommandResultReporter", () => {
  useStrictNock();

  it("tells the pull request how the command's deployment ended, once", async () => {
    const { reporter, state } = setup(deployment({ phase: "DEPLOYING" }));
    await reporter.watch("dep-1", prOrigin);
    mockToken(42);
    const bodies: string[] = [];
    nock(API)
      .post("/repos/octo/shop/issues/7/comments", (b) => (bodies.push(b.body), true))
      .reply(201, { id: 1 });
    const failed = deployment({ phase: "ERROR", message: "rollout web: health check failed" });
    reporter.onEvent({ type: "deployment.phase", deployment: failed, phase: "ERROR", was: "DEPLOYING" });
    await reporter.idle();
    reporter.onEvent({ type: "deployment.phase", deployment: failed, phase: "ERROR", was: "ERROR" });
    await reporter.idle();
    expect(bodies).toEqual(["@maintainer `/berth restart` (deployment `dep-1`) ❌ failed: rollout web: health check failed"]);
    expect(await state.get(commandResultKey("dep-1"))).toBeNull();
  });

  it("answers at once when the deployment ended before the command's origin was stored", async () => {
    const { reporter } = setup(deployment({ phase: "ACTIVE", url: "http://shop.localhost:8080" }));
    mockToken(42);
    nock(API)
      .post("/repos/octo/shop/issues/7/comments", { body: "@maintainer `/berth restart` (deployment `dep-1`) ✅ done: live at http://shop.localhost:8080" })
      .reply(201, { id: 1 });
    await reporter.watch("dep-1", prOrigin);
    await reporter.idle();
  });

  it("reacts on a commit comment and ignores deployments nobody asked about", async () => {
    const { reporter } = setup(deployment({ phase: "BUILDING" }));
    await reporter.watch("dep-1", { ...prOrigin, on: { kind: "commit", sha: "abc" } });
    mockToken(42);
    nock(API).post("/repos/octo/shop/comments/99/reactions", { content: "hooray" }).reply(201, {});
    reporter.onEvent({ type: "deployment.phase", deployment: deployment({ id: "other", phase: "ACTIVE" }), phase: "ACTIVE", was: "DEPLOYING" });
    reporter.onEvent({ type: "deployment.phase", deployment: deployment({ phase: "ACTIVE" }), phase: "ACTIVE", was: "DEPLOYING" });
    await reporter.idle();
  });
});
