// Deliveries Berth acknowledged but has not acted on yet, kept in the store so a restart finishes them.
// The webhook request only writes here; the worker reads, acts, and removes.
import PQueue from "p-queue";
import type { BerthEvent } from "./events.js";
import type { KeyValueState } from "../core/ports.js";

export interface InboxEntry {
  /** The `X-GitHub-Delivery` id. */
  id: string;
  event: BerthEvent;
  receivedAt: string;
  /** Rounds of retries that ended in failure so far. */
  attempts?: number;
}

const INDEX = "github:inbox";
const entryKey = (id: string) => `github:inbox:${id}`;

export class Inbox {
  readonly #state: KeyValueState;
  // The index is one document: updates to it must not interleave.
  readonly #lock = new PQueue({ concurrency: 1 });

  constructor(state: KeyValueState) {
    this.#state = state;
  }

  add(entry: InboxEntry): Promise<void> {
    return this.#lock.add(async () => {
      await this.#state.set(entryKey(entry.id), entry);
      const ids = await this.#ids();
      if (!ids.includes(entry.id)) await this.#state.set(INDEX, [...ids, entry.id]);
    });
  }

  remove(id: string): Promise<void> {
    return this.#lock.add(async () => {
      const ids = await this.#ids();
      await this.#state.set(INDEX, ids.filter((i) => i !== id));
      await this.#state.set(entryKey(id), null);
    });
  }

  async list(): Promise<InboxEntry[]> {
    const ids = await this.#lock.add(() => this.#ids());
    const entries = await Promise.all(ids.map((id) => this.#state.get(entryKey(id))));
    return entries.filter((e): e is InboxEntry => typeof e === "object" && e !== null && "event" in e);
  }

  async #ids(): Promise<string[]> {
    const ids = await this.#state.get(INDEX);
    return Array.isArray(ids) ? (ids as string[]) : [];
  }
}
