// A `/berth` command is answered twice: at once ("restarting…"), and when the deployment it started is
// final, with how it ended. The command's origin is kept in the store until then, so a restart in between
// still answers.
import type { CommandOrigin, CommandResults } from "../core/ports.js";
import type { DeploymentRecord, PipelineEvent } from "../core/types.js";
import { CoalescingQueue } from "./coalescing-queue.js";
import { DEFAULT_RETRY_DELAYS_MS, type ReporterOptions } from "./check-run-reporter.js";
import { splitRepository } from "./repository.js";

export const commandResultKey = (deploymentId: string) => `github:command:${deploymentId}`;

const FINAL = new Set(["ACTIVE", "ERROR", "CANCELED", "SUPERSEDED"]);

function commandResultText(origin: CommandOrigin, d: DeploymentRecord): string {
  const outcome =
    d.phase === "ACTIVE"
      ? d.url
        ? `✅ done: live at ${d.url}`
        : "✅ done."
      : d.phase === "SUPERSEDED"
        ? "⏭️ superseded by a newer deployment before it went live."
        : `${d.phase === "ERROR" ? "❌ failed" : "⛔ canceled"}${d.message ? `: ${d.message}` : "."}`;
  return `@${origin.by} \`/berth ${origin.command}\` (deployment \`${d.id}\`) ${outcome}`;
}

export interface CommandResultReporterOptions extends ReporterOptions {
  getDeployment: (id: string) => Promise<DeploymentRecord | null | undefined>;
}

export class CommandResultReporter implements CommandResults {
  readonly #o: CommandResultReporterOptions;
  readonly #queue: CoalescingQueue<DeploymentRecord | null>;

  constructor(options: CommandResultReporterOptions) {
    this.#o = options;
    this.#queue = new CoalescingQueue({
      send: (id, record) => this.#send(id, record),
      minIntervalMs: 0,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      log: options.log,
    });
  }

  readonly onEvent = (event: PipelineEvent): void => {
    if (event.type !== "deployment.phase" || !FINAL.has(event.phase)) return;
    if (event.phase === "SUPERSEDED" && event.was === "ACTIVE") return;
    this.#queue.push(event.deployment.id, event.deployment, { urgent: true });
  };

  async watch(deploymentId: string, origin: CommandOrigin): Promise<void> {
    await this.#o.state.set(commandResultKey(deploymentId), origin);
    // The deployment may have ended before its origin was stored.
    const now = await this.#o.getDeployment(deploymentId);
    if (now && FINAL.has(now.phase)) this.#queue.push(deploymentId, now, { urgent: true });
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  close(): void {
    this.#queue.close();
  }

  async #send(id: string, record: DeploymentRecord | null): Promise<void> {
    const key = commandResultKey(id);
    const origin = (await this.#o.state.get(key)) as CommandOrigin | null | undefined;
    if (!origin || !record) return;
    const github = await this.#o.auth(origin.installationId);
    const { owner, repo } = splitRepository(origin.repository);
    const on = origin.on;
    await this.#o.writes.run(origin.installationId, async () => {
      if (on.kind === "pull_request") {
        await github.rest.issues.createComment({
          owner,
          repo,
          issue_number: on.number,
          body: this.#o.redact(commandResultText(origin, record)),
        });
      } else {
        // Commit comments get a reaction: a reply there needs contents: write. A refused reaction is not
        // worth retrying.
        await github.rest.reactions
          .createForCommitComment({ owner, repo, comment_id: origin.commentId, content: record.phase === "ACTIVE" ? "hooray" : "confused" })
          .catch((err: { status?: number }) => {
            if (err.status !== 403 && err.status !== 404) throw err;
            this.#o.log.warn({ err, deploymentId: id }, "could not react to the command's commit comment");
          });
      }
      await this.#o.state.set(key, null);
    });
  }
}
