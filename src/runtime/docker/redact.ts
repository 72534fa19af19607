// One redactor for everything that leaves the runtime: build output, job output, error messages.

export type Redact = (text: string) => string;

export function makeRedactor(secrets: readonly string[]): Redact {
  const values = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const v of values) out = out.split(v).join("[REDACTED]");
    return out;
  };
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
