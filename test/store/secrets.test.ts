// The secrets table (migration 0007) on both dialects, through the secret store that seals its rows.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSecretCipher } from "../../src/secrets/cipher.js";
import { createSecretStore, type OperatorSecretStore } from "../../src/secrets/secret-store.js";
import type { Store } from "../../src/store/index.js";
import { postgresUrl } from "../helpers/services.js";
import { openTestStore, type TestStore } from "./open-store.js";

const url = postgresUrl();
const backends: { kind: Store["kind"] }[] = [{ kind: "sqlite" }, ...(url ? [{ kind: "postgres" as const }] : [])];
if (!url) console.log("secret store tests: PostgreSQL skipped (set BERTH_TEST_DATABASE_URL)");

describe.each(backends)("the secret store on $kind", ({ kind }) => {
  let t: TestStore;
  let secrets: OperatorSecretStore;
  const current = randomBytes(32);
  beforeAll(async () => {
    t = await openTestStore(kind, url);
    secrets = createSecretStore(t.store.secretRows, createSecretCipher({ current, source: "test" }));
  });
  afterAll(async () => t.cleanup());

  it("sets, lists (names only), reads and unsets per repository and environment", async () => {
    await secrets.set("Acme/Shop", "production", "API_KEY", "production-api-key-1");
    await secrets.set("acme/shop", "production", "API_KEY", "production-api-key-2");
    await secrets.set("acme/shop", "previews", "API_KEY", "previews-api-key");
    await secrets.set("acme/shop", "production", "DB_PASSWORD", "db-password-value");
    const listed = await secrets.list("acme/SHOP", "production");
    expect(listed.map((e) => e.key)).toEqual(["API_KEY", "DB_PASSWORD"]);
    expect(listed[0]!.updatedAt).toBeInstanceOf(Date);
    expect(JSON.stringify(listed)).not.toContain("api-key");
    expect(await secrets.values("acme/shop", "production")).toEqual(new Map([["API_KEY", "production-api-key-2"], ["DB_PASSWORD", "db-password-value"]]));
    expect(await secrets.values("acme/shop", "previews")).toEqual(new Map([["API_KEY", "previews-api-key"]]));
    expect(await secrets.values("acme/other", "production")).toEqual(new Map());
    expect(await secrets.unset("acme/shop", "production", "DB_PASSWORD")).toBe(true);
    expect(await secrets.unset("acme/shop", "production", "DB_PASSWORD")).toBe(false);
    expect((await secrets.list("acme/shop", "production")).map((e) => e.key)).toEqual(["API_KEY"]);
  });

  it("keeps only ciphertext in the table, and a row copied to another app does not open", async () => {
    await secrets.set("acme/copy-from", "production", "TOKEN", "plaintext-token-value");
    const rows = await t.store.db.selectFrom("secrets").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain("plaintext-token-value");
    const row = rows.find((r) => r.repository === "acme/copy-from")!;
    await t.store.db.insertInto("secrets").values({ ...row, repository: "acme/copy-to" }).execute();
    await expect(secrets.values("acme/copy-to", "production")).rejects.toThrow(/TOKEN: the stored value does not decrypt/);
    await t.store.db.deleteFrom("secrets").where("repository", "=", "acme/copy-to").execute();
  });

  it("refuses names that are not a repository, an environment or an env key", async () => {
    await expect(secrets.set("shop", "production", "KEY", "v")).rejects.toThrow(/owner\/name/);
    await expect(secrets.set("acme/shop", "staging" as "production", "KEY", "v")).rejects.toThrow(/production or previews/);
    await expect(secrets.set("acme/shop", "production", "1KEY", "v")).rejects.toThrow(/not an env variable name/);
  });

  it("re-seals every row under the new key in a rotation, so the old key can go", async () => {
    await secrets.set("acme/rotate", "previews", "OLD", "sealed-under-the-old-key");
    const next = randomBytes(32);
    const rotating = createSecretStore(t.store.secretRows, createSecretCipher({ current: next, previous: current, source: "test" }));
    expect(await rotating.rotate()).toBeGreaterThan(0);
    expect(await rotating.rotate()).toBe(0);
    const after = createSecretStore(t.store.secretRows, createSecretCipher({ current: next, source: "test" }));
    expect((await after.values("acme/rotate", "previews")).get("OLD")).toBe("sealed-under-the-old-key");
    await expect(secrets.values("acme/rotate", "previews")).rejects.toThrow(/neither BERTH_SECRET_KEY/);
  });
});
