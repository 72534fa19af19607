// An InboxStore in memory with the store's semantics (delivery ids and body digests seen, entries kept), for
// tests that drive intake without a database.
import type { InboxStore, InboxVerdict } from "../../src/core/ports.js";

export interface MemoryInboxStore extends InboxStore {
  seen: Set<string>;
  entries: Map<string, unknown>;
  commits: number;
  /** Replaces the delivery log's answer, e.g. to make it fail. */
  failWith?: Error;
}

export function memoryInboxStore(): MemoryInboxStore {
  const store: MemoryInboxStore = {
    seen: new Set(),
    entries: new Map(),
    commits: 0,
    async commitInbox({ accept, put, remove }) {
      if (store.failWith) throw store.failWith;
      store.commits++;
      const verdicts: InboxVerdict[] = [];
      const first = (key: string) => !store.seen.has(key) && Boolean(store.seen.add(key));
      for (const d of accept) {
        if (!first(d.id)) verdicts.push("redelivery");
        else if (d.digest !== undefined && !first(`sha256:${d.digest}`)) verdicts.push("replay");
        else {
          verdicts.push("new");
          store.entries.set(d.id, structuredClone(d.entry));
        }
      }
      for (const e of put) store.entries.set(e.id, structuredClone(e));
      for (const id of remove) store.entries.delete(id);
      return verdicts;
    },
    async listInbox() {
      return [...store.entries.values()].map((e) => structuredClone(e));
    },
  };
  return store;
}
