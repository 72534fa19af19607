// What every intent handler shares: the collaborators act was built with, and the two things each handler
// does with them (hand the pipeline an intent once per delivery; read and check the spec at a commit).
import type { Logger } from "pino";
import { IntentError } from "../core/errors.js";
import type { AppsPort, CommandResults, KeyValueState, PipelinePort, SpecParser } from "../core/ports.js";
import type { Redact } from "../core/redact.js";
import type { AppKey, Intent } from "../core/types.js";
import type { GitHub, InstallationAuth } from "../github/octokit.js";
import { readParsedSpec, type ParsedSpec } from "../github/read-spec.js";
import { reportSpecCheck } from "../github/spec-check.js";
import type { InstallationWriteQueue } from "../github/write-queue.js";
import type { BerthEvent } from "../webhooks/events.js";

interface PreviewNotices {
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

/** The event of one kind, as a handler takes it. */
export type EventOf<T extends BerthEvent["type"]> = Extract<BerthEvent, { type: T }>;

/** A commit of a repository in an installation. */
export interface CommitRef {
  installationId: number;
  repository: string;
  sha: string;
}

export interface ActContext extends ActOptions {
  /**
   * Submit with an id derived from the delivery, so a replayed inbox entry is not deployed twice. Resolves
   * to the deployment's id ("" when the pipeline names none), or undefined when it already had the intent.
   */
  submit(intent: Intent, deliveryId: string, suffix: string, log: Logger): Promise<string | undefined>;
  readSpec(github: GitHub, repository: string, ref: string): Promise<ParsedSpec | null>;
  /** The "spec" check run of a commit, from a spec read there. */
  checkSpec(github: GitHub, at: CommitRef, read: ParsedSpec): Promise<void>;
}

/** An intent the pipeline will never accept; acting on the delivery again cannot change that. */
export class RefusedIntent extends Error {
  override name = "RefusedIntent";
}

export const productionKey = (installationId: number, repository: string): AppKey => ({
  installationId,
  repository,
  environment: "production",
});

export const previewKey = (installationId: number, repository: string, number: number): AppKey => ({
  installationId,
  repository,
  environment: `pr-${number}`,
});

export const sameApp = (a: AppKey, b: AppKey) =>
  a.installationId === b.installationId &&
  a.repository.toLowerCase() === b.repository.toLowerCase() &&
  a.environment === b.environment;

export function createActContext(o: ActOptions): ActContext {
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

  return {
    ...o,
    submit,
    readSpec: (github, repository, ref) => readParsedSpec(github, o.parseSpec, repository, ref),
    checkSpec: async (github, at, read) => {
      await reportSpecCheck({
        github,
        writes: o.writes,
        redact: o.redact,
        installationId: at.installationId,
        repository: at.repository,
        sha: at.sha,
        spec: read.fetched,
        problems: read.problems,
      });
    },
  };
}
