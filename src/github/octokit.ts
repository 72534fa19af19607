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
  /** How long GitHub may take to start answering a request (default 30 s). */
  responseTimeoutMs?: number;
}

/**
 * fetch that gives up when no response has started within `ms`. A request GitHub never answers would
 * otherwise hold its installation's write queue forever. Only the wait for the response is limited: a large
 * tarball may take longer to stream, under the caller's own signal.
 */
function fetchWithResponseTimeout(ms: number): typeof fetch {
  return async (input, init = {}) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`GitHub did not answer within ${ms} ms`)), ms);
    const signal = init.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    try {
      return await globalThis.fetch(input, { ...init, signal });
    } finally {
      clearTimeout(timer);
    }
  };
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
  const timedFetch = fetchWithResponseTimeout(options.responseTimeoutMs ?? 30_000);
  return ProbotOctokit.defaults((instance: Record<string, unknown>) => ({
    ...instance,
    request: {
      ...(instance.request as object | undefined),
      fetch: (instance.request as { fetch?: typeof fetch } | undefined)?.fetch ?? timedFetch,
    },
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
