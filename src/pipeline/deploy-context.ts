// What every stage of a deployment shares: the collaborators (RunDeps), what the deployment has learned so far
// (DeployContext), and the shape of a stage (Stage, StageGroup).
import type pino from "pino";
import type { AppSpec, BindContext, SpecResult } from "../app-spec/index.js";
import { RuntimeError, type Runtime } from "../runtime/runtime.js";
import type { DeploymentInternals, Store } from "../core/store.js";
import type { Redactor } from "../core/redact.js";
import type { SourceProvider } from "../core/ports.js";
import type { AppKey, DeploymentRecord, Phase, PipelineEvent, SecretScope } from "../core/types.js";
import type { Quotas } from "./quotas.js";
import type { SecretSources } from "./secret-values.js";
import type { StepLogs } from "./step-logs.js";

/**
 * Lets the composition root add what only it knows (databases the operator configured) to the bindables. It is
 * told whose code runs: `app.environment` (production or `pr-<N>`), whether the app runs a fork's code, and
 * the deployment's secret decision; with `secrets: "none"` it must not add production's databases (the
 * pipeline withholds credentials from such a deployment anyway).
 */
export type BindContextHook = (input: BindablesInput & { base: BindContext }) => BindContext | Promise<BindContext>;

export interface BindablesInput {
  app: AppKey;
  appId: string;
  appName: string;
  sha: string;
  spec: AppSpec;
  /** The deployment runs a fork's code: it gets no operator-configured database URL (dev databases only). */
  untrusted: boolean;
  /** Whether production's secrets and database credentials may reach it ("none" for previews unless opted in). */
  secrets: SecretScope;
}

/** Parses a commit's spec; the composition root runs it off the event loop (parseAppSpec in a worker thread). */
export type AppSpecParser = (text: string, options: { template?: boolean }) => SpecResult | Promise<SpecResult>;

export interface RunDeps extends SecretSources {
  store: Store;
  runtime: Runtime;
  source: SourceProvider;
  log: pino.Logger;
  workDir: string;
  emit(event: PipelineEvent): void;
  bindContext?: BindContextHook;
  logFlushMs: number;
  /** Default parseAppSpec, on the calling thread. */
  parseSpec?: AppSpecParser;
  quotas: Quotas;
}

export interface DeployContext {
  deployment: DeploymentRecord;
  internals: DeploymentInternals;
  /** Bound to this deployment's id, repository and sha. */
  log: pino.Logger;
  sourceRoot?: string;
  spec?: AppSpec;
  appName?: string;
  bind?: BindContext;
  images: Record<string, string>;
  /** The app's ACTIVE deployment when this one started (what keeps serving if this one fails). */
  previous?: DeploymentInternals;
  redactor: Redactor;
  logs: StepLogs;
  /** Components this deployment has rolled out so far (reverted on failure). */
  rolledOut: string[];
}

export interface Stage<R = unknown> {
  name: string;
  component?: string;
  /** Safe to run again after a crash interrupted it. */
  resumable: boolean;
  run(ctx: DeployContext, signal: AbortSignal): Promise<R>;
  /** Reuse the stored result of a completed run; false when it cannot be reused (run again). */
  restore(ctx: DeployContext, result: R): boolean;
  /** What a person should know of a successful run (the step's message), if anything. */
  note?(result: R): string | undefined;
  /** A crash stopped this stage midway (it is not resumable); note what it may have left behind. */
  interrupted?(ctx: DeployContext): void;
}

/** Stages that run in one phase, one after another or all at once. */
export interface StageGroup {
  phase: Phase;
  parallel: boolean;
  stages(ctx: DeployContext): Stage[];
}

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal: ${what} is not known yet`);
  return value;
}

/** The runtime gave up waiting (build or job limit, health check out of time), as it says in its details. */
export function ranOutOfTime(err: unknown): boolean {
  return err instanceof RuntimeError && err.details.timedOut === true;
}
