// A rollout under load: while a loop of keep-alive requests runs, instances are swapped generation after
// generation (add the new ones, drain and stop the old ones), and not one request may fail. Once with the
// router in this process and once spread over two worker processes, where every change crosses a channel.
import { Agent } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Router } from "../../src/router/router.js";
import { RouterCluster } from "../../src/router/router-cluster.js";
import { get, silentLog, startBackend, type TestBackend } from "./router-kit.js";

const TOTAL = 2000;
const CONCURRENCY = 8;
const GENERATIONS = 5;
const PER_GENERATION = 2;

let router: Router | RouterCluster | undefined;
const started: TestBackend[] = [];

afterEach(async () => {
  await router?.close();
  await Promise.all(started.splice(0).map((b) => b.close()));
});

const routers = {
  "in process": () => new Router({ port: 0, baseDomain: "localhost", log: silentLog }),
  "over two worker processes": () => new RouterCluster({ port: 0, baseDomain: "localhost", log: silentLog, workers: 2 }),
};

describe.each(Object.entries(routers))("router %s", (_name, create) => {
  it("swaps backends while a few thousand keep-alive requests run, with no error and no non-2xx", async () => {
    router = create();
    const port = await router.listen();
    const r = router;
    r.setApp({ name: "web", domains: [], routes: [{ component: "web", pathPrefix: "/", preservePathPrefix: false }] });

    async function startGeneration(generation: number): Promise<TestBackend[]> {
      const instances: TestBackend[] = [];
      for (let i = 0; i < PER_GENERATION; i++) {
        const backend = await startBackend(`g${generation}-${i}`, (_req, res) => {
          // Every other answer waits a turn of the event loop, so requests are in flight when a drain starts.
          if (backend.hits % 2 === 0) setImmediate(() => res.end(backend.id));
          else res.end(backend.id);
        });
        started.push(backend);
        instances.push(backend);
      }
      return instances;
    }

    let current = await startGeneration(0);
    for (const b of current) r.addBackend("web", "web", b);
    await r.sync();

    let done = 0;
    const errors: string[] = [];
    const statuses = new Map<number, number>();
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const swapAt = Array.from({ length: GENERATIONS }, (_, g) => Math.floor(((g + 1) * TOTAL) / (GENERATIONS + 2)));
    let swapping = Promise.resolve();
    const drained: { abandoned: number }[] = [];

    async function swap(generation: number): Promise<void> {
      const next = await startGeneration(generation);
      for (const b of next) r.addBackend("web", "web", b);
      const old = current;
      current = next;
      for (const b of old) drained.push(await r.removeBackend("web", "web", b.id, 10_000));
      await Promise.all(old.map((b) => b.close()));
    }

    async function worker(): Promise<void> {
      while (done < TOTAL) {
        try {
          const reply = await get(port, "web.localhost", "/", { agent });
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        } catch (err) {
          errors.push((err as Error).message);
        }
        done++;
        const generation = swapAt.indexOf(done) + 1;
        if (generation > 0) swapping = swapping.then(() => swap(generation));
      }
    }

    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await swapping;
    agent.destroy();

    expect(errors).toEqual([]);
    expect([...statuses.keys()]).toEqual([200]);
    expect(statuses.get(200)).toBeGreaterThanOrEqual(TOTAL);
    expect(drained.every((d) => d.abandoned === 0)).toBe(true);
    expect(drained).toHaveLength(GENERATIONS * PER_GENERATION);
    // Every generation took traffic, so the swaps happened while the load ran.
    for (const b of started) expect({ id: b.id, served: b.hits > 0 }).toEqual({ id: b.id, served: true });
  }, 60_000);
});
