// Berth's page for one deployment, the target of check runs' `details_url` and deployment statuses'
// `log_url`: phase, steps and the log. Everything shown comes from the store, where logs are kept redacted.
// Only the operator sees it (ids are printed in public check runs, which keep their own redacted log tail).
// The page is streamed: head, then the log's tail in batches (log-tail.ts), then the end of the document.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DeploymentRecord } from "../core/types.js";
import type { Gate } from "./auth.js";
import { writeLogTail, type LogReader, type LogTailOptions } from "./log-tail.js";

export interface DeploymentPageOptions {
  getDeployment: (id: string) => Promise<DeploymentRecord | null | undefined>;
  logs?: LogReader;
  /** Applied to everything shown, as a last guard. */
  redact: (text: string) => string;
  authorize: Gate;
  tail?: LogTailOptions;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
const PAGE_END = `</pre>
</body></html>
`;

function renderPageHead(d: DeploymentRecord): string {
  const steps = d.steps
    .map(
      (s) =>
        `<tr><td>${escape(s.name)}</td><td>${escape(s.status)}</td><td>${s.startedAt ? escape(s.startedAt.toISOString()) : ""}</td>` +
        `<td>${s.endedAt ? escape(s.endedAt.toISOString()) : ""}</td><td>${escape(s.message ?? "")}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Berth deployment ${escape(d.id)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}pre{background:#111;color:#eee;padding:1em;overflow:auto}</style>
</head><body>
<h1>${escape(d.app.repository)} · ${escape(d.app.environment)}</h1>
<p><strong>${escape(d.phase)}</strong>${d.message ? ` — ${escape(d.message)}` : ""}</p>
<p>Commit <code>${escape(d.sha)}</code> on <code>${escape(d.branch)}</code>; deployment <code>${escape(d.id)}</code>, created ${escape(d.createdAt.toISOString())}.</p>
${d.url ? `<p>Live at <a href="${escape(d.url)}">${escape(d.url)}</a></p>` : ""}
<table><thead><tr><th>Step</th><th>Status</th><th>Started</th><th>Ended</th><th>Detail</th></tr></thead><tbody>
${steps}
</tbody></table>
<h2>Log</h2>
<pre>`;
}

/** The whole page at once, for a log already in hand (short ones). */
export function renderDeploymentPage(d: DeploymentRecord, logs: { step: string; text: string }[]): string {
  return `${renderPageHead(d)}${escape(logs.map((l) => `[${l.step}] ${l.text}`).join(""))}${PAGE_END}`;
}

const notice = (omitted: number, total: number) =>
  `<em>… earlier output omitted: the first ${omitted} of ${total} log chunks are not shown; this page shows the end of the log.</em>\n`;

export function createDeploymentPageHandler(o: DeploymentPageOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const match = /^\/deployments\/([A-Za-z0-9_-]{1,100})\/?$/.exec((req.url ?? "").split("?")[0] ?? "");
    if (!match || req.method !== "GET") return false;
    if (!o.authorize(req, res)) return true;
    const id = match[1] as string;
    const deployment = await o.getDeployment(id);
    if (!deployment) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`No deployment ${id}\n`);
      return true;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.write(o.redact(renderPageHead(deployment)));
    try {
      if (o.logs) await writeLogTail(res, o.logs, id, (text) => escape(o.redact(text)), { ...o.tail, notice });
      res.end(PAGE_END);
    } catch (err) {
      // The client went away, or the store failed mid-page: the status is sent, so all that is left is to stop.
      res.destroy(err as Error);
    }
    return true;
  };
}
