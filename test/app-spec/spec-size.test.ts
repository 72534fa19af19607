import { describe, expect, it } from "vitest";
import { MAX_SPEC_BYTES, oversizedFile, parseAppSpec } from "../../src/app-spec/index.js";
import { generateSpec } from "./generate-spec.js";

/** A valid spec of more than 1 MB (so without the cap it parses cleanly, quickly). */
const hugeValidSpec = () => generateSpec(3_000);

describe("the spec size cap", () => {
  it("refuses a 1 MB spec unread, with one problem at line 1 column 1", () => {
    const text = hugeValidSpec();
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
    const { spec, problems } = parseAppSpec(text);
    expect(spec).toBeNull();
    expect(problems).toEqual([
      {
        severity: "error",
        message: `the spec is ${Math.ceil(Buffer.byteLength(text) / 1024)} KiB; Berth reads specs up to 256 KiB`,
        path: "",
        line: 1,
        column: 1,
        endLine: 1,
        endColumn: 2,
      },
    ]);
  });

  it("still reads the benchmark's 300-component spec (about 107 KiB)", () => {
    const text = generateSpec(300);
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_SPEC_BYTES);
    const { spec, problems } = parseAppSpec(text);
    expect(problems).toEqual([]);
    expect(spec?.services).toHaveLength(150);
  });

  it("counts bytes, not characters, and trusts a size reported for an unread file", () => {
    const text = `name: shop\n# ${"é".repeat(MAX_SPEC_BYTES / 2)}\n`;
    expect(text.length).toBeLessThan(MAX_SPEC_BYTES);
    expect(oversizedFile({ text })?.problems[0]?.message).toBe("the spec is 257 KiB; Berth reads specs up to 256 KiB");
    expect(oversizedFile({ text: "", size: 1024 * 1024 })?.problems[0]?.message).toBe("the spec is 1024 KiB; Berth reads specs up to 256 KiB");
    expect(oversizedFile({ text: "name: shop\n", size: 11 })).toBeNull();
  });
});
