// The API tokens aggregate on both dialects: only digests are stored, revoked tokens stop working.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresUrl } from "../helpers/services.js";
import { openTestStore, type TestStore } from "./open-store.js";

const url = postgresUrl();
const backends = [{ kind: "sqlite" as const }, ...(url ? [{ kind: "postgres" as const }] : [])];
const digest = (text: string) => createHash("sha256").update(text).digest("hex");

describe.each(backends)("api tokens on $kind", ({ kind }) => {
  let opened: TestStore;
  beforeAll(async () => {
    opened = await openTestStore(kind, url);
  });
  afterAll(() => opened.cleanup());

  it("creates, finds by digest, lists and revokes", async () => {
    const { tokens } = opened.store;
    const created = await tokens.create("ci", digest("token-one"));
    expect(created).toMatchObject({ name: "ci" });
    expect(created.createdAt).toBeInstanceOf(Date);
    const used = await tokens.use(digest("token-one"));
    expect(used?.id).toBe(created.id);
    expect(used?.lastUsedAt).toBeInstanceOf(Date);
    expect(await tokens.use(digest("token-two"))).toBeUndefined();
    expect((await tokens.list()).map((t) => t.id)).toContain(created.id);
    expect(await tokens.revoke(created.id)).toBe(true);
    expect(await tokens.revoke(created.id)).toBe(false);
    expect(await tokens.use(digest("token-one"))).toBeUndefined();
    const listed = (await tokens.list()).find((t) => t.id === created.id);
    expect(listed?.revokedAt).toBeInstanceOf(Date);
  });

  it("keeps digests only, never the token's text", async () => {
    await opened.store.tokens.create("laptop", digest("plain-token-text"));
    const rows = await opened.store.db.selectFrom("api_tokens").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain("plain-token-text");
  });
});
