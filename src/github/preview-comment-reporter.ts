// One comment per pull request tells where its preview lives and how its latest deployment went. The
// comment's id is kept in the store and the comment is edited, never repeated.
import type { PipelineEvent } from "../core/types.js";
import type { DeploymentRecord } from "../core/types.js";
import { CoalescingQueue } from "./coalescing-queue.js";
import { DEFAULT_RETRY_DELAYS_MS, type ReporterOptions } from "./check-run-reporter.js";
import { splitRepository } from "./repository.js";

export const previewCommentKey = (installationId: number, repository: string, number: number) =>
  `github:pr-comment:${installationId}/${repository}#${number}`;

const MARKER = "<!-- berth:preview -->";

function previewNumber(environment: string): number | null {
  const match = /^pr-(\d+)$/.exec(environment);
  return match ? Number(match[1]) : null;
}

const STATUS: Record<DeploymentRecord["phase"], string> = {
  PENDING_BUILD: "⏳ Queued",
  BUILDING: "🔨 Building",
  PENDING_DEPLOY: "🔄 Deploying",
  DEPLOYING: "🔄 Deploying",
  ACTIVE: "✅ Live",
  ERROR: "❌ Failed",
  CANCELED: "⛔ Canceled",
  SUPERSEDED: "⏭️ Superseded by a newer commit",
};

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function previewCommentBody(deployment: DeploymentRecord, detailsUrl?: string): string {
  const rows = [
    `| Status | ${STATUS[deployment.phase]} |`,
    `| Commit | \`${deployment.sha.slice(0, 7)}\` |`,
    deployment.phase === "ACTIVE" && deployment.url ? `| Preview | ${deployment.url} |` : "",
    deployment.phase === "ERROR" && deployment.message ? `| Reason | ${cell(deployment.message)} |` : "",
    // What a successful step noted, e.g. that custom domains are not served for previews.
    ...deployment.steps.filter((s) => s.status === "SUCCESS" && s.message).map((s) => `| Note | ${cell(s.message!)} |`),
    detailsUrl ? `| Details | [deployment ${deployment.id}](${detailsUrl}) |` : "",
  ].filter(Boolean);
  return [MARKER, "### Berth preview", "", "| | |", "|---|---|", ...rows].join("\n");
}

function previewNoticeBody(text: string): string {
  return [MARKER, "### Berth preview", "", text].join("\n");
}

interface Target {
  installationId: number;
  repository: string;
  number: number;
}

export class PreviewCommentReporter {
  readonly #o: ReporterOptions;
  readonly #queue: CoalescingQueue<{ target: Target; body: string }>;

  constructor(options: ReporterOptions) {
    this.#o = options;
    this.#queue = new CoalescingQueue({
      send: (_key, job) => this.#ensure(job.target, job.body),
      minIntervalMs: options.minIntervalMs ?? 3_000,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      log: options.log,
    });
  }

  readonly onEvent = (event: PipelineEvent): void => {
    if (event.type === "app.removed") {
      const number = previewNumber(event.app.environment);
      if (number === null) return;
      this.notice(
        { installationId: event.app.installationId, repository: event.app.repository, number },
        `The preview was torn down (${event.reason}).`,
      );
      return;
    }
    if (event.type !== "deployment.created" && event.type !== "deployment.phase") return;
    const { deployment } = event;
    const number = previewNumber(deployment.app.environment);
    if (number === null) return;
    if (event.type === "deployment.phase" && event.phase === "SUPERSEDED" && event.was === "ACTIVE") return;
    const body = previewCommentBody(deployment, this.#o.detailsUrl?.(deployment.id));
    const final = ["ACTIVE", "ERROR", "CANCELED"].includes(deployment.phase);
    this.#queue.push(this.#key(deployment.app.installationId, deployment.app.repository, number), {
      target: { installationId: deployment.app.installationId, repository: deployment.app.repository, number },
      body,
    }, { urgent: final });
  };

  /** Show a message instead of a deployment's state (a fork waiting for approval, a torn-down preview). */
  notice(target: Target, text: string): void {
    this.#queue.push(this.#key(target.installationId, target.repository, target.number), {
      target,
      body: previewNoticeBody(text),
    }, { urgent: true });
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  close(): void {
    this.#queue.close();
  }

  #key(installationId: number, repository: string, number: number): string {
    return previewCommentKey(installationId, repository, number);
  }

  async #ensure(target: Target, rawBody: string): Promise<void> {
    const body = this.#o.redact(rawBody);
    const key = this.#key(target.installationId, target.repository, target.number);
    const { owner, repo } = splitRepository(target.repository);
    const github = await this.#o.auth(target.installationId);
    await this.#o.writes.run(target.installationId, async () => {
      const known = (await this.#o.state.get(key)) as { id: number; body: string } | null | undefined;
      if (known?.body === body) return;
      if (known) {
        try {
          await github.rest.issues.updateComment({ owner, repo, comment_id: known.id, body });
          await this.#o.state.set(key, { id: known.id, body });
          return;
        } catch (err) {
          // Someone deleted the comment: write a new one rather than fail forever.
          if ((err as { status?: number }).status !== 404) throw err;
        }
      }
      const { data } = await github.rest.issues.createComment({ owner, repo, issue_number: target.number, body });
      await this.#o.state.set(key, { id: data.id, body });
    });
  }
}
