// What one API route is (method, path, zod schemas, handler) and what every handler may use: the ports the
// composition root hands the API. Routes are data: the handler dispatches on them, openapi.ts documents them.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { z } from "zod";
import type { PipelinePort } from "../core/ports.js";
import type { SecretStore } from "../core/secrets.js";
import type { Store } from "../core/store.js";
import type { AppKey } from "../core/types.js";

export interface ApiTokenRecord {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt?: Date;
  revokedAt?: Date;
}

/** Tokens by digest (src/store/tokens.ts implements it). */
export interface ApiTokens {
  create(name: string, hash: string): Promise<ApiTokenRecord>;
  use(hash: string): Promise<ApiTokenRecord | undefined>;
  list(): Promise<ApiTokenRecord[]>;
  revoke(id: string): Promise<boolean>;
}

/** A deploy from an uploaded archive: the composition root decides where archives go and how they are read. */
export interface SourceUploads {
  /** Keeps the archive; returns the app key and the content digest used as the deployment's sha. */
  accept(name: string, environment: string, archive: Buffer): Promise<{ app: AppKey; sha: string; branch: string }>;
}

export interface ApiDeps {
  store: Pick<Store, "apps" | "deployments" | "logs">;
  pipeline: Pick<PipelinePort, "submit" | "on">;
  tokens: ApiTokens;
  /** The operator's token (BERTH_API_TOKEN or the data directory's file): always valid, bootstraps the others. */
  bootstrapToken: string;
  secrets?: SecretStore;
  /** The head of a branch as GitHub has it now, when Berth can ask (undefined: fall back to the newest deployed commit). */
  branchHead?: (app: AppKey, branch: string) => Promise<string | undefined>;
  uploads?: SourceUploads;
  redact: (text: string) => string;
  log: Logger;
  /** How often a followed log is polled in the store (default 500 ms). */
  followPollMs?: number;
}

/** Who is asking: the operator's token, or a token issued by the API. */
export type Principal = { kind: "operator" } | { kind: "token"; id: string; name: string };

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  req: IncomingMessage;
  res: ServerResponse;
}

/** A JSON answer, or "streamed" when the handler wrote the response itself (Server-Sent Events). */
export type RouteResult = { status: number; body: unknown } | "streamed";

type Schema = z.ZodType;

export interface Route<P extends Schema = Schema, Q extends Schema = Schema, B extends Schema = Schema> {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** `/apps/{owner}/{repo}`: `{name}` segments are path parameters. */
  path: string;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The body is raw bytes of this media type (not JSON); the handler reads `req` itself. */
  rawBody?: string;
  /** Responds with this schema's JSON, or with Server-Sent Events when `stream`. */
  response?: Schema;
  stream?: boolean;
  status?: number;
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<RouteResult>;
}

/** Keeps each route's handler typed by its own schemas while the table holds them all. */
export function route<P extends Schema = z.ZodObject, Q extends Schema = z.ZodObject, B extends Schema = z.ZodObject>(r: Route<P, Q, B>): Route {
  return r as unknown as Route;
}

/** `by` in a deployment's cause: which token asked. */
export const byOf = (p: Principal) => (p.kind === "operator" ? "operator" : `token:${p.name}`);
