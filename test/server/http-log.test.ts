// Probot logs every request with its headers: with Berth's logger options the operator token and the session
// cookie never reach the log.
import { pino } from "pino";
import { Probot, Server } from "probot";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { CREDENTIAL_LOG_PATHS } from "../../src/server/auth.js";
import { addOperatorPages } from "../../src/server/operator-pages.js";
import { deployment, privateKey } from "../github/kit.js";

const TOKEN = "t0ken-for-tests-0123456789abcdefghijklmnop";

describe("Berth's request log", () => {
  it("holds neither the bearer token nor the session cookie", async () => {
    const lines: string[] = [];
    const log = pino({ level: "debug", redact: CREDENTIAL_LOG_PATHS }, { write: (line: string) => void lines.push(line) });
    const server = new Server({ Probot: Probot.defaults({ appId: 1, privateKey, secret: "s", log }), host: "127.0.0.1", port: 0, log });
    await server.load(async (_app, { addHandler }) => {
      await addOperatorPages(addHandler, {
        token: TOKEN,
        berthUrl: "http://berth.test",
        registry: new Registry(),
        deployments: { getDeployment: async () => deployment(), logs: { read: async () => [], count: async () => 0 }, redact: (t) => t },
      });
    });
    await server.start();
    try {
      const url = `http://127.0.0.1:${server.port}`;
      expect((await fetch(`${url}/deployments/dep-1`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      const login = await fetch(`${url}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { origin: "http://berth.test", "content-type": "application/x-www-form-urlencoded" },
        body: `token=${TOKEN}&next=/deployments/dep-1`,
      });
      const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const session = cookie.split("=")[1] ?? "";
      expect(session.length).toBeGreaterThan(20);
      expect((await fetch(`${url}/deployments/dep-1`, { headers: { cookie } })).status).toBe(200);
      const logged = lines.join("");
      expect(logged).toContain("GET /deployments/dep-1 200");
      expect(logged).not.toContain(TOKEN);
      expect(logged).not.toContain(session);
    } finally {
      await server.stop();
    }
  });
});
