// Acts on inbox entries after the webhook was answered. Entries of one repository are handled in the order
// they arrived; different repositories in parallel. A failure (GitHub down past Octokit's own retries) is
// retried with backoff; an entry that still fails stays in the inbox and is picked up again by `resume()`,
// which runs at start and on every catch-up tick, so no deployment is lost.
import PQueue from "p-queue";
import type { Logger } from "pino";
import type { Act } from "../intents/act.js";
import type { Inbox, InboxEntry } from "./inbox.js";

export interface EventWorkerOptions {
  inbox: Inbox;
  act: Act;
  log: Logger;
  concurrency?: number;
  retryDelaysMs?: number[];
  /** Rounds (each with its retries) before a delivery that keeps failing is dropped; default 20. */
  maxRounds?: number;
}

export class EventWorker {
  readonly #o: EventWorkerOptions;
  readonly #queue: PQueue;
  readonly #running = new Set<string>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #removals = new Set<Promise<void>>();
  #stopped = false;

  constructor(options: EventWorkerOptions) {
    this.#o = options;
    this.#queue = new PQueue({ concurrency: options.concurrency ?? 4 });
  }

  accept(entry: InboxEntry): void {
    if (this.#stopped || this.#running.has(entry.id)) return;
    this.#running.add(entry.id);
    const key = "repository" in entry.event ? entry.event.repository.toLowerCase() : `installation:${entry.event.installationId}`;
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#queue.add(() => this.#handle(entry))).finally(() => {
      this.#running.delete(entry.id);
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
    this.#chains.set(key, next);
  }

  /**
   * Act on what is left in the inbox (after a restart, or after GitHub was down). With `olderThanMs`, only
   * entries received that long ago: with several replicas on one database, a fresh entry is being handled
   * by the replica that received it.
   */
  async resume(options: { olderThanMs?: number } = {}): Promise<void> {
    const cutoff = Date.now() - (options.olderThanMs ?? 0);
    for (const entry of await this.#o.inbox.list()) {
      if (Date.parse(entry.receivedAt) <= cutoff) this.accept(entry);
    }
  }

  async idle(): Promise<void> {
    while (this.#chains.size > 0 || this.#removals.size > 0) await Promise.all([...this.#chains.values(), ...this.#removals]);
  }

  // Not awaited: the inbox commits removals lazily, with the next acknowledgement, and the repository's next
  // entry need not wait for that. Acted on and still in the inbox after a crash, an entry is acted on again.
  #remove(entry: InboxEntry, log: Logger): void {
    const removal = this.#o.inbox
      .remove(entry.id)
      .catch((err: unknown) => log.warn({ err }, "could not remove the delivery from the inbox; it is acted on again on resume"))
      .finally(() => this.#removals.delete(removal));
    this.#removals.add(removal);
  }

  /** Stop taking entries and wait for those in progress; what remains stays in the inbox for next time. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.idle();
  }

  async #handle(entry: InboxEntry): Promise<void> {
    const log = this.#o.log.child({ deliveryId: entry.id, event: entry.event.type });
    const delays = this.#o.retryDelaysMs ?? [2_000, 10_000, 30_000];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#o.act(entry.event, entry.id);
        this.#remove(entry, log);
        return;
      } catch (err) {
        const delay = delays[attempt];
        if (delay === undefined || this.#stopped) {
          await this.#giveUpForNow(entry, err, log);
          return;
        }
        log.warn({ err, attempt: attempt + 1, retryInMs: delay }, "acting on the delivery failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async #giveUpForNow(entry: InboxEntry, err: unknown, log: Logger): Promise<void> {
    const attempts = (entry.attempts ?? 0) + 1;
    try {
      if (attempts >= (this.#o.maxRounds ?? 20)) {
        await this.#o.inbox.remove(entry.id);
        log.error({ err, attempts }, "could not act on the delivery after many rounds; dropped (catch-up still deploys missed pushes)");
      } else {
        await this.#o.inbox.put({ ...entry, attempts });
        log.error({ err, attempts }, "could not act on the delivery; it stays queued and is retried on the next catch-up");
      }
    } catch (storeErr) {
      log.error({ err, storeErr }, "could not act on the delivery nor update the inbox");
    }
  }
}
