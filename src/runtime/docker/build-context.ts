// Where a component's build happens inside the fetched repository. `source_dir` and `dockerfile_path` come
// from a repository anyone can push to, so both must resolve inside the repository after following symlinks;
// a leading `/` means the repository root, as App Platform specs write it.
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { RuntimeError } from "../runtime.js";

export interface BuildContext {
  /** Absolute, symlink-free path of the build context directory. */
  contextDir: string;
  /** Absolute, symlink-free path of the Dockerfile when the spec names one. */
  dockerfile?: string;
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** Resolve a repository-relative path from the spec, refusing anything that ends up outside the repository. */
function resolveInRepository(sourceRoot: string, written: string, field: string, component: string): string {
  const root = realpathSync(sourceRoot);
  const lexical = resolve(root, written.replace(/^\/+/, "") || ".");
  if (!inside(root, lexical)) {
    throw new RuntimeError(`${component}: ${field} "${written}" points outside the repository`, { component });
  }
  let real: string;
  try {
    real = realpathSync(lexical);
  } catch {
    throw new RuntimeError(`${component}: ${field} "${written}" does not exist in the repository`, { component });
  }
  if (!inside(root, real)) {
    throw new RuntimeError(
      `${component}: ${field} "${written}" is a symlink to ${real}, outside the repository; refusing to build`,
      { component },
    );
  }
  return real;
}

export function resolveBuildContext(
  sourceRoot: string,
  component: string,
  sourceDir: string | undefined,
  dockerfilePath: string | undefined,
): BuildContext {
  const contextDir = resolveInRepository(sourceRoot, sourceDir ?? "/", "source_dir", component);
  if (!statSync(contextDir).isDirectory()) {
    throw new RuntimeError(`${component}: source_dir "${sourceDir}" is not a directory`, { component });
  }
  if (dockerfilePath === undefined) return { contextDir };
  const dockerfile = resolveInRepository(sourceRoot, dockerfilePath, "dockerfile_path", component);
  if (!statSync(dockerfile).isFile()) {
    throw new RuntimeError(`${component}: dockerfile_path "${dockerfilePath}" is not a file`, { component });
  }
  return { contextDir, dockerfile };
}

export function existsIn(dir: string, name: string): boolean {
  try {
    statSync(join(dir, name));
    return true;
  } catch {
    return false;
  }
}
