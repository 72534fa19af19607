// The Store contract: what the pipeline, intake and the reporters may ask of Berth's durable state. The
// implementation (src/store/) keeps it in SQL; tests may keep it anywhere. No I/O here.
import type { AppKey, Cause, DeploymentError, DeploymentKind, DeploymentRecord, Phase, SecretScope, StepRecord } from "./types.js";
import type { InboxStore } from "./ports.js";

export interface AppRecord {
  id: string;
  key: AppKey;
  branch: string;
  specName?: string;
  /** Set once a fork's pull request deployed here; it never clears, so every later deployment is untrusted too. */
  untrusted: boolean;
  activeDeploymentId?: string;
  /** Sha of the active deployment, for the GitHub catch-up. */
  activeSha?: string;
  removedAt?: Date;
  removedReason?: string;
  createdAt: Date;
}

export interface LogChunk {
  id: number;
  step: string;
  text: string;
  createdAt: Date;
}

export interface DeploymentInternals {
  record: DeploymentRecord;
  kind: DeploymentKind;
  intent: unknown;
  spec: unknown;
  images: Record<string, string>;
  /** JSON `{ phase, message }` when someone asked the deployment to stop. */
  cancelRequested?: string;
  stepResults: Map<string, unknown>;
}

export interface NewDeployment {
  app: AppKey;
  branch: string;
  kind: DeploymentKind;
  sha: string;
  cause: Cause;
  intent: unknown;
  /**
   * What the caller allows (default production). The store makes the deployment untrusted when its cause is a
   * fork's pull request or its app is already untrusted, and an untrusted deployment always gets none.
   */
  secrets?: SecretScope;
  deliveryId?: string;
  /** Supersede this app's queued deployments (newest commit wins). */
  supersedeQueued: boolean;
  /** Also ask the running build of this app to stop (BERTH_CANCEL_IN_PROGRESS). */
  cancelRunningBuild: boolean;
  /** Copy spec and images from here (restart, rollback). */
  spec?: unknown;
  images?: Record<string, string>;
}

export interface EnqueueResult {
  accepted: boolean;
  deployment?: DeploymentRecord;
  /** Deployments this one superseded, as they now are. */
  superseded: DeploymentRecord[];
  /** Running deployments asked to stop. */
  cancelRequested: string[];
}

export interface Claim {
  appId: string;
  /** The deployment to run or recover, or undefined for a teardown. */
  deploymentId?: string;
  teardown: boolean;
}

/** What one retention sweep removes (BERTH_KEEP_DEPLOYMENTS, BERTH_LOG_RETENTION, BERTH_DELIVERY_RETENTION). */
export interface RetentionPolicy {
  /** Keep this many newest deployments per app; older final ones (never the ACTIVE one) go, steps and logs with them. */
  keepDeployments: number;
  /** Log chunks written before this go. */
  logsBefore: Date;
  /** Webhook deliveries (ids and body hashes: the replay window) and finished inbox entries received before this go. */
  deliveriesBefore: Date;
}

export interface PruneResult {
  deployments: number;
  logs: number;
  deliveries: number;
  /** Apps that lost deployments, with the images their remaining deployments still use. */
  apps: { appId: string; keptImages: string[] }[];
}

/** What an app answers to: its router host label and its custom domains (lower case). */
export interface AppNames {
  host: string;
  domains: string[];
}

/** A name another app holds. */
export interface NameConflict {
  kind: "host" | "domain";
  value: string;
  owner: { appId: string; app: AppKey };
}

export interface Store {
  readonly kind: "sqlite" | "postgres";
  close(): Promise<void>;
  /** true the first time this webhook delivery id is seen. */
  recordDelivery(id: string): Promise<boolean>;
  /** The webhook inbox (`InboxStore` in ports.ts): deliveries acknowledged and not yet acted on. */
  commitInbox: InboxStore["commitInbox"];
  listInbox: InboxStore["listInbox"];
  apps: {
    list(opts?: { includeRemoved?: boolean; installationId?: number }): Promise<AppRecord[]>;
    get(id: string): Promise<AppRecord | undefined>;
    find(key: AppKey): Promise<AppRecord | undefined>;
    upsert(key: AppKey, fields: { branch: string }): Promise<AppRecord>;
    /** The `name:` of the spec the app last deployed. */
    setSpecName(id: string, specName: string): Promise<void>;
    /** Mark removed (preview closed, uninstalled); the record and its history stay. */
    remove(id: string, reason: string): Promise<void>;
  };
  deployments: {
    get(id: string): Promise<DeploymentRecord | undefined>;
    internals(id: string): Promise<DeploymentInternals | undefined>;
    list(appId: string, opts?: { limit?: number; phases?: Phase[] }): Promise<DeploymentRecord[]>;
    /** Compare-and-set on the phase; throws IllegalTransitionError when the table forbids it. */
    transition(id: string, to: Phase, fields?: { message?: string; url?: string }): Promise<DeploymentRecord>;
    update(id: string, fields: { spec?: unknown; images?: Record<string, string>; message?: string; error?: DeploymentError }): Promise<void>;
    /** Make `id` the app's ACTIVE deployment; the previous ACTIVE one becomes SUPERSEDED. */
    activate(id: string, fields: { url?: string }): Promise<{ deployment: DeploymentRecord; previous?: DeploymentRecord }>;
    /** Ask whoever runs it to stop; it ends in `phase` with `reason` as its message. */
    requestCancel(id: string, reason: string, phase?: "CANCELED" | "SUPERSEDED"): Promise<boolean>;
  };
  steps: {
    put(deploymentId: string, step: StepRecord & { position: number; result?: unknown }): Promise<void>;
  };
  logs: {
    append(deploymentId: string, step: string, text: string): Promise<void>;
    /** Oldest first; `newestFirst` reads backwards from `beforeId`. */
    read(
      deploymentId: string,
      opts?: { step?: string; afterId?: number; beforeId?: number; limit?: number; newestFirst?: boolean },
    ): Promise<LogChunk[]>;
    /** How many chunks the deployment's log has (cheap: no text is read). */
    count(deploymentId: string): Promise<number>;
    /** Yields chunks as they are appended until the deployment is final and everything was read. */
    follow(deploymentId: string, opts?: { step?: string; pollMs?: number; signal?: AbortSignal }): AsyncGenerator<LogChunk>;
  };
  retention: {
    /** Deletes in bounded batches, so a sweep never holds the database for long. */
    prune(policy: RetentionPolicy): Promise<PruneResult>;
  };
  state: {
    get<T>(key: string): Promise<T | undefined>;
    set(key: string, value: unknown): Promise<void>;
    delete(key: string): Promise<void>;
  };
  /** Router names and custom domains: each belongs to one app. */
  names: {
    /** Take every name for the app, all or none; returns the first one another app holds, else undefined. */
    claim(appId: string, names: AppNames): Promise<NameConflict | undefined>;
    /** Let go of the app's names not in `keep` (all of them without it). */
    release(appId: string, keep?: AppNames): Promise<void>;
  };
  queue: {
    enqueue(deployment: NewDeployment): Promise<EnqueueResult>;
    /** Tear the app down once its current work is done; cancels its queued deployments. */
    enqueueTeardown(appId: string, reason: string, deliveryId?: string): Promise<{ accepted: boolean; canceled: DeploymentRecord[] }>;
    /** Take the lease on one app with work (its lease free or expired), or undefined. */
    claim(workerId: string, leaseMs: number, exclude: string[]): Promise<Claim | undefined>;
    /** Extend the lease; false when this worker no longer holds it. */
    heartbeat(appId: string, workerId: string, leaseMs: number): Promise<boolean>;
    release(appId: string, workerId: string): Promise<void>;
    /** The teardown is done: the app lets go of its names too. */
    finishTeardown(appId: string): Promise<void>;
    /** The stop request on a deployment (JSON `{ phase, message }`), if any. */
    stopRequest(deploymentId: string): Promise<string | undefined>;
    /** Drop every lease (SQLite: only this process can hold one). */
    releaseAll(): Promise<void>;
    pending(): Promise<number>;
  };
}
