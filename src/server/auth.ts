// Who may see Berth's own pages: the operator, with `Authorization: Bearer <token>` or with the session cookie
// the login page sets. Pages take a Gate and ask it first; a Gate that says no has already answered.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** True: go on. False: the request was not authorized and the gate has answered it (302 or 401). */
export type Gate = (req: IncomingMessage, res: ServerResponse) => boolean;

const SESSION_COOKIE = "berth_session";

/** Pino redaction for Probot's request log, which would otherwise write the token and session cookies out. */
export const CREDENTIAL_LOG_PATHS = ["req.headers.authorization", "req.headers.cookie", 'res.headers["set-cookie"]'];
const SESSION_TTL_MS = 12 * 3_600_000;

export interface OperatorAuthOptions {
  token: string;
  /** Where Berth is reachable: the only origin a login may come from; https makes the cookie Secure. */
  berthUrl: string;
  sessionTtlMs?: number;
  now?: () => number;
}

export interface OperatorAuth {
  /** For pages: the bearer token or a session; a browser without either is sent to the login page. */
  page: Gate;
  /** For machines (/metrics): the bearer token only. */
  bearer: Gate;
  isToken(candidate: string): boolean;
  /** A signed, expiring session, as the Set-Cookie header value. */
  startSession(): string;
  /** Revokes the request's session; returns the Set-Cookie header value that clears it. */
  endSession(req: IncomingMessage): string;
  /** Whether the request's Origin (or Referer) is Berth's own: the login and logout forms' CSRF check. */
  sameOrigin(req: IncomingMessage): boolean;
  origin: string;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();
/** Constant time, and equal length by construction: both sides are digests. */
const equal = (a: string, b: string) => timingSafeEqual(sha256(a), sha256(b));

export function createOperatorAuth(options: OperatorAuthOptions): OperatorAuth {
  const now = options.now ?? Date.now;
  const ttl = options.sessionTtlMs ?? SESSION_TTL_MS;
  // Derived from the token: replacing the token ends every session made with the old one.
  const key = createHmac("sha256", options.token).update("berth session key").digest();
  const sign = (body: string) => createHmac("sha256", key).update(body).digest("base64url");
  const origin = new URL(options.berthUrl).origin;
  const attributes = `HttpOnly; SameSite=Strict; Path=/${origin.startsWith("https:") ? "; Secure" : ""}`;
  const revoked = new Map<string, number>();

  const isToken = (candidate: string) => equal(candidate, options.token);
  const bearerOf = (req: IncomingMessage) => /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
  const hasBearer = (req: IncomingMessage) => {
    const token = bearerOf(req);
    return token !== undefined && isToken(token);
  };
  const sessionOf = (req: IncomingMessage) => {
    const [id, expires, signature] = (readCookie(req, SESSION_COOKIE) ?? "").split(".");
    if (!id || !expires || !signature || !equal(signature, sign(`${id}.${expires}`))) return undefined;
    if (!(Number(expires) > now()) || revoked.has(id)) return undefined;
    return { id, expires: Number(expires) };
  };

  return {
    origin,
    isToken,
    bearer: (req, res) => hasBearer(req) || refuse(res, "this needs the operator token: Authorization: Bearer <token>"),
    page: (req, res) => {
      if (hasBearer(req) || (req.headers.authorization === undefined && sessionOf(req))) return true;
      if (wantsJson(req)) return refuse(res, "sign in at /login or send Authorization: Bearer <token>");
      return sendToLogin(req, res);
    },
    startSession: () => {
      const body = `${randomBytes(18).toString("base64url")}.${now() + ttl}`;
      return `${SESSION_COOKIE}=${body}.${sign(body)}; Max-Age=${Math.floor(ttl / 1000)}; ${attributes}`;
    },
    endSession: (req) => {
      const session = sessionOf(req);
      if (session) revoked.set(session.id, session.expires);
      for (const [id, expires] of revoked) if (expires <= now()) revoked.delete(id);
      return `${SESSION_COOKIE}=; Max-Age=0; ${attributes}`;
    },
    sameOrigin: (req) => {
      const claimed = req.headers.origin ?? req.headers.referer;
      if (!claimed || claimed === "null") return false;
      try {
        return new URL(claimed).origin === origin;
      } catch {
        return false;
      }
    },
  };
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

function wantsJson(req: IncomingMessage): boolean {
  const isRead = req.method === "GET" || req.method === "HEAD";
  return !isRead || req.headers.authorization !== undefined || (req.headers.accept ?? "").includes("application/json");
}

function refuse(res: ServerResponse, message: string): false {
  res
    .writeHead(401, { "content-type": "application/json", "cache-control": "no-store", "www-authenticate": 'Bearer realm="berth"' })
    .end(JSON.stringify({ error: { code: "unauthorized", message } }));
  return false;
}

function sendToLogin(req: IncomingMessage, res: ServerResponse): false {
  const login = `/login?next=${encodeURIComponent(req.url ?? "/")}`;
  if (req.headers["sec-fetch-site"] === "cross-site") {
    // A link from github.com is a cross-site navigation, which never carries a SameSite=Strict cookie: load
    // the page once more from Berth's own origin, where the cookie (if any) is sent; without one that request
    // comes here same-origin and goes on to the login page.
    res
      .writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      .end(`<!doctype html><meta http-equiv="refresh" content="0"><a href="${login.replace(/"/g, "%22")}">Sign in to Berth</a>\n`);
    return false;
  }
  res.writeHead(302, { location: login, "cache-control": "no-store" }).end();
  return false;
}

// Browsers drop tabs and newlines from URLs and read `\` as `/`, so `/\t/evil.example` is `//evil.example`.
const hasControlOrBackslash = (text: string) => [...text].some((c) => c === "\\" || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** `next` only ever leads to a path on Berth itself: never an absolute or scheme-relative URL. */
export function safeNext(next: string | null | undefined): string | undefined {
  if (!next || !next.startsWith("/") || next.startsWith("//") || hasControlOrBackslash(next)) return undefined;
  const base = "http://berth.invalid";
  const url = new URL(next, base);
  return url.origin === base ? `${url.pathname}${url.search}` : undefined;
}
