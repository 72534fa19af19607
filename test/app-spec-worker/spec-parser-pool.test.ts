import { afterEach, describe, expect, it } from "vitest";
import { MAX_SPEC_BYTES, parseAppSpec } from "../../src/app-spec/index.js";
import { SpecParserPool } from "../../src/app-spec-worker/spec-parser-pool.js";
import { generateSpec } from "../app-spec/generate-spec.js";
import { pathologicalSpec } from "../app-spec/pathological-spec.js";

describe("SpecParserPool", () => {
  const pools: SpecParserPool[] = [];
  const pool = (timeoutMs?: number) => {
    const p = new SpecParserPool({ timeoutMs });
    pools.push(p);
    return p;
  };
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it("answers as parseAppSpec does, in its worker thread, templates included", async () => {
    const p = pool();
    const text = generateSpec(30);
    expect(await p.parse(text)).toEqual(parseAppSpec(text));
    expect(await p.parse("spec:\n  name: shop\n", { template: true })).toMatchObject({ spec: { name: "shop" }, problems: [] });
    expect((await p.parse("name: shop\ninstance_count: [\n")).problems.length).toBeGreaterThan(0);
  });

  it("keeps the event loop turning while it parses a spec at the cap with thousands of problems", async () => {
    const text = pathologicalSpec(MAX_SPEC_BYTES - 1024);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_SPEC_BYTES);
    const p = pool(120_000);
    await p.parse("name: warm\n");
    const parsing = p.parse(text);
    // The parse is under way in the worker; the loop must keep turning meanwhile (a parse on this thread
    // would settle before the first turn: 0 turns).
    let ticksDuringParse = 0;
    let settled = false;
    void parsing.finally(() => {
      settled = true;
    });
    while (!settled && ticksDuringParse < 1_000) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!settled) ticksDuringParse += 1;
    }
    const result = await parsing;
    expect(ticksDuringParse).toBe(1_000);
    expect(result.spec).toBeNull();
    expect(result.problems.length).toBeGreaterThan(10_000);
  }, 120_000);

  it("refuses a spec above the cap without sending it, with one problem", async () => {
    const p = pool();
    const result = await p.parse(generateSpec(3_000));
    expect(result.problems).toEqual([expect.objectContaining({ line: 1, column: 1, message: expect.stringMatching(/^the spec is \d+ KiB; Berth reads specs up to 256 KiB$/) })]);
  });

  it("ends a parse that runs out of time, reports the spec as too complex, and parses the next in a new worker", async () => {
    // The spec takes seconds to place its problems; 250 ms leaves a wide margin either side.
    const p = pool(250);
    await p.parse("name: warm\n");
    const slow = await p.parse(pathologicalSpec(MAX_SPEC_BYTES - 1024));
    expect(slow).toEqual({
      spec: null,
      problems: [expect.objectContaining({ severity: "error", line: 1, column: 1, message: "the spec is too complex: Berth stopped reading it after 0.25 s" })],
    });
    expect(await p.parse("name: shop\n")).toMatchObject({ spec: { name: "shop" }, problems: [] });
  }, 60_000);
});
