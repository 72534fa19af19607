// A GitHub deployment per Berth deployment, in the environment Berth deploys to (`production`, `pr-N` for
// previews, marked transient), with statuses that follow the phases. GitHub only retires older deployments
// by itself for some environments, so Berth marks the replaced one inactive explicitly, and a torn-down
// preview's too.
import type { Logger } from "pino";
import type { AppKey, DeploymentRecord, Phase, PipelineEvent } from "../core/types.js";
import { CoalescingQueue } from "./coalescing-queue.js";
import { DEFAULT_RETRY_DELAYS_MS, type ReporterOptions } from "./check-run-reporter.js";
import { splitRepository } from "./repository.js";

export type DeploymentState = "queued" | "in_progress" | "success" | "failure" | "error" | "inactive";

export const githubDeploymentKey = (deploymentId: string) => `github:deployment:${deploymentId}`;
/** The last status GitHub accepted for a deployment, so a restarted Berth sends only what is missing. */
export const deploymentStateKey = (deploymentId: string) => `github:deployment-state:${deploymentId}`;
export const environmentKey = (app: AppKey) =>
  `github:environment:${app.installationId}/${app.repository}/${app.environment}`;

const isPreview = (environment: string) => /^pr-\d+$/.test(environment);

function deploymentStateOf(phase: Phase, wasActive: boolean): DeploymentState {
  switch (phase) {
    case "PENDING_BUILD":
      return "queued";
    case "BUILDING":
    case "PENDING_DEPLOY":
    case "DEPLOYING":
      return "in_progress";
    case "ACTIVE":
      return "success";
    case "ERROR":
      return "failure";
    case "CANCELED":
      return "error";
    case "SUPERSEDED":
      return wasActive ? "inactive" : "error";
  }
}

function describe(deployment: DeploymentRecord, state: DeploymentState): string {
  const text =
    state === "success"
      ? `Live${deployment.url ? ` at ${deployment.url}` : ""}`
      : state === "inactive"
        ? "Replaced by a newer deployment"
        : deployment.message
          ? `${deployment.phase}: ${deployment.message}`
          : deployment.phase;
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

/**
 * The statuses to post to reach `state` from `sent`: updates are coalesced (latest state wins), yet a
 * deployment on GitHub should still read queued → in_progress → its outcome, so skipped steps are filled in.
 */
function statusesToSend(sent: DeploymentState | undefined, state: DeploymentState): DeploymentState[] {
  if (state === "inactive") return [state];
  const rank = (s: DeploymentState) => (s === "queued" ? 0 : s === "in_progress" ? 1 : 2);
  const from = sent === undefined ? 0 : rank(sent) + 1;
  const fill = (["queued", "in_progress"] as const).filter((s) => rank(s) >= from && rank(s) < rank(state));
  return [...fill, state];
}

const FILLED_DESCRIPTION: Partial<Record<DeploymentState, string>> = { queued: "PENDING_BUILD", in_progress: "BUILDING" };

type Job = { kind: "status"; deploymentId: string } | { kind: "retire"; app: AppKey };

export class DeploymentReporter {
  readonly #o: ReporterOptions;
  readonly #queue: CoalescingQueue<Job>;
  readonly #latest = new Map<string, { deployment: DeploymentRecord; wasActive: boolean }>();
  /** The last status GitHub accepted per deployment; apart from #latest, which each event replaces. */
  readonly #sent = new Map<string, DeploymentState>();

  constructor(options: ReporterOptions) {
    this.#o = options;
    this.#queue = new CoalescingQueue({
      send: (_key, job) => (job.kind === "status" ? this.#sendStatus(job.deploymentId) : this.#retire(job.app)),
      // Deployment statuses are few (one per phase), so they are not spaced out.
      minIntervalMs: 0,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      log: options.log,
    });
  }

  readonly onEvent = (event: PipelineEvent): void => {
    if (event.type === "deployment.log" || event.type === "deployment.step") return;
    if (event.type === "app.removed") {
      this.#queue.push(`retire:${environmentKey(event.app)}`, { kind: "retire", app: event.app }, { urgent: true });
      return;
    }
    const { deployment } = event;
    // The successor's success already marked this one inactive.
    if (event.type === "deployment.phase" && event.phase === "SUPERSEDED" && event.was === "ACTIVE") return;
    const known = this.#latest.get(deployment.id);
    this.#latest.set(deployment.id, {
      deployment,
      wasActive: Boolean(known?.wasActive) || deployment.phase === "ACTIVE",
    });
    this.#queue.push(deployment.id, { kind: "status", deploymentId: deployment.id }, { urgent: true });
  };

  /** At start: sends the final status a stopped (or crashed) Berth did not get GitHub to accept. */
  async resume(deployment: DeploymentRecord): Promise<void> {
    // A successor that went live already marked a superseded one inactive.
    if (deployment.phase === "SUPERSEDED" && deployment.url) return;
    const state = deploymentStateOf(deployment.phase, deployment.phase === "ACTIVE");
    if (state === "queued" || state === "in_progress") return;
    const sent = (await this.#o.state.get(deploymentStateKey(deployment.id))) as DeploymentState | null | undefined;
    if (sent === state) return;
    if (sent) this.#sent.set(deployment.id, sent);
    this.#latest.set(deployment.id, { deployment, wasActive: deployment.phase === "ACTIVE" });
    this.#queue.push(deployment.id, { kind: "status", deploymentId: deployment.id }, { urgent: true });
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  close(): void {
    this.#queue.close();
  }

  async #sendStatus(id: string): Promise<void> {
    const entry = this.#latest.get(id);
    if (!entry) return;
    const { deployment } = entry;
    const state = deploymentStateOf(deployment.phase, entry.wasActive);
    if (this.#sent.get(id) === state) return;
    const { app } = deployment;
    const { owner, repo } = splitRepository(app.repository);
    const github = await this.#o.auth(app.installationId);
    const details = this.#o.detailsUrl?.(id);
    const log: Logger = this.#o.log.child({ deploymentId: id, repository: app.repository });

    await this.#o.writes.run(app.installationId, async () => {
      let githubId = (await this.#o.state.get(githubDeploymentKey(id))) as number | null | undefined;
      if (!githubId) {
        const preview = isPreview(app.environment);
        const { data } = await github.rest.repos.createDeployment({
          owner,
          repo,
          ref: deployment.sha,
          environment: app.environment,
          description: this.#o.redact(`Berth deployment ${id} of ${deployment.branch}`),
          auto_merge: false,
          required_contexts: [],
          transient_environment: preview,
          production_environment: app.environment === "production",
          payload: { berth_deployment_id: id },
        });
        if (!("id" in data)) throw new Error(`GitHub did not create a deployment for ${app.repository}@${deployment.sha}`);
        githubId = data.id;
        await this.#o.state.set(githubDeploymentKey(id), githubId);
        log.debug({ githubDeploymentId: githubId }, "GitHub deployment created");
      }
      for (const step of statusesToSend(this.#sent.get(id), state)) {
        const filled = step !== state;
        await github.rest.repos.createDeploymentStatus({
          owner,
          repo,
          deployment_id: githubId,
          state: step,
          description: this.#o.redact(filled ? FILLED_DESCRIPTION[step]! : describe(deployment, state)),
          ...(state === "success" && deployment.url ? { environment_url: deployment.url } : {}),
          ...(details ? { log_url: details } : {}),
        });
        this.#sent.set(id, step);
        await this.#o.state.set(deploymentStateKey(id), step);
      }
      if (state === "success") {
        const envKey = environmentKey(app);
        const previous = (await this.#o.state.get(envKey)) as number | null | undefined;
        if (previous && previous !== githubId) {
          await github.rest.repos.createDeploymentStatus({
            owner,
            repo,
            deployment_id: previous,
            state: "inactive",
            description: "Replaced by a newer deployment",
          });
        }
        await this.#o.state.set(envKey, githubId);
      }
    });
    if (state !== "queued" && state !== "in_progress") {
      this.#latest.delete(id);
      this.#sent.delete(id);
    }
  }

  async #retire(app: AppKey): Promise<void> {
    const envKey = environmentKey(app);
    const current = (await this.#o.state.get(envKey)) as number | null | undefined;
    if (!current) return;
    const { owner, repo } = splitRepository(app.repository);
    const github = await this.#o.auth(app.installationId);
    await this.#o.writes.run(app.installationId, async () => {
      await github.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: current,
        state: "inactive",
        description: isPreview(app.environment) ? "Preview torn down" : "No longer deployed by Berth",
      });
      await this.#o.state.set(envKey, null);
    });
  }
}
