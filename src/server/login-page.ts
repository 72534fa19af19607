// The operator's login: `GET /login` is a form asking for the token, `POST /login` checks it and sets the
// session cookie, `POST /logout` ends the session. Both POSTs come only from Berth's own pages (Origin check;
// the cookie is SameSite=Strict besides), so another site cannot log the operator in or out.
import type { IncomingMessage, ServerResponse } from "node:http";
import { safeNext, type OperatorAuth } from "./auth.js";

const FORM_BYTES = 8 * 1024;
const HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};
const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

const SIGNED_IN = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Berth</title></head><body>
<p>Signed in. Open a deployment from a check run's Details link.</p>
<form method="post" action="/logout"><input type="submit" value="Sign out"></form>
</body></html>
`;

function renderLoginPage(next: string | undefined, problem?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Sign in to Berth</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:30em}input{font:inherit;width:100%;margin:.3em 0}</style>
</head><body>
<h1>Sign in to Berth</h1>
${problem ? `<p role="alert"><strong>${escape(problem)}</strong></p>` : ""}
<form method="post" action="/login">
<label>Operator token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
${next ? `<input type="hidden" name="next" value="${escape(next)}">` : ""}
<input type="submit" value="Sign in">
</form>
<p>The token is BERTH_API_TOKEN, or the file <code>operator-token</code> in Berth's data directory.</p>
</body></html>
`;
}

export function createLoginHandler(auth: OperatorAuth) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://berth.invalid");
    if (url.pathname === "/login" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, HEADERS).end(renderLoginPage(safeNext(url.searchParams.get("next"))));
      return true;
    }
    if (req.method !== "POST" || (url.pathname !== "/login" && url.pathname !== "/logout")) return false;
    if (!auth.sameOrigin(req)) {
      res.writeHead(403, { "content-type": "text/plain", "cache-control": "no-store" });
      res.end(`Refused: this form is only accepted from ${auth.origin} (if that is not where you opened Berth, set BERTH_URL).\n`);
      return true;
    }
    if (url.pathname === "/logout") {
      res.writeHead(303, { location: "/login", "set-cookie": auth.endSession(req), "cache-control": "no-store" }).end();
      return true;
    }
    const form = await readForm(req);
    if (!form) {
      res.writeHead(413, { "content-type": "text/plain", connection: "close" }).end("Login form too large\n");
      return true;
    }
    const next = safeNext(form.get("next"));
    if (!auth.isToken(form.get("token") ?? "")) {
      res.writeHead(401, HEADERS).end(renderLoginPage(next, "That is not the operator token."));
      return true;
    }
    const cookie = auth.startSession();
    if (next) res.writeHead(303, { location: next, "set-cookie": cookie, "cache-control": "no-store" }).end();
    else res.writeHead(200, { ...HEADERS, "set-cookie": cookie }).end(SIGNED_IN);
    return true;
  };
}

/** The form body, or undefined when it is larger than a login form can be (the rest is read and dropped). */
function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (Number(req.headers["content-length"] ?? 0) > FORM_BYTES) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= FORM_BYTES) chunks.push(chunk);
      else resolve(undefined);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}
