// Deploy from an uploaded tar.gz, without GitHub: the archive is kept under its digest, the pipeline reads the
// spec and the tree from it, and the app goes ACTIVE.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUploadSource, withUploads } from "../../src/api/upload-source.js";
import { FakeSource } from "../pipeline/helpers.js";
import { OPERATOR_TOKEN, startApiServer, type ApiServer } from "./api-server.js";

const SPEC = "name: uploaded\nservices:\n  - name: web\n    git: { repo_clone_url: https://example.invalid/web.git }\n    http_port: 8080\n";
let dir: string;
let api: ApiServer;

async function archiveOf(files: Record<string, string>): Promise<Buffer> {
  const root = mkdtempSync(join(dir, "src-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const file = join(dir, `${Math.random().toString(36).slice(2)}.tar.gz`);
  await tar.c({ gzip: true, file, cwd: root }, Object.keys(files));
  return readFileSync(file);
}

const upload = (name: string, body: Buffer) =>
  fetch(`${api.url}/api/v1/uploads/${name}`, { method: "POST", headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, "content-type": "application/gzip" }, body });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-upload-"));
  const uploads = createUploadSource({ dir: join(dir, "uploads") });
  api = await startApiServer({ uploads }, undefined, { source: withUploads(uploads, new FakeSource()) });
});
afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("POST /uploads/{name}", () => {
  it("deploys the archive's spec and tree", async () => {
    const res = await upload("uploaded", await archiveOf({ ".do/app.yaml": SPEC, "server.js": "console.log('hi')\n" }));
    expect(res.status).toBe(202);
    const body = (await res.json()) as { deployment: { id: string; app: { repository: string; installationId: number }; sha: string } };
    expect(body.deployment.app).toMatchObject({ repository: "upload/uploaded", installationId: 0 });
    expect(body.deployment.sha).toMatch(/^[0-9a-f]{64}$/);
    const done = await api.h.settled(body.deployment.id);
    expect(done.phase).toBe("ACTIVE");
    const app = await api.call("GET", "/apps/upload/uploaded");
    expect(app.body.app.components).toEqual([{ name: "web", kind: "service" }]);
  });

  it("refuses an archive without a spec, or no archive at all", async () => {
    const none = await upload("nospec", await archiveOf({ "README.md": "no spec\n" }));
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: { message: string } }).error.message).toContain(".do/app.yaml");
    expect((await upload("garbage", Buffer.from("not a tarball"))).status).toBe(400);
    expect((await upload("Bad_Name", Buffer.from("x"))).status).toBe(400);
  });
});

describe("berth up", () => {
  it("packs a directory, uploads it, follows the deploy and prints the URL", async () => {
    const { runCli } = await import("../../src/cli/run-cli.js");
    const { readFile } = await import("node:fs/promises");
    const root = mkdtempSync(join(dir, "up-"));
    mkdirSync(join(root, ".do"));
    writeFileSync(join(root, ".do/app.yaml"), SPEC.replace("uploaded", "up-app"));
    mkdirSync(join(root, "node_modules"));
    writeFileSync(join(root, "node_modules/huge.js"), "left out\n");
    let stdout = "";
    let stderr = "";
    const code = await runCli(["up", root], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      readFile: (p) => readFile(p, "utf8"),
      env: { BERTH_URL: api.url, BERTH_TOKEN: OPERATOR_TOKEN },
    });
    expect(stderr).toContain("uploading");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^http/);
    const broken = await runCli(["up", join(dir, "nowhere")], { stdout: () => {}, stderr: () => {}, readFile: (p) => readFile(p, "utf8"), env: { BERTH_URL: api.url, BERTH_TOKEN: OPERATOR_TOKEN } });
    expect(broken).toBe(2);
  });
});
