// The `berth` commands that talk to Berth, run against a running API (real pipeline, real store, memory
// runtime): in-process with a fake standard input, and once as a child process the way a user runs it.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run-cli.js";
import { OPERATOR_TOKEN, startApiServer, type ApiServer } from "../api/api-server.js";
import { API_KEY, pushIntent, sha } from "../pipeline/helpers.js";

let api: ApiServer;
let first: string;
let APP: string;

beforeAll(async () => {
  api = await startApiServer();
  APP = api.h.app.repository;
  first = (await api.h.pipeline.submit(pushIntent(api.h.app, sha(1)))).deploymentId!;
  await api.h.settled(first);
});
afterAll(() => api?.close());

async function berth(args: string[], options: { stdin?: string; token?: string; tty?: string } = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    readFile: async () => "",
    env: { BERTH_URL: api.url, BERTH_TOKEN: options.token ?? OPERATOR_TOKEN },
    readStdin: async () => options.stdin ?? "",
    stdinIsTTY: options.tty !== undefined,
    promptHidden: async () => options.tty ?? "",
    version: "9.9.9",
  });
  return { code, stdout, stderr };
}

describe("reading", () => {
  it("apps list, apps get, deployments list (text and --json)", async () => {
    const list = await berth(["apps", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(APP);
    const json = JSON.parse((await berth(["apps", "get", APP, "--json"])).stdout);
    expect(json.app.activeDeployment.id).toBe(first);
    const got = await berth(["apps", "get", APP]);
    expect(got.stdout).toMatch(/url: http/);
    expect(got.stdout).toContain("api (service)");
    const deployments = await berth(["deployments", "list", APP]);
    expect(deployments.stdout).toContain(first);
    for (const r of [list, got, deployments]) expect(r.stdout).not.toContain(API_KEY);
  });

  it("logs of the newest deployment, and --follow until it ends", async () => {
    const logs = await berth(["logs", APP]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^\[\w/);
    const followed = await berth(["logs", APP, "--deployment", first, "--follow"]);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe(logs.stdout);
  });

  it("names the cause, with documented exit codes, never a stack trace", async () => {
    const missing = await berth(["apps", "get", "acme/nothing"]);
    expect(missing).toMatchObject({ code: 4, stdout: "" });
    expect(missing.stderr).toBe("berth: Berth manages no app acme/nothing (production)\n");
    const refused = await berth(["apps", "list"], { token: "berth_wrong" });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("not valid");
    expect((await berth(["apps", "get", "not-a-repo"])).code).toBe(2);
    expect((await berth(["deploy"])).code).toBe(2);
    const unset = await runCli(["apps", "list"], { stdout: () => {}, stderr: () => {}, readFile: async () => "", env: {} });
    expect(unset).toBe(2);
    const down = await runCli(["apps", "list"], {
      stdout: () => {},
      stderr: () => {},
      readFile: async () => "",
      env: { BERTH_URL: "http://127.0.0.1:9", BERTH_TOKEN: "x" },
    });
    expect(down).toBe(5);
    expect((await berth(["--version"])).stdout).toBe("berth 9.9.9\n");
  });
});

describe("actions", () => {
  it("deploy --wait, deploy --force-rebuild, restart --components, rollback", async () => {
    const deployed = await berth(["deploy", APP, "--wait"]);
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toMatch(/ACTIVE/);
    const rebuilt = JSON.parse((await berth(["deploy", APP, "--force-rebuild", "--sha", sha(2), "--wait", "--json"])).stdout);
    expect(rebuilt.deployment).toMatchObject({ phase: "ACTIVE", sha: sha(2), cause: { type: "force_rebuild" } });
    const restarted = JSON.parse((await berth(["restart", APP, "--components", "api,queue", "--wait", "--json"])).stdout);
    expect(restarted.deployment.cause).toMatchObject({ type: "restart", components: ["api", "queue"] });
    const rolled = JSON.parse((await berth(["rollback", APP, first, "--wait", "--json"])).stdout);
    expect(rolled.deployment).toMatchObject({ phase: "ACTIVE", sha: sha(1) });
  });

  it("cancel of a finished deployment is refused (exit 1)", async () => {
    const r = await berth(["cancel", first]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("already");
  });
});

describe("secrets and tokens", () => {
  it("secrets set (stdin or hidden prompt), list, unset; the value is never printed", async () => {
    const value = "value-from-standard-input-42";
    const set = await berth(["secrets", "set", APP, "DB_PASSWORD"], { stdin: `${value}\n` });
    expect(set.code).toBe(0);
    expect([...api.secrets.values_.values()].map((v) => v.value)).toContain(value);
    expect((await berth(["secrets", "set", APP, "TYPED", "--previews"], { tty: "typed-value" })).code).toBe(0);
    const list = await berth(["secrets", "list", APP]);
    expect(list.stdout).toContain("DB_PASSWORD");
    expect(list.stdout).not.toContain(value);
    expect((await berth(["secrets", "list", APP, "--previews", "--json"])).stdout).toContain("TYPED");
    expect((await berth(["secrets", "set", APP, "EMPTY"], { stdin: "" })).code).toBe(2);
    expect((await berth(["secrets", "unset", APP, "DB_PASSWORD"])).code).toBe(0);
    expect((await berth(["secrets", "unset", APP, "DB_PASSWORD"])).code).toBe(4);
  });

  it("tokens create, list, revoke", async () => {
    const created = await berth(["tokens", "create", "laptop"]);
    const token = created.stdout.trim();
    expect(token).toMatch(/^berth_/);
    expect((await berth(["apps", "list"], { token })).code).toBe(0);
    const listed = JSON.parse((await berth(["tokens", "list", "--json"])).stdout);
    const id = listed.tokens.find((t: { name: string }) => t.name === "laptop").id as string;
    expect((await berth(["tokens", "revoke", id])).code).toBe(0);
    expect((await berth(["apps", "list"], { token })).code).toBe(3);
  });
});

describe("the installed command", () => {
  it("runs as a child process against the server", async () => {
    const bin = join(import.meta.dirname, "../../bin/berth.js");
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, [bin, ...args], { env: { ...process.env, BERTH_URL: api.url, BERTH_TOKEN: OPERATOR_TOKEN }, timeout: 20_000 }, (err, stdout) =>
          resolve({ code: err ? Number(err.code) : 0, stdout }),
        );
      });
    const listed = await run(["apps", "list", "--json"]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).apps.map((a: { app: { repository: string } }) => a.app.repository)).toContain(APP);
  });
});
