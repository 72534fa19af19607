// Small helpers over dockerode shared by jobs, rollouts and adoption.
import { createServer } from "node:net";
import type { Readable } from "node:stream";
import type Dockerode from "dockerode";
import { LineSplitter, type LineSink } from "./lines.js";

/** A free TCP port on 127.0.0.1 (the kernel picks it; the instance binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Splits the engine's multiplexed stdout/stderr frames (non-TTY containers) into text. */
function demuxBuffer(buf: Buffer): string {
  let out = "";
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString("utf8");
    i += 8 + size;
  }
  return out;
}

/** Last `lines` lines of a container's output. */
export async function logTail(container: Dockerode.Container, lines = 30): Promise<string[]> {
  try {
    const buf = (await container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    const out: string[] = [];
    const splitter = new LineSplitter((line) => {
      if (line.length > 0) out.push(line);
    });
    splitter.push(demuxBuffer(buf));
    splitter.flush();
    return out.slice(-lines);
  } catch {
    return [];
  }
}

/** Streams an attached container's output into `lines`; resolves when the stream ends. */
export function followOutput(docker: Dockerode, stream: NodeJS.ReadWriteStream, lines: LineSink): Promise<void> {
  const sink = { write: (chunk: Buffer) => lines.push(chunk.toString("utf8")) };
  docker.modem.demuxStream(stream as unknown as Readable, sink as never, sink as never);
  return new Promise((resolve) => {
    const done = () => {
      lines.flush();
      resolve();
    };
    stream.on("end", done);
    stream.on("close", done);
    stream.on("error", done);
  });
}

/** Remove a container, ignoring one that is already gone or already being removed (by another cleanup). */
export async function removeContainer(container: Dockerode.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    const { statusCode, message } = err as { statusCode?: number; message?: string };
    if (statusCode === 404) return;
    if (statusCode === 409 && /already in progress/.test(message ?? "")) return;
    throw err;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
