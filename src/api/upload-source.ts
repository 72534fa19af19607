// Source uploads without GitHub: an archive (tar.gz, `.do/app.yaml` at its root) kept under its SHA-256 in a
// directory of Berth's, which is then the deployment's sha. The same object is the pipeline's SourceProvider
// for upload apps (installation 0, repository `upload/<name>`): the spec and the tree come from the archive.
import { createHash } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tar from "tar";
import type { FetchedSpec, SourceProvider } from "../core/ports.js";
import type { AppKey, PipelineEvent } from "../core/types.js";
import { ApiError } from "./api-error.js";
import type { SourceUploads } from "./route.js";

/** The installation id of apps that came from an upload: no GitHub App installation has it. */
export const UPLOAD_INSTALLATION = 0;
const SPEC_PATHS = [".do/app.yaml", ".do/deploy.template.yaml"];
const MAX_SPEC_BYTES = 1024 * 1024;

const normal = (path: string) => path.replace(/^(\.\/)+/, "");

/** The spec files in the archive, by path (reads the archive once, keeps only those entries). */
async function specsIn(file: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  await tar.t({
    file,
    onReadEntry: (entry) => {
      const path = normal(entry.path);
      if (!SPEC_PATHS.includes(path) || entry.size > MAX_SPEC_BYTES) return entry.resume();
      const chunks: Buffer[] = [];
      entry.on("data", (c: Buffer) => chunks.push(c));
      entry.on("end", () => found.set(path, Buffer.concat(chunks).toString("utf8")));
    },
  });
  return found;
}

export function createUploadSource(options: { dir: string }): SourceUploads & SourceProvider {
  const fileOf = (sha: string) => join(options.dir, `${sha}.tar.gz`);
  return {
    async accept(name, environment, archive) {
      const sha = createHash("sha256").update(archive).digest("hex");
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
      const staging = `${fileOf(sha)}.${process.pid}.partial`;
      await writeFile(staging, archive, { mode: 0o600 });
      try {
        let specs: Map<string, string>;
        try {
          specs = await specsIn(staging);
        } catch (err) {
          throw new ApiError("bad_request", `the upload is not a readable tar.gz: ${(err as Error).message}`);
        }
        if (specs.size === 0) throw new ApiError("bad_request", "the archive has no .do/app.yaml at its root");
        await rename(staging, fileOf(sha));
      } finally {
        await rm(staging, { force: true });
      }
      return { app: { installationId: UPLOAD_INSTALLATION, repository: `upload/${name}`, environment }, sha, branch: "upload" };
    },
    async readSpec(_app: AppKey, sha: string): Promise<FetchedSpec | null> {
      const specs = await specsIn(fileOf(sha));
      const path = SPEC_PATHS.find((p) => specs.has(p));
      return path ? { path, text: specs.get(path)! } : null;
    },
    async fetchSource(_app: AppKey, sha: string, dest: string): Promise<void> {
      // node-tar refuses absolute paths, `..` and writes through symlinks unless told otherwise.
      await tar.x({ file: fileOf(sha), cwd: dest, strict: true });
    },
    secrets: () => [],
  };
}

/** Upload apps read from the archive; every other app from `github`. */
export function withUploads(uploads: SourceProvider, github: SourceProvider): SourceProvider {
  const pick = (app: AppKey) => (app.installationId === UPLOAD_INSTALLATION ? uploads : github);
  return {
    readSpec: (app, sha, signal) => pick(app).readSpec(app, sha, signal),
    fetchSource: (app, sha, dest, signal) => pick(app).fetchSource(app, sha, dest, signal),
    secrets: () => github.secrets(),
  };
}

/** Events about upload apps, which GitHub's reporters must not hear (no installation, no repository there). */
export function isUploadEvent(event: PipelineEvent): boolean {
  if (event.type === "deployment.log") return false;
  const app = event.type === "app.removed" ? event.app : event.deployment.app;
  return app.installationId === UPLOAD_INSTALLATION;
}
