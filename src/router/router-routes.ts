// The router's pure decisions: which app a Host header names, which route a path takes, what path the
// component then sees, and what URL an app is public at. No sockets here, so every rule is tested by value.
import type { AppRoute } from "./router-contract.js";

/** `Web.LocalHost:8080` → `web.localhost`; `[::1]:80` → `[::1]`; a trailing dot is dropped. */
export function normalizeHost(host: string | undefined): string {
  if (!host) return "";
  let name = host.trim().toLowerCase();
  if (name.startsWith("[")) {
    const close = name.indexOf("]");
    name = close === -1 ? name : name.slice(0, close + 1);
  } else {
    const colon = name.indexOf(":");
    if (colon !== -1) name = name.slice(0, colon);
  }
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** App Platform's prefix rule: `/api` matches `/api`, `/api/` and `/api/…`, never `/apix`. */
export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === "/" || prefix === "") return true;
  const bare = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  return path === bare || path.startsWith(`${bare}/`);
}

/** Routes ordered so the first match is the longest prefix (ties: routes bound to a host first). */
export function sortRoutes(routes: AppRoute[]): AppRoute[] {
  return [...routes].sort(
    (a, b) =>
      routePrefixLength(b.pathPrefix) - routePrefixLength(a.pathPrefix) ||
      Number(b.authority !== undefined) - Number(a.authority !== undefined),
  );
}

function routePrefixLength(prefix: string): number {
  return prefix.endsWith("/") ? prefix.length - 1 : prefix.length;
}

/** The route serving `path` on `host`, from routes already ordered by `sortRoutes`. */
export function matchRoute(sorted: AppRoute[], host: string, path: string): AppRoute | undefined {
  for (const route of sorted) {
    if (route.authority !== undefined && route.authority !== "" && normalizeHost(route.authority) !== host) continue;
    if (prefixMatches(route.pathPrefix, path)) return route;
  }
  return undefined;
}

/** Splits a request target into path and query (`/a?b` → [`/a`, `?b`]). */
export function splitUrl(url: string): [path: string, query: string] {
  const q = url.indexOf("?");
  return q === -1 ? [url, ""] : [url.slice(0, q), url.slice(q)];
}

/**
 * The path the component receives. By default the matched prefix is stripped (`/api/list` → `/list`,
 * `/api` → `/`); `preservePathPrefix` keeps it; `rewrite` replaces it (`/api` + `/v1/`: `/api/list` → `/v1/list`).
 */
export function rewritePath(route: AppRoute, path: string): string {
  if (route.preservePathPrefix) return path;
  const bare = route.pathPrefix.endsWith("/") ? route.pathPrefix.slice(0, -1) : route.pathPrefix;
  const rest = path.slice(bare.length);
  const base = route.rewrite ?? "/";
  if (rest === "" || rest === "/") return rest === "/" && !base.endsWith("/") ? `${base}/` : base;
  return base.endsWith("/") ? `${base}${rest.slice(1)}` : `${base}${rest}`;
}

export interface PublicUrlOptions {
  baseDomain: string;
  port: number;
  /** e.g. `https://{app}.example.com`; overrides the derived URL behind a TLS proxy. */
  template?: string;
}

/** `http://<app>.<base domain>:<port>`, the port left out when it is 80 or 443, unless a template is given. */
export function buildPublicUrl(app: string, options: PublicUrlOptions): string {
  if (options.template !== undefined) return options.template.replaceAll("{app}", app).replace(/\/+$/, "");
  const port = options.port === 80 || options.port === 443 ? "" : `:${options.port}`;
  return `http://${app}.${options.baseDomain}${port}`;
}

/** Throws a message naming the problem when a public URL template cannot give each app its own URL. */
export function validatePublicUrlTemplate(template: string): void {
  if (!template.includes("{app}")) {
    throw new Error(`public URL template "${template}" must contain {app} (e.g. https://{app}.example.com)`);
  }
  let parsed: URL;
  try {
    parsed = new URL(template.replaceAll("{app}", "app"));
  } catch {
    throw new Error(`public URL template "${template}" is not an absolute URL (e.g. https://{app}.example.com)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`public URL template "${template}" must start with http:// or https://`);
  }
}
