// Bearer tokens: the operator's token (compared in constant time) or one the API issued, found by the SHA-256
// of its text. Issued tokens carry 256 random bits, so the digest needs no salt or slow hash, and the lookup
// by digest reveals nothing about the token through its timing.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ApiError } from "./api-error.js";
import type { ApiDeps, Principal } from "./route.js";

export const tokenDigest = (token: string) => createHash("sha256").update(token).digest("hex");
const digestBytes = (token: string) => createHash("sha256").update(token).digest();

export function newToken(): string {
  return `berth_${randomBytes(32).toString("base64url")}`;
}

export async function authenticate(deps: Pick<ApiDeps, "tokens" | "bootstrapToken">, req: IncomingMessage): Promise<Principal> {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
  if (!token) throw new ApiError("unauthorized", "send a token: Authorization: Bearer <token> (BERTH_TOKEN for the berth command)");
  if (timingSafeEqual(digestBytes(token), digestBytes(deps.bootstrapToken))) return { kind: "operator" };
  const found = await deps.tokens.use(tokenDigest(token));
  if (!found) throw new ApiError("unauthorized", "the token is not valid (unknown or revoked)");
  return { kind: "token", id: found.id, name: found.name };
}
