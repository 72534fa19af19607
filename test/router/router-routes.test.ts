import { describe, expect, it } from "vitest";
import type { AppRoute } from "../../src/router/router-contract.js";
import {
  buildPublicUrl,
  matchRoute,
  normalizeHost,
  prefixMatches,
  rewritePath,
  sortRoutes,
  validatePublicUrlTemplate,
} from "../../src/router/router-routes.js";

const route = (pathPrefix: string, extra: Partial<AppRoute> = {}): AppRoute => ({
  component: pathPrefix,
  pathPrefix,
  preservePathPrefix: false,
  ...extra,
});

describe("normalizeHost", () => {
  it("drops the port, case and a trailing dot", () => {
    expect(normalizeHost("Web.LocalHost:8080")).toBe("web.localhost");
    expect(normalizeHost("web.localhost.")).toBe("web.localhost");
    expect(normalizeHost("[::1]:8080")).toBe("[::1]");
    expect(normalizeHost(undefined)).toBe("");
  });
});

describe("prefixMatches", () => {
  it("matches the prefix itself, with a slash, and below it, but not a longer segment", () => {
    expect(prefixMatches("/api", "/api")).toBe(true);
    expect(prefixMatches("/api", "/api/")).toBe(true);
    expect(prefixMatches("/api", "/api/list")).toBe(true);
    expect(prefixMatches("/api/", "/api")).toBe(true);
    expect(prefixMatches("/api", "/apix")).toBe(false);
    expect(prefixMatches("/", "/anything")).toBe(true);
  });
});

describe("matchRoute", () => {
  const routes = sortRoutes([
    route("/"),
    route("/api"),
    route("/api/admin"),
    route("/api", { component: "api-on-host", authority: "api.example.com" }),
  ]);

  it("takes the longest matching prefix", () => {
    expect(matchRoute(routes, "web.localhost", "/api/admin/users")?.component).toBe("/api/admin");
    expect(matchRoute(routes, "web.localhost", "/api/list")?.component).toBe("/api");
    expect(matchRoute(routes, "web.localhost", "/apis")?.component).toBe("/");
  });

  it("prefers a route bound to the request's host over an unbound one of the same prefix", () => {
    expect(matchRoute(routes, "api.example.com", "/api/list")?.component).toBe("api-on-host");
  });

  it("matches nothing when no prefix covers the path", () => {
    expect(matchRoute(sortRoutes([route("/api")]), "web.localhost", "/other")).toBeUndefined();
  });
});

describe("rewritePath", () => {
  it("strips the matched prefix by default", () => {
    expect(rewritePath(route("/api"), "/api/list")).toBe("/list");
    expect(rewritePath(route("/api"), "/api")).toBe("/");
    expect(rewritePath(route("/api/"), "/api/list")).toBe("/list");
    expect(rewritePath(route("/"), "/list")).toBe("/list");
  });

  it("keeps the prefix with preservePathPrefix", () => {
    expect(rewritePath(route("/api", { preservePathPrefix: true }), "/api/list")).toBe("/api/list");
  });

  it("replaces the prefix with rewrite", () => {
    expect(rewritePath(route("/api", { rewrite: "/v1/" }), "/api/list")).toBe("/v1/list");
    expect(rewritePath(route("/api", { rewrite: "/v1" }), "/api/list")).toBe("/v1/list");
    expect(rewritePath(route("/api", { rewrite: "/v1" }), "/api")).toBe("/v1");
    expect(rewritePath(route("/api", { rewrite: "/v1" }), "/api/")).toBe("/v1/");
  });
});

describe("buildPublicUrl", () => {
  it("leaves out port 80 and 443 and keeps any other", () => {
    expect(buildPublicUrl("web", { baseDomain: "apps.example.com", port: 80 })).toBe("http://web.apps.example.com");
    expect(buildPublicUrl("web", { baseDomain: "apps.example.com", port: 443 })).toBe("http://web.apps.example.com");
    expect(buildPublicUrl("web", { baseDomain: "localhost", port: 8080 })).toBe("http://web.localhost:8080");
  });

  it("uses the template when one is set", () => {
    expect(buildPublicUrl("web", { baseDomain: "localhost", port: 8080, template: "https://{app}.example.com/" })).toBe(
      "https://web.example.com",
    );
  });

  it("refuses a template that would give every app the same URL or is not a URL", () => {
    expect(() => validatePublicUrlTemplate("https://example.com")).toThrow(/must contain \{app\}/);
    expect(() => validatePublicUrlTemplate("{app}.example.com")).toThrow(/not an absolute URL/);
    expect(() => validatePublicUrlTemplate("ftp://{app}.example.com")).toThrow(/http:\/\/ or https:\/\//);
    expect(() => validatePublicUrlTemplate("https://{app}.example.com")).not.toThrow();
  });
});
