// The Octokit Berth talks to GitHub with. Probot's ProbotOctokit already carries the throttling and retry
// plugins (and Probot keys the throttle by installation id, so writes are spaced per installation); Berth
// changes only what to do when a limit is hit: wait and retry, a few times, for primary and secondary limits
// alike, because a report that gives up is a report lost.
import { ProbotOctokit } from "probot";

export type GitHub = InstanceType<typeof ProbotOctokit>;
/** An Octokit authenticated as one installation (Probot's `app.auth(installationId)`). */
export type InstallationAuth = (installationId: number) => Promise<GitHub>;

export interface BerthOctokitOptions {
  /** Unit tests turn both off so a mocked 5xx answers at once and nothing waits. */
  retry?: boolean;
  throttle?: boolean;
  /** How often a rate-limited request is retried before it fails. */
  rateLimitRetries?: number;
}

interface ThrottledRequest {
  method: string;
  url: string;
  request: { retryCount: number };
}
interface Logged {
  log: { warn: (msg: string) => void };
}

export function createBerthOctokit(options: BerthOctokitOptions = {}): typeof ProbotOctokit {
  const retries = options.rateLimitRetries ?? 3;
  const onLimit = (kind: string) => (retryAfter: number, req: ThrottledRequest, octokit: Logged) => {
    const again = req.request.retryCount < retries;
    octokit.log.warn(
      `${kind} rate limit on ${req.method} ${req.url}: ${again ? `retrying in ${retryAfter}s` : "giving up"}`,
    );
    return again;
  };
  return ProbotOctokit.defaults((instance: Record<string, unknown>) => ({
    ...instance,
    throttle:
      options.throttle === false
        ? { enabled: false }
        : {
            ...(instance.throttle as object | undefined),
            onRateLimit: onLimit("Primary"),
            onSecondaryRateLimit: onLimit("Secondary"),
          },
    retry: options.retry === false ? { enabled: false } : (instance.retry ?? {}),
  })) as typeof ProbotOctokit;
}
