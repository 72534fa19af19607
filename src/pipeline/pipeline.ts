// The pipeline: takes intents (durably, before the webhook is answered), runs deployments one at a time per
// app and up to `concurrency` across apps, and announces every change as a typed event. This file only wires
// the rooms: submit (intents to queue entries), the scheduler (claims and leases), runDeployment (the script).
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type pino from "pino";
import type { Runtime } from "../runtime/runtime.js";
import type { LogChunk, Store } from "../core/store.js";
import { IntentError, describeCause } from "../core/errors.js";
import type { SourceProvider } from "../core/ports.js";
import type { SecretStore } from "../core/secrets.js";
import { createSecretCipher, type SecretCipher } from "../secrets/cipher.js";
import type { AppKey, DeploymentRecord, Intent, Phase, PipelineEvent } from "../core/types.js";
import type { AppSpecParser, BindContextHook } from "./deploy-context.js";
import { DEFAULT_QUOTAS, type Quotas } from "./quotas.js";
import { runDeployment } from "./run-deployment.js";
import { Scheduler } from "./scheduler.js";
import { submitIntent, type SubmitResult } from "./submit.js";

export interface PipelineOptions {
  store: Store;
  runtime: Runtime;
  source: SourceProvider;
  log: pino.Logger;
  /** Deployments running at once across apps (BERTH_CONCURRENCY, default 2). */
  concurrency?: number;
  /** A push also cancels the running build of an older commit for the same app (BERTH_CANCEL_IN_PROGRESS). */
  cancelInProgress?: boolean;
  /** Scratch space for fetched sources (`<BERTH_DATA_DIR>/work`). */
  workDir: string;
  /** Unique per process; names the lease owner. */
  workerId?: string;
  /** How long a lease lasts without a heartbeat (default 30 s; heartbeats every third of it). */
  leaseMs?: number;
  /** How often to look for work other processes queued or leases that expired (default 1 s). */
  pollMs?: number;
  /** How often buffered step logs are written (default 250 ms). */
  logFlushMs?: number;
  bindContext?: BindContextHook;
  /** How the spec stage parses (default parseAppSpec, on the calling thread). */
  parseSpec?: AppSpecParser;
  /**
   * Repositories (`owner/name`) whose same-repository pull-request previews get production's secrets and
   * databases (BERTH_PREVIEW_SECRETS); every other preview gets none. A fork's preview never does.
   */
  previewSecrets?: string[];
  /** The operator's SECRET values (src/secrets/); a spec's SECRET without a value reads it. */
  secrets?: SecretStore;
  /**
   * Seals SECRET values written in a spec before the spec is stored (BERTH_SECRET_KEY or the key file).
   * Without one, a throwaway key: a stored spec then opens only in this process.
   */
  secretCipher?: SecretCipher;
  /** The operator's limits per app (BERTH_MAX_*); each one not given is DEFAULT_QUOTAS'. */
  quotas?: Partial<Quotas>;
}

export interface ManagedApp {
  id: string;
  app: AppKey;
  branch: string;
  /** Sha of the ACTIVE deployment, if any. */
  lastDeployedSha?: string;
  activeDeploymentId?: string;
}

export interface Pipeline {
  readonly workerId: string;
  start(): Promise<void>;
  /** Stop taking work; wait up to graceMs for running deployments, then stop them (ERROR "interrupted"). */
  stop(graceMs: number): Promise<void>;
  submit(intent: Intent, opts?: { deliveryId?: string }): Promise<SubmitResult>;
  on(listener: (event: PipelineEvent) => void): () => void;
  getDeployment(id: string): Promise<DeploymentRecord | undefined>;
  listDeployments(app: AppKey, opts?: { limit?: number; phases?: Phase[] }): Promise<DeploymentRecord[]>;
  apps(): Promise<ManagedApp[]>;
  readLogs(deploymentId: string, step?: string): Promise<LogChunk[]>;
  /** Look for work now rather than at the next poll. */
  poke(): void;
}

/** Listeners hear every event; a reporter's bug must never hold up or fail a deployment. */
function createEmitter(log: pino.Logger) {
  const listeners = new Set<(event: PipelineEvent) => void>();
  return {
    emit(event: PipelineEvent) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (err) {
          log.error({ err, event: event.type }, "pipeline listener threw");
        }
      }
    },
    on(listener: (event: PipelineEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function createPipeline(opts: PipelineOptions): Pipeline {
  const { store, runtime, source } = opts;
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const log = opts.log.child({ workerId });
  const { emit, on } = createEmitter(log);
  const runDeps = {
    store,
    runtime,
    source,
    log,
    workDir: opts.workDir,
    emit,
    bindContext: opts.bindContext,
    logFlushMs: opts.logFlushMs ?? 250,
    parseSpec: opts.parseSpec,
    quotas: { ...DEFAULT_QUOTAS, ...opts.quotas },
    secrets: opts.secrets,
    cipher: opts.secretCipher ?? createSecretCipher({ current: randomBytes(32), source: "a throwaway key" }),
  };
  const scheduler = new Scheduler({
    store,
    runtime,
    log,
    workerId,
    emit,
    concurrency: opts.concurrency ?? 2,
    leaseMs: opts.leaseMs ?? 30_000,
    pollMs: opts.pollMs ?? 1_000,
    run: (deploymentId, signal) => runDeployment(runDeps, deploymentId, signal),
  });
  const submitDeps = {
    store,
    scheduler,
    emit,
    cancelInProgress: opts.cancelInProgress === true,
    previewSecrets: new Set((opts.previewSecrets ?? []).map((r) => r.toLowerCase())),
  };

  return {
    workerId,
    start: () => scheduler.start(),
    stop: (graceMs) => scheduler.stop(graceMs),
    async submit(intent, submitOpts = {}) {
      try {
        return await submitIntent(submitDeps, intent, submitOpts.deliveryId);
      } catch (err) {
        if (!(err instanceof IntentError)) log.error({ err, intent: intent.kind }, `could not submit intent: ${describeCause(err)}`);
        throw err;
      }
    },
    on,
    getDeployment: (id) => store.deployments.get(id),
    async listDeployments(app, listOpts) {
      const found = await store.apps.find(app);
      return found ? store.deployments.list(found.id, listOpts) : [];
    },
    async apps() {
      return (await store.apps.list()).map((a) => ({
        id: a.id,
        app: a.key,
        branch: a.branch,
        lastDeployedSha: a.activeSha,
        activeDeploymentId: a.activeDeploymentId,
      }));
    },
    readLogs: (deploymentId, step) => store.logs.read(deploymentId, { step }),
    poke: () => scheduler.poke(),
  };
}
