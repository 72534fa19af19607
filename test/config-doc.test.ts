import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { envSchema } from "../src/config-schema.js";
import { renderConfigDoc, renderEnvExample } from "../src/config-doc.js";

describe("docs/configuration.md", () => {
  it("is what `npm run docs:config` generates from the schema (run it after changing a variable)", () => {
    expect(readFileSync(new URL("../docs/configuration.md", import.meta.url), "utf8")).toBe(renderConfigDoc());
  });

  it(".env.example is what `npm run docs:config` generates, every variable commented out", () => {
    const example = readFileSync(new URL("../.env.example", import.meta.url), "utf8");
    expect(example).toBe(renderEnvExample());
    for (const name of Object.keys(envSchema.shape)) expect(example).toContain(`\n# ${name}=`);
    expect(example.split("\n").filter((l) => l !== "" && !l.startsWith("#"))).toEqual([]);
  });

  it("says what every variable does", () => {
    const undescribed = Object.entries(envSchema.shape).filter(([, s]) => !s.description).map(([name]) => name);
    expect(undescribed).toEqual([]);
  });
});
