// The fast front end: js-yaml reads a plain document about ten times faster than `yaml` builds its syntax
// tree, but keeps no positions. parseAppSpec uses it only to accept a spec with no problems at all; anything
// else is read again by readYamlTree, which places every problem. So this reader must never return data that
// readYamlTree would read differently: whatever it cannot vouch for (anchors, tags, merge keys, explicit or
// collection keys, pairs in flow sequences, directives…) makes it answer undefined, and the caller takes the
// positional path. Plain scalars resolve through `yaml`'s own YAML 1.1 tags, the very code readYamlTree runs.
import { load, Schema as JsYamlSchema, Type, type State } from "js-yaml";
import { Document, isScalar, type ScalarTag } from "yaml";
import { YAML_OPTIONS } from "./yaml-tree.js";

/** Thrown inside js-yaml's callbacks to stop reading; the caller falls back to the positional path. */
class Unsure extends Error {}

const yaml11 = new Document(null, YAML_OPTIONS);
// As `yaml` picks the tag of an untagged plain scalar: the first default tag whose test matches, else string.
// Tags marked default "key" (the `<<` merge key) apply only to keys; a `<<` key is refused below anyway.
const implicitTags = (yaml11.schema.tags as ScalarTag[]).filter((tag) => tag.default === true && tag.test !== undefined);
// Most scalars are plain text that no tag matches; one test of all the tags' patterns at once says so. The
// patterns are anchored (^…$) and carry no flags, so the alternation matches exactly when one of them does;
// the outer ^ only tells the regexp engine not to try later starting points.
if (implicitTags.some((tag) => tag.test?.flags !== "")) throw new Error("yaml's YAML 1.1 tag tests are expected to carry no flags");
const anyImplicitTag = new RegExp(`^(?:${implicitTags.map((tag) => `(?:${tag.test?.source})`).join("|")})`);

/**
 * A plain scalar's value exactly as readYamlTree reads it: by the first YAML 1.1 tag whose pattern matches,
 * else text; a date stays the text written, a bigint becomes a number. `keptAsText` hears of each scalar a
 * tag matched that stays text all the same (a date), which readYamlTree refuses as a key.
 */
function resolvePlainScalar(source: string, keptAsText?: (source: string) => void): unknown {
  if (!anyImplicitTag.test(source)) return source;
  const tag = implicitTags.find((t) => t.test?.test(source));
  if (!tag) return source;
  const resolved: unknown = tag.resolve(
    source,
    () => {
      throw new Unsure();
    },
    yaml11.options,
  );
  const value = isScalar(resolved) ? resolved.value : resolved;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean" || value === null) return value;
  keptAsText?.(source);
  return source;
}

/** What js-yaml's listener sees of a node just read; @types/js-yaml leaves out its tag and anchor. */
interface NodeState extends State {
  tag: string | null;
  anchor: string | null;
  lineStart: number;
}

const PLAIN_TAG = "tag:berth,plain";

/** Every plain scalar goes through resolvePlainScalar; quoted and block scalars stay strings, as in `yaml`. */
function plainScalarSchema(keptAsText: (source: string) => void): JsYamlSchema {
  const construct = (source: string) => resolvePlainScalar(source, keptAsText);
  return new JsYamlSchema({ implicit: [new Type(PLAIN_TAG, { kind: "scalar", resolve: () => true, construct })] });
}

// Constructs the two readers might take differently, looked for in the text; a match only costs a slow read.
// Each comes with a character it cannot do without, a cheaper search that usually finds nothing.
const REFUSED_TEXT: [string, RegExp][] = [
  ["%", /(?:^|[\r\n])%/], // a directive (%YAML, %TAG)
  // A document marker (`---`, `...`) or what looks like one (`---#`), except a bare `---` on the first line.
  ["---", /[\r\n]---|^---(?![ \t]*(?:[\r\n]|$))/],
  ["...", /(?:^|[\r\n])\.\.\./],
  ["?", /\?(?:\s|$)/], // what may be an explicit key (`? key`)
  ["\t", /(?:^|[\r\n]) *\t/], // a tab in the indentation, or on a blank line: `yaml` refuses some that js-yaml takes
  ["\r", /\r(?!\n)/], // a carriage return that does not end a line (\r\n), which the two read differently
  ["\ufeff", /\ufeff/], // a byte order mark, which js-yaml drops and `yaml` may count as indentation
];

// What may come after a quoted scalar or a flow collection: the end of the line, a comment after a space, or
// what continues the flow collection around it; a quoted scalar may also be a key.
const QUOTED_FOLLOWER = /[ \t]*(?:[:,\]}\r\n]|$)|[ \t]+#/y;
const FLOW_FOLLOWER = /[ \t]*(?:[,\]}\r\n]|$)|[ \t]+#/y;

/** `yaml` refuses an implicit key whose `:` is more than 1024 characters from its start; js-yaml does not. */
function hasLongLine(text: string): boolean {
  let start = 0;
  for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
    if (end - start > 1000) return true;
    start = end + 1;
  }
  return text.length - start > 1000;
}

/** Whether a line of spaces or tabs and nothing else starts between `start` and `end`. */
function hasBlankLine(input: string, start: number, end: number): boolean {
  for (let newline = input.indexOf("\n", start); newline !== -1 && newline < end; newline = input.indexOf("\n", newline + 1)) {
    let i = newline + 1;
    while (input[i] === " " || input[i] === "\t") i++;
    if (i > newline + 1 && (i === input.length || input[i] === "\n" || input[i] === "\r")) return true;
  }
  return false;
}

/**
 * Whether a flow collection starting at `start` (its open position) stands where a value goes: after `:`, `-`
 * or `[`, at the start of the text, or after `,` in a flow sequence; not after `{` or `,` in a flow mapping,
 * where it would be a key. `parentStart` is where the node around it opened.
 */
function inValuePlace(input: string, start: number, parentStart: number | undefined): boolean {
  let i = start - 1;
  while (i >= 0 && " \t\r\n".includes(input.charAt(i))) i--;
  if (i < 0) return true;
  const before = input.charAt(i);
  if (before === ":" || before === "-" || before === "[") return true;
  if (before !== "," || parentStart === undefined) return false;
  let p = parentStart;
  while (p < input.length && " \t\r\n".includes(input.charAt(p))) p++;
  return input.charAt(p) === "[";
}

function followedBy(pattern: RegExp, input: string, position: number): boolean {
  pattern.lastIndex = position;
  return pattern.test(input);
}

/**
 * The document's data as readYamlTree would give it, or undefined when this reader cannot be sure of that or
 * the document is not a mapping. Only for the common case: a mapping readYamlTree reads without a problem.
 */
export function readYamlFast(text: string): { data: unknown } | undefined {
  if (REFUSED_TEXT.some(([needed, pattern]) => text.includes(needed) && pattern.test(text)) || hasLongLine(text)) return undefined;
  // Every mapping js-yaml builds from a mapping node; a `[key: value]` pair in a flow sequence is not one.
  const mappings = new Set<object>();
  // Keys readYamlTree refuses: null (js-yaml spells it "null", as it does an empty key) and dates.
  const unkeyable = new Set(["null"]);
  const schema = plainScalarSchema((source) => unkeyable.add(source));
  const starts: number[] = [];
  const listener = (event: "open" | "close", state: NodeState) => {
    if (event === "open") {
      starts.push(state.position);
      return;
    }
    const start = starts.pop() ?? 0;
    if (state.anchor !== null || (state.tag !== null && state.tag !== PLAIN_TAG)) throw new Unsure();
    if (state.kind === "mapping") mappings.add(state.result as object);
    const { input, position } = state;
    const last = input[position - 1];
    // A quoted or block scalar with a line of only blanks in it: the two fold those differently.
    if (state.kind === "scalar" && state.tag === null && hasBlankLine(input, start, position)) throw new Unsure();
    if (state.kind === "scalar" && state.tag === null && (last === '"' || last === "'")) {
      // js-yaml lets a comment touch a quoted scalar (`"a"#c`); `yaml` refuses it.
      if (!followedBy(QUOTED_FOLLOWER, input, position)) throw new Unsure();
    } else if ((state.kind === "mapping" || state.kind === "sequence") && (last === "]" || last === "}")) {
      // The same for a flow collection, and a `:` after one makes it a key (`[a, b]: c`), which readYamlTree
      // refuses. `yaml` also warns about one that ends first on its line (if not indented past its parent).
      if (!followedBy(FLOW_FOLLOWER, input, position)) throw new Unsure();
      if (input.slice(state.lineStart, position - 1).trim() === "") throw new Unsure();
      // Nor may one be a key without a value in a flow mapping (`{[a], b: c}`).
      if (!inValuePlace(input, start, starts.at(-1))) throw new Unsure();
    }
  };
  const onWarning = () => {
    throw new Unsure();
  };
  let data: unknown;
  try {
    data = load(text, { schema, onWarning, listener: listener as (event: "open" | "close", state: State) => void });
  } catch {
    return undefined;
  }
  // Only a mapping can be a spec; for anything else the positional path says what is wrong.
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  return dropNullValues(data, mappings, unkeyable) ? { data } : undefined;
}

/**
 * readYamlTree reads `key:` with nothing after it as an absent key; a null list item stays. Also checks that
 * every mapping came from a mapping node and has no key readYamlTree would refuse or merge (`<<`). Returns
 * false when something is not so.
 */
function dropNullValues(value: object, mappings: Set<object>, unkeyable: Set<string>): boolean {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item === "object" && item !== null && !dropNullValues(item, mappings, unkeyable)) return false;
    }
    return true;
  }
  if (!mappings.has(value)) return false;
  const map = value as Record<string, unknown>;
  for (const key in map) {
    if (key === "<<" || unkeyable.has(key)) return false;
    const item = map[key];
    if (item === null) delete map[key];
    else if (typeof item === "object" && !dropNullValues(item, mappings, unkeyable)) return false;
  }
  return true;
}
