// Dockerfiles for components without one. Every generated build is two stages: the first runs install and
// build steps with the BUILD_TIME envs read from a file in the context (the classic builder records build args
// and ENV in `docker history`, so envs never go there); the second starts again from the base image and copies
// only the built tree, so neither the env file nor any layer that held it is part of the image.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ComponentKind } from "../runtime.js";
import { RuntimeError } from "../runtime.js";
import { existsIn } from "./build-context.js";

export interface BaseImages {
  node: string;
  python: string;
  go: string;
}

export const DEFAULT_BASE_IMAGES: BaseImages = {
  node: "node:22-bookworm",
  python: "python:3.12-bookworm",
  go: "golang:1.23-bookworm",
};

type Language = "node" | "python" | "go" | "static";

/** What the generator needs to know about a source directory; read by `detectProject`. */
export interface ProjectFacts {
  language: Language;
  /** The file that decided the language (static sites: the output directory found, if any). */
  decidedBy?: string;
  /** Node: lock files present and whether package.json has dependencies and a build script. */
  lockFile?: "package-lock.json" | "npm-shrinkwrap.json" | "yarn.lock" | "pnpm-lock.yaml";
  hasDependencies?: boolean;
  hasBuildScript?: boolean;
  /** Python. */
  pythonManifest?: "requirements.txt" | "pyproject.toml";
  procfile?: Record<string, string>;
  /** Go. */
  hasGoSum?: boolean;
  /** Static sites: the first of App Platform's default output dirs present in the source. */
  staticDirFound?: string;
}

export interface GenerateOptions {
  component: string;
  kind: ComponentKind;
  images: BaseImages;
  /** Directory (inside the context) holding the generated env file; removed from the built tree. */
  stagingDir: string;
  buildCommand?: string;
  runCommand?: string;
  outputDir?: string;
}

export const usesBuildEnv = (facts: ProjectFacts): boolean => facts.language !== "static";

const STATIC_OUTPUT_DIRS = ["_static", "dist", "public", "build"];

function parseProcfile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line.trim());
    if (m?.[1] && m[2]) out[m[1]] = m[2];
  }
  return out;
}

export function detectProject(contextDir: string, kind: ComponentKind, component: string): ProjectFacts {
  const has = (name: string) => existsIn(contextDir, name);
  if (has("package.json")) {
    let pkg: { dependencies?: object; devDependencies?: object; scripts?: Record<string, string> };
    try {
      pkg = JSON.parse(readFileSync(join(contextDir, "package.json"), "utf8")) as typeof pkg;
    } catch (err) {
      throw new RuntimeError(`${component}: package.json is not valid JSON (${(err as Error).message})`, { component });
    }
    const lockFile = (["package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml"] as const).find(has);
    return {
      language: "node",
      decidedBy: "package.json",
      lockFile,
      hasDependencies: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).length > 0,
      hasBuildScript: typeof pkg.scripts?.build === "string",
    };
  }
  if (has("requirements.txt") || has("pyproject.toml")) {
    const manifest = has("requirements.txt") ? "requirements.txt" : "pyproject.toml";
    return {
      language: "python",
      decidedBy: manifest,
      pythonManifest: manifest,
      procfile: has("Procfile") ? parseProcfile(readFileSync(join(contextDir, "Procfile"), "utf8")) : undefined,
    };
  }
  if (has("go.mod")) return { language: "go", decidedBy: "go.mod", hasGoSum: has("go.sum") };
  if (kind === "static_site") {
    const found = STATIC_OUTPUT_DIRS.find(has);
    return { language: "static", staticDirFound: found, ...(found ? { decidedBy: `${found}/` } : {}) };
  }
  throw new RuntimeError(
    `${component}: no Dockerfile and no package.json, requirements.txt, pyproject.toml or go.mod in source_dir; ` +
      `add a Dockerfile and set dockerfile_path`,
    { component },
  );
}

const q = (s: string) => JSON.stringify(s);
const shellCmd = (cmd: string) => `CMD ["/bin/sh", "-c", ${q(cmd)}]`;

/** Path of the built static site inside the final image. */
export const SITE_ROOT = "/site";

/**
 * The Dockerfile text for a component without one. Pure: same facts and options, same text. Only the plain
 * static-site form (`FROM scratch` + `COPY`) does not read the env file, and must not be given one, since it
 * copies the context into the image.
 */
export function generateDockerfile(facts: ProjectFacts, o: GenerateOptions): string {
  const env = `${o.stagingDir}/build-env`;
  const withEnv = (cmd: string) => `RUN set -a && . /berth/build-env && set +a && ${cmd}`;
  const lines: string[] = [];
  const buildStage = (image: string) =>
    lines.push(`FROM ${image} AS build`, "WORKDIR /app", `COPY ${env} /berth/build-env`);
  const copySource = () => lines.push("COPY . /app", `RUN rm -rf /app/${o.stagingDir}`);
  const isStatic = o.kind === "static_site";

  switch (facts.language) {
    case "node": {
      const pm = facts.lockFile === "yarn.lock" ? "yarn" : facts.lockFile === "pnpm-lock.yaml" ? "pnpm" : "npm";
      buildStage(o.images.node);
      lines.push(`COPY package.json ${facts.lockFile ? `${facts.lockFile} ` : ""}/app/`);
      if (pm === "yarn") lines.push(withEnv("corepack enable && yarn install --frozen-lockfile"));
      else if (pm === "pnpm") lines.push(withEnv("corepack enable && pnpm install --frozen-lockfile"));
      else if (facts.lockFile) lines.push(withEnv("npm ci"));
      else if (facts.hasDependencies) lines.push(withEnv("npm install"));
      copySource();
      const build = o.buildCommand ?? (facts.hasBuildScript ? `${pm} run build` : undefined);
      if (build) lines.push(withEnv(build));
      if (isStatic) return staticFinal(lines, o.outputDir);
      lines.push(`FROM ${o.images.node}`, "WORKDIR /app", "COPY --from=build /app /app");
      lines.push(shellCmd(o.runCommand ?? `${pm} start`));
      return lines.join("\n") + "\n";
    }
    case "python": {
      buildStage(o.images.python);
      const venv = "ENV VIRTUAL_ENV=/app/.venv PATH=/app/.venv/bin:$PATH";
      // The venv sees the base image's own packages: a base image an operator prepared with dependencies
      // satisfies requirements without a package index (offline builds), and the official image adds none.
      lines.push(venv, "RUN python -m venv --system-site-packages /app/.venv");
      if (facts.pythonManifest === "requirements.txt") {
        lines.push("COPY requirements.txt /app/", withEnv("pip install --no-cache-dir -r requirements.txt"));
        copySource();
      } else {
        copySource();
        lines.push(withEnv("pip install --no-cache-dir ."));
      }
      if (o.buildCommand) lines.push(withEnv(o.buildCommand));
      if (isStatic) return staticFinal(lines, o.outputDir);
      const procKey = o.kind === "worker" ? "worker" : "web";
      const run = o.runCommand ?? facts.procfile?.[procKey];
      if (!run && o.kind !== "job") {
        throw new RuntimeError(
          `${o.component}: a Python ${o.kind} needs a run_command or a Procfile with a "${procKey}:" line`,
          { component: o.component },
        );
      }
      lines.push(`FROM ${o.images.python}`, "WORKDIR /app", venv, "COPY --from=build /app /app");
      if (run) lines.push(shellCmd(run));
      return lines.join("\n") + "\n";
    }
    case "go": {
      buildStage(o.images.go);
      lines.push(`COPY go.mod ${facts.hasGoSum ? "go.sum " : ""}/app/`, withEnv("go mod download"));
      copySource();
      lines.push(withEnv(o.buildCommand ?? "mkdir -p /berth-out && go build -o /berth-out/app ."));
      if (isStatic) return staticFinal(lines, o.outputDir);
      lines.push(`FROM ${o.images.go}`, "WORKDIR /app", "COPY --from=build /app /app");
      if (!o.buildCommand) lines.push("COPY --from=build /berth-out/app /usr/local/bin/app");
      lines.push(shellCmd(o.runCommand ?? "app"));
      return lines.join("\n") + "\n";
    }
    case "static": {
      if (o.buildCommand) {
        throw new RuntimeError(
          `${o.component}: build_command is set but no package.json, requirements.txt or go.mod says how to build; ` +
            `add one or a Dockerfile`,
          { component: o.component },
        );
      }
      const out = o.outputDir?.replace(/^\/+|\/+$/g, "") || facts.staticDirFound || ".";
      return ["FROM scratch", `COPY ${out} ${SITE_ROOT}`, `CMD ["/berth-static-site"]`].join("\n") + "\n";
    }
  }
}

function staticFinal(lines: string[], outputDir: string | undefined): string {
  const candidates = outputDir ? [outputDir.replace(/^\/+|\/+$/g, "") || "."] : STATIC_OUTPUT_DIRS;
  const pick = candidates.map((d) => `if [ -z "$out" ] && [ -d ${q(d)} ]; then out=${q(d)}; fi`).join("; ");
  lines.push(
    `RUN out=""; ${pick}; if [ -z "$out" ]; then echo "no output directory (tried: ${candidates.join(", ")})" >&2; exit 1; fi; ` +
      `mkdir -p /berth-site && cp -a "$out"/. /berth-site/`,
    "FROM scratch",
    `COPY --from=build /berth-site ${SITE_ROOT}`,
    `CMD ["/berth-static-site"]`,
  );
  return lines.join("\n") + "\n";
}

/** The env file the build stage sources: one `export KEY='value'` line per BUILD_TIME env. */
export function buildEnvFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new RuntimeError(`build env name "${k}" is not a valid variable name`);
      return `export ${k}='${v.replace(/'/g, `'\\''`)}'`;
    })
    .join("\n")
    .concat("\n");
}
