import { describe, expect, it } from "vitest";
import type { SecretEnvironment, SecretStore } from "../../src/core/secrets.js";
import type { AppRecord } from "../../src/core/store.js";
import type { Intent } from "../../src/core/types.js";
import { setSecret, unsetSecret } from "../../src/secrets/secret-actions.js";

function memorySecrets(): SecretStore {
  const values = new Map<string, string>();
  const id = (r: string, e: SecretEnvironment, k: string) => `${r.toLowerCase()} ${e} ${k}`;
  return {
    set: async (r, e, k, v) => void values.set(id(r, e, k), v),
    unset: async (r, e, k) => values.delete(id(r, e, k)),
    list: async () => [],
    values: async () => new Map(),
  };
}

const app = (repository: string, environment: string, extra: Partial<AppRecord> = {}): AppRecord => ({
  id: `${repository}-${environment}`,
  key: { installationId: 1, repository, environment },
  branch: "main",
  untrusted: false,
  activeDeploymentId: "d1",
  createdAt: new Date(0),
  ...extra,
});

describe("secret actions", () => {
  const apps = [
    app("Acme/Shop", "production"),
    app("acme/shop", "pr-1"),
    app("acme/shop", "pr-2", { activeDeploymentId: undefined }),
    app("acme/shop", "pr-3", { removedAt: new Date(0) }),
    app("acme/other", "production"),
  ];

  function deps() {
    const submitted: Intent[] = [];
    return {
      submitted,
      deps: {
        secrets: memorySecrets(),
        listApps: async () => apps,
        submit: async (intent: Intent) => (submitted.push(intent), { accepted: true, deploymentId: `r${submitted.length}` }),
      },
    };
  }

  it("restarts, with the env resolved anew, every live app that reads the environment", async () => {
    const { deps: d, submitted } = deps();
    const prod = await setSecret(d, { repository: "acme/shop", environment: "production", key: "K" }, "value", { restart: true, by: "ops" });
    expect(prod.restarts).toEqual([{ app: apps[0]!.key, deploymentId: "r1" }]);
    expect(submitted[0]).toEqual({ kind: "restart", app: apps[0]!.key, by: "ops", refreshEnv: true });
    const previews = await setSecret(d, { repository: "acme/shop", environment: "previews", key: "K" }, "value", { restart: true });
    expect(previews.restarts.map((r) => r.app.environment)).toEqual(["pr-1"]);
    expect((await setSecret(d, { repository: "acme/shop", environment: "production", key: "K" }, "v")).restarts).toEqual([]);
  });

  it("changes the value even when a restart is refused, and says why", async () => {
    const { deps: d } = deps();
    const refusing = { ...d, submit: async () => Promise.reject(new Error("acme/shop (production) has no active deployment to restart")) };
    const change = await setSecret(refusing, { repository: "acme/shop", environment: "production", key: "K" }, "v", { restart: true });
    expect(change).toEqual({ changed: true, restarts: [], refused: [{ app: apps[0]!.key, message: expect.stringContaining("no active deployment") }] });
  });

  it("unsets, restarting only when there was a value", async () => {
    const { deps: d, submitted } = deps();
    await setSecret(d, { repository: "acme/shop", environment: "production", key: "K" }, "value");
    expect(await unsetSecret(d, { repository: "acme/shop", environment: "production", key: "K" }, { restart: true })).toMatchObject({ changed: true });
    expect(await unsetSecret(d, { repository: "acme/shop", environment: "production", key: "K" }, { restart: true })).toEqual({ changed: false, restarts: [], refused: [] });
    expect(submitted).toHaveLength(1);
  });
});
