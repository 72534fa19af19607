import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Router } from "../../src/router/router.js";
import { isHiddenPath, sameSitePath, sitePath } from "../../src/router/router-static.js";
import { get, silentLog } from "./router-kit.js";

let dir: string;
let root: string;
let router: Router;
let port: number;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-router-static-"));
  root = join(dir, "site");
  mkdirSync(join(root, "guide"), { recursive: true });
  writeFileSync(join(root, "index.html"), "<h1>home</h1>");
  writeFileSync(join(root, "about.html"), "<h1>about</h1>");
  writeFileSync(join(root, "style.css"), "body{}");
  writeFileSync(join(root, "app.js"), "console.log(1)");
  writeFileSync(join(root, "data.bin"), Buffer.from([1, 2, 3]));
  writeFileSync(join(root, "guide", "index.html"), "<h1>guide</h1>");
  writeFileSync(join(root, "404.html"), "<h1>custom 404</h1>");
  writeFileSync(join(root, "spa.html"), "<div id=app></div>");
  mkdirSync(join(root, ".do"));
  writeFileSync(join(root, ".do", "app.yaml"), "name: source-spec");
  writeFileSync(join(root, ".env"), "API_KEY=hidden");
  writeFileSync(join(root, "guide", ".notes"), "hidden notes");
  mkdirSync(join(root, ".well-known"));
  writeFileSync(join(root, ".well-known", "security.txt"), "Contact: mailto:security@example.com");
  mkdirSync(join(root, "assets"));
  writeFileSync(join(root, "assets", "index.html"), "<h1>assets</h1>");
  mkdirSync(join(root, "evil.example"));
  writeFileSync(join(root, "evil.example", "index.html"), "<h1>not evil</h1>");
  symlinkSync(join(root, ".env"), join(root, "env.txt"));
  writeFileSync(join(dir, "secret.txt"), "top secret");
  symlinkSync(join(dir, "secret.txt"), join(root, "leak.txt"));
  symlinkSync(join(root, "about.html"), join(root, "alias.html"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  router = new Router({ port: 0, baseDomain: "localhost", log: silentLog });
  port = await router.listen();
  router.setApp({
    name: "docs",
    domains: [],
    routes: [
      { component: "site", pathPrefix: "/", preservePathPrefix: false },
      { component: "spa", pathPrefix: "/app", preservePathPrefix: false },
    ],
  });
  router.setStaticSite("docs", "site", { root, indexDocument: "index.html", errorDocument: "404.html" });
  router.setStaticSite("docs", "spa", { root, indexDocument: "index.html", catchallDocument: "spa.html" });
});

afterEach(() => router.close());

const fetchPath = (path: string, headers: Record<string, string> = {}, method = "GET") =>
  get(port, "docs.localhost", path, { headers, method });

describe("static sites", () => {
  it("serves the index document for / and a directory, and files with their content types", async () => {
    const home = await fetchPath("/");
    expect(home).toMatchObject({ status: 200, body: "<h1>home</h1>" });
    expect(home.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect((await fetchPath("/guide/")).body).toBe("<h1>guide</h1>");
    expect((await fetchPath("/style.css")).headers["content-type"]).toBe("text/css; charset=utf-8");
    expect((await fetchPath("/app.js")).headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect((await fetchPath("/data.bin")).headers["content-type"]).toBe("application/octet-stream");
    expect((await fetchPath("/about.html?x=1")).body).toBe("<h1>about</h1>");
  });

  it("redirects a directory without its slash so relative links resolve", async () => {
    const reply = await fetchPath("/guide?tab=1");
    expect(reply.status).toBe(301);
    expect(reply.headers.location).toBe("/guide/?tab=1");
  });

  it("answers a missing file with the error document and status 404", async () => {
    const reply = await fetchPath("/missing.html");
    expect(reply).toMatchObject({ status: 404, body: "<h1>custom 404</h1>" });
  });

  it("answers a missing path with the catch-all document and status 200, under a stripped prefix", async () => {
    expect(await fetchPath("/app/users/42")).toMatchObject({ status: 200, body: "<div id=app></div>" });
    expect(await fetchPath("/app/about.html")).toMatchObject({ status: 200, body: "<h1>about</h1>" });
  });

  it("answers HEAD with the headers and no body", async () => {
    const reply = await fetchPath("/about.html", {}, "HEAD");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-length"]).toBe(String("<h1>about</h1>".length));
    expect(reply.body).toBe("");
  });

  it("refuses other methods with 405", async () => {
    const reply = await fetchPath("/about.html", {}, "POST");
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe("GET, HEAD");
  });

  it("answers a conditional GET with 304 by ETag or Last-Modified", async () => {
    const first = await fetchPath("/about.html");
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^W\/"/);
    expect((await fetchPath("/about.html", { "if-none-match": etag })).status).toBe(304);
    expect((await fetchPath("/about.html", { "if-none-match": 'W/"other"' })).status).toBe(200);
    expect((await fetchPath("/about.html", { "if-modified-since": first.headers["last-modified"]! })).status).toBe(304);
    expect((await fetchPath("/about.html", { "if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT" })).status).toBe(200);
  });

  it("never serves a file outside the root, by .. or by symlink", async () => {
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/guide/../../secret.txt", "/..%2fsecret.txt"]) {
      const reply = await rawGet(path);
      expect({ path, leaked: reply.body.includes("top secret") }).toEqual({ path, leaked: false });
      expect({ path, status: reply.status }).toEqual({ path, status: 404 });
    }
    const viaLink = await fetchPath("/leak.txt");
    expect(viaLink.status).toBe(403);
    expect(viaLink.body).not.toContain("top secret");
    expect((await fetchPath("/alias.html")).body).toBe("<h1>about</h1>");
  });

  it("answers a dotfile or dot directory exactly as a missing file, in any spelling, except .well-known", async () => {
    const missing = await fetchPath("/missing.yaml");
    expect(missing).toMatchObject({ status: 404, body: "<h1>custom 404</h1>" });
    const hidden = [
      "/.env",
      "/.do/app.yaml",
      "/.do/",
      "/.do",
      "/%2edo/app.yaml",
      "/%2Eenv",
      "/guide/.notes",
      "/guide/%2enotes",
      "/guide/..%2f.env",
      "/.well-known/../.env",
      "/env.txt",
    ];
    for (const path of hidden) {
      const reply = await fetchPath(path);
      expect({ path, status: reply.status, body: reply.body, location: reply.headers.location }).toEqual({
        path,
        status: 404,
        body: missing.body,
        location: undefined,
      });
    }
    // Under a catch-all the missing answer is the catch-all document, and so is a dotfile's.
    expect(await fetchPath("/app/.env")).toMatchObject({ status: 200, body: "<div id=app></div>" });
    expect(await fetchPath("/.well-known/security.txt")).toMatchObject({ status: 200, body: "Contact: mailto:security@example.com" });
  });

  it("redirects a directory only to a path on the same site, whatever slashes the request starts with", async () => {
    const hostile = ["//evil.example/..%2Fassets", "//evil.example", "/\\evil.example", "/\\/evil.example"];
    for (const path of [...hostile, "/%2F%2Fevil.example", "/%2F%2Fevil.example/"]) {
      const reply = await fetchPath(path);
      const location = reply.headers.location;
      if (location === undefined) continue;
      expect({ path, location, host: new URL(location, "http://docs.localhost").host }).toEqual({
        path,
        location: expect.stringMatching(/^\/(?![/\\]|%2f|%5c)/i) as unknown,
        host: "docs.localhost",
      });
      expect({ path, followed: (await fetchPath(location)).status }).toEqual({ path, followed: 200 });
    }
    const offsite = await fetchPath("//evil.example/..%2Fassets");
    expect(offsite).toMatchObject({ status: 301, headers: { location: "/evil.example/..%2Fassets/" } });
    expect((await fetchPath(offsite.headers.location!)).body).toBe("<h1>assets</h1>");
    expect((await fetchPath("/assets?x=1")).headers.location).toBe("/assets/?x=1");
  });

  it("serves a site whose folder appears only after the site was set", async () => {
    const late = join(dir, "late");
    router.setStaticSite("docs", "site", { root: late, indexDocument: "index.html" });
    expect((await fetchPath("/")).status).toBe(404);
    mkdirSync(late);
    writeFileSync(join(late, "index.html"), "late");
    expect(await fetchPath("/")).toMatchObject({ status: 200, body: "late" });
  });
});

describe("sitePath", () => {
  it("decodes, normalises and refuses what cannot name a file", () => {
    expect(sitePath("/a/../../b%20c")).toBe("/b c");
    expect(sitePath("/%zz")).toBeNull();
    expect(sitePath("/a%00b")).toBeNull();
    expect(sitePath("/a%5c..%5cb")).toBeNull();
  });
});

describe("isHiddenPath", () => {
  it("flags any dot segment but a leading .well-known", () => {
    expect(["/.env", "/a/.git/config", "/.well-known/.x", "/a/.well-known/x"].filter((p) => isHiddenPath(p))).toHaveLength(4);
    expect(["/", "/a.b/c.d", "/.well-known/", "/.well-known/acme-challenge/t"].some((p) => isHiddenPath(p))).toBe(false);
  });
});

describe("sameSitePath", () => {
  it("collapses leading slashes and backslashes, plain or encoded, and anchors anything else at /", () => {
    expect(sameSitePath("//evil.example/x")).toBe("/evil.example/x");
    expect(sameSitePath("/\\/\\evil.example")).toBe("/evil.example");
    expect(sameSitePath("/%2F%5cevil.example")).toBe("/evil.example");
    expect(sameSitePath("http://evil.example/x")).toBe("/http://evil.example/x");
    expect(sameSitePath("/docs/a//b")).toBe("/docs/a//b");
  });
});

/** Sends the path exactly as written (no client-side normalisation of `..`). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path, headers: { host: "docs.localhost" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}
