// How large a spec Berth reads. App Platform's own specs are a few KiB (its limits on components and env vars
// keep them far below this); a larger file is refused before any parsing, with one problem, so an oversized
// spec costs neither parse time nor one annotation per line.
import type { SpecResult } from "./parse-app-spec.js";

export const MAX_SPEC_BYTES = 256 * 1024;

/** The one-problem answer for a spec of `bytes` bytes above the cap, else null. */
export function oversizedSpec(bytes: number): SpecResult | null {
  if (bytes <= MAX_SPEC_BYTES) return null;
  const message = `the spec is ${Math.ceil(bytes / 1024)} KiB; Berth reads specs up to ${MAX_SPEC_BYTES / 1024} KiB`;
  return { spec: null, problems: [{ severity: "error", message, path: "", line: 1, column: 1, endLine: 1, endColumn: 2 }] };
}

/** The spec's size in bytes as stored (UTF-8), which is what GitHub reports and the cap counts. */
export function specBytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** The same for a file read from somewhere: its reported size (its text is left unread when too large), else its text's. */
export function oversizedFile(file: { text: string; size?: number }): SpecResult | null {
  return oversizedSpec(Math.max(file.size ?? 0, specBytes(file.text)));
}
