import nock from "nock";
import { describe, expect, it, vi } from "vitest";
import { catchUp, startCatchUpLoop } from "../../src/intents/catch-up.js";
import type { ManagedApp, PipelinePort, SpecParser } from "../../src/core/ports.js";
import type { Intent } from "../../src/core/types.js";
import { parseAppSpec } from "../../src/app-spec/index.js";
import { gateKey } from "../../src/intents/gate.js";
import { API, createTestProbot, deployment, memoryState, mockToken, silentLog, useStrictNock } from "../github/kit.js";
import { contentOf, specYaml } from "./harness.js";

const key = { installationId: 42, repository: "octo/shop", environment: "production" };
const OLD = "1".repeat(40);
const NEW = "2".repeat(40);

function setup(apps: ManagedApp[], known = [deployment({ app: key, sha: OLD, phase: "ACTIVE" })], discover = false) {
  const state = memoryState();
  const probot = createTestProbot();
  const submitted: { intent: Intent; deliveryId?: string }[] = [];
  const deliveries = new Set<string>();
  const pipeline: PipelinePort = {
    submit: async (intent, o) => {
      if (deliveries.has(o?.deliveryId ?? "")) return { accepted: false };
      deliveries.add(o?.deliveryId ?? "");
      submitted.push({ intent, deliveryId: o?.deliveryId });
      return { accepted: true, deploymentId: "dep-9" };
    },
    on: () => () => {},
    getDeployment: async () => undefined,
    listDeployments: async () => known,
  };
  const discovered = new Map<string, string>();
  const run = () =>
    catchUp({
      ...(discover ? { appAuth: () => probot.auth(), discovered } : {}),
      state,
      auth: (id) => probot.auth(id),
      apps: { list: async () => apps, remove: async () => {} },
      pipeline,
      parseSpec: parseAppSpec as unknown as SpecParser,
      log: silentLog(),
    });
  return { run, submitted, state };
}

/** The spec on the repository's default branch (read without a ref), which names the production branch. */
function mockDefaultSpec(repository: string, text: string | null, times = 1) {
  const scope = nock(API).get(`/repos/${repository}/contents/.do%2Fapp.yaml`).times(times);
  if (text !== null) return scope.reply(200, contentOf(text));
  scope.reply(404, {});
  return nock(API).get(`/repos/${repository}/contents/.do%2Fdeploy.template.yaml`).times(times).reply(404, {});
}

describe("catchUp", () => {
  useStrictNock();

  it("follows the branch the default branch's spec names, not a branch the app's record was moved to", async () => {
    const { run, submitted } = setup([{ id: "a", key, branch: "evil", activeSha: OLD }]);
    mockToken(42);
    mockDefaultSpec("octo/shop", specYaml("octo/shop", "main"));
    nock(API)
      .get("/repos/octo/shop/branches/evil")
      .optionally()
      .reply(200, { name: "evil", commit: { sha: "e".repeat(40) } })
      .get("/repos/octo/shop/contents/.do%2Fapp.yaml")
      .query({ ref: "e".repeat(40) })
      .optionally()
      .reply(200, contentOf(specYaml("octo/shop", "evil")))
      .get("/repos/octo/shop/contents/.github%2Fberth.yml")
      .query({ ref: "e".repeat(40) })
      .optionally()
      .reply(404, {})
      .get("/repos/octo/shop/branches/main")
      .reply(200, { name: "main", commit: { sha: NEW } })
      .get("/repos/octo/shop/contents/.do%2Fapp.yaml")
      .query({ ref: NEW })
      .reply(200, contentOf(specYaml("octo/shop", "main")))
      .get("/repos/octo/shop/contents/.github%2Fberth.yml")
      .query({ ref: NEW })
      .reply(404, {});
    await expect(run()).resolves.toEqual({ checked: 1, deployed: [`octo/shop@${NEW}`] });
    expect(submitted.map((s) => s.intent)).toEqual([{ kind: "deploy", app: key, branch: "main", sha: NEW, cause: { type: "catch_up", sha: NEW } }]);
  });

  it("deploys a deploy branch head Berth missed, once", async () => {
    const { run, submitted } = setup([{ id: "a", key, branch: "main", activeSha: OLD }]);
    mockToken(42);
    mockDefaultSpec("octo/shop", specYaml("octo/shop", "main"), 2);
    nock(API)
      .get("/repos/octo/shop/branches/main")
      .twice()
      .reply(200, { name: "main", commit: { sha: NEW } })
      .get("/repos/octo/shop/contents/.do%2Fapp.yaml")
      .query({ ref: NEW })
      .twice()
      .reply(200, contentOf(specYaml("octo/shop", "main")))
      .get("/repos/octo/shop/contents/.github%2Fberth.yml")
      .query({ ref: NEW })
      .twice()
      .reply(404, {});
    await expect(run()).resolves.toEqual({ checked: 1, deployed: [`octo/shop@${NEW}`] });
    await expect(run()).resolves.toEqual({ checked: 1, deployed: [] });
    expect(submitted).toEqual([
      {
        deliveryId: `catch-up:42/octo/shop@${NEW}`,
        intent: { kind: "deploy", app: key, branch: "main", sha: NEW, cause: { type: "catch_up", sha: NEW } },
      },
    ]);
  });

  it("deploys a missed commit of a repository with wait_for_checks only once its other checks passed, never after one failed", async () => {
    const suite = (status: string, conclusion: string | null, appId = 7) => ({
      total_count: 1,
      check_suites: [{ id: 1, status, conclusion, latest_check_runs_count: 1, app: { id: appId, name: "CI" } }],
    });
    const mockCommit = (suites: object) =>
      mockDefaultSpec("octo/shop", specYaml("octo/shop", "main"))
        .get("/repos/octo/shop/branches/main")
        .reply(200, { name: "main", commit: { sha: NEW } })
        .get("/repos/octo/shop/contents/.do%2Fapp.yaml")
        .query({ ref: NEW })
        .reply(200, contentOf(specYaml("octo/shop", "main")))
        .get("/repos/octo/shop/contents/.github%2Fberth.yml")
        .query({ ref: NEW })
        .reply(200, contentOf("wait_for_checks: true\n"))
        .get(`/repos/octo/shop/commits/${NEW}/check-suites`)
        .query(true)
        .reply(200, suites);

    const running = setup([{ id: "a", key, branch: "main", activeSha: OLD }]);
    mockToken(42);
    mockCommit(suite("in_progress", null));
    await expect(running.run()).resolves.toEqual({ checked: 1, deployed: [] });
    mockCommit(suite("completed", "success"));
    await expect(running.run()).resolves.toEqual({ checked: 1, deployed: [`octo/shop@${NEW}`] });

    const failed = setup([{ id: "a", key, branch: "main", activeSha: OLD }]);
    mockToken(42);
    mockCommit(suite("completed", "failure"));
    await expect(failed.run()).resolves.toEqual({ checked: 1, deployed: [] });
    expect(failed.submitted).toEqual([]);
  });

  it("leaves up-to-date apps, previews, removed apps and commits already deployed alone", async () => {
    const { run, submitted } = setup(
      [
        { id: "a", key, branch: "main", activeSha: OLD },
        { id: "b", key: { ...key, repository: "octo/done" }, branch: "main", activeSha: NEW },
        { id: "c", key: { ...key, environment: "pr-3" }, branch: "feature" },
        { id: "d", key: { ...key, repository: "octo/gone" }, branch: "main", removedAt: new Date() },
      ],
      [deployment({ app: key, sha: NEW, phase: "ERROR" })],
    );
    mockToken(42);
    mockDefaultSpec("octo/shop", specYaml("octo/shop", "main"));
    mockDefaultSpec("octo/done", specYaml("octo/done", "main"));
    nock(API)
      .get("/repos/octo/shop/branches/main")
      .reply(200, { commit: { sha: NEW } })
      .get("/repos/octo/done/branches/main")
      .reply(200, { commit: { sha: NEW } });
    await expect(run()).resolves.toEqual({ checked: 2, deployed: [] });
    expect(submitted).toEqual([]);
  });

  it("leaves a commit that waits for its other checks to the gate", async () => {
    const { run, submitted, state } = setup([{ id: "a", key, branch: "main", activeSha: OLD }]);
    await state.set(gateKey(42, "octo/shop", NEW), { intent: {}, deliveryId: "d" });
    mockToken(42);
    mockDefaultSpec("octo/shop", specYaml("octo/shop", "main"));
    nock(API).get("/repos/octo/shop/branches/main").reply(200, { commit: { sha: NEW } });
    await expect(run()).resolves.toEqual({ checked: 1, deployed: [] });
    expect(submitted).toEqual([]);
  });

  it("skips an app whose branch vanished and carries on with the rest", async () => {
    const { run } = setup([
      { id: "a", key, branch: "gone", activeSha: OLD },
      { id: "b", key: { ...key, repository: "octo/done" }, branch: "main", activeSha: NEW },
    ]);
    mockToken(42);
    // No spec on the default branch now: the record's branch is looked at.
    mockDefaultSpec("octo/shop", null);
    mockDefaultSpec("octo/done", specYaml("octo/done", "main"));
    nock(API)
      .get("/repos/octo/shop/branches/gone")
      .reply(404, { message: "Branch not found" })
      .get("/repos/octo/done/branches/main")
      .reply(200, { commit: { sha: NEW } });
    await expect(run()).resolves.toEqual({ checked: 2, deployed: [] });
  });
});

describe("catchUp discovering repositories no webhook announced", () => {
  useStrictNock();

  it("deploys an installed repository with a spec, and looks at an unchanged one only once", async () => {
    const { run, submitted } = setup([{ id: "a", key, branch: "main", activeSha: NEW }], [], true);
    mockToken(42);
    mockDefaultSpec("octo/shop", specYaml("octo/shop", "main"), 2);
    const repo = (name: string, pushed: string) => ({ full_name: name, default_branch: "main", archived: false, pushed_at: pushed });
    nock(API)
      .get("/app/installations")
      .query({ per_page: 100 })
      .twice()
      .reply(200, [{ id: 42, suspended_at: null }])
      .get("/installation/repositories")
      .query({ per_page: 100 })
      .twice()
      .reply(200, { total_count: 3, repositories: [repo("octo/shop", "t1"), repo("octo/new", "t1"), repo("octo/docs", "t1")] })
      .get("/repos/octo/new/contents/.do%2Fapp.yaml")
      .query({ ref: "main" })
      .reply(200, contentOf(specYaml("octo/new", "release")))
      .get("/repos/octo/new/branches/release")
      .reply(200, { commit: { sha: NEW } })
      .get("/repos/octo/docs/contents/.do%2Fapp.yaml")
      .query({ ref: "main" })
      .reply(404, {})
      .get("/repos/octo/docs/contents/.do%2Fdeploy.template.yaml")
      .query({ ref: "main" })
      .reply(404, {})
      .get("/repos/octo/shop/branches/main")
      .twice()
      .reply(200, { commit: { sha: NEW } });
    await expect(run()).resolves.toEqual({ checked: 1, deployed: [`octo/new@${NEW}`] });
    // Second tick: nothing pushed since, so neither octo/new nor octo/docs costs another call.
    await expect(run()).resolves.toEqual({ checked: 1, deployed: [] });
    expect(submitted.map((s) => s.intent)).toEqual([
      {
        kind: "deploy",
        app: { installationId: 42, repository: "octo/new", environment: "production" },
        branch: "release",
        sha: NEW,
        cause: { type: "catch_up", sha: NEW },
      },
    ]);
  });
});

describe("startCatchUpLoop", () => {
  it("runs at once and then every interval, until stopped", async () => {
    vi.useFakeTimers();
    try {
      let ticks = 0;
      const stop = startCatchUpLoop(async () => void (ticks += 1), 60_000, silentLog());
      await vi.advanceTimersByTimeAsync(0);
      expect(ticks).toBe(1);
      await vi.advanceTimersByTimeAsync(60_000);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(ticks).toBe(3);
      stop();
      await vi.advanceTimersByTimeAsync(120_000);
      expect(ticks).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
