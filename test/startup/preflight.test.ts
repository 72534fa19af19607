import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import { afterEach, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import { dataDirCheck, databaseCheck, describeStartupFailure, dockerCheck, portClaims, portsCheck, StartupError } from "../../src/startup/preflight.js";

const open: Server[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await new Promise((resolve) => s.close(resolve));
});

async function occupied(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  open.push(server);
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const port = await occupied();
  await new Promise((resolve) => open.pop()!.close(resolve));
  return port;
}

describe("preflight", () => {
  it("names the Docker socket and what to do when the engine is not there", async () => {
    const problem = await dockerCheck("/nonexistent/docker.sock", new Dockerode({ socketPath: "/nonexistent/docker.sock" }))();
    expect(problem).toBe(
      "Docker engine not reachable at /nonexistent/docker.sock (ENOENT): start Docker, set DOCKER_HOST to its socket, or set BERTH_RUNTIME=memory to try Berth without running apps",
    );
  });

  it("names DATABASE_URL, without its password, when PostgreSQL does not answer", async () => {
    const port = await freePort();
    const problem = await databaseCheck(`postgres://berth:hunter2secret@127.0.0.1:${port}/berth`)();
    expect(problem).toMatch(new RegExp(`^DATABASE_URL: cannot connect to PostgreSQL at berth@127\\.0\\.0\\.1:${port}/berth \\(ECONNREFUSED\\): start PostgreSQL`));
    expect(problem).not.toContain("hunter2secret");
  });

  it.skipIf(!process.env.BERTH_TEST_DATABASE_URL)("passes a PostgreSQL that answers", async () => {
    expect(await databaseCheck(process.env.BERTH_TEST_DATABASE_URL!)()).toBeUndefined();
  });

  it("names BERTH_DATA_DIR when it cannot be written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-preflight-"));
    try {
      writeFileSync(join(dir, "file"), "");
      expect(await dataDirCheck(join(dir, "file", "data"))()).toMatch(/^BERTH_DATA_DIR: .*file\/data is not a writable directory \(ENOTDIR\)/);
      expect(await dataDirCheck(join(dir, "data"))()).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the setting of each port in use, including two settings naming the same port", async () => {
    const busy = await occupied();
    const free = await freePort();
    const problems = await portsCheck([
      { setting: "PORT", host: "127.0.0.1", port: busy },
      { setting: "BERTH_ROUTER_PORT", host: "127.0.0.1", port: free },
      { setting: "BERTH_METRICS_ADDRESS", host: "127.0.0.1", port: free },
      { setting: "PORT", host: "127.0.0.1", port: 0 },
    ])();
    expect(problems).toEqual([
      `PORT: 127.0.0.1:${busy} is already in use (another Berth, or another program): stop it or set PORT to a free port`,
      `BERTH_METRICS_ADDRESS: 127.0.0.1:${free} is already in use (another Berth, or another program): stop it or set BERTH_METRICS_ADDRESS to a free port`,
    ]);
  });

  it("claims the router and metrics ports only once the app is registered, the router's only with Docker", () => {
    const config = readConfig({ HOST: "127.0.0.1", PORT: "3001", BERTH_METRICS_ADDRESS: "127.0.0.1:9464" });
    expect(portClaims(config, false)).toEqual([{ setting: "PORT", host: "127.0.0.1", port: 3001 }]);
    expect(portClaims(config, true).map((c) => c.setting)).toEqual(["PORT", "BERTH_ROUTER_PORT", "BERTH_METRICS_ADDRESS"]);
    expect(portClaims({ ...config, runtime: "memory" }, true).map((c) => c.setting)).toEqual(["PORT", "BERTH_METRICS_ADDRESS"]);
  });

  it("describes a failure in one line per problem, with a stack only at debug", () => {
    expect(describeStartupFailure(new StartupError(["PORT: a", "DATABASE_URL: b"]), "info")).toBe("Berth could not start: PORT: a\nBerth could not start: DATABASE_URL: b");
    expect(describeStartupFailure(new Error("boom"), "info")).toBe("Berth could not start: boom");
    expect(describeStartupFailure(new Error("boom"), "debug")).toMatch(/^Berth could not start: boom\nError: boom\n\s+at /);
  });
});
