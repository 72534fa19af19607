import { expect, it } from "vitest";
import { Inbox, type InboxEntry } from "../../src/webhooks/inbox.js";
import { memoryInboxStore } from "../helpers/memory-inbox.js";

const entry = (id: string): InboxEntry => ({
  id,
  event: { type: "installation", action: "created", installationId: 1 } as unknown as InboxEntry["event"],
  receivedAt: new Date(Date.UTC(2026, 0, 1)).toISOString(),
});

it("commits the deliveries asked for in one turn together, and tells each its verdict", async () => {
  const store = memoryInboxStore();
  const inbox = new Inbox(store);
  const verdicts = await Promise.all([inbox.accept(entry("a"), "d1"), inbox.accept(entry("b"), "d2"), inbox.accept(entry("a")), inbox.accept(entry("c"), "d1")]);
  expect(verdicts).toEqual(["new", "new", "redelivery", "replay"]);
  expect(store.commits).toBe(1);
  expect((await inbox.list()).map((e) => e.id)).toEqual(["a", "b"]);
});

it("lets a removal wait for the next acknowledgement's commit, and commits it alone after the delay", async () => {
  const store = memoryInboxStore();
  const waiting = new Inbox(store, { removeDelayMs: 3_600_000 });
  await waiting.accept(entry("a"));
  const removed = waiting.remove("a");
  await waiting.accept(entry("b"));
  await removed;
  expect(store.commits).toBe(2);
  expect((await waiting.list()).map((e) => e.id)).toEqual(["b"]);

  await new Inbox(store, { removeDelayMs: 1 }).remove("b");
  expect(store.commits).toBe(3);
  expect(await waiting.list()).toEqual([]);
});

it("fails every change of a commit that failed, and takes the next ones", async () => {
  const store = memoryInboxStore();
  const inbox = new Inbox(store);
  store.failWith = new Error("disk full");
  await expect(Promise.all([inbox.accept(entry("a")), inbox.put(entry("b"))])).rejects.toThrow("disk full");
  store.failWith = undefined;
  expect(await inbox.accept(entry("a"))).toBe("new");
});
