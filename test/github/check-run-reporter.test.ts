import nock from "nock";
import { describe, expect, it } from "vitest";
import { CheckRunReporter, checkRunKey } from "../../src/github/check-run-reporter.js";
import { clipTail, OUTPUT_LIMIT } from "../../src/github/check-run-body.js";
import { createRedactor } from "../../src/core/redact.js";
import { InstallationWriteQueue } from "../../src/github/write-queue.js";
import type { DeploymentRecord, StepRecord } from "../../src/core/types.js";
import { API, createTestProbot, deployment, memoryState, mockToken, SHA, silentLog, TOKEN, useStrictNock } from "./kit.js";

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s));

function setup(options: { retryDelaysMs?: number[]; readLog?: (id: string, step: string) => Promise<{ text: string }[]> } = {}) {
  const probot = createTestProbot();
  const state = memoryState();
  const reporter = new CheckRunReporter({
    auth: (id) => probot.auth(id),
    writes: new InstallationWriteQueue(),
    state,
    log: silentLog(),
    redact: createRedactor([TOKEN, "hunter2-secret"]).redact,
    detailsUrl: (id) => `https://berth.example.com/deployments/${id}`,
    minIntervalMs: 0,
    retryDelaysMs: options.retryDelaysMs ?? [],
    readLog: options.readLog,
  });
  return { reporter, state };
}

describe("CheckRunReporter", () => {
  useStrictNock();

  it("creates the check run queued, with Berth's deployment id and details URL", async () => {
    const { reporter, state } = setup();
    mockToken(42);
    const bodies: unknown[] = [];
    nock(API)
      .post("/repos/octo/shop/check-runs", (b) => (bodies.push(b), true))
      .reply(201, { id: 555 });
    reporter.onEvent({ type: "deployment.created", deployment: deployment() });
    await reporter.idle();
    expect(bodies).toEqual([
      {
        name: "Berth (production)",
        head_sha: SHA,
        external_id: "dep-1",
        status: "queued",
        started_at: "2026-01-01T10:00:00.000Z",
        details_url: "https://berth.example.com/deployments/dep-1",
        output: {
          title: "Queued: 0123456",
          summary: "**PENDING_BUILD** → BUILDING → PENDING_DEPLOY → DEPLOYING → ACTIVE\n\nCommit `0123456` on `main`, deployment `dep-1`.",
        },
      },
    ]);
    expect(await state.get(checkRunKey("dep-1"))).toBe(555);
  });

  it("coalesces a burst of updates into one, then completes with the failing step's redacted log tail", async () => {
    const { reporter, state } = setup();
    await state.set(checkRunKey("dep-1"), 555);
    mockToken(42);
    const bodies: Record<string, unknown>[] = [];
    nock(API)
      .patch("/repos/octo/shop/check-runs/555", (b) => (bodies.push(b), true))
      .twice()
      .reply(200, { id: 555 });

    const build: StepRecord = { name: "build api", component: "api", status: "RUNNING", startedAt: t(0) };
    const d = (phase: DeploymentRecord["phase"], steps: StepRecord[], extra: Partial<DeploymentRecord> = {}) =>
      deployment({ phase, steps, updatedAt: t(30), ...extra });
    reporter.onEvent({ type: "deployment.phase", deployment: d("BUILDING", []), phase: "BUILDING", was: "PENDING_BUILD" });
    reporter.onEvent({ type: "deployment.step", deployment: d("BUILDING", [build]), step: build });
    reporter.onEvent({ type: "deployment.log", deploymentId: "dep-1", step: "build api", line: "npm ERR! token hunter2-secret" });
    reporter.onEvent({ type: "deployment.log", deploymentId: "dep-1", step: "build api", line: "exit 1" });
    await reporter.idle();

    const failed: StepRecord = { ...build, status: "ERROR", endedAt: t(75), message: "npm run build exited with 1" };
    reporter.onEvent({
      type: "deployment.phase",
      deployment: d("ERROR", [failed], { message: "build api failed: npm run build exited with 1" }),
      phase: "ERROR",
      was: "BUILDING",
    });
    await reporter.idle();

    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toEqual({
      status: "in_progress",
      details_url: "https://berth.example.com/deployments/dep-1",
      output: {
        title: "Building 0123456",
        summary:
          "~~PENDING_BUILD~~ → **BUILDING** → PENDING_DEPLOY → DEPLOYING → ACTIVE\n\nCommit `0123456` on `main`, deployment `dep-1`.\n\n" +
          "| Step | Status | Time | Detail |\n|---|---|---|---|\n| 🔄 build api | RUNNING | 0s |  |",
      },
    });
    expect(bodies[1]).toEqual({
      status: "completed",
      conclusion: "failure",
      completed_at: "2026-01-01T10:00:30.000Z",
      details_url: "https://berth.example.com/deployments/dep-1",
      actions: [
        { label: "Redeploy", description: "Deploy this commit again", identifier: "redeploy" },
        { label: "Force rebuild", description: "Rebuild every image without cache", identifier: "rebuild" },
      ],
      output: {
        title: "Failed: build api failed: npm run build exited with 1",
        summary:
          "PENDING_BUILD → BUILDING → PENDING_DEPLOY → DEPLOYING → ACTIVE → **ERROR**\n\nCommit `0123456` on `main`, deployment `dep-1`.\n\n" +
          "> build api failed: npm run build exited with 1\n\n" +
          "| Step | Status | Time | Detail |\n|---|---|---|---|\n| ❌ build api | ERROR | 1m 15s | npm run build exited with 1 |",
        text: "Last lines of build api:\n\n```\nnpm ERR! token [REDACTED]\nexit 1\n```",
      },
    });
  });

  it("reports success with the live URL and a rollback button, and leaves the run alone once superseded", async () => {
    const { reporter, state } = setup();
    await state.set(checkRunKey("dep-1"), 555);
    mockToken(42);
    const bodies: Record<string, unknown>[] = [];
    nock(API)
      .patch("/repos/octo/shop/check-runs/555", (b) => (bodies.push(b), true))
      .reply(200, { id: 555 });
    const active = deployment({ phase: "ACTIVE", url: "http://shop.localhost:8080", updatedAt: t(40) });
    reporter.onEvent({ type: "deployment.phase", deployment: active, phase: "ACTIVE", was: "DEPLOYING" });
    await reporter.idle();
    reporter.onEvent({ type: "deployment.phase", deployment: { ...active, phase: "SUPERSEDED" }, phase: "SUPERSEDED", was: "ACTIVE" });
    await reporter.idle();
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({
      status: "completed",
      conclusion: "success",
      output: { title: "Live at http://shop.localhost:8080" },
      actions: [{ identifier: "redeploy" }, { identifier: "rebuild" }, { identifier: "rollback" }],
    });
  });

  it("maps superseded and canceled to cancelled and timeouts to timed_out", async () => {
    const { reporter, state } = setup();
    await state.set(checkRunKey("a"), 1);
    await state.set(checkRunKey("b"), 2);
    mockToken(42);
    const seen: Record<string, unknown> = {};
    nock(API)
      .patch("/repos/octo/shop/check-runs/1", (b) => ((seen.a = b.conclusion), true))
      .reply(200, {})
      .patch("/repos/octo/shop/check-runs/2", (b) => ((seen.b = b.conclusion), true))
      .reply(200, {});
    reporter.onEvent({ type: "deployment.phase", deployment: deployment({ id: "a", phase: "SUPERSEDED" }), phase: "SUPERSEDED", was: "BUILDING" });
    const timedOut: StepRecord = { name: "job migrate", status: "ERROR", message: "job migrate timed out after 600s" };
    reporter.onEvent({ type: "deployment.phase", deployment: deployment({ id: "b", phase: "ERROR", steps: [timedOut], error: { code: "JOB_FAILED", step: "job migrate", timedOut: true } }), phase: "ERROR", was: "DEPLOYING" });
    await reporter.idle();
    expect(seen).toEqual({ a: "cancelled", b: "timed_out" });
  });

  it("retries an update GitHub answered with a 5xx", async () => {
    const { reporter, state } = setup({ retryDelaysMs: [1, 1] });
    await state.set(checkRunKey("dep-1"), 555);
    mockToken(42);
    nock(API)
      .patch("/repos/octo/shop/check-runs/555")
      .reply(502, { message: "Bad Gateway" })
      .patch("/repos/octo/shop/check-runs/555", (b) => b.status === "in_progress")
      .reply(200, {});
    reporter.onEvent({ type: "deployment.phase", deployment: deployment({ phase: "BUILDING" }), phase: "BUILDING", was: "PENDING_BUILD" });
    await reporter.idle();
  });
});

describe("CheckRunReporter with the stored log", () => {
  useStrictNock();

  it("takes the failing step's tail from the store, which holds lines the events had not carried yet", async () => {
    const asked: string[] = [];
    const { reporter, state } = setup({
      readLog: async (id, step) => {
        asked.push(`${id}/${step}`);
        return [{ text: "step 1\nstep 2\n" }, { text: "error: exit 2 with token hunter2-secret\n" }];
      },
    });
    await state.set(checkRunKey("dep-1"), 555);
    mockToken(42);
    let text = "";
    nock(API)
      .patch("/repos/octo/shop/check-runs/555", (b) => ((text = b.output.text), true))
      .reply(200, {});
    const failed: StepRecord = { name: "job migrate", status: "ERROR", message: "exit 2" };
    reporter.onEvent({ type: "deployment.phase", deployment: deployment({ phase: "ERROR", steps: [failed] }), phase: "ERROR", was: "DEPLOYING" });
    await reporter.idle();
    expect(asked).toEqual(["dep-1/job migrate"]);
    expect(text).toBe("Last lines of job migrate:\n\n```\nstep 1\nstep 2\nerror: exit 2 with token [REDACTED]\n```");
  });
});

describe("clipTail", () => {
  it("keeps the end of an over-long text within GitHub's limit", () => {
    const long = "x".repeat(OUTPUT_LIMIT) + "END";
    const clipped = clipTail(long);
    expect(clipped.length).toBe(OUTPUT_LIMIT);
    expect(clipped.endsWith("END")).toBe(true);
    expect(clipped.startsWith("…(earlier output cut)")).toBe(true);
  });
});
