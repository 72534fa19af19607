// The API and the CLI on Berth as a user runs it (`npm start`, the built JavaScript, the memory runtime, the
// fake GitHub): main.ts serves /api/v1 behind BERTH_API_TOKEN, and tokens issued through it work and revoke.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGitHub, type FakeGitHub } from "../fake-github/index.js";
import { BerthProcess } from "./harness.js";

const OPERATOR = "e2e-operator-token-0123456789abcdefghij";
const bin = join(import.meta.dirname, "../../bin/berth.js");

describe("the API on a running Berth", { timeout: 120_000 }, () => {
  let fake: FakeGitHub;
  let berth: BerthProcess;
  let url: string;

  beforeAll(async () => {
    fake = await startFakeGitHub({ checkResponses: false });
    berth = await BerthProcess.start(fake, { webhookSecret: "api-e2e-secret", env: { BERTH_RUNTIME: "memory", BERTH_API_TOKEN: OPERATOR }, listenTimeoutMs: 100_000 });
    url = `http://127.0.0.1:${berth.port}`;
  });
  afterAll(async () => {
    await berth?.stop();
    await fake?.close();
  });

  const cli = (args: string[], token = OPERATOR, input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [bin, ...args], { env: { ...process.env, BERTH_URL: url, BERTH_TOKEN: token }, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
      child.stdin?.end(input ?? "");
    });

  it("serves the OpenAPI document and refuses a request without a token in the one error shape", async () => {
    const doc = await fetch(`${url}/api/v1/openapi.json`);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
    const refused = await fetch(`${url}/api/v1/apps`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });

  it("issues a token with the operator's, which the CLI then uses until it is revoked", async () => {
    const created = await cli(["tokens", "create", "e2e", "--json"]);
    expect(created.code).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: { id: string; secret: string } };
    const listed = await cli(["apps", "list", "--json"], token.secret);
    expect(listed).toMatchObject({ code: 0 });
    expect(JSON.parse(listed.stdout)).toEqual({ apps: [] });
    expect((await cli(["tokens", "revoke", token.id])).code).toBe(0);
    const after = await cli(["apps", "list"], token.secret);
    expect(after.code).toBe(3);
    expect(after.stderr).toBe("berth: the token is not valid (unknown or revoked)\n");
  });

  it("keeps a secret set through the CLI from stdin, and shows its name, never its value", async () => {
    const value = "e2e-stored-secret-value-4711";
    const set = await cli(["secrets", "set", "acme/web", "API_KEY"], OPERATOR, `${value}\n`);
    expect(set, set.stderr).toMatchObject({ code: 0 });
    const listed = await cli(["secrets", "list", "acme/web", "--json"]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ environment: "production", secrets: [{ key: "API_KEY" }] });
    expect(set.stdout + listed.stdout).not.toContain(value);
    expect((await cli(["secrets", "unset", "acme/web", "API_KEY"])).code).toBe(0);
    expect(JSON.parse((await cli(["secrets", "list", "acme/web", "--json"])).stdout)).toMatchObject({ secrets: [] });
  });

  it("deploys an uploaded archive without GitHub, to ACTIVE", async () => {
    const root = mkdtempSync(join(tmpdir(), "berth-e2e-upload-"));
    try {
      mkdirSync(join(root, ".do"));
      writeFileSync(join(root, ".do/app.yaml"), "name: e2e-upload\nservices:\n  - name: web\n    git: { repo_clone_url: https://example.invalid/web.git }\n");
      writeFileSync(join(root, "server.js"), "console.log('hello')\n");
      await tar.c({ gzip: true, file: join(root, "src.tar.gz"), cwd: root }, [".do", "server.js"]);
      const res = await fetch(`${url}/api/v1/uploads/e2e-upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${OPERATOR}`, "content-type": "application/gzip" },
        body: readFileSync(join(root, "src.tar.gz")),
      });
      expect(res.status).toBe(202);
      const { deployment } = (await res.json()) as { deployment: { id: string } };
      // The event stream ends when the deployment is final.
      const stream = await fetch(`${url}/api/v1/deployments/${deployment.id}/logs/stream`, { headers: { authorization: `Bearer ${OPERATOR}` } });
      expect(await stream.text()).toContain('event: end\ndata: {"phase":"ACTIVE"}');
      const shown = await cli(["apps", "get", "upload/e2e-upload", "--json"]);
      expect(JSON.parse(shown.stdout).app.activeDeployment.id).toBe(deployment.id);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
