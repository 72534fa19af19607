// Text in, a defaulted spec or every problem out, each placed on its line. Order of work: YAML syntax (if
// broken, only that is reported), then the document's own shape problems (duplicate keys…), the schema with
// its cross-field rules, and Berth's policy warnings.
//
// Two paths give that answer. Placing problems needs `yaml`'s syntax tree, which costs most of the time of a
// validation, and most specs have no problem to place. So a spec is first read quickly without positions
// (readYamlFast) and validated; with no problem at all that is the answer. Otherwise, or when the fast reader
// is unsure of the text, the positional path reads it again from scratch and gives every problem its place.
import type { z } from "zod";
import { appSpecSchema, type AppSpec } from "./schema.js";
import { nearestHint } from "./rules.js";
import { findWarnings } from "./warnings.js";
import { readYamlFast } from "./read-yaml-fast.js";
import { oversizedSpec, specBytes } from "./spec-size.js";
import { pathKey, readYamlTree, type Located, type RawProblem, type Segment, type YamlTree } from "./yaml-tree.js";

export interface Problem {
  severity: "error" | "warning";
  message: string;
  /** Dotted path in the file, e.g. `services[0].health_check.port`; "" for the document itself. */
  path: string;
  /** 1-based; the end is exclusive (the column just after the last character), as in LSP ranges. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface SpecResult {
  /** The validated spec with defaults applied; null when any problem is an error. */
  spec: AppSpec | null;
  problems: Problem[];
}

export interface ParseAppSpecOptions {
  /** A `.do/deploy.template.yaml`: the app spec sits under `spec:`. */
  template?: boolean;
}

/**
 * Parses and validates an app spec. Never throws: whatever the input, problems say what is wrong. A spec
 * above MAX_SPEC_BYTES is refused unread.
 */
export function parseAppSpec(text: string, options: ParseAppSpecOptions = {}): SpecResult {
  const input = typeof text === "string" ? text : String(text);
  return oversizedSpec(specBytes(input)) ?? parseAppSpecFast(input, options) ?? parseAppSpecWithPositions(input, options);
}

/**
 * The fast path alone: the answer for a spec without a single problem, else undefined (then only the
 * positional path can answer). Exported for tests and benchmarks; callers use parseAppSpec.
 */
export function parseAppSpecFast(text: string, options: ParseAppSpecOptions = {}): SpecResult | undefined {
  try {
    const read = readYamlFast(text);
    if (!read) return undefined;
    const { root, problems } = findRoot(read.data, true, options);
    if (!root || problems.length > 0) return undefined;
    const result = appSpecSchema.safeParse(root);
    if (!result.success || findWarnings(root, options.template ? ["spec"] : []).length > 0) return undefined;
    return { spec: result.data, problems: [] };
  } catch {
    // Whatever went wrong here, the positional path reads the text again and says it properly.
    return undefined;
  }
}

/**
 * The positional path alone: every problem with its line and column. parseAppSpec gives the same answer;
 * exported for tests and benchmarks that compare the two paths.
 */
export function parseAppSpecWithPositions(text: string, options: ParseAppSpecOptions = {}): SpecResult {
  let tree: YamlTree | undefined;
  try {
    tree = readYamlTree(typeof text === "string" ? text : String(text));
    return validateTree(tree, options);
  } catch (err) {
    // A bug of ours must still not take down a deployment with a stack trace; say what happened.
    const problem: Problem = {
      severity: "error",
      message: `internal error while validating the spec: ${(err as Error)?.message ?? String(err)}`,
      path: "",
      line: 1,
      column: 1,
      endLine: 1,
      endColumn: 1,
    };
    return { spec: null, problems: [problem] };
  }
}

function validateTree(tree: YamlTree, options: ParseAppSpecOptions): SpecResult {
  const locate = placer(tree);
  if (tree.syntaxErrors) return failed(tree.problems.map(locate));

  const base: Segment[] = options.template ? ["spec"] : [];
  const found = findRoot(tree.data, tree.present, options);
  const raw: RawProblem[] = [...tree.problems, ...found.problems];
  if (!found.root) return failed(raw.map(locate));

  const root = found.root;
  const coercions: RawProblem[] = [];
  let result = appSpecSchema.safeParse(root);
  // App Platform's decoder turns a YAML number or boolean written where a string belongs into its text
  // (`version: 16`); so do we, with a warning, and validate again to find what that uncovered.
  for (let round = 0; round < 3 && !result.success; round++) {
    let changed = false;
    for (const issue of result.error.issues) {
      const wantsText =
        (issue.code === "invalid_type" && issue.expected === "string") ||
        (issue.code === "invalid_value" && issue.values.every((v) => typeof v === "string"));
      if (!wantsText) continue;
      const path = issue.path as Segment[];
      const entry = tree.index.get(pathKey([...base, ...path]));
      const current = get(root, path);
      if (!entry || (typeof current !== "number" && typeof current !== "boolean")) continue;
      const spelled = entry.source ?? String(current);
      if (!set(root, path, spelled)) continue;
      changed = true;
      coercions.push({
        severity: "warning",
        message: `expected a string, found ${typeof current} ${spelled}; read as "${spelled}", quote it to be sure`,
        path: [...base, ...path],
      });
    }
    if (!changed) break;
    result = appSpecSchema.safeParse(root);
  }

  raw.push(...coercions, ...findWarnings(root, base));
  if (!result.success) {
    for (const issue of result.error.issues) raw.push(...toRawProblems(issue, root, base));
  }
  const problems = finish(raw.map(locate));
  const ok = result.success && !problems.some((p) => p.severity === "error");
  return { spec: ok && result.success ? result.data : null, problems };
}

/** The app spec mapping inside the document (under spec: in a template), or the problems that prevent it. */
function findRoot(data: unknown, present: boolean, options: ParseAppSpecOptions): { root?: Record<string, unknown>; problems: RawProblem[] } {
  const error = (message: string, path: Segment[], keyed?: boolean): RawProblem => ({ severity: "error", message, path, keyed });
  if (!present) return { problems: [error("the file is empty; an app spec needs at least a name", [])] };
  if (!isObject(data)) return { problems: [error(`expected a mapping of spec fields (name:, services: …), found ${describe(data)}`, [])] };
  if (options.template) {
    if (!isObject(data.spec)) {
      const message =
        data.spec === undefined
          ? "a deploy template puts the app spec under spec:; indent the spec under a top-level spec: key"
          : `spec: must hold the app spec mapping, found ${describe(data.spec)}`;
      return { problems: [error(message, data.spec === undefined ? [] : ["spec"])] };
    }
    const others = Object.keys(data).filter((key) => key !== "spec");
    return { root: data.spec, problems: others.map((key) => error(`unknown key "${key}"; a deploy template holds only spec:`, [key], true)) };
  }
  if (isObject(data.spec) && data.name === undefined) {
    const message = "the app spec is wrapped in spec:, which only .do/deploy.template.yaml uses; move its contents to the top level";
    return { problems: [error(message, ["spec"])] };
  }
  return { root: data, problems: [] };
}

function failed(problems: Problem[]): SpecResult {
  return { spec: null, problems: finish(problems) };
}

function finish(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.severity}|${p.path}|${p.message}|${p.line}|${p.column}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.column - b.column || (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
}

// ---- zod issues → problems ----

type Issue = z.core.$ZodIssue;

function toRawProblems(issue: Issue, root: Record<string, unknown>, base: Segment[]): RawProblem[] {
  const path = issue.path.filter((s): s is Segment => typeof s !== "symbol");
  const full = [...base, ...path];
  const value = get(root, path);
  const missing = value === undefined;
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeys(path);
      return issue.keys.map((key) => ({
        severity: "error" as const,
        message: `unknown key "${key}"${otherKindHint(key, path) ?? unknownKeyHint(key, known)}`,
        path: [...full, key],
        keyed: true,
      }));
    }
    case "invalid_type": {
      if (missing) {
        const field = path[path.length - 1];
        return [{ severity: "error", message: `missing required key "${String(field)}"`, path: full }];
      }
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      const quotedNumber =
        typeof value === "string" && (issue.expected === "number" || issue.expected === "int") && value.trim() !== "" && !Number.isNaN(Number(value));
      const hint = quotedNumber ? "; remove the quotes" : "";
      return [{ severity: "error", message: `expected ${expected}, found ${describe(value)}${hint}`, path: full }];
    }
    case "invalid_value": {
      const options = issue.values.map((v) => String(v));
      const found = describe(value);
      const hint = typeof value === "string" ? nearestHint(value, options) : "";
      const list = options.length === 1 ? String(options[0]) : `one of ${options.join(", ")}`;
      return [{ severity: "error", message: `expected ${list}, found ${found}${hint}`, path: full }];
    }
    case "too_small":
    case "too_big": {
      const limit = issue.code === "too_small" ? issue.minimum : issue.maximum;
      const word = issue.code === "too_small" ? "at least" : "at most";
      if (issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint") {
        return [{ severity: "error", message: `must be ${word} ${String(limit)}, found ${describe(value)}`, path: full }];
      }
      if (issue.origin === "string") {
        const custom = issue.message.startsWith("Too") ? `must be ${word} ${String(limit)} characters long` : issue.message;
        return [{ severity: "error", message: `${custom}, found ${describe(value)}`, path: full }];
      }
      if (issue.origin === "array") {
        return [{ severity: "error", message: `must list ${word} ${String(limit)} items, found ${Array.isArray(value) ? value.length : describe(value)}`, path: full }];
      }
      return [{ severity: "error", message: issue.message, path: full }];
    }
    case "invalid_format":
      return [{ severity: "error", message: `${issue.message}, found ${describe(value)}`, path: full }];
    case "invalid_union":
      return [{ severity: "error", message: `expected true or false, found ${describe(value)}`, path: full }];
    default:
      return [{ severity: "error", message: issue.message, path: full }];
  }
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value lines)",
  array: "a list (lines starting with -)",
};

const KIND_WORDS: Record<string, string> = {
  services: "services",
  workers: "workers",
  jobs: "jobs",
  static_sites: "static sites",
  functions: "functions",
  databases: "databases",
};

/** For `jobs[0].http_port`: "; jobs do not take it (services do)". */
function otherKindHint(key: string, path: Segment[]): string | undefined {
  const [kind, index, ...rest] = path;
  if (typeof kind !== "string" || typeof index !== "number" || !Object.hasOwn(KIND_WORDS, kind)) return undefined;
  const takers = Object.keys(KIND_WORDS).filter((other) => other !== kind && knownKeys([other, 0, ...rest]).includes(key));
  if (takers.length === 0) return undefined;
  const where = rest.length > 0 ? ` in ${pathKey(rest)}` : "";
  return `; ${KIND_WORDS[kind]} do not take it${where} (${takers.map((t) => KIND_WORDS[t]).join(", ")} do)`;
}

function unknownKeyHint(key: string, known: string[]): string {
  if (known.length === 0) return "";
  const hint = nearestHint(key, known);
  if (hint) return hint;
  return known.length <= 12 ? `; expected one of ${known.join(", ")}` : "";
}

export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return `"${value.length > 60 ? `${value.slice(0, 57)}...` : value}"`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return typeof value;
}

// ---- the schema's known keys at a path, for "did you mean" ----

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  element?: { _zod: { def: Def } };
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  out?: { _zod: { def: Def } };
}

function knownKeys(path: Segment[]): string[] {
  let def: Def | undefined = (appSpecSchema as unknown as { _zod: { def: Def } })._zod.def;
  const unwrap = (d: Def | undefined): Def | undefined => {
    let current = d;
    for (let i = 0; current && i < 10; i++) {
      if (current.innerType) current = current.innerType._zod.def;
      else if (current.type === "pipe" && current.in) current = current.in._zod.def;
      else break;
    }
    return current;
  };
  def = unwrap(def);
  for (const segment of path) {
    if (!def) return [];
    if (typeof segment === "number") def = unwrap(def.element?._zod.def);
    else def = unwrap(def.shape?.[segment]?._zod.def);
  }
  return def?.shape ? Object.keys(def.shape) : [];
}

// ---- data access by path ----

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function get(root: unknown, path: readonly Segment[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

function set(root: unknown, path: readonly Segment[], value: unknown): boolean {
  const parent = get(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (last === undefined || parent === null || typeof parent !== "object") return false;
  Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
  return true;
}

// ---- positions ----

function placer(tree: YamlTree): (p: RawProblem & { keyed?: boolean }) => Problem {
  const text = tree.lineCounter;
  return (p) => {
    const range = p.at ?? rangeFor(tree, p.path, p.keyed === true);
    const start = text.linePos(range[0]);
    const end = text.linePos(Math.max(range[1], range[0]));
    return {
      severity: p.severity,
      message: p.message,
      path: pathKey(p.path),
      line: start.line,
      column: start.col,
      endLine: end.line,
      endColumn: end.col,
    };
  };
}

/** Where a path sits: a scalar's value, a collection's key, or for a missing path its nearest existing parent. */
function rangeFor(tree: YamlTree, path: Segment[], preferKey: boolean): [number, number] {
  for (let depth = path.length; depth >= 0; depth--) {
    const entry: Located | undefined = tree.index.get(pathKey(path.slice(0, depth)));
    if (!entry) continue;
    if (depth === path.length && !entry.collection && !preferKey) return entry.value;
    if (entry.key) return entry.key;
    return firstLine(tree, entry.value);
  }
  return [0, 0];
}

function firstLine(tree: YamlTree, range: [number, number]): [number, number] {
  const { line } = tree.lineCounter.linePos(range[0]);
  const nextLineStart = tree.lineCounter.lineStarts[line];
  const lineEnd = nextLineStart === undefined ? range[1] : nextLineStart - 1;
  return [range[0], Math.max(range[0], Math.min(range[1], lineEnd))];
}
