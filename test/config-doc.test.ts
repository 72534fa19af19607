import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { envSchema } from "../src/config-schema.js";
import { renderConfigDoc } from "../src/config-doc.js";

describe("docs/configuration.md", () => {
  it("is what `npm run docs:config` generates from the schema (run it after changing a variable)", () => {
    expect(readFileSync(new URL("../docs/configuration.md", import.meta.url), "utf8")).toBe(renderConfigDoc());
  });

  it("says what every variable does", () => {
    const undescribed = Object.entries(envSchema.shape).filter(([, s]) => !s.description).map(([name]) => name);
    expect(undescribed).toEqual([]);
  });
});
