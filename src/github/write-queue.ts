// GitHub's secondary rate limits punish concurrent writes from one installation, and a check run must be
// created before it can be updated, so every write Berth makes for an installation goes through one queue.
import PQueue from "p-queue";

export class InstallationWriteQueue {
  readonly #queues = new Map<number, PQueue>();

  run<T>(installationId: number, write: () => Promise<T>): Promise<T> {
    let queue = this.#queues.get(installationId);
    if (!queue) {
      queue = new PQueue({ concurrency: 1 });
      this.#queues.set(installationId, queue);
    }
    return queue.add(write);
  }

  /** Resolves when every queued write has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.onIdle()));
  }
}
