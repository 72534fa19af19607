import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseAppSpec } from "../../src/app-spec/index.js";
import { IntentError } from "../../src/pipeline/index.js";
import { runDeployment } from "../../src/pipeline/run-deployment.js";
import { silentLog as quiet } from "../store/open-store.js";
import type { PipelineEvent } from "../../src/core/types.js";
import type { MemoryRuntimeOptions } from "../../src/runtime/memory/index.js";
import { RuntimeError } from "../../src/runtime/runtime.js";
import type { TestStore } from "../store/open-store.js";
import { gate, harness as makeHarness, openPipelineStore, pushIntent, sha, SPEC, type Harness } from "./helpers.js";

// One store for the file; each test gets its own app and pipeline.
let opened: TestStore;
let store: TestStore["store"];
beforeAll(async () => {
  opened = await openPipelineStore();
  store = opened.store;
});
afterAll(async () => opened.cleanup());

let h: Harness;
let shop: Harness["app"];
afterEach(async () => h?.close());

async function harness(options: Parameters<typeof makeHarness>[0] & { runtime?: MemoryRuntimeOptions } = {}) {
  const made = await makeHarness({ ...options, store });
  shop = made.app;
  return made;
}

const phasesOf = (events: PipelineEvent[], id: string) =>
  events.flatMap((e) => (e.type === "deployment.phase" && e.deployment.id === id ? [`${e.was}→${e.phase}`] : []));

async function deploy(commit: string) {
  const { deploymentId } = await h.pipeline.submit(pushIntent(shop, commit));
  return h.settled(deploymentId!);
}

describe("pipeline", () => {
  it("deploys a push through every phase and stage, announcing each after it is stored", async () => {
    h = await harness();
    const seenInStore: string[] = [];
    h.pipeline.on((e) => {
      if (e.type === "deployment.phase") void h.store.deployments.get(e.deployment.id).then((d) => seenInStore.push(d!.phase));
    });
    const done = await deploy(sha(1));
    expect(done).toMatchObject({ phase: "ACTIVE", sha: sha(1), url: "http://shop.localhost" });
    expect(phasesOf(h.events, done.id)).toEqual([
      "PENDING_BUILD→BUILDING",
      "BUILDING→PENDING_DEPLOY",
      "PENDING_DEPLOY→DEPLOYING",
      "DEPLOYING→ACTIVE",
    ]);
    const stored = await h.store.deployments.get(done.id);
    expect(stored!.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      "source:SUCCESS",
      "spec:SUCCESS",
      "build:api:SUCCESS",
      "build:queue:SUCCESS",
      "build:migrate:SUCCESS",
      "build:notify:SUCCESS",
      "pre_deploy:migrate:SUCCESS",
      "deploy:api:SUCCESS",
      "deploy:queue:SUCCESS",
    ]);
    const serving = h.runtime.serving.get(done.appId)!;
    expect(serving.get("api")).toMatchObject({ deploymentId: done.id, env: { SELF_URL: "http://shop.localhost", PORT: "8080" } });
    expect([...serving.keys()].sort()).toEqual(["api", "queue"]);
    expect((await h.pipeline.apps()).filter((a) => a.app.repository === shop.repository)).toEqual([
      expect.objectContaining({ app: shop, branch: "main", lastDeployedSha: sha(1), activeDeploymentId: done.id }),
    ]);
    expect((await h.store.apps.find(shop))!.specName).toBe("shop");
    expect(h.events[0]).toMatchObject({ type: "deployment.created", deployment: { id: done.id, phase: "PENDING_BUILD" } });
    await h.pipeline.stop(1000);
    expect(seenInStore.every((p) => p !== "PENDING_BUILD")).toBe(true);
  });

  it("a newer deployment supersedes the active one", async () => {
    h = await harness();
    const first = await deploy(sha(1));
    const second = await deploy(sha(2));
    expect(second.phase).toBe("ACTIVE");
    const old = await h.store.deployments.get(first.id);
    expect(old).toMatchObject({ phase: "SUPERSEDED" });
    expect(old!.message).toContain(second.id);
    expect(h.events).toContainEqual(expect.objectContaining({ type: "deployment.phase", phase: "SUPERSEDED", was: "ACTIVE" }));
  });

  it("a burst of 20 pushes builds at most twice and the newest sha ends ACTIVE", async () => {
    const firstBuild = gate();
    let blocked = false;
    h = await harness({
      runtime: {
        hooks: {
          build: async () => {
            if (!blocked) {
              blocked = true;
              await firstBuild.promise;
            }
          },
        },
      },
    });
    const ids: string[] = [];
    for (let i = 1; i <= 20; i++) ids.push((await h.pipeline.submit(pushIntent(shop, sha(i)))).deploymentId!);
    firstBuild.open();
    const last = await h.settled(ids[19]!);
    expect(last).toMatchObject({ phase: "ACTIVE", sha: sha(20) });
    const built = new Set(h.runtime.operations.filter((o) => o.op === "build").map((o) => o.deploymentId));
    expect(built.size).toBeLessThanOrEqual(2);
    expect(built.has(ids[19])).toBe(true);
    const all = await h.pipeline.listDeployments(shop, { limit: 100 });
    const superseded = all.filter((d) => d.phase === "SUPERSEDED");
    expect(superseded.length).toBeGreaterThanOrEqual(18);
    for (const d of superseded.filter((d) => !built.has(d.id))) expect(d.message).toMatch(/superseded by [0-9a-f]{7}/);
    expect(superseded.find((d) => d.sha === sha(19))!.message).toContain(sha(20).slice(0, 7));
  });

  it("runs one deployment per app at a time and at most `concurrency` across apps", async () => {
    let running = 0;
    let peak = 0;
    const perApp = new Map<string, number>();
    h = await harness({
      pipeline: { concurrency: 2 },
      runtime: {
        hooks: {
          build: async (req) => {
            running++;
            peak = Math.max(peak, running);
            perApp.set(req.appId, (perApp.get(req.appId) ?? 0) + 1);
            expect(perApp.get(req.appId)).toBe(1);
            await new Promise((r) => setTimeout(r, 5));
            perApp.set(req.appId, perApp.get(req.appId)! - 1);
            running--;
          },
        },
      },
    });
    h.source.specs.set("default", "name: tiny\nworkers:\n  - name: wk\n    github: { repo: acme/tiny, branch: main }\n");
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const app = { ...shop, repository: `${shop.repository}-${i}` };
      ids.push((await h.pipeline.submit(pushIntent(app, sha(i)))).deploymentId!);
    }
    const results = await Promise.all(ids.map((id) => h.settled(id)));
    expect(results.map((d) => `${d.phase} ${d.message ?? ""}`.trim())).toEqual(ids.map(() => "ACTIVE"));
    expect(peak).toBeLessThanOrEqual(2);
  });

  it("a failed pre-deploy job leaves the previous deployment ACTIVE, names the step and runs failed-deploy jobs", async () => {
    h = await harness();
    const good = await deploy(sha(1));
    h.source.specs.set(sha(2), SPEC.replace("./migrate", "./migrate && exit 3"));
    const bad = await deploy(sha(2));
    expect(bad.phase).toBe("ERROR");
    expect(bad.message).toBe("PRE_DEPLOY job migrate exited with code 3");
    expect(bad.error).toMatchObject({ code: "JOB_FAILED", step: "pre_deploy:migrate", component: "migrate" });
    expect((await h.store.deployments.get(bad.id))!.error).toEqual(bad.error);
    const steps = (await h.store.deployments.get(bad.id))!.steps;
    expect(steps.find((s) => s.name === "pre_deploy:migrate")).toMatchObject({ status: "ERROR", component: "migrate" });
    expect(steps.find((s) => s.name === "failed_deploy:notify")).toMatchObject({ status: "SUCCESS" });
    expect(steps.some((s) => s.name.startsWith("deploy:"))).toBe(false);
    expect(await h.store.deployments.get(good.id)).toMatchObject({ phase: "ACTIVE" });
    expect((await h.store.apps.find(shop))!.activeDeploymentId).toBe(good.id);
    expect(h.runtime.serving.get(good.appId)!.get("api")!.deploymentId).toBe(good.id);
  });

  it("a failed rollout puts the previous version back on the components already rolled out", async () => {
    let fail = false;
    let goodId = "";
    h = await harness({
      runtime: {
        hooks: {
          rollout: (req) => {
            if (fail && req.component === "queue" && req.deploymentId !== goodId) throw new Error("instance never became healthy");
          },
        },
      },
    });
    const good = await deploy(sha(1));
    goodId = good.id;
    fail = true;
    const bad = await deploy(sha(2));
    expect(bad).toMatchObject({ phase: "ERROR", message: "deploying queue failed: instance never became healthy" });
    expect(bad.error).toMatchObject({ code: "ROLLOUT_FAILED", step: "deploy:queue", component: "queue" });
    expect(bad.error?.timedOut).toBeUndefined();
    const steps = (await h.store.deployments.get(bad.id))!.steps.map((s) => `${s.name}:${s.status}`);
    expect(steps).toEqual(expect.arrayContaining(["deploy:api:SUCCESS", "deploy:queue:ERROR", "revert:api:SUCCESS", "revert:queue:SUCCESS"]));
    const serving = h.runtime.serving.get(good.appId)!;
    expect(serving.get("api")!.image).toBe(`memory/${good.appId}/api:${good.id}`);
    expect(serving.get("queue")!.deploymentId).toBe(good.id);
    expect((await h.store.deployments.get(good.id))!.phase).toBe("ACTIVE");
  });

  it("records a runtime that ran out of time as a timed-out failure, by its details rather than its text", async () => {
    h = await harness({
      runtime: {
        hooks: {
          build: (req) => {
            if (req.component === "queue") throw new RuntimeError("queue: took too long", { component: "queue", timedOut: true });
          },
        },
      },
    });
    const bad = await deploy(sha(1));
    expect(bad).toMatchObject({ phase: "ERROR", message: "build of queue failed: queue: took too long" });
    expect(bad.error).toMatchObject({ code: "BUILD_FAILED", step: "build:queue", component: "queue", timedOut: true });
    expect(bad.error?.markdown).toContain("BERTH_BUILD_TIMEOUT");
  });

  it("an invalid spec fails the spec step with the line of the problem", async () => {
    h = await harness();
    h.source.specs.set(sha(1), "name: shop\nservices:\n  - name: api\n    http_port: 99999\n    github: { repo: a/b }\n");
    const bad = await deploy(sha(1));
    expect(bad.phase).toBe("ERROR");
    expect(bad.message).toMatch(/^\.do\/app\.yaml is invalid: line 4: /);
    const logs = (await h.pipeline.readLogs(bad.id, "spec")).map((c) => c.text).join("");
    expect(logs).toContain(".do/app.yaml:4:");
    expect(bad.error).toMatchObject({ code: "SPEC_INVALID", step: "spec" });
    expect(bad.error?.markdown).toMatch(/^- `\.do\/app\.yaml:4:\d+` /);
    h.source.specs.clear();
    const missing = await deploy(sha(2));
    expect(missing.message).toBe(`${shop.repository} has no app spec at ${sha(2).slice(0, 7)}: add .do/app.yaml`);
    expect(missing.error).toMatchObject({ code: "SPEC_MISSING", step: "spec" });
  });

  it("refuses a spec above 256 KiB unparsed (SPEC_INVALID, one problem) and parses the rest with the injected parser", async () => {
    const parsed: string[] = [];
    h = await harness({ pipeline: { parseSpec: async (text, options) => (parsed.push(text), parseAppSpec(text, options)) } });
    h.source.specs.set(sha(1), `${SPEC}${"#".repeat(300 * 1024)}\n`);
    const bad = await deploy(sha(1));
    expect(bad).toMatchObject({ phase: "ERROR", message: ".do/app.yaml is invalid: line 1: the spec is 301 KiB; Berth reads specs up to 256 KiB" });
    expect(bad.error).toMatchObject({ code: "SPEC_INVALID", step: "spec" });
    expect(parsed).toEqual([]);
    h.source.specs.set(sha(2), SPEC);
    expect(await deploy(sha(2))).toMatchObject({ phase: "ACTIVE" });
    expect(parsed).toEqual([SPEC]);
  });

  it("with cancelInProgress a newer push stops the running build of an older commit", async () => {
    const started = gate();
    h = await harness({
      pipeline: { cancelInProgress: true },
      runtime: {
        hooks: {
          build: async (req) => {
            if (req.deploymentId === firstId) {
              started.open();
              await new Promise(() => undefined);
            }
          },
        },
      },
    });
    let firstId = "";
    firstId = (await h.pipeline.submit(pushIntent(shop, sha(1)))).deploymentId!;
    await started.promise;
    const second = (await h.pipeline.submit(pushIntent(shop, sha(2)))).deploymentId!;
    const first = await h.settled(firstId);
    expect(first.phase).toBe("SUPERSEDED");
    expect(first.message).toContain(sha(2).slice(0, 7));
    expect((await h.settled(second)).phase).toBe("ACTIVE");
  });

  it("cancels a queued and a running deployment", async () => {
    const started = gate();
    h = await harness({
      runtime: {
        hooks: {
          build: async () => {
            started.open();
            await new Promise(() => undefined);
          },
        },
      },
      pipeline: { concurrency: 1 },
    });
    const running = (await h.pipeline.submit(pushIntent(shop, sha(1)))).deploymentId!;
    await started.promise;
    const other = { ...shop, repository: `${shop.repository}-other` };
    const queued = (await h.pipeline.submit(pushIntent(other, sha(2)))).deploymentId!;
    await h.pipeline.submit({ kind: "cancel", app: other, reason: "by a person" });
    expect(await h.settled(queued)).toMatchObject({ phase: "CANCELED", message: "canceled: by a person" });
    await h.pipeline.submit({ kind: "cancel", app: shop, deploymentId: running, reason: "by a person" });
    const canceled = await h.settled(running);
    expect(canceled).toMatchObject({ phase: "CANCELED", message: "canceled: by a person" });
    expect(canceled.steps.find((s) => s.status === "CANCELED")).toBeDefined();
  });

  it("restarts with the same images and rolls back to an earlier deployment's images", async () => {
    h = await harness();
    const first = await deploy(sha(1));
    const second = await deploy(sha(2));
    const restart = (await h.pipeline.submit({ kind: "restart", app: shop, components: ["api"], by: "ops" })).deploymentId!;
    const restarted = await h.settled(restart);
    expect(restarted).toMatchObject({ phase: "ACTIVE", sha: sha(2), cause: { type: "restart", components: ["api"] } });
    expect(restarted.steps.map((s) => s.name)).toEqual(["restart"]);
    expect(h.runtime.serving.get(first.appId)!.get("api")!.restarts).toBe(1);
    expect(h.runtime.operations.filter((o) => o.op === "build" && o.deploymentId === restart)).toEqual([]);

    const rollback = (await h.pipeline.submit({ kind: "rollback", app: shop, toDeploymentId: first.id })).deploymentId!;
    const rolled = await h.settled(rollback);
    expect(rolled).toMatchObject({ phase: "ACTIVE", sha: sha(1), cause: { type: "rollback", toDeploymentId: first.id } });
    expect(h.runtime.serving.get(first.appId)!.get("api")!.image).toBe(`memory/${first.appId}/api:${first.id}`);
    expect(h.runtime.operations.filter((o) => o.op === "build" && o.deploymentId === rollback)).toEqual([]);
    expect((await h.store.deployments.get(second.id))!.phase).toBe("SUPERSEDED");

    await expect(h.pipeline.submit({ kind: "rollback", app: shop, toDeploymentId: "nope" })).rejects.toThrow(IntentError);
    await expect(h.pipeline.submit({ kind: "restart", app: { ...shop, environment: "pr-9" } })).rejects.toThrow(/does not manage/);
  });

  it("reuses images of components the push did not touch", async () => {
    h = await harness();
    const first = await deploy(sha(1));
    const { deploymentId } = await h.pipeline.submit({ ...pushIntent(shop, sha(2)), changedPaths: ["worker/main.go"] });
    const second = await h.settled(deploymentId!);
    const builtNow = h.runtime.operations.filter((o) => o.op === "build" && o.deploymentId === second.id).map((o) => o.component);
    expect(builtNow).toEqual(["queue"]);
    expect(h.runtime.serving.get(first.appId)!.get("api")!.image).toBe(`memory/${first.appId}/api:${first.id}`);
  });

  it("ignores a webhook delivery it has already accepted", async () => {
    h = await harness({ start: false });
    expect((await h.pipeline.submit(pushIntent(shop, sha(1)), { deliveryId: "abc" })).accepted).toBe(true);
    expect(await h.pipeline.submit(pushIntent(shop, sha(2)), { deliveryId: "abc" })).toEqual({ accepted: false });
    expect((await h.pipeline.listDeployments(shop)).map((d) => d.sha)).toEqual([sha(1)]);
  });

  it("tears a preview down after its running deployment stops", async () => {
    h = await harness();
    const preview = { ...shop, environment: "pr-7" };
    const done = await deploy(sha(1)).then(() => h.pipeline.submit(pushIntent(preview, sha(2))));
    await h.settled(done.deploymentId!);
    const removed = new Promise<PipelineEvent>((resolve) => h.pipeline.on((e) => e.type === "app.removed" && resolve(e)));
    await h.pipeline.submit({ kind: "teardown", app: preview, reason: "pull request closed" });
    expect(await removed).toMatchObject({ app: preview, reason: "pull request closed" });
    const previewApp = (await h.store.apps.find(preview))!;
    expect(h.runtime.serving.has(previewApp.id)).toBe(false);
    expect((await h.pipeline.apps()).filter((a) => a.app.repository === shop.repository).map((a) => a.app.environment)).toEqual([
      "production",
    ]);
  });

  it("on stop, waits out the grace period, then ends running deployments in ERROR and releases them", async () => {
    const started = gate();
    h = await harness({
      runtime: {
        hooks: {
          build: async () => {
            started.open();
            await new Promise(() => undefined);
          },
        },
      },
    });
    const id = (await h.pipeline.submit(pushIntent(shop, sha(1)))).deploymentId!;
    await started.promise;
    await h.pipeline.stop(20);
    const d = await h.store.deployments.get(id);
    expect(d).toMatchObject({ phase: "ERROR", message: "interrupted: Berth shut down before the deployment finished" });
    expect(d!.error).toMatchObject({ code: "INTERRUPTED" });
    const app = await h.store.db.selectFrom("apps").select("lease_owner").where("id", "=", d!.appId).executeTakeFirstOrThrow();
    expect(app.lease_owner).toBeNull();
  });

  it("leaves a deployment superseded between its claim and its start as it was ended", async () => {
    h = await harness({ start: false });
    const id = (await h.pipeline.submit(pushIntent(shop, sha(1)))).deploymentId!;
    const racing = {
      ...store,
      deployments: {
        ...store.deployments,
        transition: async (...args: Parameters<typeof store.deployments.transition>) => {
          if (args[1] === "BUILDING") await store.deployments.transition(args[0], "SUPERSEDED", { message: "superseded by 1234567" });
          return store.deployments.transition(...args);
        },
      },
    };
    const deps = { store: racing, runtime: h.runtime, source: h.source, log: quiet, workDir: h.workDir, emit: () => undefined, logFlushMs: 5 };
    const outcome = await runDeployment(deps, id, new AbortController().signal);
    expect(outcome).toEqual({ phase: "SUPERSEDED", message: "superseded by 1234567" });
    expect(await store.deployments.get(id)).toMatchObject({ phase: "SUPERSEDED", message: "superseded by 1234567" });
    expect(h.runtime.operations).toEqual([]);
  });
});
