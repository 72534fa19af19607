// Serves a static site's built output from a host directory. The file looked up is always the real path
// (symlinks resolved) and must lie inside the real root, so neither `..` nor a symlink can leave the site.
// Dotfiles are never served: a site published from its source folder would otherwise hand out `.git`,
// `.env` and `.do/app.yaml`. They answer exactly as a missing file does, so their existence stays unknown.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Stats } from "node:fs";
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { extname, join, posix, relative as relativePath, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { StaticSiteRoot } from "./router-contract.js";
import { pages, sendPage } from "./router-pages.js";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".xml": "application/xml",
  ".csv": "text/csv; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  ".wasm": "application/wasm",
  ".pdf": "application/pdf",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mp3": "audio/mpeg",
  ".zip": "application/zip",
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
}

type Found = { kind: "file"; path: string; stats: Stats } | { kind: "dir"; path: string } | { kind: "missing" } | { kind: "outside" };

/** True when a segment names a dotfile or dot directory; only a leading `.well-known` (RFC 8615) is public. */
export function isHiddenPath(path: string, separator = "/"): boolean {
  const segments = path.split(separator).filter((s) => s !== "");
  const from = segments[0] === ".well-known" ? 1 : 0;
  return segments.slice(from).some((s) => s.startsWith("."));
}

/**
 * Looks `relative` up under the real root, resolving symlinks and refusing anything that lands outside it.
 * A hidden path is missing whether the request names it or a symlink leads to it.
 */
async function lookUp(realRoot: string, relative: string): Promise<Found> {
  if (isHiddenPath(relative)) return { kind: "missing" };
  let real: string;
  try {
    real = await realpath(join(realRoot, relative));
  } catch {
    return { kind: "missing" };
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return { kind: "outside" };
  if (isHiddenPath(relativePath(realRoot, real), sep)) return { kind: "missing" };
  const stats = await stat(real).catch(() => null);
  if (!stats) return { kind: "missing" };
  if (stats.isDirectory()) return { kind: "dir", path: real };
  if (!stats.isFile()) return { kind: "missing" };
  return { kind: "file", path: real, stats };
}

/** Decodes and normalises a request path; null when it cannot name a file (bad escapes, NUL bytes). */
export function sitePath(path: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  // Normalising an absolute path cannot climb above "/", so `/../../etc/passwd` becomes `/etc/passwd`, inside the root.
  return posix.normalize(posix.join("/", decoded));
}

/**
 * `path` as a Location on this site. Browsers read `//host`, `/\host` (and some proxies `/%2F%2Fhost`) as
 * another origin, so any run of leading slashes and backslashes, plain or encoded, becomes a single `/`.
 */
export function sameSitePath(path: string): string {
  return "/" + path.replace(/^(?:[/\\]|%2f|%5c)+/i, "");
}

function etagFor(stats: Stats): string {
  return `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
}

function notModified(req: IncomingMessage, etag: string, mtime: Date): boolean {
  const ifNoneMatch = req.headers["if-none-match"];
  if (ifNoneMatch !== undefined) {
    const bare = etag.slice(2);
    return ifNoneMatch.split(",").some((tag) => {
      const t = tag.trim();
      return t === "*" || t === etag || t === bare || t === `W/${bare}`;
    });
  }
  const since = req.headers["if-modified-since"];
  if (since === undefined) return false;
  const sinceMs = Date.parse(since);
  return !Number.isNaN(sinceMs) && Math.floor(mtime.getTime() / 1000) * 1000 <= sinceMs;
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, stats: Stats, status: number): Promise<void> {
  const etag = etagFor(stats);
  const headers = {
    "content-type": contentTypeFor(file),
    etag,
    "last-modified": stats.mtime.toUTCString(),
    "cache-control": "no-cache",
  };
  if (status === 200 && notModified(req, etag, stats.mtime)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, "content-length": stats.size });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  await pipeline(createReadStream(file), res).catch(() => res.destroy());
}

/** A site as the router holds it: its real root is resolved once, when the site is set. */
export interface ServedSite {
  site: StaticSiteRoot;
  realRoot: Promise<string | null>;
}

export function prepareSite(site: StaticSiteRoot): ServedSite {
  return { site, realRoot: realpath(site.root).catch(() => null) };
}

/**
 * Answers `req` from the site. `path` is the path after the route's prefix handling; `publicPath` is what
 * the client asked for, used to redirect `/docs` to `/docs/` so relative links in its index resolve.
 */
export async function serveStaticSite(
  req: IncomingMessage,
  res: ServerResponse,
  served: ServedSite,
  path: string,
  publicPath: string,
  query: string,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    sendPage(res, pages.methodNotAllowed(), { allow: "GET, HEAD" });
    return;
  }
  const { site } = served;
  let realRoot = await served.realRoot;
  if (realRoot === null) {
    // The folder may appear after the site was set (or come back after a restore); look again.
    served.realRoot = realpath(site.root).catch(() => null);
    realRoot = await served.realRoot;
  }
  const relative = sitePath(path);
  if (realRoot === null || relative === null) {
    sendPage(res, pages.staticNotFound(publicPath));
    return;
  }

  let found = await lookUp(realRoot, relative);
  if (found.kind === "dir") {
    if (!relative.endsWith("/")) {
      res.writeHead(301, { location: `${sameSitePath(publicPath)}/${query}`, "content-length": 0 });
      res.end();
      return;
    }
    found = await lookUp(realRoot, posix.join(relative, site.indexDocument));
  }
  if (found.kind === "file") {
    await sendFile(req, res, found.path, found.stats, 200);
    return;
  }
  if (found.kind === "outside") {
    sendPage(res, { status: 403, title: "Forbidden", detail: `${publicPath} points outside the site.` });
    return;
  }
  for (const [document, status] of [
    [site.errorDocument, 404],
    [site.catchallDocument, 200],
  ] as const) {
    if (document === undefined) continue;
    const fallback = await lookUp(realRoot, posix.join("/", document));
    if (fallback.kind === "file") {
      await sendFile(req, res, fallback.path, fallback.stats, status);
      return;
    }
  }
  sendPage(res, pages.staticNotFound(publicPath));
}
