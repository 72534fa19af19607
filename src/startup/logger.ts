// Berth's logger, as Probot's reads LOG_FORMAT and LOG_LEVEL: JSON lines for machines, or a pretty line for
// people. Two fixes to what Probot's server does with it: a child that names itself (`http`, `setup`) replaces
// the parent's `name` instead of adding a second one, and health probes are logged at debug, without headers.
import type { IncomingMessage } from "node:http";
import { pino, type Logger, type LoggerOptions } from "pino";

export interface CreateLoggerOptions {
  level: string;
  format: "json" | "pretty";
  redact?: string[];
  /** Where lines go; standard output by default. */
  destination?: { write(line: string): void };
}

const PROBES = new Set(["/healthz", "/readyz"]);
const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };

function isProbe(req: unknown): req is IncomingMessage {
  const url = (req as IncomingMessage | undefined)?.url;
  return typeof url === "string" && PROBES.has(url.split("?")[0]!);
}

/** `12:00:00.000 INFO (berth): message {"key":"value"}`, the error's stack on the lines below. */
export function prettyLine(json: string): string {
  const { level, time, name, msg, pid: _pid, hostname: _host, err, ...rest } = JSON.parse(json) as Record<string, unknown>;
  const clock = new Date(Number(time)).toISOString().slice(11, 23);
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
  const stack = (err as { stack?: string } | undefined)?.stack;
  return `${clock} ${LEVELS[Number(level)] ?? level} (${String(name ?? "berth")}): ${String(msg ?? "")}${extra}${stack ? `\n${stack}` : ""}\n`;
}

type ChildFn = (this: Logger, bindings: Record<string, unknown>, options?: object) => Logger;

/** Every logger made from the root, and their children, create children through this. */
function withNamedChildren(root: Logger): Logger {
  const plainChild = root.child as unknown as ChildFn;
  const childOf: ChildFn = function (bindings, options) {
    if (isProbe(bindings.req)) {
      const probe = plainChild.call(this, { req: { method: bindings.req.method, url: bindings.req.url } }, options);
      probe.info = probe.debug.bind(probe);
      return probe;
    }
    if (!("name" in bindings)) return plainChild.call(this, bindings, options);
    const { name: _replaced, ...inherited } = this.bindings();
    return plainChild.call(root, { ...inherited, ...bindings }, options);
  };
  root.child = childOf as unknown as Logger["child"];
  return root;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const out = options.destination ?? process.stdout;
  const destination = options.format === "pretty" ? { write: (line: string) => void out.write(prettyLine(line)) } : out;
  const pinoOptions: LoggerOptions = { level: options.level, ...(options.redact ? { redact: options.redact } : {}) };
  return withNamedChildren(pino(pinoOptions, destination)).child({ name: "berth" });
}
