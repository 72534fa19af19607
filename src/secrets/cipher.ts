// AES-256-GCM with a random 96-bit IV per value. The additional data names what the value belongs to
// (repository, environment, key), so a ciphertext copied to another row or app does not open. A sealed value
// names the key that sealed it by a short id, so a rotation knows what still needs re-sealing.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { SecretKeys } from "./secret-key.js";

const PREFIX = "berth:v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretDecryptError extends Error {}

export interface SecretCipher {
  /** `context` is bound into the ciphertext: open it with the same context or not at all. */
  seal(context: string, plaintext: string): string;
  open(context: string, sealed: string): string;
  /** Sealed with a key other than the current one (a rotation has not reached it yet). */
  isStale(sealed: string): boolean;
}

function keyId(key: Buffer): string {
  return createHash("sha256").update("berth secret key id\0").update(key).digest("hex").slice(0, 8);
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** The context as a person reads it: what the value belongs to, without the NUL separators. */
function named(context: string): string {
  return context.split("\0").slice(1).join(" ") || context;
}

export function createSecretCipher(keys: SecretKeys): SecretCipher {
  const currentId = keyId(keys.current);
  const byId = new Map([[currentId, keys.current]]);
  if (keys.previous) byId.set(keyId(keys.previous), keys.previous);
  const idOf = (sealed: string) => sealed.slice(PREFIX.length, PREFIX.length + 8);
  return {
    seal(context, plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", keys.current, iv);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return `${PREFIX}${currentId}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
    },
    open(context, sealed) {
      if (!isSealed(sealed)) throw new SecretDecryptError(`${named(context)}: not a value Berth sealed`);
      const id = idOf(sealed);
      const key = byId.get(id);
      if (!key) {
        throw new SecretDecryptError(
          `${named(context)}: sealed with key ${id}, which is neither BERTH_SECRET_KEY nor BERTH_SECRET_KEY_PREVIOUS (a key changed without a rotation?)`,
        );
      }
      const raw = Buffer.from(sealed.slice(PREFIX.length + 9), "base64");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(context, "utf8"));
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
      } catch {
        throw new SecretDecryptError(`${named(context)}: the stored value does not decrypt (altered, or copied from another app or key)`);
      }
    },
    isStale: (sealed) => idOf(sealed) !== currentId,
  };
}
