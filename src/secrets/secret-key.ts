// The key that encrypts secrets at rest: BERTH_SECRET_KEY (32 bytes, base64 or hex) when the operator gives
// one, else a key file Berth writes once (0600) in its data folder. BERTH_SECRET_KEY_PREVIOUS, during a
// rotation, still opens what the old key sealed.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const KEY_FILE = "secret.key";

export interface SecretKeys {
  current: Buffer;
  /** Only during a rotation: opens what it sealed, seals nothing. */
  previous?: Buffer;
  /** Where the current key came from, for the start-up log (never the key). */
  source: string;
}

export interface SecretKeyOptions {
  /** BERTH_SECRET_KEY. */
  key?: string;
  /** BERTH_SECRET_KEY_PREVIOUS. */
  previousKey?: string;
  /** Berth's data folder; `memory://…` keeps a throwaway key in memory. */
  dataDir: string;
}

function decode(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, "base64") : undefined;
}

/** Why `text` is not a key (32 bytes as 64 hex digits or as base64), or undefined when it is one. */
export function secretKeyProblem(text: string): string | undefined {
  const bytes = decode(text);
  if (bytes?.length === 32) return undefined;
  return (
    `must be 32 bytes, written as 64 hex digits or as base64 (got ${bytes ? `${bytes.length} bytes` : "neither"}); ` +
    "make one with: openssl rand -base64 32"
  );
}

/** The key in `text`; throws naming `variable` (or the key file) when it is not one. */
export function parseSecretKey(text: string, variable: string): Buffer {
  const problem = secretKeyProblem(text);
  if (problem) throw new Error(`${variable} ${problem}`);
  return decode(text)!;
}

function readOrCreateKeyFile(dataDir: string): Buffer {
  const path = join(dataDir, KEY_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    // `wx`: of two processes starting at once on one folder, one writes the key and the other reads it.
    writeFileSync(path, `${randomBytes(32).toString("base64")}\n`, { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  chmodSync(path, 0o600);
  return parseSecretKey(readFileSync(path, "utf8"), path);
}

export function loadSecretKeys(opts: SecretKeyOptions): SecretKeys {
  const previous = opts.previousKey ? parseSecretKey(opts.previousKey, "BERTH_SECRET_KEY_PREVIOUS") : undefined;
  if (opts.key) return { current: parseSecretKey(opts.key, "BERTH_SECRET_KEY"), previous, source: "BERTH_SECRET_KEY" };
  if (opts.dataDir.startsWith("memory://")) return { current: randomBytes(32), previous, source: "a throwaway key (memory store)" };
  return { current: readOrCreateKeyFile(opts.dataDir), previous, source: join(opts.dataDir, KEY_FILE) };
}
