// parseAppSpec off the main event loop: one worker thread, started at the first parse and kept warm, parsing
// one spec at a time. A parse that takes longer than the timeout ends the worker (the next parse starts a new
// one) and the spec is reported as too complex, so no spec can hold Berth's CPU for long. The timeout counts
// from the moment the worker has loaded, so a cold start is never mistaken for a complex spec.
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { oversizedFile, type SpecResult } from "../app-spec/index.js";
import type { ParseReply, ParseRequest } from "./parse-spec-worker.js";

export interface SpecParserPoolOptions {
  /** How long one parse may take before the worker is ended (default 10 s). */
  timeoutMs?: number;
  log?: Logger;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class SpecParserPool {
  readonly #timeoutMs: number;
  readonly #log: Logger | undefined;
  #worker: { thread: Worker; ready: Promise<void> } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #seq = 0;

  constructor(options: SpecParserPoolOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#log = options.log;
  }

  /** Parses in the worker, in the order asked; a spec above the size cap is refused without being sent. */
  parse = (text: string, options: { template?: boolean } = {}): Promise<SpecResult> => {
    const oversized = oversizedFile({ text });
    if (oversized) return Promise.resolve(oversized);
    const run = this.#queue.then(() => this.#run(text, options.template === true));
    this.#queue = run.catch(() => undefined);
    return run;
  };

  /** Ends the worker; a later parse starts a new one. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.thread.terminate();
  }

  async #run(text: string, template: boolean): Promise<SpecResult> {
    const { thread: worker, ready } = this.#started();
    const id = ++this.#seq;
    worker.ref();
    try {
      await ready;
    } catch (err) {
      worker.unref();
      throw err;
    }
    return new Promise<SpecResult>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        worker.off("message", onMessage).off("error", onError).off("exit", onExit);
        // Idle, the warm worker must not keep Berth's process alive.
        worker.unref();
      };
      const onMessage = (reply: ParseReply) => {
        if (!("id" in reply) || reply.id !== id) return;
        done();
        resolve(reply.result);
      };
      const onError = (err: Error) => {
        done();
        this.#forget(worker);
        reject(err);
      };
      const onExit = (code: number) => onError(new Error(`the spec parser's worker exited (code ${code})`));
      const timer = setTimeout(() => {
        done();
        this.#log?.warn({ timeoutMs: this.#timeoutMs, bytes: text.length }, "spec parse ran out of time; ending its worker");
        this.#forget(worker);
        void worker.terminate();
        resolve(tooComplex(this.#timeoutMs));
      }, this.#timeoutMs);
      worker.on("message", onMessage).on("error", onError).on("exit", onExit);
      const request: ParseRequest = { id, text, template };
      worker.postMessage(request);
    });
  }

  #started(): { thread: Worker; ready: Promise<void> } {
    if (this.#worker) return this.#worker;
    const thread = new Worker(workerEntry());
    const ready = new Promise<void>((resolve, reject) => {
      thread.once("message", () => resolve());
      thread.once("error", reject);
      thread.once("exit", (code) => reject(new Error(`the spec parser's worker exited (code ${code}) before it was ready`)));
    });
    ready.catch(() => undefined);
    // A worker that dies between parses is forgotten (the next parse starts another), never a crash of Berth.
    thread.on("error", (err) => this.#log?.error({ err }, "the spec parser's worker failed"));
    thread.on("exit", () => this.#forget(thread));
    thread.unref();
    this.#worker = { thread, ready };
    return this.#worker;
  }

  #forget(worker: Worker): void {
    if (this.#worker?.thread === worker) this.#worker = undefined;
  }
}

function tooComplex(timeoutMs: number): SpecResult {
  const message = `the spec is too complex: Berth stopped reading it after ${timeoutMs / 1000} s`;
  return { spec: null, problems: [{ severity: "error", message, path: "", line: 1, column: 1, endLine: 1, endColumn: 2 }] };
}

/**
 * The worker's file; when Berth itself runs from source (tests, `npx tsx`), the TypeScript file behind a small
 * ES module that registers tsx first (Node 20 applies no `--import` loader given to a worker thread).
 */
function workerEntry(): URL {
  const fromSource = import.meta.url.endsWith(".ts");
  const file = new URL(fromSource ? "./parse-spec-worker.ts" : "./parse-spec-worker.js", import.meta.url);
  if (!fromSource) return file;
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(file.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
