// A repository's `.github/berth.yml` can say `wait_for_checks: true`: then a push's deploy waits, kept under
// the commit's gate key, until every other app's check suite on the commit has passed, and is canceled (with
// the reason shown on the commit) when one fails.
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import type { Intent } from "../core/types.js";
import type { GitHub } from "../github/octokit.js";
import { isNotFound, splitRepository } from "../github/repository.js";
import { isBranchHead } from "./branch-head.js";
import type { ActContext, CommitRef, EventOf } from "./context.js";

export const gateKey = (installationId: number, repository: string, sha: string) =>
  `github:gate:${installationId}/${repository}@${sha}`;

/** What waits under a gate key: the deploy, and the delivery it came with (so it is submitted once). */
export interface Gate {
  intent: Intent;
  deliveryId: string;
}

const SETTINGS_PATH = ".github/berth.yml";

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

/** Another app's check suite completed: a deploy waiting on the commit may go (or be canceled) now. */
export async function onCheckSuite(ctx: ActContext, e: EventOf<"check_suite">, _deliveryId: string, log: Logger): Promise<void> {
  await evaluateGate(ctx, e, log, { fallbackName: e.appName });
}

/**
 * Release or cancel a deploy that waits for the commit's other check suites. Right after the push, GitHub
 * may not have opened the other suites yet, so there `atPush` waits unless some suite already ran.
 */
export async function evaluateGate(
  ctx: ActContext,
  at: CommitRef,
  log: Logger,
  options: { atPush?: boolean; fallbackName?: string },
): Promise<void> {
  const key = gateKey(at.installationId, at.repository, at.sha);
  const gate = (await ctx.state.get(key)) as Gate | null | undefined;
  if (!gate) return log.debug("no deploy waits for this commit's checks");
  const github = await ctx.auth(at.installationId);
  const { others, failed, running } = await otherSuites(github, at.repository, at.sha, ctx.appId);
  if (options.atPush && others.length === 0) return log.debug("no other check suite has run yet");
  if (failed) {
    const name = failed.app?.name ?? options.fallbackName ?? "another app";
    log.info({ suite: name, conclusion: failed.conclusion }, "a check suite failed; deploy canceled");
    // The deployment is created and then canceled, so the commit shows why it was not deployed.
    const id = await ctx.submit(gate.intent, gate.deliveryId, "deploy", log);
    if (id) {
      const reason = `check suite "${name}" concluded ${failed.conclusion}`;
      await ctx.submit({ kind: "cancel", app: gate.intent.app, deploymentId: id, reason }, gate.deliveryId, "cancel", log);
    }
  } else if (running) {
    return log.debug("other check suites still running");
  } else if (!options.atPush && gate.intent.kind === "deploy" && !(await isBranchHead(github, at.repository, gate.intent.branch, at.sha))) {
    log.info({ sha: at.sha }, "checks passed, but the branch has moved on; its newer head deploys instead");
  } else {
    await ctx.submit(gate.intent, gate.deliveryId, "deploy", log);
  }
  // Cleared only once submitted: if GitHub or the store fails first, acting again finds the gate.
  await ctx.state.set(key, null);
}
