import { describe, expect, it } from "vitest";
import { CoalescingQueue } from "../../src/github/coalescing-queue.js";
import { silentLog } from "./kit.js";

function recorder(fail: (call: number) => boolean = () => false) {
  const sent: [string, number][] = [];
  let calls = 0;
  return {
    sent,
    send: async (key: string, value: number) => {
      calls += 1;
      if (fail(calls)) throw Object.assign(new Error("Server Error"), { status: 502 });
      sent.push([key, value]);
    },
  };
}

describe("CoalescingQueue", () => {
  it("sends only the latest value of a burst, per key", async () => {
    const r = recorder();
    const q = new CoalescingQueue<number>({ send: r.send, minIntervalMs: 0, retryDelaysMs: [], log: silentLog() });
    q.push("a", 1);
    q.push("a", 2);
    q.push("b", 10);
    q.push("a", 3);
    await q.idle();
    expect(r.sent).toEqual([
      ["a", 3],
      ["b", 10],
    ]);
    // Nothing is kept for keys that are done.
    expect(q.size).toBe(0);
  });

  it("holds later values back while a send is in flight, then sends the newest", async () => {
    const sent: number[] = [];
    let release!: () => void;
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const q = new CoalescingQueue<number>({
      send: async (_k, v) => {
        sent.push(v);
        if (v === 1) {
          started();
          await new Promise<void>((resolve) => (release = resolve));
        }
      },
      minIntervalMs: 0,
      retryDelaysMs: [],
      log: silentLog(),
    });
    q.push("a", 1);
    await firstStarted;
    q.push("a", 2);
    q.push("a", 3);
    expect(sent).toEqual([1]);
    release();
    await q.idle();
    expect(sent).toEqual([1, 3]);
  });

  it("spaces sends by minIntervalMs unless the value is urgent", async () => {
    const times: number[] = [];
    const q = new CoalescingQueue<number>({
      send: async () => void times.push(Date.now()),
      minIntervalMs: 60_000,
      retryDelaysMs: [],
      log: silentLog(),
    });
    q.push("a", 1);
    await q.idle();
    q.push("a", 2);
    // Without urgency the second send would wait a minute; a final state goes at once.
    q.push("a", 3, { urgent: true });
    await q.idle();
    expect(times).toHaveLength(2);
  });

  it("retries a failed send with backoff and gives up after the last delay", async () => {
    const r = recorder((call) => call <= 2);
    const q = new CoalescingQueue<number>({ send: r.send, minIntervalMs: 0, retryDelaysMs: [1, 1, 1], log: silentLog() });
    q.push("a", 7);
    await q.idle();
    expect(r.sent).toEqual([["a", 7]]);

    const never = recorder(() => true);
    const q2 = new CoalescingQueue<number>({ send: never.send, minIntervalMs: 0, retryDelaysMs: [1, 1], log: silentLog() });
    q2.push("a", 1);
    await q2.idle();
    expect(never.sent).toEqual([]);
  });

  it("retries with the newest value when one arrived during the failed send", async () => {
    const sent: number[] = [];
    let calls = 0;
    const q = new CoalescingQueue<number>({
      send: async (_k, v) => {
        calls += 1;
        if (calls === 1) {
          q.push("a", 2);
          throw new Error("502");
        }
        sent.push(v);
      },
      minIntervalMs: 0,
      retryDelaysMs: [1],
      log: silentLog(),
    });
    q.push("a", 1);
    await q.idle();
    expect(sent).toEqual([2]);
  });
});
