// Line splitting of build and job output: linear in the input, whatever its shape, and no line longer than the cap.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createRedactor, REDACTED } from "../../../src/core/redact.js";
import { cutMarker, LineSplitter, MAX_LINE, redactedLines, Tail } from "../../../src/runtime/docker/lines.js";

function split(chunks: Iterable<string>, maxLine?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), maxLine);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.flush();
  return lines;
}

function* repeat(chunk: string, times: number) {
  for (let i = 0; i < times; i++) yield chunk;
}

/** Characters the string scanners read while `run` runs: indexOf from its start to the hit, split its whole receiver. */
function scanned(run: () => void): number {
  let total = 0;
  const indexOf = String.prototype.indexOf;
  const splitFn = String.prototype.split;
  const spies = [
    vi.spyOn(String.prototype, "indexOf").mockImplementation(function (this: string, search: string, from = 0) {
      const at = indexOf.call(this, search, from);
      total += (at === -1 ? this.length : at + search.length) - Math.max(0, from);
      return at;
    }),
    vi.spyOn(String.prototype, "split").mockImplementation(function (this: string, separator: string, limit?: number) {
      total += this.length;
      return splitFn.call(this, separator as never, limit);
    } as never),
  ];
  try {
    run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return total;
}

afterEach(() => vi.restoreAllMocks());

describe("LineSplitter", () => {
  it("splits on \\n and \\r\\n, also when the \\r and the \\n arrive in different chunks", () => {
    expect(split(["a\nb\r", "\nc", "d\r\n", "\n", "tail"])).toEqual(["a", "b", "cd", "", "tail"]);
  });

  it("joins a line split across many chunks", () => {
    expect(split(["ab", "cd", "", "ef\ngh", "i\n"])).toEqual(["abcdef", "ghi"]);
  });

  it("cuts 16 MB without a newline to one line at the cap, marked as cut", () => {
    const chunk = "x".repeat(64 * 1024);
    const lines = split(repeat(chunk, 256));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe("x".repeat(MAX_LINE) + cutMarker(MAX_LINE));
  });

  it("drops the rest of a cut line and goes on with the next one", () => {
    expect(split(["abcdefgh", "ij\nshort\n", "abcdef\r\n"], 5)).toEqual([
      "abcde" + cutMarker(5),
      "short",
      "abcde" + cutMarker(5),
    ]);
  });

  it("keeps a line of exactly the cap, with or without \\r\\n split across chunks", () => {
    expect(split(["abcde\r", "\nabcde\n", "abcde"], 5)).toEqual(["abcde", "abcde", "abcde"]);
  });

  it("reads each character a bounded number of times, with or without newlines", () => {
    const bytes = 4 * 1024 * 1024;
    const noNewline = repeat("y".repeat(64 * 1024), bytes / (64 * 1024));
    expect(scanned(() => split(noNewline))).toBeLessThanOrEqual(2 * bytes);
    // Lines of 100 characters in chunks that end mid-line.
    const text = ("z".repeat(99) + "\n").repeat(bytes / 100);
    const chunks = Array.from({ length: Math.ceil(text.length / 4093) }, (_, i) => text.slice(i * 4093, (i + 1) * 4093));
    expect(scanned(() => split(chunks))).toBeLessThanOrEqual(2 * text.length);
  });
});

describe("redactedLines", () => {
  const secret = "hunter2-correct-horse";

  function redactedSplit(chunks: string[], maxLine?: number): string[] {
    const lines: string[] = [];
    const sink = redactedLines(createRedactor([secret]), (line) => lines.push(line), maxLine);
    for (const chunk of chunks) sink.push(chunk);
    sink.flush();
    return lines;
  }

  it("redacts a secret split across chunks and lines", () => {
    expect(redactedSplit(["a hunter2-cor", "rect-horse b\nc hunter2", "-correct-horse"])).toEqual([`a ${REDACTED} b`, `c ${REDACTED}`]);
  });

  it("never shows the part of a secret a cut goes through", () => {
    const lines = redactedSplit(["0123456789hunter2-co", "rrect-horse and more\nnext\n"], 14);
    expect(lines).toEqual([`0123456789${REDACTED.slice(0, 4)}${cutMarker(14)}`, "next"]);
    expect(lines.join("\n")).not.toContain("hunt");
  });
});

describe("Tail", () => {
  it("keeps the last lines", () => {
    const tail = new Tail(2);
    for (const line of ["a", "b", "c"]) tail.push(line);
    expect(tail.get()).toEqual(["b", "c"]);
  });
});
