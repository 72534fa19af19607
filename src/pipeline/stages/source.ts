// Fetch the exact commit into the deployment's scratch directory.
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { deployError, describeCause } from "../../core/errors.js";
import type { RunDeps, Stage } from "../deploy-context.js";

export function sourceStage(deps: RunDeps): Stage<{ sourceRoot: string }> {
  return {
    name: "source",
    resumable: true,
    async run(ctx, signal) {
      const { app, sha } = ctx.deployment;
      const dir = join(deps.workDir, ctx.deployment.id, "source");
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      ctx.logs.sink("source")(`fetching ${app.repository} at ${sha}`);
      try {
        await deps.source.fetchSource(app, sha, dir, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw deployError("SOURCE_FAILED", { repository: app.repository, sha, cause: describeCause(err), step: "source" });
      }
      ctx.sourceRoot = dir;
      return { sourceRoot: dir };
    },
    restore(ctx, result) {
      if (!existsSync(result.sourceRoot)) return false;
      ctx.sourceRoot = result.sourceRoot;
      return true;
    },
  };
}
