// parseAppSpec never throws and always answers in its documented shape, whatever the text: random YAML
// values, valid fixtures mutated line by line, and plain random text. Bounded runs keep this to seconds.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseAppSpec, type SpecResult } from "../../src/app-spec/index.js";

const validDir = join(import.meta.dirname, "../fixtures/specs/valid");
const seeds = readdirSync(validDir)
  .filter((f) => f.endsWith(".yaml") && !f.includes("template"))
  .map((f) => readFileSync(join(validDir, f), "utf8"));

function assertWellFormed(text: string, result: SpecResult): void {
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const p of result.problems) {
    expect(p.severity === "error" || p.severity === "warning").toBe(true);
    expect(typeof p.message).toBe("string");
    expect(p.message.length).toBeGreaterThan(0);
    expect(typeof p.path).toBe("string");
    expect(p.line).toBeGreaterThanOrEqual(1);
    expect(p.column).toBeGreaterThanOrEqual(1);
    expect(p.line).toBeLessThanOrEqual(lines + 1);
    expect(p.endLine * 1e6 + p.endColumn).toBeGreaterThanOrEqual(p.line * 1e6 + p.column);
    expect(p.message).not.toMatch(/^internal error/);
  }
  const hasError = result.problems.some((p) => p.severity === "error");
  expect(result.spec === null).toBe(hasError);
}

function check(text: string): void {
  const result = parseAppSpec(text);
  assertWellFormed(text, result);
  assertWellFormed(text, parseAppSpec(text, { template: true }));
}

// A YAML-ish vocabulary so random documents reach deep into the schema instead of failing at the top.
const keys = fc.constantFrom(
  "name", "services", "workers", "jobs", "static_sites", "functions", "databases", "envs", "key", "value", "scope", "type",
  "github", "repo", "branch", "image", "registry_type", "repository", "tag", "digest", "http_port", "health_check", "port",
  "instance_count", "autoscaling", "min_instance_count", "max_instance_count", "ingress", "rules", "match", "path", "prefix",
  "component", "redirect", "domains", "domain", "kind", "schedule", "cron", "routes", "alerts", "rule", "<<", "__proto__",
  "constructor", "spec", "region", "termination", "drain_seconds", "log_destinations", "open_search", "cors", "allow_origins",
);
const scalars = fc.oneof(
  fc.constantFrom("web", "db", "acme/web", "PRE_DEPLOY", "SECRET", "DOCR", "${db.DATABASE_URL}", "${x.Y}", "${_self.URL}", "/api", "nyc3", "apps-d-1vcpu-1gb", "basic-xxs", "1.2"),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 70000 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
);
const { tree } = fc.letrec<{ tree: unknown; node: unknown }>((tie) => ({
  tree: fc.dictionary(keys, tie("node"), { maxKeys: 6 }),
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalars, fc.array(tie("node"), { maxLength: 4 }), tie("tree")),
}));

describe("parseAppSpec never throws", () => {
  it("on random spec-shaped documents", () => {
    fc.assert(fc.property(tree, (doc) => check(stringify(doc))), { numRuns: 150, seed: 42 });
  });

  it("on valid specs with lines dropped, duplicated, re-indented or cut", () => {
    const mutation = fc.record({
      seed: fc.integer({ min: 0, max: seeds.length - 1 }),
      edits: fc.array(
        fc.record({ at: fc.nat(), op: fc.constantFrom("drop", "dup", "indent", "dedent", "cut", "tab", "quote", "anchor") }),
        { minLength: 1, maxLength: 5 },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ seed, edits }) => {
        const lines = (seeds[seed] as string).split("\n");
        for (const { at, op } of edits) {
          const i = at % lines.length;
          const line = lines[i] as string;
          if (op === "drop") lines.splice(i, 1);
          else if (op === "dup") lines.splice(i, 0, line);
          else if (op === "indent") lines[i] = `  ${line}`;
          else if (op === "dedent") lines[i] = line.replace(/^ {1,2}/, "");
          else if (op === "cut") lines[i] = line.slice(0, Math.floor(line.length / 2));
          else if (op === "tab") lines[i] = `\t${line}`;
          else if (op === "quote") lines[i] = `${line}"`;
          else lines[i] = line.replace(/: /, ": *x ");
        }
        check(lines.join("\n"));
      }),
      { numRuns: 80, seed: 7 },
    );
  });

  it("on arbitrary text", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), check), { numRuns: 150, seed: 1 });
  });

  it("on hostile YAML: cycles, alias bombs, tags and odd keys", () => {
    const cases = [
      "a: &a [*a]\n",
      "&a {x: *a}\n",
      "a: !!binary aGVsbG8=\nname: x\n",
      "name: !!timestamp 2001-12-14\n",
      "? [a, b]\n: c\n",
      "? {a: 1}\n: c\nname: app\n",
      "name: app\nservices: !!set {a, b}\n",
      "name: app\nservices: !!omap [a: 1, b: 2]\n",
      "---\nname: a\n---\nname: b\n",
      "name: app\n<<: [*nope]\n",
      "name: app\nservices:\n  - <<: 5\n",
      `x: &x ${"[*y, ".repeat(50)}${"]".repeat(50)}\n`,
      "\u0000\u0001",
      "name: app\n__proto__: {polluted: true}\nservices:\n  - name: web\n    __proto__: {}\n",
      "name: app\nenvs:\n  - key: __proto__\n    value: x\n",
    ];
    for (const text of cases) check(text);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
