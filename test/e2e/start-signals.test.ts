// `npm start` as a terminal or a supervisor sees it: npm's one child is Berth's own Node process on the built
// JavaScript (no sh, no tsx), and a SIGTERM to npm alone or a Ctrl-C (SIGINT to the group) reaches Berth, which
// stops gracefully and leaves nothing running. The memory runtime and the fake GitHub: no Docker needed.
import { readFileSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGitHub, type FakeGitHub } from "../fake-github/index.js";
import { BerthProcess } from "./harness.js";

const SECRET = "signals-webhook-secret";

function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number),
  );
}

function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
}

const procChildren = (() => {
  try {
    readFileSync(`/proc/${process.pid}/task/${process.pid}/children`);
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!procChildren)("npm start and signals", { timeout: 120_000 }, () => {
  let fake: FakeGitHub;
  const started: BerthProcess[] = [];

  beforeAll(async () => {
    fake = await startFakeGitHub({ checkResponses: false });
  });

  afterAll(async () => {
    for (const berth of started) await berth.stop();
    await fake?.close();
  });

  async function start(): Promise<BerthProcess> {
    const berth = await BerthProcess.start(fake, { webhookSecret: SECRET, env: { BERTH_RUNTIME: "memory", LOG_LEVEL: "info" }, listenTimeoutMs: 100_000 });
    started.push(berth);
    return berth;
  }

  it("runs Berth as npm's only child, on dist/main.js, and stops it gracefully on a SIGTERM sent to npm alone", async () => {
    const berth = await start();
    const children = childrenOf(berth.pid!);
    expect(children).toHaveLength(1);
    const main = children[0]!;
    const argv = commandLine(main);
    expect(argv[0]).toMatch(/node$/);
    expect(argv.slice(1)).toEqual(["dist/main.js"]);
    // The memory runtime has no router, so Berth's process starts nothing of its own.
    expect(childrenOf(main)).toEqual([]);

    berth.signal("SIGTERM");
    expect(await berth.exit()).toBe(0);
    expect(berth.logLines('"msg":"stopping"').some((l) => l.includes('"signal":"SIGTERM"'))).toBe(true);
    expect(() => process.kill(main, 0)).toThrow();
    expect(berth.groupAlive).toBe(false);
  }, 120_000);

  it("stops gracefully on Ctrl-C (SIGINT to the process group)", async () => {
    const berth = await start();
    berth.signalGroup("SIGINT");
    expect(await berth.exit()).toBe(0);
    expect(berth.logLines('"msg":"stopping"').some((l) => l.includes('"signal":"SIGINT"'))).toBe(true);
    expect(berth.groupAlive).toBe(false);
  }, 120_000);
});
