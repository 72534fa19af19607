// Berth as a child process against a GitHub that accepts connections and never answers: SIGTERM while the
// webhook worker waits on it must still end the process, within BERTH_SHUTDOWN_GRACE plus the fixed margin
// (this test's own timeout is the bound), and the log must name what was abandoned.
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { example } from "./github/kit.js";
import { deliver } from "./webhooks/webhook-server.js";

const SECRET = "shutdown-secret";
let child: ChildProcess | undefined;
let github: Server | undefined;
const sockets: Socket[] = [];
let dataDir: string | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => (github ? github.close(resolve) : resolve(undefined)));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

it("exits on SIGTERM while GitHub never answers, naming what it abandoned", async () => {
  let connected!: () => void;
  const called = new Promise<void>((resolve) => (connected = resolve));
  github = createServer((socket) => {
    sockets.push(socket);
    connected();
  });
  const githubPort = await listen(github);
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), "berth-shutdown-"));
  const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dataDir,
      APP_ID: "1",
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: `127.0.0.1:${githubPort}`,
      GHE_PROTOCOL: "http",
      HOST: "127.0.0.1",
      PORT: String(port),
      BERTH_RUNTIME: "memory",
      BERTH_DATA_DIR: dataDir,
      BERTH_CATCH_UP_INTERVAL: "off",
      BERTH_SHUTDOWN_GRACE: "2s",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const running = new Promise<void>((resolve) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes("Berth is running")) resolve();
    };
    child!.stdout!.on("data", onData);
    child!.stderr!.on("data", onData);
  });
  const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));
  await running;

  const payload = example("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
  expect((await deliver(`http://127.0.0.1:${port}`, "delivery-1", payload, SECRET)).status).toBe(200);
  await called; // the worker now waits on GitHub
  child.kill("SIGTERM");

  expect(await exited).toBe(1);
  expect(output).toContain("webhook worker did not stop in time; abandoned");
  expect(output).toMatch(/exiting without waiting for: webhook worker/);
}, 60_000);
