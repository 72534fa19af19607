// The webhook endpoint is the one door anyone can knock on. Octokit's middleware buffers a body of any size to
// its end before it looks at the signature, and on a mismatch both Probot's error handler and the middleware
// log the error with the whole payload attached. This guard stands in front of it: a request without GitHub's
// headers is refused before a byte of its body is read, a body is never read past GitHub's 25 MB cap, the
// signature is checked while the body streams in, and a forged request gets one short log line. Only a body
// signed with the secret reaches octokit, which verifies it again and dispatches it to the handlers.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { stdSerializers, type Logger } from "pino";
import type { Options, Probot } from "probot";

/** GitHub caps webhook payloads at 25 MB. */
export const MAX_WEBHOOK_BODY_BYTES = 25 * 1024 * 1024;

type Middleware = Awaited<ReturnType<Probot["getNodeMiddleware"]>>;

export interface WebhookGuardOptions {
  secret: string;
  log: Logger;
  /** The path octokit's middleware answers; other requests pass through untouched. */
  path?: string;
  maxBodyBytes?: number;
  /**
   * Bytes all webhook bodies being read may hold together; a body that would pass it is refused (503). A body is
   * only known to be forged once it is all in, so without this a hundred concurrent forged 25 MB POSTs hold
   * 2.5 GB. Four maximal bodies by default.
   */
  maxBufferedBytes?: number;
  /** A body not all in by then is refused (408): GitHub sends at once, and gives up itself after 10 s. */
  bodyTimeoutMs?: number;
  /**
   * Filled with the sha256 of each verified delivery's raw body, keyed by delivery id, while the handlers run:
   * the intake dedupes on it (a signed body replayed under new delivery ids).
   */
  bodyDigests?: Map<string, string>;
}

/**
 * Probot's Server puts `probot.getNodeMiddleware()` first in its handler list and offers no hook before it, so
 * the guard goes in by way of that method. The root-path handler asks the same method, so both paths are guarded.
 */
export function withWebhookGuard(Base: typeof Probot, o: Omit<WebhookGuardOptions, "path">): typeof Probot {
  return class GuardedProbot extends Base {
    constructor(options: Options = {}) {
      super(options.log ? { ...options, log: withoutPayloads(options.log) } : options);
    }

    override async getNodeMiddleware(options: { log?: Logger; path?: string } = {}) {
      const middleware = await super.getNodeMiddleware(options);
      return guardWebhooks(middleware, { ...o, path: options.path ?? this.webhookPath });
    }
  };
}

/**
 * Octokit attaches the delivery (payload included, up to 25 MB) to every error a handler throws, and Probot's
 * error handler and the middleware both log it: the event is cut down to its id and name in Probot's logs.
 */
function withoutPayloads(log: Logger): Logger {
  type Serialized = ReturnType<typeof stdSerializers.err> & { event?: { id?: unknown; name?: unknown }; aggregateErrors?: Serialized[] };
  const cut = (e: Serialized): Serialized => {
    const { event, aggregateErrors, ...rest } = e;
    return {
      ...rest,
      ...(event ? { event: { id: event.id, name: event.name } } : {}),
      ...(aggregateErrors ? { aggregateErrors: aggregateErrors.map(cut) } : {}),
    } as Serialized;
  };
  return log.child({}, { serializers: { err: (err: Error) => cut(stdSerializers.err(err) as Serialized) } });
}

function guardWebhooks(middleware: Middleware, o: WebhookGuardOptions): Middleware {
  const path = o.path ?? "/api/github/webhooks";
  const max = o.maxBodyBytes ?? MAX_WEBHOOK_BODY_BYTES;
  const budget = new Budget(o.maxBufferedBytes ?? 4 * max);
  // One large body at a time: a flood of forged 25 MiB bodies then holds one body's memory and one stream's
  // CPU, while the small bodies GitHub actually sends keep their share of the budget.
  const large = new Budget(max);
  const read = { max, secret: o.secret, budget, large, largeBytes: Math.min(LARGE_BODY_BYTES, max), timeoutMs: o.bodyTimeoutMs ?? 30_000 };
  return async (req: IncomingMessage, res: ServerResponse, next) => {
    if (req.method !== "POST" || pathnameOf(req.url) !== path) return middleware(req, res, next);
    const refuse = (status: number, reason: string, bytes?: number) => {
      o.log.warn({ ...describeRequest(req), ...(bytes === undefined ? {} : { bytes }), status }, `webhook refused: ${reason}`);
      answer(req, res, status, reason);
      return true;
    };
    const problem = headerProblem(req, max);
    if (problem) return refuse(problem.status, problem.reason);

    // A body that says it is large while another large one is being read is refused before a byte of it is.
    if (Number(header(req, "content-length") ?? 0) > read.largeBytes && large.busy()) {
      return refuse(503, "too many webhook bodies being read at once");
    }
    const body = await readBody(req, read);
    if (body === "aborted") return true;
    if (body === "too large") return refuse(413, `body larger than ${max} bytes`);
    if (body === "busy") return refuse(503, "too many webhook bodies being read at once");
    if (body === "slow") return refuse(408, "body not received in time");
    try {
      // Checked before the chunks are joined or hashed again: a forged body is dropped as it came in.
      if (!signatureMatches(header(req, "x-hub-signature-256")!, body.hmac)) {
        return refuse(400, "signature does not match", body.size);
      }
      const bytes = Buffer.concat(body.chunks, body.size);
      body.chunks = [];
      return await receive(req, res, next, bytes);
    } finally {
      body.release();
    }
  };

  async function receive(req: IncomingMessage, res: ServerResponse, next: Parameters<Middleware>[2], bytes: Buffer) {
    const id = header(req, "x-github-delivery")!;
    o.bodyDigests?.set(id, createHash("sha256").update(bytes).digest("hex"));
    // Octokit's middleware takes a body already read from `req.body` instead of the stream.
    (req as IncomingMessage & { body?: string }).body = bytes.toString("utf8");
    try {
      return await middleware(req, res, next);
    } finally {
      o.bodyDigests?.delete(id);
    }
  }
}

// The same normalization octokit's middleware applies, so the two agree on which requests are webhooks.
function pathnameOf(url = ""): string | undefined {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 47) end--;
  try {
    return new URL(end === 0 ? "/" : url.slice(0, end), "http://localhost").pathname;
  } catch {
    return undefined;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

function headerProblem(req: IncomingMessage, max: number): { status: number; reason: string } | undefined {
  if (!/^\s*application\/json\s*(?:;|$)/u.test(header(req, "content-type") ?? "")) {
    return { status: 415, reason: 'content type must be "application/json"' };
  }
  const missing = ["x-github-event", "x-github-delivery", "x-hub-signature-256"].filter((h) => !header(req, h));
  if (missing.length > 0) return { status: 400, reason: `required headers missing: ${missing.join(", ")}` };
  if (!/^sha256=[0-9a-f]{64}$/.test(header(req, "x-hub-signature-256")!)) {
    return { status: 400, reason: "malformed x-hub-signature-256 (expected sha256=<64 hex digits>)" };
  }
  if (Number(header(req, "content-length") ?? 0) > max) return { status: 413, reason: `body larger than ${max} bytes` };
  return undefined;
}

function signatureMatches(signature: string, hmac: string): boolean {
  return timingSafeEqual(Buffer.from(signature), Buffer.from(`sha256=${hmac}`));
}

class Budget {
  #used = 0;
  constructor(readonly limit: number) {}
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }
  give(bytes: number): void {
    this.#used -= bytes;
  }
  busy(): boolean {
    return this.#used > 0;
  }
}

/** Above this a body needs the one large-body slot (GitHub's deliveries are nearly all far smaller). */
const LARGE_BODY_BYTES = 1024 * 1024;

interface ReadBody {
  chunks: Buffer[];
  size: number;
  hmac: string;
  /** Gives back what the body took from the budgets. */
  release(): void;
}

interface ReadOptions {
  max: number;
  secret: string;
  /** What a body read in full keeps taken from it until the caller gives it back. */
  budget: Budget;
  /** The one slot for a body larger than `largeBytes`. */
  large: Budget;
  largeBytes: number;
  timeoutMs: number;
}

// Hashes as the chunks arrive, and drops them the moment the body is refused.
function readBody(req: IncomingMessage, o: ReadOptions): Promise<ReadBody | "too large" | "busy" | "slow" | "aborted"> {
  return new Promise((resolve) => {
    const hmac = createHmac("sha256", o.secret);
    let chunks: Buffer[] = [];
    let size = 0;
    let holdsLarge = false;
    const release = () => {
      o.budget.give(size);
      if (holdsLarge) o.large.give(o.large.limit);
      holdsLarge = false;
      size = 0;
    };
    const timer = setTimeout(() => refuse("slow"), o.timeoutMs);
    const settle = (body: ReadBody | "too large" | "busy" | "slow" | "aborted") => {
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("close", onClose).off("error", onClose);
      resolve(body);
    };
    const refuse = (why: "too large" | "busy" | "slow" | "aborted") => {
      release();
      chunks = [];
      req.pause();
      settle(why);
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > o.max) return refuse("too large");
      if (!holdsLarge && size + chunk.length > o.largeBytes) {
        if (!o.large.take(o.large.limit)) return refuse("busy");
        holdsLarge = true;
      }
      if (!o.budget.take(chunk.length)) return refuse("busy");
      size += chunk.length;
      chunks.push(chunk);
      hmac.update(chunk);
    };
    const onEnd = () => settle({ chunks, size, hmac: hmac.digest("hex"), release });
    const onClose = () => refuse("aborted");
    req.on("data", onData).on("end", onEnd).on("close", onClose).on("error", onClose);
  });
}

/** Whatever a sender put in the headers, clipped: a log line about a refused request stays short. */
function describeRequest(req: IncomingMessage) {
  const clip = (v: string | undefined) => (v === undefined ? undefined : v.slice(0, 80));
  return {
    deliveryId: clip(header(req, "x-github-delivery")),
    event: clip(header(req, "x-github-event")),
    remoteAddress: req.socket.remoteAddress,
    contentLength: clip(header(req, "content-length")),
  };
}

// A refused request's body is not read: the connection closes after the answer, so nothing more comes in.
function answer(req: IncomingMessage, res: ServerResponse, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  const complete = req.complete;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...(complete ? {} : { connection: "close" }),
  });
  res.end(body);
}
