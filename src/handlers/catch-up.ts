// Deliveries get lost (Berth was down, GitHub gave up, nobody can reach Berth behind a NAT). At start and
// every few minutes Berth compares each managed app's deploy branch head with what it deployed and deploys
// the difference. The pipeline dedupes on `catch-up:<app>@<sha>`, so each missed commit is deployed once,
// even when several replicas run the check.
import type { Logger } from "pino";
import type { InstallationAuth } from "../github/octokit.js";
import { isNotFound, readSpecAt, splitRepository } from "../github/source.js";
import type { AppsPort, PipelinePort, SpecParser } from "./ports.js";
import { componentsOn } from "./spec-view.js";

export interface CatchUpOptions {
  auth: InstallationAuth;
  apps: AppsPort;
  pipeline: PipelinePort;
  parseSpec: SpecParser;
  log: Logger;
}

export interface CatchUpResult {
  checked: number;
  deployed: string[];
}

export async function catchUp(o: CatchUpOptions): Promise<CatchUpResult> {
  const result: CatchUpResult = { checked: 0, deployed: [] };
  const apps = (await o.apps.list()).filter((a) => a.key.environment === "production" && !a.removedAt);
  for (const app of apps) {
    const log = o.log.child({ repository: app.key.repository, branch: app.branch });
    result.checked += 1;
    try {
      const github = await o.auth(app.key.installationId);
      const { owner, repo } = splitRepository(app.key.repository);
      const { data: branch } = await github.rest.repos.getBranch({ owner, repo, branch: app.branch });
      const head = branch.commit.sha;
      if (head === app.activeSha) continue;
      const known = await o.pipeline.listDeployments(app.key);
      if (known.some((d) => d.sha === head)) continue;
      // Only what a push would have deployed: the spec at the head must still deploy this branch on push.
      const fetched = await readSpecAt(github, app.key.repository, head);
      const parsed = fetched ? o.parseSpec(fetched.text, { template: fetched.path.endsWith("deploy.template.yaml") }) : null;
      if (parsed?.spec && componentsOn(parsed.spec, app.key.repository, app.branch, { onPush: true }).length === 0) continue;
      if (!fetched) continue;
      const { accepted } = await o.pipeline.submit(
        { kind: "deploy", app: app.key, branch: app.branch, sha: head, cause: { type: "catch_up", sha: head } },
        { deliveryId: `catch-up:${app.key.installationId}/${app.key.repository}@${head}` },
      );
      if (accepted) {
        result.deployed.push(`${app.key.repository}@${head}`);
        log.info({ sha: head, was: app.activeSha }, "caught up with a missed push");
      }
    } catch (err) {
      if (isNotFound(err)) log.warn("deploy branch or repository not found; skipped");
      else log.warn({ err }, "catch-up check failed; retrying on the next tick");
    }
  }
  return result;
}

/** Runs `tick` now and then every `intervalMs` (0: only now), never two at once. Returns a stop function. */
export function startCatchUpLoop(tick: () => Promise<unknown>, intervalMs: number, log: Logger): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = async () => {
    try {
      await tick();
    } catch (err) {
      log.error({ err }, "catch-up failed");
    }
    if (!stopped && intervalMs > 0) timer = setTimeout(run, intervalMs);
  };
  void run();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
