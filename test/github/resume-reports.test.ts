// A Berth stopped (or killed) after a deployment's final phase was stored, before GitHub accepted the report:
// the next start completes the check run and sends the final deployment status, and only what is missing.
import nock from "nock";
import { describe, expect, it } from "vitest";
import { CheckRunReporter, checkRunDoneKey, checkRunKey } from "../../src/github/check-run-reporter.js";
import { DeploymentReporter, deploymentStateKey, githubDeploymentKey } from "../../src/github/deployment-reporter.js";
import { resumeReports, RESUME_WINDOW_MS } from "../../src/github/resume-reports.js";
import { createRedactor } from "../../src/core/redact.js";
import { InstallationWriteQueue } from "../../src/github/write-queue.js";
import type { DeploymentRecord } from "../../src/core/types.js";
import { API, createTestProbot, deployment, memoryState, mockToken, silentLog, useStrictNock } from "./kit.js";

const NOW = new Date("2026-01-01T12:00:00Z");

function setup() {
  const probot = createTestProbot();
  const state = memoryState();
  const options = {
    auth: (id: number) => probot.auth(id),
    writes: new InstallationWriteQueue(),
    state,
    log: silentLog(),
    redact: createRedactor().redact,
    minIntervalMs: 0,
    retryDelaysMs: [],
  };
  const checkRuns = new CheckRunReporter(options);
  const deployments = new DeploymentReporter(options);
  return { state, checkRuns, deployments, reporters: [checkRuns, deployments] };
}

function storeOf(list: DeploymentRecord[]) {
  return { apps: { list: async () => [{ id: "app-1" }] }, deployments: { list: async () => list } };
}

describe("resumeReports", () => {
  useStrictNock();

  it("completes the check run and sends the final status a stopped Berth left unsent, once", async () => {
    const { state, checkRuns, deployments, reporters } = setup();
    // The last Berth created both and reported BUILDING, then stopped as the deployment went live.
    await state.set(checkRunKey("dep-1"), 555);
    await state.set(githubDeploymentKey("dep-1"), 900);
    await state.set(deploymentStateKey("dep-1"), "in_progress");
    const live = deployment({ phase: "ACTIVE", url: "https://shop.example.com", updatedAt: new Date(NOW.getTime() - 60_000) });
    mockToken(42);
    const checks: { status: string; conclusion?: string }[] = [];
    const statuses: { state: string }[] = [];
    nock(API)
      .patch("/repos/octo/shop/check-runs/555", (b) => (checks.push(b), true))
      .reply(200, { id: 555 })
      .post("/repos/octo/shop/deployments/900/statuses", (b) => (statuses.push(b), true))
      .reply(201, {});

    expect(await resumeReports(storeOf([live]), reporters, silentLog(), NOW)).toBe(1);
    await Promise.all([checkRuns.idle(), deployments.idle()]);
    expect(checks).toMatchObject([{ status: "completed", conclusion: "success" }]);
    expect(statuses.map((s) => s.state)).toEqual(["success"]);
    expect(await state.get(checkRunDoneKey("dep-1"))).toBe(true);
    expect(await state.get(deploymentStateKey("dep-1"))).toBe("success");

    // The next start finds nothing missing: strict nock fails on any request.
    await resumeReports(storeOf([live]), reporters, silentLog(), NOW);
    await Promise.all([checkRuns.idle(), deployments.idle()]);
  });

  it("leaves deployments still running, reported ones, and ones older than the window alone", async () => {
    const { state, checkRuns, deployments, reporters } = setup();
    await state.set(checkRunDoneKey("done"), true);
    await state.set(deploymentStateKey("done"), "failure");
    const list = [
      deployment({ id: "running", phase: "BUILDING", updatedAt: NOW }),
      deployment({ id: "done", phase: "ERROR", updatedAt: NOW }),
      deployment({ id: "old", phase: "ERROR", updatedAt: new Date(NOW.getTime() - RESUME_WINDOW_MS - 1) }),
    ];
    expect(await resumeReports(storeOf(list), reporters, silentLog(), NOW)).toBe(2);
    await Promise.all([checkRuns.idle(), deployments.idle()]);
  });
});
