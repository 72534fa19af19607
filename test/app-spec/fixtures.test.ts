// Every fixture under test/fixtures/specs states its expected problems in `# expect` comments at the top:
// `# expect <severity> <line>:<column> <path>: <message>`. The engine must report exactly those, in order.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseAppSpec } from "../../src/app-spec/index.js";
import { appSpecSchema } from "../../src/app-spec/schema.js";

const root = join(import.meta.dirname, "../fixtures/specs");
const EXPECT = /^# expect (error|warning) (\d+):(\d+) (\S+): (.*)$/;

function fixtures(kind: "valid" | "invalid") {
  return readdirSync(join(root, kind))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((file) => {
      const text = readFileSync(join(root, kind, file), "utf8");
      const expected = text
        .split("\n")
        .filter((l) => l.startsWith("# expect "))
        .map((l) => {
          const m = EXPECT.exec(l);
          if (!m) throw new Error(`${kind}/${file}: cannot read expectation "${l}"`);
          return { severity: m[1], line: Number(m[2]), column: Number(m[3]), path: m[4] === "-" ? "" : m[4], message: m[5] };
        });
      return { file, text, expected, template: file.endsWith("deploy.template.yaml") };
    });
}

function actual(text: string, template: boolean) {
  const result = parseAppSpec(text, { template });
  const problems = result.problems.map(({ severity, line, column, path, message }) => ({ severity, line, column, path, message }));
  return { spec: result.spec, problems };
}

describe("valid specs", () => {
  it.each(fixtures("valid"))("$file parses with exactly its expected warnings", ({ text, expected, template }) => {
    const { spec, problems } = actual(text, template);
    expect(problems).toEqual(expected);
    expect(spec).not.toBeNull();
  });
});

describe("invalid specs", () => {
  it.each(fixtures("invalid"))("$file reports exactly its expected problems", ({ text, expected, template }) => {
    const { spec, problems } = actual(text, template);
    expect(problems).toEqual(expected);
    expect(spec).toBeNull();
    expect(problems.some((p) => p.severity === "error")).toBe(true);
  });
});

// ---- every field of the schema appears in some valid fixture ----

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  element?: { _zod: { def: Def } };
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
}

function schemaPaths(def: Def, prefix: string, out: Set<string>): void {
  if (def.innerType) return schemaPaths(def.innerType._zod.def, prefix, out);
  if (def.type === "pipe" && def.in) return schemaPaths(def.in._zod.def, prefix, out);
  if (def.type === "array" && def.element) return schemaPaths(def.element._zod.def, `${prefix}[]`, out);
  if (def.type === "object" && def.shape) {
    for (const [key, child] of Object.entries(def.shape)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.add(path);
      schemaPaths(child._zod.def, path, out);
    }
  }
}

function dataPaths(value: unknown, prefix: string, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) dataPaths(item, `${prefix}[]`, out);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.add(path);
      dataPaths(child, path, out);
    }
  }
}

// Pieces shared by several component kinds are covered once: `workers[].envs` must appear in a worker, but
// what lies below it (`*.envs[].scope`) may be shown by any component.
const SHARED = /^(?:.*?\.)?((envs|alerts|log_destinations|routes)\[\]|cors|image|git|github|gitlab|bitbucket|health_check|liveness_health_check|autoscaling|termination)\./;

function normalize(path: string): string {
  const m = SHARED.exec(path);
  return m ? `*.${path.slice(m[0].length - (m[1]?.length ?? 0) - 1)}` : path;
}

describe("fixture coverage", () => {
  it("every field of the app spec schema is used by at least one valid fixture", () => {
    const wanted = new Set<string>();
    schemaPaths((appSpecSchema as unknown as { _zod: { def: Def } })._zod.def, "", wanted);
    const used = new Set<string>();
    for (const { text, template } of fixtures("valid")) {
      const data = parse(text, { version: "1.1", merge: true }) as Record<string, unknown>;
      dataPaths(template ? data.spec : data, "", used);
    }
    expect(wanted.size).toBeGreaterThan(150);
    const covered = new Set([...used].map(normalize));
    expect([...new Set([...wanted].map(normalize))].filter((p) => !covered.has(p)).sort()).toEqual([]);
  });
});
