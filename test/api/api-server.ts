// A running Berth API for tests: a real HTTP server on loopback, a real pipeline on a real store (SQLite;
// PostgreSQL with BERTH_TEST_STORE=postgres) with the memory runtime, and an in-memory secret store standing
// in for src/secrets (the contract in src/core/secrets.ts).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApiHandler } from "../../src/api/api-handler.js";
import type { ApiDeps } from "../../src/api/route.js";
import type { SecretEntry, SecretEnvironment, SecretStore } from "../../src/core/secrets.js";
import { createRedactor } from "../../src/core/redact.js";
import type { PipelineOptions } from "../../src/pipeline/index.js";
import type { MemoryRuntimeOptions } from "../../src/runtime/memory/index.js";
import { harness, type Harness } from "../pipeline/helpers.js";
import { silentLog } from "../store/open-store.js";

export const OPERATOR_TOKEN = "operator-token-for-api-tests-0123456789";

export class MemorySecrets implements SecretStore {
  readonly values_ = new Map<string, { value: string; updatedAt: Date }>();
  private key = (r: string, e: SecretEnvironment, k: string) => `${r.toLowerCase()}\u0000${e}\u0000${k}`;
  async set(repository: string, environment: SecretEnvironment, key: string, value: string) {
    this.values_.set(this.key(repository, environment, key), { value, updatedAt: new Date() });
  }
  async unset(repository: string, environment: SecretEnvironment, key: string) {
    return this.values_.delete(this.key(repository, environment, key));
  }
  async list(repository: string, environment: SecretEnvironment): Promise<SecretEntry[]> {
    const prefix = this.key(repository, environment, "");
    return [...this.values_]
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => ({ key: k.slice(prefix.length), updatedAt: v.updatedAt }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }
  async values(repository: string, environment: SecretEnvironment) {
    return new Map((await this.list(repository, environment)).map((e) => [e.key, this.values_.get(this.key(repository, environment, e.key))!.value]));
  }
}

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers loosely, after checking them against their schema
  body: any;
  text: string;
}

export interface ApiServer {
  url: string;
  h: Harness;
  secrets: MemorySecrets;
  /** fetch with the operator's token (or `token`), JSON in and out. */
  call(method: string, path: string, body?: unknown, token?: string | null): Promise<Answer>;
  close(): Promise<void>;
}

export async function startApiServer(
  extra: Partial<ApiDeps> = {},
  runtime?: MemoryRuntimeOptions,
  pipeline?: Partial<PipelineOptions>,
): Promise<ApiServer> {
  const h = await harness({ runtime, pipeline });
  const secrets = new MemorySecrets();
  const redactor = createRedactor(h.source.secrets());
  const handler = createApiHandler({
    store: h.store,
    pipeline: h.pipeline,
    tokens: h.store.tokens,
    bootstrapToken: OPERATOR_TOKEN,
    secrets,
    redact: (t) => redactor.redact(t),
    log: silentLog,
    followPollMs: 20,
    ...extra,
  });
  const server: Server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end("not the API\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    h,
    secrets,
    async call(method, path, body, token = OPERATOR_TOKEN) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${url}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await h.close();
    },
  };
}
