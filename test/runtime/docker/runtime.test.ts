// The Docker runtime against the real engine and the real router: jobs, rollouts under load, failed rollouts,
// graceful termination, restart, adoption, static sites.
import { execFileSync } from "node:child_process";
import { rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerSpecFor } from "../../../src/runtime/docker/container-spec.js";
import { createDockerRuntime, type DockerRuntime } from "../../../src/runtime/docker/docker-runtime.js";
import { Router } from "../../../src/router/router.js";
import { RouterCluster } from "../../../src/router/router-cluster.js";
import type { RolloutRequest } from "../../../src/runtime/runtime.js";
import { RuntimeError } from "../../../src/runtime/runtime.js";
import { ensureTestImages, layerIdsIn, removeLabelled, removeLayers, TEST_LABEL } from "../../helpers/docker-images.js";
import { dockerUnavailable } from "../../helpers/services.js";
import { get, startLoad, until, writeStaticSite, writeTestApp } from "./test-app.js";

const runId = `runtime-${process.pid}`;
const testLabels = { [`${TEST_LABEL}.run`]: runId };
const log = pino({ level: "silent" });
const limits = { memory: 256 * 1024 * 1024, cpus: 0.5 };

describe.skipIf(dockerUnavailable())("Docker runtime on the real engine", () => {
  const docker = new Dockerode();
  const buildLines: string[] = [];
  const dirs: string[] = [];
  let router: Router | RouterCluster;
  let routerPort: number;
  let runtime: DockerRuntime;
  let image: string;
  let dataDir: string;

  const makeRuntime = (r: Router | RouterCluster) =>
    createDockerRuntime({
      docker,
      router: r,
      network: "host",
      images: { node: ensureTestImages().node },
      dataDir,
      fastProbeMs: 50,
      workerStableSeconds: 1,
      privatePortBase: 31000 + (process.pid % 1000) * 10,
      privatePortCount: 10,
      labels: testLabels,
      log,
    });

  beforeAll(async () => {
    ensureTestImages();
    dataDir = mkdtempSync(join(tmpdir(), "berth-data-"));
    dirs.push(dataDir);
    // As Berth runs it by default: the router in a worker process, every change crossing to it.
    router = new RouterCluster({ port: 0, baseDomain: "localhost", log, workers: 1 });
    routerPort = await router.listen();
    runtime = makeRuntime(router);
    const source = writeTestApp();
    dirs.push(source);
    ({ image } = await runtime.build({
      appId: "rt",
      deploymentId: "build1",
      component: "web",
      kind: "service",
      sourceRoot: source,
      runCommand: "node server.js",
      buildEnv: {},
      secrets: [],
      noCache: false,
      log: (l) => buildLines.push(l),
      signal: new AbortController().signal,
    }));
  });

  afterAll(async () => {
    runtime?.close();
    await router?.close();
    removeLabelled(`${TEST_LABEL}.run=${runId}`);
    removeLayers(layerIdsIn(buildLines));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function rolloutRequest(appId: string, deploymentId: string, over: Partial<RolloutRequest> = {}): RolloutRequest & { lines: string[] } {
    const lines: string[] = [];
    return {
      appId,
      appName: appId,
      deploymentId,
      component: "web",
      kind: "service",
      image,
      runCommand: "node server.js",
      env: { VERSION: deploymentId },
      secrets: [],
      instanceCount: 2,
      limits,
      httpPort: 8080,
      healthCheck: {
        httpPath: "/health",
        port: 8080,
        initialDelaySeconds: 0,
        periodSeconds: 1,
        timeoutSeconds: 1,
        successThreshold: 1,
        failureThreshold: 3,
      },
      termination: { drainSeconds: 1, gracePeriodSeconds: 10 },
      routes: [{ pathPrefix: "/", preservePathPrefix: false }],
      domains: [],
      log: (l) => lines.push(l),
      signal: new AbortController().signal,
      lines,
      ...over,
    };
  }

  const containersOf = (appId: string) =>
    execFileSync("docker", ["ps", "-a", "--filter", `label=berth.app=${appId}`, "--format", "{{.Names}} {{.State}}"])
      .toString()
      .split("\n")
      .filter(Boolean)
      .sort();

  it("runs a job with its envs, streams its output, returns the exit code and removes the container", async () => {
    const lines: string[] = [];
    const result = await runtime.runJob({
      appId: "jobs",
      deploymentId: "d1",
      component: "migrate",
      image,
      runCommand: 'echo "migrating with $DB_PASSWORD"; echo to stderr >&2; exit 4',
      env: { DB_PASSWORD: "pw-very-secret" },
      secrets: ["pw-very-secret"],
      limits,
      timeoutMs: 20_000,
      gracePeriodSeconds: 1,
      log: (l) => lines.push(l),
      signal: new AbortController().signal,
    });
    // stdout and stderr are separate streams: their relative order is not kept
    expect(result.exitCode).toBe(4);
    expect([...result.logTail].sort()).toEqual(["migrating with [REDACTED]", "to stderr"]);
    expect([...lines].sort()).toEqual(["migrating with [REDACTED]", "to stderr"]);
    expect(containersOf("jobs")).toEqual([]);
  });

  it("stops a job at its timeout and removes it", async () => {
    const err = (await runtime
      .runJob({
        appId: "jobs",
        deploymentId: "d2",
        component: "slow",
        image,
        runCommand: "echo started; sleep 30",
        env: {},
        secrets: [],
        limits,
        timeoutMs: 1000,
        gracePeriodSeconds: 1,
        log: () => undefined,
        signal: new AbortController().signal,
      })
      .catch((e: unknown) => e)) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe("slow: job did not finish within 1 s");
    expect(err.details.logTail).toEqual(["started"]);
    expect(containersOf("jobs")).toEqual([]);
  });

  it("redeploys a two-instance service under keep-alive load without losing a request", { timeout: 120_000 }, async () => {
    const first = await runtime.rollout(rolloutRequest("zero", "v1"));
    expect(first.instances).toHaveLength(2);
    expect((await get(routerPort, "zero.localhost")).body).toBe("v1");

    const load = startLoad(routerPort, "zero.localhost");
    await until(() => load.total() >= 1000, "load before the redeploy");
    await runtime.rollout(rolloutRequest("zero", "v2"));
    const after = load.total();
    await until(() => load.total() >= Math.max(after + 1000, 3500), "load after the redeploy");
    const stats = await load.stop();

    expect(stats.errors, stats.lastErrors.join("\n")).toBe(0);
    expect(stats.non2xx, stats.lastErrors.join("\n")).toBe(0);
    expect(stats.ok).toBeGreaterThanOrEqual(3000);
    expect(stats.bodies.get("v1")).toBeGreaterThan(0);
    expect(stats.bodies.get("v2")).toBeGreaterThan(0);
    expect((await get(routerPort, "zero.localhost")).body).toBe("v2");
    expect(containersOf("zero")).toEqual(["berth-zero-web-v2-0 running", "berth-zero-web-v2-1 running"]);
  });

  it("keeps the old version serving when the new one fails its health check, with the evidence", async () => {
    await runtime.rollout(rolloutRequest("sick", "v1"));
    const load = startLoad(routerPort, "sick.localhost");
    await until(() => load.total() >= 500, "load before the deploy");
    const bad = rolloutRequest("sick", "v2", {
      env: { VERSION: "v2", FAIL_HEALTH: "1" },
      routes: [{ pathPrefix: "/v2-only", preservePathPrefix: false }],
      healthCheck: { ...rolloutRequest("sick", "x").healthCheck!, periodSeconds: 0.3, failureThreshold: 3 },
    });
    const err = (await runtime.rollout(bad).catch((e: unknown) => e)) as RuntimeError;
    const before = load.total();
    await until(() => load.total() >= before + 500, "load after the failed deploy");
    const stats = await load.stop();

    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toMatch(/^web: instance \d of 2 did not become healthy: no successful health check within 0\.9 s; last probe: HTTP 500 from GET \/health$/);
    expect(err.details.probe).toBe("HTTP 500 from GET /health");
    expect(err.details.logTail?.[0]).toMatch(/^listening on \d+ as v2$/);
    expect(stats.errors + stats.non2xx, stats.lastErrors.join("\n")).toBe(0);
    expect([...stats.bodies.keys()]).toEqual(["v1"]);
    expect(containersOf("sick")).toEqual(["berth-sick-web-v1-0 running", "berth-sick-web-v1-1 running"]);
  });

  it("reports an instance that exits with its exit code and log tail", async () => {
    const err = (await runtime
      .rollout(rolloutRequest("crash", "v1", { runCommand: "echo boom; exit 7", instanceCount: 3 }))
      .catch((e: unknown) => e)) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toMatch(/^web: instance [123] of 3 did not become healthy: exited with code 7; last probe: .*; exit code 7$/);
    expect(err.details).toMatchObject({ component: "web", exitCode: 7, logTail: ["boom"] });
    expect(containersOf("crash")).toEqual([]);
  });

  it("stops waiting and removes the new instances when the deploy is canceled", async () => {
    const cancel = new AbortController();
    const req = rolloutRequest("cancel", "v1", { env: { VERSION: "v1", FAIL_HEALTH: "1" }, signal: cancel.signal });
    const pending = runtime.rollout(req);
    await until(() => containersOf("cancel").length === 2, "the new instances to exist");
    cancel.abort();
    await expect(pending).rejects.toThrow("web: rollout canceled");
    expect(containersOf("cancel")).toEqual([]);
  });

  it("lets an old instance finish a 3 s request after SIGTERM", async () => {
    const { instances } = await runtime.rollout(
      rolloutRequest("slow", "v1", { env: { VERSION: "v1", SLOW_MS: "3000" }, instanceCount: 1 }),
    );
    const slow = get(routerPort, "slow.localhost", "/slow");
    await until(() => router.inFlight(instances[0]!) === 1, "the slow request to be in flight");
    const redeploy = rolloutRequest("slow", "v2", { instanceCount: 1, termination: { drainSeconds: 1, gracePeriodSeconds: 10 } });
    await runtime.rollout(redeploy);
    expect(await slow).toEqual({ status: 200, body: "v1 slow" });
    expect(redeploy.lines).toContain("draining 1 old instance(s) for 1 s, then stopping them");
  });

  it("restarts a service with the same image while it keeps serving", async () => {
    const { instances } = await runtime.rollout(rolloutRequest("again", "v1"));
    const load = startLoad(routerPort, "again.localhost");
    await until(() => load.total() >= 500, "load before the restart");
    await runtime.restart({ appId: "again", deploymentId: "r1", log: () => undefined, signal: new AbortController().signal });
    const after = load.total();
    await until(() => load.total() >= after + 500, "load after the restart");
    const stats = await load.stop();
    expect(stats.errors + stats.non2xx, stats.lastErrors.join("\n")).toBe(0);
    expect([...stats.bodies.keys()]).toEqual(["v1"]);
    expect(containersOf("again")).toEqual(["berth-again-web-r1-0 running", "berth-again-web-r1-1 running"]);
    const ids = execFileSync("docker", ["ps", "-q", "--no-trunc", "--filter", "label=berth.app=again"]).toString();
    for (const old of instances) expect(ids).not.toContain(old);
  });

  it("adopts running instances after a Berth restart and removes an interrupted rollout's orphans", async () => {
    await runtime.rollout(rolloutRequest("adopt", "v1", { instanceCount: 1 }));
    const orphan = await docker.createContainer(
      containerSpecFor({
        role: "instance",
        name: "berth-adopt-web-v2-0.pending",
        appId: "adopt",
        component: "web",
        deploymentId: "v2",
        image,
        runCommand: "sleep 60",
        env: {},
        limits,
        network: "host",
        labels: testLabels,
      }),
    );
    await orphan.start();

    const fresh = new Router({ port: 0, baseDomain: "localhost", log });
    const freshPort = await fresh.listen();
    const restarted = makeRuntime(fresh);
    try {
      const result = await restarted.adopt();
      expect(result.adopted).toContain("berth-adopt-web-v1-0");
      expect(result.removed).toContain("berth-adopt-web-v2-0.pending");
      expect(await get(freshPort, "adopt.localhost")).toEqual({ status: 200, body: "v1" });
      expect(containersOf("adopt")).toEqual(["berth-adopt-web-v1-0 running"]);
    } finally {
      restarted.close();
      await fresh.close();
    }
  });

  it("runs a worker, and fails one that exits before it has run steadily", async () => {
    const ok = await runtime.rollout(
      rolloutRequest("work", "v1", { kind: "worker", runCommand: "echo working; sleep 60", instanceCount: 1, healthCheck: undefined, routes: [] }),
    );
    expect(ok.instances).toHaveLength(1);
    const err = (await runtime
      .rollout(rolloutRequest("work", "v2", { kind: "worker", runCommand: "echo oops; exit 2", instanceCount: 1, healthCheck: undefined, routes: [] }))
      .catch((e: unknown) => e)) as RuntimeError;
    expect(err.message).toBe("web: instance 1 of 1 did not become healthy: exited with code 2 before running for 1 seconds without exiting; exit code 2");
    expect(containersOf("work")).toEqual(["berth-work-web-v1-0 running"]);
  });

  it("serves a static site's output directory through the router and removes it with the app", async () => {
    const source = writeStaticSite();
    dirs.push(source);
    const { image: siteImage } = await runtime.build({
      appId: "site",
      deploymentId: "s1",
      component: "www",
      kind: "static_site",
      sourceRoot: source,
      buildEnv: { NOT_USED: "x" },
      secrets: [],
      noCache: false,
      log: (l) => buildLines.push(l),
      signal: new AbortController().signal,
    });
    await runtime.rollout(
      rolloutRequest("site", "s1", { component: "www", kind: "static_site", image: siteImage, instanceCount: 0 }),
    );
    expect(await get(routerPort, "site.localhost", "/")).toEqual({ status: 200, body: "<h1>hello static</h1>\n" });
    expect((await get(routerPort, "site.localhost", "/README.md")).status).toBe(404);

    const fresh = new Router({ port: 0, baseDomain: "localhost", log });
    const freshPort = await fresh.listen();
    const restarted = makeRuntime(fresh);
    try {
      expect((await restarted.adopt()).adopted).toContain("site/www (static site)");
      expect(await get(freshPort, "site.localhost", "/")).toEqual({ status: 200, body: "<h1>hello static</h1>\n" });
    } finally {
      restarted.close();
      await fresh.close();
    }
    await runtime.remove("site");
    expect((await get(routerPort, "site.localhost", "/")).status).toBe(404);
  });

  it("gives a service a stable private address that follows its current instances (host mode)", async () => {
    const address = runtime.privateAddress("priv", "web", 8080);
    expect(address.host).toBe("127.0.0.1");
    expect(runtime.privateAddress("priv", "web", 8080)).toEqual(address);
    await runtime.rollout(rolloutRequest("priv", "v1", { instanceCount: 1 }));
    expect(await get(address.port, "anything")).toEqual({ status: 200, body: "v1" });
    await runtime.rollout(rolloutRequest("priv", "v2", { instanceCount: 1, termination: { drainSeconds: 0, gracePeriodSeconds: 2 } }));
    expect(await get(address.port, "anything")).toEqual({ status: 200, body: "v2" });
  });

  it("rolls out the same deployment again (a retry) over its own instances", async () => {
    await runtime.rollout(rolloutRequest("retry", "d1", { instanceCount: 1 }));
    await runtime.rollout(rolloutRequest("retry", "d1", { instanceCount: 1, termination: { drainSeconds: 0, gracePeriodSeconds: 2 } }));
    expect(containersOf("retry")).toEqual(["berth-retry-web-d1-0 running"]);
    expect(await get(routerPort, "retry.localhost")).toEqual({ status: 200, body: "d1" });
  });

  it("removes every instance of an app", async () => {
    await runtime.rollout(rolloutRequest("gone", "v1", { instanceCount: 1 }));
    await runtime.remove("gone");
    expect(containersOf("gone")).toEqual([]);
    expect((await get(routerPort, "gone.localhost")).status).toBe(404);
  });
});
