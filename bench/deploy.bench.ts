// Berth's deploy of a small Node app (build + start + first healthy probe) against the same work done by hand
// with the docker CLI in the same run: `docker build` of the same Dockerfile, `docker run`, then probing
// every 250 ms (Berth's first-probe interval) until the app answers. Each round edits server.js, as a push
// would, so both paths rebuild the source layers and reuse the base layers. Rounds alternate which path goes first.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Dockerode from "dockerode";
import pino from "pino";
import { createDockerRuntime } from "../src/runtime/docker/docker-runtime.js";
import { buildEnvFile, generateDockerfile } from "../src/runtime/docker/dockerfile.js";
import { freePort } from "../src/runtime/docker/engine.js";
import { Router } from "../src/router/router.js";
import { ensureTestImages, removeLabelled, TEST_LABEL } from "../test/helpers/docker-images.js";
import { SERVER_JS } from "../test/runtime/docker/test-app.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const PROBE_MS = 250;
const label = `${TEST_LABEL}.run=bench-${process.pid}`;
const log = pino({ level: "silent" });

function probeOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) < 400);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => (req.destroy(), resolve(false)));
    req.end();
  });
}

async function untilHealthy(port: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await probeOnce(port)) return;
    await new Promise((r) => setTimeout(r, PROBE_MS));
  }
  throw new Error("app never answered");
}

function appDir(): string {
  const root = mkdtempSync(join(tmpdir(), "berth-bench-"));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "bench", version: "1.0.0" }));
  writeFileSync(join(root, "server.js"), SERVER_JS);
  return root;
}

const listImageIds = () => execFileSync("docker", ["images", "-aq"]).toString().split("\n").filter(Boolean);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const images = ensureTestImages();
  const imagesBefore = new Set(listImageIds());
  const [labelKey, labelValue] = label.split("=") as [string, string];
  const router = new Router({ port: 0, baseDomain: "localhost", log });
  await router.listen();
  const dataDir = mkdtempSync(join(tmpdir(), "berth-bench-data-"));
  const runtime = createDockerRuntime({
    docker: new Dockerode(),
    router,
    network: "host",
    images: { node: images.node },
    dataDir,
    labels: { [labelKey]: labelValue },
    log,
  });
  const berthDir = appDir();
  const handDir = appDir();
  // The hand path builds exactly the Dockerfile Berth generates for this app.
  mkdirSync(join(handDir, ".berth-build-web"));
  writeFileSync(
    join(handDir, ".berth-build-web", "Dockerfile"),
    generateDockerfile(
      { language: "node", hasDependencies: false, hasBuildScript: false },
      { component: "web", kind: "service", images: { node: images.node, python: "", go: "" }, stagingDir: ".berth-build-web", runCommand: "node server.js" },
    ),
  );
  writeFileSync(join(handDir, ".berth-build-web", "build-env"), buildEnvFile({ NODE_ENV: "production" }));

  const berth: number[] = [];
  const hand: number[] = [];

  async function deployWithBerth(round: number): Promise<{ total: number; build: number }> {
    const t = performance.now();
    const { image } = await runtime.build({
      appId: "bench",
      deploymentId: `r${round}`,
      component: "web",
      kind: "service",
      sourceRoot: berthDir,
      runCommand: "node server.js",
      buildEnv: { NODE_ENV: "production" },
      secrets: [],
      noCache: false,
      log: () => undefined,
      signal: new AbortController().signal,
    });
    const build = performance.now() - t;
    await runtime.rollout({
      appId: "bench",
      appName: "bench",
      deploymentId: `r${round}`,
      component: "web",
      kind: "service",
      image,
      runCommand: "node server.js",
      env: {},
      secrets: [],
      instanceCount: 1,
      limits: { memory: 512 * 1024 * 1024, cpus: 1 },
      httpPort: 8080,
      healthCheck: { httpPath: "/", port: 8080, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 9 },
      termination: { drainSeconds: 0, gracePeriodSeconds: 1 },
      routes: [{ pathPrefix: "/", preservePathPrefix: false }],
      domains: [],
      log: () => undefined,
      signal: new AbortController().signal,
    });
    const total = performance.now() - t;
    await runtime.remove("bench");
    return { total, build };
  }

  async function deployByHand(round: number): Promise<{ total: number; build: number }> {
    const t = performance.now();
    const tag = `berth-bench/hand:r${round}`;
    execFileSync("docker", ["build", "-q", "--label", label, "--network", "host", "-t", tag, "-f", ".berth-build-web/Dockerfile", "."], {
      cwd: handDir,
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: "pipe",
    });
    const build = performance.now() - t;
    const port = await freePort();
    const id = execFileSync("docker", ["run", "-d", "--network", "host", "--label", label, "-e", `PORT=${port}`, tag]).toString().trim();
    await untilHealthy(port);
    const total = performance.now() - t;
    execFileSync("docker", ["rm", "-f", id], { stdio: "pipe" });
    return { total, build };
  }

  try {
    for (let round = 0; round <= ROUNDS; round++) {
      appendFileSync(join(berthDir, "server.js"), `\n// round ${round}\n`);
      appendFileSync(join(handDir, "server.js"), `\n// round ${round}\n`);
      // alternate who goes first, so neither always runs right after the other's cleanup
      let b: { total: number; build: number };
      let h: { total: number; build: number };
      if (round % 2 === 0) {
        b = await deployWithBerth(round);
        h = await deployByHand(round);
      } else {
        h = await deployByHand(round);
        b = await deployWithBerth(round);
      }
      // round 0 warms the base layers for both paths and is not counted
      if (round > 0) {
        berth.push(b.total);
        hand.push(h.total);
        console.log(
          `round ${round}: berth ${b.total.toFixed(0)} ms (build ${b.build.toFixed(0)}), ` +
            `docker CLI by hand ${h.total.toFixed(0)} ms (build ${h.build.toFixed(0)})`,
        );
      }
    }
  } finally {
    runtime.close();
    await router.close();
    removeLabelled(label);
    execFileSync("sh", ["-c", "docker images -q 'berth-bench/hand' | xargs -r docker rmi -f"], { stdio: "pipe" });
    // build-stage layers of both paths (newest first, so children go before parents)
    for (const id of listImageIds().filter((i) => !imagesBefore.has(i))) {
      try {
        execFileSync("docker", ["rmi", id], { stdio: "pipe" });
      } catch {
        // already gone with its child
      }
    }
    for (const d of [berthDir, handDir, dataDir]) rmSync(d, { recursive: true, force: true });
  }
  const b = median(berth);
  const h = median(hand);
  console.log(`\ndeploy (build + start + first healthy probe), median of ${ROUNDS}:`);
  console.log(`  berth           ${b.toFixed(0)} ms`);
  console.log(`  docker CLI      ${h.toFixed(0)} ms`);
  console.log(`  ratio           ${(b / h).toFixed(2)} (target < 1.15)`);
}

await main();
