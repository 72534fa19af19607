// One HTTP request forwarded to one instance over undici's connection pool, the response streamed back with
// backpressure. undici rather than `http.request` because the router's throughput is its CPU per request:
// the whole router on undici spends less than a bare `http.request` proxy does (docs/benchmarks.md). Which
// instance, retries and draining stay with the router; this reports how an attempt failed so it can decide.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import type { Client as UndiciClient, Dispatcher, Pool as UndiciPool } from "undici";

// Only the pool and the client, not undici's index: that also loads fetch, WebSocket, EventSource, the caches
// and the mocks, about 8 MB of RSS in every process that routes. Neither needs more than `dispatch`.
const require = createRequire(import.meta.url);
const Pool = require("undici/lib/dispatcher/pool.js") as typeof UndiciPool;
const Client = require("undici/lib/dispatcher/client.js") as typeof UndiciClient;
type Pool = UndiciPool;
type Client = UndiciClient;

export type ForwardFailure =
  /** The instance refused the connection: nothing was sent, another instance may take it. */
  | "refused"
  /** The connection closed before any response, on a connection that had already carried one (kept alive). */
  | "stale"
  /** No response headers within the instance timeout. */
  | "timeout"
  /** Anything else before the response started. */
  | "failed"
  /** The response had started; the client has been cut off. */
  | "broken"
  /** The client went away first. */
  | "aborted";

export interface ForwardOptions {
  /** Path and query as the instance should see them. */
  path: string;
  /** Request headers to send, as name/value pairs in one flat list. */
  headers: string[];
}

/** Called once per attempt: with no failure when the response was delivered. */
export type ForwardDone = (failure: ForwardFailure | undefined, error?: Error) => void;

/** How long an instance may take to start answering: Heroku's 30 s would cut off slow report endpoints. */
export const RESPONSE_HEADERS_TIMEOUT_MS = 300_000;

function connectionOptions(headersTimeoutMs: number) {
  return {
    // Shorter than the idle timeouts servers use without announcing them (gunicorn 2 s, Node 5 s), so the
    // router rarely sends on a connection the instance is closing.
    keepAliveTimeout: 1_000,
    headersTimeout: headersTimeoutMs,
    // Streams (server-sent events, long downloads) may pause for as long as they like.
    bodyTimeout: 0,
  };
}

export function createInstancePool(origin: string, headersTimeoutMs = RESPONSE_HEADERS_TIMEOUT_MS): Pool {
  return new Pool(origin, connectionOptions(headersTimeoutMs));
}

/** A single new connection, for sending a request again where a kept-alive one just failed it. */
export function createFreshConnection(origin: string, headersTimeoutMs = RESPONSE_HEADERS_TIMEOUT_MS): Client {
  return new Client(origin, { ...connectionOptions(headersTimeoutMs), keepAliveTimeout: 1, pipelining: 1 });
}

// Per RFC 9110 7.6.1 these describe one connection, not the message, so they are not passed on; undici
// also refuses them. `expect` is answered by our own server (Node sends 100 Continue itself).
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"]);

/**
 * The client's headers minus hop-by-hop ones (and any the Connection header names) and minus `drop`, which
 * the caller replaces; as a flat name/value list.
 */
export function requestHeaders(req: IncomingMessage, drop: ReadonlySet<string>): string[] {
  const raw = req.rawHeaders;
  const named = connectionNamed(req.headers.connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || drop.has(name) || (named !== undefined && named.has(name))) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function connectionNamed(connection: string | undefined): Set<string> | undefined {
  // Nearly always just "keep-alive" or "close", which name no other header.
  if (connection === undefined || connection === "keep-alive" || connection === "close") return undefined;
  const names = connection
    .split(",")
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== "" && n !== "close" && n !== "keep-alive");
  return names.length > 0 ? new Set(names) : undefined;
}

/** A request with no body (no Content-Length above 0, no Transfer-Encoding) is sent without reading `req`. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * One attempt: undici's handler for the instance's response, written to `res` as it comes. The router calls
 * `clientClosed` from the listener it already has on `res` (one listener per request, not one per attempt).
 */
export class Exchange implements Dispatcher.DispatchHandler {
  private finished = false;
  private controller: Dispatcher.DispatchController | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly done: ForwardDone,
  ) {}

  /** Sends `req` to the instance behind `pool`; `done` hears how it ended. */
  start(pool: Dispatcher, req: IncomingMessage, options: ForwardOptions): void {
    pool.dispatch({ path: options.path, method: req.method ?? "GET", headers: options.headers, body: hasBody(req) ? req : null }, this);
  }

  /** The client went away: stop the instance's response, and the attempt ends as aborted. */
  clientClosed(): void {
    if (this.finished || this.res.writableFinished) return;
    this.controller?.abort(new Error("the client closed the connection"));
    this.finish("aborted");
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.finished) controller.abort(new Error("the client closed the connection"));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    // 1xx interim responses (103 Early Hints) are the instance's business with its own connection.
    if (statusCode < 200) return;
    this.res.writeHead(statusCode, statusMessage, responseHeaders(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once("drain", () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.res.end();
    this.finish(undefined);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.finished) return;
    if (this.res.headersSent) {
      this.res.destroy();
      this.finish("broken", err);
      return;
    }
    this.finish(classify(err), err);
  }

  private finish(failure: ForwardFailure | undefined, error?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.done(failure, error);
  }
}

function classify(err: Error & { code?: string; socket?: { bytesRead?: number } }): ForwardFailure {
  if (err.code === "ECONNREFUSED") return "refused";
  if (err.code === "UND_ERR_HEADERS_TIMEOUT") return "timeout";
  // undici's "other side closed" carries the socket's counters: bytes read before this request mean the
  // connection had been kept alive from an earlier response.
  if (err.code === "UND_ERR_SOCKET" && (err.socket?.bytesRead ?? 0) > 0) return "stale";
  return "failed";
}

/** The instance's headers minus hop-by-hop ones, as a flat name/value list (Node writes a list as it is). */
function responseHeaders(headers: IncomingHttpHeaders): string[] {
  const named = connectionNamed(typeof headers.connection === "string" ? headers.connection : undefined);
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || (named !== undefined && named.has(name))) continue;
    const value = headers[name];
    if (typeof value === "string") out.push(name, value);
    else if (value !== undefined) for (const each of value) out.push(name, each);
  }
  return out;
}

/** Set by the router itself (see `forwardedHeaders`), so the client's own copies are not passed on. */
export const FORWARDED = new Set(["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"]);

/** X-Forwarded-For appended to; Proto, Host and Port set by us unless a trusted front proxy set them. */
export function forwardedHeaders(req: IncomingMessage, trust: boolean): [string, string][] {
  const headers = req.headers;
  const client = stripMappedIpv4(req.socket.remoteAddress ?? "");
  const prior = headers["x-forwarded-for"];
  return [
    ["x-forwarded-for", prior ? `${String(prior)}, ${client}` : client],
    ["x-forwarded-proto", (trust && firstValue(headers["x-forwarded-proto"])) || ("encrypted" in req.socket ? "https" : "http")],
    ["x-forwarded-host", (trust && firstValue(headers["x-forwarded-host"])) || (headers.host ?? "")],
    ["x-forwarded-port", (trust && firstValue(headers["x-forwarded-port"])) || String((req.socket as Socket).localPort ?? "")],
  ];
}

function stripMappedIpv4(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
