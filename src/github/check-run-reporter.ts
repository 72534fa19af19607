// One check run per app per commit, following the deployment: created queued, updated as phases and steps
// move (coalesced, at most every few seconds), completed with the conclusion and the failing step's log
// tail. The check run id is remembered in the store so a restart updates the same run.
import type { Logger } from "pino";
import type { DeploymentRecord, PipelineEvent } from "../core/types.js";
import type { KeyValueState } from "../core/ports.js";
import { checkRunState, failingStep } from "./check-run-body.js";
import { CoalescingQueue } from "./coalescing-queue.js";
import type { InstallationAuth } from "./octokit.js";
import type { Redact } from "../core/redact.js";
import { splitRepository } from "./repository.js";
import type { InstallationWriteQueue } from "./write-queue.js";

export interface ReporterOptions {
  auth: InstallationAuth;
  writes: InstallationWriteQueue;
  state: KeyValueState;
  log: Logger;
  redact: Redact;
  /** Berth's page for a deployment (`details_url`, `log_url`), when Berth has a public URL. */
  detailsUrl?: (deploymentId: string) => string | undefined;
  /** Least time between two updates of one check run or deployment. */
  minIntervalMs?: number;
  retryDelaysMs?: number[];
  /**
   * A step's stored log (the pipeline's `readLogs`). The failing step's tail is read from there when the
   * run completes, because the last lines may reach the store after the phase event does.
   */
  readLog?: (deploymentId: string, step: string) => Promise<{ text: string }[]>;
}

export const DEFAULT_RETRY_DELAYS_MS = [1_000, 5_000, 15_000, 60_000, 120_000];
const LOG_LINES_KEPT = 60;
const FINAL = new Set(["ACTIVE", "ERROR", "CANCELED", "SUPERSEDED"]);

export const checkRunKey = (deploymentId: string) => `github:check-run:${deploymentId}`;
/** Set once GitHub accepted the run's completion: a Berth stopped before that completes it at its next start. */
export const checkRunDoneKey = (deploymentId: string) => `github:check-run-done:${deploymentId}`;

interface Tracked {
  deployment: DeploymentRecord;
  wasActive: boolean;
  /** Reported as completed; later events (SUPERSEDED after ACTIVE) must not reopen or relabel it. */
  completed: boolean;
  logs: Map<string, string[]>;
}

export class CheckRunReporter {
  readonly #o: ReporterOptions;
  readonly #queue: CoalescingQueue<string>;
  readonly #tracked = new Map<string, Tracked>();
  readonly #completed = new Set<string>();

  constructor(options: ReporterOptions) {
    this.#o = options;
    this.#queue = new CoalescingQueue({
      send: (id) => this.#send(id),
      minIntervalMs: options.minIntervalMs ?? 3_000,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      log: options.log,
    });
  }

  /** The pipeline listener: never blocks, never throws. */
  readonly onEvent = (event: PipelineEvent): void => {
    if (event.type === "deployment.log") {
      const tracked = this.#tracked.get(event.deploymentId);
      if (!tracked) return;
      const lines = tracked.logs.get(event.step) ?? [];
      lines.push(event.line);
      if (lines.length > LOG_LINES_KEPT) lines.splice(0, lines.length - LOG_LINES_KEPT);
      tracked.logs.set(event.step, lines);
      return;
    }
    if (event.type === "app.removed") return;
    // A deployment that served and was then replaced keeps its green check run.
    if (event.type === "deployment.phase" && event.phase === "SUPERSEDED" && event.was === "ACTIVE") return;
    const deployment = event.deployment;
    if (this.#completed.has(deployment.id)) return;
    let tracked = this.#tracked.get(deployment.id);
    if (!tracked) {
      tracked = { deployment, wasActive: false, completed: false, logs: new Map() };
      this.#tracked.set(deployment.id, tracked);
    }
    if (tracked.completed) return;
    tracked.deployment = deployment;
    if (deployment.phase === "ACTIVE") tracked.wasActive = true;
    this.#queue.push(deployment.id, deployment.id, { urgent: FINAL.has(deployment.phase) || event.type === "deployment.created" });
  };

  /**
   * At start: a deployment that ended while the last Berth was stopping (or crashed) before GitHub accepted
   * the completion is completed now.
   */
  async resume(deployment: DeploymentRecord): Promise<void> {
    if (!FINAL.has(deployment.phase) || (await this.#o.state.get(checkRunDoneKey(deployment.id)))) return;
    // A superseded deployment with a URL went live first; its run stays green.
    const wasActive = deployment.phase === "ACTIVE" || (deployment.phase === "SUPERSEDED" && Boolean(deployment.url));
    this.#tracked.set(deployment.id, { deployment, wasActive, completed: false, logs: new Map() });
    this.#queue.push(deployment.id, deployment.id, { urgent: true });
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  close(): void {
    this.#queue.close();
  }

  async #logTail(tracked: Tracked, step: string): Promise<string[]> {
    const seen = tracked.logs.get(step) ?? [];
    if (!this.#o.readLog) return seen;
    try {
      const chunks = await this.#o.readLog(tracked.deployment.id, step);
      const lines = chunks.map((c) => c.text).join("").replace(/\n$/, "").split("\n");
      return lines.length > 0 && lines.some(Boolean) ? lines.slice(-LOG_LINES_KEPT) : seen;
    } catch (err) {
      this.#o.log.warn({ err, deploymentId: tracked.deployment.id }, "could not read the failing step's log; using what was seen");
      return seen;
    }
  }

  async #send(id: string): Promise<void> {
    const tracked = this.#tracked.get(id);
    if (!tracked) return;
    const { deployment } = tracked;
    const failed = failingStep(deployment);
    const logTail = failed ? (await this.#logTail(tracked, failed.name)).map(this.#o.redact) : undefined;
    const body = checkRunState(deployment, { logTail, wasActive: tracked.wasActive });
    const output = {
      title: this.#o.redact(body.output.title),
      summary: this.#o.redact(body.output.summary),
      ...(body.output.text ? { text: body.output.text } : {}),
    };
    const details = this.#o.detailsUrl?.(deployment.id);
    const { owner, repo } = splitRepository(deployment.app.repository);
    const github = await this.#o.auth(deployment.app.installationId);
    const completion =
      body.status === "completed"
        ? { conclusion: body.conclusion, completed_at: deployment.updatedAt.toISOString(), actions: body.actions }
        : {};

    await this.#o.writes.run(deployment.app.installationId, async () => {
      const known = (await this.#o.state.get(checkRunKey(id))) as number | null | undefined;
      if (known) {
        await github.rest.checks.update({
          owner,
          repo,
          check_run_id: known,
          status: body.status,
          output,
          ...(details ? { details_url: details } : {}),
          ...completion,
        });
      } else {
        const { data } = await github.rest.checks.create({
          owner,
          repo,
          name: body.name,
          head_sha: deployment.sha,
          external_id: deployment.id,
          status: body.status,
          started_at: deployment.createdAt.toISOString(),
          output,
          ...(details ? { details_url: details } : {}),
          ...completion,
        });
        await this.#o.state.set(checkRunKey(id), data.id);
      }
    });
    if (body.status === "completed") {
      await this.#o.state.set(checkRunDoneKey(id), true);
      tracked.completed = true;
      // Keep the record only while it can still change; a completed run is never touched again.
      this.#tracked.delete(id);
      this.#completed.add(id);
      if (this.#completed.size > 10_000) this.#completed.delete(this.#completed.values().next().value as string);
    }
  }
}
