// One redactor for every layer (pipeline logs, runtime output, GitHub reports), built from every secret in play (SECRET envs, database credentials, the
// source provider's installation tokens). It replaces each secret, and its base64, hex, URL-encoded and
// JSON-escaped forms, in any letter case, with [REDACTED]; GitHub tokens are recognised by shape even when
// nobody registered them.
// A stream variant holds back just enough text that a secret split across two chunks is still caught, the way
// GitHub Actions masks secrets in job output.

export const REDACTED = "[REDACTED]";

/**
 * Secrets shorter than this (ignoring surrounding blanks) are not redacted. Masking `on` everywhere turns
 * "container online" into "c[REDACTED]tainer [REDACTED]line": every log line is mangled, and the pattern of
 * holes spells the secret out to anyone reading. Such a secret is left alone and reported instead
 * (`tooShort`, or what `Redactor.add` returns), so the caller can tell the operator to choose a longer one.
 */
export const MIN_SECRET_LENGTH = 6;

/** The values too short to redact safely; the empty string means "no value" and is not reported. */
export function tooShort(secrets: Iterable<string>): string[] {
  return [...secrets].filter((s) => typeof s === "string" && s !== "" && s.trim().length < MIN_SECRET_LENGTH);
}

// ghp_/gho_/ghu_/ghs_/ghr_ tokens are 40 characters, fine-grained PATs 93; allow some growth.
const GITHUB_TOKEN = /\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})\b/;
const GITHUB_TOKEN_MAX = 255;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Forms a secret takes in output. A base64 encoder writes the secret differently depending on where it falls
 * in a 3-byte group, so the forms for offsets 1 and 2 are included with their unstable edge characters cut.
 * Hex needs no such care (each byte is two digits wherever it falls); letter case is left to the matcher.
 */
export function secretForms(secret: string): string[] {
  // Upper-casing can change the length (ß → SS), which a case-insensitive match alone would miss.
  const forms = new Set<string>([secret, secret.toUpperCase(), secret.toLowerCase()]);
  const bytes = Buffer.from(secret, "utf8");
  forms.add(bytes.toString("hex"));
  forms.add(bytes.toString("base64"));
  forms.add(bytes.toString("base64url"));
  for (let offset = 0; offset < 3; offset++) {
    // Only the characters whose 6 bits all come from the secret's bytes are the same whatever surrounds it.
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes, Buffer.alloc(2)]).toString("base64");
    const stable = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    if (stable.length >= 6) {
      forms.add(stable);
      forms.add(stable.replace(/\+/g, "-").replace(/\//g, "_"));
    }
  }
  forms.add(encodeURIComponent(secret));
  forms.add(new URLSearchParams({ x: secret }).toString().slice(2));
  forms.add(JSON.stringify(secret).slice(1, -1));
  // A multi-line secret (a PEM key) shows up one line at a time in line-oriented logs.
  if (secret.includes("\n")) {
    for (const line of secret.split(/\r?\n/)) if (line.trim().length >= MIN_SECRET_LENGTH) forms.add(line);
  }
  return [...forms].filter((f) => f.length > 0);
}

/** What a layer that only redacts needs: one text in, the same text with every secret replaced out. */
export type Redact = (text: string) => string;

export interface RedactStream {
  /** Redacted text that is safe to emit now (possibly shorter than what was written). */
  write(chunk: string): string;
  /** Whatever was held back, redacted. */
  end(): string;
}

export interface Redactor {
  redact(text: string): string;
  /** Register more secrets (a token minted mid-deployment); returns those too short to redact (see MIN_SECRET_LENGTH). */
  add(secrets: Iterable<string>): string[];
  stream(): RedactStream;
}

export function createRedactor(secrets: Iterable<string> = []): Redactor {
  const forms = new Set<string>();
  // Case-insensitive: a secret printed upper-cased, upper-case hex or %2f-style escapes are still the secret.
  // Two patterns, applied in turn: forms with a non-ASCII character need the `u` flag (without it V8 missed
  // "ᾐ     \"" when two longer alternatives shared its prefix, a fast-check counterexample), and the `u` flag
  // makes matching about ten times slower, so the ASCII forms (hex, base64, URL escapes, most secrets) and
  // GitHub's token shapes go without it.
  let patterns: RegExp[] = [new RegExp(GITHUB_TOKEN.source, "gi")];
  let holdBack = GITHUB_TOKEN_MAX;

  function rebuild() {
    const sorted = [...forms].sort((a, b) => b.length - a.length);
    const wide = sorted.filter((f) => /[\u0080-\uffff]/.test(f));
    const ascii = sorted.filter((f) => !/[\u0080-\uffff]/.test(f));
    patterns = [
      ...(wide.length ? [new RegExp(wide.map(escapeRegExp).join("|"), "giu")] : []),
      new RegExp([...ascii.map(escapeRegExp), GITHUB_TOKEN.source].join("|"), "gi"),
    ];
    holdBack = Math.max(GITHUB_TOKEN_MAX, ...sorted.map((f) => f.length)) - 1;
  }

  function add(values: Iterable<string>): string[] {
    const all = [...values];
    const short = tooShort(all);
    for (const value of all) {
      if (typeof value !== "string" || value.trim().length < MIN_SECRET_LENGTH) continue;
      for (const form of secretForms(value)) forms.add(form);
    }
    rebuild();
    return short;
  }

  function redact(text: string): string {
    return patterns.reduce((out, pattern) => out.replace(pattern, REDACTED), text);
  }

  add(secrets);

  return {
    redact,
    add,
    stream() {
      let pending = "";
      return {
        write(chunk) {
          pending += chunk;
          let cut = Math.max(0, pending.length - holdBack);
          if (cut === 0) return "";
          // A match crossing the cut is complete in the buffer: emit it whole rather than split it.
          // Moving the cut for one pattern may put it inside a match of the other: repeat until it stays.
          for (let moved = true; moved; ) {
            moved = false;
            for (const pattern of patterns) {
              for (const match of pending.matchAll(pattern)) {
                const start = match.index;
                const end = start + match[0].length;
                if (start < cut && end > cut) {
                  cut = end;
                  moved = true;
                }
              }
            }
          }
          const out = redact(pending.slice(0, cut));
          pending = pending.slice(cut);
          return out;
        },
        end() {
          const out = redact(pending);
          pending = "";
          return out;
        },
      };
    },
  };
}
