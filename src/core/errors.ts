// The pipeline's catalog of failures a person can act on. Each names the step, the component and the cause;
// the message becomes the deployment's message and the check run's title. Branch on `code`, never on text.

export type DeployErrorCode =
  | "SPEC_MISSING"
  | "SPEC_INVALID"
  | "SOURCE_FAILED"
  | "BUILD_FAILED"
  | "JOB_FAILED"
  | "ROLLOUT_FAILED"
  | "RESTART_FAILED"
  | "INTERRUPTED"
  | "NOTHING_TO_RESTART"
  | "ROLLBACK_TARGET_INVALID";

export class DeployError extends Error {
  constructor(
    readonly code: DeployErrorCode,
    message: string,
    readonly details: { step?: string; component?: string; markdown?: string } = {},
  ) {
    super(message);
    this.name = "DeployError";
  }
}

/** Rejected at submit: the intent cannot become a deployment (unknown app, no active deployment, …). */
export class IntentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IntentError";
  }
}

/** Why a running deployment was told to stop; carried as the AbortSignal's reason. */
export class StopRequest extends Error {
  constructor(
    readonly phase: "CANCELED" | "SUPERSEDED" | "ERROR",
    message: string,
    /** false when this worker lost the app's lease: another worker owns the deployment now; write nothing. */
    readonly write = true,
  ) {
    super(message);
    this.name = "StopRequest";
  }

  static parse(text: string): StopRequest {
    try {
      const { phase, message } = JSON.parse(text) as { phase: StopRequest["phase"]; message: string };
      return new StopRequest(phase, message);
    } catch {
      return new StopRequest("CANCELED", text);
    }
  }

  serialize(): string {
    return JSON.stringify({ phase: this.phase, message: this.message });
  }
}

export function describeCause(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
