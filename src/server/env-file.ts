// Writes settings into `.env` the way Berth reads it back (process.loadEnvFile): each key replaced in place or
// appended, other lines and comments kept, newlines in values written as `\n` inside double quotes.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

function line(key: string, value: string): string {
  return /[\n"'#\s]/.test(value) ? `${key}="${value.replace(/\n/g, "\\n")}"` : `${key}=${value}`;
}

export function updateEnvFile(path: string, values: Record<string, string>): void {
  const lines = existsSync(path) ? readFileSync(path, "utf8").split("\n") : [];
  if (lines.at(-1) === "") lines.pop();
  for (const [key, value] of Object.entries(values)) {
    const at = lines.findIndex((l) => new RegExp(`^\\s*(export\\s+)?${key}\\s*=`).test(l));
    if (at >= 0) lines[at] = line(key, value);
    else lines.push(line(key, value));
  }
  writeFileSync(path, `${lines.join("\n")}\n`, { mode: 0o600 });
}
