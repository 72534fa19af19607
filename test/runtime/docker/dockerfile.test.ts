import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildEnvFile, detectProject, generateDockerfile, type GenerateOptions } from "../../../src/runtime/docker/dockerfile.js";

const images = { node: "node:22", python: "python:3.12", go: "golang:1.23" };
const o = (over: Partial<GenerateOptions> = {}): GenerateOptions => ({
  component: "web",
  kind: "service",
  images,
  stagingDir: ".berth-build-web",
  ...over,
});

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), "berth-detect-"));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(d, name)), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return d;
}

describe("detectProject", () => {
  it("recognises Node, Python, Go and plain static sites", () => {
    expect(detectProject(dir({ "package.json": '{"dependencies":{"x":"1"},"scripts":{"build":"tsc"}}', "package-lock.json": "{}" }), "service", "web")).toEqual({
      language: "node",
      decidedBy: "package.json",
      lockFile: "package-lock.json",
      hasDependencies: true,
      hasBuildScript: true,
    });
    expect(detectProject(dir({ "requirements.txt": "flask\n", Procfile: "web: gunicorn app:app\nworker: celery\n" }), "service", "web")).toEqual({
      language: "python",
      decidedBy: "requirements.txt",
      pythonManifest: "requirements.txt",
      procfile: { web: "gunicorn app:app", worker: "celery" },
    });
    expect(detectProject(dir({ "go.mod": "module x\n" }), "service", "web")).toEqual({ language: "go", decidedBy: "go.mod", hasGoSum: false });
    expect(detectProject(dir({ "index.html": "" }), "static_site", "www")).toEqual({ language: "static", staticDirFound: undefined });
    expect(detectProject(dir({ "public/index.html": "" }), "static_site", "www")).toEqual({ language: "static", staticDirFound: "public", decidedBy: "public/" });
  });

  it("says what to add when nothing is recognised", () => {
    expect(() => detectProject(dir({ "main.rs": "" }), "service", "api")).toThrow(
      "api: no Dockerfile and no package.json, requirements.txt, pyproject.toml or go.mod in source_dir; add a Dockerfile and set dockerfile_path",
    );
    expect(() => detectProject(dir({ "package.json": "{oops" }), "service", "api")).toThrow(/api: package.json is not valid JSON/);
  });
});

describe("generateDockerfile", () => {
  it("Node: envs only in the build stage, install before copying the source, npm start by default", () => {
    expect(generateDockerfile({ language: "node", lockFile: "package-lock.json", hasBuildScript: true }, o()).split("\n")).toEqual([
      "FROM node:22 AS build",
      "WORKDIR /app",
      "COPY .berth-build-web/build-env /berth/build-env",
      "COPY package.json package-lock.json /app/",
      "RUN set -a && . /berth/build-env && set +a && npm ci",
      "COPY . /app",
      "RUN rm -rf /app/.berth-build-web",
      "RUN set -a && . /berth/build-env && set +a && npm run build",
      "FROM node:22",
      "WORKDIR /app",
      "COPY --from=build /app /app",
      'CMD ["/bin/sh", "-c", "npm start"]',
      "",
    ]);
  });

  it("Node without dependencies or lock file installs nothing and runs the run_command", () => {
    const text = generateDockerfile({ language: "node", hasDependencies: false }, o({ runCommand: 'node "server.js"' }));
    expect(text).not.toMatch(/npm (ci|install)/);
    expect(text).toContain('CMD ["/bin/sh", "-c", "node \\"server.js\\""]');
  });

  it("Python: a virtualenv carried to the final stage, Procfile's web line as the command", () => {
    const text = generateDockerfile({ language: "python", pythonManifest: "requirements.txt", procfile: { web: "gunicorn app:app" } }, o());
    expect(text).toContain("RUN set -a && . /berth/build-env && set +a && pip install --no-cache-dir -r requirements.txt");
    expect(text.split("FROM python:3.12\n")[1]).toBe(
      'WORKDIR /app\nENV VIRTUAL_ENV=/app/.venv PATH=/app/.venv/bin:$PATH\nCOPY --from=build /app /app\nCMD ["/bin/sh", "-c", "gunicorn app:app"]\n',
    );
    expect(() => generateDockerfile({ language: "python", pythonManifest: "pyproject.toml" }, o({ kind: "worker" }))).toThrow(
      'web: a Python worker needs a run_command or a Procfile with a "worker:" line',
    );
  });

  it("Go: builds a binary and runs it", () => {
    const text = generateDockerfile({ language: "go", hasGoSum: true }, o());
    expect(text).toContain("COPY go.mod go.sum /app/");
    expect(text).toContain("COPY --from=build /berth-out/app /usr/local/bin/app");
    expect(text).toMatch(/CMD \["\/bin\/sh", "-c", "app"\]\n$/);
  });

  it("static sites: plain ones copy the output dir into an empty image without any env file", () => {
    expect(generateDockerfile({ language: "static", staticDirFound: "public" }, o({ kind: "static_site" }))).toBe(
      'FROM scratch\nCOPY public /site\nCMD ["/berth-static-site"]\n',
    );
    expect(generateDockerfile({ language: "static" }, o({ kind: "static_site", outputDir: "/site/out/" }))).toContain("COPY site/out /site");
  });

  it("static sites with a build copy only the output dir out of the build stage", () => {
    const text = generateDockerfile({ language: "node", hasBuildScript: true }, o({ kind: "static_site", outputDir: "dist" }));
    expect(text).toContain('if [ -z "$out" ] && [ -d "dist" ]; then out="dist"; fi');
    expect(text.endsWith('FROM scratch\nCOPY --from=build /berth-site /site\nCMD ["/berth-static-site"]\n')).toBe(true);
  });
});

describe("buildEnvFile", () => {
  it("quotes every value for sh, quotes included", () => {
    expect(buildEnvFile({ A: "plain", B: "it's $HOME `x`" })).toBe("export A='plain'\nexport B='it'\\''s $HOME `x`'\n");
  });
  it("refuses a name the shell cannot export", () => {
    expect(() => buildEnvFile({ "BAD-NAME": "x" })).toThrow('build env name "BAD-NAME" is not a valid variable name');
  });
});
