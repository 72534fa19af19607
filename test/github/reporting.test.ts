// The GitHub layer against the real pipeline: a deployment run by the pipeline (in-memory runtime, embedded
// store) reaches GitHub as one check run going queued → completed and one GitHub deployment with statuses.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import * as tar from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CheckRunReporter } from "../../src/github/check-run-reporter.js";
import { DeploymentReporter } from "../../src/github/deployment-reporter.js";
import { createRedactor } from "../../src/core/redact.js";
import { GitHubSource } from "../../src/github/source.js";
import { InstallationWriteQueue } from "../../src/github/write-queue.js";
import { createPipeline, type Pipeline, type PipelineEvent } from "../../src/pipeline/index.js";
import { createMemoryRuntime } from "../../src/runtime/memory/index.js";
import { createStore, type Store } from "../../src/store/index.js";
import { API, createTestProbot, mockToken, SHA, silentLog, TOKEN, useStrictNock } from "./kit.js";
import { contentOf, specYaml } from "../intents/harness.js";

describe("reporting a real pipeline run", () => {
  useStrictNock();
  let dir: string;
  let store: Store;
  let pipeline: Pipeline;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-reporting-"));
    store = await createStore({ dataDir: "memory://", log: silentLog() });
  });
  afterEach(async () => {
    await pipeline?.stop(1_000);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports queued → completed success on the check run and queued → success on the deployment", async () => {
    const tree = join(dir, "tree", "octo-shop-0123456", "web");
    await import("node:fs/promises").then((fs) => fs.mkdir(tree, { recursive: true }));
    await import("node:fs/promises").then((fs) => fs.writeFile(join(tree, "Dockerfile"), "FROM scratch\n"));
    await tar.c({ gzip: true, file: join(dir, "src.tgz"), cwd: join(dir, "tree") }, ["octo-shop-0123456"]);
    const tarball = await import("node:fs/promises").then((fs) => fs.readFile(join(dir, "src.tgz")));

    const probot = createTestProbot();
    const auth = (id: number) => probot.auth(id);
    const source = new GitHubSource(auth);
    pipeline = createPipeline({
      store,
      runtime: createMemoryRuntime(),
      source,
      log: silentLog(),
      workDir: join(dir, "work"),
      pollMs: 20,
      logFlushMs: 10,
    });
    const options = {
      auth,
      writes: new InstallationWriteQueue(),
      state: store.state,
      log: silentLog(),
      redact: (text: string) => createRedactor(source.secrets()).redact(text),
      minIntervalMs: 0,
      retryDelaysMs: [],
    };
    const checkRuns = new CheckRunReporter(options);
    const deployments = new DeploymentReporter(options);
    pipeline.on(checkRuns.onEvent);
    pipeline.on(deployments.onEvent);
    const done = new Promise<void>((resolve) =>
      pipeline.on((e: PipelineEvent) => {
        if (e.type === "deployment.phase" && ["ACTIVE", "ERROR", "CANCELED"].includes(e.phase)) resolve();
      }),
    );

    mockToken(42);
    const checkBodies: Record<string, unknown>[] = [];
    const statuses: string[] = [];
    nock(API)
      .get(`/repos/octo/shop/tarball/${SHA}`)
      .reply(200, tarball, { "content-type": "application/x-gzip" })
      .get("/repos/octo/shop/contents/.do%2Fapp.yaml")
      .query({ ref: SHA })
      .reply(200, contentOf(specYaml("octo/shop", "main")))
      .post("/repos/octo/shop/check-runs", (b) => (checkBodies.push(b), true))
      .reply(201, { id: 77 })
      .patch("/repos/octo/shop/check-runs/77", (b) => (checkBodies.push(b), true))
      .times(20)
      .optionally()
      .reply(200, { id: 77 })
      .post("/repos/octo/shop/deployments")
      .reply(201, { id: 5 })
      .post("/repos/octo/shop/deployments/5/statuses", (b) => (statuses.push(b.state), true))
      .times(5)
      .optionally()
      .reply(201, {});

    await pipeline.start();
    const app = { installationId: 42, repository: "octo/shop", environment: "production" };
    const submitted = await pipeline.submit(
      { kind: "deploy", app, branch: "main", sha: SHA, cause: { type: "push", sha: SHA, ref: "refs/heads/main" } },
      { deliveryId: "d-1:deploy" },
    );
    expect(submitted.accepted).toBe(true);
    await done;
    await checkRuns.idle();
    await deployments.idle();

    // Updates are coalesced: the run is created with whatever state the deployment has reached by then.
    expect(checkBodies[0]).toMatchObject({ name: "Berth (production)", external_id: submitted.deploymentId });
    expect(["queued", "in_progress"]).toContain(checkBodies[0]?.status);
    const last = checkBodies.at(-1)!;
    expect(last).toMatchObject({ status: "completed", conclusion: "success" });
    expect(JSON.stringify(checkBodies)).not.toContain(TOKEN);
    expect(statuses).toEqual(["queued", "in_progress", "success"]);
  });
});
