import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readOperatorToken } from "../../src/server/operator-token.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "berth-token-"));
  dirs.push(dir);
  return dir;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("readOperatorToken", () => {
  it("creates a random token on first start, readable by Berth's user only, and reuses it on the next", () => {
    const dataDir = join(tempDir(), "data");
    const first = readOperatorToken({ dataDir });
    expect(first.path).toBe(join(dataDir, "operator-token"));
    expect(first.token).toMatch(/^[\w-]{43}$/);
    expect([mode(dataDir), mode(first.path!)]).toEqual([0o700, 0o600]);
    expect(readOperatorToken({ dataDir })).toEqual(first);
    expect(readOperatorToken({ dataDir: join(tempDir(), "other") }).token).not.toBe(first.token);
  });

  it("uses BERTH_API_TOKEN when set and writes no file", () => {
    const dataDir = tempDir();
    expect(readOperatorToken({ configured: "c".repeat(32), dataDir })).toEqual({ token: "c".repeat(32) });
    expect(() => statSync(join(dataDir, "operator-token"))).toThrow();
  });

  it("refuses a token file that was cut short", () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "operator-token"), "short\n");
    expect(() => readOperatorToken({ dataDir })).toThrow(/shorter than 32 characters: delete the file/);
  });
});
