// SECRET values from the operator's secret store: a spec's SECRET without a value (or with App Platform's
// EV[…] form) takes the stored one; a missing one fails before the build with the command that sets it; an
// untrusted deployment gets none; no plaintext SECRET value is stored, in the spec column or the database file.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SecretStore } from "../../src/core/secrets.js";
import { sealStoredSpecs, type PipelineOptions } from "../../src/pipeline/index.js";
import { createSecretCipher } from "../../src/secrets/cipher.js";
import { setSecret } from "../../src/secrets/secret-actions.js";
import { createSecretStore } from "../../src/secrets/secret-store.js";
import { createStore, type SqlStore } from "../../src/store/index.js";
import { silentLog } from "../store/open-store.js";
import { harness, openPipelineStore, pushIntent, sha, type Harness } from "./helpers.js";
import { previewIntent, recordingHooks, type SeenRequest } from "./trust-fixture.js";

const INLINE = "inline-spec-secret-value-1";
const STORED_TOKEN = "stored-app-token-value-2";
const STORED_EXPORTED = "stored-exported-value-3";
const PREVIEW_TOKEN = "preview-app-token-value-4";
const PLAINTEXTS = [INLINE, STORED_TOKEN, STORED_EXPORTED, PREVIEW_TOKEN];

const SPEC = `name: {{repo}}
envs:
  - key: APP_TOKEN
    type: SECRET
services:
  - name: api
    github: { repo: acme/shop, branch: main }
    http_port: 8080
    envs:
      - key: API_KEY
        value: "${INLINE}"
        type: SECRET
      - key: EXPORTED
        value: EV[1:Zm9v:YmFy]
        type: SECRET
`;

interface Opened {
  h: Harness;
  secrets: SecretStore & { reads: string[] };
  seen: SeenRequest[];
}

describe("SECRET values from the secret store", () => {
  let h: Harness | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    await h?.close();
    h = undefined;
    for (const c of cleanups.splice(0)) await c();
  });

  async function open(options: { store?: SqlStore; pipeline?: Partial<PipelineOptions> } = {}): Promise<Opened> {
    const opened = options.store ? undefined : await openPipelineStore();
    if (opened) cleanups.push(opened.cleanup);
    const store = options.store ?? opened!.store;
    const cipher = createSecretCipher({ current: randomBytes(32), source: "test" });
    const inner = createSecretStore(store.secretRows, cipher);
    const reads: string[] = [];
    const secrets = { ...inner, reads, values: (r: string, e: "production" | "previews") => (reads.push(`${r} ${e}`), inner.values(r, e)) };
    const seen: SeenRequest[] = [];
    const hooks = recordingHooks(seen);
    h = await harness({
      store,
      runtime: { hooks: { ...hooks, build: (req) => (hooks.build!(req), req.log(`token ${req.buildEnv.APP_TOKEN ?? "-"} key ${req.buildEnv.API_KEY ?? "-"}\n`)) } },
      pipeline: { secrets, secretCipher: cipher, ...options.pipeline },
    });
    h.source.specs.set("default", SPEC);
    return { h, secrets, seen };
  }

  type Intent = Parameters<Harness["pipeline"]["submit"]>[0];
  const deploy = async (h: Harness, intent: Intent = pushIntent(h.app, sha(1))) => h.settled((await h.pipeline.submit(intent)).deploymentId!);
  const api = (h: Harness, appId: string) => h.runtime.serving.get(appId)!.get("api")!;
  const storedSpec = async (h: Harness, id: string) => JSON.stringify((await h.store.deployments.internals(id))!.spec);

  it("gives a SECRET without a value, or in EV[…] form, the stored value; keeps inline ones; stores no plaintext; redacts all", async () => {
    const { h, secrets } = await open();
    await secrets.set(h.app.repository, "production", "APP_TOKEN", STORED_TOKEN);
    await secrets.set(h.app.repository, "production", "EXPORTED", STORED_EXPORTED);
    const done = await deploy(h);
    expect(done.phase).toBe("ACTIVE");
    expect(api(h, done.appId).env).toMatchObject({ APP_TOKEN: STORED_TOKEN, EXPORTED: STORED_EXPORTED, API_KEY: INLINE });
    const spec = await storedSpec(h, done.id);
    for (const p of PLAINTEXTS) expect(spec).not.toContain(p);
    expect(spec).toContain("EV[1:Zm9v:YmFy]");
    expect(spec).toContain("berth:v1:");
    const logs = (await h.store.logs.read(done.id)).map((c) => c.text).join("");
    expect(logs).toContain("token [REDACTED]");
    for (const p of PLAINTEXTS) expect(logs).not.toContain(p);
  });

  it("fails before the build, naming the key and the command that sets it, when a stored value is missing", async () => {
    const { h, secrets, seen } = await open();
    await secrets.set(h.app.repository, "production", "APP_TOKEN", STORED_TOKEN);
    const done = await deploy(h);
    expect(done.phase).toBe("ERROR");
    expect(done.error).toMatchObject({ code: "SECRET_MISSING" });
    expect(done.message).toBe(`SECRET EXPORTED has no value: set it with berth secrets set ${h.app.repository} EXPORTED`);
    expect(seen.filter((r) => r.op === "build")).toEqual([]);
  });

  it("gives a fork's preview no stored secret and does not even read the store", async () => {
    const { h, secrets, seen } = await open();
    await secrets.set(h.app.repository, "previews", "APP_TOKEN", PREVIEW_TOKEN);
    await secrets.set(h.app.repository, "production", "APP_TOKEN", STORED_TOKEN);
    const done = await deploy(h, previewIntent(h.app, 7, sha(1), true));
    expect(done).toMatchObject({ phase: "ACTIVE", untrusted: true, secrets: "none" });
    expect(secrets.reads).toEqual([]);
    const everything = JSON.stringify([seen, api(h, done.appId).env]);
    for (const p of PLAINTEXTS) expect(everything).not.toContain(p);
    expect(api(h, done.appId).env).not.toHaveProperty("API_KEY");
  });

  it("gives an opted-in same-repository preview the `previews` values", async () => {
    const repository = "acme/opted-in";
    const { h, secrets } = await open({ pipeline: { previewSecrets: [repository] } });
    await secrets.set(repository, "previews", "APP_TOKEN", PREVIEW_TOKEN);
    await secrets.set(repository, "previews", "EXPORTED", STORED_EXPORTED);
    await secrets.set(repository, "production", "APP_TOKEN", STORED_TOKEN);
    const done = await deploy(h, previewIntent({ installationId: 1, repository, environment: "production" }, 8, sha(2), false));
    expect(done).toMatchObject({ phase: "ACTIVE", secrets: "production" });
    expect(api(h, done.appId).env).toMatchObject({ APP_TOKEN: PREVIEW_TOKEN, EXPORTED: STORED_EXPORTED, API_KEY: INLINE });
    expect(secrets.reads).toEqual([`${repository} previews`]);
  });

  it("rolls a changed secret out with setSecret's restart, and a rollback re-derives every value", async () => {
    const { h, secrets } = await open();
    await secrets.set(h.app.repository, "production", "APP_TOKEN", STORED_TOKEN);
    await secrets.set(h.app.repository, "production", "EXPORTED", STORED_EXPORTED);
    const first = await deploy(h);
    const actions = { secrets, listApps: () => h.store.apps.list(), submit: (i: Parameters<Harness["pipeline"]["submit"]>[0]) => h.pipeline.submit(i) };
    const change = await setSecret(actions, { repository: h.app.repository, environment: "production", key: "APP_TOKEN" }, "rotated-token-value-5", {
      restart: true,
      by: "operator",
    });
    expect(change.restarts).toHaveLength(1);
    const restarted = await h.settled(change.restarts[0]!.deploymentId);
    expect(restarted).toMatchObject({ phase: "ACTIVE", cause: { type: "restart", by: "operator" } });
    expect(api(h, first.appId).env).toMatchObject({ APP_TOKEN: "rotated-token-value-5", API_KEY: INLINE });
    for (const p of [...PLAINTEXTS, "rotated-token-value-5"]) expect(await storedSpec(h, restarted.id)).not.toContain(p);

    const second = await deploy(h, pushIntent(h.app, sha(2)));
    const rollback = await h.pipeline.submit({ kind: "rollback", app: h.app, toDeploymentId: first.id });
    expect(await h.settled(rollback.deploymentId!)).toMatchObject({ phase: "ACTIVE" });
    expect(second.phase).toBe("ACTIVE");
    expect(api(h, first.appId).env).toMatchObject({ APP_TOKEN: "rotated-token-value-5", EXPORTED: STORED_EXPORTED, API_KEY: INLINE });
  });

  it("seals plaintext an older Berth stored, and after a key rotation seals every stored spec again under the new key", async () => {
    const old = randomBytes(32);
    const { h, secrets } = await open({ pipeline: { secretCipher: createSecretCipher({ current: old, source: "test" }) } });
    await secrets.set(h.app.repository, "production", "APP_TOKEN", STORED_TOKEN);
    await secrets.set(h.app.repository, "production", "EXPORTED", STORED_EXPORTED);
    const first = await deploy(h);
    const legacy = await deploy(h, pushIntent(h.app, sha(2)));
    const spec = (await h.store.deployments.internals(legacy.id))!.spec as { services: { envs: { key: string; value?: string }[] }[] };
    spec.services[0]!.envs[0]!.value = INLINE;
    await h.store.deployments.update(legacy.id, { spec });
    expect(await storedSpec(h, legacy.id)).toContain(INLINE);

    const next = randomBytes(32);
    const swept = await sealStoredSpecs(h.store, createSecretCipher({ current: next, previous: old, source: "test" }));
    expect(swept).toEqual({ sealed: 2, unreadable: [] });
    expect(await storedSpec(h, legacy.id)).not.toContain(INLINE);
    expect(await sealStoredSpecs(h.store, createSecretCipher({ current: next, source: "test" }))).toEqual({ sealed: 0, unreadable: [] });
    expect(await sealStoredSpecs(h.store, createSecretCipher({ current: randomBytes(32), source: "test" }))).toEqual({
      sealed: 0,
      unreadable: expect.arrayContaining([first.id, legacy.id]),
    });

    await h.close();
    const { h: after } = await open({ store: h.store, pipeline: { secretCipher: createSecretCipher({ current: next, source: "test" }), secrets } });
    const rollback = await after.pipeline.submit({ kind: "rollback", app: h.app, toDeploymentId: first.id });
    expect(await after.settled(rollback.deploymentId!)).toMatchObject({ phase: "ACTIVE" });
    expect(api(after, first.appId).env).toMatchObject({ API_KEY: INLINE, APP_TOKEN: STORED_TOKEN });
  });

  it("leaves no plaintext SECRET value in the SQLite database file", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "berth-secrets-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const store = await createStore({ dataDir, log: silentLog });
    const { h: local, secrets } = await open({ store });
    h = undefined;
    await secrets.set(local.app.repository, "production", "APP_TOKEN", STORED_TOKEN);
    await secrets.set(local.app.repository, "production", "EXPORTED", STORED_EXPORTED);
    expect((await deploy(local)).phase).toBe("ACTIVE");
    await local.close();
    await store.close();
    const bytes = Buffer.concat(readdirSync(dataDir).filter((f) => f.startsWith("berth.sqlite")).map((f) => readFileSync(join(dataDir, f))));
    expect(bytes.length).toBeGreaterThan(0);
    for (const p of PLAINTEXTS) expect(bytes.includes(Buffer.from(p))).toBe(false);
  });
});
