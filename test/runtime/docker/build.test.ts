import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, imageReference, type BuildOptions } from "../../../src/runtime/docker/build.js";
import type { BuildRequest } from "../../../src/runtime/runtime.js";
import { RuntimeError } from "../../../src/runtime/runtime.js";
import { ensureTestImages, layerIdsIn, removeLabelled, removeLayers, TEST_LABEL } from "../../helpers/docker-images.js";
import { dockerUnavailable } from "../../helpers/services.js";

describe("imageReference", () => {
  it("spells registry sources the way the engine pulls them", () => {
    expect(imageReference({ registryType: "DOCKER_HUB", repository: "nginx", tag: "1.27" })).toBe("docker.io/nginx:1.27");
    expect(imageReference({ registryType: "DOCKER_HUB", registry: "bitnami", repository: "redis" })).toBe(
      "docker.io/bitnami/redis:latest",
    );
    expect(imageReference({ registryType: "GHCR", registry: "acme", repository: "api", digest: "sha256:ab" })).toBe(
      "ghcr.io/acme/api@sha256:ab",
    );
    expect(imageReference({ registryType: "DOCR", repository: "web", tag: "v1" })).toBe(
      "registry.digitalocean.com/web:v1",
    );
  });
});

describe.skipIf(dockerUnavailable())("buildImage on the real engine", () => {
  const run = `${TEST_LABEL}.run=build-${process.pid}`;
  const docker = new Dockerode();
  const lines: string[] = [];
  let opts: BuildOptions;
  const dirs: string[] = [];

  beforeAll(() => {
    const images = ensureTestImages();
    opts = {
      network: () => Promise.resolve({ mode: "host", release: () => Promise.resolve() }),
      docker,
      images: { node: images.node, python: "unused", go: "unused" },
      timeoutMs: 60_000,
      labels: { [run.split("=")[0]!]: run.split("=")[1]! },
    };
  });
  afterAll(() => {
    removeLabelled(run);
    removeLayers(layerIdsIn(lines));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function repo(files: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), "berth-build-"));
    dirs.push(root);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(root, name, ".."), { recursive: true });
      writeFileSync(join(root, name), text);
    }
    return root;
  }

  function request(sourceRoot: string, over: Partial<BuildRequest> = {}): BuildRequest & { output: string[] } {
    const output: string[] = [];
    return {
      appId: "app1",
      deploymentId: `d${Math.random().toString(36).slice(2, 8)}`,
      component: "web",
      kind: "service",
      sourceRoot,
      buildEnv: {},
      secrets: [],
      noCache: false,
      log: (l) => {
        output.push(l);
        lines.push(l);
      },
      signal: new AbortController().signal,
      output,
      ...over,
    };
  }

  const nodeApp = {
    "package.json": JSON.stringify({ name: "t", version: "1.0.0" }),
    "server.js": "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT)",
  };

  it("gives BUILD_TIME envs to the build without any secret reaching history, config or the log", async () => {
    const secret = "s3cret-Value-7781";
    const root = repo(nodeApp);
    const req = request(root, {
      buildEnv: { API_KEY: secret, PUBLIC_NAME: "it's plain" },
      secrets: [secret],
      buildCommand: `echo "key=$API_KEY"; printf %s "$API_KEY" | wc -c > keylen.txt; echo "$PUBLIC_NAME" > name.txt`,
      runCommand: "node server.js",
    });
    const { image } = await buildImage(opts, req);
    expect(req.output.join("\n")).toContain("key=[REDACTED]");
    expect(req.output.join("\n")).not.toContain(secret);

    const history = execFileSync("docker", ["history", "--no-trunc", image]).toString();
    const inspect = execFileSync("docker", ["image", "inspect", image]).toString();
    expect(history).not.toContain(secret);
    expect(inspect).not.toContain(secret);
    const files = execFileSync("docker", [
      "run", "--rm", "--network", "host", "--label", run, image, "sh", "-c",
      "cat /app/keylen.txt /app/name.txt; ls -a /app; ls /berth 2>&1 || true",
    ]).toString();
    expect(files).toContain(`${secret.length}\n`);
    expect(files).toContain("it's plain");
    expect(files).not.toContain(".berth-build-web");
    expect(files).toContain("No such file");
    // the whole exported image, every layer included, holds no trace of it either
    const saved = execFileSync("docker", ["save", image], { maxBuffer: 1 << 30 });
    expect(saved.includes(Buffer.from(secret))).toBe(false);
  });

  it("reuses the layer cache between deploys and skips it on a force rebuild", { timeout: 120_000 }, async () => {
    const files = { ...nodeApp, "package.json": JSON.stringify({ name: "cache", scripts: { build: "echo built > b.txt" } }) };
    const first = request(repo(files), { runCommand: "node server.js", buildCommand: "date +%s%N > stamp.txt" });
    await buildImage(opts, first);
    const again = request(repo(files), { runCommand: "node server.js", buildCommand: "date +%s%N > stamp.txt" });
    await buildImage(opts, again);
    expect(again.output.filter((l) => l.includes("Using cache")).length).toBeGreaterThanOrEqual(4);
    const forced = request(repo(files), { runCommand: "node server.js", buildCommand: "date +%s%N > stamp.txt", noCache: true });
    await buildImage(opts, forced);
    expect(forced.output.some((l) => l.includes("Using cache"))).toBe(false);
  });

  it("fails with the build's last lines and the redacted error", async () => {
    const secret = "hunter2-hunter2";
    const req = request(repo(nodeApp), {
      buildEnv: { TOKEN: secret },
      secrets: [secret],
      buildCommand: `echo "about to fail with $TOKEN"; exit 3`,
    });
    const err = (await buildImage(opts, req).catch((e: unknown) => e)) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toMatch(/web: build failed: .*returned a non-zero code: 3/);
    expect(err.message).not.toContain(secret);
    expect(err.details.logTail?.join("\n")).toContain("about to fail with [REDACTED]");
  });

  it("stops a build that runs past the timeout", async () => {
    const req = request(repo(nodeApp), { buildCommand: "sleep 30" });
    const err = (await buildImage({ ...opts, timeoutMs: 1500 }, req).catch((e: unknown) => e)) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe("web: build timed out after 2 s (BERTH_BUILD_TIMEOUT)");
  });

  it("builds with the spec's Dockerfile, passing plain build envs as args and withholding secrets", async () => {
    const root = repo({
      "docker/Dockerfile": "FROM berth-test/busybox\nARG GREETING\nRUN echo \"greeting=$GREETING\" > /g.txt\nCMD [\"cat\", \"/g.txt\"]\n",
      "app/readme": "x",
    });
    const req = request(root, {
      sourceDir: "/app",
      dockerfilePath: "docker/Dockerfile",
      buildEnv: { GREETING: "hello", SECRET_KEY: "zzz-secret-zzz" },
      secrets: ["zzz-secret-zzz"],
    });
    const { image } = await buildImage(opts, req);
    expect(req.output.join("\n")).toContain("not passing SECRET_KEY as build args");
    const out = execFileSync("docker", ["run", "--rm", "--network", "host", "--label", run, image]).toString();
    expect(out).toBe("greeting=hello\n");
    expect(execFileSync("docker", ["history", "--no-trunc", image]).toString()).not.toContain("zzz-secret-zzz");
  });

  it("honours the app's .dockerignore without losing the generated build files", async () => {
    const root = repo({ ...nodeApp, ".dockerignore": ".*\n*.md\n", "notes.md": "ignored", ".env": "LOCAL=1" });
    const { image } = await buildImage(opts, request(root, { runCommand: "node server.js" }));
    const files = execFileSync("docker", ["run", "--rm", "--network", "host", "--label", run, image, "ls", "-a", "/app"]).toString();
    expect(files.split("\n").filter(Boolean).sort()).toEqual([".", "..", "package.json", "server.js"]);
    expect(readFileSync(join(root, ".dockerignore"), "utf8")).toBe(".*\n*.md\n");
  });

  it("refuses source_dir and dockerfile_path outside the repository before building", async () => {
    const root = repo({ ...nodeApp, "sub/x": "" });
    symlinkSync("/etc", join(root, "etc-link"));
    const cases: [Partial<BuildRequest>, RegExp][] = [
      [{ sourceDir: "../" }, /source_dir "\.\.\/" points outside the repository/],
      [{ sourceDir: "sub/../../.." }, /points outside the repository/],
      [{ sourceDir: "/etc-link" }, /source_dir "\/etc-link" is a symlink to \/etc, outside the repository/],
      [{ dockerfilePath: "../../etc/passwd" }, /dockerfile_path "\.\.\/\.\.\/etc\/passwd" points outside/],
      [{ dockerfilePath: "etc-link/passwd" }, /dockerfile_path "etc-link\/passwd" is a symlink to \/etc\/passwd/],
    ];
    for (const [over, message] of cases) {
      const req = request(root, over);
      await expect(buildImage(opts, req)).rejects.toThrow(message);
      expect(req.output).toEqual([]);
    }
  });

  it("keeps symlinks in the context as symlinks, so a link out of the repository copies nothing from the host", async () => {
    const outside = mkdtempSync(join(tmpdir(), "berth-outside-"));
    dirs.push(outside);
    const marker = `outside-${process.pid}-${Date.now()}`;
    writeFileSync(join(outside, "private.txt"), marker);
    const root = repo({ Dockerfile: "FROM berth-test/busybox\nCOPY . /ctx\n" });
    symlinkSync(join(outside, "private.txt"), join(root, "link"));
    const { image } = await buildImage(opts, request(root, { dockerfilePath: "Dockerfile" }));
    const out = execFileSync("docker", [
      "run", "--rm", "--network", "host", "--label", run, image, "sh", "-c", "ls -l /ctx/link; cat /ctx/link 2>&1 || true",
    ]).toString();
    expect(out).toContain(`/ctx/link -> ${join(outside, "private.txt")}`);
    expect(out).not.toContain(marker);
    const saved = execFileSync("docker", ["save", image], { maxBuffer: 1 << 30 });
    expect(saved.includes(Buffer.from(marker))).toBe(false);
  });
});
