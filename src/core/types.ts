// The nouns every floor shares: which app (AppKey), why a deployment exists (Cause), what intake asks the
// pipeline for (Intent), what a deployment and its steps look like (DeploymentRecord, StepRecord), and what
// the pipeline announces (PipelineEvent). No I/O; nothing here imports another room.

import type { DeployErrorCode } from "./errors.js";
import type { Phase } from "./phases.js";

export type { Phase } from "./phases.js";

/** What a deployment does: build and roll out a commit, restart what runs, or roll back to earlier images. */
export type DeploymentKind = "deploy" | "restart" | "rollback";

/**
 * Whose SECRET values and database credentials a deployment receives: production's, or none (code from a
 * fork always; a same-repository preview unless the operator opted its repository in).
 */
export type SecretScope = "production" | "none";

export type StepStatus = "PENDING" | "RUNNING" | "SUCCESS" | "ERROR" | "CANCELED" | "SKIPPED";

/** Which deployable thing: one per repository + spec name + environment. */
export interface AppKey {
  installationId: number;
  /** `owner/name`. */
  repository: string;
  /** `production` for the deploy branch, `pr-<N>` for a pull-request preview. */
  environment: string;
}

export type Cause =
  | { type: "push"; sha: string; ref: string; pusher?: string; message?: string }
  | { type: "manual"; by?: string }
  | { type: "force_rebuild"; by?: string }
  | { type: "rollback"; toDeploymentId: string; by?: string }
  | { type: "restart"; components?: string[]; by?: string }
  | { type: "pull_request"; number: number; sha: string; headRepository: string; fork: boolean }
  | { type: "catch_up"; sha: string };

export type Intent =
  | {
      kind: "deploy";
      app: AppKey;
      /** Deploy branch (production) or PR head ref. */
      branch: string;
      sha: string;
      cause: Cause;
      forceBuild?: boolean;
      /** Components that must be rebuilt; others reuse their previous image (monorepo path filter). */
      changedPaths?: string[];
    }
  | {
      kind: "restart";
      app: AppKey;
      components?: string[];
      by?: string;
      /** Roll out again with the env as it resolves now (a changed secret), not the running instances' env. */
      refreshEnv?: boolean;
    }
  | { kind: "rollback"; app: AppKey; toDeploymentId: string; by?: string }
  | { kind: "cancel"; app: AppKey; deploymentId?: string; reason: string }
  | { kind: "teardown"; app: AppKey; reason: string };

export interface StepRecord {
  name: string;
  component?: string;
  status: StepStatus;
  startedAt?: Date;
  endedAt?: Date;
  message?: string;
}

export interface DeploymentRecord {
  id: string;
  appId: string;
  app: AppKey;
  sha: string;
  branch: string;
  cause: Cause;
  /** Its app runs code from a fork (stored at enqueue, whatever the cause: a button press, a rollback, a restart). */
  untrusted: boolean;
  secrets: SecretScope;
  phase: Phase;
  /** Why it ended where it did (ERROR, CANCELED, SUPERSEDED), naming step, component and cause. */
  message?: string;
  createdAt: Date;
  updatedAt: Date;
  steps: StepRecord[];
  /** Public URL once ACTIVE. */
  url?: string;
  /** ERROR only: the failure's catalog code and details, so reporters branch on the code, never on the text. */
  error?: DeploymentError;
}

export interface DeploymentError {
  code: DeployErrorCode;
  step?: string;
  component?: string;
  /** Markdown a person reads (the check run's summary): the offending value and what to do. */
  markdown?: string;
  /** The runtime gave up waiting (build timeout, job timeout, health check out of time): GitHub's `timed_out`. */
  timedOut?: boolean;
}

export type PipelineEvent =
  | { type: "deployment.created"; deployment: DeploymentRecord }
  | { type: "deployment.phase"; deployment: DeploymentRecord; phase: Phase; was: Phase | null }
  | { type: "deployment.step"; deployment: DeploymentRecord; step: StepRecord }
  | { type: "deployment.log"; deploymentId: string; step: string; line: string }
  | { type: "app.removed"; app: AppKey; reason: string };
