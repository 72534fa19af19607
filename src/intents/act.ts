// The asynchronous half of every webhook: after the delivery was acknowledged, decide whether it concerns an
// app (which takes GitHub calls: the spec at the commit, permissions, the PR head) and hand the pipeline an
// intent. Nothing here runs inside the webhook request.
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import { IntentError } from "../pipeline/index.js";
import type { AppKey, DeploymentRecord, Intent } from "../core/types.js";
import type { InstallationAuth, GitHub } from "../github/octokit.js";
import type { Redact } from "../github/redact.js";
import { isNotFound, readSpecAt, splitRepository } from "../github/source.js";
import { reportSpecCheck, SPEC_CHECK_EXTERNAL_ID } from "../github/spec-check.js";
import type { InstallationWriteQueue } from "../github/write-queue.js";
import type { BerthEvent, Command } from "../webhooks/events.js";
import type { AppsPort, CommandResults, KeyValueState, PipelinePort, SpecParser } from "../core/ports.js";
import { buildsFrom, componentsOn, deployBranch } from "./spec-view.js";

export interface PreviewNotices {
  notice(target: { installationId: number; repository: string; number: number }, text: string): void;
}

export interface ActOptions {
  auth: InstallationAuth;
  pipeline: PipelinePort;
  apps: AppsPort;
  state: KeyValueState;
  writes: InstallationWriteQueue;
  parseSpec: SpecParser;
  redact: Redact;
  previews: PreviewNotices;
  log: Logger;
  /** The GitHub App's own id, to tell its check suites from other apps'. */
  appId: number;
  results?: CommandResults;
}

export const approvalKey = (installationId: number, repository: string, number: number) =>
  `github:approval:${installationId}/${repository}#${number}`;
export const gateKey = (installationId: number, repository: string, sha: string) =>
  `github:gate:${installationId}/${repository}@${sha}`;

const production = (installationId: number, repository: string): AppKey => ({
  installationId,
  repository,
  environment: "production",
});
const preview = (installationId: number, repository: string, number: number): AppKey => ({
  installationId,
  repository,
  environment: `pr-${number}`,
});
const sameKey = (a: AppKey, b: AppKey) =>
  a.installationId === b.installationId &&
  a.repository.toLowerCase() === b.repository.toLowerCase() &&
  a.environment === b.environment;

export const SETTINGS_PATH = ".github/berth.yml";

/** The per-app setting `wait_for_checks: true` in `.github/berth.yml` at the commit. */
export async function waitsForChecks(github: GitHub, repository: string, sha: string, log: Logger): Promise<boolean> {
  const { owner, repo } = splitRepository(repository);
  let text: string;
  try {
    const { data } = await github.rest.repos.getContent({ owner, repo, path: SETTINGS_PATH, ref: sha });
    if (Array.isArray(data) || !("content" in data)) return false;
    text = Buffer.from(data.content, "base64").toString("utf8");
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  const settings = readSettings(text);
  if ("problem" in settings) log.warn({ path: SETTINGS_PATH, problem: settings.problem }, "settings ignored");
  return "waitForChecks" in settings && settings.waitForChecks;
}

/** The commit's check suites from apps other than Berth, the first that failed, and whether any still runs. */
export async function otherSuites(github: GitHub, repository: string, sha: string, appId: number | undefined) {
  const { owner, repo } = splitRepository(repository);
  const suites = await github.paginate(github.rest.checks.listSuitesForRef, { owner, repo, ref: sha, per_page: 100 });
  // GitHub opens a suite for every app with checks access; one that never got a run says nothing.
  const others = suites.filter((s) => s.app?.id !== appId && (s.latest_check_runs_count ?? 0) > 0);
  const failed = others.find(
    (s) => s.status === "completed" && s.conclusion && !["success", "neutral", "skipped"].includes(s.conclusion),
  );
  return { others, failed, running: others.some((s) => s.status !== "completed") };
}

/** Per-app settings from `.github/berth.yml`; a broken file is reported and treated as absent. */
export function readSettings(text: string): { waitForChecks: boolean } | { problem: string } {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    return { problem: `not valid YAML: ${(err as Error).message.split("\n")[0]}` };
  }
  if (data === null || data === undefined) return { waitForChecks: false };
  if (typeof data !== "object" || Array.isArray(data)) return { problem: "must be a mapping of settings" };
  const value = (data as Record<string, unknown>).wait_for_checks;
  if (value !== undefined && typeof value !== "boolean") return { problem: `wait_for_checks must be true or false, found ${JSON.stringify(value)}` };
  return { waitForChecks: value === true };
}

const WRITE_PERMISSIONS = new Set(["admin", "maintain", "write"]);

export type Act = (event: BerthEvent, deliveryId: string) => Promise<void>;

interface Answer {
  text: string;
  /** The deployment the command started, whose outcome is reported when it is final. */
  deploymentId?: string;
}


/** An intent the pipeline will never accept; acting on the delivery again cannot change that. */
export class RefusedIntent extends Error {
  override name = "RefusedIntent";
}

export function createAct(o: ActOptions): Act {
  /** Submit with an id derived from the delivery, so a replayed inbox entry is not deployed twice. */
  async function submit(intent: Intent, deliveryId: string, suffix: string, log: Logger): Promise<string | undefined> {
    let result: { accepted: boolean; deploymentId?: string };
    try {
      result = await o.pipeline.submit(intent, { deliveryId: `${deliveryId}:${suffix}` });
    } catch (err) {
      // The pipeline refused the intent itself (an app it does not manage, a foreign deployment): retrying
      // cannot help, so it ends here; a command's author is told why.
      if (err instanceof IntentError) {
        log.warn({ intent: intent.kind, reason: err.message }, "pipeline refused the intent");
        throw new RefusedIntent(err.message);
      }
      throw err;
    }
    if (!result.accepted) {
      log.debug({ intent: intent.kind }, "pipeline already had this intent");
      return undefined;
    }
    log.info({ intent: intent.kind, deploymentId: result.deploymentId, app: intent.app }, "intent submitted");
    return result.deploymentId ?? "";
  }

  async function readSpec(github: GitHub, repository: string, ref: string) {
    const fetched = await readSpecAt(github, repository, ref);
    if (!fetched) return null;
    const parsed = o.parseSpec(fetched.text, { template: fetched.path.endsWith("deploy.template.yaml") });
    return { fetched, ...parsed };
  }

  async function onPush(e: Extract<BerthEvent, { type: "push" }>, deliveryId: string, log: Logger): Promise<void> {
    const github = await o.auth(e.installationId);
    const read = await readSpec(github, e.repository, e.sha);
    if (!read) return log.debug("no spec at this commit; ignored");
    const app = production(e.installationId, e.repository);
    let relevant: boolean;
    if (read.spec) {
      relevant = componentsOn(read.spec, e.repository, e.branch, { onPush: true }).length > 0;
    } else {
      // The spec is broken, so it cannot say which branch deploys; the branch the app deployed from can.
      const known = (await o.apps.list({ installationId: e.installationId })).find((a) => sameKey(a.key, app));
      relevant = known?.branch === e.branch;
    }
    if (!relevant) return log.debug({ branch: e.branch }, "no component deploys this branch on push; ignored");
    if (read.problems.length > 0) {
      await reportSpecCheck({ ...common(e), github, sha: e.sha, spec: read.fetched, problems: read.problems });
    }
    const specChanged = e.changedPaths === null || e.changedPaths.includes(read.fetched.path);
    const intent: Intent = {
      kind: "deploy",
      app,
      branch: e.branch,
      sha: e.sha,
      cause: { type: "push", sha: e.sha, ref: `refs/heads/${e.branch}`, pusher: e.pusher, message: e.message },
      ...(specChanged ? {} : { changedPaths: e.changedPaths ?? [] }),
    };
    if (await waitsForChecks(github, e.repository, e.sha, log)) {
      await o.state.set(gateKey(e.installationId, e.repository, e.sha), { intent, deliveryId });
      log.info({ sha: e.sha }, "deploy waits for the commit's other check suites");
      // Suites that finished before the push reached Berth send no further event.
      return evaluateGate(e.installationId, e.repository, e.sha, log, { atPush: true });
    }
    await submit(intent, deliveryId, "deploy", log);
  }

  function common(e: { installationId: number; repository: string }) {
    return { writes: o.writes, redact: o.redact, installationId: e.installationId, repository: e.repository };
  }

  async function onPullRequest(
    e: Extract<BerthEvent, { type: "pull_request" }>,
    deliveryId: string,
    log: Logger,
  ): Promise<void> {
    const app = preview(e.installationId, e.repository, e.number);
    if (e.action === "closed") {
      await submit({ kind: "teardown", app, reason: `pull request #${e.number} closed` }, deliveryId, "teardown", log);
      return;
    }
    const github = await o.auth(e.installationId);
    const read = await readSpec(github, e.repository, e.sha);
    if (!read) return log.debug("no spec at the pull request's head; ignored");
    await reportSpecCheck({ ...common(e), github, sha: e.sha, spec: read.fetched, problems: read.problems });
    if (!read.spec) return log.info("spec invalid; no preview");
    if (!buildsFrom(read.spec, e.repository)) return log.debug("no component builds from this repository; no preview");
    if (e.fork) {
      const approval = (await o.state.get(approvalKey(e.installationId, e.repository, e.number))) as { sha?: string } | null;
      if (approval?.sha !== e.sha) {
        o.previews.notice(
          e,
          `This pull request comes from a fork (\`${e.headRepository}\`), so Berth only checked its spec. ` +
            `A maintainer can build a preview of \`${e.sha.slice(0, 7)}\` by commenting \`/berth preview\`; ` +
            `every new push needs that again.`,
        );
        return log.info({ sha: e.sha }, "fork pull request waits for a maintainer's /berth preview");
      }
    }
    await submitPreview(e, deliveryId, log);
  }

  async function submitPreview(
    pr: { installationId: number; repository: string; number: number; sha: string; headRef: string; headRepository: string; fork: boolean },
    deliveryId: string,
    log: Logger,
  ): Promise<string | undefined> {
    return submit(
      {
        kind: "deploy",
        app: preview(pr.installationId, pr.repository, pr.number),
        branch: pr.headRef,
        sha: pr.sha,
        cause: { type: "pull_request", number: pr.number, sha: pr.sha, headRepository: pr.headRepository, fork: pr.fork },
      },
      deliveryId,
      "preview",
      log,
    );
  }

  async function onInstallation(
    e: Extract<BerthEvent, { type: "installation" }>,
    deliveryId: string,
    log: Logger,
  ): Promise<void> {
    if (e.action === "removed") {
      const removed = new Set(e.repositories.map((r) => r.toLowerCase()));
      // An uninstall (it names the account) ends the management of every app, listed or not.
      const whole = e.account !== undefined;
      const apps = await o.apps.list({ installationId: e.installationId });
      for (const app of apps) {
        if (app.removedAt) continue;
        if (!whole && !removed.has(app.key.repository.toLowerCase())) continue;
        await o.apps.remove(app.id, "the GitHub App no longer has access to the repository");
        log.info({ app: app.key }, "no longer managed (still running)");
      }
      return;
    }
    const github = await o.auth(e.installationId);
    for (const repository of e.repositories) {
      const { owner, repo } = splitRepository(repository);
      const { data } = await github.rest.repos.get({ owner, repo });
      const read = await readSpec(github, repository, data.default_branch);
      if (!read) {
        log.debug({ repository }, "no spec on the default branch; not managed");
        continue;
      }
      const branch = (read.spec && deployBranch(read.spec, repository)) ?? data.default_branch;
      const head = await github.rest.repos.getBranch({ owner, repo, branch });
      await submit(
        {
          kind: "deploy",
          app: production(e.installationId, repository),
          branch,
          sha: head.data.commit.sha,
          cause: { type: "manual", by: e.by },
        },
        deliveryId,
        `install:${repository}`,
        log,
      );
    }
  }

  async function onCheckRun(e: Extract<BerthEvent, { type: "check_run" }>, deliveryId: string, log: Logger): Promise<void> {
    if (e.externalId === SPEC_CHECK_EXTERNAL_ID) {
      const github = await o.auth(e.installationId);
      const read = await readSpec(github, e.repository, e.sha);
      if (read) await reportSpecCheck({ ...common(e), github, sha: e.sha, spec: read.fetched, problems: read.problems });
      return;
    }
    const deployment = await o.pipeline.getDeployment(e.externalId);
    if (!deployment) return log.warn({ deploymentId: e.externalId }, "check run names a deployment Berth does not know");
    const action = e.action === "rerequested" ? "redeploy" : e.identifier;
    const by = e.by;
    const intent: Intent | null =
      action === "redeploy"
        ? { kind: "deploy", app: deployment.app, branch: deployment.branch, sha: deployment.sha, cause: { type: "manual", by } }
        : action === "rebuild"
          ? {
              kind: "deploy",
              app: deployment.app,
              branch: deployment.branch,
              sha: deployment.sha,
              cause: { type: "force_rebuild", by },
              forceBuild: true,
            }
          : action === "rollback"
            ? { kind: "rollback", app: deployment.app, toDeploymentId: deployment.id, by }
            : null;
    if (!intent) return log.warn({ identifier: e.identifier }, "unknown check run action");
    await submit(intent, deliveryId, action ?? "check_run", log);
  }

  /** "Re-run all checks" on Berth's suite: the spec check again, and every deployment it reported again. */
  async function onCheckSuiteRerun(
    e: Extract<BerthEvent, { type: "check_suite_rerun" }>,
    deliveryId: string,
    log: Logger,
  ): Promise<void> {
    const github = await o.auth(e.installationId);
    const { owner, repo } = splitRepository(e.repository);
    const runs = await github.paginate(github.rest.checks.listForSuite, { owner, repo, check_suite_id: e.suiteId, per_page: 100 });
    const ids = [...new Set(runs.map((r) => r.external_id).filter((id): id is string => Boolean(id)))];
    if (ids.includes(SPEC_CHECK_EXTERNAL_ID)) {
      const read = await readSpec(github, e.repository, e.sha);
      if (read) await reportSpecCheck({ ...common(e), github, sha: e.sha, spec: read.fetched, problems: read.problems });
    }
    // One redeploy per environment: the newest deployment of this commit there.
    const newest = new Map<string, DeploymentRecord>();
    for (const id of ids.filter((i) => i !== SPEC_CHECK_EXTERNAL_ID)) {
      const d = await o.pipeline.getDeployment(id);
      const seen = d && newest.get(d.app.environment);
      if (d && (!seen || seen.createdAt < d.createdAt)) newest.set(d.app.environment, d);
    }
    for (const d of newest.values()) {
      await submit(
        { kind: "deploy", app: d.app, branch: d.branch, sha: d.sha, cause: { type: "manual", by: e.by } },
        deliveryId,
        `rerun:${d.app.environment}`,
        log,
      );
    }
  }

  async function onCheckSuite(e: Extract<BerthEvent, { type: "check_suite" }>, _deliveryId: string, log: Logger): Promise<void> {
    await evaluateGate(e.installationId, e.repository, e.sha, log, { fallbackName: e.appName });
  }

  /**
   * Release or cancel a deploy that waits for the commit's other check suites. Right after the push, GitHub
   * may not have opened the other suites yet, so there `atPush` waits unless some suite already ran.
   */
  async function evaluateGate(
    installationId: number,
    repository: string,
    sha: string,
    log: Logger,
    options: { atPush?: boolean; fallbackName?: string },
  ): Promise<void> {
    const key = gateKey(installationId, repository, sha);
    const gate = (await o.state.get(key)) as { intent: Intent; deliveryId: string } | null | undefined;
    if (!gate) return log.debug("no deploy waits for this commit's checks");
    const github = await o.auth(installationId);
    const { others, failed, running } = await otherSuites(github, repository, sha, o.appId);
    if (options.atPush && others.length === 0) return log.debug("no other check suite has run yet");
    if (failed) {
      const name = failed.app?.name ?? options.fallbackName ?? "another app";
      log.info({ suite: name, conclusion: failed.conclusion }, "a check suite failed; deploy canceled");
      // The deployment is created and then canceled, so the commit shows why it was not deployed.
      const id = await submit(gate.intent, gate.deliveryId, "deploy", log);
      if (id) {
        await submit(
          { kind: "cancel", app: gate.intent.app, deploymentId: id, reason: `check suite "${name}" concluded ${failed.conclusion}` },
          gate.deliveryId,
          "cancel",
          log,
        );
      }
    } else if (running) {
      return log.debug("other check suites still running");
    } else {
      await submit(gate.intent, gate.deliveryId, "deploy", log);
    }
    // Cleared only once submitted: if GitHub or the store fails first, acting again finds the gate.
    await o.state.set(key, null);
  }

  async function onCommand(e: Extract<BerthEvent, { type: "command" }>, deliveryId: string, log: Logger): Promise<void> {
    const github = await o.auth(e.installationId);
    const { owner, repo } = splitRepository(e.repository);
    // A reaction is a courtesy: if GitHub refuses it (permissions, a deleted comment), the command still runs.
    const react = async (content: "+1" | "-1" | "eyes" | "rocket" | "confused") => {
      try {
        await o.writes.run(e.installationId, () =>
          e.on.kind === "pull_request"
            ? github.rest.reactions.createForIssueComment({ owner, repo, comment_id: e.commentId, content })
            : github.rest.reactions.createForCommitComment({ owner, repo, comment_id: e.commentId, content }),
        );
      } catch (err) {
        log.warn({ err, content }, "could not react to the command's comment");
      }
    };
    const reply = async (text: string) => {
      if (e.on.kind !== "pull_request") return; // Commit comments would need contents: write; the reaction answers.
      const number = e.on.number;
      await o.writes.run(e.installationId, () =>
        github.rest.issues.createComment({ owner, repo, issue_number: number, body: o.redact(`@${e.by} ${text}`) }),
      );
    };

    const { data: level } = await github.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: e.by });
    if (!WRITE_PERMISSIONS.has(level.permission) && !WRITE_PERMISSIONS.has(level.role_name ?? "")) {
      await react("-1");
      await reply(`only people with write access to ${e.repository} can run \`/berth ${e.command.name}\`.`);
      return log.info({ user: e.by, permission: level.permission }, "command refused");
    }
    await react("eyes");
    let answer: Answer;
    try {
      answer = e.on.kind === "pull_request" ? await prCommand(github, e, e.on.number, deliveryId, log) : await commitCommand(e, e.on.sha, deliveryId, log);
    } catch (err) {
      // Answered either way: acting on the comment again would only repeat the reply.
      log.warn({ err }, "command failed");
      await react("confused");
      await reply(`\`/berth ${e.command.name}\` failed: ${err instanceof RefusedIntent ? err.message : "Berth could not reach GitHub or its store; see its log."}`);
      return;
    }
    // 🚀 when something was started; 😕 when the answer is why nothing was (closed PR, nothing to roll back to).
    await react(answer.deploymentId ? "rocket" : "confused");
    await reply(answer.text);
    // How it ended is told when the deployment is final (see CommandResultReporter).
    if (answer.deploymentId) {
      await o.results?.watch(answer.deploymentId, {
        installationId: e.installationId,
        repository: e.repository,
        on: e.on,
        commentId: e.commentId,
        by: e.by,
        command: e.command.name,
      });
    }
  }

  async function prCommand(
    github: GitHub,
    e: Extract<BerthEvent, { type: "command" }>,
    number: number,
    deliveryId: string,
    log: Logger,
  ): Promise<Answer> {
    const { owner, repo } = splitRepository(e.repository);
    const { data: pr } = await github.rest.pulls.get({ owner, repo, pull_number: number });
    const app = preview(e.installationId, e.repository, number);
    const headRepository = pr.head.repo?.full_name ?? "(deleted fork)";
    const fork = headRepository.toLowerCase() !== e.repository.toLowerCase();
    const name = e.command.name;
    if (pr.state !== "open" && (name === "deploy" || name === "preview")) return { text: `#${number} is closed; there is nothing to preview.` };
    if (name === "deploy" || name === "preview") {
      if (fork) await o.state.set(approvalKey(e.installationId, e.repository, number), { sha: pr.head.sha, by: e.by });
      const id = await submitPreview(
        { installationId: e.installationId, repository: e.repository, number, sha: pr.head.sha, headRef: pr.head.ref, headRepository, fork },
        deliveryId,
        log,
      );
      return { text: `building a preview of \`${pr.head.sha.slice(0, 7)}\`${id ? ` (deployment \`${id}\`)` : ""}.`, deploymentId: id };
    }
    return appCommand(app, e.command, e.by, deliveryId, log);
  }

  async function commitCommand(
    e: Extract<BerthEvent, { type: "command" }>,
    sha: string,
    deliveryId: string,
    log: Logger,
  ): Promise<Answer> {
    const app = production(e.installationId, e.repository);
    if (e.command.name === "preview") return { text: "previews are built for pull requests; comment there." };
    if (e.command.name === "deploy") {
      const known = (await o.apps.list({ installationId: e.installationId })).find((a) => sameKey(a.key, app));
      if (!known) return { text: `Berth does not manage ${e.repository} yet; push to its deploy branch first.` };
      const id = await submit({ kind: "deploy", app, branch: known.branch, sha, cause: { type: "manual", by: e.by } }, deliveryId, "deploy", log);
      return { text: `deploying \`${sha.slice(0, 7)}\`${id ? ` (deployment \`${id}\`)` : ""}.`, deploymentId: id };
    }
    return appCommand(app, e.command, e.by, deliveryId, log);
  }

  async function appCommand(app: AppKey, command: Command, by: string, deliveryId: string, log: Logger): Promise<Answer> {
    if (command.name === "restart") {
      const components = command.args.length ? command.args : undefined;
      const id = await submit({ kind: "restart", app, components, by }, deliveryId, "restart", log);
      return {
        text: `restarting ${components ? components.map((c) => `\`${c}\``).join(", ") : "every service and worker"} of ${app.environment}.`,
        deploymentId: id,
      };
    }
    // rollback: to the newest deployment that served before the one serving now.
    const deployments = await o.pipeline.listDeployments(app);
    const target = previousServing(deployments);
    if (!target) return { text: `there is no earlier deployment of ${app.environment} to roll back to.` };
    const id = await submit({ kind: "rollback", app, toDeploymentId: target.id, by }, deliveryId, "rollback", log);
    return { text: `rolling ${app.environment} back to \`${target.sha.slice(0, 7)}\` (deployment \`${target.id}\`).`, deploymentId: id };
  }

  return async (event, deliveryId) => {
    const log = o.log.child({ deliveryId, event: event.type, ...("repository" in event ? { repository: event.repository } : {}) });
    try {
      await dispatch(event, deliveryId, log);
    } catch (err) {
      if (err instanceof RefusedIntent) return;
      throw err;
    }
  };

  function dispatch(event: BerthEvent, deliveryId: string, log: Logger): Promise<void> {
    switch (event.type) {
      case "push":
        return onPush(event, deliveryId, log);
      case "pull_request":
        return onPullRequest(event, deliveryId, log);
      case "installation":
        return onInstallation(event, deliveryId, log);
      case "check_run":
        return onCheckRun(event, deliveryId, log);
      case "check_suite":
        return onCheckSuite(event, deliveryId, log);
      case "check_suite_rerun":
        return onCheckSuiteRerun(event, deliveryId, log);
      case "command":
        return onCommand(event, deliveryId, log);
    }
  }
}

/**
 * The deployment to roll back to: the newest one, older than the one serving now, that finished its rollout
 * (it served until it was superseded). Deployments superseded while still queued never served.
 */
export function previousServing(deployments: DeploymentRecord[]): DeploymentRecord | undefined {
  const sorted = [...deployments].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const active = sorted.findIndex((d) => d.phase === "ACTIVE");
  return sorted
    .slice(active + 1)
    .find((d) => d.phase === "SUPERSEDED" && d.steps.length > 0 && d.steps.every((s) => s.status === "SUCCESS" || s.status === "SKIPPED"));
}
