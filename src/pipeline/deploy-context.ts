// What every stage of a deployment shares: the collaborators (RunDeps), what the deployment has learned so far
// (DeployContext), and the shape of a stage (Stage, StageGroup).
import type pino from "pino";
import type { AppSpec, BindContext } from "../app-spec/index.js";
import { RuntimeError, type Runtime } from "../runtime/runtime.js";
import type { DeploymentInternals, Store } from "../core/store.js";
import type { Redactor } from "../core/redact.js";
import type { SourceProvider } from "../core/ports.js";
import type { AppKey, Cause, DeploymentRecord, Phase, PipelineEvent } from "../core/types.js";
import type { Quotas } from "./quotas.js";
import type { StepLogs } from "./step-logs.js";

/** Lets the composition root add what only it knows (databases the operator configured) to the bindables. */
export type BindContextHook = (input: {
  app: AppKey;
  appId: string;
  appName: string;
  sha: string;
  spec: AppSpec;
  base: BindContext;
}) => BindContext | Promise<BindContext>;

export interface RunDeps {
  store: Store;
  runtime: Runtime;
  source: SourceProvider;
  log: pino.Logger;
  workDir: string;
  emit(event: PipelineEvent): void;
  bindContext?: BindContextHook;
  logFlushMs: number;
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

export function isFork(cause: Cause): boolean {
  return cause.type === "pull_request" && cause.fork;
}

/** The runtime gave up waiting (build or job limit, health check out of time), as it says in its details. */
export function ranOutOfTime(err: unknown): boolean {
  return err instanceof RuntimeError && err.details.timedOut === true;
}
