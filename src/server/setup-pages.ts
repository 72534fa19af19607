// Setup mode's pages (Berth not yet registered as a GitHub App), after Probot's own setup app: `/probot` posts
// the manifest to GitHub, `/probot/setup` trades GitHub's code for the app's credentials, `/probot/import` takes
// an existing app's. Unlike Probot's, the manifest never carries a webhook URL GitHub cannot reach: with no
// public BERTH_URL the page first asks for a webhook proxy channel (pasted, or created on smee.io) and writes it
// to `.env` as WEBHOOK_PROXY_URL.
import type { IncomingMessage, ServerResponse } from "node:http";
import { buildManifest, isPublicUrl, webhookUrlFor } from "./manifest.js";

export interface SetupPagesOptions {
  appYml: Record<string, unknown>;
  berthUrl: string;
  webhookProxyUrl?: string;
  /** `https://github.com` or the Enterprise host; `GH_ORG` registers the app on an organization. */
  githubWebUrl: string;
  githubApiUrl: string;
  org?: string;
  /** Writes settings to `.env`. */
  saveEnv: (values: Record<string, string>) => void;
  fetch?: typeof fetch;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} | Berth</title>` +
    `<link rel="stylesheet" href="/probot/static/primer.css"></head><body class="p-6"><div class="container-md">` +
    `<h1>${escape(title)}</h1>${body}</div></body></html>`;
}

function proxyForm(berthUrl: string): string {
  return `<p>GitHub delivers webhooks only to an address it can reach from the internet, and Berth's address ` +
    `(<code>${escape(berthUrl)}</code>, from BERTH_URL) is not one. Either set BERTH_URL to Berth's public address ` +
    `and restart, or receive webhooks through a proxy channel (Berth writes it to <code>.env</code> as WEBHOOK_PROXY_URL):</p>` +
    `<form method="post" action="/probot/proxy"><label for="url">Proxy channel URL</label> ` +
    `<input class="form-control" id="url" name="url" type="url" placeholder="https://smee.io/..."> ` +
    `<button class="btn" type="submit">Use this channel</button></form>` +
    `<form method="post" action="/probot/proxy" class="mt-3"><input type="hidden" name="create" value="smee">` +
    `<button class="btn btn-primary" type="submit">Create a channel on smee.io</button></form>` +
    `<p class="mt-3">Without webhooks Berth still deploys by polling (BERTH_CATCH_UP_INTERVAL), only later.</p>`;
}

function send(res: ServerResponse, status: number, body: string, type = "text/html; charset=utf-8"): true {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
  return true;
}

function redirect(res: ServerResponse, location: string): true {
  res.writeHead(303, { location }).end();
  return true;
}

function baseUrl(req: IncomingMessage): string {
  const proto = String(req.headers["x-forwarded-proto"] ?? "http").split(",")[0];
  return `${proto}://${req.headers["x-forwarded-host"] ?? req.headers.host}`;
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > limit) throw new Error("body too large");
  }
  return body;
}

/** HEAD https://smee.io/new answers with a redirect to a fresh channel, as smee-client's createChannel reads it. */
export async function createSmeeChannel(fetcher: typeof fetch = fetch): Promise<string> {
  const res = await fetcher("https://smee.io/new", { method: "HEAD", redirect: "manual" });
  const location = res.headers.get("location");
  if (!location) throw new Error(`smee.io answered ${res.status} without a channel`);
  return location;
}

export function createSetupPages(options: SetupPagesOptions) {
  const fetcher = options.fetch ?? fetch;
  let proxy = options.webhookProxyUrl;
  const hookUrl = () => webhookUrlFor({ berthUrl: options.berthUrl, webhookProxyUrl: proxy });
  const createAppUrl = `${options.githubWebUrl}${options.org ? `/organizations/${options.org}` : ""}/settings/apps/new`;

  const registerPage = (req: IncomingMessage) => {
    const hook = hookUrl();
    if (!hook) return page("Register Berth as a GitHub App", proxyForm(options.berthUrl));
    const manifest = buildManifest({ appYml: options.appYml, hookUrl: hook, redirectUrl: `${baseUrl(req)}/probot/setup` });
    return page("Register Berth as a GitHub App",
      `<p>GitHub will deliver webhooks to <code>${escape(hook)}</code>.</p>` +
      `<form action="${escape(createAppUrl)}" method="post"><input type="hidden" name="manifest" id="manifest" value='${escape(JSON.stringify(manifest))}'>` +
      `<button class="btn btn-primary" type="submit">Register a GitHub App</button></form>` +
      `<p class="mt-3"><a href="/probot/import">Use an existing GitHub App</a></p>`);
  };

  const importPage = () => {
    const hook = hookUrl();
    const step = hook
      ? `<p>Set your app's Webhook URL to <b><code>${escape(hook)}</code></b> on <a href="${escape(options.githubWebUrl)}/settings/apps">its settings page</a>.</p>`
      : proxyForm(options.berthUrl);
    return page("Use an existing GitHub App", `${step}<form method="post" action="/probot/import">` +
      `<label for="appId">App ID</label> <input class="form-control" id="appId" name="appId" required><br>` +
      `<label for="whs">Webhook secret</label> <input class="form-control" id="whs" name="webhook_secret" type="password" required><br>` +
      `<label for="pem">Private key (the .pem file's text)</label><br><textarea class="form-control" id="pem" name="pem" rows="8" cols="70" required></textarea><br>` +
      `<button class="btn btn-primary" type="submit">Save to .env</button></form>`);
  };

  const convert = async (code: string): Promise<string> => {
    const res = await fetcher(`${options.githubApiUrl}/app-manifests/${encodeURIComponent(code)}/conversions`, {
      method: "POST",
      headers: { accept: "application/vnd.github+json" },
    });
    if (!res.ok) throw new Error(`GitHub answered ${res.status} to the manifest conversion`);
    const app = (await res.json()) as { id: number; pem: string; webhook_secret: string; client_id: string; client_secret: string; html_url: string };
    options.saveEnv({ APP_ID: String(app.id), PRIVATE_KEY: app.pem, WEBHOOK_SECRET: app.webhook_secret, GITHUB_CLIENT_ID: app.client_id, GITHUB_CLIENT_SECRET: app.client_secret });
    return app.html_url;
  };

  const setProxy = async (form: URLSearchParams): Promise<string | undefined> => {
    const channel = form.get("create") === "smee" ? await createSmeeChannel(fetcher) : (form.get("url") ?? "").trim();
    if (!isPublicUrl(channel) || !channel.startsWith("https://")) return `"${channel}" is not a public https:// URL`;
    proxy = channel;
    options.saveEnv({ WEBHOOK_PROXY_URL: channel });
    return undefined;
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const [path, query = ""] = (req.url ?? "/").split("?");
    if (req.method === "GET" && path === "/") return redirect(res, "/probot");
    if (req.method === "GET" && path === "/probot") return send(res, 200, registerPage(req));
    if (req.method === "GET" && path === "/probot/import") return send(res, 200, importPage());
    if (req.method === "GET" && path === "/probot/success") return send(res, 200, page("Berth is registered", "<p>Restart Berth to start deploying.</p>"));
    if (req.method === "GET" && path === "/probot/setup") {
      const code = new URLSearchParams(query).get("code");
      if (!code) return send(res, 400, "code missing", "text/plain");
      return redirect(res, `${await convert(code)}/installations/new`);
    }
    if (req.method === "POST" && path === "/probot/proxy") {
      const problem = await setProxy(new URLSearchParams(await readBody(req)));
      return problem ? send(res, 400, page("Not a proxy channel", `<p>${escape(problem)}</p><p><a href="/probot">Back</a></p>`)) : redirect(res, "/probot");
    }
    if (req.method === "POST" && path === "/probot/import") {
      const body = await readBody(req);
      const fields = String(req.headers["content-type"]).startsWith("application/json")
        ? (JSON.parse(body) as Record<string, string | undefined>)
        : Object.fromEntries(new URLSearchParams(body));
      const { appId, pem, webhook_secret: secret } = fields;
      if (!appId || !pem || !secret) return send(res, 400, "appId, pem and webhook_secret are required", "text/plain");
      options.saveEnv({ APP_ID: String(appId), PRIVATE_KEY: pem, WEBHOOK_SECRET: secret });
      return redirect(res, "/probot/success");
    }
    return false;
  };
}
