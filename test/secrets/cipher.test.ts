import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createSecretCipher, SecretDecryptError } from "../../src/secrets/cipher.js";
import { KEY_FILE, loadSecretKeys, parseSecretKey } from "../../src/secrets/secret-key.js";

const key = () => randomBytes(32);
const CONTEXT = "berth secret\0acme/shop\0production\0API_KEY";

describe("the secret cipher", () => {
  it("opens what it sealed, with a fresh IV each time", () => {
    const cipher = createSecretCipher({ current: key(), source: "test" });
    const a = cipher.seal(CONTEXT, "hunter2-but-longer");
    const b = cipher.seal(CONTEXT, "hunter2-but-longer");
    expect(a).not.toBe(b);
    expect(a).not.toContain("hunter2");
    expect(cipher.open(CONTEXT, a)).toBe("hunter2-but-longer");
    expect(cipher.open(CONTEXT, cipher.seal(CONTEXT, ""))).toBe("");
  });

  it("refuses another key, naming both variables", () => {
    const sealed = createSecretCipher({ current: key(), source: "test" }).seal(CONTEXT, "value");
    expect(() => createSecretCipher({ current: key(), source: "test" }).open(CONTEXT, sealed)).toThrow(
      /neither BERTH_SECRET_KEY nor BERTH_SECRET_KEY_PREVIOUS/,
    );
  });

  it("refuses a tampered ciphertext and one moved to another repository, environment or key", () => {
    const cipher = createSecretCipher({ current: key(), source: "test" });
    const sealed = cipher.seal(CONTEXT, "value-of-the-secret");
    const body = Buffer.from(sealed.split(":").at(-1)!, "base64");
    body[body.length - 1]! ^= 1;
    const tampered = `${sealed.slice(0, sealed.lastIndexOf(":") + 1)}${body.toString("base64")}`;
    expect(() => cipher.open(CONTEXT, tampered)).toThrow(SecretDecryptError);
    for (const other of ["berth secret\0acme/other\0production\0API_KEY", "berth secret\0acme/shop\0previews\0API_KEY", "berth secret\0acme/shop\0production\0OTHER"]) {
      expect(() => cipher.open(other, sealed)).toThrow(/does not decrypt/);
    }
    expect(() => cipher.open(CONTEXT, "plain text")).toThrow(/not a value Berth sealed/);
  });

  it("opens with the previous key during a rotation and reports what is stale", () => {
    const old = key();
    const sealed = createSecretCipher({ current: old, source: "test" }).seal(CONTEXT, "value");
    const rotating = createSecretCipher({ current: key(), previous: old, source: "test" });
    expect(rotating.isStale(sealed)).toBe(true);
    expect(rotating.open(CONTEXT, sealed)).toBe("value");
    expect(rotating.isStale(rotating.seal(CONTEXT, "value"))).toBe(false);
  });
});

describe("the secret key", () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("reads 32 bytes as hex or base64 and names the variable otherwise", () => {
    const bytes = key();
    expect(parseSecretKey(bytes.toString("hex"), "BERTH_SECRET_KEY")).toEqual(bytes);
    expect(parseSecretKey(bytes.toString("base64"), "BERTH_SECRET_KEY")).toEqual(bytes);
    expect(() => parseSecretKey("short", "BERTH_SECRET_KEY")).toThrow(/^BERTH_SECRET_KEY must be 32 bytes.*got 3 bytes/);
    expect(() => parseSecretKey("not a key!", "BERTH_SECRET_KEY_PREVIOUS")).toThrow(/^BERTH_SECRET_KEY_PREVIOUS must be 32 bytes.*neither/);
  });

  it("creates the key file 0600 on first start and reads the same key after", () => {
    dir = mkdtempSync(join(tmpdir(), "berth-key-"));
    const first = loadSecretKeys({ dataDir: dir });
    const path = join(dir, KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(first.source).toBe(path);
    expect(loadSecretKeys({ dataDir: dir }).current).toEqual(first.current);
    expect(parseSecretKey(readFileSync(path, "utf8"), path)).toEqual(first.current);
  });

  it("prefers BERTH_SECRET_KEY and writes no file then; a broken key file is named", () => {
    dir = mkdtempSync(join(tmpdir(), "berth-key-"));
    const bytes = key();
    const keys = loadSecretKeys({ key: bytes.toString("base64"), previousKey: key().toString("hex"), dataDir: dir });
    expect(keys).toMatchObject({ current: bytes, source: "BERTH_SECRET_KEY" });
    expect(keys.previous).toHaveLength(32);
    expect(() => statSync(join(dir!, KEY_FILE))).toThrow();
    writeFileSync(join(dir, KEY_FILE), "garbage\n", { mode: 0o600 });
    expect(() => loadSecretKeys({ dataDir: dir! })).toThrow(new RegExp(`^${join(dir, KEY_FILE)} must be 32 bytes`));
  });
});
