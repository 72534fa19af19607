// A delivery acknowledged is a delivery kept: Berth's intake is SIGKILLed while deliveries are in flight, and
// every one that was answered 200 is in the inbox when the store is opened again, and is acted on.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterEach, expect, it } from "vitest";
import { createStore } from "../../src/store/index.js";
import { Inbox } from "../../src/webhooks/inbox.js";
import { EventWorker } from "../../src/webhooks/worker.js";
import { example } from "../github/kit.js";
import { deliver } from "./webhook-server.js";

const SCRIPT = fileURLToPath(new URL("./fixtures/intake-process.ts", import.meta.url));
const DELIVERIES = 300;
const IN_FLIGHT = 16;
const KILL_AFTER = 60;

let dataDir: string | undefined;
afterEach(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function startIntake(dir: string) {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, dir], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`intake process exited (${code}) before listening`)));
  });
  return { child, url, exited };
}

it("keeps every delivery it acknowledged across a SIGKILL, and acts on each after the restart", async () => {
  dataDir = mkdtempSync(join(tmpdir(), "berth-crash-"));
  const intake = startIntake(dataDir);
  const url = await intake.url;
  const payload = example("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation));
  const acknowledged: string[] = [];
  let next = 0;
  const sender = async () => {
    while (next < DELIVERIES) {
      const id = `crash-${next++}`;
      // A distinct body each time, or the replay check would keep only the first.
      const res = await deliver(url, id, { ...payload, crash_delivery: id }).catch(() => undefined);
      if (res?.status === 200) acknowledged.push(id);
      if (acknowledged.length === KILL_AFTER) intake.child.kill("SIGKILL");
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  await intake.exited;
  expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER);
  expect(acknowledged.length).toBeLessThan(DELIVERIES);

  const store = await createStore({ dataDir, log: pino({ level: "silent" }) });
  try {
    const inbox = new Inbox(store);
    const kept = new Set((await inbox.list()).map((e) => e.id));
    expect(acknowledged.filter((id) => !kept.has(id))).toEqual([]);
    const acted: string[] = [];
    const worker = new EventWorker({ inbox, act: async (_event, id) => void acted.push(id), log: pino({ level: "silent" }) });
    await worker.resume();
    await worker.idle();
    expect(acknowledged.filter((id) => !acted.includes(id))).toEqual([]);
    expect(await inbox.list()).toEqual([]);
  } finally {
    await store.close();
  }
});
