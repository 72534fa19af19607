// Everything that leaves the runtime (build output, job output, error messages) passes the shared redactor.
import { createRedactor } from "../../core/redact.js";

export type Redact = (text: string) => string;

export function makeRedactor(secrets: readonly string[]): Redact {
  return createRedactor(secrets).redact;
}

/** Splits a byte stream into lines, calling `onLine` for each complete one; `flush` emits the remainder. */
export class LineSplitter {
  private rest = "";
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const parts = (this.rest + chunk).split(/\r?\n/);
    this.rest = parts.pop() ?? "";
    for (const p of parts) this.onLine(p);
  }

  flush(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = "";
  }
}

/** Keeps the last `size` lines. */
export class Tail {
  private readonly lines: string[] = [];
  constructor(private readonly size = 30) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }
  get(): string[] {
    return [...this.lines];
  }
}
