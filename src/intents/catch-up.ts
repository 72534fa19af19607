// Deliveries get lost (Berth was down, GitHub gave up, nobody can reach Berth behind a NAT). At start and
// every few minutes Berth compares each managed app's deploy branch head with what it deployed and deploys
// the difference. The pipeline dedupes on `catch-up:<app>@<sha>`, so each missed commit is deployed once,
// even when several replicas run the check.
import type { Logger } from "pino";
import type { GitHub, InstallationAuth } from "../github/octokit.js";
import { readParsedSpec } from "../github/read-spec.js";
import { isNotFound, splitRepository } from "../github/repository.js";
import type { AppsPort, KeyValueState, PipelinePort, SpecParser } from "../core/ports.js";
import type { AppKey } from "../core/types.js";
import { gateKey, otherSuites, waitsForChecks } from "./gate.js";
import { productionBranch } from "./production-branch.js";
import { componentsOn, deployBranch } from "./spec-view.js";

export interface CatchUpOptions {
  auth: InstallationAuth;
  apps: AppsPort;
  pipeline: PipelinePort;
  parseSpec: SpecParser;
  log: Logger;
  /**
   * The app itself (Probot's `app.auth()`): with it, catch-up also finds repositories Berth was never told
   * about (no webhook ever arrived) and deploys those with a spec.
   */
  appAuth?: () => Promise<GitHub>;
  /** Repositories discovery already looked at, by `pushed_at`, so an unchanged one costs no further call. */
  discovered?: Map<string, string>;
  /** Where deploys waiting for other checks are kept: catch-up leaves those commits to the gate. */
  state?: KeyValueState;
  /** Berth's own GitHub App id, so its own check suite is not one it waits for. */
  appId?: number;
}

/**
 * A missed commit of a repository with `wait_for_checks` is deployed only once every other check suite on
 * it has passed; while one runs it waits for a later tick, and a failed one means the commit is never deployed.
 */
async function checksVerdict(github: GitHub, repository: string, sha: string, appId: number | undefined): Promise<"deploy" | "wait" | "refuse"> {
  const { others, failed, running } = await otherSuites(github, repository, sha, appId);
  if (failed) return "refuse";
  return others.length === 0 || running ? "wait" : "deploy";
}

/** The pipeline dedupes on the id, so replicas that catch up at once deploy the commit once. */
async function submitCatchUp(o: CatchUpOptions, app: AppKey, branch: string, sha: string): Promise<boolean> {
  const { accepted } = await o.pipeline.submit(
    { kind: "deploy", app, branch, sha, cause: { type: "catch_up", sha } },
    { deliveryId: `catch-up:${app.installationId}/${app.repository}@${sha}` },
  );
  return accepted;
}

export interface CatchUpResult {
  checked: number;
  deployed: string[];
}

/** Deploy the deploy branch of every installed repository with a spec that Berth does not manage yet. */
async function discover(o: CatchUpOptions, appAuth: () => Promise<GitHub>, result: CatchUpResult): Promise<void> {
  const managed = new Set(
    (await o.apps.list())
      .filter((a) => a.key.environment === "production")
      .map((a) => `${a.key.installationId}/${a.key.repository.toLowerCase()}`),
  );
  const seen = o.discovered ?? new Map<string, string>();
  const app = await appAuth();
  const installations = await app.paginate(app.rest.apps.listInstallations, { per_page: 100 });
  for (const installation of installations) {
    if (installation.suspended_at) continue;
    const github = await o.auth(installation.id);
    const repos = await github.paginate(github.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    for (const repo of repos) {
      const key = `${installation.id}/${repo.full_name.toLowerCase()}`;
      if (managed.has(key) || repo.archived) continue;
      const stamp = repo.pushed_at ?? repo.updated_at ?? "";
      if (seen.get(key) === stamp) continue;
      const log = o.log.child({ repository: repo.full_name });
      try {
        const read = await readParsedSpec(github, o.parseSpec, repo.full_name, repo.default_branch);
        seen.set(key, stamp);
        if (!read) continue;
        const branch = (read.spec && deployBranch(read.spec, repo.full_name)) ?? repo.default_branch;
        const { owner, repo: name } = splitRepository(repo.full_name);
        const head = (await github.rest.repos.getBranch({ owner, repo: name, branch })).data.commit.sha;
        const appKey = { installationId: installation.id, repository: repo.full_name, environment: "production" };
        if (await submitCatchUp(o, appKey, branch, head)) {
          result.deployed.push(`${repo.full_name}@${head}`);
          log.info({ sha: head, branch }, "found a repository with a spec that Berth did not manage; deploying it");
        }
      } catch (err) {
        seen.delete(key);
        log.warn({ err }, "could not look at the repository; retrying on the next tick");
      }
    }
  }
}

export async function catchUp(o: CatchUpOptions): Promise<CatchUpResult> {
  const result: CatchUpResult = { checked: 0, deployed: [] };
  if (o.appAuth) {
    try {
      await discover(o, o.appAuth, result);
    } catch (err) {
      o.log.warn({ err }, "could not list the app's installations; retrying on the next tick");
    }
  }
  const apps = (await o.apps.list()).filter((a) => a.key.environment === "production" && !a.removedAt);
  for (const app of apps) {
    let log = o.log.child({ repository: app.key.repository, branch: app.branch });
    result.checked += 1;
    try {
      const github = await o.auth(app.key.installationId);
      const { owner, repo } = splitRepository(app.key.repository);
      // The record's branch only when the default branch's spec names none: a record can be out of date.
      const atDefault = await readParsedSpec(github, o.parseSpec, app.key.repository);
      const production = (await productionBranch(app.key.repository, atDefault, async () => app.branch)) ?? app.branch;
      if (production !== app.branch) log = log.child({ branch: production, recorded: app.branch });
      const { data: branch } = await github.rest.repos.getBranch({ owner, repo, branch: production });
      const head = branch.commit.sha;
      if (head === app.activeSha) continue;
      const known = await o.pipeline.listDeployments(app.key);
      if (known.some((d) => d.sha === head)) continue;
      if (o.state && (await o.state.get(gateKey(app.key.installationId, app.key.repository, head)))) continue;
      // Only what a push would have deployed: the spec at the head must still deploy this branch on push.
      const read = await readParsedSpec(github, o.parseSpec, app.key.repository, head);
      if (!read) continue;
      if (read.spec && componentsOn(read.spec, app.key.repository, production, { onPush: true }).length === 0) continue;
      if (await waitsForChecks(github, app.key.repository, head, log)) {
        const verdict = await checksVerdict(github, app.key.repository, head, o.appId);
        if (verdict !== "deploy") {
          log.debug({ sha: head, verdict }, "missed commit waits for its other checks");
          continue;
        }
      }
      if (await submitCatchUp(o, app.key, production, head)) {
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
