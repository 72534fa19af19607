// /api/v1 on Berth's HTTP server: match a route, check the bearer token, validate path, query and body with
// the route's zod schemas, run it, answer JSON (or let it stream). Every failure answers the one error shape.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { ApiError } from "./api-error.js";
import { buildOpenApi } from "./openapi.js";
import type { ApiDeps, Principal, Route } from "./route.js";
import { actionRoutes } from "./routes-actions.js";
import { adminRoutes } from "./routes-admin.js";
import { readRoutes } from "./routes-read.js";
import { uploadRoutes } from "./routes-upload.js";
import { authenticate } from "./token-auth.js";

export const API_PREFIX = "/api/v1";
const MAX_JSON_BYTES = 1024 * 1024;

interface Compiled {
  route: Route;
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): Compiled {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

export function apiRoutes(deps: ApiDeps): Route[] {
  return [...readRoutes(deps), ...actionRoutes(deps), ...adminRoutes(deps), ...uploadRoutes(deps)];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }).end(JSON.stringify(body));
}

function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = err.code === "unauthorized" ? { "www-authenticate": 'Bearer realm="berth"' } : {};
  res
    .writeHead(err.status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers })
    .end(JSON.stringify({ error: { code: err.code, message: err.message } }));
}

/** `body.components[0]: expected string, received number; query.limit: ...` */
function describeIssues(where: string, error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${[where, ...i.path.map(String)].join(".")}: ${i.message}`)
    .join("; ");
}

function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return value as T;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError("bad_request", describeIssues(where, parsed.error));
  return parsed.data;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) throw new ApiError("too_large", `a JSON body may have at most ${MAX_JSON_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  if (type !== "application/json") throw new ApiError("unsupported_media_type", "send the body as JSON (Content-Type: application/json)");
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new ApiError("bad_request", "the body is not valid JSON");
  }
}

async function run(c: Compiled, match: RegExpExecArray, url: URL, principal: Principal, req: IncomingMessage, res: ServerResponse) {
  const { route } = c;
  const rawParams = Object.fromEntries(c.names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
  const params = validate(route.params, rawParams, "path");
  const query = validate(route.query, Object.fromEntries(url.searchParams), "query");
  const body = route.body ? validate(route.body, await readJson(req), "body") : undefined;
  const result = await route.handler({ params, query, body, principal, req, res });
  if (result !== "streamed") send(res, result.status, result.body);
}

export function createApiHandler(deps: ApiDeps) {
  const routes = apiRoutes(deps).map(compile);
  let openapi: string | undefined;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://berth.invalid");
    if (url.pathname !== API_PREFIX && !url.pathname.startsWith(`${API_PREFIX}/`)) return false;
    const path = url.pathname.slice(API_PREFIX.length) || "/";
    try {
      if (path === "/openapi.json" && req.method === "GET") {
        openapi ??= JSON.stringify(buildOpenApi(routes.map((r) => r.route)));
        res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(openapi);
        return true;
      }
      const matching = routes.map((c) => [c, c.pattern.exec(path)] as const).filter(([, m]) => m !== null);
      if (matching.length === 0) throw new ApiError("not_found", `no such endpoint: ${req.method} ${url.pathname} (see ${API_PREFIX}/openapi.json)`);
      const found = matching.find(([c]) => c.route.method === req.method);
      if (!found) throw new ApiError("method_not_allowed", `${url.pathname} takes ${matching.map(([c]) => c.route.method).join(", ")}`);
      const principal = await authenticate(deps, req);
      await run(found[0], found[1]!, url, principal, req, res);
    } catch (err) {
      if (err instanceof ApiError) {
        sendError(res, err);
      } else if (err instanceof URIError) {
        sendError(res, new ApiError("bad_request", "the path is not valid percent-encoding"));
      } else {
        deps.log.error({ err, method: req.method, path: url.pathname }, "API request failed");
        sendError(res, new ApiError("internal", "Berth could not answer this request; its log says why"));
      }
    }
    return true;
  };
}
