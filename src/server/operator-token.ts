// The operator's token: BERTH_API_TOKEN when set, otherwise a random one Berth creates once in its data
// directory (readable by Berth's user only) and reuses on every later start, so a restart logs no one out.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const OPERATOR_TOKEN_FILE = "operator-token";
const MIN_LENGTH = 32;

export interface OperatorToken {
  token: string;
  /** The file the token was read from or written to; undefined when it came from BERTH_API_TOKEN. */
  path?: string;
}

export function readOperatorToken(options: { configured?: string; dataDir: string }): OperatorToken {
  if (options.configured !== undefined) return { token: options.configured };
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const path = join(options.dataDir, OPERATOR_TOKEN_FILE);
  const existing = readIfPresent(path);
  if (existing !== undefined) {
    if (existing.length < MIN_LENGTH) {
      throw new Error(`${path} holds a token shorter than ${MIN_LENGTH} characters: delete the file to have Berth create a new one`);
    }
    chmodSync(path, 0o600);
    return { token: existing, path };
  }
  const token = randomBytes(32).toString("base64url");
  // "wx": two Berths starting on one data directory never overwrite each other's token.
  try {
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return readOperatorToken(options);
    throw err;
  }
  return { token, path };
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
