// Webhook acknowledgement latency: 500 signed push deliveries sent to Berth (started with `npm start` against the
// fake GitHub, as the e2e tests do) while two deploys run, against the same deliveries sent to a bare Node http
// server that only verifies the signature. Prints p50/p99/max for both; the target is Berth's p99 under 50 ms.
import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import { ensureTestImages } from "../test/helpers/docker-images.js";
import { dockerUnavailable } from "../test/helpers/services.js";
import { pushEvent, sendWebhook, signature, startFakeGitHub, type FakeGitHub } from "../test/fake-github/index.js";
import { BerthProcess, DockerJanitor, testRepositoryFiles, uniqueName } from "../test/e2e/harness.js";

const DELIVERIES = 500;
const WARM_UP = 20;
/**
 * Deliveries in flight at once: 1 is GitHub's usual pace for one installation, 4 a burst (a monorepo push
 * fanning out, redeliveries), 16 several installations bursting together.
 */
const CONCURRENCY_LEVELS = [1, 4, 16];
const SECRET = "bench-webhook-secret";

/** One delivery, serialized and signed ahead of time so the timed loop only sends. */
interface Delivery {
  headers: Record<string, string>;
  body: string;
}

function prepare(event: string, payload: unknown): Delivery {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/bench",
      "x-github-event": event,
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": signature(SECRET, body),
    },
  };
}

/**
 * The load generator, run in a worker thread so the fake GitHub answering Berth on the main thread cannot delay
 * its clock: sends every delivery with `concurrency` in flight over keep-alive connections and posts back each
 * one's latency in ms. Plain JavaScript, because worker threads do not get tsx's loader.
 */
const LOAD_GENERATOR = `
const { parentPort, workerData } = require("node:worker_threads");
const { Agent, request } = require("node:http");
const { url, deliveries, concurrency } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const target = new URL(url);
const send = (d) => new Promise((resolve, reject) => {
  const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent,
    headers: { ...d.headers, "content-length": Buffer.byteLength(d.body) } }, (res) => {
    res.resume();
    res.on("end", () => res.statusCode < 300 ? resolve() : reject(new Error("delivery answered " + res.statusCode)));
  });
  req.on("error", reject);
  req.end(d.body);
});
const latencies = [];
let next = 0;
const loop = async () => {
  while (next < deliveries.length) {
    const d = deliveries[next++];
    const start = performance.now();
    await send(d);
    latencies.push(performance.now() - start);
  }
};
Promise.all(Array.from({ length: concurrency }, loop)).then(() => { agent.destroy(); parentPort.postMessage(latencies); });
`;

function measure(url: string, deliveries: Delivery[], concurrency: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_GENERATOR, { eval: true, workerData: { url, deliveries, concurrency } });
    worker.once("message", (latencies: number[]) => resolve(latencies));
    worker.once("error", reject);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(latencies: number[]): { p50: number; p99: number; max: number } {
  const sorted = latencies.toSorted((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! };
}

/**
 * The peer: Node's http server, reading the body and checking X-Hub-Signature-256, nothing else. In its own worker
 * thread, so the fake GitHub on the main thread does not slow it either.
 */
const BARE_SERVER = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHmac, timingSafeEqual } = require("node:crypto");
const { createServer } = require("node:http");
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const expected = Buffer.from("sha256=" + createHmac("sha256", workerData.secret).update(Buffer.concat(chunks)).digest("hex"));
    const given = Buffer.from(String(req.headers["x-hub-signature-256"] || ""));
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    res.writeHead(ok ? 202 : 401).end();
  });
});
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
parentPort.on("message", () => server.close(() => process.exit(0)));
`;

async function startBareServer(): Promise<{ url: string; close(): Promise<void> }> {
  const worker = new Worker(BARE_SERVER, { eval: true, workerData: { secret: SECRET } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      worker.postMessage("close");
      await new Promise((resolve) => worker.once("exit", resolve));
    },
  };
}

const FINAL = ["success", "failure", "error"];

/**
 * Waits until Berth has sent the fake GitHub nothing about `repository` for a second: its worker has drained the
 * deliveries a run queued (the deploy loops keep other traffic going).
 */
async function quiescent(fake: FakeGitHub, repository: string, limitMs = 120_000): Promise<void> {
  const about = () => fake.requests.filter((r) => r.path.includes(`/repos/${repository}/`)).length;
  const deadline = Date.now() + limitMs;
  for (let seen = -1; seen !== about() && Date.now() < deadline; ) {
    seen = about();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Pushes to a branch nobody deploys, each a distinct delivery (the worker still reads each one). */
function noiseDeliveries(fake: FakeGitHub, repository: string, branch: string): Delivery[] {
  return Array.from({ length: DELIVERIES + WARM_UP }, (_, i) => {
    const commit = fake.state.push(repository, branch, { "notes.txt": `${branch} change ${i}\n` });
    return prepare("push", pushEvent(fake, repository, branch, commit));
  });
}


/**
 * Keeps one deploy of `repository` in flight: push, deliver, wait until GitHub shows a final status, again, until
 * stopped. `busy()` is true from the delivery until that final status.
 */
function keepDeploying(fake: FakeGitHub, berth: BerthProcess, repository: string, stop: { now: boolean }) {
  const finished: Array<{ sha: string; state: string }> = [];
  let busy = false;
  const done = (async () => {
    for (let i = 0; !stop.now; i++) {
      const commit = fake.state.push(repository, "main", { "README.md": `bench deploy ${i}\n` });
      busy = true;
      await sendWebhook(berth.webhookUrl, { event: "push", payload: pushEvent(fake, repository, "main", commit), secret: SECRET });
      const d = await fake.until(
        () => fake.state.deployments.find((x) => x.sha === commit.sha && FINAL.includes(x.statuses.at(-1)?.state ?? "")),
        `bench deploy of ${repository}@${commit.sha.slice(0, 7)}`,
        180_000,
      );
      busy = false;
      finished.push({ sha: commit.sha, state: d.statuses.at(-1)!.state });
    }
  })();
  const started = (): boolean => fake.state.deployments.some((d) => d.repository === repository);
  return { finished, done, busy: () => busy, started };
}

async function main(): Promise<void> {
  const reason = dockerUnavailable();
  if (reason) {
    console.log(`webhook bench skipped: ${reason}`);
    return;
  }
  const baseImage = ensureTestImages().node;
  const fake = await startFakeGitHub({ checkResponses: false });
  const names = [uniqueName("bench-a"), uniqueName("bench-b"), uniqueName("bench-noise")];
  const janitors = names.map((n) => new DockerJanitor(n));
  for (const name of names) fake.state.addRepository({ owner: "acme", name, files: testRepositoryFiles(name, `acme/${name}`, "v1", baseImage) });
  fake.state.addInstallation("acme", names.map((n) => `acme/${n}`));
  let berth: BerthProcess | undefined;
  const bare = await startBareServer();
  try {
    berth = await BerthProcess.start(fake, { webhookSecret: SECRET });

    const noise = `acme/${names[2]}`;
    const results: Array<{ label: string; p50: number; p99: number; max: number }> = [];
    const record = (label: string, latencies: number[]) => results.push({ label, ...summary(latencies.slice(WARM_UP)) });

    // Berth with nothing else to do, for reference. Each Berth run is followed by a wait until its worker has
    // drained what the run queued, so no run pays for the previous one.
    record("Berth idle, 4 in flight", await measure(berth.webhookUrl, noiseDeliveries(fake, noise, "idle"), 4));
    await quiescent(fake, noise);

    // Two deploys kept running for the rest: each app redeploys as soon as its last deploy ends.
    const stop = { now: false };
    const loops = names.slice(0, 2).map((name) => keepDeploying(fake, berth!, `acme/${name}`, stop));
    await fake.until(() => loops.every((l) => l.started()), "both bench deploys under way", 120_000);

    const samples: boolean[] = [];
    const sampler = setInterval(() => samples.push(loops.every((l) => l.busy())), 50);
    let deploysFinished = 0;
    for (const concurrency of CONCURRENCY_LEVELS) {
      const deliveries = noiseDeliveries(fake, noise, `feature-${concurrency}`);
      const before = loops.reduce((n, l) => n + l.finished.length, 0);
      record(`Berth, 2 deploys running, ${concurrency} in flight`, await measure(berth.webhookUrl, deliveries, concurrency));
      deploysFinished += loops.reduce((n, l) => n + l.finished.length, 0) - before;
      record(`bare node:http, ${concurrency} in flight`, await measure(bare.url, deliveries, concurrency));
      await quiescent(fake, noise);
    }
    clearInterval(sampler);
    stop.now = true;
    await Promise.all(loops.map((l) => l.done));

    console.log(`\n${DELIVERIES} signed push deliveries per row, after ${WARM_UP} warm-up`);
    const ms = (n: number) => `${n.toFixed(1).padStart(6)} ms`;
    for (const r of results) console.log(`${r.label.padEnd(38)} p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  max ${ms(r.max)}`);
    const finals = loops.flatMap((l) => l.finished.map((f) => f.state));
    console.log(
      `deploys finished while measuring: ${deploysFinished}; all bench deploys: ${finals.length} (${finals.filter((s) => s === "success").length} success); ` +
        `both apps had a deploy in flight (delivered, not yet final on GitHub) in ${Math.round((100 * samples.filter(Boolean).length) / Math.max(samples.length, 1))}% of ${samples.length} samples 50 ms apart`,
    );
    for (const concurrency of CONCURRENCY_LEVELS) {
      const b = results.find((r) => r.label === `Berth, 2 deploys running, ${concurrency} in flight`)!;
      const p = results.find((r) => r.label === `bare node:http, ${concurrency} in flight`)!;
      console.log(`${concurrency} in flight: Berth p99 target < 50 ms ${b.p99 < 50 ? "met" : "NOT met"} (${(b.p99 / p.p99).toFixed(1)}x the bare server's p99)`);
    }
  } finally {
    if (berth) {
      const started = performance.now();
      const { killed } = await berth.stop({ graceMs: 60_000 });
      console.log(`Berth ${killed ? "did NOT exit within 60 s of SIGTERM and was killed" : `exited ${((performance.now() - started) / 1000).toFixed(1)} s after SIGTERM`}`);
    }
    await bare.close();
    for (const j of janitors) j.cleanup();
    await fake.close();
  }
}

await main();
