// Setup mode as a first-time user meets it: health answers, the manifest never names an address GitHub cannot
// reach, a proxy channel is pasted or created on smee.io (mocked with nock: no real network) and kept in .env.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import nock from "nock";
import { pino } from "pino";
import type { Server } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import { isPublicUrl, webhookUrlFor } from "../../src/server/manifest.js";
import { serveManifestFlow } from "../../src/server/manifest-flow.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The manifest parameters GitHub documents (docs.github.com, "Registering a GitHub App from a manifest"). */
const DOCUMENTED = ["name", "url", "hook_attributes", "redirect_url", "callback_urls", "setup_url", "description", "public", "default_events", "default_permissions", "request_oauth_on_install", "setup_on_update"];

/** GitHub's rules for a manifest Berth may offer: documented keys, a name GitHub accepts, a reachable webhook URL. */
function expectAcceptedByGitHub(manifest: Record<string, unknown>): void {
  expect(Object.keys(manifest).filter((k) => !DOCUMENTED.includes(k))).toEqual([]);
  expect(typeof manifest.url).toBe("string");
  expect(String(manifest.name).length).toBeLessThanOrEqual(34);
  const hook = (manifest.hook_attributes as { url: string }).url;
  expect(hook).toMatch(/^https?:\/\//);
  expect(isPublicUrl(hook)).toBe(true);
}

function manifestOf(html: string): Record<string, unknown> | undefined {
  const value = /name="manifest" id="manifest" value='([^']+)'/.exec(html)?.[1];
  return value === undefined ? undefined : (JSON.parse(value.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)))) as Record<string, unknown>);
}

describe("isPublicUrl", () => {
  it.each([
    "http://localhost:3000/", "http://berth.localhost/", "http://127.0.0.1:3000", "http://10.1.2.3/", "http://172.20.0.1/", "http://192.168.1.5/",
    "http://169.254.1.1/", "http://100.64.0.1/", "http://[::1]:3000/", "http://[fd00::1]/", "http://[fe80::1]/", "http://[::ffff:192.168.0.1]/",
    "http://berth.local/", "http://nas/", "ftp://example.com/", "not a url",
  ])("%s is not public", (url) => expect(isPublicUrl(url)).toBe(false));
  it.each(["https://berth.example.com", "http://203.0.113.7:3000/", "https://smee.io/abc", "http://[2001:db8::1]/"])("%s is public", (url) => expect(isPublicUrl(url)).toBe(true));

  it("takes Berth's own URL only when public, else the proxy channel, else nothing", () => {
    expect(webhookUrlFor({ berthUrl: "https://berth.example.com/" })).toBe("https://berth.example.com/api/github/webhooks");
    expect(webhookUrlFor({ berthUrl: "http://localhost:3000" })).toBeUndefined();
    expect(webhookUrlFor({ berthUrl: "http://localhost:3000", webhookProxyUrl: "https://smee.io/x" })).toBe("https://smee.io/x");
  });
});

describe("setup mode", () => {
  let cwd: string;
  let server: Server | undefined;

  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), "berth-setup-"));
    copyFileSync(join(ROOT, "app.yml"), join(cwd, "app.yml"));
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1/);
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    rmSync(cwd, { recursive: true, force: true });
    const unused = nock.pendingMocks();
    nock.cleanAll();
    nock.enableNetConnect();
    expect(unused).toEqual([]);
  });

  async function start(env: Record<string, string>): Promise<string> {
    // Not PORT=0: Probot's server reads 0 as its default, 3000.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const config = readConfig({ HOST: "127.0.0.1", PORT: String(port), ...env }, { cwd });
    server = await serveManifestFlow(config, pino({ level: "silent" }), { cwd });
    return `http://127.0.0.1:${server.port}`;
  }

  it("answers /healthz and /readyz, saying it waits for registration", async () => {
    const url = await start({});
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok", mode: "setup" });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "waiting for registration", mode: "setup" });
  });

  it("with a public BERTH_URL offers a manifest GitHub accepts, delivering to Berth itself, and shows that URL for an existing app", async () => {
    const url = await start({ BERTH_URL: "https://berth.example.com" });
    const manifest = manifestOf(await (await fetch(`${url}/probot`)).text());
    expectAcceptedByGitHub(manifest!);
    expect(manifest).toMatchObject({ name: "Berth", hook_attributes: { url: "https://berth.example.com/api/github/webhooks" }, redirect_url: `${url}/probot/setup` });
    expect(await (await fetch(`${url}/probot/import`)).text()).toContain("<code>https://berth.example.com/api/github/webhooks</code>");
  });

  it("on a laptop offers no manifest until a pasted proxy channel is given, then keeps it in .env", async () => {
    const url = await start({});
    const first = await (await fetch(`${url}/probot`)).text();
    expect(manifestOf(first)).toBeUndefined();
    expect(first).toContain('action="/probot/proxy"');
    expect(first).not.toContain("localhost:0/");
    const refused = await fetch(`${url}/probot/proxy`, { method: "POST", body: new URLSearchParams({ url: "http://localhost:3000/" }) });
    expect(refused.status).toBe(400);
    const pasted = await fetch(`${url}/probot/proxy`, { method: "POST", body: new URLSearchParams({ url: "https://smee.io/pasted123" }), redirect: "manual" });
    expect(pasted.status).toBe(303);
    expect(readFileSync(join(cwd, ".env"), "utf8")).toBe("WEBHOOK_PROXY_URL=https://smee.io/pasted123\n");
    const manifest = manifestOf(await (await fetch(`${url}/probot`)).text());
    expectAcceptedByGitHub(manifest!);
    expect(manifest!.hook_attributes).toEqual({ url: "https://smee.io/pasted123" });
    expect(await (await fetch(`${url}/probot/import`)).text()).toContain("<code>https://smee.io/pasted123</code>");
  });

  it("creates a smee.io channel as Probot does", async () => {
    nock("https://smee.io").head("/new").reply(307, "", { location: "https://smee.io/created456" });
    const url = await start({});
    const created = await fetch(`${url}/probot/proxy`, { method: "POST", body: new URLSearchParams({ create: "smee" }), redirect: "manual" });
    expect(created.status).toBe(303);
    expect(readFileSync(join(cwd, ".env"), "utf8")).toContain("WEBHOOK_PROXY_URL=https://smee.io/created456\n");
    expect(manifestOf(await (await fetch(`${url}/probot`)).text())!.hook_attributes).toEqual({ url: "https://smee.io/created456" });
  });

  it("trades GitHub's code for the credentials, writes them to .env and sends the user to install the app", async () => {
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n";
    nock("https://api.github.com")
      .post("/app-manifests/the-code/conversions")
      .reply(201, { id: 42, pem, webhook_secret: "whs", client_id: "cid", client_secret: "csec", html_url: "https://github.com/apps/berth-test" });
    const url = await start({ WEBHOOK_PROXY_URL: "https://smee.io/chan" });
    const res = await fetch(`${url}/probot/setup?code=the-code`, { redirect: "manual" });
    expect(res.headers.get("location")).toBe("https://github.com/apps/berth-test/installations/new");
    const env = readFileSync(join(cwd, ".env"), "utf8");
    expect(env).toContain("APP_ID=42\n");
    expect(env).toContain('PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\\nabc\\n-----END RSA PRIVATE KEY-----\\n"\n');
    expect(env).toContain("WEBHOOK_SECRET=whs\n");
  });
});
