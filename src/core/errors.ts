// The pipeline's catalog of failures a person can act on, kept as semantic-release keeps its errors: each code
// is a function of its context returning a short message (the deployment's message, the check run's title)
// and Markdown details (the check run's summary) with the offending value and what to do. Branch on `code`,
// never on text.

type Where = { step?: string; component?: string; timedOut?: boolean };
interface ErrorText {
  message: string;
  details: string;
}

const short = (sha: string) => sha.slice(0, 7);
const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

/** What a spec problem looks like to the catalog (src/app-spec's Problem, narrowed). */
interface SpecIssue {
  line: number;
  column: number;
  message: string;
}

export type JobFailure = { reason: "no-image" } | { reason: "threw"; cause: string } | { reason: "exit"; exitCode: number; tail: string };

const CATALOG = {
  SOURCE_FAILED: (c: { repository: string; sha: string; cause: string; step: string }): ErrorText => ({
    message: `could not fetch ${c.repository} at ${short(c.sha)}: ${c.cause}`,
    details:
      `Berth could not download ${code(c.repository)} at commit ${code(c.sha)}: ${c.cause}.\n\n` +
      "Check that the GitHub App is still installed on the repository and that the commit exists, then redeploy.",
  }),
  SPEC_MISSING: (c: { repository: string; sha: string; step: string }): ErrorText => ({
    message: `${c.repository} has no app spec at ${short(c.sha)}: add .do/app.yaml`,
    details:
      `Berth found neither ${code(".do/app.yaml")} nor ${code(".do/deploy.template.yaml")} at commit ${code(c.sha)}.\n\n` +
      "Add an app spec (App Platform's format) to the repository and push.",
  }),
  SPEC_INVALID: (c: { path: string; errors: SpecIssue[]; step: string }): ErrorText => {
    const first = c.errors[0];
    return {
      message:
        `${c.path} is invalid: ${first ? `line ${first.line}: ${first.message}` : "unreadable"}` +
        (c.errors.length > 1 ? ` (and ${c.errors.length - 1} more problems)` : ""),
      details: c.errors.map((p) => `- \`${c.path}:${p.line}:${p.column}\` ${p.message}`).join("\n"),
    };
  },
  NAME_TAKEN: (c: { kind: "host" | "domain"; value: string; owner: { repository: string; environment: string }; step?: string }): ErrorText => {
    const what = c.kind === "host" ? `the app name ${c.value}` : `the domain ${c.value}`;
    const owner = `${c.owner.repository} (${c.owner.environment})`;
    return {
      message: `${what} belongs to ${owner}`,
      details:
        `${c.kind === "host" ? `The app name ${code(c.value)}` : `The domain ${code(c.value)}`} is already served by ` +
        `${code(c.owner.repository)} (${c.owner.environment}); an app name and each domain belong to one app, so nothing was deployed.\n\n` +
        (c.kind === "host"
          ? `Give this app another ${code("name:")} in its app spec and push again.`
          : `Remove ${code(c.value)} from ${code("domains:")} in this app's spec (or from the other app's first) and push again.`),
    };
  },
  QUOTA_EXCEEDED: (c: { component: string; field: string; asked: string; allowed: string; variable: string; step: string }): ErrorText => ({
    message: `${c.component}: ${c.field} ${c.asked} is over this Berth's limit of ${c.allowed} (${c.variable})`,
    details:
      `The spec asks for ${code(c.asked)} as ${c.field} of ${code(c.component)}; the operator of this Berth allows ${code(c.allowed)}. ` +
      `Nothing was built or started.\n\nAsk for less in the spec, or ask the operator to raise ${code(c.variable)} on the Berth server.`,
  }),
  BUILD_FAILED: (c: { component: string; step: string; cause: string; timedOut?: boolean }): ErrorText => ({
    message: `build of ${c.component} failed: ${c.cause}`,
    details: c.timedOut
      ? `The build of ${code(c.component)} ran out of time. Make it faster, or raise ${code("BERTH_BUILD_TIMEOUT")} on the Berth server.`
      : `The build of ${code(c.component)} failed. Its log below shows why; fix the build and push again.`,
  }),
  JOB_FAILED: (c: { when: string; job: string; step: string; component: string; failure: JobFailure; timedOut?: boolean }): ErrorText => {
    const f = c.failure;
    const what = `${c.when} job ${c.job}`;
    if (f.reason === "no-image") {
      return { message: `${what} has no image`, details: `No image was built for ${code(c.job)}; redeploy to build it again.` };
    }
    if (f.reason === "threw") {
      return {
        message: `${what} failed: ${f.cause}`,
        details: c.timedOut
          ? `The ${code(c.job)} job ran out of time and was stopped. Make it finish sooner.`
          : `The ${code(c.job)} job could not run: ${f.cause}.`,
      };
    }
    return {
      message: `${what} exited with code ${f.exitCode}`,
      details: f.tail ? `Last lines:\n\n\`\`\`\n${f.tail}\n\`\`\`` : `The ${code(c.job)} job exited with code ${f.exitCode}; its log shows why.`,
    };
  },
  ROLLOUT_FAILED: (c: { component: string; step: string; cause?: string; timedOut?: boolean }): ErrorText =>
    c.cause === undefined
      ? { message: `${c.component} has no image to deploy`, details: `No image was built for ${code(c.component)}; redeploy to build it again.` }
      : {
          message: `deploying ${c.component} failed: ${c.cause}`,
          details:
            `The new version of ${code(c.component)} did not start serving; the previous version keeps serving.\n\n` +
            (c.timedOut
              ? "Its health check ran out of time: check that the app listens on `http_port` and answers the health check's path quickly."
              : "Its log below shows why."),
        },
  RESTART_FAILED: (c: { components: string[]; step: string; cause: string }): ErrorText => ({
    message: `restarting ${c.components.join(", ")} failed: ${c.cause}`,
    details: `Restarting ${c.components.map(code).join(", ")} failed: ${c.cause}.`,
  }),
  SECRET_MISSING: (c: { repository: string; environment: "production" | "previews"; keys: string[]; step: string }): ErrorText => {
    const command = (key: string) =>
      `berth secrets set ${c.repository} ${key}${c.environment === "previews" ? " --environment previews" : ""}`;
    const first = c.keys[0] ?? "";
    return {
      message: `SECRET ${first} has no value: set it with ${command(first)}` + (c.keys.length > 1 ? ` (and ${c.keys.length - 1} more)` : ""),
      details:
        `The app spec declares ${c.keys.map(code).join(", ")} as SECRET without a value (or with App Platform's encrypted ${code("EV[…]")} form), ` +
        `and Berth holds no value for ${c.keys.length > 1 ? "them" : "it"} in ${code(c.environment)}. Nothing was built or rolled out.\n\n` +
        `Set ${c.keys.length > 1 ? "each" : "it"}, then redeploy:\n\n` +
        c.keys.map((k) => `    ${command(k)}`).join("\n"),
    };
  },
  INTERRUPTED: (c: { step?: string; component?: string }): ErrorText =>
    c.step === undefined
      ? {
          message: "interrupted: Berth shut down before the deployment finished",
          details: "Berth was stopped while this deployment ran. Redeploy once it is back.",
        }
      : {
          message: `interrupted: Berth stopped during ${c.step}, which is not safe to repeat`,
          details: `Berth stopped while ${code(c.step)} ran, and running it twice could do harm, so it was not repeated. Check what it left behind, then redeploy.`,
        },
  INTERNAL: (c: { cause: string }): ErrorText => ({
    message: `internal error: ${c.cause}`,
    details: `Berth failed unexpectedly: ${c.cause}.\n\nThis is a fault in Berth, not in the app; the server log has the details. Redeploy; if it happens again, report it.`,
  }),
};

export type DeployErrorCode = keyof typeof CATALOG;
export type DeployErrorContext<C extends DeployErrorCode> = Parameters<(typeof CATALOG)[C]>[0];

export class DeployError extends Error {
  constructor(
    readonly code: DeployErrorCode,
    message: string,
    /** `markdown` is the catalog's details; `timedOut` when the runtime gave up waiting (build, job, health check). */
    readonly details: Where & { markdown?: string } = {},
  ) {
    super(message);
    this.name = "DeployError";
  }
}

/** The catalog's error for `code`, told its context. */
export function deployError<C extends DeployErrorCode>(code: C, context: DeployErrorContext<C>): DeployError {
  const text = (CATALOG[code] as (c: DeployErrorContext<C>) => ErrorText)(context);
  const { step, component, timedOut } = context as Where;
  return new DeployError(code, text.message, {
    ...(step !== undefined ? { step } : {}),
    ...(component !== undefined ? { component } : {}),
    ...(timedOut ? { timedOut: true } : {}),
    markdown: text.details,
  });
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
    /** For phase ERROR: the failure to record. */
    readonly error?: DeployError,
  ) {
    super(message);
    this.name = "StopRequest";
  }

  /** Stop a deployment in ERROR for `error` (Berth shutting down). */
  static failing(error: DeployError): StopRequest {
    return new StopRequest("ERROR", error.message, true, error);
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
