// Each reporter's queue. A deploy emits updates far faster than GitHub wants writes, and only the latest
// state matters, so per key there is at most one send in flight and one value waiting (newer replaces
// older). Sends for a key are spaced by `minIntervalMs` unless the value is urgent (a final state). A failed
// send is retried with backoff; a newer value arriving meanwhile is what the retry sends.
import type { Logger } from "pino";

export interface CoalescingQueueOptions<T> {
  send: (key: string, value: T) => Promise<void>;
  /** Least time between two sends for one key. */
  minIntervalMs: number;
  /** Waits before each retry of a failed send; after the last one the value is dropped and logged. */
  retryDelaysMs: number[];
  log: Logger;
}

interface Slot<T> {
  waiting?: { value: T; urgent: boolean };
  sending: boolean;
  timer?: NodeJS.Timeout;
  lastSentAt: number;
  failures: number;
}

export class CoalescingQueue<T> {
  readonly #options: CoalescingQueueOptions<T>;
  readonly #slots = new Map<string, Slot<T>>();
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(options: CoalescingQueueOptions<T>) {
    this.#options = options;
  }

  push(key: string, value: T, options: { urgent?: boolean } = {}): void {
    if (this.#closed) return;
    let slot = this.#slots.get(key);
    if (!slot) {
      slot = { sending: false, lastSentAt: -Infinity, failures: 0 };
      this.#slots.set(key, slot);
    }
    const urgent = Boolean(options.urgent) || Boolean(slot.waiting?.urgent);
    slot.waiting = { value, urgent };
    if (urgent && slot.timer && slot.failures === 0) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
    }
    this.#schedule(key, slot);
  }

  /** Resolves once nothing is waiting, scheduled or being sent. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stop accepting values; pending timers are cancelled (what is in flight finishes). */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots.values()) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.waiting = undefined;
    }
    this.#settle();
  }

  #schedule(key: string, slot: Slot<T>, delayMs?: number): void {
    if (slot.sending || slot.timer || !slot.waiting) return;
    const spacing = slot.waiting.urgent ? 0 : slot.lastSentAt + this.#options.minIntervalMs - Date.now();
    slot.timer = setTimeout(() => void this.#flush(key, slot), Math.max(0, delayMs ?? spacing));
  }

  async #flush(key: string, slot: Slot<T>): Promise<void> {
    slot.timer = undefined;
    const item = slot.waiting;
    if (!item) return this.#settle();
    slot.waiting = undefined;
    slot.sending = true;
    let retryIn: number | undefined;
    try {
      await this.#options.send(key, item.value);
      slot.failures = 0;
    } catch (err) {
      slot.failures += 1;
      const delays = this.#options.retryDelaysMs;
      if (slot.failures <= delays.length) {
        retryIn = delays[slot.failures - 1];
        slot.waiting ??= item;
        this.#options.log.warn({ err, key, attempt: slot.failures, retryInMs: retryIn }, "report failed; retrying");
      } else {
        slot.failures = 0;
        this.#options.log.error({ err, key }, "report failed; giving up on this update");
      }
    } finally {
      slot.sending = false;
      slot.lastSentAt = Date.now();
    }
    if (this.#closed) slot.waiting = undefined;
    this.#schedule(key, slot, retryIn);
    if (!slot.waiting && !slot.timer) this.#forgetLater(key, slot);
    this.#settle();
  }

  /** Drop an idle key once its spacing no longer matters, so finished deployments leave nothing behind. */
  #forgetLater(key: string, slot: Slot<T>): void {
    const forget = () => {
      if (this.#slots.get(key) === slot && !slot.waiting && !slot.timer && !slot.sending) this.#slots.delete(key);
    };
    if (this.#options.minIntervalMs <= 0) return forget();
    setTimeout(forget, this.#options.minIntervalMs).unref();
  }

  /** Keys currently tracked (for tests). */
  get size(): number {
    return this.#slots.size;
  }

  #isIdle(): boolean {
    for (const slot of this.#slots.values()) {
      if (slot.sending || slot.timer || slot.waiting) return false;
    }
    return true;
  }

  #settle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
