// Berth started as a user starts it, with something missing: it exits non-zero with one line naming the setting
// and what to do, no stack trace, and before the store or the router exist.
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs src/main.ts with only `env` (plus registered credentials) and resolves with its exit code and output. */
function start(env: Record<string, string>): Promise<{ code: number | null; lines: string[]; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), "berth-fail-"));
  dirs.push(dataDir);
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dataDir,
      APP_ID: "1",
      PRIVATE_KEY: pem,
      WEBHOOK_SECRET: "s",
      HOST: "127.0.0.1",
      PORT: "0",
      BERTH_DATA_DIR: join(dataDir, "data"),
      BERTH_RUNTIME: "memory",
      DATABASE_URL: "",
      WEBHOOK_PROXY_URL: "",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, lines: output.split("\n").filter(Boolean), dataDir })));
}

describe("a start that cannot work", { timeout: 120_000 }, () => {
  it("without a Docker engine: one line naming the socket, DOCKER_HOST and BERTH_RUNTIME, nothing opened", async () => {
    const { code, lines, dataDir } = await start({ BERTH_RUNTIME: "docker", DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    expect(code).toBe(1);
    expect(lines).toEqual([
      "Berth could not start: Docker engine not reachable at unix:///nonexistent/docker.sock (ENOENT): start Docker, set DOCKER_HOST to its socket, or set BERTH_RUNTIME=memory to try Berth without running apps",
    ]);
    expect(existsSync(join(dataDir, "data")) ? readdirSync(join(dataDir, "data")) : []).not.toContain("berth.sqlite");
  });

  it("with a database that does not answer: one line naming DATABASE_URL", async () => {
    const { code, lines } = await start({ DATABASE_URL: `postgres://berth:pw-not-shown@127.0.0.1:${await freePort()}/berth` });
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Berth could not start: DATABASE_URL: cannot connect to PostgreSQL at berth@127\.0\.0\.1:\d+\/berth \(ECONNREFUSED\)/);
    expect(lines[0]).not.toContain("pw-not-shown");
  });

  it("with PORT in use: one line naming PORT", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const { code, lines } = await start({ PORT: String(port) });
      expect(code).toBe(1);
      expect(lines).toEqual([`Berth could not start: PORT: 127.0.0.1:${port} is already in use (another Berth, or another program): stop it or set PORT to a free port`]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("with a PEM-looking PRIVATE_KEY that is no key, and PORT=0x10: the configuration error names both", async () => {
    const { code, lines } = await start({ PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----", PORT: "0x10" });
    expect(code).toBe(1);
    expect(lines[0]).toBe("Berth's configuration is invalid:");
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(/^ {2}- PORT: must be a port number \(0-65535\), got "0x10"$/),
      expect.stringMatching(/^ {2}- PRIVATE_KEY: looks like a PEM private key but is not one \(/),
    ]);
  });
});
