// Abuse of the webhook endpoint while Berth works: Berth (started with `npm start` against the fake GitHub, as the
// e2e tests do) runs two deploys while it receives, at once, 100 forged 25 MiB POSTs (GitHub's headers, a wrong
// signature; streamed, 10 at a time), 20 signed pull_request deliveries whose spec at the head is over the
// 256 KiB cap, and a signed push to a branch nobody deploys every 50 ms; each deploy's build sleeps 20 s so both
// run through the abuse. Berth's whole process tree's RSS is sampled every 250 ms. Targets: peak RSS under the
// baseline (before the deploys and the abuse) + 150 MB, the legitimate deliveries' acknowledgement p99 under
// 50 ms during the abuse, and both deploys ending in success.
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { ensureTestImages } from "../test/helpers/docker-images.js";
import { dockerUnavailable } from "../test/helpers/services.js";
import { pullRequestEvent, pushEvent, sendWebhook, signature, startFakeGitHub, type FakeGitHub } from "../test/fake-github/index.js";
import { BerthProcess, DockerJanitor, testRepositoryFiles, uniqueName } from "../test/e2e/harness.js";
import { processTree } from "./process-tree.js";

const SECRET = "bench-abuse-secret";
const FORGED = 100;
const FORGED_BYTES = 25 * 1024 * 1024;
const FORGED_CONCURRENCY = 10;
const OVERSIZED_SPECS = 20;
const SPEC_CAP_BYTES = 256 * 1024;
const LEGIT_EVERY_MS = 50;
/** Legitimate deliveries signed ahead: enough for 4 minutes at one per 50 ms. */
const LEGIT_PREPARED = 4_800;
const RSS_EVERY_MS = 250;
/** Samples before the deploys and the abuse start, the steady stream running: the baseline. */
const BASELINE_MS = 3_000;
/** How long each deploy's image build takes at least, so both deploys run through the abuse. */
const BUILD_SECONDS = 20;
const RSS_HEADROOM_MB = 150;
const P99_TARGET_MS = 50;
const FINAL = ["success", "failure", "error"];

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

/** What a load generator reports per request: when it was sent, how long the answer took, its status (0: none). */
interface Sent {
  at: number;
  ms: number;
  status: number;
  error?: string;
}

/**
 * The legitimate sender, in a worker thread so the fake GitHub on the main thread cannot delay its clock: one
 * delivery every `everyMs` whether or not the previous one was answered, until told to stop. Plain JavaScript,
 * because worker threads do not get tsx's loader.
 */
const STEADY_SENDER = `
const { parentPort, workerData } = require("node:worker_threads");
const { Agent, request } = require("node:http");
const { url, deliveries, everyMs } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
const target = new URL(url);
const send = (d) => new Promise((resolve) => {
  const at = Date.now();
  const start = performance.now();
  const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent,
    headers: { ...d.headers, "content-length": Buffer.byteLength(d.body) } }, (res) => {
    res.resume();
    res.on("end", () => resolve({ at, ms: performance.now() - start, status: res.statusCode }));
  });
  req.on("error", (e) => resolve({ at, ms: performance.now() - start, status: 0, error: e.code || e.message }));
  req.end(d.body);
});
const sent = [];
let next = 0;
let stop = false;
parentPort.on("message", () => { stop = true; });
const timer = setInterval(() => {
  if (stop || next >= deliveries.length) {
    clearInterval(timer);
    Promise.all(sent).then((results) => { agent.destroy(); parentPort.postMessage(results); });
    return;
  }
  sent.push(send(deliveries[next++]));
}, everyMs);
`;

/**
 * The forger, in another worker thread: \`count\` POSTs of \`bytes\` each with GitHub's headers and a well-formed,
 * wrong signature, \`concurrency\` at a time, each on its own connection, the body streamed in 64 KiB writes that
 * respect backpressure and stop once Berth has answered.
 */
const FORGER = `
const { parentPort, workerData } = require("node:worker_threads");
const { randomUUID } = require("node:crypto");
const { request } = require("node:http");
const { url, count, concurrency, bytes } = workerData;
const target = new URL(url);
const chunk = Buffer.alloc(64 * 1024, 0x20);
const forge = () => new Promise((resolve) => {
  const at = Date.now();
  const start = performance.now();
  let answered = false;
  let settled = false;
  const done = (status, error) => {
    if (settled) return;
    settled = true;
    resolve({ at, ms: performance.now() - start, status, ...(error ? { error } : {}) });
  };
  const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent: false,
    headers: { "content-type": "application/json", "user-agent": "GitHub-Hookshot/forged", "x-github-event": "push",
      "x-github-delivery": randomUUID(), "x-hub-signature-256": "sha256=" + "0".repeat(64), "content-length": bytes } }, (res) => {
    answered = true;
    res.resume();
    res.on("end", () => done(res.statusCode));
    res.on("error", () => done(res.statusCode));
    res.on("close", () => done(res.statusCode));
  });
  req.on("error", (e) => { if (!answered) done(0, e.code || e.message); });
  let written = 0;
  const pump = () => {
    while (!answered && written < bytes) {
      const n = Math.min(chunk.length, bytes - written);
      written += n;
      if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once("drain", pump);
    }
    if (written >= bytes) req.end();
  };
  pump();
});
const results = [];
let next = 0;
const loop = async () => { while (next++ < count) results.push(await forge()); };
Promise.all(Array.from({ length: concurrency }, loop)).then(() => parentPort.postMessage(results));
`;

function steadySender(url: string, deliveries: Delivery[]): { stop(): Promise<Sent[]> } {
  const worker = new Worker(STEADY_SENDER, { eval: true, workerData: { url, deliveries, everyMs: LEGIT_EVERY_MS } });
  const results = new Promise<Sent[]>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    stop: async () => {
      worker.postMessage("stop");
      const sent = await results;
      await worker.terminate();
      return sent;
    },
  };
}

async function forge(url: string): Promise<Sent[]> {
  const worker = new Worker(FORGER, { eval: true, workerData: { url, count: FORGED, concurrency: FORGED_CONCURRENCY, bytes: FORGED_BYTES } });
  const sent = await new Promise<Sent[]>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  await worker.terminate();
  return sent;
}

/** A valid-looking spec with a problem every few lines, over the cap: parsed, it would be thousands of problems. */
function oversizedSpec(name: string): string {
  const lines = [`name: ${name}`, "services:"];
  for (let i = 0; lines.join("\n").length <= SPEC_CAP_BYTES + 16 * 1024; i++) {
    lines.push(`  - name: "Not A Valid Name ${i}"`, `    instance_count: ${1_000 + i}`, `    unknown_field_${i}: true`);
  }
  return `${lines.join("\n")}\n`;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(latencies: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = latencies.toSorted((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

function countBy<T>(items: T[], key: (item: T) => string): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join(", ");
}

/** Waits until Berth has sent the fake GitHub nothing about `repository` for two seconds. */
async function quiescent(fake: FakeGitHub, repository: string, limitMs = 120_000): Promise<void> {
  const about = () => fake.requests.filter((r) => r.path.includes(`/repos/${repository}/`)).length;
  const deadline = Date.now() + limitMs;
  for (let seen = -1; seen !== about() && Date.now() < deadline; ) {
    seen = about();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const progress = (text: string) => console.error(`[abuse bench +${((Date.now() - started) / 1000).toFixed(0)} s] ${text}`);

interface Repositories {
  apps: string[];
  noise: string;
  specBase: string;
}

function addRepositories(fake: FakeGitHub, baseImage: string): Repositories {
  const names = [uniqueName("abuse-a"), uniqueName("abuse-b"), uniqueName("abuse-noise"), uniqueName("abuse-spec")];
  for (const name of names) fake.state.addRepository({ owner: "acme", name, files: testRepositoryFiles(name, `acme/${name}`, "v1", baseImage) });
  fake.state.addInstallation("acme", names.map((n) => `acme/${n}`));
  const specName = names[3]!;
  fake.state.addRepository({ owner: "mallory", name: specName, files: testRepositoryFiles(specName, `acme/${specName}`, "fork", baseImage), fork: true });
  return { apps: [`acme/${names[0]}`, `acme/${names[1]}`], noise: `acme/${names[2]}`, specBase: `acme/${specName}` };
}

/**
 * Pushes to a branch nobody deploys, each a real commit in the fake. The payload is built once and only its commit
 * fields change: building thousands of full payloads takes the loaded machine minutes.
 */
function noiseDeliveries(fake: FakeGitHub, repository: string): Delivery[] {
  const template = pushEvent(fake, repository, "elsewhere", fake.state.push(repository, "elsewhere", { "notes.txt": "first\n" }));
  const head = (template.head_commit ?? {}) as Record<string, unknown>;
  return Array.from({ length: LEGIT_PREPARED }, (_, i) => {
    const commit = fake.state.push(repository, "elsewhere", { "notes.txt": `change ${i}\n` });
    const headCommit = { ...head, id: commit.sha, tree_id: commit.sha, message: commit.message, timestamp: commit.date };
    return prepare("push", { ...template, before: commit.parents[0], after: commit.sha, commits: [headCommit], head_commit: headCommit });
  });
}

/** Twenty pull requests from a fork, each head carrying an oversized spec; the deliveries are prepared, not sent. */
function oversizedPulls(fake: FakeGitHub, base: string): Array<{ event: string; payload: unknown }> {
  const [, name] = base.split("/");
  return Array.from({ length: OVERSIZED_SPECS }, (_, i) => {
    fake.state.push(`mallory/${name}`, `huge-${i}`, { ".do/app.yaml": oversizedSpec(`${name}-${i}`) });
    const pull = fake.state.openPullRequest(base, { headRepo: `mallory/${name}`, headRef: `huge-${i}`, user: "mallory" });
    return { event: "pull_request", payload: pullRequestEvent(fake, base, pull) };
  });
}

async function main(): Promise<void> {
  const reason = dockerUnavailable();
  if (reason) {
    console.log(`abuse bench skipped: ${reason}`);
    return;
  }
  const baseImage = ensureTestImages().node;
  const fake = await startFakeGitHub({ checkResponses: false });
  const repos = addRepositories(fake, baseImage);
  const janitors = [...repos.apps, repos.noise, repos.specBase].map((r) => new DockerJanitor(r.split("/")[1]!));
  let berth: BerthProcess | undefined;
  try {
    berth = await BerthProcess.start(fake, { webhookSecret: SECRET });
    const root = berth.pid!;
    const legit = noiseDeliveries(fake, repos.noise);
    const pulls = oversizedPulls(fake, repos.specBase);
    const rss: Array<{ at: number; mb: number; mainMb: number }> = [];
    const finalAt = new Map<string, number>();
    const sampler = setInterval(() => {
      const tree = processTree(root);
      const sum = (of: typeof tree) => of.reduce((n, p) => n + p.rssKb, 0) / 1024;
      rss.push({ at: Date.now(), mb: sum(tree), mainMb: sum(tree.filter((p) => p.role === "main")) });
      for (const d of fake.state.deployments) if (!finalAt.has(d.sha) && FINAL.includes(d.statuses.at(-1)?.state ?? "")) finalAt.set(d.sha, Date.now());
    }, RSS_EVERY_MS);
    const steady = steadySender(berth.webhookUrl, legit);
    progress("Berth up; steady deliveries started; baseline");
    await sleep(BASELINE_MS);
    const deploysStart = Date.now();

    const dockerfile = `FROM ${baseImage}\nRUN sleep ${BUILD_SECONDS}\nWORKDIR /app\nCOPY server.js /app/server.js\nCMD ["node", "/app/server.js"]\n`;
    const deploys = repos.apps.map((repository) => fake.state.push(repository, "main", { Dockerfile: dockerfile }));
    await Promise.all(repos.apps.map((repository, i) =>
      sendWebhook(berth!.webhookUrl, { event: "push", payload: pushEvent(fake, repository, "main", deploys[i]!), secret: SECRET }),
    ));
    const deployment = (sha: string) => fake.state.deployments.find((d) => d.sha === sha);
    await fake.until(() => deploys.every((c) => deployment(c.sha)), "both deploys under way", 120_000);

    const abuseStart = Date.now();
    progress("abuse starts");
    const forging = forge(berth.webhookUrl);
    const pullAnswers: number[] = [];
    for (const p of pulls) {
      pullAnswers.push((await sendWebhook(berth.webhookUrl, { ...p, secret: SECRET })).status);
      await sleep(250);
    }
    const forged = await forging;
    const abuseEnd = Date.now();
    progress(`abuse over after ${((abuseEnd - abuseStart) / 1000).toFixed(1)} s; waiting for the deploys`);
    const finals = await fake.until(
      () => {
        const states = deploys.map((c) => deployment(c.sha)?.statuses.at(-1)?.state ?? "");
        return states.every((s) => FINAL.includes(s)) && states;
      },
      "both deploys final",
      180_000,
    ).catch(() => deploys.map((c) => `${deployment(c.sha)?.statuses.at(-1)?.state ?? "none"} (not final on GitHub within 3 min)`));
    const deploysEnd = Date.now();
    progress(`deploys: ${finals.join(", ")}`);
    await sleep(1_000);
    const sent = await steady.stop();
    clearInterval(sampler);
    progress("steady deliveries stopped; waiting for Berth to finish with the oversized specs");
    await quiescent(fake, repos.specBase, 60_000);

    const during = sent.filter((s) => s.at >= abuseStart && s.at <= abuseEnd);
    const checkRunWrites = fake.requests.filter((r) => /check-runs/.test(r.path) && r.path.includes(`/repos/${repos.specBase}/`) && r.method !== "GET");
    const before = rss.filter((s) => s.at < deploysStart);
    const baseline = Math.max(...before.map((s) => s.mb));
    const peak = Math.max(...rss.filter((s) => s.at >= abuseStart).map((s) => s.mb));
    const mainBaseline = Math.max(...before.map((s) => s.mainMb));
    const mainPeak = Math.max(...rss.filter((s) => s.at >= abuseStart).map((s) => s.mainMb));
    const ms = (n: number) => `${n.toFixed(1).padStart(7)} ms`;
    const row = (label: string, of: Sent[]) => {
      const s = summary(of.filter((x) => x.status >= 200 && x.status < 300).map((x) => x.ms));
      console.log(`${label.padEnd(44)} ${String(s.n).padStart(5)}  p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  max ${ms(s.max)}`);
      return s;
    };

    console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(2)).join(", ")} (2 cores)`);
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const deployTimes = deploys.map((c) => (finalAt.has(c.sha) ? secs(finalAt.get(c.sha)! - abuseStart) : "not seen")).join(", ");
    console.log(`abuse window ${secs(abuseEnd - abuseStart)}, began ${secs(abuseStart - deploysStart)} after the deploy pushes; deploys final on GitHub ${deployTimes} after it began (waited until ${secs(deploysEnd - abuseStart)})`);
    console.log(`\nlegitimate deliveries (one every ${LEGIT_EVERY_MS} ms), answered 2xx    n  latency`);
    row("before the deploys and the abuse", sent.filter((s) => s.at < deploysStart));
    row("deploys starting, before the abuse", sent.filter((s) => s.at >= deploysStart && s.at < abuseStart));
    const target = row("during the abuse", during);
    row("after the abuse", sent.filter((s) => s.at > abuseEnd));
    console.log(`legitimate deliveries' statuses during the abuse: ${countBy(during, (s) => String(s.status || s.error))}`);
    console.log(`legitimate deliveries' statuses overall: ${countBy(sent, (s) => String(s.status || s.error))}`);
    console.log(`\nforged ${FORGED} × ${FORGED_BYTES / 1024 / 1024} MiB, ${FORGED_CONCURRENCY} at a time: ${countBy(forged, (s) => String(s.status || s.error))}`);
    const forgedTimes = summary(forged.map((s) => s.ms));
    console.log(`forged answered in p50 ${ms(forgedTimes.p50)}  p99 ${ms(forgedTimes.p99)}  max ${ms(forgedTimes.max)}`);
    console.log(`oversized-spec pull_request deliveries: ${countBy(pullAnswers, String)}; check-run writes they caused: ${checkRunWrites.length}`);
    console.log(`\nRSS of the process tree: baseline (max before deploys and abuse) ${baseline.toFixed(0)} MB, peak from the abuse on ${peak.toFixed(0)} MB (+${(peak - baseline).toFixed(0)} MB), ${rss.length} samples ${RSS_EVERY_MS} ms apart`);
    console.log(`of which Berth's main process: baseline ${mainBaseline.toFixed(0)} MB, peak ${mainPeak.toFixed(0)} MB (+${(mainPeak - mainBaseline).toFixed(0)} MB)`);
    console.log(`deploys: ${finals.join(", ")}`);
    console.log(`\ntargets: peak RSS < baseline + ${RSS_HEADROOM_MB} MB ${peak < baseline + RSS_HEADROOM_MB ? "met" : "NOT met"}; ` +
      `p99 during the abuse < ${P99_TARGET_MS} ms ${target.p99 < P99_TARGET_MS ? "met" : "NOT met"}; ` +
      `both deploys success ${finals.every((s) => s === "success") ? "met" : "NOT met"}`);
    console.log(`Berth's log lines about refused webhooks: ${berth.logLines("webhook refused").length}; total log lines ${berth.output.length}, ` +
      `${(berth.output.reduce((n, l) => n + l.length + 1, 0) / 1024).toFixed(0)} KiB`);
  } finally {
    if (berth) await berth.stop({ graceMs: 60_000 });
    for (const j of janitors) j.cleanup();
    await fake.close();
  }
}

await main();
