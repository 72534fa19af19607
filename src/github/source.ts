// The pipeline's SourceProvider on GitHub: the spec through the contents API, the code as the tarball of
// the exact commit, both with the installation's token. Tokens it used are handed to the redactor.
import { mkdir } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline as pipe } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import * as tar from "tar";
import type { FetchedSpec, SourceProvider } from "../core/ports.js";
import type { AppKey } from "../core/types.js";
import type { GitHub, InstallationAuth } from "./octokit.js";
import { readSpecAt } from "./read-spec.js";
import { splitRepository } from "./repository.js";

const MAX_TOKENS_KEPT = 50;

export class GitHubSource implements SourceProvider {
  readonly #auth: InstallationAuth;
  readonly #tokens = new Set<string>();

  constructor(auth: InstallationAuth) {
    this.#auth = auth;
  }

  async readSpec(app: AppKey, sha: string, signal: AbortSignal): Promise<FetchedSpec | null> {
    return readSpecAt(await this.#github(app.installationId), app.repository, sha, signal);
  }

  async fetchSource(app: AppKey, sha: string, dest: string, signal: AbortSignal): Promise<void> {
    const github = await this.#github(app.installationId);
    const { owner, repo } = splitRepository(app.repository);
    // The API answers with a redirect to a short-lived download URL; fetch follows it. The body is streamed
    // straight into tar rather than buffered, since repositories can be large.
    const response = await github.rest.repos.downloadTarballArchive({
      owner,
      repo,
      ref: sha,
      request: { signal, parseSuccessResponseBody: false },
    });
    const body = response.data as unknown;
    await mkdir(dest, { recursive: true });
    const input =
      body instanceof ArrayBuffer
        ? Readable.from(Buffer.from(body))
        : Readable.fromWeb(body as WebReadableStream<Uint8Array>);
    // GitHub's tarball has one top directory (`owner-repo-sha/`); strip it so dest is the repository root.
    await pipe(input, tar.x({ cwd: dest, strip: 1 }), { signal });
  }

  secrets(): string[] {
    return [...this.#tokens];
  }

  async #github(installationId: number): Promise<GitHub> {
    const github = await this.#auth(installationId);
    const auth = (await github.auth({ type: "installation" })) as { token?: string };
    if (auth.token && !this.#tokens.has(auth.token)) {
      this.#tokens.add(auth.token);
      // Tokens live an hour; the newest few are all that can still show up in output.
      if (this.#tokens.size > MAX_TOKENS_KEPT) this.#tokens.delete(this.#tokens.values().next().value as string);
    }
    return github;
  }
}
