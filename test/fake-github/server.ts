// A fake GitHub Enterprise REST API on 127.0.0.1 for tests. Every request is checked against GitHub's own OpenAPI
// description (unknown route → 404, invalid parameters or body → 422 with the schema error) and authenticated the
// way GitHub does (an RS256 JWT signed with the app's key for /app routes, an installation token elsewhere), then
// answered from FakeState in GitHub's response shapes. Everything is recorded for assertions, and the next N
// requests matching a pattern can be made to fail.
import { EventEmitter } from "node:events";
import { createPublicKey, createVerify, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { create as createTar } from "tar";
import { OpenApiValidator, type MatchedOperation, type ValidationProblem } from "./openapi.js";
import { FakeState, type Installation, type Repository } from "./state.js";
import { handlers, HttpError, type Reply } from "./handlers.js";

export interface FakeGitHubOptions {
  appId?: number;
  appSlug?: string;
  /** PEM private key of the app; a fresh 2048-bit key is generated when absent. */
  privateKey?: string;
  /** Check each JSON answer against the description's response schema and record mismatches (default true). */
  checkResponses?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path below the API root (`/repos/o/r/check-runs`), or the full path for non-API URLs. */
  path: string;
  query: Record<string, string | string[]>;
  body: unknown;
  operationId: string | null;
  auth: "jwt" | "installation" | "none";
  installationId: number | null;
  /** Set once answered. */
  status: number | null;
  /** The `message` of an error answer (status 400 and up). */
  error?: string;
}

export interface RequestPattern {
  method?: string;
  /** Exact path below the API root, or a regular expression tested against it. */
  path?: string | RegExp;
  operationId?: string;
}

interface Fault {
  pattern: RequestPattern;
  remaining: number;
  status: number;
}

export interface ResponseProblem {
  operationId: string;
  status: number;
  problems: ValidationProblem[];
}

const API_ROOT = "/api/v3";
const CODELOAD_ROOT = "/_codeload";
const JWT_ROUTES = /^\/app(\/|$)|^\/(repos\/\{owner\}\/\{repo\}|orgs\/\{org\}|users\/\{username\})\/installation$/;

let sharedValidator: OpenApiValidator | undefined;
/** The description is parsed once per process; compiled validators are shared by every fake started in it. */
export function openApiValidator(): OpenApiValidator {
  sharedValidator ??= new OpenApiValidator();
  return sharedValidator;
}

export class FakeGitHub {
  readonly state: FakeState;
  readonly requests: RecordedRequest[] = [];
  readonly responseProblems: ResponseProblem[] = [];
  readonly privateKey: string;
  readonly appId: number;
  private readonly publicKey: KeyObject;
  private readonly faults: Fault[] = [];
  private readonly events = new EventEmitter();
  private readonly tarballs = new Map<string, Buffer>();
  private server: Server | undefined;
  private port = 0;

  constructor(
    private readonly options: FakeGitHubOptions = {},
    private readonly validator = openApiValidator(),
  ) {
    this.appId = options.appId ?? 4242;
    this.privateKey =
      options.privateKey ??
      generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    this.publicKey = createPublicKey(this.privateKey);
    const slug = options.appSlug ?? "berth-test";
    this.state = new FakeState({ id: this.appId, slug, name: "Berth (test)", owner: "berth-owner" });
    this.events.setMaxListeners(0);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { message: `fake GitHub crashed: ${(err as Error).stack ?? String(err)}` });
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** `127.0.0.1:PORT`, for `GHE_HOST`. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.host}`;
  }

  /** What Octokit's `baseUrl` is with `GHE_HOST` and `GHE_PROTOCOL=http`. */
  get apiUrl(): string {
    return `${this.url}${API_ROOT}`;
  }

  /** Answer the next `count` requests matching `pattern` with `status` (502 unless told) instead of serving them. */
  failNext(count: number, pattern: RequestPattern, status = 502): void {
    this.faults.push({ pattern, remaining: count, status });
  }

  /** Requests that match a pattern, in arrival order. */
  requestsMatching(pattern: RequestPattern): RecordedRequest[] {
    return this.requests.filter((r) => matches(pattern, r.method, r.path, r.operationId));
  }

  /**
   * Resolves with the first truthy value `probe` returns, checking now and after every request the fake answers;
   * rejects after `timeoutMs` naming `what`.
   */
  until<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = probe();
        if (!value) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake GitHub: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off("answered", check);
      };
      if (!check()) this.events.on("answered", check);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const raw = await readBody(req);
    const method = (req.method ?? "GET").toUpperCase();
    const query = queryObject(url.searchParams);

    if (url.pathname.startsWith(`${CODELOAD_ROOT}/`)) {
      const record = this.record(method, url.pathname, query, null, null);
      return this.answer(res, record, null, await this.codeload(url));
    }
    if (url.pathname !== API_ROOT && !url.pathname.startsWith(`${API_ROOT}/`)) {
      const record = this.record(method, url.pathname, query, null, null);
      return this.answer(res, record, null, { status: 404, body: { message: `Not Found: ${url.pathname} is outside ${API_ROOT}` } });
    }
    const path = url.pathname.slice(API_ROOT.length) || "/";
    let body: unknown = null;
    let parseError: string | null = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch (err) {
        parseError = (err as Error).message;
      }
    }
    const matched = this.validator.match(method, path);
    const record = this.record(method, path, query, body, matched?.operation.operationId ?? null);

    const fault = this.takeFault(method, path, matched?.operation.operationId ?? null);
    if (fault) return this.answer(res, record, null, { status: fault, body: { message: "Server Error (injected by fake GitHub)" } });

    if (!matched) {
      return this.answer(res, record, null, {
        status: 404,
        body: { message: `Not Found: GitHub's API has no ${method} ${path}`, documentation_url: "https://docs.github.com/rest" },
      });
    }
    if (parseError) return this.answer(res, record, matched, { status: 400, body: { message: `Problems parsing JSON: ${parseError}` } });
    const problems = this.validator.validate(matched, query, body, raw.length > 0);
    if (problems.length > 0) {
      return this.answer(res, record, matched, {
        status: 422,
        body: {
          message: `Invalid request to ${matched.operation.operationId}: ${problems.map((p) => `${p.location} ${p.message}`).join("; ")}`,
          errors: problems.map((p) => ({ resource: matched.operation.operationId, field: p.location, code: "invalid", message: p.message })),
          documentation_url: "https://docs.github.com/rest",
        },
      });
    }

    let reply: Reply;
    try {
      const installation = this.authenticate(req.headers.authorization, matched, record);
      const handler = handlers[matched.operation.operationId];
      if (!handler) throw new HttpError(501, `fake GitHub does not implement ${matched.operation.operationId} (${method} ${matched.operation.template})`);
      const repo = this.repositoryFor(matched, installation);
      reply = await handler({
        state: this.state,
        validator: this.validator,
        params: matched.params,
        query,
        body: (body ?? {}) as Record<string, unknown>,
        headers: req.headers,
        installation,
        repo,
        apiUrl: this.apiUrl,
        webUrl: this.url,
        codeloadUrl: (repo: Repository, sha: string) => `${this.url}${CODELOAD_ROOT}/${repo.fullName}/legacy.tar.gz/${sha}?token=${randomBytes(8).toString("hex")}`,
      });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      reply = { status: err.status, body: { message: err.message, documentation_url: "https://docs.github.com/rest" } };
    }
    return this.answer(res, record, matched, reply);
  }

  private record(method: string, path: string, query: RecordedRequest["query"], body: unknown, operationId: string | null): RecordedRequest {
    const record: RecordedRequest = { method, path, query, body, operationId, auth: "none", installationId: null, status: null };
    this.requests.push(record);
    return record;
  }

  /**
   * Requests GitHub itself would have refused as malformed or unknown: 400 (bad JSON), 422 from the description's
   * schemas, 404 for a route the description lacks, 401 for bad credentials, 501 for a route the fake lacks.
   */
  invalidRequests(): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        r.status !== null &&
        (r.status === 400 ||
          r.status === 401 ||
          r.status === 501 ||
          (r.status === 422 && r.error?.startsWith("Invalid request to ")) ||
          (r.status === 404 && r.error?.includes("GitHub's API has no"))),
    );
  }

  private answer(res: ServerResponse, record: RecordedRequest, matched: MatchedOperation | null, reply: Reply): void {
    record.status = reply.status;
    if (reply.status >= 400) record.error = (reply.body as { message?: string } | undefined)?.message;
    if (matched && this.options.checkResponses !== false && reply.body !== undefined && reply.status < 300) {
      const validate = this.validator.responseValidator(matched.operation, reply.status);
      if (validate && !validate(reply.body)) {
        this.responseProblems.push({
          operationId: matched.operation.operationId,
          status: reply.status,
          problems: (validate.errors ?? []).map((e) => ({ location: `response${e.dataPath}`, message: e.message ?? "invalid" })),
        });
      }
    }
    if (reply.raw) {
      res.writeHead(reply.status, { "content-length": reply.raw.length, ...reply.headers });
      res.end(reply.raw);
    } else {
      send(res, reply.status, reply.body, reply.headers);
    }
    this.events.emit("answered");
  }

  private takeFault(method: string, path: string, operationId: string | null): number | null {
    const fault = this.faults.find((f) => f.remaining > 0 && matches(f.pattern, method, path, operationId));
    if (!fault) return null;
    fault.remaining--;
    return fault.status;
  }

  private authenticate(header: string | undefined, matched: MatchedOperation, record: RecordedRequest): Installation | null {
    const credential = /^(?:bearer|token)\s+(\S+)$/i.exec(header ?? "")?.[1];
    if (JWT_ROUTES.test(matched.operation.template)) {
      if (!credential) throw new HttpError(401, "A JSON web token could not be decoded: no Authorization header");
      this.verifyJwt(credential);
      record.auth = "jwt";
      return null;
    }
    if (!credential) throw new HttpError(401, "Requires authentication: send an installation access token");
    const token = this.state.tokens.get(credential);
    if (!token) throw new HttpError(401, "Bad credentials");
    if (token.expiresAt.getTime() <= Date.now()) throw new HttpError(401, "Bad credentials: the installation token has expired");
    record.auth = "installation";
    record.installationId = token.installationId;
    return this.state.installations.get(token.installationId)!;
  }

  private verifyJwt(jwt: string): void {
    const parts = jwt.split(".");
    if (parts.length !== 3) throw new HttpError(401, "A JSON web token could not be decoded");
    const [header, payload, signature] = parts as [string, string, string];
    let claims: { iat?: number; exp?: number; iss?: string | number };
    let alg: string | undefined;
    try {
      alg = (JSON.parse(Buffer.from(header, "base64url").toString()) as { alg?: string }).alg;
      claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as typeof claims;
    } catch {
      throw new HttpError(401, "A JSON web token could not be decoded");
    }
    if (alg !== "RS256") throw new HttpError(401, `'alg' must be RS256, got ${String(alg)}`);
    const verifier = createVerify("RSA-SHA256").update(`${header}.${payload}`);
    if (!verifier.verify(this.publicKey, Buffer.from(signature, "base64url"))) {
      throw new HttpError(401, "A JSON web token could not be decoded: the signature does not match the app's key");
    }
    const now = Math.floor(Date.now() / 1000);
    if (String(claims.iss) !== String(this.appId)) throw new HttpError(401, `'Issuer' claim ('iss') must be ${this.appId}`);
    if (typeof claims.exp !== "number" || claims.exp <= now) throw new HttpError(401, "'Expiration time' claim ('exp') is in the past");
    if (claims.exp > now + 600 + 60) throw new HttpError(401, "'Expiration time' claim ('exp') is too far in the future");
    if (typeof claims.iat !== "number" || claims.iat > now + 60) throw new HttpError(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past");
  }

  private repositoryFor(matched: MatchedOperation, installation: Installation | null): Repository | null {
    const { owner, repo } = matched.params;
    if (owner === undefined || repo === undefined) return null;
    const found = [...this.state.repositories.values()].find(
      (r) => r.fullName.toLowerCase() === `${owner}/${repo}`.toLowerCase(),
    );
    // GitHub answers 404, not 403, for a repository the token cannot see.
    if (!found || (installation && !installation.repositories.has(found.fullName))) throw new HttpError(404, "Not Found");
    return found;
  }

  private async codeload(url: URL): Promise<Reply> {
    const m = /^\/_codeload\/([^/]+)\/([^/]+)\/legacy\.tar\.gz\/([0-9a-f]{40})$/.exec(url.pathname);
    const repo = m && this.state.repositories.get(`${m[1]}/${m[2]}`);
    const commit = repo && repo.commits.get(m[3]!);
    if (!repo || !commit || !url.searchParams.get("token")) return { status: 404, body: { message: "Not Found" } };
    let tarball = this.tarballs.get(`${repo.fullName}@${commit.sha}`);
    if (!tarball) {
      tarball = await buildTarball(`${repo.owner}-${repo.name}-${commit.sha.slice(0, 7)}`, commit.files);
      this.tarballs.set(`${repo.fullName}@${commit.sha}`, tarball);
    }
    return {
      status: 200,
      raw: tarball,
      headers: {
        "content-type": "application/x-gzip",
        "content-disposition": `attachment; filename=${repo.owner}-${repo.name}-${commit.sha.slice(0, 7)}.tar.gz`,
      },
    };
  }
}

/** Starts a fake GitHub on a free port of 127.0.0.1. */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  return new FakeGitHub(options).start();
}

/** A gzipped tar whose single top-level directory is `top/`, as GitHub's tarballs are. */
async function buildTarball(top: string, files: Map<string, Buffer>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "fake-github-tar-"));
  try {
    for (const [path, content] of files) {
      const file = join(dir, top, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    }
    await mkdir(join(dir, top), { recursive: true });
    const chunks: Buffer[] = [];
    const stream = createTar({ gzip: true, cwd: dir, portable: true }, [top]);
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function matches(pattern: RequestPattern, method: string, path: string, operationId: string | null): boolean {
  if (pattern.method && pattern.method.toUpperCase() !== method) return false;
  if (pattern.operationId && pattern.operationId !== operationId) return false;
  if (pattern.path instanceof RegExp) return pattern.path.test(path);
  if (typeof pattern.path === "string") return pattern.path === path;
  return true;
}

function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "x-github-media-type": "github.v3; format=json",
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4999",
    "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
    ...headers,
  });
  res.end(text);
}
