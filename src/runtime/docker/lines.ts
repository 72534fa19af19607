// Output arrives in chunks that split lines anywhere. Only the unfinished line is kept, and only the new chunk is
// searched for newlines, so the work is linear in the output whatever its shape; a line longer than the cap is
// emitted cut, and the rest of it, up to its newline, is dropped.
import type { Redactor } from "../../core/redact.js";

export const MAX_LINE = 64 * 1024;

export function cutMarker(maxLine: number): string {
  return `… [line cut at ${maxLine} characters]`;
}

/** Splits a text stream into lines (on `\n` or `\r\n`), calling `onLine` for each; `flush` emits the remainder. */
export class LineSplitter {
  private parts: string[] = [];
  private length = 0;
  /** The current line was already emitted, cut: drop what follows until its newline. */
  private cut = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = MAX_LINE,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (let newline = chunk.indexOf("\n"); newline !== -1; newline = chunk.indexOf("\n", start)) {
      this.take(chunk.slice(start, newline));
      this.endLine(true);
      start = newline + 1;
    }
    this.take(chunk.slice(start));
  }

  flush(): void {
    this.endLine(false);
  }

  private take(piece: string): void {
    if (this.cut || piece === "") return;
    // One character more than the cap is kept: it may be the `\r` of a `\r\n` whose `\n` is still to come.
    const room = this.maxLine + 1 - this.length;
    if (piece.length <= room) {
      this.parts.push(piece);
      this.length += piece.length;
      return;
    }
    this.parts.push(piece.slice(0, room));
    this.emit(this.parts.join(""));
    this.cut = true;
  }

  private endLine(newline: boolean): void {
    if (!this.cut && (newline || this.length > 0)) {
      let line = this.parts.join("");
      if (newline && line.endsWith("\r")) line = line.slice(0, -1);
      this.emit(line);
    }
    this.parts = [];
    this.length = 0;
    this.cut = false;
  }

  private emit(line: string): void {
    this.onLine(line.length > this.maxLine ? line.slice(0, this.maxLine) + cutMarker(this.maxLine) : line);
  }
}

export interface LineSink {
  push(chunk: string): void;
  flush(): void;
}

/**
 * Output redacted as a stream, then split: a secret split across chunks is still caught, and a line cut at the
 * cap never shows the first part of a secret it cut through.
 */
export function redactedLines(redactor: Redactor, onLine: (line: string) => void, maxLine = MAX_LINE): LineSink {
  const stream = redactor.stream();
  const lines = new LineSplitter(onLine, maxLine);
  return {
    push: (chunk) => lines.push(stream.write(chunk)),
    flush() {
      lines.push(stream.end());
      lines.flush();
    },
  };
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
