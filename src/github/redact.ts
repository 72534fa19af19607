// Nothing Berth sends to GitHub may carry a secret: every text passes through the shared redactor, built
// from the secret values in play at that moment (installation tokens, the app's own secrets, SECRET envs).
import { createRedactor as createSecretRedactor } from "../core/redact.js";

export type Redact = (text: string) => string;

export function createRedactor(secrets: () => Iterable<string>): Redact {
  return (text) => createSecretRedactor([...secrets()].filter((s) => s.length >= 4)).redact(text);
}
