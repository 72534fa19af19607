// Berth as a user runs it — `npm start`, so the built JavaScript, in a child process — pointed at the fake
// GitHub, with its own data directory, router port and webhook secret. Also the test repository (a tiny Node app
// with `.do/app.yaml` and a Dockerfile on the test base image) and cleanup of whatever containers and images the
// run left.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FakeGitHub } from "../fake-github/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Where Probot's middleware listens for GitHub's deliveries unless Berth says otherwise. */
export const WEBHOOK_PATH = "/api/github/webhooks";

/**
 * The app in the test repository: answers `/` with JSON naming its version, its greeting and whether the
 * SECRET env reached it (never its value), `/health` with 200.
 */
export const SERVER_JS = `const http = require("http");
const body = JSON.stringify({ version: process.env.VERSION, greeting: process.env.GREETING, hasSecret: Boolean(process.env.API_TOKEN) });
http.createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(req.url === "/health" ? "{}" : body);
}).listen(Number(process.env.PORT || 8080), () => console.log("listening on " + (process.env.PORT || 8080)));
process.on("SIGTERM", () => process.exit(0));
`;

export const SECRET_VALUE = "e2e-secret-value-do-not-leak";

/** Files of the test repository at a version; `name` is the spec's app name (unique per test run). */
export function testRepositoryFiles(name: string, repository: string, version: string, baseImage: string): Record<string, string> {
  return {
    ".do/app.yaml": [
      `name: ${name}`,
      "services:",
      "  - name: web",
      "    github:",
      `      repo: ${repository}`,
      "      branch: main",
      "      deploy_on_push: true",
      "    dockerfile_path: Dockerfile",
      "    http_port: 8080",
      "    health_check:",
      "      http_path: /health",
      "    envs:",
      "      - key: VERSION",
      `        value: ${version}`,
      "      - key: GREETING",
      "        value: hello from berth",
      "      - key: API_TOKEN",
      `        value: ${SECRET_VALUE}`,
      "        type: SECRET",
      "",
    ].join("\n"),
    Dockerfile: `FROM ${baseImage}\nWORKDIR /app\nCOPY server.js /app/server.js\nCMD ["node", "/app/server.js"]\n`,
    "server.js": SERVER_JS,
    "package.json": JSON.stringify({ name, version: "1.0.0", private: true }, null, 2),
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface StartBerthOptions {
  webhookSecret: string;
  /** BERTH_CATCH_UP_INTERVAL; default `off`, so only tests about catch-up see it. */
  catchUpInterval?: string;
  env?: Record<string, string>;
  /** Start on the data directory and ports of a Berth that was stopped with `keepData` (a restart). */
  restartOf?: BerthProcess;
  /** How long Berth may take to listen (default 60 s). */
  listenTimeoutMs?: number;
}

export class BerthProcess {
  readonly output: string[] = [];
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly routerPort: number,
    readonly dataDir: string,
    readonly webhookSecret: string,
  ) {
    const collect = (chunk: Buffer): void => {
      this.output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    this.exited = new Promise((resolve) =>
      child.on("exit", (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
  }

  static async start(fake: FakeGitHub, options: StartBerthOptions): Promise<BerthProcess> {
    const previous = options.restartOf;
    const port = previous?.port ?? (await freePort());
    const routerPort = previous?.routerPort ?? (await freePort());
    const dataDir = previous?.dataDir ?? mkdtempSync(join(tmpdir(), "berth-e2e-"));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? tmpdir(),
      APP_ID: String(fake.appId),
      PRIVATE_KEY: fake.privateKey,
      WEBHOOK_SECRET: options.webhookSecret,
      GHE_HOST: fake.host,
      GHE_PROTOCOL: "http",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "debug",
      BERTH_DATA_DIR: dataDir,
      BERTH_ROUTER_PORT: String(routerPort),
      BERTH_ROUTER_HOST: "127.0.0.1",
      BERTH_DOCKER_NETWORK: "host",
      // Other test files share the engine; this Berth adopts and removes only its own containers.
      BERTH_INSTANCE: `e2e-${basename(dataDir)}`,
      BERTH_BASE_DOMAIN: "localhost",
      BERTH_RUNTIME: "docker",
      BERTH_CATCH_UP_INTERVAL: options.catchUpInterval ?? "off",
      NODE_ENV: "test",
      // Set empty rather than left out: Berth fills unset variables from a developer's .env, and empty means unset.
      DATABASE_URL: "",
      WEBHOOK_PROXY_URL: "",
      ...options.env,
    };
    // What `npm start` would compile first, compiled before the listen timeout starts.
    execFileSync(process.execPath, [join(ROOT, "bin/build.js"), "--if-stale"], { stdio: "inherit" });
    // Its own process group, so stop() ends npm, Berth and its router workers together.
    const child = spawn("npm", ["start", "--silent"], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const berth = new BerthProcess(child, port, routerPort, dataDir, options.webhookSecret);
    try {
      await berth.waitListening(options.listenTimeoutMs ?? 60_000);
    } catch (err) {
      await berth.stop();
      throw err;
    }
    return berth;
  }

  get webhookUrl(): string {
    return `http://127.0.0.1:${this.port}${WEBHOOK_PATH}`;
  }

  /** The process `npm start` runs as (the group leader of everything Berth started). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Signals only the process `npm start` runs as, as `kill <pid>` from a terminal or a supervisor would. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Signals the whole process group, as Ctrl-C in a terminal does. */
  signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid) signalGroup(this.child.pid, signal);
  }

  /** Resolves with the exit code of the process `npm start` runs as (null if a signal ended it). */
  async exit(): Promise<number | null> {
    await this.exited;
    return this.exitCode ?? null;
  }

  /** Whether any process of the group is left. */
  get groupAlive(): boolean {
    return this.child.pid !== undefined && groupAlive(this.child.pid);
  }

  /** Lines of Berth's output that contain `text`. */
  logLines(text: string): string[] {
    return this.output.filter((l) => l.includes(text));
  }

  /**
   * SIGTERM to the whole process group, then SIGKILL to whatever of it is left after `graceMs`: npm exits as soon
   * as it forwards the signal, so Berth's own exit is only seen by asking for the group. The data directory goes
   * too unless `keepData`. Resolves with whether Berth had to be killed.
   */
  async stop(options: { keepData?: boolean; graceMs?: number } = {}): Promise<{ killed: boolean }> {
    const pgid = this.child.pid;
    let killed = false;
    if (pgid && groupAlive(pgid)) {
      signalGroup(pgid, "SIGTERM");
      const deadline = Date.now() + (options.graceMs ?? 15_000);
      while (groupAlive(pgid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      if (groupAlive(pgid)) {
        killed = true;
        this.output.push(`[e2e harness] Berth did not exit within ${options.graceMs ?? 15_000} ms of SIGTERM; killed`);
        signalGroup(pgid, "SIGKILL");
        const killDeadline = Date.now() + 5_000;
        while (groupAlive(pgid) && Date.now() < killDeadline) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await this.exited;
    if (!options.keepData) rmSync(this.dataDir, { recursive: true, force: true });
    return { killed };
  }

  /** Resolves once Berth's HTTP server answers anything; rejects with its output if it exits first. */
  private async waitListening(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`Berth exited (code ${this.exitCode}) before listening:\n${this.output.slice(-40).join("\n")}`);
      const answered = await httpGet(this.port, "127.0.0.1", "/").then(
        () => true,
        () => false,
      );
      if (answered) return;
      if (Date.now() > deadline) {
        throw new Error(`Berth did not listen on ${this.port} within ${timeoutMs} ms:\n${this.output.slice(-40).join("\n")}`);
      }
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface HttpReply {
  status: number;
  body: string;
}

/** GET through 127.0.0.1:port with a chosen Host header (how the router is reached in tests). */
export function httpGet(port: number, host: string, path: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host }, agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${host}${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** GET an app by its public URL (`http://name.localhost:PORT/`), sent to 127.0.0.1 with that Host. */
export function getPublicUrl(url: string, path = "/"): Promise<HttpReply> {
  const u = new URL(url);
  return httpGet(Number(u.port || 80), u.host, `${u.pathname.replace(/\/$/, "")}${path}`);
}

/**
 * Finds and removes what Berth left in Docker for app `name`: its containers (by `berth.app-name`) and the
 * images built for the internal app ids those containers carried. Call `note()` while containers are up (after
 * each deploy) so ids of containers Berth itself already removed are still known at cleanup.
 */
export class DockerJanitor {
  private readonly appIds = new Set<string>();

  constructor(readonly name: string) {}

  note(): string[] {
    const rows = this.containers();
    for (const [, app] of rows) if (app) this.appIds.add(app);
    return rows.map(([id]) => id!);
  }

  cleanup(): void {
    try {
      const ids = this.note();
      if (ids.length) docker(["rm", "-f", "-v", ...ids]);
      for (const appId of this.appIds) {
        const images = docker(["images", "-q", "--filter", `label=berth.app=${appId}`]).split("\n").filter(Boolean);
        if (images.length) docker(["rmi", "-f", ...new Set(images)]);
      }
    } catch (err) {
      console.warn(`e2e cleanup of ${this.name} failed: ${(err as Error).message}`);
    }
  }

  /** `[container id, app id]` of every container of this app and of its previews (`<name>-pr-1`, …). */
  private containers(): string[][] {
    return docker(["ps", "-a", "--filter", "label=berth.managed=true", "--format", '{{.ID}} {{.Label "berth.app"}} {{.Label "berth.app-name"}}'])
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split(" "))
      .filter(([, , appName]) => appName === this.name || appName?.startsWith(`${this.name}-`));
  }
}

function docker(args: string[]): string {
  return execFileSync("docker", args, { stdio: "pipe" }).toString();
}
