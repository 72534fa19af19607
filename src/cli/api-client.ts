// How the CLI talks to Berth's API: BERTH_URL and BERTH_TOKEN, JSON in and out, and the API's error shape
// turned into a one-line message and an exit code (never a stack trace).
import { EXIT, type CliIo } from "./command.js";

export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const EXIT_BY_STATUS: Record<number, number> = { 400: EXIT.failure, 401: EXIT.unauthorized, 403: EXIT.unauthorized, 404: EXIT.notFound, 409: EXIT.problems, 422: EXIT.problems };

export interface ApiClient {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** POSTs raw bytes (a source archive) and reads the JSON answer. */
  upload<T = unknown>(path: string, body: Uint8Array, type: string): Promise<T>;
  /** Server-Sent Events of `path`, each as `{ event, data }` parsed, until the server ends the stream. */
  events(path: string): AsyncGenerator<{ event: string; data: unknown }>;
}

function settings(io: CliIo): { url: string; token: string } {
  const env = io.env ?? {};
  const url = env.BERTH_URL?.replace(/\/+$/, "");
  const token = env.BERTH_TOKEN;
  if (!url) throw new CliError("BERTH_URL is not set: export BERTH_URL=https://berth.example.com (where your Berth answers)", EXIT.failure);
  if (!token) throw new CliError("BERTH_TOKEN is not set: export BERTH_TOKEN=<a token from `berth tokens create` or the operator's>", EXIT.failure);
  return { url, token };
}

type Body = { json: unknown } | { raw: Uint8Array; type: string } | undefined;

async function request(io: CliIo, method: string, path: string, body: Body, accept: string): Promise<Response> {
  const { url, token } = settings(io);
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept };
  if (body) headers["content-type"] = "json" in body ? "application/json" : body.type;
  let res: Response;
  try {
    const payload = body === undefined ? undefined : "json" in body ? JSON.stringify(body.json) : body.raw;
    res = await (io.fetch ?? fetch)(`${url}/api/v1${path}`, { method, headers, body: payload });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach Berth at ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT.unavailable);
  }
  if (res.ok) return res;
  const text = await res.text();
  let message = `Berth answered ${res.status} ${res.statusText}`;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } };
    if (parsed.error?.message) message = parsed.error.message;
  } catch {
    // Not the API's JSON (a proxy's page): the status line says enough.
  }
  throw new CliError(message, EXIT_BY_STATUS[res.status] ?? EXIT.unavailable);
}

function parseEvent(block: string): { event: string; data: unknown } | undefined {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return undefined;
  return { event, data: JSON.parse(data.join("\n")) };
}

export function createApiClient(io: CliIo): ApiClient {
  return {
    async call<T>(method: string, path: string, body?: unknown) {
      const res = await request(io, method, path, body === undefined ? undefined : { json: body }, "application/json");
      return (await res.json()) as T;
    },
    async upload<T>(path: string, raw: Uint8Array, type: string) {
      const res = await request(io, "POST", path, { raw, type }, "application/json");
      return (await res.json()) as T;
    },
    async *events(path) {
      const res = await request(io, "GET", path, undefined, "text/event-stream");
      if (!res.body) return;
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const parsed = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (parsed) yield parsed;
        }
      }
    },
  };
}
