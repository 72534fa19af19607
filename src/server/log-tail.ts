// A deployment's log on a page, however long it grew: the last `maxChars` of it, read from the store in
// batches and written as it is read, waiting for the socket to drain. A 300 MB log costs the page a few
// batch-sized reads and writes, never one 300 MB string or one long pause of the event loop.
import { once } from "node:events";
import { setImmediate as turn } from "node:timers/promises";
import type { ServerResponse } from "node:http";
import type { LogChunk, Store } from "../core/store.js";

export type LogReader = Pick<Store["logs"], "read" | "count">;

export interface LogTailOptions {
  /** Characters of log shown (default 5 MB): the newest ones. */
  maxChars?: number;
  /** Chunks read from the store at a time (default 500). */
  batch?: number;
}

/** Where the shown tail starts: the oldest chunk in it, how much of that chunk to skip, the newest chunk. */
interface TailStart {
  firstId: number;
  skipChars: number;
  lastId: number;
  shownChunks: number;
}

const line = (c: Pick<LogChunk, "step" | "text">) => `[${c.step}] ${c.text}`;
const WRITE_CHARS = 256 * 1024;

/** Reads backwards, in batches, until `maxChars` are found; undefined for an empty log. */
async function findTailStart(logs: LogReader, id: string, maxChars: number, batch: number): Promise<TailStart | undefined> {
  let seen = 0;
  let shownChunks = 0;
  let lastId: number | undefined;
  let beforeId: number | undefined;
  for (;;) {
    const chunks = await logs.read(id, { beforeId, limit: batch, newestFirst: true });
    // SQLite answers synchronously under its promise: without this, a page would be one long task.
    await turn();
    for (const c of chunks) {
      lastId ??= c.id;
      shownChunks++;
      seen += line(c).length;
      if (seen >= maxChars) return { firstId: c.id, skipChars: seen - maxChars, lastId, shownChunks };
    }
    const oldest = chunks.at(-1);
    if (chunks.length < batch || !oldest) return lastId === undefined ? undefined : { firstId: 0, skipChars: 0, lastId, shownChunks };
    beforeId = oldest.id;
  }
}

/** Resolves once the response can take more, or rejects when the client went away. */
async function drained(res: ServerResponse): Promise<void> {
  const closed = new AbortController();
  const onClose = () => closed.abort(new Error("client went away"));
  res.once("close", onClose);
  try {
    await once(res, "drain", { signal: closed.signal });
  } finally {
    res.off("close", onClose);
  }
}

/**
 * Writes the tail of the log through `transform` (redact, then escape), in pieces of at most WRITE_CHARS
 * characters. Returns how many earlier chunks were left out.
 */
export async function writeLogTail(
  res: ServerResponse,
  logs: LogReader,
  id: string,
  transform: (text: string) => string,
  opts: LogTailOptions & { notice: (omittedChunks: number, totalChunks: number) => string },
): Promise<void> {
  const batch = opts.batch ?? 500;
  const start = await findTailStart(logs, id, opts.maxChars ?? 5 * 1024 * 1024, batch);
  if (!start) return;
  const total = await logs.count(id);
  if (total > start.shownChunks || start.skipChars > 0) await write(res, opts.notice(total - start.shownChunks, total));
  let afterId = start.firstId - 1;
  let pending = "";
  let skip = start.skipChars;
  while (afterId < start.lastId) {
    const chunks = await logs.read(id, { afterId, limit: batch });
    await turn();
    if (chunks.length === 0) break;
    for (const c of chunks) {
      if (c.id > start.lastId) break;
      pending += line(c).slice(skip);
      skip = 0;
      while (pending.length >= WRITE_CHARS) {
        const cut = splitAt(pending, WRITE_CHARS);
        await write(res, transform(pending.slice(0, cut)));
        pending = pending.slice(cut);
      }
    }
    afterId = chunks.at(-1)!.id;
  }
  if (pending) await write(res, transform(pending));
}

/** `at`, or one earlier so a surrogate pair is not split. */
function splitAt(text: string, at: number): number {
  const code = text.charCodeAt(at - 1);
  return code >= 0xd800 && code <= 0xdbff ? at - 1 : at;
}

async function write(res: ServerResponse, text: string): Promise<void> {
  if (!res.write(text)) await drained(res);
}
