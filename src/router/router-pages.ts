// The pages the router answers with itself: a plain HTML page with the status, a title and one sentence
// saying what happened, so a person hitting a broken app sees why and a script sees the status code.
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { STATUS_CODES } from "node:http";

export interface RouterPage {
  status: number;
  title: string;
  detail: string;
}

export const pages = {
  unknownHost: (host: string): RouterPage => ({
    status: 404,
    title: "No app here",
    detail: host ? `No app answers at ${host}.` : "The request has no Host header, so no app can be chosen.",
  }),
  noRoute: (app: string, path: string): RouterPage => ({
    status: 404,
    title: "Not found",
    detail: `App ${app} has no route for ${path}.`,
  }),
  noInstance: (app: string, component: string): RouterPage => ({
    status: 503,
    title: "No healthy instance",
    detail: `${app}/${component} has no healthy instance right now. If a deployment is in progress, try again shortly.`,
  }),
  unreachable: (app: string, component: string): RouterPage => ({
    status: 503,
    title: "No instance accepted the connection",
    detail: `Every instance of ${app}/${component} refused the connection.`,
  }),
  badGateway: (app: string, component: string): RouterPage => ({
    status: 502,
    title: "Bad gateway",
    detail: `${app}/${component} failed before it sent a response.`,
  }),
  timedOut: (app: string, component: string, seconds: number): RouterPage => ({
    status: 504,
    title: "Gateway timeout",
    detail: `${app}/${component} did not start its response within ${seconds} seconds.`,
  }),
  methodNotAllowed: (): RouterPage => ({
    status: 405,
    title: "Method not allowed",
    detail: "A static site answers GET and HEAD only.",
  }),
  staticNotFound: (path: string): RouterPage => ({
    status: 404,
    title: "Not found",
    detail: `${path} is not part of this site.`,
  }),
  notWebSocket: (app: string, component: string): RouterPage => ({
    status: 400,
    title: "Not a WebSocket endpoint",
    detail: `${app}/${component} is a static site; it cannot accept a WebSocket.`,
  }),
};

const escapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => escapes[c] ?? c);

export function renderPage(page: RouterPage): string {
  const title = escapeHtml(`${page.status} ${page.title}`);
  return (
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body style="font-family:system-ui,sans-serif;margin:4em auto;max-width:40em">` +
    `<h1>${title}</h1><p>${escapeHtml(page.detail)}</p><hr><p><small>Berth router</small></p></body></html>\n`
  );
}

export function sendPage(res: ServerResponse, page: RouterPage, headers: Record<string, string> = {}): void {
  const body = renderPage(page);
  res.writeHead(page.status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/** Answers an upgrade request on its raw socket (there is no ServerResponse for one) and closes it. */
export function sendPageOnSocket(socket: Duplex, page: RouterPage): void {
  const body = renderPage(page);
  socket.end(
    `HTTP/1.1 ${page.status} ${STATUS_CODES[page.status] ?? page.title}\r\n` +
      `content-type: text/html; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}
