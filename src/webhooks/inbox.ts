// Deliveries Berth acknowledged but has not acted on yet, kept in the store so a restart finishes them.
// The webhook request only writes here; the worker reads, acts, and removes.
//
// Group commit: every change asked for while the previous commit was being written (or within the current turn
// of the event loop) goes into the next commit, one transaction. On SQLite each commit is an fsync that blocks
// the event loop; four of them per delivery (delivery id, body digest, entry, the old index document) were what
// made acknowledgements slow under bursts. A delivery is answered only once the commit holding it returned, so
// what GitHub saw acknowledged is on disk. Removals are not urgent (a delivery acted on twice after a crash is
// deduped by the pipeline on its delivery id): they wait up to `removeDelayMs` for a commit to ride along with.
import type { BerthEvent } from "./events.js";
import type { InboxDelivery, InboxStore, InboxVerdict } from "../core/ports.js";

export interface InboxEntry {
  /** The `X-GitHub-Delivery` id. */
  id: string;
  event: BerthEvent;
  receivedAt: string;
  /** Rounds of retries that ended in failure so far. */
  attempts?: number;
}

interface Waiting {
  accept: Array<{ delivery: InboxDelivery; settle: (verdict: InboxVerdict) => void }>;
  put: InboxEntry[];
  remove: string[];
  done: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
  /** Something that may not wait (an acknowledgement, a retry count). */
  urgent: boolean;
}

const nothingWaiting = (): Waiting => ({ accept: [], put: [], remove: [], done: [], urgent: false });

export class Inbox {
  readonly #store: InboxStore;
  #waiting = nothingWaiting();
  #scheduled = false;
  #lazy: NodeJS.Timeout | undefined;
  readonly #removeDelayMs: number;

  constructor(store: InboxStore, options: { removeDelayMs?: number } = {}) {
    this.#store = store;
    this.#removeDelayMs = options.removeDelayMs ?? 100;
  }

  /** Records a delivery (its id, its body's digest) and keeps its entry, unless its id or body was seen before. */
  accept(entry: InboxEntry, digest?: string): Promise<InboxVerdict> {
    return new Promise((resolve, reject) => {
      let verdict: InboxVerdict = "new";
      this.#waiting.accept.push({ delivery: { id: entry.id, digest, entry }, settle: (v) => (verdict = v) });
      this.#join(() => resolve(verdict), reject, true);
    });
  }

  /** Keeps `entry` in place of what was kept under its id (a retry count). */
  put(entry: InboxEntry): Promise<void> {
    this.#waiting.put.push(entry);
    return new Promise((resolve, reject) => this.#join(resolve, reject, true));
  }

  remove(id: string): Promise<void> {
    this.#waiting.remove.push(id);
    return new Promise((resolve, reject) => this.#join(resolve, reject, false));
  }

  async list(): Promise<InboxEntry[]> {
    const entries = (await this.#store.listInbox()).filter((e): e is InboxEntry => typeof e === "object" && e !== null && "event" in e);
    return entries.toSorted((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt));
  }

  #join(resolve: () => void, reject: (err: unknown) => void, urgent: boolean): void {
    this.#waiting.done.push({ resolve, reject });
    this.#waiting.urgent ||= urgent;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#waiting.done.length === 0) return;
    if (this.#waiting.urgent) {
      clearTimeout(this.#lazy);
      this.#lazy = undefined;
      this.#scheduled = true;
      // setImmediate, not a microtask: the requests whose bodies arrived in this turn join the same commit.
      setImmediate(() => void this.#commit());
    } else {
      this.#lazy ??= setTimeout(() => {
        this.#lazy = undefined;
        this.#waiting.urgent = true;
        this.#schedule();
      }, this.#removeDelayMs);
    }
  }

  async #commit(): Promise<void> {
    const batch = this.#waiting;
    this.#waiting = nothingWaiting();
    try {
      const verdicts = await this.#store.commitInbox({ accept: batch.accept.map((a) => a.delivery), put: batch.put, remove: batch.remove });
      batch.accept.forEach((a, i) => a.settle(verdicts[i]!));
      for (const d of batch.done) d.resolve();
    } catch (err) {
      for (const d of batch.done) d.reject(err);
    } finally {
      // What arrived while this commit was written goes into the next one.
      this.#scheduled = false;
      this.#schedule();
    }
  }
}
