// Isolated mode on the real engine. This machine's tests may send traffic to loopback only, so nothing here
// connects to a container's address: what the mode promises is read from `docker inspect` and from inside
// the containers (`docker exec`: the routing table, the sockets the network namespace sees, the embedded DNS
// answering on the container's own 127.0.0.11).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_CAPABILITIES } from "../../../src/runtime/docker/container-spec.js";
import { SINK_NETWORK, SINK_SUBNET, sinkNetworkSpec } from "../../../src/runtime/docker/metadata-sink.js";
import { createDockerRuntime, type DockerRuntime } from "../../../src/runtime/docker/docker-runtime.js";
import { Router } from "../../../src/router/router.js";
import type { RolloutRequest } from "../../../src/runtime/runtime.js";
import { ensureTestImages, layerIdsIn, removeLabelled, removeLayers, TEST_LABEL } from "../../helpers/docker-images.js";
import { dockerUnavailable } from "../../helpers/services.js";

const runId = `isolation-${process.pid}`;
const testLabels = { [`${TEST_LABEL}.run`]: runId };
const log = pino({ level: "silent" });
const appId = `iso-${process.pid}`;
const network = `berth-${appId}`;

function exec(container: string, script: string): string {
  return execFileSync("docker", ["exec", container, "sh", "-c", script], { stdio: "pipe" }).toString();
}

/** Hex local ports of listening TCP sockets in /proc/net/tcp text (state 0A). */
function listening(procNetTcp: string): Set<string> {
  return new Set(
    procNetTcp
      .split("\n")
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[3] === "0A")
      .map((cols) => cols[1]!.split(":")[1]!),
  );
}

describe.skipIf(dockerUnavailable())("isolated mode on the real engine", () => {
  const docker = new Dockerode();
  const buildLines: string[] = [];
  const dirs: string[] = [];
  let router: Router;
  let runtime: DockerRuntime;
  let busybox: string;

  const worker = (component: string): RolloutRequest => ({
    appId,
    appName: appId,
    deploymentId: "d1",
    component,
    kind: "worker",
    image: busybox,
    runCommand: "sleep 600",
    env: {},
    secrets: [],
    instanceCount: 1,
    limits: { memory: 64 * 1024 * 1024, cpus: 0.25 },
    termination: { drainSeconds: 0, gracePeriodSeconds: 1 },
    routes: [],
    domains: [],
    log: () => undefined,
    signal: new AbortController().signal,
  });

  beforeAll(async () => {
    busybox = ensureTestImages().busybox;
    const dataDir = mkdtempSync(join(tmpdir(), "berth-data-"));
    dirs.push(dataDir);
    router = new Router({ port: 0, baseDomain: "localhost", log });
    await router.listen();
    runtime = createDockerRuntime({ docker, router, network: "isolated", dataDir, workerStableSeconds: 1, labels: testLabels, log });
    await runtime.rollout(worker("alpha"));
    await runtime.rollout(worker("beta"));
  }, 120_000);

  afterAll(async () => {
    await runtime?.remove(appId).catch(() => undefined);
    runtime?.close();
    await router?.close();
    removeLabelled(`${TEST_LABEL}.run=${runId}`);
    removeLayers(layerIdsIn(buildLines));
    for (const name of [network, `${network}-build`]) await docker.getNetwork(name).remove().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function instanceOf(component: string): Promise<Dockerode.ContainerInspectInfo> {
    const [info] = await docker.listContainers({ filters: { label: [`berth.app=${appId}`, `berth.component=${component}`, `berth.role=instance`] } });
    expect(info, `${component} runs`).toBeDefined();
    return docker.getContainer(info!.Id).inspect();
  }

  it("puts the app's components on a network of their own, each under its component's name", async () => {
    const net = await docker.getNetwork(network).inspect();
    expect(net).toMatchObject({ Name: network, Driver: "bridge", Internal: false, Labels: { "berth.managed": "true", "berth.app": appId, ...testLabels } });
    const alpha = await instanceOf("alpha");
    const beta = await instanceOf("beta");
    expect(Object.keys(net.Containers ?? {}).sort()).toEqual([alpha.Id, beta.Id].sort());
    const sink = await docker.getNetwork(SINK_NETWORK).inspect();
    expect(sink).toMatchObject({ Internal: true, IPAM: { Config: [{ Subnet: SINK_SUBNET }] }, Options: sinkNetworkSpec().Options });
    expect(Object.keys(sink.Containers ?? {})).toEqual(expect.arrayContaining([alpha.Id, beta.Id]));
    expect(Object.keys(alpha.NetworkSettings.Networks).sort()).toEqual([SINK_NETWORK, network].sort());
    expect(alpha.NetworkSettings.Networks[network]!.Aliases).toContain("alpha");
    expect(beta.NetworkSettings.Networks[network]!.Aliases).toContain("beta");
  });

  it("lets one component resolve another by name, through the container's own DNS on 127.0.0.11", async () => {
    const alpha = await instanceOf("alpha");
    const beta = await instanceOf("beta");
    const answer = exec(alpha.Id, "nslookup beta");
    expect(answer).toContain(beta.NetworkSettings.Networks[network]!.IPAddress);
  });

  it("runs with every capability dropped but the seven, no new privileges, and the size's limits", async () => {
    const alpha = await instanceOf("alpha");
    expect(alpha.HostConfig).toMatchObject({
      NetworkMode: network,
      CapDrop: ["ALL"],
      CapAdd: APP_CAPABILITIES,
      SecurityOpt: ["no-new-privileges:true"],
      Privileged: false,
      PidsLimit: 4096,
      Memory: 64 * 1024 * 1024,
      NanoCpus: 250_000_000,
    });
    // CapEff of the app's process: CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, KILL 5, SETGID 6, SETUID 7, NET_BIND_SERVICE 10.
    const capEff = /CapEff:\s*([0-9a-f]+)/.exec(exec(alpha.Id, "cat /proc/1/status"))?.[1];
    const bits = [0, 1, 3, 5, 6, 7, 10].reduce((sum, bit) => sum + 2 ** bit, 0);
    expect(BigInt(`0x${capEff}`)).toBe(BigInt(bits));
  });

  it("shares no network namespace with the host: no host listener is visible, the default route is the app network's", async () => {
    const alpha = await instanceOf("alpha");
    const hostListeners = listening(execFileSync("cat", ["/proc/net/tcp"]).toString());
    const inside = listening(exec(alpha.Id, "cat /proc/net/tcp"));
    expect(hostListeners.size).toBeGreaterThan(0);
    expect([...inside].filter((port) => hostListeners.has(port))).toEqual([]);
    const routes = exec(alpha.Id, "ip -4 route").trim().split("\n").map((l) => l.trim());
    expect(routes.filter((r) => r.startsWith("default"))).toEqual([expect.stringMatching(/^default via \S+ dev eth0/)]);
    const ifaces = exec(alpha.Id, "ls /sys/class/net").trim().split(/\s+/).sort();
    expect(ifaces).toEqual(["eth0", "eth1", "lo"]);
  });

  // A route lookup only: nothing is sent. The whole link-local range is on the sink's link, where no host has
  // an address, so the metadata service is unreachable while every other address still leaves by eth0.
  it("gives app containers no route to the cloud metadata address, and the host keeps its own", async () => {
    const alpha = await instanceOf("alpha");
    expect(exec(alpha.Id, "ip route get 169.254.169.254")).toMatch(/^169\.254\.169\.254 dev eth1 /);
    expect(exec(alpha.Id, "ip route get 192.0.2.1")).toMatch(/via \S+ dev eth0/);
    expect(execFileSync("ip", ["-4", "addr"]).toString()).not.toContain("169.254.0.1");
    expect(execFileSync("ip", ["-4", "route"]).toString()).not.toContain(SINK_SUBNET);
  });

  it("runs a job on the app network, and a build on the app's build network, not the app's", async () => {
    const job = await runtime.runJob({
      appId,
      deploymentId: "d1",
      component: "migrate",
      image: busybox,
      runCommand: "nslookup alpha >/dev/null && echo resolved; ip route get 169.254.169.254",
      env: {},
      secrets: [],
      limits: { memory: 64 * 1024 * 1024, cpus: 0.25 },
      timeoutMs: 30_000,
      gracePeriodSeconds: 1,
      log: () => undefined,
      signal: new AbortController().signal,
    });
    expect(job.exitCode).toBe(0);
    expect(job.logTail).toContain("resolved");
    expect(job.logTail.join("\n")).toMatch(/169\.254\.169\.254 dev eth1 /);

    const source = mkdtempSync(join(tmpdir(), "berth-iso-src-"));
    dirs.push(source);
    // During the build, `alpha` must not resolve: the build network holds no instance of the app.
    writeFileSync(join(source, "Dockerfile"), `FROM ${busybox}\nRUN if nslookup alpha >/dev/null 2>&1; then echo reached-alpha; else echo alpha-unknown; fi; ip route get 169.254.169.254\n`);
    const built = await runtime.build({
      appId,
      deploymentId: "d1",
      component: "web",
      kind: "service",
      sourceRoot: source,
      dockerfilePath: "Dockerfile",
      buildEnv: {},
      secrets: [],
      noCache: true,
      log: (l) => buildLines.push(l),
      signal: new AbortController().signal,
    });
    expect(built.image).toBeTruthy();
    expect(buildLines.join("\n")).toContain("alpha-unknown");
    // The build ran in a holder's namespace on the build network and the sink; the holder is gone with the build.
    expect(buildLines.join("\n")).toMatch(/169\.254\.169\.254 dev eth1 /);
    expect(await docker.listContainers({ all: true, filters: { label: ["berth.role=build-netns", `berth.app=${appId}`] } })).toEqual([]);
    const buildNet = await docker.getNetwork(`${network}-build`).inspect();
    expect(buildNet).toMatchObject({ Driver: "bridge", Internal: false, Labels: { "berth.app": appId } });
  }, 120_000);

  it("removes the app's networks with the app", async () => {
    await runtime.remove(appId);
    const names = (await docker.listNetworks()).map((n) => n.Name);
    expect(names).not.toContain(network);
    expect(names).not.toContain(`${network}-build`);
  });
});
