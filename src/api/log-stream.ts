// A deployment's log followed as Server-Sent Events. The store is the truth (any replica may be writing the
// log); the pipeline's events only wake the loop early, so a line shows up as soon as it is stored rather than
// at the next poll. `Last-Event-ID` (sent by EventSource when it reconnects) resumes after that chunk.
import type { IncomingMessage, ServerResponse } from "node:http";
import { isFinal } from "../core/phases.js";
import type { DeploymentRecord, PipelineEvent } from "../core/types.js";
import type { ApiDeps } from "./route.js";
import { deploymentView } from "./views.js";

const BATCH = 500;
const KEEPALIVE_MS = 15_000;

function sse(res: ServerResponse, event: string, data: unknown, id?: number): boolean {
  return res.write(`${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function concerns(event: PipelineEvent, id: string): boolean {
  if (event.type === "deployment.log") return event.deploymentId === id;
  return "deployment" in event && event.deployment.id === id;
}

/** A wake-up that the pipeline's events for this deployment, a timer or the client's leaving resolve. */
function waker(deps: ApiDeps, id: string, signal: AbortSignal) {
  let wake: (() => void) | undefined;
  const off = deps.pipeline.on((event) => {
    if (concerns(event, id)) wake?.();
  });
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
      wake = done;
    });
  return { wait, off };
}

export async function streamLog(deps: ApiDeps, first: DeploymentRecord, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { store, redact } = deps;
  const closed = new AbortController();
  res.on("close", () => closed.abort());
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" });
  res.write(": berth log stream\n\n");
  const resume = Number(req.headers["last-event-id"]);
  let afterId = Number.isSafeInteger(resume) && resume >= 0 ? resume : undefined;
  let phase = first.phase;
  sse(res, "phase", { phase, deployment: deploymentView(first, redact) });
  const { wait, off } = waker(deps, first.id, closed.signal);
  let idleMs = 0;
  try {
    while (!closed.signal.aborted) {
      const d = (await store.deployments.get(first.id)) ?? first;
      const chunks = await store.logs.read(first.id, { afterId, limit: BATCH });
      for (const c of chunks) {
        afterId = c.id;
        sse(res, "log", { id: c.id, step: c.step, text: redact(c.text), createdAt: c.createdAt.toISOString() }, c.id);
      }
      if (d.phase !== phase) {
        phase = d.phase;
        sse(res, "phase", { phase, deployment: deploymentView(d, redact) });
      }
      if (chunks.length === BATCH) continue;
      if (isFinal(d.phase)) {
        sse(res, "end", { phase: d.phase });
        break;
      }
      const pollMs = deps.followPollMs ?? 500;
      await wait(pollMs);
      idleMs = chunks.length ? 0 : idleMs + pollMs;
      if (idleMs >= KEEPALIVE_MS) {
        res.write(": keep-alive\n\n");
        idleMs = 0;
      }
    }
  } finally {
    off();
    res.end();
  }
}
