// The spec parser's worker thread: parseAppSpec (pure) answering one request at a time, so a huge or
// pathological spec costs this thread's time and never Berth's event loop.
import { parentPort } from "node:worker_threads";
import { parseAppSpec, type SpecResult } from "../app-spec/index.js";

export interface ParseRequest {
  id: number;
  text: string;
  template: boolean;
}

export type ParseReply = { ready: true } | { id: number; result: SpecResult };

const port = parentPort;
port?.on("message", (request: ParseRequest) => {
  const reply: ParseReply = { id: request.id, result: parseAppSpec(request.text, { template: request.template }) };
  port.postMessage(reply);
});
// Loaded (under tsx, compiled too): from now on a parse's time is the parse's alone.
port?.postMessage({ ready: true } satisfies ParseReply);
