import { afterEach, describe, expect, it } from "vitest";
import type { PipelineOptions } from "../../src/pipeline/index.js";
import { harness, pushIntent, sha, type Harness } from "./helpers.js";
import {
  DB_URL,
  SECRET,
  leaks,
  operatorDatabases,
  previewIntent,
  recordingHooks,
  seenFor,
  trustSpec,
  type BindInput,
  type SeenRequest,
} from "./trust-fixture.js";

describe("pull-request previews and secrets", () => {
  let h: Harness | undefined;
  let seen: SeenRequest[];
  let bound: BindInput[];
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function open(pipeline: Partial<PipelineOptions> = {}) {
    seen = [];
    bound = [];
    h = await harness({ runtime: { hooks: recordingHooks(seen) }, pipeline: { bindContext: operatorDatabases(bound), ...pipeline } });
    h.source.specs.set("default", trustSpec());
    return h;
  }

  async function run(h: Harness, submitted: Promise<{ deploymentId?: string }>) {
    const id = (await submitted).deploymentId!;
    return h.settled(id);
  }

  const api = (h: Harness, appId: string) => h.runtime.serving.get(appId)!.get("api")!;

  it("withholds every SECRET env and database credential from a fork's build, jobs and containers, and keeps the others", async () => {
    const h = await open();
    const done = await run(h, h.pipeline.submit(previewIntent(h.app, 7, sha(1), true)));
    expect(done).toMatchObject({ phase: "ACTIVE", untrusted: true, secrets: "none" });
    expect(api(h, done.appId).env).not.toHaveProperty("API_KEY");
    expect(api(h, done.appId).env).not.toHaveProperty("DATABASE_URL");
    expect(api(h, done.appId).env).toHaveProperty("SELF_URL");
    expect(seen.map((r) => r.op)).toEqual(expect.arrayContaining(["build", "job", "rollout"]));
    expect(leaks(seenFor(h, seen, done.appId))).toBe(false);
    expect(bound.at(-1)).toMatchObject({ app: { environment: "pr-7" }, untrusted: true, secrets: "none" });
  });

  it("keeps a fork's preview untrusted through Redeploy, Force rebuild and Re-run, which resubmit it as a manual deploy", async () => {
    const h = await open();
    const first = await run(h, h.pipeline.submit(previewIntent(h.app, 7, sha(1), true)));
    const { app, branch } = first;
    const redeploy = await run(h, h.pipeline.submit({ kind: "deploy", app, branch, sha: sha(1), cause: { type: "manual", by: "maintainer" } }));
    const rebuild = await run(
      h,
      h.pipeline.submit({ kind: "deploy", app, branch, sha: sha(1), cause: { type: "force_rebuild", by: "maintainer" }, forceBuild: true }),
    );
    const caughtUp = await run(h, h.pipeline.submit({ kind: "deploy", app, branch, sha: sha(1), cause: { type: "catch_up", sha: sha(1) } }));
    for (const d of [redeploy, rebuild, caughtUp]) expect(d).toMatchObject({ phase: "ACTIVE", untrusted: true, secrets: "none" });
    expect((await h.store.apps.get(first.appId))?.untrusted).toBe(true);
    expect(leaks(seenFor(h, seen, first.appId))).toBe(false);
  });

  it("rolls back to a fork's deployment without its secrets", async () => {
    const h = await open();
    const first = await run(h, h.pipeline.submit(previewIntent(h.app, 7, sha(1), true)));
    await run(h, h.pipeline.submit(previewIntent(h.app, 7, sha(2), true)));
    const back = await run(h, h.pipeline.submit({ kind: "rollback", app: first.app, toDeploymentId: first.id, by: "maintainer" }));
    expect(back).toMatchObject({ phase: "ACTIVE", untrusted: true });
    expect(seen.filter((r) => r.deploymentId === back.id && r.op === "rollout")).not.toEqual([]);
    expect(leaks(seenFor(h, seen, first.appId))).toBe(false);
  });

  it("reverts a fork's failed rollout to the fork's previous image without secrets", async () => {
    const h = await open();
    const first = await run(h, h.pipeline.submit(previewIntent(h.app, 7, sha(1), true)));
    h.source.specs.set(sha(2), trustSpec({ failRollout: true }));
    const failed = await run(h, h.pipeline.submit(previewIntent(h.app, 7, sha(2), true)));
    expect(failed.phase).toBe("ERROR");
    expect(failed.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["revert:api", "failed_deploy:notify"]));
    expect(api(h, first.appId).deploymentId).toBe(first.id);
    expect(leaks(seenFor(h, seen, first.appId))).toBe(false);
  });

  it("runs a fork's FAILED_DEPLOY jobs after a failed restart without secrets", async () => {
    const h = await open();
    const first = await run(h, h.pipeline.submit(previewIntent(h.app, 7, sha(1), true)));
    h.runtime.serving.delete(first.appId); // nothing runs: the restart fails
    const restart = await run(h, h.pipeline.submit({ kind: "restart", app: first.app, by: "maintainer" }));
    expect(restart).toMatchObject({ phase: "ERROR", untrusted: true });
    expect(seen.filter((r) => r.deploymentId === restart.id && r.op === "job")).not.toEqual([]);
    expect(leaks(seenFor(h, seen, first.appId))).toBe(false);
  });

  it("gives a same-repository preview no secrets or databases unless its repository is opted in", async () => {
    const h = await open();
    const done = await run(h, h.pipeline.submit(previewIntent(h.app, 8, sha(2), false)));
    expect(done).toMatchObject({ phase: "ACTIVE", untrusted: false, secrets: "none" });
    expect(api(h, done.appId).env).not.toHaveProperty("API_KEY");
    expect(leaks(seenFor(h, seen, done.appId))).toBe(false);
    expect(bound.at(-1)).toMatchObject({ app: { environment: "pr-8" }, untrusted: false, secrets: "none" });

    const production = await run(h, h.pipeline.submit(pushIntent(h.app, sha(3))));
    expect(production).toMatchObject({ phase: "ACTIVE", secrets: "production" });
    expect(api(h, production.appId).env).toMatchObject({ API_KEY: SECRET, DATABASE_URL: DB_URL });
  });

  it("gives an opted-in repository's same-repository previews production's secrets, and its forks still none", async () => {
    const h = await open({ previewSecrets: ["Acme/Opted-In"] });
    const app = { ...h.app, repository: "acme/opted-in" };
    const same = await run(h, h.pipeline.submit(previewIntent(app, 8, sha(2), false)));
    expect(same).toMatchObject({ phase: "ACTIVE", secrets: "production" });
    expect(api(h, same.appId).env).toMatchObject({ API_KEY: SECRET, DATABASE_URL: DB_URL });
    expect(bound.at(-1)).toMatchObject({ app: { environment: "pr-8" }, untrusted: false, secrets: "production" });
    const fork = await run(h, h.pipeline.submit(previewIntent(app, 9, sha(3), true)));
    expect(fork).toMatchObject({ phase: "ACTIVE", untrusted: true, secrets: "none" });
    expect(leaks(seenFor(h, seen, fork.appId))).toBe(false);
  });
});
