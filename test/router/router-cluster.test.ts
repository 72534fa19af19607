// The router spread over worker processes: the same routing as in process, with state sent to every worker,
// draining that waits for all of them, metrics summed over them, and a dead worker replaced with the state.
import cluster from "node:cluster";
import { afterEach, beforeEach, expect, it } from "vitest";
import { RouterCluster } from "../../src/router/router-cluster.js";
import { get, getJson, silentLog, startBackend, type TestBackend } from "./router-kit.js";

const webApp = { name: "web", domains: ["www.example.test"], routes: [{ component: "site", pathPrefix: "/", preservePathPrefix: false }] };

let router: RouterCluster;
let port: number;
const backends: TestBackend[] = [];

beforeEach(async () => {
  router = new RouterCluster({ port: 0, baseDomain: "localhost", log: silentLog, workers: 2 });
  port = await router.listen();
});

afterEach(async () => {
  await router.close();
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

async function backend(id: string, handler?: Parameters<typeof startBackend>[1]): Promise<TestBackend> {
  const b = await startBackend(id, handler);
  backends.push(b);
  return b;
}

/** Requests on new connections, which the cluster deals out to its workers in turn. */
async function statuses(count: number, host = "web.localhost"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((await get(port, host, "/", { headers: { connection: "close" } })).status);
  return out;
}

it("routes through every worker and sums their request metrics", async () => {
  router.setApp(webApp);
  router.addBackend("web", "site", await backend("site"));
  await router.sync();
  expect(router.listeningWorkers()).toBe(2);
  expect(await statuses(10)).toEqual(Array(10).fill(200));
  expect(await statuses(4, "www.example.test")).toEqual(Array(4).fill(200));
  expect((await getJson(port, "web.localhost", "/x")).json).toMatchObject({ id: "site", url: "/x" });

  const metrics = await (await router.metrics()).getSingleMetricAsString("berth_router_requests_total");
  expect(metrics).toContain('berth_router_requests_total{app="web",component="site",code="200"} 15');
  expect(router.publicUrl("web")).toBe(`http://web.localhost:${port}`);
});

it("refuses a change at once, as the in-process router does, and no worker sees it", async () => {
  router.setApp(webApp);
  expect(() => router.setApp({ name: "other", domains: ["www.example.test"], routes: [] })).toThrow(/already belongs to app web/);
  expect(() => router.addBackend("web", "site", { id: "bad", url: "not a url" })).toThrow(/not an absolute URL/);
  await router.sync();
  expect(await statuses(2, "other.localhost")).toEqual([404, 404]);
});

it("drains a backend across workers: removal resolves only once the request a worker holds has finished", async () => {
  router.setApp(webApp);
  let finish!: () => void;
  const held = new Promise<void>((resolve) => (finish = resolve));
  const slow = await backend("slow", (_req, res) => void held.then(() => res.end("done")));
  router.addBackend("web", "site", slow);
  await router.sync();

  const reply = get(port, "web.localhost", "/");
  await expect.poll(() => router.inFlight("slow")).toBe(1);
  let removed: { abandoned: number } | undefined;
  const removal = router.removeBackend("web", "site", "slow", 10_000).then((r) => (removed = r));
  // Both workers have the removal once this resolves; the one holding the request has not answered yet.
  await router.sync();
  expect(removed).toBeUndefined();
  expect(await statuses(1)).toEqual([503]);

  finish();
  expect((await reply).body).toBe("done");
  await removal;
  expect(removed).toEqual({ abandoned: 0 });
  await expect.poll(() => router.inFlight("slow")).toBe(0);
});

it("replaces a worker that dies and gives the new one the whole routing state", async () => {
  router.setApp(webApp);
  router.addBackend("web", "site", await backend("site"));
  await router.sync();
  const victim = Object.values(cluster.workers ?? {})[0]!;
  const died = new Promise((resolve) => victim.once("exit", resolve));
  victim.process.kill("SIGKILL");
  await died;
  await expect.poll(() => router.listeningWorkers(), { timeout: 20_000 }).toBe(2);
  expect(Object.values(cluster.workers ?? {}).map((w) => w?.id)).not.toContain(victim.id);
  // Connections go to each worker in turn, so these reach the new one too.
  expect(await statuses(6)).toEqual(Array(6).fill(200));
});

it("stops every worker on close", async () => {
  const pids = Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!);
  expect(pids).toHaveLength(2);
  await router.close();
  expect(Object.keys(cluster.workers ?? {})).toHaveLength(0);
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
});

it("fails to listen on a port in use with the reason, and leaves no worker behind", async () => {
  const others = Object.keys(cluster.workers ?? {}).length;
  // Same port, another interface binding: the cluster shares a handle only for the very same address.
  const clash = new RouterCluster({ port, host: "0.0.0.0", baseDomain: "localhost", log: silentLog, workers: 2 });
  await expect(clash.listen()).rejects.toThrow(/EADDRINUSE/);
  expect(Object.keys(cluster.workers ?? {})).toHaveLength(others);
});
