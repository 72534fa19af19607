// Berth's own pages over real HTTP on 127.0.0.1: the deployment page and /metrics only for the operator (bearer
// token or the login's session cookie), the login's cookie and CSRF rules, and /metrics on its own listener.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createOperatorAuth, safeNext } from "../../src/server/auth.js";
import { createDeploymentPageHandler } from "../../src/server/deployment-page.js";
import { addOperatorPages, type OperatorPagesOptions } from "../../src/server/operator-pages.js";
import { deployment } from "../github/kit.js";

const TOKEN = "t0ken-for-tests-0123456789abcdefghijklmnop";
const BERTH_URL = "http://berth.test:3000";
const SECRET_LOG = "the build log nobody but the operator sees";

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A server that runs handlers in order and answers 404 after them, as Probot's does. */
async function listen(handlers: Handler[]): Promise<string> {
  const server: Server = createServer(async (req, res) => {
    for (const handler of handlers) if (await handler(req, res)) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const deployments = {
  getDeployment: async (id: string) => (id === "dep-1" ? deployment({ phase: "ERROR" }) : undefined),
  logs: {
    read: async (_id: string, o: { afterId?: number; beforeId?: number } = {}) =>
      [{ id: 1, step: "build web", text: `${SECRET_LOG}\n`, createdAt: new Date() }].filter(
        (c) => (o.afterId === undefined || c.id > o.afterId) && (o.beforeId === undefined || c.id < o.beforeId),
      ),
    count: async () => 1,
  },
  redact: (t: string) => t,
};

async function startPages(overrides: Partial<OperatorPagesOptions> = {}) {
  const registry = new Registry();
  new Counter({ name: "berth_test_total", help: "a test counter", registers: [registry] }).inc(3);
  const handlers: Handler[] = [];
  const pages = await addOperatorPages((h) => handlers.push(h), { token: TOKEN, berthUrl: BERTH_URL, registry, deployments, ...overrides });
  closers.push(() => pages.close());
  return { url: await listen(handlers), metricsPort: pages.metricsPort };
}

const html = { accept: "text/html,application/xhtml+xml" };
const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

function login(url: string, form: Record<string, string>, headers: Record<string, string> = { origin: BERTH_URL }) {
  return fetch(`${url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** The cookie pair (`berth_session=…`) of a Set-Cookie header. */
const cookieOf = (res: Response) => (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";

describe("the deployment page", () => {
  it("sends a browser without a session to the login page, and answers 401 JSON to API clients", async () => {
    const { url } = await startPages();
    const page = await fetch(`${url}/deployments/dep-1?tab=log`, { headers: html, redirect: "manual" });
    expect([page.status, page.headers.get("location")]).toEqual([302, "/login?next=%2Fdeployments%2Fdep-1%3Ftab%3Dlog"]);
    expect(await page.text()).not.toContain(SECRET_LOG);
    const api = await fetch(`${url}/deployments/dep-1`, { headers: { accept: "application/json" } });
    expect([api.status, await api.json()]).toEqual([401, { error: { code: "unauthorized", message: expect.any(String) } }]);
    const wrong = await fetch(`${url}/deployments/dep-1`, { headers: { ...html, ...bearer("not-the-token") }, redirect: "manual" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(SECRET_LOG);
  });

  it("opens with the bearer token", async () => {
    const { url } = await startPages();
    const page = await fetch(`${url}/deployments/dep-1`, { headers: bearer() });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(SECRET_LOG);
  });

  it("reloads a link followed from another site (which carries no SameSite=Strict cookie) from Berth's own origin", async () => {
    const { url } = await startPages();
    const page = await fetch(`${url}/deployments/dep-1`, { headers: { ...html, "sec-fetch-site": "cross-site" }, redirect: "manual" });
    const body = await page.text();
    expect(page.status).toBe(200);
    expect(body).toContain('<meta http-equiv="refresh" content="0">');
    expect(body).not.toContain(SECRET_LOG);
  });
});

describe("the login", () => {
  it("sets an HttpOnly, SameSite=Strict session cookie for the right token, and the page then opens", async () => {
    const { url } = await startPages();
    const form = await fetch(`${url}/login?next=%2Fdeployments%2Fdep-1`);
    expect(await form.text()).toContain('<input type="hidden" name="next" value="/deployments/dep-1">');
    const res = await login(url, { token: TOKEN, next: "/deployments/dep-1" });
    expect([res.status, res.headers.get("location")]).toEqual([303, "/deployments/dep-1"]);
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^berth_session=[\w-]+\.\d+\.[\w-]+; Max-Age=43200; HttpOnly; SameSite=Strict; Path=\/$/);
    const page = await fetch(`${url}/deployments/dep-1`, { headers: { ...html, cookie: cookieOf(res) } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(SECRET_LOG);
  });

  it("marks the cookie Secure when Berth is reached over https", async () => {
    const { url } = await startPages({ berthUrl: "https://berth.example.com" });
    const res = await login(url, { token: TOKEN }, { origin: "https://berth.example.com" });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/; HttpOnly; SameSite=Strict; Path=\/; Secure$/);
  });

  it("refuses a wrong token with 401 and no cookie", async () => {
    const { url } = await startPages();
    const res = await login(url, { token: `${TOKEN}x`, next: "/deployments/dep-1" });
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("That is not the operator token.");
  });

  it("refuses a login from another origin, or with neither Origin nor Referer", async () => {
    const { url } = await startPages();
    const foreign: Record<string, string>[] = [{ origin: "https://evil.example" }, { origin: "null" }, { referer: "https://evil.example/x" }, {}];
    for (const headers of foreign) {
      const res = await login(url, { token: TOKEN }, headers);
      expect([res.status, res.headers.get("set-cookie")]).toEqual([403, null]);
    }
    expect((await login(url, { token: TOKEN }, { referer: `${BERTH_URL}/login?next=/` })).status).toBe(200);
  });

  it("never follows next off-site", async () => {
    const { url } = await startPages();
    for (const next of ["//evil.example", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)"]) {
      const res = await login(url, { token: TOKEN, next });
      expect([next, res.status, res.headers.get("location")]).toEqual([next, 200, null]);
      const form = await (await fetch(`${url}/login?next=${encodeURIComponent(next)}`)).text();
      expect(form).not.toContain('name="next"');
    }
    expect(["/deployments/a?b=1", "/"].map(safeNext)).toEqual(["/deployments/a?b=1", "/"]);
  });

  it("refuses a forged cookie, one signed with another token, and one after logout", async () => {
    const { url } = await startPages();
    const cookie = cookieOf(await login(url, { token: TOKEN }));
    const other = createOperatorAuth({ token: "another-token-0123456789abcdefghijklmnop", berthUrl: BERTH_URL });
    const forged = [
      `${cookie.slice(0, -2)}xx`,
      cookie.replace(/\.(\d+)\./, (_, e: string) => `.${Number(e) + 1000}.`),
      other.startSession().split(";")[0]!,
      "berth_session=anything",
    ];
    for (const c of forged) {
      const page = await fetch(`${url}/deployments/dep-1`, { headers: { ...html, cookie: c }, redirect: "manual" });
      expect([c, page.status]).toEqual([c, 302]);
    }
    const out = await fetch(`${url}/logout`, { method: "POST", redirect: "manual", headers: { origin: BERTH_URL, cookie } });
    expect([out.status, out.headers.get("set-cookie")]).toEqual([303, "berth_session=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/"]);
    const after = await fetch(`${url}/deployments/dep-1`, { headers: { ...html, cookie }, redirect: "manual" });
    expect(after.status).toBe(302);
  });

  it("refuses an expired session", async () => {
    let now = 1_000_000;
    const auth = createOperatorAuth({ token: TOKEN, berthUrl: BERTH_URL, sessionTtlMs: 60_000, now: () => now });
    const url = await listen([createDeploymentPageHandler({ ...deployments, authorize: auth.page })]);
    const cookie = auth.startSession().split(";")[0]!;
    const open = () => fetch(`${url}/deployments/dep-1`, { headers: { ...html, cookie }, redirect: "manual" });
    expect((await open()).status).toBe(200);
    now += 60_000;
    expect((await open()).status).toBe(302);
  });
});

describe("/metrics", () => {
  it("needs the bearer token on Berth's port (a session cookie is not enough)", async () => {
    const { url } = await startPages();
    const anonymous = await fetch(`${url}/metrics`);
    expect([anonymous.status, anonymous.headers.get("www-authenticate")]).toEqual([401, 'Bearer realm="berth"']);
    expect(await anonymous.text()).not.toContain("berth_test_total");
    const cookie = cookieOf(await login(url, { token: TOKEN }));
    expect((await fetch(`${url}/metrics`, { headers: { cookie } })).status).toBe(401);
    const scrape = await fetch(`${url}/metrics`, { headers: bearer() });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain("berth_test_total 3");
  });

  it("is served only on BERTH_METRICS_ADDRESS when that is set, without a token, and not on Berth's port", async () => {
    const { url, metricsPort } = await startPages({ metricsAddress: { host: "127.0.0.1", port: 0 } });
    const own = `http://127.0.0.1:${metricsPort}`;
    const scrape = await fetch(`${own}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain("berth_test_total 3");
    expect((await fetch(`${own}/deployments/dep-1`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { headers: bearer() })).status).toBe(404);
  });
});
