// The pipeline's public contract: what handlers submit (intents), what reporters hear (events), and what
// the pipeline needs from the outside world to fetch source (a SourceProvider, implemented in src/github/).
// Owned by src/pipeline/; other modules import only from here and from src/pipeline/index.ts.

export const PHASES = [
  "PENDING_BUILD",
  "BUILDING",
  "PENDING_DEPLOY",
  "DEPLOYING",
  "ACTIVE",
  "SUPERSEDED",
  "ERROR",
  "CANCELED",
] as const;
export type Phase = (typeof PHASES)[number];

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
  | { kind: "restart"; app: AppKey; components?: string[]; by?: string }
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
  phase: Phase;
  /** Why it ended where it did (ERROR, CANCELED, SUPERSEDED), naming step, component and cause. */
  message?: string;
  createdAt: Date;
  updatedAt: Date;
  steps: StepRecord[];
  /** Public URL once ACTIVE. */
  url?: string;
}

export type PipelineEvent =
  | { type: "deployment.created"; deployment: DeploymentRecord }
  | { type: "deployment.phase"; deployment: DeploymentRecord; phase: Phase; was: Phase | null }
  | { type: "deployment.step"; deployment: DeploymentRecord; step: StepRecord }
  | { type: "deployment.log"; deploymentId: string; step: string; line: string }
  | { type: "app.removed"; app: AppKey; reason: string };

export interface FetchedSpec {
  /** Repository-relative path the spec was read from (`.do/app.yaml`). */
  path: string;
  text: string;
}

/** How the pipeline gets code. The GitHub layer implements it with the contents and tarball APIs. */
export interface SourceProvider {
  /** The spec file at a commit, or null when the repository has none. */
  readSpec(app: AppKey, sha: string, signal: AbortSignal): Promise<FetchedSpec | null>;
  /** Extract the repository at `sha` into `dest` (an empty directory). */
  fetchSource(app: AppKey, sha: string, dest: string, signal: AbortSignal): Promise<void>;
  /** Secrets the provider used (installation tokens), for the redactor. */
  secrets(): string[];
}
