// The log an operator reads: LOG_FORMAT and LOG_LEVEL honoured, one `name` per line, health probes at debug.
import { createServer, type AddressInfo } from "node:net";
import { Probot, Server } from "probot";
import { describe, expect, it } from "vitest";
import { createLogger, prettyLine } from "../../src/startup/logger.js";
import { privateKey } from "../github/kit.js";

/** Not port 0: Probot's server reads 0 as its default, 3000. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function served(level: string, paths: string[]): Promise<string[]> {
  const lines: string[] = [];
  const log = createLogger({ level, format: "json", destination: { write: (l) => void lines.push(l) } });
  const server = new Server({ Probot: Probot.defaults({ appId: 1, privateKey, secret: "s", log }), host: "127.0.0.1", port: await freePort(), log });
  await server.load(async (_app, { addHandler }) => {
    addHandler(async (req, res) => {
      res.writeHead(200).end("ok");
      return Boolean(req.url);
    });
  });
  await server.start();
  try {
    for (const path of paths) await (await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { "x-probe": "header-value" } })).text();
  } finally {
    await server.stop();
  }
  return lines;
}

const names = (line: string) => line.match(/"name":/g)?.length ?? 0;

describe("Berth's logger", () => {
  it("writes one name per line, Berth's own or the child's that replaced it", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", format: "json", destination: { write: (l) => void lines.push(l) } });
    log.info("own");
    log.child({ name: "http" }).child({ delivery: "d1" }).info("child");
    log.child({ deployment: "dep-1" }).child({ name: "setup" }).info("renamed");
    expect(lines.map(names)).toEqual([1, 1, 1]);
    expect(lines.map((l) => (JSON.parse(l) as { name: string }).name)).toEqual(["berth", "http", "setup"]);
    expect(JSON.parse(lines[2]!)).toMatchObject({ deployment: "dep-1", msg: "renamed" });
  });

  it("logs requests at info through Probot's server, with one name, and health probes only at debug without headers", async () => {
    const atInfo = await served("info", ["/healthz", "/readyz?verbose", "/deployments"]);
    const requests = atInfo.filter((l) => l.includes('"req"'));
    expect(requests).toHaveLength(1);
    expect(requests[0]).toContain("GET /deployments 200");
    expect(atInfo.every((l) => names(l) === 1)).toBe(true);

    const atDebug = (await served("debug", ["/healthz"])).filter((l) => l.includes('"req"'));
    expect(atDebug).toHaveLength(1);
    expect(JSON.parse(atDebug[0]!)).toMatchObject({ level: 20, name: "http", req: { method: "GET", url: "/healthz" } });
    expect(atDebug[0]).not.toContain("header-value");
  });

  it("writes a line a person reads with LOG_FORMAT=pretty", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "debug", format: "pretty", destination: { write: (l) => void lines.push(l) } });
    log.child({ name: "http" }).warn({ port: 3000 }, "slow");
    expect(lines).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} WARN \(http\): slow \{"port":3000\}\n$/)]);
    expect(prettyLine(JSON.stringify({ level: 50, time: 0, name: "berth", msg: "boom", err: { stack: "Error: boom\n    at x" } }))).toBe(
      "00:00:00.000 ERROR (berth): boom\nError: boom\n    at x\n",
    );
  });
});
