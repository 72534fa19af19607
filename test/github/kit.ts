// Shared by the GitHub and handler tests: a Probot with a key generated at run time, retry and throttle off,
// and strict nock (a request nobody mocked fails, and so does a mock nobody used).
import { generateKeyPairSync } from "node:crypto";
import { createRequire } from "node:module";
import nock from "nock";
import { pino, type Logger } from "pino";
import { Probot } from "probot";
import { afterEach, beforeEach, expect } from "vitest";
import { createBerthOctokit } from "../../src/github/octokit.js";
import type { DeploymentRecord } from "../../src/core/types.js";

export const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();

export const API = "https://api.github.com";
export const TOKEN = "ghs_test_installation_token_0123456789";

export function silentLog(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
}

export function createTestProbot(options: { secret?: string; baseUrl?: string } = {}): Probot {
  return new Probot({
    appId: 1,
    privateKey,
    secret: options.secret ?? "test-secret",
    baseUrl: options.baseUrl,
    Octokit: createBerthOctokit({ retry: false, throttle: false }),
    log: silentLog(),
  });
}

/** Installation token exchange, as GitHub answers it. */
export function mockToken(installationId: number, scope: nock.Scope = nock(API)): nock.Scope {
  return scope
    .post(`/app/installations/${installationId}/access_tokens`)
    .reply(201, {
      token: TOKEN,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      permissions: { contents: "read", checks: "write" },
      repository_selection: "all",
    });
}

export function useStrictNock(): void {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    nock.enableNetConnect();
    expect(pending, "mocked GitHub requests that were never made").toEqual([]);
  });
}

/** Read one real payload from @octokit/webhooks-examples. */
export function example<T = Record<string, unknown>>(
  event: string,
  pick: (payload: Record<string, unknown>) => boolean,
): T {
  const index = createRequire(import.meta.url)("@octokit/webhooks-examples") as {
    name: string;
    examples: Record<string, unknown>[];
  }[];
  const found = index.find((e) => e.name === event)?.examples.find(pick);
  if (!found) throw new Error(`no ${event} example matches`);
  return structuredClone(found) as T;
}

/** An in-memory KeyValueState. */
export function memoryState(): { get(key: string): Promise<unknown>; set(key: string, value: unknown): Promise<void>; data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    get: async (key) => (data.has(key) ? structuredClone(data.get(key)) : null),
    set: async (key, value) => {
      if (value === null || value === undefined) data.delete(key);
      else data.set(key, structuredClone(value));
    },
  };
}

export const SHA = "0123456789abcdef0123456789abcdef01234567";

export function deployment(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id: "dep-1",
    appId: "app-1",
    app: { installationId: 42, repository: "octo/shop", environment: "production" },
    sha: SHA,
    branch: "main",
    cause: { type: "push", sha: SHA, ref: "refs/heads/main" },
    untrusted: false,
    secrets: "production",
    phase: "PENDING_BUILD",
    createdAt: new Date("2026-01-01T10:00:00Z"),
    updatedAt: new Date("2026-01-01T10:00:00Z"),
    steps: [],
    ...overrides,
  };
}
