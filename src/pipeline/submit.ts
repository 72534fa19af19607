// Turning intents into queue entries, durably, before the webhook is answered: a deploy, restart or rollback
// becomes a queued deployment; a cancel or teardown stops what it names. Unknown apps and impossible requests
// are refused with an IntentError the caller shows to the person who asked.
import type { AppRecord, EnqueueResult, Store } from "../core/store.js";
import { IntentError, StopRequest } from "../core/errors.js";
import { NON_FINAL_PHASES } from "../core/phases.js";
import type { AppKey, Intent, PipelineEvent, SecretScope } from "../core/types.js";
import type { Scheduler } from "./scheduler.js";

export interface SubmitResult {
  accepted: boolean;
  deploymentId?: string;
}

export interface SubmitDeps {
  store: Store;
  scheduler: Pick<Scheduler, "poke" | "stopLocally" | "isRunning" | "runningDeployment">;
  emit(event: PipelineEvent): void;
  /** A push also cancels the running build of an older commit for the same app (BERTH_CANCEL_IN_PROGRESS). */
  cancelInProgress: boolean;
  /** Repositories (`owner/name`, lower case) whose same-repository previews get production's secrets (BERTH_PREVIEW_SECRETS). */
  previewSecrets: ReadonlySet<string>;
}

/**
 * Production gets its secrets; a preview gets none unless the operator opted its repository in. The store
 * lowers this to none for a fork's code whatever it says here, so a fork can never be opted in.
 */
function secretsFor(deps: SubmitDeps, app: AppKey): SecretScope {
  if (app.environment === "production") return "production";
  return deps.previewSecrets.has(app.repository.toLowerCase()) ? "production" : "none";
}

type Of<K extends Intent["kind"]> = Extract<Intent, { kind: K }>;

export function submitIntent(deps: SubmitDeps, intent: Intent, deliveryId?: string): Promise<SubmitResult> {
  switch (intent.kind) {
    case "deploy":
      return submitDeploy(deps, intent, deliveryId);
    case "restart":
      return submitRestart(deps, intent, deliveryId);
    case "rollback":
      return submitRollback(deps, intent, deliveryId);
    case "cancel":
      return submitCancel(deps, intent, deliveryId);
    case "teardown":
      return submitTeardown(deps, intent, deliveryId);
  }
}

async function submitDeploy(deps: SubmitDeps, intent: Of<"deploy">, deliveryId?: string): Promise<SubmitResult> {
  const result = await deps.store.queue.enqueue({
    app: intent.app,
    branch: intent.branch,
    kind: "deploy",
    sha: intent.sha,
    cause: intent.cause,
    intent,
    secrets: secretsFor(deps, intent.app),
    deliveryId,
    supersedeQueued: true,
    cancelRunningBuild: deps.cancelInProgress,
  });
  return accepted(deps, result, result.cancelRequested);
}

async function submitRestart(deps: SubmitDeps, intent: Of<"restart">, deliveryId?: string): Promise<SubmitResult> {
  const app = await findApp(deps.store, intent.app);
  const active = app.activeDeploymentId ? await deps.store.deployments.internals(app.activeDeploymentId) : undefined;
  if (!active) throw new IntentError(`${intent.app.repository} (${intent.app.environment}) has no active deployment to restart`);
  const result = await deps.store.queue.enqueue({
    app: intent.app,
    branch: app.branch,
    kind: "restart",
    sha: active.record.sha,
    cause: { type: "restart", components: intent.components, by: intent.by },
    intent,
    secrets: secretsFor(deps, intent.app),
    deliveryId,
    supersedeQueued: false,
    cancelRunningBuild: false,
    spec: active.spec,
    images: active.images,
  });
  return accepted(deps, result, []);
}

async function submitRollback(deps: SubmitDeps, intent: Of<"rollback">, deliveryId?: string): Promise<SubmitResult> {
  const app = await findApp(deps.store, intent.app);
  const target = await deps.store.deployments.internals(intent.toDeploymentId);
  if (!target || target.record.appId !== app.id) {
    throw new IntentError(`deployment ${intent.toDeploymentId} is not a deployment of ${intent.app.repository} (${intent.app.environment})`);
  }
  const wentLive = target.record.phase === "ACTIVE" || target.record.phase === "SUPERSEDED";
  if (!wentLive || target.spec === undefined || Object.keys(target.images).length === 0) {
    throw new IntentError(`deployment ${intent.toDeploymentId} never went live (${target.record.phase}), so there is nothing to roll back to`);
  }
  const result = await deps.store.queue.enqueue({
    app: intent.app,
    branch: app.branch,
    kind: "rollback",
    sha: target.record.sha,
    cause: { type: "rollback", toDeploymentId: intent.toDeploymentId, by: intent.by },
    intent,
    secrets: secretsFor(deps, intent.app),
    deliveryId,
    supersedeQueued: true,
    cancelRunningBuild: false,
    spec: target.spec,
    images: target.images,
  });
  return accepted(deps, result, []);
}

async function submitCancel(deps: SubmitDeps, intent: Of<"cancel">, deliveryId?: string): Promise<SubmitResult> {
  const { store } = deps;
  if (deliveryId !== undefined && !(await store.recordDelivery(deliveryId))) return { accepted: false };
  const app = await findApp(store, intent.app);
  const targets = intent.deploymentId
    ? [intent.deploymentId]
    : (await store.deployments.list(app.id, { phases: [...NON_FINAL_PHASES] })).map((d) => d.id);
  const message = `canceled: ${intent.reason}`;
  for (const id of targets) {
    const d = await store.deployments.get(id);
    if (!d || d.appId !== app.id) throw new IntentError(`deployment ${id} is not a deployment of ${intent.app.repository}`);
    if (d.phase === "PENDING_BUILD" && !deps.scheduler.isRunning(app.id)) {
      try {
        const canceled = await store.deployments.transition(id, "CANCELED", { message });
        deps.emit({ type: "deployment.phase", deployment: canceled, phase: "CANCELED", was: "PENDING_BUILD" });
        continue;
      } catch {
        // A worker started it meanwhile: ask that worker instead.
      }
    }
    await store.deployments.requestCancel(id, message);
  }
  deps.scheduler.stopLocally(targets, new StopRequest("CANCELED", message));
  return { accepted: true };
}

async function submitTeardown(deps: SubmitDeps, intent: Of<"teardown">, deliveryId?: string): Promise<SubmitResult> {
  const { store, scheduler } = deps;
  const app = await store.apps.find(intent.app);
  if (!app) {
    if (deliveryId !== undefined) await store.recordDelivery(deliveryId);
    return { accepted: false };
  }
  const result = await store.queue.enqueueTeardown(app.id, intent.reason, deliveryId);
  if (!result.accepted) return { accepted: false };
  for (const d of result.canceled) deps.emit({ type: "deployment.phase", deployment: d, phase: "CANCELED", was: "PENDING_BUILD" });
  const running = scheduler.runningDeployment(app.id);
  if (running) scheduler.stopLocally([running], new StopRequest("CANCELED", `canceled: ${intent.reason}`));
  scheduler.poke();
  return { accepted: true };
}

async function findApp(store: Store, app: AppKey): Promise<AppRecord> {
  const found = await store.apps.find(app);
  if (!found) throw new IntentError(`Berth does not manage ${app.repository} (${app.environment}) yet: deploy it first`);
  return found;
}

/** Announce what the store accepted (superseded first, then the new deployment) and wake the scheduler. */
function accepted(deps: SubmitDeps, result: EnqueueResult, cancelRequested: string[]): SubmitResult {
  if (!result.accepted) return { accepted: false };
  for (const d of result.superseded) deps.emit({ type: "deployment.phase", deployment: d, phase: d.phase, was: "PENDING_BUILD" });
  if (result.deployment) deps.emit({ type: "deployment.created", deployment: result.deployment });
  if (cancelRequested.length) {
    const by = result.deployment!;
    deps.scheduler.stopLocally(cancelRequested, new StopRequest("SUPERSEDED", `superseded by ${by.sha.slice(0, 7)} (deployment ${by.id}) while building`));
  }
  deps.scheduler.poke();
  return { accepted: true, deploymentId: result.deployment?.id };
}
