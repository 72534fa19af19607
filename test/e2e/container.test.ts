// Berth's container image run as the README says: the host's network, the engine's socket, a named volume for
// /data, `--env-file .env` in the format the registration writes. Against the fake GitHub, a signed push is
// deployed and the app answers at its URL from the host; `docker stop` ends Berth through its SIGTERM path.
// Only the app network is `host` (BERTH_DOCKER_NETWORK), since this machine allows loopback traffic only, and
// the health interval is shortened so the first check does not wait 30 s.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushEvent, sendWebhook, startFakeGitHub, type FakeGitHub } from "../fake-github/index.js";
import { berthImage } from "../helpers/berth-image.js";
import { ensureTestImages } from "../helpers/docker-images.js";
import { dockerUnavailable } from "../helpers/services.js";
import { DockerJanitor, freePort, getPublicUrl, httpGet, testRepositoryFiles, uniqueName, WEBHOOK_PATH } from "./harness.js";

const SECRET = "container-webhook-secret";
const OWNER = "acme";
const SOCKET = "/var/run/docker.sock";
const DEPLOY_TIMEOUT = 180_000;

function docker(args: string[]): string {
  return execFileSync("docker", args, { stdio: "pipe" }).toString().trim();
}

/** One line per variable, PRIVATE_KEY quoted with its newlines escaped: how Probot's registration writes .env. */
function envFile(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${v.includes("\n") ? JSON.stringify(v) : v}`)
    .join("\n");
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const skip = dockerUnavailable() ?? ("reason" in berthImage() ? "no image" : null);

describe.skipIf(skip)("Berth's container image, run as the README says", { timeout: 240_000 }, () => {
  const name = uniqueName("ct");
  const repository = `${OWNER}/${name}`;
  const container = `berth-${name}`;
  const volume = `berth-${name}-data`;
  const janitor = new DockerJanitor(name);
  const dir = mkdtempSync(join(tmpdir(), "berth-container-"));
  let fake: FakeGitHub;
  let port: number;
  let routerPort: number;
  let appUrl: string;

  const logs = () => {
    const out = spawnSync("docker", ["logs", "--tail", "80", container], { encoding: "utf8" });
    return `${out.stdout}${out.stderr}`;
  };
  const state = () => JSON.parse(docker(["inspect", "--format", "{{json .State}}", container])) as {
    Running: boolean;
    ExitCode: number;
    OOMKilled: boolean;
    Health?: { Status: string };
  };

  async function healthy(): Promise<void> {
    await until("Berth's container to be healthy", 60_000, () => {
      const s = state();
      if (!s.Running) throw new Error(`Berth's container exited (${s.ExitCode})`);
      return s.Health?.Status === "healthy" ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });
  }

  beforeAll(async () => {
    const image = (berthImage() as { image: string }).image;
    const baseImage = ensureTestImages().node;
    fake = await startFakeGitHub();
    fake.state.addRepository({ owner: OWNER, name, files: testRepositoryFiles(name, repository, "v1", baseImage) });
    fake.state.addInstallation(OWNER, [repository]);
    [port, routerPort] = [await freePort(), await freePort()];
    const env = join(dir, ".env");
    writeFileSync(
      env,
      envFile({
        APP_ID: String(fake.appId),
        PRIVATE_KEY: fake.privateKey,
        WEBHOOK_SECRET: SECRET,
        GHE_HOST: fake.host,
        GHE_PROTOCOL: "http",
        PORT: String(port),
        BERTH_ROUTER_PORT: String(routerPort),
        // The default on a server with more than two cores: node as PID 1 must stop its router workers too.
        BERTH_ROUTER_WORKERS: "1",
        BERTH_DOCKER_NETWORK: "host",
        BERTH_INSTANCE: name,
        BERTH_CATCH_UP_INTERVAL: "off",
        LOG_LEVEL: "debug",
      }),
    );
    const group = String(statSync(SOCKET).gid);
    docker(["run", "-d", "--name", container, "--network", "host", "--stop-timeout", "45", "--health-interval", "1s",
      "-v", `${volume}:/data`, "-v", `${SOCKET}:${SOCKET}`, "--group-add", group, "--env-file", env, image]);
    await healthy();
  }, 120_000);

  afterAll(async () => {
    try {
      execFileSync("docker", ["rm", "-f", container], { stdio: "ignore" });
      execFileSync("docker", ["volume", "rm", "-f", volume], { stdio: "ignore" });
    } finally {
      janitor.cleanup();
      rmSync(dir, { recursive: true, force: true });
      await fake?.close();
    }
  }, 60_000);

  it("answers /healthz from the host and keeps its state in the volume, as the node user", async () => {
    expect((await httpGet(port, "127.0.0.1", "/healthz")).status).toBe(200);
    expect(docker(["exec", container, "id", "-u"])).toBe("1000");
    const data = docker(["exec", container, "ls", "-ln", "/data"]);
    expect(data).toMatch(/1000\s+1000\s+\d+.*berth\.sqlite/);
    expect(docker(["inspect", "--format", "{{json .Config.Healthcheck.Test}}", container])).toContain("/app/bin/healthcheck.js");
    expect(logs()).toMatch(/"workers":1.*"msg":"router listening"/);
  });

  it("deploys a signed push and the app answers at its URL from the host", async () => {
    const commit = fake.state.push(repository, "main", testRepositoryFiles(name, repository, "v2", ensureTestImages().node), { message: "v2" });
    const answer = await sendWebhook(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, {
      event: "push",
      payload: pushEvent(fake, repository, "main", commit),
      secret: SECRET,
    });
    expect(answer.status).toBeLessThan(300);
    const deployment = await fake
      .until(
        () => fake.state.deployments.find((d) => d.sha === commit.sha && ["success", "failure", "error"].includes(d.statuses.at(-1)?.state ?? "")),
        `a final deployment status for ${commit.sha.slice(0, 7)}`,
        DEPLOY_TIMEOUT,
      )
      .catch((err: Error) => {
        throw new Error(`${err.message}\n${logs()}`);
      });
    janitor.note();
    const last = deployment.statuses.at(-1)!;
    expect(last.state, logs()).toBe("success");
    expect(last.environmentUrl).toBe(`http://${name}.localhost:${routerPort}`);
    appUrl = last.environmentUrl;
    const reply = await getPublicUrl(last.environmentUrl);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ version: "v2", greeting: "hello from berth" });
    const runs = await fake.until(
      () => {
        const mine = fake.state.checkRuns.filter((r) => r.headSha === commit.sha);
        return mine.length > 0 && mine.every((r) => r.status === "completed") && mine;
      },
      `completed check runs on ${commit.sha.slice(0, 7)}`,
      DEPLOY_TIMEOUT,
    );
    expect(runs.map((r) => r.conclusion)).toEqual(runs.map(() => "success"));
  });

  it("stops on docker stop through its SIGTERM path, exit code 0", () => {
    docker(["stop", "--time", "45", container]);
    const s = state();
    expect(s.Running).toBe(false);
    expect(s.ExitCode, logs()).toBe(0);
    expect(logs()).toMatch(/"signal":"SIGTERM".*"msg":"stopping"|"msg":"stopping".*"signal":"SIGTERM"/);
    expect(logs()).not.toMatch(/abandoned/);
  });

  it("started again on the same volume, adopts the running instance and the app still answers", async () => {
    docker(["start", container]);
    await healthy();
    const reply = await getPublicUrl(appUrl);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ version: "v2" });
  });
});
