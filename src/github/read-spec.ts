// The app spec at a commit, fetched in one place for everyone who reads it from GitHub (intake, catch-up, the
// pipeline's SourceProvider) and parsed in one place, so a deploy template is recognised the same way
// everywhere (by isDeployTemplate, never by testing the file name here).
import { isDeployTemplate } from "../app-spec/is-deploy-template.js";
import { MAX_SPEC_BYTES, oversizedFile } from "../app-spec/spec-size.js";
import type { FetchedSpec, SpecParser, SpecProblem, SpecView } from "../core/ports.js";
import type { GitHub } from "./octokit.js";
import { isNotFound, splitRepository } from "./repository.js";

/** Where a repository's spec may live, in the order Berth looks (App Platform's two file forms). */
const SPEC_PATHS = [".do/app.yaml", ".do/deploy.template.yaml"] as const;

/** The spec at `ref` (undefined: the default branch), or null when the repository has neither spec file. */
export async function readSpecAt(
  github: GitHub,
  repository: string,
  ref: string | undefined,
  signal?: AbortSignal,
): Promise<FetchedSpec | null> {
  const { owner, repo } = splitRepository(repository);
  for (const path of SPEC_PATHS) {
    try {
      const { data } = await github.rest.repos.getContent({ owner, repo, path, ref, request: { signal } });
      if (Array.isArray(data) || data.type !== "file" || !("content" in data)) {
        throw new Error(`${repository}@${ref?.slice(0, 7) ?? "default branch"}: ${path} is not a file`);
      }
      // The contents API answers files up to 1 MB in full; one above the cap is not even decoded.
      if (data.size > MAX_SPEC_BYTES) return { path, text: "", size: data.size };
      return { path, size: data.size, text: Buffer.from(data.content, (data.encoding as BufferEncoding) || "base64").toString("utf8") };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return null;
}

export interface ParsedSpec {
  fetched: FetchedSpec;
  /** null when the spec has errors. */
  spec: SpecView | null;
  problems: SpecProblem[];
}

/**
 * The spec at `ref` (undefined: the default branch), parsed (in its template form when the file is a
 * `deploy.template.yaml`); null when the repository has none. A spec larger than Berth reads is one problem,
 * never handed to the parser.
 */
export async function readParsedSpec(
  github: GitHub,
  parse: SpecParser,
  repository: string,
  ref?: string,
): Promise<ParsedSpec | null> {
  const fetched = await readSpecAt(github, repository, ref);
  if (!fetched) return null;
  return { fetched, ...(oversizedFile(fetched) ?? (await parse(fetched.text, { template: isDeployTemplate(fetched.path) }))) };
}
