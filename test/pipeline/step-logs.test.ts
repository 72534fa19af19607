// Step output reaches the live log events line by line however it is chunked, in work linear in its size.
import { describe, expect, it } from "vitest";
import type { Store } from "../../src/core/store.js";
import type { PipelineEvent } from "../../src/core/types.js";
import { createRedactor } from "../../src/core/redact.js";
import { StepLogs } from "../../src/pipeline/step-logs.js";

function setup() {
  const stored: string[] = [];
  const lines: string[] = [];
  const store = { logs: { append: async (_id: string, _step: string, text: string) => void stored.push(text) } } as unknown as Store;
  const emit = (e: PipelineEvent) => {
    if (e.type === "deployment.log") lines.push(e.line);
  };
  return { logs: new StepLogs(store, "d1", createRedactor([]), emit, 60_000), stored, lines };
}

describe("StepLogs", () => {
  it("announces lines split across chunks whole", async () => {
    const { logs, lines, stored } = setup();
    for (const chunk of ["fir", "st\nsec", "ond\n", "third"]) logs.write("build", chunk);
    await logs.flush(true);
    expect(lines).toEqual(["first", "second", "third"]);
    expect(stored.join("")).toBe("first\nsecond\nthird");
  });

  it("reads 16 MB without a newline once: the event line is capped, the stored log is whole", async () => {
    const { logs, lines, stored } = setup();
    const chunk = "x".repeat(64 * 1024);
    const scanned = { chars: 0 };
    const indexOf = String.prototype.indexOf;
    String.prototype.indexOf = function (this: string, ...args: Parameters<string["indexOf"]>) {
      scanned.chars += this.length - (args[1] ?? 0);
      return indexOf.apply(this, args);
    };
    try {
      for (let i = 0; i < 256; i++) logs.write("build", chunk);
    } finally {
      String.prototype.indexOf = indexOf;
    }
    await logs.flush(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toHaveLength(64 * 1024);
    expect(stored.join("")).toHaveLength(256 * chunk.length);
    // Each character is searched for a newline a bounded number of times (the redactor's stream included).
    expect(scanned.chars).toBeLessThan(8 * 256 * chunk.length);
  });
});
