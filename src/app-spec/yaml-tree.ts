// YAML text to plain data plus a position index: for every dotted path, where its key and its value sit in
// the file. We walk the document ourselves instead of calling toJS() so duplicate keys, odd keys and alias
// bombs become problems at the right line rather than exceptions or silent overwrites. This is the positional
// path, for every spec with a problem; a spec without one is answered from read-yaml-fast.ts, which must read
// exactly what this reads.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Alias, Document, Node, ParsedNode, Range, Scalar, YAMLMap, YAMLSeq } from "yaml";

export type Segment = string | number;

export interface Located {
  key?: [number, number];
  value: [number, number];
  /** Source text of a plain scalar (`1.10`, `yes`), so a number given where a string is expected keeps its spelling. */
  source?: string;
  collection: boolean;
}

export interface RawProblem {
  severity: "error" | "warning";
  message: string;
  path: Segment[];
  /** Offsets in the text; when absent the problem is placed by its path. */
  at?: [number, number];
  /** Place it on the key rather than the value (an unknown key). */
  keyed?: boolean;
}

export interface YamlTree {
  data: unknown;
  /** False when the document is empty (no content at all). */
  present: boolean;
  index: Map<string, Located>;
  lineCounter: LineCounter;
  problems: RawProblem[];
  /** True when the text is not well-formed YAML (or expands too far); `problems` then holds only those errors. */
  syntaxErrors: boolean;
}

/** How both readers read YAML: 1.1, because App Platform reads specs with Go's YAML 1.1 decoder (`yes`/`on`
 * are booleans there, and `<<` merge keys work); duplicate keys are found by our own walk. */
export const YAML_OPTIONS = { version: "1.1", uniqueKeys: false, prettyErrors: false } as const;

/** Values reached through aliases; a real spec needs a handful, a "billion laughs" document needs millions. */
const MAX_ALIASED = 10_000;

export function pathKey(path: readonly Segment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out;
}

function offsets(range: Range | null | undefined): [number, number] {
  return range ? [range[0], range[1]] : [0, 0];
}

export function readYamlTree(text: string): YamlTree {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...YAML_OPTIONS, lineCounter });
  const problems: RawProblem[] = [];
  const index = new Map<string, Located>();

  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      problems.push({ severity: "error", message: cleanYamlMessage(error.message), path: [], at: [error.pos[0], error.pos[1]] });
    }
    return { data: undefined, present: true, index, lineCounter, problems, syntaxErrors: true };
  }
  for (const warning of doc.warnings) {
    problems.push({ severity: "warning", message: cleanYamlMessage(warning.message), path: [], at: [warning.pos[0], warning.pos[1]] });
  }

  const walker = new TreeWalker(doc, lineCounter, index, problems);
  const present = doc.contents !== null && doc.contents !== undefined && !(isScalar(doc.contents) && doc.contents.value === null);
  const data = walker.convert(doc.contents, [], "");
  // An alias bomb is reported alone: what was converted before the limit is not the document.
  if (walker.tooBig) return { data: undefined, present, index, lineCounter, problems: problems.filter((p) => p.severity === "error"), syntaxErrors: true };
  return { data, present, index, lineCounter, problems, syntaxErrors: false };
}

/** One walk over a parsed document: plain data out, every path's position into the index, problems collected. */
class TreeWalker {
  tooBig = false;
  private aliased = 0;
  private insideAlias = 0;
  private readonly expanding = new Set<Node>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
    private readonly index: Map<string, Located>,
    private readonly problems: RawProblem[],
  ) {}

  convert(node: unknown, path: Segment[], at: string, keyRange?: [number, number]): unknown {
    if (this.tooBig) return null;
    if (this.insideAlias > 0 && ++this.aliased > MAX_ALIASED) {
      this.tooBig = true;
      this.problems.push({ severity: "error", message: `aliases expand to more than ${MAX_ALIASED} values; write the repeated parts out or use fewer aliases`, path: path.slice(0, 1) });
      return null;
    }
    if (node === null || node === undefined) {
      if (keyRange) this.index.set(at, { key: keyRange, value: keyRange, collection: false });
      return null;
    }
    if (isAlias(node)) return this.alias(node, path, at, keyRange);
    if (isScalar(node)) return this.scalar(node, at, keyRange);
    if (isMap(node)) return this.map(node, path, at, keyRange);
    if (isSeq(node)) return this.seq(node, path, at, keyRange);
    return null;
  }

  private alias(node: Alias, path: Segment[], at: string, keyRange?: [number, number]): unknown {
    const target = node.resolve(this.doc);
    const here = offsets(node.range);
    if (!target) {
      this.problems.push({ severity: "error", message: `alias *${node.source} has no anchor &${node.source} before it`, path, at: here });
      return null;
    }
    if (this.expanding.has(target)) {
      this.problems.push({ severity: "error", message: `alias *${node.source} refers to the node that contains it`, path, at: here });
      return null;
    }
    this.expanding.add(target);
    this.insideAlias++;
    const value = this.convert(target, path, at, keyRange);
    this.insideAlias--;
    this.expanding.delete(target);
    const entry = this.index.get(at);
    if (entry) entry.value = here;
    return value;
  }

  private scalar(node: Scalar, at: string, keyRange?: [number, number]): unknown {
    const value = node.value;
    const plain = typeof value === "string" || typeof value === "number" || typeof value === "boolean" || value === null;
    // YAML 1.1 timestamps and binaries decode to objects; App Platform sees them as the text written.
    const data = plain ? value : typeof value === "bigint" ? Number(value) : (node.source ?? String(value));
    this.index.set(at, {
      key: keyRange,
      value: offsets(node.range),
      source: typeof node.source === "string" && node.type === "PLAIN" ? node.source : undefined,
      collection: false,
    });
    return data;
  }

  private map(node: YAMLMap, path: Segment[], at: string, keyRange?: [number, number]): unknown {
    const self: Located = { key: keyRange, value: offsets(node.range), collection: true };
    const out: Record<string, unknown> = {};
    this.mergeInto(out, node, path, at);
    // Converting a merged mapping indexed it at this path; this mapping is what is written here.
    this.index.set(at, self);
    const firstSeen = new Map<string, number>();
    for (const pair of node.items) {
      const keyNode = pair.key as ParsedNode | null;
      if (isMergeKey(keyNode)) continue;
      const keyAt = offsets(keyNode?.range);
      if (!isScalar(keyNode) || typeof keyNode.value === "object") {
        this.problems.push({ severity: "error", message: "keys must be plain words, not lists, mappings or null", path, at: keyAt });
        continue;
      }
      const key = String(keyNode.value);
      const childPath = [...path, key];
      const first = firstSeen.get(key);
      if (first !== undefined) {
        this.problems.push({
          severity: "error",
          message: `duplicate key "${key}" (first set on line ${this.lineCounter.linePos(first).line}); remove one`,
          path: childPath,
          at: keyAt,
        });
        continue;
      }
      firstSeen.set(key, keyAt[0]);
      const value = this.convert(pair.value, childPath, at === "" ? key : `${at}.${key}`, keyAt);
      // Go's decoder leaves a field untouched for `key:` with nothing after it, so null means absent.
      if (value === null) {
        if (Object.hasOwn(out, key)) delete out[key];
        continue;
      }
      setKey(out, key, value);
    }
    return out;
  }

  /** Merge keys first, so keys written in the map itself override merged ones, as YAML 1.1 says. */
  private mergeInto(out: Record<string, unknown>, node: YAMLMap, path: Segment[], at: string): void {
    for (const pair of node.items) {
      if (!isMergeKey(pair.key)) continue;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        const merged = this.convert(source, path, at);
        if (typeof merged !== "object" || merged === null || Array.isArray(merged)) {
          this.problems.push({ severity: "error", message: "a << merge key takes a mapping or a list of mappings", path, at: offsets(pair.key.range) });
          continue;
        }
        for (const [k, v] of Object.entries(merged)) if (!Object.hasOwn(out, k)) setKey(out, k, v);
      }
    }
  }

  private seq(node: YAMLSeq, path: Segment[], at: string, keyRange?: [number, number]): unknown {
    this.index.set(at, { key: keyRange, value: offsets(node.range), collection: true });
    return node.items.map((item, i) => {
      if (isPair(item)) {
        const key = isScalar(item.key) ? String(item.key.value) : "";
        const obj: Record<string, unknown> = {};
        setKey(obj, key, this.convert(item.value, [...path, i, key], `${at}[${i}].${key}`));
        return obj;
      }
      return this.convert(item, [...path, i], `${at}[${i}]`);
    });
  }
}

/** yaml marks a `<<` merge key (YAML 1.1) with a symbol value. */
function isMergeKey(key: unknown): key is Scalar {
  return isScalar(key) && typeof key.value === "symbol";
}

function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** yaml's messages end with a copy of the offending line and a caret when the position is known; we print our own. */
function cleanYamlMessage(message: string): string {
  const firstLine = message.split("\n")[0] ?? message;
  return firstLine.replace(/ at line \d+, column \d+:?$/, "").trim();
}
