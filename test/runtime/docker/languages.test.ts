// The apps people bring, built without a Dockerfile on the real engine: a Go service and a Flask server with
// a background worker, from test/fixtures/apps, on base images made from this machine's Debian packages
// (test/helpers/language-images.ts), served through the router and redeployed under load.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerRuntime, type DockerRuntime } from "../../../src/runtime/docker/docker-runtime.js";
import { Router } from "../../../src/router/router.js";
import type { BuildRequest, RolloutRequest } from "../../../src/runtime/runtime.js";
import { layerIdsIn, removeLabelled, removeLayers, TEST_LABEL } from "../../helpers/docker-images.js";
import { ensureGoImage, ensurePythonImage, goImageUnavailable, pythonImageUnavailable } from "../../helpers/language-images.js";
import { dockerUnavailable } from "../../helpers/services.js";
import { get, startLoad, until } from "./test-app.js";

const runId = `languages-${process.pid}`;
const testLabels = { [`${TEST_LABEL}.run`]: runId };
const log = pino({ level: "silent" });
const limits = { memory: 256 * 1024 * 1024, cpus: 0.5 };
const FIXTURES = join(import.meta.dirname, "../../fixtures/apps");
const unavailable = dockerUnavailable() || pythonImageUnavailable() || goImageUnavailable();
if (unavailable) console.log(`languages.test: skipped: ${typeof unavailable === "string" ? unavailable : "Docker engine not reachable"}`);

function post(port: number, host: string, path: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", headers: { host, "content-type": "application/octet-stream" } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe.skipIf(Boolean(unavailable))("apps without a Dockerfile on the real engine (Go, Python)", { timeout: 240_000 }, () => {
  const docker = new Dockerode();
  const buildLines: string[] = [];
  const dirs: string[] = [];
  let router: Router;
  let routerPort: number;
  let runtime: DockerRuntime;

  beforeAll(async () => {
    const images = { python: ensurePythonImage(), go: ensureGoImage() };
    const dataDir = mkdtempSync(join(tmpdir(), "berth-data-"));
    dirs.push(dataDir);
    router = new Router({ port: 0, baseDomain: "localhost", log });
    routerPort = await router.listen();
    runtime = createDockerRuntime({ docker, router, network: "host", images, dataDir, fastProbeMs: 50, workerStableSeconds: 2, labels: testLabels, log });
  }, 240_000);

  afterAll(async () => {
    runtime?.close();
    await router?.close();
    removeLabelled(`${TEST_LABEL}.run=${runId}`);
    removeLayers(layerIdsIn(buildLines));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function build(fixture: string, over: Partial<BuildRequest> & Pick<BuildRequest, "appId" | "component" | "kind">): Promise<{ image: string; lines: string[] }> {
    const source = mkdtempSync(join(tmpdir(), `berth-${fixture}-`));
    dirs.push(source);
    cpSync(join(FIXTURES, fixture), source, { recursive: true });
    const lines: string[] = [];
    const { image } = await runtime.build({
      deploymentId: "d1",
      sourceRoot: source,
      buildEnv: {},
      secrets: [],
      noCache: false,
      log: (l) => (lines.push(l), buildLines.push(l)),
      signal: new AbortController().signal,
      ...over,
    });
    return { image, lines };
  }

  function service(appId: string, image: string, version: string, over: Partial<RolloutRequest> = {}): RolloutRequest {
    return {
      appId,
      appName: appId,
      deploymentId: version,
      component: "web",
      kind: "service",
      image,
      env: { VERSION: version },
      secrets: [],
      instanceCount: 2,
      limits,
      httpPort: 8080,
      healthCheck: { httpPath: "/health", port: 8080, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 10 },
      termination: { drainSeconds: 1, gracePeriodSeconds: 10 },
      routes: [{ pathPrefix: "/", preservePathPrefix: false }],
      domains: [],
      log: () => undefined,
      signal: new AbortController().signal,
      ...over,
    };
  }

  /** Redeploys `appId` from v1 to v2 under keep-alive load; the app answers `${prefix} ${VERSION}`. */
  async function redeployUnderLoad(appId: string, image: string, prefix: string): Promise<void> {
    const load = startLoad(routerPort, `${appId}.localhost`, 2);
    await until(() => load.total() >= 200, "load before the redeploy", 60_000);
    await runtime.rollout(service(appId, image, "v2"));
    const after = load.total();
    await until(() => load.total() >= after + 200, "load after the redeploy", 60_000);
    const stats = await load.stop();
    expect(stats.errors, stats.lastErrors.join("\n")).toBe(0);
    expect(stats.non2xx, stats.lastErrors.join("\n")).toBe(0);
    expect(stats.bodies.get(`${prefix} v1`)).toBeGreaterThan(0);
    expect(stats.bodies.get(`${prefix} v2`)).toBeGreaterThan(0);
  }

  it("builds a Go service from its go.mod, serves it, and redeploys it without losing a request", async () => {
    const { image, lines } = await build("go-hello", { appId: "gohello", component: "web", kind: "service" });
    expect(lines).toContain("no dockerfile_path: generated a go build (go.mod found)");
    await runtime.rollout(service("gohello", image, "v1"));
    expect((await get(routerPort, "gohello.localhost")).body).toBe("go v1");
    await redeployUnderLoad("gohello", image, "go");
  });

  it("builds a Flask server from requirements.txt and its Procfile, takes an upload, and redeploys it without losing a request", async () => {
    // Without the layer cache, so the install step runs (and says where each requirement came from).
    const { image, lines } = await build("flask-worker", { appId: "flask", component: "web", kind: "service", noCache: true });
    expect(lines).toContain("no dockerfile_path: generated a python build (requirements.txt found)");
    expect(lines.join("\n")).toMatch(/Requirement already satisfied: flask/);
    await runtime.rollout(service("flask", image, "v1"));
    expect((await get(routerPort, "flask.localhost")).body).toBe("flask v1");
    const upload = await post(routerPort, "flask.localhost", "/upload", Buffer.alloc(256 * 1024, 7));
    expect(upload.status).toBe(201);
    expect(JSON.parse(upload.body)).toMatchObject({ job: 1, size: 256 * 1024 });
    await redeployUnderLoad("flask", image, "flask");
  });

  it("lets the Procfile's worker finish the task in hand on SIGTERM when a redeploy replaces it", async () => {
    const { image } = await build("flask-worker", { appId: "flask", component: "worker", kind: "worker" });
    const worker = (version: string): RolloutRequest => ({
      ...service("flask", image, version),
      component: "worker",
      kind: "worker",
      instanceCount: 1,
      httpPort: undefined,
      healthCheck: undefined,
      routes: [],
      termination: { drainSeconds: 0, gracePeriodSeconds: 10 },
    });
    await runtime.rollout(worker("v1"));
    const [old] = await docker.listContainers({ filters: { label: ["berth.app=flask", "berth.component=worker", `${TEST_LABEL}.run=${runId}`] } });
    const container = docker.getContainer(old!.Id);
    // Attached, the stream lasts as long as the process does (a followed log may end before its last lines).
    const output = await container.attach({ stream: true, stdout: true, stderr: true, logs: true });
    let text = "";
    output.on("data", (c: Buffer) => (text += c.toString("latin1")));
    const ended = new Promise((resolve) => output.on("end", resolve));
    await until(() => /task \d+ started/.test(text), "the old worker at work", 30_000);

    await runtime.rollout(worker("v2"));
    await ended;
    expect(text).toContain("worker: SIGTERM, finishing the current task");
    // The task in hand when SIGTERM came completed before the process exited on its own (not killed).
    const after = text.slice(text.indexOf("SIGTERM"));
    expect(after).toMatch(/task (\d+) done[\s\S]*worker: stopped cleanly/);
    const started = [...text.matchAll(/task (\d+) started/g)].map((m) => m[1]);
    expect(after).toContain(`task ${started.at(-1)} done`);
    expect((await container.inspect().catch(() => undefined))?.State.Running).not.toBe(true);
    const workers = await docker.listContainers({ all: true, filters: { label: ["berth.app=flask", "berth.component=worker", `${TEST_LABEL}.run=${runId}`] } });
    expect(workers.map((w) => w.Labels["berth.deployment"])).toEqual(["v2"]);
  });
});
