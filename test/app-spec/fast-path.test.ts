// parseAppSpec answers a spec without problems from a fast read (js-yaml, no positions) and everything else
// from the positional path. Whatever the text, its answer must be the positional path's answer, and the fast
// reader must hand over either nothing or exactly the data readYamlTree reads.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAppSpec, parseAppSpecFast, parseAppSpecWithPositions } from "../../src/app-spec/parse-app-spec.js";
import { readYamlFast } from "../../src/app-spec/read-yaml-fast.js";
import { readYamlTree } from "../../src/app-spec/yaml-tree.js";
import { generateSpec } from "./generate-spec.js";

const root = join(import.meta.dirname, "../fixtures/specs");
const fixtures = ["valid", "invalid"].flatMap((kind) =>
  readdirSync(join(root, kind))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((file) => ({ name: `${kind}/${file}`, text: readFileSync(join(root, kind, file), "utf8"), template: file.endsWith("deploy.template.yaml") })),
);

/** Both paths agree on the text; returns whether the fast reader vouched for it. */
function expectSameAnswer(text: string, template = false): boolean {
  expect(parseAppSpec(text, { template })).toEqual(parseAppSpecWithPositions(text, { template }));
  const fast = readYamlFast(text);
  if (!fast) return false;
  const tree = readYamlTree(text);
  expect(tree.problems).toEqual([]);
  expect(fast.data).toEqual(tree.data);
  return true;
}

describe("the fast path answers as the positional path", () => {
  it.each(fixtures)("$name", ({ text, template }) => {
    expectSameAnswer(text, template);
  });

  it("on the benchmark's generated spec, which it answers itself", () => {
    for (const count of [1, 30, 300]) {
      const text = generateSpec(count);
      expect(expectSameAnswer(text)).toBe(true);
      const fast = parseAppSpecFast(text);
      expect(fast?.problems).toEqual([]);
      expect(fast).toEqual(parseAppSpecWithPositions(text));
    }
  });

  it("answers nothing itself for a spec with an error or only a warning", () => {
    const valid = generateSpec(3);
    expect(parseAppSpecFast(valid.replace("    http_port: 8080\n", "    http_port: 99999\n"))).toBeUndefined();
    expect(parseAppSpecFast(valid.replace("region: fra", "region: fra1"))).toBeUndefined(); // a datacenter slug: a warning
    expect(parseAppSpecWithPositions(valid.replace("region: fra", "region: fra1")).problems.map((p) => p.severity)).toEqual(["warning"]);
    expect(parseAppSpecFast(valid.replace("    http_port: 8080\n", "    http_port: '8080'\n"))).toBeUndefined();
    expect(parseAppSpecFast("")).toBeUndefined();
    expect(parseAppSpecFast("spec:\n  name: app\n")).toBeUndefined(); // wrapped in spec: without template
    expect(parseAppSpecFast("spec:\n  name: app\n", { template: true })?.spec?.name).toBe("app");
  });

  it("reads most valid fixtures itself, and hands anchors, merge keys and tags to the positional path", () => {
    const valid = fixtures.filter((f) => f.name.startsWith("valid/"));
    const vouched = valid.filter((f) => readYamlFast(f.text) !== undefined).map((f) => f.name);
    expect(vouched.length).toBeGreaterThan(valid.length / 2);
    expect(vouched).not.toContain("valid/anchors.yaml");
    expect(readYamlFast("name: app\nx: &a 1\ny: *a\n")).toBeUndefined();
    expect(readYamlFast("name: app\nbase: {a: 1}\nother:\n  <<: {a: 1}\n")).toBeUndefined();
    expect(readYamlFast("name: !!str app\n")).toBeUndefined();
    expect(readYamlFast("name: ! app\n")).toBeUndefined();
  });

  it("refuses what readYamlTree reads differently from js-yaml", () => {
    const cases = [
      "name: app\nname: again\n", // duplicate key
      "? [a, b]\n: c\nname: app\n", // explicit collection key
      "[name]: app\n", // flow collection key
      "name: app\ningress: {[rules]}\n", // flow collection key without a value
      "name: app\ningress: {a: 1, {b: 2}}\n",
      "name: app\nenvs: [key: A]\n", // a pair in a flow sequence stays a one-key mapping, nulls and all
      "name: app\nenvs: [key: A, value: ]\n",
      "~: x\nname: app\n", // null key
      "2001-12-14: x\nname: app\n", // timestamp key
      "name: app\nservices: [\n  a\n]\n", // flow end at the start of a line
      'name: "app"#comment\n', // comment touching a quoted scalar
      "name: [a]#comment\n",
      "name: app\n\t\nregion: fra\n", // tab on a blank line
      "%YAML 1.1\n---\nname: app\n",
      "name: app\n---\nname: other\n",
      "name: a\rregion: fra\n", // a lone carriage return
      "\ufeffname: app\n",
      `name: app\nregion${" ".repeat(1100)}: fra\n`, // `yaml` wants the : of a key within 1024 characters
      "name: app\nenvs:\n  - key: A\n    value: >2\n       \n", // a blank line in a block scalar
    ];
    for (const text of cases) {
      expect(readYamlFast(text), JSON.stringify(text)).toBeUndefined();
      expectSameAnswer(text);
    }
  });

  it("reads keys that are numbers or booleans as their text, as readYamlTree does", () => {
    const text = "name: app\nyes: a\n0x1F: b\n1.50: c\n'2': d\n";
    expect(readYamlFast(text)?.data).toEqual({ name: "app", true: "a", 31: "b", "1.5": "c", 2: "d" });
    expect(expectSameAnswer(text)).toBe(true);
  });

  it("reads plain scalars by yaml's YAML 1.1 rules and drops keys with nothing after them", () => {
    const text = [
      "name: app",
      "a: yes",
      "b: off",
      "c: 0x1F",
      "d: 010",
      "e: 1_000",
      "f: 1:30",
      "g: 1.5e3",
      "h: .inf",
      "i: 2001-12-14",
      "j: '010'",
      "k:",
      "l: ~",
      "m: [~, null, '']",
      "__proto__: own",
      "",
    ].join("\n");
    const fast = readYamlFast(text);
    expect(fast?.data).toEqual({ name: "app", a: true, b: false, c: 31, d: 8, e: 1000, f: 90, g: 1500, h: Infinity, i: "2001-12-14", j: "010", m: [null, null, ""], ["__proto__"]: "own" });
    expect(Object.hasOwn(fast?.data as object, "__proto__")).toBe(true);
    expect(fast?.data).toEqual(readYamlTree(text).data);
  });
});

// ---- generated specs: scalar spellings in string and number fields ----

const words = [
  "yes", "no", "on", "off", "y", "N", "~", "null", "NULL", "true", "False", "0x1F", "010", "0o17", "0b101", "1_000", "1:30",
  "-1:30:00", "1.5e3", "1e3", ".inf", "-.Inf", ".nan", "0.", "3.14", "+12", "-0", "2001-12-14", "2001-12-14 21:59:43.10 -5",
  "2001-12-14t21:59:43.10-05:00", "8080", "0", "web", "main", "hello world", "a: b", "é✓ ünï 日本", "#hash", "a #b", "x:y",
  "https://x.example:80/a?b=c", "${db.DATABASE_URL}", "- dash", "'", '"', "\\", "", " lead", "trail ", "two\nlines",
  "para\n\nbreak", "tab\there", "  indented\nnot", "a\n  more\nb", "x\n\n", "\n\nlate", " ", "a\n \nb", "a\r\nb", "a\tb\n\tc", "[a, b]", "{a: b}", "&anchor", "*alias", "!tag", "%pct", "@at", "`tick", "|pipe", ">gt",
];
const ports = ["8080", "0x1F90", "017620", "8_080", "2:14:00", "8.08e3", "8080.0", "+8080", "'8080'", "80_80", "1", "0b11111", "~", ""];

const text = fc.oneof(fc.constantFrom(...words), fc.string({ maxLength: 12 }), fc.string({ unit: "grapheme", maxLength: 8 }));
const style = fc.constantFrom("plain", "single", "double", "literal", "folded", "multiline-plain", "commented", "empty");
const chomp = fc.constantFrom("", "-", "+", "2");

/** `value` written in `how` as the value of a key at `indent`. */
function spell(value: string, how: string, indicator: string, indent: string): string {
  const inner = `${indent}  `;
  switch (how) {
    case "plain":
      return ` ${value}`;
    case "single":
      return ` '${value.replace(/'/g, "''").replace(/\n/g, `\n${inner}`)}'`;
    case "double":
      return ` ${JSON.stringify(value)}`;
    case "literal":
    case "folded": {
      const lines = value.split("\n").map((line) => (line === "" ? "" : `${inner}${line}`));
      return ` ${how === "literal" ? "|" : ">"}${indicator}\n${lines.join("\n")}`;
    }
    case "multiline-plain":
      return ` ${value.split(" ").join(`\n${inner}`)}`;
    case "commented":
      return ` ${value} # a comment`;
    default:
      return "";
  }
}

const field = fc.record({ value: text, how: style, indicator: chomp });
const number = fc.record({ value: fc.constantFrom(...ports), how: fc.constantFrom("plain", "plain", "commented", "double", "empty"), indicator: fc.constant("") });

const spec = fc.record({
  branch: field,
  runCommand: field,
  envValue: field,
  path: field,
  port: number,
  period: number,
  flowSource: fc.boolean(),
  flowEnvs: fc.boolean(),
});

type GeneratedSpec = typeof spec extends fc.Arbitrary<infer T> ? T : never;

function specText(s: GeneratedSpec): string {
  const at = (f: { value: string; how: string; indicator: string }, indent: string) => spell(f.value, f.how, f.indicator, indent);
  const oneLine = (f: { value: string; how: string }) => !f.value.includes("\n") && (f.how === "plain" || f.how === "single" || f.how === "double");
  const lines = ["# generated", "name: app", "services:", "  - name: web"];
  if (s.flowSource && oneLine(s.branch)) lines.push(`    github: {repo: acme/web, branch:${at(s.branch, "")}}`);
  else lines.push("    github:", "      repo: acme/web", `      branch:${at(s.branch, "      ")}`);
  lines.push(`    run_command:${at(s.runCommand, "    ")}`, `    http_port:${at(s.port, "    ")}`);
  if (s.flowEnvs && oneLine(s.envValue)) lines.push(`    envs: [{key: A, value:${at(s.envValue, "")}}, {key: B, value: "b"}]`);
  else lines.push("    envs:", "      - key: A", `        value:${at(s.envValue, "        ")}`, "      - key: B", "        value: b");
  lines.push("    health_check:", `      http_path:${at(s.path, "      ")}`, `      period_seconds:${at(s.period, "      ")}`);
  return `${lines.join("\n")}\n`;
}

describe("generated specs with every spelling of a scalar", () => {
  it("get the same answer from both paths, and most valid ones from the fast path", () => {
    let valid = 0;
    let fast = 0;
    fc.assert(
      fc.property(spec, (s) => {
        const text = specText(s);
        const vouched = expectSameAnswer(text);
        const answer = parseAppSpec(text);
        if (answer.problems.length === 0) {
          valid++;
          if (vouched) fast++;
        }
      }),
      { numRuns: 400, seed: 2024 },
    );
    expect(valid).toBeGreaterThan(40);
    expect(fast).toBeGreaterThan(valid * 0.6);
  });
});

// ---- fixtures with odd pieces of YAML dropped in ----

const pieces = [
  "yes", "~", "0x1F", "1:30", ".inf", "2001-12-14", "'q'", '"d\\x41\\u00e9\\t"', "|\n  a\n", ">-\n  a\n\n  b\n", "[a, b]", "{a: 1}",
  "[a: b]", "? x", "&a", "*a", "!!str", "!x", "<<", "%", "---", "---#", "...", "#", ":", "]", "}", ",", "@", "`", '"', "'", "\\",
  "\t", "\r", "\r\n", "\u00a0", "\u2028", "\u0085", "\ufeff", '"x"#c', "[a]#c", "- - x", "a: b: c", "  ", "é",
  "~: x", "null: x", ": x", "2001-12-14: x", "0x1F: x", "yes: x", "'~': x", "[a]: x", "{a: 1}: x", "- a: ", "-  : x",
  "{[]}", "{[a], b: c}", "{a: 1, {b: 2}}", "[[a], {b: c}]",
];

describe("fixtures with odd pieces of YAML dropped in", () => {
  it("get the same answer from both paths", () => {
    const edit = fc.record({ at: fc.nat(), column: fc.nat(), piece: fc.constantFrom(...pieces), op: fc.constantFrom("insert", "value", "line", "indent") });
    const mutation = fc.record({ seed: fc.nat({ max: fixtures.length - 1 }), edits: fc.array(edit, { minLength: 1, maxLength: 3 }), crlf: fc.boolean() });
    fc.assert(
      fc.property(mutation, ({ seed, edits, crlf }) => {
        const { text, template } = fixtures[seed] as (typeof fixtures)[number];
        const lines = text.split("\n");
        for (const { at, column, piece, op } of edits) {
          const i = at % lines.length;
          const line = lines[i] as string;
          if (op === "insert") lines[i] = line.slice(0, column % (line.length + 1)) + piece + line.slice(column % (line.length + 1));
          else if (op === "value") lines[i] = line.replace(/:( .*)?$/, `: ${piece}`);
          else if (op === "line") lines.splice(i, 0, piece);
          else lines[i] = `  ${line}`;
        }
        const joined = lines.join("\n");
        expectSameAnswer(crlf ? joined.replace(/\n/g, "\r\n") : joined, template);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});
