// Step output on its way out: every line passes the deployment's redactor, then is announced as an event and
// buffered into chunks the store appends in order (one write per flush interval, not one per line).
import type { LogSink } from "../runtime/runtime.js";
import type { Store } from "../core/store.js";
import type { RedactStream, Redactor } from "../core/redact.js";
import type { PipelineEvent } from "../core/types.js";

interface StepBuffer {
  stream: RedactStream;
  partial: string;
  pending: string;
}

/** Longest line announced as a live log event; the stored log keeps the whole text. */
const EVENT_LINE_MAX = 64 * 1024;

export class StepLogs {
  private readonly steps = new Map<string, StepBuffer>();
  private writes: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failed: unknown;

  constructor(
    private readonly store: Store,
    private readonly deploymentId: string,
    private readonly redactor: Redactor,
    private readonly emit: (event: PipelineEvent) => void,
    private readonly flushMs: number,
  ) {}

  sink(step: string): LogSink {
    return (line: string) => this.write(step, `${line}\n`);
  }

  /** Raw output, in chunks that may split lines (and secrets) anywhere. */
  write(step: string, text: string): void {
    let buffer = this.steps.get(step);
    if (!buffer) this.steps.set(step, (buffer = { stream: this.redactor.stream(), partial: "", pending: "" }));
    this.take(step, buffer, buffer.stream.write(text));
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
  }

  private take(step: string, buffer: StepBuffer, safe: string) {
    if (!safe) return;
    buffer.pending += safe;
    // Only the new text is searched for newlines and the unfinished line is capped, so the work stays linear
    // in the output however it is chunked (a long line without a newline used to be re-split on every write).
    let start = 0;
    for (let newline = safe.indexOf("\n"); newline !== -1; newline = safe.indexOf("\n", start)) {
      const line = buffer.partial + safe.slice(start, newline);
      buffer.partial = "";
      this.emit({ type: "deployment.log", deploymentId: this.deploymentId, step, line: line.slice(0, EVENT_LINE_MAX) });
      start = newline + 1;
    }
    if (buffer.partial.length < EVENT_LINE_MAX) buffer.partial += safe.slice(start, start + EVENT_LINE_MAX - buffer.partial.length);
  }

  /**
   * Write what is buffered. Steps named in `end` (or every step, with true) are finished: what their
   * redactor held back is written too.
   */
  flush(end: boolean | string[] = false): Promise<void> {
    if (end === true && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (const [step, buffer] of this.steps) {
      if (end === true || (Array.isArray(end) && end.includes(step))) {
        this.take(step, buffer, buffer.stream.end());
        if (buffer.partial) {
          this.emit({ type: "deployment.log", deploymentId: this.deploymentId, step, line: buffer.partial });
          buffer.partial = "";
        }
      }
      const text = buffer.pending;
      buffer.pending = "";
      if (text) {
        this.writes = this.writes.then(() => this.store.logs.append(this.deploymentId, step, text)).catch((err: unknown) => {
          this.failed = err;
        });
      }
    }
    return this.writes.then(() => {
      if (this.failed) throw this.failed;
    });
  }
}
