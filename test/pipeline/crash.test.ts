// Berth killed with SIGKILL mid-deployment (a real process, a real SQLite store on disk), then restarted on
// the same store: queued intents run, an interrupted build resumes from its last completed step, an
// interrupted rollout ends in ERROR "interrupted" with the previous ACTIVE deployment intact.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createSecretCipher } from "../../src/secrets/cipher.js";
import { loadSecretKeys } from "../../src/secrets/secret-key.js";
import { createStore } from "../../src/store/index.js";
import { silentLog } from "../store/open-store.js";
import { startChild, type Child } from "./child.js";
import { harness, pushIntent, sha, SPEC, type Harness } from "./helpers.js";

const app = { installationId: 1, repository: "acme/crash", environment: "production" };
const other = { ...app, repository: "acme/queued" };
// Each repository deploys under its own name: a name belongs to one app.
const NAMED = SPEC.replace("name: shop", "name: {{repo}}");

let dataDir: string;
let child: Child | undefined;
let h: Harness | undefined;

afterEach(async () => {
  child?.process.kill("SIGKILL");
  await h?.close();
  await h?.store.close();
  h = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

async function deployInChild(commit: string): Promise<string> {
  child!.send(`SUBMIT ${JSON.stringify(pushIntent(app, commit))}`);
  const [, id] = (await child!.waitFor(new RegExp(`^SUBMITTED (\\S+)$`))) as unknown as [string, string];
  child!.lines.splice(child!.lines.findIndex((l) => l === `SUBMITTED ${id}`), 1);
  return id;
}

async function killChild() {
  child!.process.kill("SIGKILL");
  await child!.exited;
  child = undefined;
}

async function restart(): Promise<Harness> {
  const store = await createStore({ dataDir, log: silentLog });
  // The key file the child process created: a restarted Berth opens the specs it stored.
  const restarted = await harness({ store, start: false, pipeline: { secretCipher: createSecretCipher(loadSecretKeys({ dataDir })) } });
  restarted.source.specs.set("default", NAMED);
  await restarted.pipeline.start();
  return restarted;
}

describe("killed mid-deployment and restarted on the same store", { timeout: 180_000 }, () => {
  it("resumes an interrupted build from its last completed step and runs queued intents", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "berth-crash-"));
    child = startChild({ DATA_DIR: dataDir, SPEC: NAMED, HANG: `build:${sha(2)}`, CONCURRENCY: "1" });
    await child.waitFor(/^READY$/);
    const first = await deployInChild(sha(1));
    await child.waitFor(new RegExp(`^PHASE ${first} ACTIVE$`));
    const second = await deployInChild(sha(2));
    await child.waitFor(new RegExp(`^HANG ${second} build$`));
    child.send(`SUBMIT ${JSON.stringify(pushIntent(other, sha(3)))}`);
    const [, queued] = (await child.waitFor(/^SUBMITTED (\S+)$/)) as unknown as [string, string];
    await killChild();

    h = await restart();
    const resumed = await h.settled(second);
    expect(resumed).toMatchObject({ phase: "ACTIVE", sha: sha(2) });
    expect(await h.settled(queued)).toMatchObject({ phase: "ACTIVE", sha: sha(3) });
    expect(await h.store.deployments.get(first)).toMatchObject({ phase: "SUPERSEDED" });
    // Source and spec had completed before the kill: not done again. Builds ran again in the new process.
    expect(h.source.fetched).toEqual([sha(3)]);
    expect(h.runtime.operations.filter((o) => o.op === "build" && o.deploymentId === second).length).toBeGreaterThan(0);
    expect(h.events).toContainEqual(expect.objectContaining({ type: "deployment.phase", phase: "ACTIVE", deployment: expect.objectContaining({ id: second }) }));
  });

  it("ends a deployment interrupted during rollout in ERROR and keeps the last ACTIVE one", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "berth-crash-"));
    child = startChild({ DATA_DIR: dataDir, SPEC: NAMED, HANG: `rollout:${sha(2)}` });
    await child.waitFor(/^READY$/);
    const first = await deployInChild(sha(1));
    await child.waitFor(new RegExp(`^PHASE ${first} ACTIVE$`));
    const second = await deployInChild(sha(2));
    await child.waitFor(new RegExp(`^HANG ${second} rollout$`));
    await killChild();

    h = await restart();
    const failed = await h.settled(second);
    expect(failed.phase).toBe("ERROR");
    expect(failed.message).toMatch(/^interrupted: Berth stopped during deploy:api/);
    const steps = failed.steps.map((s) => `${s.name}:${s.status}`);
    expect(steps).toEqual(expect.arrayContaining(["pre_deploy:migrate:SUCCESS", "deploy:api:ERROR", "revert:api:SUCCESS"]));
    expect(await h.store.deployments.get(first)).toMatchObject({ phase: "ACTIVE" });
    expect((await h.store.apps.find(app))!.activeDeploymentId).toBe(first);
    expect(h.runtime.serving.get(failed.appId)!.get("api")!.deploymentId).toBe(first);
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: "deployment.phase", phase: "ERROR", was: "DEPLOYING", deployment: expect.objectContaining({ id: second }) }),
    );
  });

  it("on SIGTERM stops within the grace period and leaves nothing running without an owner", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "berth-crash-"));
    child = startChild({ DATA_DIR: dataDir, SPEC: NAMED, HANG: `build:${sha(1)}` });
    await child.waitFor(/^READY$/);
    const id = await deployInChild(sha(1));
    await child.waitFor(new RegExp(`^HANG ${id} build$`));
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(child.lines).toContain(`PHASE ${id} ERROR`);
    child = undefined;

    const store = await createStore({ dataDir, log: silentLog });
    try {
      expect(await store.deployments.get(id)).toMatchObject({
        phase: "ERROR",
        message: "interrupted: Berth shut down before the deployment finished",
      });
      const leases = await store.db.selectFrom("apps").select("lease_owner").execute();
      expect(leases.every((a) => a.lease_owner === null)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
